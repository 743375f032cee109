// SPDX-License-Identifier: GPL-2.0-or-later
/* wsrctl ws show|merge|diff|stats|import (ws check: id_cmds.c) */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "wsrctl.h"

#define RANK_SCALE	4294967296.0

/* Pages with frequency k, k = 1..recordings; caller frees. */
static uint64_t *freq_histogram(const struct wsr_ws *ws, uint32_t *nrec)
{
	const struct wsr_ws_page *e;
	struct wsr_ws_info info;
	uint64_t *h;
	size_t n, i;

	wsr_ws_info(ws, &info);
	wsr_ws_entries(ws, &e, &n);
	h = calloc(info.recordings + 1, sizeof(*h));
	if (!h)
		return NULL;
	for (i = 0; i < n; i++)
		h[e[i].freq]++;
	*nrec = info.recordings;
	return h;
}

/* Options of the ws subverbs (each uses some). */
struct ws_args {
	struct snap_opts so;
	const char *opath;
	uint64_t limit;
	uint64_t min_count;
	uint64_t dropped;
	unsigned int all;
	unsigned int list;
	struct opt_list pages;
};

static const struct opt show_opts[] = {
	OPT_N("limit", 'n', struct ws_args, limit, 0),
	OPT_F("all", 'a', struct ws_args, all, 1),
	OPT_END
};

static void show_json(const char *path, const struct wsr_ws_info *info,
		      const struct wsr_ws_page *e, uint64_t limit,
		      const uint64_t *hist, uint32_t nrec)
{
	struct json j;
	uint64_t i;
	uint32_t k;

	json_init(&j, stdout);
	json_begin_object(&j);
	json_kstr(&j, "file", path);
	json_ku64(&j, "pages", info->pages);
	json_ku64(&j, "bytes", info->pages * info->page_size);
	json_ku64(&j, "recordings", info->recordings);
	json_ku64(&j, "page_size", info->page_size);
	json_ku64(&j, "dropped", info->dropped);
	json_snapshot_id(&j, "snapshot", &info->snapshot);
	json_key(&j, "frequency");
	json_begin_object(&j);
	for (k = nrec; k >= 1; k--) {
		char key[16];

		snprintf(key, sizeof(key), "%u", k);
		json_ku64(&j, key, hist[k]);
	}
	json_end_object(&j);
	json_key(&j, "entries");
	json_begin_array(&j);
	for (i = 0; i < limit; i++) {
		json_begin_object(&j);
		json_ku64(&j, "index", e[i].index);
		json_kdouble(&j, "rank", e[i].rank / RANK_SCALE);
		json_ku64(&j, "freq", e[i].freq);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	json_finish(&j);
}

static void show_text(const char *path, const struct wsr_ws_info *info,
		      const struct wsr_ws_page *e, uint64_t limit, size_t n,
		      const uint64_t *hist, uint32_t nrec)
{
	uint64_t i;
	uint32_t k;

	printf("file:        %s\n", path);
	printf("pages:       %" PRIu64 " (%.1f MiB)\n", info->pages,
	       info->pages * (double)info->page_size / 1048576.0);
	printf("recordings:  %u\n", info->recordings);
	printf("dropped:     %" PRIu64 "%s\n", info->dropped,
	       info->dropped ? " (the set is incomplete)" : "");
	print_snapshot_id(&info->snapshot);
	printf("frequency:  ");
	for (k = nrec; k >= 1; k--)
		printf(" %u/%u: %" PRIu64, k, nrec, hist[k]);
	printf("\n");
	if (!limit)
		return;
	printf("%s %" PRIu64 " pages in restore order:\n",
	       limit == n ? "all" : "first", limit);
	printf("  %10s %12s %8s %5s\n", "#", "index", "rank", "freq");
	for (i = 0; i < limit; i++)
		printf("  %10" PRIu64 " %12" PRIu64 " %8.5f %5u\n", i,
		       e[i].index, e[i].rank / RANK_SCALE, e[i].freq);
}

static int cmd_ws_show(int argc, char **argv)
{
	struct ws_args a = { .limit = 16 };
	const struct wsr_ws_page *e;
	struct wsr_ws_info info;
	struct wsr_ws *ws;
	uint64_t *hist;
	uint32_t nrec;
	size_t n;
	int ret;

	ret = opts_parse("ws show", show_opts, &a, argc, argv, false);
	if (ret)
		return ret == OPT_HELP ? EXIT_OK : ret;
	if (a.all)
		a.limit = UINT64_MAX;
	if (argc - optind != 1)
		return usage_error("ws show", "expected one FILE");
	ret = load_ws(argv[optind], &ws);
	if (ret)
		return ret;
	wsr_ws_info(ws, &info);
	wsr_ws_entries(ws, &e, &n);
	hist = freq_histogram(ws, &nrec);
	if (!hist) {
		wsr_ws_free(ws);
		return fail(argv[optind], "out of memory");
	}
	if (a.limit > n)
		a.limit = n;
	if (opt_json)
		show_json(argv[optind], &info, e, a.limit, hist, nrec);
	else
		show_text(argv[optind], &info, e, a.limit, n, hist, nrec);
	free(hist);
	wsr_ws_free(ws);
	return EXIT_OK;
}

static void free_all(struct wsr_ws **ws, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		wsr_ws_free(ws[i]);
	free(ws);
}

/* Load argv[0..n-1]; on error the loaded ones are freed. */
static int load_many(char **paths, size_t n, struct wsr_ws ***out)
{
	struct wsr_ws **ws = calloc(n, sizeof(*ws));
	size_t i;
	int ret;

	*out = NULL;
	if (!ws)
		return fail("wsrctl", "out of memory");
	for (i = 0; i < n; i++) {
		ret = load_ws(paths[i], &ws[i]);
		if (ret) {
			free_all(ws, i);
			return ret;
		}
	}
	*out = ws;
	return EXIT_OK;
}

/* Name the input whose snapshot differs from the first one's. */
static int fail_mixed(char **paths, struct wsr_ws **ws, size_t n)
{
	struct wsr_ws_info a, b;
	size_t i;

	wsr_ws_info(ws[0], &a);
	for (i = 1; i < n; i++) {
		wsr_ws_info(ws[i], &b);
		if (wsr_ws_check_snapshot(ws[0], &b.snapshot))
			return fail_stale(paths[i], paths[0], &b.snapshot,
					  &a.snapshot);
	}
	return fail(paths[0], "%s", wsr_strerror(-ESTALE));
}

static const struct opt merge_opts[] = {
	OPT_N("min-count", 'k', struct ws_args, min_count, UINT32_MAX),
	OPT_S("output", 'o', struct ws_args, opath),
	OPT_END
};

static void merge_print(const char *opath, const struct wsr_ws *out,
			size_t n, uint64_t k)
{
	struct wsr_ws_info info;
	struct json j;

	wsr_ws_info(out, &info);
	if (!opt_json) {
		printf("%s: %" PRIu64 " pages from %zu working sets (%u recordings)",
		       opath, info.pages, n, info.recordings);
		if (k > 1)
			printf(", pages in at least %" PRIu64 " recordings", k);
		printf("\n");
		return;
	}
	json_init(&j, stdout);
	json_begin_object(&j);
	json_kstr(&j, "file", opath);
	json_ku64(&j, "inputs", n);
	json_ku64(&j, "recordings", info.recordings);
	json_ku64(&j, "min_count", k);
	json_ku64(&j, "pages", info.pages);
	json_ku64(&j, "dropped", info.dropped);
	json_end_object(&j);
	json_finish(&j);
}

static int cmd_ws_merge(int argc, char **argv)
{
	struct ws_args a = { 0 };
	struct wsr_ws **in, *out = NULL;
	size_t n;
	int ret;

	ret = opts_parse("ws merge", merge_opts, &a, argc, argv, false);
	if (ret)
		return ret == OPT_HELP ? EXIT_OK : ret;
	if (!a.opath)
		return usage_error("ws merge", "missing -o OUT");
	if (optind == argc)
		return usage_error("ws merge", "no input working sets");
	n = argc - optind;
	ret = load_many(argv + optind, n, &in);
	if (ret)
		return ret;
	ret = wsr_ws_merge(in, n, (unsigned int)a.min_count, &out);
	if (ret == -ESTALE)
		ret = fail_mixed(argv + optind, in, n);
	else if (ret == -EINVAL && a.min_count)
		ret = usage_error("ws merge", "--min-count %" PRIu64 " exceeds the number of recordings",
				  a.min_count);
	else if (ret)
		ret = fail_err(a.opath, ret);
	else if ((ret = wsr_ws_save(out, a.opath)))
		ret = fail_err(a.opath, ret);
	else
		merge_print(a.opath, out, n, a.min_count);
	wsr_ws_free(out);
	free_all(in, n);
	return ret;
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t u = *(const uint64_t *)x, v = *(const uint64_t *)y;

	return u < v ? -1 : u > v;
}

static const struct opt diff_opts[] = {
	OPT_F("list", 'l', struct ws_args, list, 1),
	OPT_END
};

/* The sorted pages of two sets. */
struct diff_sets {
	uint64_t *a, *b;
	size_t na, nb;
};

/* Pages of @x not in @y (both sorted), as JSON numbers or "MARK N" lines. */
static void diff_only(const uint64_t *x, size_t nx, const uint64_t *y,
		      size_t ny, struct json *js, char mark)
{
	size_t i, j;

	for (i = 0, j = 0; i < nx; i++) {
		while (j < ny && y[j] < x[i])
			j++;
		if (j < ny && y[j] == x[i])
			continue;
		if (js)
			json_u64(js, x[i]);
		else
			printf("%c %" PRIu64 "\n", mark, x[i]);
	}
}

static void diff_print(char **paths, const struct wsr_ws_overlap *o,
		       const struct diff_sets *d, int list)
{
	struct json js;

	if (!opt_json) {
		printf("a:        %s (%" PRIu64 " pages)\n", paths[0], o->size[0]);
		printf("b:        %s (%" PRIu64 " pages)\n", paths[1], o->size[1]);
		printf("only a:   %" PRIu64 "\n", o->unique[0]);
		printf("only b:   %" PRIu64 "\n", o->unique[1]);
		printf("common:   %" PRIu64 "\n", o->common_pages);
		printf("jaccard:  %.4f\n", wsr_ws_jaccard(o, 0, 1));
		if (list) {
			diff_only(d->a, d->na, d->b, d->nb, NULL, '-');
			diff_only(d->b, d->nb, d->a, d->na, NULL, '+');
		}
		return;
	}
	json_init(&js, stdout);
	json_begin_object(&js);
	json_kstr(&js, "a", paths[0]);
	json_kstr(&js, "b", paths[1]);
	json_ku64(&js, "pages_a", o->size[0]);
	json_ku64(&js, "pages_b", o->size[1]);
	json_ku64(&js, "only_a", o->unique[0]);
	json_ku64(&js, "only_b", o->unique[1]);
	json_ku64(&js, "common", o->common_pages);
	json_kdouble(&js, "jaccard", wsr_ws_jaccard(o, 0, 1));
	if (list) {
		json_key(&js, "list_only_a");
		json_begin_array(&js);
		diff_only(d->a, d->na, d->b, d->nb, &js, 0);
		json_end_array(&js);
		json_key(&js, "list_only_b");
		json_begin_array(&js);
		diff_only(d->b, d->nb, d->a, d->na, &js, 0);
		json_end_array(&js);
	}
	json_end_object(&js);
	json_finish(&js);
}

/* A sorted copy of a set's pages; NULL without memory. */
static uint64_t *sorted_pages(const struct wsr_ws *ws, size_t *n)
{
	const uint64_t *p;
	uint64_t *s;

	wsr_ws_pages(ws, &p, n);
	s = malloc((*n + 1) * sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s, p, *n * sizeof(*s));
	qsort(s, *n, sizeof(*s), u64_cmp);
	return s;
}

static int cmd_ws_diff(int argc, char **argv)
{
	struct ws_args a = { 0 };
	struct diff_sets d = { 0 };
	struct wsr_ws_overlap *o;
	struct wsr_ws **in;
	int ret;

	ret = opts_parse("ws diff", diff_opts, &a, argc, argv, false);
	if (ret)
		return ret == OPT_HELP ? EXIT_OK : ret;
	if (argc - optind != 2)
		return usage_error("ws diff", "expected two files A B");
	ret = load_many(argv + optind, 2, &in);
	if (ret)
		return ret;
	ret = wsr_ws_overlap(in, 2, &o);
	if (ret == -ESTALE) {
		ret = fail_mixed(argv + optind, in, 2);
		goto out_free;
	}
	if (ret) {
		ret = fail_err(argv[optind], ret);
		goto out_free;
	}
	d.a = sorted_pages(in[0], &d.na);
	d.b = sorted_pages(in[1], &d.nb);
	if (d.a && d.b)
		diff_print(argv + optind, o, &d, a.list);
	else
		ret = fail("wsrctl", "out of memory");
	free(d.a);
	free(d.b);
	wsr_ws_overlap_free(o);
out_free:
	free_all(in, 2);
	return ret;
}

static const struct opt no_opts[] = {
	OPT_END
};

/* One set's frequency histogram as a JSON object. */
static void stats_json_freq(struct json *js, const struct wsr_ws *ws)
{
	uint32_t nrec, k;
	uint64_t *hist = freq_histogram(ws, &nrec);

	json_key(js, "frequency");
	json_begin_object(js);
	for (k = nrec; hist && k >= 1; k--) {
		char key[16];

		snprintf(key, sizeof(key), "%u", k);
		json_ku64(js, key, hist[k]);
	}
	json_end_object(js);
	free(hist);
}

static void stats_json(char **paths, struct wsr_ws **in, size_t n,
		       const struct wsr_ws_overlap *o)
{
	struct wsr_ws_info info;
	struct json js;
	size_t i, j;

	json_init(&js, stdout);
	json_begin_object(&js);
	json_ku64(&js, "inputs", n);
	json_ku64(&js, "union", o->union_pages);
	json_ku64(&js, "common", o->common_pages);
	json_key(&js, "sets");
	json_begin_array(&js);
	for (i = 0; i < n; i++) {
		wsr_ws_info(in[i], &info);
		json_begin_object(&js);
		json_kstr(&js, "file", paths[i]);
		json_ku64(&js, "pages", o->size[i]);
		json_ku64(&js, "recordings", info.recordings);
		json_ku64(&js, "unique", o->unique[i]);
		json_ku64(&js, "dropped", info.dropped);
		stats_json_freq(&js, in[i]);
		json_end_object(&js);
	}
	json_end_array(&js);
	json_key(&js, "jaccard");
	json_begin_array(&js);
	for (i = 0; i < n; i++) {
		json_begin_array(&js);
		for (j = 0; j < n; j++)
			json_double(&js, wsr_ws_jaccard(o, i, j));
		json_end_array(&js);
	}
	json_end_array(&js);
	json_end_object(&js);
	json_finish(&js);
}

static void stats_text(char **paths, struct wsr_ws **in, size_t n,
		       const struct wsr_ws_overlap *o)
{
	struct wsr_ws_info info;
	uint64_t *hist;
	uint32_t nrec, k;
	size_t i, j;

	printf("%-4s %10s %6s %10s  %-s  %s\n", "set", "pages", "recs",
	       "unique", "frequency (k/recs: pages)", "file");
	for (i = 0; i < n; i++) {
		wsr_ws_info(in[i], &info);
		printf("%-4zu %10" PRIu64 " %6u %10" PRIu64 " ", i,
		       o->size[i], info.recordings, o->unique[i]);
		hist = freq_histogram(in[i], &nrec);
		for (k = nrec; hist && k >= 1; k--)
			printf(" %u:%" PRIu64, k, hist[k]);
		free(hist);
		printf("  %s\n", paths[i]);
	}
	printf("union:           %" PRIu64 " pages\n", o->union_pages);
	printf("common to all:   %" PRIu64 " pages\n", o->common_pages);
	printf("jaccard:\n     ");
	for (j = 0; j < n; j++)
		printf(" %6zu", j);
	printf("\n");
	for (i = 0; i < n; i++) {
		printf("  %-3zu", i);
		for (j = 0; j < n; j++)
			printf(" %6.3f", wsr_ws_jaccard(o, i, j));
		printf("\n");
	}
}

static int cmd_ws_stats(int argc, char **argv)
{
	struct ws_args a = { 0 };
	struct wsr_ws_overlap *o;
	struct wsr_ws **in;
	char **paths;
	size_t n;
	int ret;

	ret = opts_parse("ws stats", no_opts, &a, argc, argv, false);
	if (ret)
		return ret == OPT_HELP ? EXIT_OK : ret;
	if (optind == argc)
		return usage_error("ws stats", "no input working sets");
	n = argc - optind;
	if (n > WSR_WS_OVERLAP_MAX)
		return usage_error("ws stats", "at most %d inputs", WSR_WS_OVERLAP_MAX);
	paths = argv + optind;
	ret = load_many(paths, n, &in);
	if (ret)
		return ret;
	ret = wsr_ws_overlap(in, n, &o);
	if (ret == -ESTALE) {
		ret = fail_mixed(paths, in, n);
	} else if (ret) {
		ret = fail_err(paths[0], ret);
	} else {
		if (opt_json)
			stats_json(paths, in, n, o);
		else
			stats_text(paths, in, n, o);
		wsr_ws_overlap_free(o);
	}
	free_all(in, n);
	return ret;
}

static const struct opt import_opts[] = {
	OPT_SNAP(struct ws_args, so),
	OPT_L("pages", 'p', struct ws_args, pages),
	OPT_L("pattern", 'P', struct ws_args, pages),
	OPT_N("dropped", 'd', struct ws_args, dropped, 0),
	OPT_S("output", 'o', struct ws_args, opath),
	OPT_END
};

static void import_print(const char *opath, const struct wsr_ws *ws,
			 size_t listed)
{
	struct wsr_ws_info info;
	struct json j;

	wsr_ws_info(ws, &info);
	if (!opt_json) {
		printf("%s: %" PRIu64 " pages (%zu listed)\n", opath,
		       info.pages, listed);
		return;
	}
	json_init(&j, stdout);
	json_begin_object(&j);
	json_kstr(&j, "file", opath);
	json_ku64(&j, "pages", info.pages);
	json_ku64(&j, "listed", listed);
	json_snapshot_id(&j, "snapshot", &info.snapshot);
	json_end_object(&j);
	json_finish(&j);
}

/* The snapshot identity and the listed pages of 'ws import'. */
static int import_inputs(struct ws_args *a, struct wsr_snapshot_id *id,
			 struct page_list *pl)
{
	int i, ret, fd;

	ret = open_snapshot(a->so.path, a->so.offset, a->so.have_length,
			    &a->so.length, &fd);
	if (ret)
		return ret;
	ret = wsr_snapshot_id(fd, a->so.offset, a->so.length, id);
	close(fd);
	if (ret)
		return fail_err(a->so.path, ret);
	for (i = 0; i < a->pages.n && !ret; i++)
		ret = a->pages.key[i] == 'p' ?
		      page_list_read(pl, a->pages.arg[i]) :
		      page_list_pattern(pl, a->pages.arg[i],
					a->so.length / WSR_PAGE_SIZE);
	return ret;
}

static int cmd_ws_import(int argc, char **argv)
{
	struct page_list pl = { 0 };
	struct wsr_snapshot_id id;
	struct ws_args a = { 0 };
	struct wsr_ws *ws = NULL;
	int ret;

	ret = opts_parse("ws import", import_opts, &a, argc, argv, false);
	if (!ret && (!a.so.path || !a.opath || !a.pages.n || optind != argc))
		ret = usage_error("ws import", "need --snapshot F, --pages LIST or --pattern P, and -o OUT");
	if (!ret)
		ret = import_inputs(&a, &id, &pl);
	if (ret)
		goto out;
	ret = wsr_ws_create(&id, pl.v, pl.n, a.dropped, &ws);
	if (ret == -ERANGE)
		ret = fail(a.pages.arg[0], "page index beyond the snapshot range (%" PRIu64 " pages)",
			   a.so.length / WSR_PAGE_SIZE);
	else if (ret)
		ret = fail_err(a.opath, ret);
	else if ((ret = wsr_ws_save(ws, a.opath)))
		ret = fail_err(a.opath, ret);
	else
		import_print(a.opath, ws, pl.n);
	wsr_ws_free(ws);
out:
	page_list_free(&pl);
	opt_list_free(&a.pages);
	return ret == OPT_HELP ? EXIT_OK : ret;
}

int cmd_ws(int argc, char **argv)
{
	static const struct subverb sub[] = {
		{ "show", cmd_ws_show },
		{ "merge", cmd_ws_merge },
		{ "diff", cmd_ws_diff },
		{ "stats", cmd_ws_stats },
		{ "check", cmd_ws_check },
		{ "import", cmd_ws_import },
	};

	return run_subverb("ws", sub, sizeof(sub) / sizeof(sub[0]), argc,
			   argv);
}
