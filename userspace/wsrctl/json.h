/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small streaming JSON writer for wsrctl --json: objects and arrays nest,
 * commas and indentation are handled here, strings are escaped.
 */
#ifndef WSRCTL_JSON_H
#define WSRCTL_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH	16

struct json {
	FILE *f;
	int depth;
	int first[JSON_MAX_DEPTH];
	int pending_key;
};

void json_init(struct json *j, FILE *f);
void json_key(struct json *j, const char *key);
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
void json_str(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_double(struct json *j, double v);
void json_bool(struct json *j, int v);
void json_finish(struct json *j);

/* key + value shorthands */
void json_kstr(struct json *j, const char *key, const char *s);
void json_ku64(struct json *j, const char *key, uint64_t v);
void json_kdouble(struct json *j, const char *key, double v);
void json_kbool(struct json *j, const char *key, int v);

#endif
