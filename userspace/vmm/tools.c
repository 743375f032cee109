// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-vmm merge: merge wsr working sets (libwsr wsr_ws_merge()).
 * wsr-vmm table: the demo's tables from "restore --json" lines.
 */
#include <errno.h>
#include <getopt.h>
#include <libwsr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm.h"

int cmd_merge(int argc, char **argv);
int cmd_table(int argc, char **argv);

int cmd_merge(int argc, char **argv)
{
	const char *out = NULL;
	struct wsr_ws **in, *merged;
	unsigned int min_count = 1;
	struct wsr_ws_info info;
	int c, i, n, ret;

	while ((c = getopt(argc, argv, "o:m:")) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'm':
			min_count = strtoul(optarg, NULL, 0);
			break;
		default:
			goto bad;
		}
	}
	n = argc - optind;
	if (!out || n < 1)
		goto bad;
	in = calloc(n, sizeof(*in));
	if (!in)
		return 1;
	for (i = 0; i < n; i++) {
		ret = wsr_ws_load(argv[optind + i], &in[i]);
		if (ret) {
			vmm_err("%s: %s", argv[optind + i], wsr_strerror(ret));
			return 1;
		}
	}
	ret = wsr_ws_merge(in, n, min_count, &merged);
	if (!ret)
		ret = wsr_ws_save(merged, out);
	if (ret) {
		vmm_err("merge: %s", wsr_strerror(ret));
		return 1;
	}
	if (!wsr_ws_info(merged, &info))
		printf("%s: %llu pages from %u recordings\n", out,
		       (unsigned long long)info.pages, info.recordings);
	wsr_ws_free(merged);
	for (i = 0; i < n; i++)
		wsr_ws_free(in[i]);
	free(in);
	return 0;
bad:
	fputs("usage: wsr-vmm merge -o OUT [-m MIN_COUNT] IN...\n", stderr);
	return 2;
}

/* ---------------------------------------------------------------- table */

/* Copy the value of "key" in a flat JSON object line into @buf. */
static bool json_get(const char *line, const char *key, char *buf,
		     size_t len)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	if (!p)
		return false;
	p += strlen(pat);
	if (*p == '"')
		p++;
	while (*p && *p != '"' && *p != ',' && *p != '}' && n + 1 < len)
		buf[n++] = *p++;
	buf[n] = 0;
	return true;
}

static double json_num(const char *line, const char *key)
{
	char buf[64];

	return json_get(line, key, buf, sizeof(buf)) ? strtod(buf, NULL) : -1;
}

#define TBL_MAX		256

struct row {
	char payload[16];
	char backend[24];
	char cache[8];
	unsigned int n;
	unsigned int bad;
	double lat_us, majflt, minflt, rd_bytes, rd_ios, twice, mem_kb;
	bool twice_na;
};

static struct row *row_get(struct row *rows, unsigned int *nrows,
			   const char *payload, const char *backend,
			   const char *cache)
{
	unsigned int i;

	for (i = 0; i < *nrows; i++)
		if (!strcmp(rows[i].payload, payload) &&
		    !strcmp(rows[i].backend, backend) &&
		    !strcmp(rows[i].cache, cache))
			return &rows[i];
	if (*nrows == TBL_MAX)
		return NULL;
	memset(&rows[*nrows], 0, sizeof(rows[0]));
	snprintf(rows[*nrows].payload, sizeof(rows[0].payload), "%s", payload);
	snprintf(rows[*nrows].backend, sizeof(rows[0].backend), "%s", backend);
	snprintf(rows[*nrows].cache, sizeof(rows[0].cache), "%s", cache);
	return &rows[(*nrows)++];
}

static const char *const table_order[] = {
	"file", "eager", "reap", "faasnap", "wsr", "wsr-async",
	"wsr-async-lazy",
};

int cmd_table(int argc, char **argv)
{
	static struct row rows[TBL_MAX];
	char line[4096], payload[16], backend[24], cache[8], ok[8];
	unsigned int nrows = 0, i, j, k, bad = 0;
	const char *path = argc > 1 ? argv[1] : NULL;
	FILE *f = path ? fopen(path, "re") : stdin;

	if (!f) {
		vmm_err("%s: %s", path, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct row *r;
		double tw;

		if (line[0] != '{' ||
		    !json_get(line, "payload", payload, sizeof(payload)) ||
		    !json_get(line, "backend", backend, sizeof(backend)) ||
		    !json_get(line, "cache", cache, sizeof(cache)) ||
		    !json_get(line, "ok", ok, sizeof(ok)))
			continue;
		r = row_get(rows, &nrows, payload, backend, cache);
		if (!r)
			continue;
		r->n++;
		if (strcmp(ok, "true")) {
			r->bad++;
			bad++;
		}
		r->lat_us += json_num(line, "latency_us");
		r->majflt += json_num(line, "majflt");
		r->minflt += json_num(line, "minflt");
		r->rd_bytes += json_num(line, "read_bytes");
		r->rd_ios += json_num(line, "read_ios");
		tw = json_num(line, "read_twice");
		if (tw < 0)
			r->twice_na = true;
		else
			r->twice += tw;
		r->mem_kb += json_num(line, "mem_kb");
	}
	if (path)
		fclose(f);

	/* One table per payload and cache state; rows are backends. */
	for (i = 0; i < nrows; i++) {
		const struct row *w = NULL;
		bool first = true;

		for (j = 0; j < i; j++)
			if (!strcmp(rows[j].payload, rows[i].payload) &&
			    !strcmp(rows[j].cache, rows[i].cache))
				break;
		if (j < i)
			continue;
		for (j = 0; j < nrows; j++)
			if (!strcmp(rows[j].payload, rows[i].payload) &&
			    !strcmp(rows[j].cache, rows[i].cache) &&
			    !strcmp(rows[j].backend, "wsr"))
				w = &rows[j];
		for (k = 0; k < sizeof(table_order) / sizeof(*table_order);
		     k++) {
			for (j = 0; j < nrows; j++) {
				const struct row *r = &rows[j];
				double n;

				if (strcmp(r->payload, rows[i].payload) ||
				    strcmp(r->cache, rows[i].cache) ||
				    strcmp(r->backend, table_order[k]))
					continue;
				n = r->n;
				if (first) {
					printf("\n%s, %s page cache (mean of %u runs per backend)\n",
					       r->payload, r->cache, r->n);
					printf("%-14s %11s %9s %9s %10s %8s %8s %9s %9s %s\n",
					       "backend", "latency_ms", "majflt",
					       "minflt", "read_MiB", "read_ios",
					       "twice", "mem_MiB", "wsr_x",
					       "ok");
					first = false;
				}
				printf("%-14s %11.2f %9.0f %9.0f %10.2f %8.0f ",
				       r->backend, r->lat_us / n / 1e3,
				       r->majflt / n, r->minflt / n,
				       r->rd_bytes / n / 1048576.0,
				       r->rd_ios / n);
				if (r->twice_na)
					printf("%8s ", "-");
				else
					printf("%8.0f ", r->twice / n);
				printf("%9.1f ", r->mem_kb / n / 1024.0);
				/* How many times faster wsr (sync) is. */
				if (w && w->lat_us > 0)
					printf("%9.2f ", (r->lat_us / n) /
					       (w->lat_us / w->n));
				else
					printf("%9s ", "-");
				printf("%s\n", r->bad ? "FAIL" : "ok");
			}
		}
	}
	if (bad) {
		printf("\n%u runs gave a WRONG RESULT\n", bad);
		return 1;
	}
	return 0;
}
