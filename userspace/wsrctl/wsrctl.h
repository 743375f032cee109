/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef WSRCTL_H
#define WSRCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <libwsr.h>
#include "json.h"

/* Exit codes */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

extern int opt_json;

/* Print "wsrctl: WHAT: MESSAGE" on stderr; returns EXIT_FAIL. */
int fail(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "wsrctl: WHAT: wsr_strerror(err)" */
int fail_err(const char *what, int err);
/* Usage error of a verb: one line and a pointer to --help; EXIT_USAGE. */
int usage_error(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print the help of a verb ("ws show", "record", ...) to @f. */
void print_help(FILE *f, const char *verb);

int parse_u64(const char *s, uint64_t *out);	/* K/M/G suffixes */

/* opts.c: option parsing from a table per verb. */
enum opt_type {
	OPT_FLAG,	/* unsigned int at @off |= @val */
	OPT_STR,	/* const char * at @off */
	OPT_U64,	/* uint64_t at @off (K/M/G), at most @max (0: any) */
	OPT_LIST,	/* struct opt_list at @off: every occurrence, in order */
};

/**
 * struct opt - one option of a verb
 * @name: long name (--name)
 * @key:  short option character, also the key OPT_LIST records
 * @type: enum opt_type
 * @off:  where the value goes in the verb's struct
 * @val:  OPT_FLAG: the bits to set
 * @max:  OPT_U64: largest value allowed, 0 for none
 * @seen: OPT_U64: offset of an int set to 1 when given, 0 for none
 */
struct opt {
	const char *name;
	int key;
	enum opt_type type;
	size_t off;
	unsigned int val;
	uint64_t max;
	size_t seen;
};

/* Arguments of repeatable options (--touch, --pattern), in order. */
struct opt_list {
	const char **arg;
	char *key;
	int n;
};

#define OPT_HELP	(-1)	/* opts_parse(): --help was printed */

/*
 * Parse argv by @tab (ended by an entry with a NULL name) into @dst.
 * @stop: stop at the first operand (the rest is a command).  --json sets
 * opt_json, --help prints the verb's help.  Returns EXIT_OK, OPT_HELP or
 * EXIT_USAGE after a one-line message; optind is the first operand.
 */
int opts_parse(const char *verb, const struct opt *tab, void *dst, int argc,
	       char **argv, bool stop);
void opt_list_free(struct opt_list *l);

/* Options a verb may take, to put in its table. */
#define OPT_F(n, k, s, f, v)	{ n, k, OPT_FLAG, offsetof(s, f), v, 0, 0 }
#define OPT_S(n, k, s, f)	{ n, k, OPT_STR, offsetof(s, f), 0, 0, 0 }
#define OPT_N(n, k, s, f, m)	{ n, k, OPT_U64, offsetof(s, f), 0, m, 0 }
#define OPT_L(n, k, s, f)	{ n, k, OPT_LIST, offsetof(s, f), 0, 0, 0 }
/* --snapshot, --offset, --length into a struct snap_opts member @f */
#define OPT_SNAP(s, f)							\
	{ "snapshot", 's', OPT_STR, offsetof(s, f.path), 0, 0, 0 },	\
	{ "offset", 'O', OPT_U64, offsetof(s, f.offset), 0, 0, 0 },	\
	{ "length", 'L', OPT_U64, offsetof(s, f.length), 0, 0,		\
	  offsetof(s, f.have_length) }
#define OPT_END			{ NULL, 0, 0, 0, 0, 0, 0 }

/* A list of page indices, in order. */
struct page_list {
	uint64_t *v;
	size_t n, cap;
};

int page_list_add(struct page_list *l, uint64_t v);
void page_list_free(struct page_list *l);
/* "-": stdin.  Errors are reported (naming @path); returns EXIT_*. */
int page_list_read(struct page_list *l, const char *path);
/* seq:START:COUNT[:STRIDE] or random:COUNT[:SEED]; @npages bounds it. */
int page_list_pattern(struct page_list *l, const char *spec,
		      uint64_t npages);

/* A subverb of a verb ("ws show", "snapshot info"). */
struct subverb {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/*
 * Run the subverb argv[1] of @verb from @sub (@n entries), or print the
 * verb's help; EXIT_USAGE for a missing or unknown one.
 */
int run_subverb(const char *verb, const struct subverb *sub, size_t n,
		int argc, char **argv);

int cmd_ws(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_knob(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_touch(int argc, char **argv);
int cmd_id(int argc, char **argv);
int cmd_ws_check(int argc, char **argv);
int cmd_base(int argc, char **argv);

/* region_cmds.c: shared with base_cmds.c */
int run_command(int fd, uint64_t length, char **cmd);
void print_restore(const struct wsr_restore *rs);
void json_restore(struct json *j, const struct wsr_restore *rs);

/* Output helpers shared by verbs. */
void print_snapshot_id(const struct wsr_snapshot_id *id);
void json_snapshot_id(struct json *j, const char *key,
		      const struct wsr_snapshot_id *id);
void print_region_stats(const struct wsr_stats *st);
void json_region_stats(struct json *j, const char *key,
		       const struct wsr_stats *st);



/* Options shared by the verbs that name a snapshot range. */
struct snap_opts {
	const char *path;
	uint64_t offset;
	uint64_t length;
	int have_length;
};


/* Open a snapshot file and settle the region range (inputs.c). */
int open_snapshot(const char *path, uint64_t offset, int have_length,
		  uint64_t *length, int *fdp);

/* Load a working set, reporting errors; returns EXIT_*. */
int load_ws(const char *path, struct wsr_ws **ws);

/*
 * The one "belongs to a different snapshot" message: the working set
 * @ws_path (identity @ws_id) against @other (identity @id); EXIT_FAIL.
 */
int fail_stale(const char *ws_path, const char *other,
	       const struct wsr_snapshot_id *ws_id,
	       const struct wsr_snapshot_id *id);
#endif
