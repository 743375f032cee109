/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one JSON reader and writer of wsrctl, wsr-vmm and wsrtop.
 *
 * Writer: a small streaming writer; objects and arrays nest, commas,
 * spacing and indentation are handled here, strings are escaped.  Three
 * layouts:
 *  - json_init(): indented, one member per line (wsrctl --json);
 *  - json_init_line(): the whole document on one line without spaces, for
 *    JSON lines (wsr-vmm restore --json);
 *  - json_begin_object_inline(), json_begin_array_inline(): inside an
 *    indented document, one container on one line, ", " and ": " between
 *    its members (wsrtop's region objects and histograms).
 *
 * Reader: one JSON object per line (JSON lines), parsed by jansson; its
 * top-level members are looked up by name.
 */
#ifndef WSR_JSON_H
#define WSR_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH	16

struct json {
	FILE *f;
	int depth;
	bool line;			/* json_init_line(): no spaces, one line */
	int first[JSON_MAX_DEPTH];
	bool inline_[JSON_MAX_DEPTH];	/* this container on one line */
	int pending_key;
};

void json_init(struct json *j, FILE *f);
void json_init_line(struct json *j, FILE *f);
void json_key(struct json *j, const char *key);
void json_begin_object(struct json *j);
void json_begin_object_inline(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_begin_array_inline(struct json *j);
void json_end_array(struct json *j);
void json_str(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_double(struct json *j, double v);
void json_fixed(struct json *j, double v, int decimals);
void json_bool(struct json *j, int v);
void json_finish(struct json *j);

/* key + value shorthands */
void json_kstr(struct json *j, const char *key, const char *s);
void json_ku64(struct json *j, const char *key, uint64_t v);
void json_ki64(struct json *j, const char *key, int64_t v);
void json_kdouble(struct json *j, const char *key, double v);
void json_kfixed(struct json *j, const char *key, double v, int decimals);
void json_kbool(struct json *j, const char *key, int v);

/* Reader: one object of a JSON-lines file. */
struct json_line;

/*
 * Parse @text, one JSON object.  Returns NULL when it is not one (a line
 * of other output); free with json_line_free().
 */
struct json_line *json_line_parse(const char *text);
void json_line_free(struct json_line *l);
bool json_line_has(const struct json_line *l, const char *key);
/* A string member copied to @buf (true), or false if absent or no string. */
bool json_line_str(const struct json_line *l, const char *key, char *buf,
		   size_t len);
/* A number member, or @def if absent or not a number. */
double json_line_num(const struct json_line *l, const char *key, double def);
/* A boolean member: 1 true, 0 false, -1 absent or not a boolean. */
int json_line_bool(const struct json_line *l, const char *key);

#endif
