// SPDX-License-Identifier: GPL-2.0-or-later
/* The JSON reader and writer of wsrctl, wsr-vmm and wsrtop (json.h). */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = 1;
}

void json_init_line(struct json *j, FILE *f)
{
	json_init(j, f);
	j->line = true;
	j->inline_[0] = true;
}

static void indent(struct json *j)
{
	int i;

	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Separator and indentation before a value or a key. */
static void before(struct json *j)
{
	if (j->pending_key) {
		j->pending_key = 0;
		return;
	}
	if (j->depth == 0)
		return;
	if (!j->first[j->depth])
		fputs(j->inline_[j->depth] && !j->line ? ", " : ",", j->f);
	j->first[j->depth] = 0;
	if (!j->inline_[j->depth])
		indent(j);
}

static void put_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	before(j);
	put_string(j->f, key);
	fputs(j->line ? ":" : ": ", j->f);
	j->pending_key = 1;
}

/* Inside an inline container, every container is inline too. */
static void begin(struct json *j, char c, bool inl)
{
	bool parent = j->inline_[j->depth];

	before(j);
	fputc(c, j->f);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = 1;
	j->inline_[j->depth] = inl || parent || j->line;
}

static void end(struct json *j, char c)
{
	int empty = j->first[j->depth];
	bool inl = j->inline_[j->depth];

	j->depth--;
	if (!empty && !inl)
		indent(j);
	fputc(c, j->f);
}

void json_begin_object(struct json *j)
{
	begin(j, '{', false);
}

void json_begin_object_inline(struct json *j)
{
	begin(j, '{', true);
}

void json_end_object(struct json *j)
{
	end(j, '}');
}

void json_begin_array(struct json *j)
{
	begin(j, '[', false);
}

void json_begin_array_inline(struct json *j)
{
	begin(j, '[', true);
}

void json_end_array(struct json *j)
{
	end(j, ']');
}

void json_str(struct json *j, const char *s)
{
	before(j);
	put_string(j->f, s);
}

void json_u64(struct json *j, uint64_t v)
{
	before(j);
	fprintf(j->f, "%" PRIu64, v);
}

void json_i64(struct json *j, int64_t v)
{
	before(j);
	fprintf(j->f, "%" PRId64, v);
}

void json_double(struct json *j, double v)
{
	before(j);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

/* @v with @decimals digits after the point (null if not finite). */
void json_fixed(struct json *j, double v, int decimals)
{
	before(j);
	if (isfinite(v))
		fprintf(j->f, "%.*f", decimals, v);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, int v)
{
	before(j);
	fputs(v ? "true" : "false", j->f);
}

void json_finish(struct json *j)
{
	fputc('\n', j->f);
}

void json_kstr(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_ku64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

void json_ki64(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_i64(j, v);
}

void json_kfixed(struct json *j, const char *key, double v, int decimals)
{
	json_key(j, key);
	json_fixed(j, v, decimals);
}

void json_kdouble(struct json *j, const char *key, double v)
{
	json_key(j, key);
	json_double(j, v);
}

void json_kbool(struct json *j, const char *key, int v)
{
	json_key(j, key);
	json_bool(j, v);
}

/* ------------------------------------------------------------- reader */

struct json_line {
	json_t *obj;
};

struct json_line *json_line_parse(const char *text)
{
	struct json_line *l;
	json_t *obj;

	obj = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (!obj)
		return NULL;
	if (!json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	l = malloc(sizeof(*l));
	if (!l) {
		json_decref(obj);
		return NULL;
	}
	l->obj = obj;
	return l;
}

void json_line_free(struct json_line *l)
{
	if (!l)
		return;
	json_decref(l->obj);
	free(l);
}

bool json_line_has(const struct json_line *l, const char *key)
{
	return json_object_get(l->obj, key);
}

bool json_line_str(const struct json_line *l, const char *key, char *buf,
		   size_t len)
{
	const char *s = json_string_value(json_object_get(l->obj, key));

	if (!s || !len)
		return false;
	snprintf(buf, len, "%s", s);
	return true;
}

double json_line_num(const struct json_line *l, const char *key, double def)
{
	json_t *v = json_object_get(l->obj, key);

	return json_is_number(v) ? json_number_value(v) : def;
}

int json_line_bool(const struct json_line *l, const char *key)
{
	json_t *v = json_object_get(l->obj, key);

	return json_is_boolean(v) ? json_is_true(v) : -1;
}
