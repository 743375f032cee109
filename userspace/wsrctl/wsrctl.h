/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef WSRCTL_H
#define WSRCTL_H

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

/*
 * Take a snapshot option of @verb: 's' (--snapshot), 'O' (--offset) or
 * 'L' (--length).  Returns EXIT_OK, or EXIT_USAGE after the message.
 */
int snap_opt(struct snap_opts *so, int c, const char *arg, const char *verb);

/* Open a snapshot file and settle the region range (region_cmds.c). */
int open_snapshot(const char *path, uint64_t offset, int have_length,
		  uint64_t *length, int *fdp);

/* Load a working set, reporting errors; returns EXIT_*. */
int load_ws(const char *path, struct wsr_ws **ws);
#endif
