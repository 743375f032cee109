// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-vmm table: the demo's tables from "restore --json" lines.
 * wsr-vmm conc-table: the demo's concurrency table from batches of
 * "restore --json --batch" lines (wsr-demo tags them with "n").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "vmm.h"

/* ---------------------------------------------------------------- table */

/*
 * Call @fn for every line of @f that is one JSON object (wsr-demo's
 * files hold nothing else, but a stray line is skipped).
 */
static void json_lines(FILE *f, void (*fn)(const struct json_line *, void *),
		       void *arg)
{
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, f) > 0) {
		struct json_line *l = line[0] == '{' ? json_line_parse(line) :
				      NULL;

		if (!l)
			continue;
		fn(l, arg);
		json_line_free(l);
	}
	free(line);
}

#define TBL_MAX		512

/*
 * One row: the runs of one backend with one recording on one measured
 * input, in one cache state.  Runs on different inputs, or with
 * working sets recorded on different inputs, are never averaged together.
 */
struct row {
	char payload[16];
	char backend[24];
	char cache[8];
	char recorded[24];	/* inputs the working set was recorded on */
	unsigned int input;	/* the measured input */
	unsigned int n;
	unsigned int bad;
	double lat_us, majflt, minflt, rd_bytes, rd_ios, twice, mem_kb;
	bool twice_na;
};

struct table {
	struct row rows[TBL_MAX];
	unsigned int nrows;
	unsigned int bad;
};

static bool row_same_table(const struct row *a, const struct row *b)
{
	return !strcmp(a->payload, b->payload) && !strcmp(a->cache, b->cache) &&
	       a->input == b->input;
}

static struct row *row_get(struct table *t, const struct row *key)
{
	struct row *r;
	unsigned int i;

	for (i = 0; i < t->nrows; i++) {
		r = &t->rows[i];
		if (row_same_table(r, key) && !strcmp(r->backend, key->backend) &&
		    !strcmp(r->recorded, key->recorded))
			return r;
	}
	if (t->nrows == TBL_MAX)
		return NULL;
	r = &t->rows[t->nrows++];
	*r = *key;
	return r;
}

static const char *const table_order[] = {
	"file", "file@base", "file@base-async", "eager", "reap", "faasnap",
	"faasnap-mincore", "wsr",
	"wsr-async", "wsr-async-lazy",
};

/* Is @input one of the '+'-separated inputs of @list? */
static bool input_recorded(const char *list, unsigned int input)
{
	char *end;

	while (*list) {
		unsigned long v = strtoul(list, &end, 10);

		if (end == list)
			return false;
		if (v == input)
			return true;
		list = *end == '+' ? end + 1 : end;
		if (*end && *end != '+')
			return false;
	}
	return false;
}

/* One "restore --json" line into its row. */
static void table_line(const struct json_line *l, void *arg)
{
	struct table *t = arg;
	struct row key, *r;
	double tw;
	int ok;

	memset(&key, 0, sizeof(key));
	ok = json_line_bool(l, "ok");
	if (!json_line_str(l, "payload", key.payload, sizeof(key.payload)) ||
	    !json_line_str(l, "backend", key.backend, sizeof(key.backend)) ||
	    !json_line_str(l, "cache", key.cache, sizeof(key.cache)) ||
	    ok < 0)
		return;
	if (!json_line_str(l, "recorded", key.recorded, sizeof(key.recorded)))
		strcpy(key.recorded, "-");
	key.input = json_line_num(l, "input", 0);
	r = row_get(t, &key);
	if (!r)
		return;
	r->n++;
	if (!ok) {
		r->bad++;
		t->bad++;
	}
	r->lat_us += json_line_num(l, "latency_us", 0);
	r->majflt += json_line_num(l, "majflt", 0);
	r->minflt += json_line_num(l, "minflt", 0);
	r->rd_bytes += json_line_num(l, "read_bytes", 0);
	r->rd_ios += json_line_num(l, "read_ios", 0);
	tw = json_line_num(l, "read_twice", -1);
	if (tw < 0)
		r->twice_na = true;
	else
		r->twice += tw;
	r->mem_kb += json_line_num(l, "mem_kb", 0);
}

/* @r's mean latency over @w's, or "-". */
static void print_ratio(const struct row *r, const struct row *w)
{
	if (w && w->lat_us > 0)
		printf("%8.2f ", (r->lat_us / r->n) / (w->lat_us / w->n));
	else
		printf("%8s ", "-");
}

static void table_print_row(const struct row *r, const struct row *w1,
			    const struct row *wu)
{
	double n = r->n;

	printf("%-16s %-6s %-4s %10.2f %8.0f %8.0f %9.2f %8.0f ",
	       r->backend, r->recorded, strcmp(r->recorded, "-") ?
	       (input_recorded(r->recorded, r->input) ? "yes" : "no") : "-",
	       r->lat_us / n / 1e3, r->majflt / n, r->minflt / n,
	       r->rd_bytes / n / 1048576.0, r->rd_ios / n);
	if (r->twice_na)
		printf("%7s ", "-");
	else
		printf("%7.0f ", r->twice / n);
	printf("%8.1f ", r->mem_kb / n / 1024.0);
	print_ratio(r, w1);
	print_ratio(r, wu);
	printf("%s\n", r->bad ? "FAIL" : "ok");
}

/* One table per payload, cache state and measured input. */
static void table_print(struct table *t)
{
	unsigned int i, j, k;

	for (i = 0; i < t->nrows; i++) {
		const struct row *w1 = NULL, *wu = NULL, *r;

		for (j = 0; j < i; j++)
			if (row_same_table(&t->rows[j], &t->rows[i]))
				break;
		if (j < i)
			continue;
		/* wsr (sync) on one recorded input, and on their union */
		for (j = 0; j < t->nrows; j++) {
			r = &t->rows[j];
			if (!row_same_table(r, &t->rows[i]) ||
			    strcmp(r->backend, "wsr"))
				continue;
			if (strchr(r->recorded, '+'))
				wu = r;
			else
				w1 = r;
		}
		printf("\n%s, input %u, %s page cache (mean of %u runs per row)\n",
		       t->rows[i].payload, t->rows[i].input, t->rows[i].cache,
		       t->rows[i].n);
		printf("%-16s %-6s %-4s %10s %8s %8s %9s %8s %7s %8s %8s %8s %s\n",
		       "backend", "rec", "seen", "latency_ms", "majflt",
		       "minflt", "read_MiB", "read_ios", "twice", "mem_MiB",
		       "x_wsr1", "x_wsrU", "ok");
		for (k = 0; k < sizeof(table_order) / sizeof(*table_order);
		     k++) {
			/* single recordings before unions */
			for (j = 0; j < t->nrows; j++) {
				r = &t->rows[j];
				if (row_same_table(r, &t->rows[i]) &&
				    !strcmp(r->backend, table_order[k]) &&
				    !strchr(r->recorded, '+'))
					table_print_row(r, w1, wu);
			}
			for (j = 0; j < t->nrows; j++) {
				r = &t->rows[j];
				if (row_same_table(r, &t->rows[i]) &&
				    !strcmp(r->backend, table_order[k]) &&
				    strchr(r->recorded, '+'))
					table_print_row(r, w1, wu);
			}
		}
	}
}

int cmd_table(int argc, char **argv)
{
	static struct table t;
	const char *path = argc > 1 ? argv[1] : NULL;
	FILE *f = path ? fopen(path, "re") : stdin;

	if (!f) {
		vmm_err("%s: %s", path, strerror(errno));
		return 1;
	}
	json_lines(f, table_line, &t);
	if (path)
		fclose(f);
	table_print(&t);
	if (t.bad) {
		printf("\n%u runs gave a WRONG RESULT\n", t.bad);
		return 1;
	}
	return 0;
}

/* ----------------------------------------------------------- conc-table */

/*
 * Input, written by wsr-demo for every batch of N instances started at
 * once: each instance's "restore --json" line with "n":N put first, and
 * one summary line {"batch":true,"payload":..,"backend":..,"n":N,
 * "read_bytes":..,"failed":..,"base_kb_after":..,"disk":..} with the
 * bytes the block device read over the whole batch, how many instances
 * exited non-zero and what the wsr bases held after it (-1: no wsr).
 */
#define CONC_MAX	64
#define CONC_INST_MAX	256

struct crow {
	char payload[16];
	char backend[24];
	char disk[16];
	unsigned int n;			/* instances started */
	unsigned int got;		/* their JSON lines */
	unsigned int bad;		/* lines with a wrong result */
	unsigned int failed;		/* instances that exited non-zero */
	bool have_batch;
	double rd_bytes;		/* the device, whole batch */
	double private_kb;		/* sum over the instances */
	double shared_kb;		/* max over the instances */
	double base_kb;			/* max over the instances: the base */
	double base_kb_after;		/* sysfs base_pages after the batch */
	double lat_us[CONC_INST_MAX];
};

static struct crow *crow_get(struct crow *rows, unsigned int *nrows,
			     const char *payload, const char *backend,
			     unsigned int n)
{
	unsigned int i;

	for (i = 0; i < *nrows; i++)
		if (!strcmp(rows[i].payload, payload) &&
		    !strcmp(rows[i].backend, backend) && rows[i].n == n)
			return &rows[i];
	if (*nrows == CONC_MAX)
		return NULL;
	memset(&rows[*nrows], 0, sizeof(rows[0]));
	snprintf(rows[*nrows].payload, sizeof(rows[0].payload), "%s", payload);
	snprintf(rows[*nrows].backend, sizeof(rows[0].backend), "%s", backend);
	rows[*nrows].n = n;
	return &rows[(*nrows)++];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of the @n sorted values @v: v[ceil(q*n) - 1]. */
static double percentile(const double *v, unsigned int n, unsigned int q)
{
	unsigned int k = (q * n + 99) / 100;

	return v[k ? k - 1 : 0];
}

struct conc {
	struct crow rows[CONC_MAX];
	unsigned int nrows;
	unsigned int bad;		/* batches that failed */
};

/* One instance's line, or a batch's summary line, into its row. */
static void conc_line(const struct json_line *l, void *arg)
{
	struct conc *c = arg;
	char payload[16], backend[24];
	double n = json_line_num(l, "n", 0), shared, base;
	struct crow *r;

	if (n < 1 || !json_line_str(l, "payload", payload, sizeof(payload)) ||
	    !json_line_str(l, "backend", backend, sizeof(backend)))
		return;
	r = crow_get(c->rows, &c->nrows, payload, backend, (unsigned int)n);
	if (!r)
		return;
	if (json_line_bool(l, "batch") == 1) {
		r->have_batch = true;
		r->rd_bytes = json_line_num(l, "read_bytes", -1);
		r->failed = json_line_num(l, "failed", 0);
		r->base_kb_after = json_line_num(l, "base_kb_after", -1);
		json_line_str(l, "disk", r->disk, sizeof(r->disk));
		return;
	}
	if (r->got == CONC_INST_MAX)
		return;
	r->lat_us[r->got++] = json_line_num(l, "latency_us", 0);
	if (json_line_bool(l, "ok") != 1)
		r->bad++;
	r->private_kb += json_line_num(l, "private_kb", 0);
	shared = json_line_num(l, "shared_kb", 0);
	if (shared > r->shared_kb)
		r->shared_kb = shared;
	/* wsr: the rest of the shared part is its base */
	base = shared - json_line_num(l, "cache_kb", 0);
	if (base > r->base_kb)
		r->base_kb = base;
}

/* The next larger N than @last_n of @backend on @payload, and N = 1. */
static struct crow *conc_next(struct conc *c, const char *payload,
			      const char *backend, unsigned int last_n,
			      const struct crow **one)
{
	struct crow *r = NULL;
	unsigned int j;

	*one = NULL;
	for (j = 0; j < c->nrows; j++) {
		struct crow *x = &c->rows[j];

		if (strcmp(x->payload, payload) || strcmp(x->backend, backend))
			continue;
		if (x->n == 1)
			*one = x;
		if (x->n > last_n && (!r || x->n < r->n))
			r = x;
	}
	return r;
}

/* One row; returns true when the batch failed. */
static bool conc_print_row(struct crow *r, const struct crow *one)
{
	printf("%-14s %4u ", r->backend, r->n);
	if (r->have_batch && r->rd_bytes >= 0)
		printf("%10.2f ", r->rd_bytes / 1048576.0);
	else
		printf("%10s ", "-");
	if (r->have_batch && one && one->have_batch && one->rd_bytes > 0 &&
	    r->rd_bytes >= 0)
		printf("%7.2f ", r->rd_bytes / one->rd_bytes);
	else
		printf("%7s ", "-");
	if (r->got) {
		qsort(r->lat_us, r->got, sizeof(r->lat_us[0]), cmp_double);
		printf("%9.2f %9.2f ",
		       percentile(r->lat_us, r->got, 50) / 1e3,
		       percentile(r->lat_us, r->got, 99) / 1e3);
	} else {
		printf("%9s %9s ", "-", "-");
	}
	printf("%9.1f %10.1f ", (r->private_kb + r->shared_kb) / 1024.0,
	       r->shared_kb / 1024.0);
	if (r->bad || r->failed || r->got < r->n || !r->have_batch) {
		printf("FAIL (%u of %u ok)\n", r->got - r->bad < r->n ?
		       r->got - r->bad : r->n, r->n);
		return true;
	}
	printf("ok\n");
	return false;
}

/* One table per payload; rows are backends, then N ascending. */
static void conc_print(struct conc *c)
{
	unsigned int i, j, k;

	for (i = 0; i < c->nrows; i++) {
		const char *payload = c->rows[i].payload;
		char note[256] = "";
		size_t nl = 0;
		bool first = true;

		for (j = 0; j < i; j++)
			if (!strcmp(c->rows[j].payload, payload))
				break;
		if (j < i)
			continue;
		for (k = 0; k < sizeof(table_order) / sizeof(*table_order);
		     k++) {
			const struct crow *one;
			struct crow *r;
			unsigned int last_n = 0;

			while ((r = conc_next(c, payload, table_order[k],
					      last_n, &one))) {
				last_n = r->n;
				if (first) {
					printf("\n%s, N concurrent restores of input 1, page cache dropped once before each batch%s%s\n",
					       payload, r->disk[0] ?
					       "; device " : "", r->disk);
					printf("%-14s %4s %10s %7s %9s %9s %9s %10s %s\n",
					       "backend", "N", "read_MiB",
					       "x_N1", "p50_ms", "p99_ms",
					       "mem_MiB", "shared_MiB", "ok");
					first = false;
				}
				c->bad += conc_print_row(r, one);
				/* cross-check of wsr's shared part */
				if (!strcmp(r->backend, "wsr") &&
				    r->have_batch && r->base_kb_after >= 0 &&
				    nl < sizeof(note))
					nl += snprintf(note + nl,
						       sizeof(note) - nl,
						       "%sN=%u %.1f/%.1f",
						       nl ? ", " : "", r->n,
						       r->base_kb_after / 1024.0,
						       r->base_kb / 1024.0);
			}
		}
		if (nl)
			printf("wsr bases after the batch (sysfs base_pages) / the largest an instance saw, MiB: %s\n",
			       note);
	}
}

int cmd_conc_table(int argc, char **argv)
{
	static struct conc c;
	const char *path = argc > 1 ? argv[1] : NULL;
	FILE *f = path ? fopen(path, "re") : stdin;

	if (!f) {
		vmm_err("%s: %s", path, strerror(errno));
		return 1;
	}
	json_lines(f, conc_line, &c);
	if (path)
		fclose(f);
	conc_print(&c);
	if (c.bad) {
		printf("\n%u batches had a failed instance or a WRONG RESULT\n",
		       c.bad);
		return 1;
	}
	return 0;
}
