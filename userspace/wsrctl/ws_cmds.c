// SPDX-License-Identifier: GPL-2.0-or-later
/* wsrctl ws show|merge|diff|stats|check|import */
#include <errno.h>
#include <getopt.h>
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

static int cmd_ws_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'n' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const struct wsr_ws_page *e;
	struct wsr_ws_info info;
	struct wsr_ws *ws;
	uint64_t limit = 16, *hist;
	uint32_t nrec, k;
	size_t n, i;
	int c, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, "jn:ah", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = 1;
			break;
		case 'n':
			if (parse_u64(optarg, &limit))
				return usage_error("ws show", "bad --limit '%s'", optarg);
			break;
		case 'a':
			limit = UINT64_MAX;
			break;
		case 'h':
			print_help(stdout, "ws show");
			return EXIT_OK;
		default:
			return usage_error("ws show", "bad option");
		}
	}
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
	if (limit > n)
		limit = n;
	if (opt_json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_kstr(&j, "file", argv[optind]);
		json_ku64(&j, "pages", info.pages);
		json_ku64(&j, "bytes", info.pages * info.page_size);
		json_ku64(&j, "recordings", info.recordings);
		json_ku64(&j, "page_size", info.page_size);
		json_ku64(&j, "dropped", info.dropped);
		json_snapshot_id(&j, "snapshot", &info.snapshot);
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
	} else {
		printf("file:        %s\n", argv[optind]);
		printf("pages:       %" PRIu64 " (%.1f MiB)\n", info.pages,
		       info.pages * (double)info.page_size / 1048576.0);
		printf("recordings:  %u\n", info.recordings);
		printf("dropped:     %" PRIu64 "%s\n", info.dropped,
		       info.dropped ? " (the set is incomplete)" : "");
		print_snapshot_id(&info.snapshot);
		printf("frequency:  ");
		for (k = nrec; k >= 1; k--)
			printf(" %u/%u: %" PRIu64, k, nrec, hist[k]);
		printf("\n");
		if (limit) {
			printf("%s %" PRIu64 " pages in restore order:\n",
			       limit == n ? "all" : "first", limit);
			printf("  %10s %12s %8s %5s\n", "#", "index", "rank", "freq");
			for (i = 0; i < limit; i++)
				printf("  %10zu %12" PRIu64 " %8.5f %5u\n", i,
				       e[i].index, e[i].rank / RANK_SCALE,
				       e[i].freq);
		}
	}
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
static int fail_stale(char **paths, struct wsr_ws **ws, size_t n)
{
	struct wsr_ws_info a, b;
	size_t i;

	wsr_ws_info(ws[0], &a);
	for (i = 1; i < n; i++) {
		wsr_ws_info(ws[i], &b);
		if (wsr_ws_check_snapshot(ws[0], &b.snapshot))
			return fail(paths[i], "belongs to a different snapshot than %s (length %" PRIu64 " vs %" PRIu64 ", fingerprint %016" PRIx64 " vs %016" PRIx64 ")",
				    paths[0], b.snapshot.length,
				    a.snapshot.length, b.snapshot.fingerprint,
				    a.snapshot.fingerprint);
	}
	return fail(paths[0], "%s", wsr_strerror(-ESTALE));
}

static int cmd_ws_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "min-count", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct wsr_ws **in, *out;
	struct wsr_ws_info info;
	const char *opath = NULL;
	uint64_t k = 0;
	size_t n;
	int c, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, "jk:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = 1;
			break;
		case 'k':
			if (parse_u64(optarg, &k) || k > UINT32_MAX)
				return usage_error("ws merge", "bad --min-count '%s'", optarg);
			break;
		case 'o':
			opath = optarg;
			break;
		case 'h':
			print_help(stdout, "ws merge");
			return EXIT_OK;
		default:
			return usage_error("ws merge", "bad option");
		}
	}
	if (!opath)
		return usage_error("ws merge", "missing -o OUT");
	if (optind == argc)
		return usage_error("ws merge", "no input working sets");
	n = argc - optind;
	ret = load_many(argv + optind, n, &in);
	if (ret)
		return ret;
	ret = wsr_ws_merge(in, n, (unsigned int)k, &out);
	if (ret == -ESTALE) {
		ret = fail_stale(argv + optind, in, n);
		goto out_free;
	}
	if (ret == -EINVAL && k) {
		ret = usage_error("ws merge", "--min-count %" PRIu64 " exceeds the number of recordings", k);
		goto out_free;
	}
	if (ret) {
		ret = fail_err(opath, ret);
		goto out_free;
	}
	wsr_ws_info(out, &info);
	ret = wsr_ws_save(out, opath);
	if (ret) {
		ret = fail_err(opath, ret);
	} else if (opt_json) {
		struct json j;

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
	} else {
		printf("%s: %" PRIu64 " pages from %zu working sets (%u recordings)",
		       opath, info.pages, n, info.recordings);
		if (k > 1)
			printf(", pages in at least %" PRIu64 " recordings", k);
		printf("\n");
	}
	wsr_ws_free(out);
out_free:
	free_all(in, n);
	return ret;
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t u = *(const uint64_t *)x, v = *(const uint64_t *)y;

	return u < v ? -1 : u > v;
}

static int cmd_ws_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct wsr_ws_overlap *o;
	struct wsr_ws **in;
	const uint64_t *pa, *pb;
	uint64_t *sa, *sb;
	size_t na, nb, i, j;
	int c, ret, list = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "jlh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = 1;
			break;
		case 'l':
			list = 1;
			break;
		case 'h':
			print_help(stdout, "ws diff");
			return EXIT_OK;
		default:
			return usage_error("ws diff", "bad option");
		}
	}
	if (argc - optind != 2)
		return usage_error("ws diff", "expected two files A B");
	ret = load_many(argv + optind, 2, &in);
	if (ret)
		return ret;
	ret = wsr_ws_overlap(in, 2, &o);
	if (ret == -ESTALE) {
		ret = fail_stale(argv + optind, in, 2);
		goto out_free;
	}
	if (ret) {
		ret = fail_err(argv[optind], ret);
		goto out_free;
	}
	wsr_ws_pages(in[0], &pa, &na);
	wsr_ws_pages(in[1], &pb, &nb);
	sa = malloc((na + 1) * sizeof(*sa));
	sb = malloc((nb + 1) * sizeof(*sb));
	if (!sa || !sb) {
		free(sa);
		free(sb);
		wsr_ws_overlap_free(o);
		ret = fail("wsrctl", "out of memory");
		goto out_free;
	}
	memcpy(sa, pa, na * sizeof(*sa));
	memcpy(sb, pb, nb * sizeof(*sb));
	qsort(sa, na, sizeof(*sa), u64_cmp);
	qsort(sb, nb, sizeof(*sb), u64_cmp);
	if (opt_json) {
		struct json js;

		json_init(&js, stdout);
		json_begin_object(&js);
		json_kstr(&js, "a", argv[optind]);
		json_kstr(&js, "b", argv[optind + 1]);
		json_ku64(&js, "pages_a", o->size[0]);
		json_ku64(&js, "pages_b", o->size[1]);
		json_ku64(&js, "only_a", o->unique[0]);
		json_ku64(&js, "only_b", o->unique[1]);
		json_ku64(&js, "common", o->common_pages);
		json_kdouble(&js, "jaccard", wsr_ws_jaccard(o, 0, 1));
		if (list) {
			json_key(&js, "list_only_a");
			json_begin_array(&js);
			for (i = 0, j = 0; i < na; i++) {
				while (j < nb && sb[j] < sa[i])
					j++;
				if (j == nb || sb[j] != sa[i])
					json_u64(&js, sa[i]);
			}
			json_end_array(&js);
			json_key(&js, "list_only_b");
			json_begin_array(&js);
			for (i = 0, j = 0; i < nb; i++) {
				while (j < na && sa[j] < sb[i])
					j++;
				if (j == na || sa[j] != sb[i])
					json_u64(&js, sb[i]);
			}
			json_end_array(&js);
		}
		json_end_object(&js);
		json_finish(&js);
	} else {
		printf("a:        %s (%" PRIu64 " pages)\n", argv[optind], o->size[0]);
		printf("b:        %s (%" PRIu64 " pages)\n", argv[optind + 1], o->size[1]);
		printf("only a:   %" PRIu64 "\n", o->unique[0]);
		printf("only b:   %" PRIu64 "\n", o->unique[1]);
		printf("common:   %" PRIu64 "\n", o->common_pages);
		printf("jaccard:  %.4f\n", wsr_ws_jaccard(o, 0, 1));
		if (list) {
			for (i = 0, j = 0; i < na; i++) {
				while (j < nb && sb[j] < sa[i])
					j++;
				if (j == nb || sb[j] != sa[i])
					printf("- %" PRIu64 "\n", sa[i]);
			}
			for (i = 0, j = 0; i < nb; i++) {
				while (j < na && sa[j] < sb[i])
					j++;
				if (j == na || sa[j] != sb[i])
					printf("+ %" PRIu64 "\n", sb[i]);
			}
		}
	}
	free(sa);
	free(sb);
	wsr_ws_overlap_free(o);
	ret = EXIT_OK;
out_free:
	free_all(in, 2);
	return ret;
}

static int cmd_ws_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct wsr_ws_overlap *o;
	struct wsr_ws_info info;
	struct wsr_ws **in;
	char **paths;
	uint64_t *hist;
	uint32_t nrec, k;
	size_t n, i, j;
	int c, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = 1;
			break;
		case 'h':
			print_help(stdout, "ws stats");
			return EXIT_OK;
		default:
			return usage_error("ws stats", "bad option");
		}
	}
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
		ret = fail_stale(paths, in, n);
		goto out_free;
	}
	if (ret) {
		ret = fail_err(paths[0], ret);
		goto out_free;
	}
	if (opt_json) {
		struct json js;

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
			hist = freq_histogram(in[i], &nrec);
			json_key(&js, "frequency");
			json_begin_object(&js);
			for (k = nrec; hist && k >= 1; k--) {
				char key[16];

				snprintf(key, sizeof(key), "%u", k);
				json_ku64(&js, key, hist[k]);
			}
			json_end_object(&js);
			free(hist);
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
	} else {
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
	wsr_ws_overlap_free(o);
	ret = EXIT_OK;
out_free:
	free_all(in, n);
	return ret;
}

static int cmd_ws_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'O' },
		{ "length", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct snap_opts so = { 0 };
	struct wsr_snapshot_id id;
	struct wsr_ws_info info;
	struct wsr_ws *ws;
	int c, ret, fd, match;

	optind = 0;
	while ((c = getopt_long(argc, argv, "js:O:L:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = 1;
			break;
		case 's':
		case 'O':
		case 'L':
			if (snap_opt(&so, c, optarg, "ws check"))
				return EXIT_USAGE;
			break;
		case 'h':
			print_help(stdout, "ws check");
			return EXIT_OK;
		default:
			return usage_error("ws check", "bad option");
		}
	}
	if (!so.path)
		return usage_error("ws check", "missing --snapshot F");
	if (argc - optind != 1)
		return usage_error("ws check", "expected one working-set FILE");
	ret = load_ws(argv[optind], &ws);
	if (ret)
		return ret;
	wsr_ws_info(ws, &info);
	if (!so.have_length) {
		so.length = info.snapshot.length;
		so.have_length = 1;
	}
	ret = open_snapshot(so.path, so.offset, so.have_length, &so.length, &fd);
	if (ret)
		goto out;
	ret = wsr_snapshot_id(fd, so.offset, so.length, &id);
	close(fd);
	if (ret) {
		ret = fail_err(so.path, ret);
		goto out;
	}
	match = !wsr_ws_check_snapshot(ws, &id);
	if (opt_json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_kstr(&j, "file", argv[optind]);
		json_kstr(&j, "snapshot_file", so.path);
		json_kbool(&j, "match", match);
		json_snapshot_id(&j, "ws_snapshot", &info.snapshot);
		json_snapshot_id(&j, "snapshot", &id);
		json_end_object(&j);
		json_finish(&j);
	} else if (match) {
		printf("%s: matches %s (length %" PRIu64 ", fingerprint %016" PRIx64 ")\n",
		       argv[optind], so.path, id.length, id.fingerprint);
	}
	if (!match)
		ret = fail(argv[optind], "belongs to a different snapshot than %s (length %" PRIu64 " vs %" PRIu64 ", fingerprint %016" PRIx64 " vs %016" PRIx64 ")",
			   so.path, info.snapshot.length, id.length,
			   info.snapshot.fingerprint, id.fingerprint);
out:
	wsr_ws_free(ws);
	return ret;
}

static int cmd_ws_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'O' },
		{ "length", required_argument, NULL, 'L' },
		{ "pages", required_argument, NULL, 'p' },
		{ "pattern", required_argument, NULL, 'P' },
		{ "dropped", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct snap_opts so = { 0 };
	struct page_list pl = { 0 };
	struct wsr_snapshot_id id;
	struct wsr_ws_info info;
	struct wsr_ws *ws;
	const char *opath = NULL;
	const char **srcs;
	char *kinds;
	uint64_t dropped = 0;
	int c, ret, fd, nsrc = 0, i;

	srcs = calloc(argc, sizeof(*srcs));
	kinds = calloc(argc, 1);
	if (!srcs || !kinds) {
		free(srcs);
		free(kinds);
		return fail("wsrctl", "out of memory");
	}
	optind = 0;
	ret = EXIT_OK;
	while (!ret && (c = getopt_long(argc, argv, "js:O:L:p:P:d:o:h", opts,
					NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = 1;
			break;
		case 's':
		case 'O':
		case 'L':
			ret = snap_opt(&so, c, optarg, "ws import");
			break;
		case 'p':
		case 'P':
			kinds[nsrc] = (char)c;
			srcs[nsrc++] = optarg;
			break;
		case 'd':
			if (parse_u64(optarg, &dropped))
				ret = usage_error("ws import", "bad --dropped '%s'", optarg);
			break;
		case 'o':
			opath = optarg;
			break;
		case 'h':
			print_help(stdout, "ws import");
			goto out;
		default:
			ret = usage_error("ws import", "bad option");
		}
	}
	if (ret)
		goto out;
	if (!so.path || !opath || !nsrc || optind != argc) {
		ret = usage_error("ws import", "need --snapshot F, --pages LIST or --pattern P, and -o OUT");
		goto out;
	}
	ret = open_snapshot(so.path, so.offset, so.have_length, &so.length, &fd);
	if (ret)
		goto out;
	ret = wsr_snapshot_id(fd, so.offset, so.length, &id);
	close(fd);
	if (ret) {
		ret = fail_err(so.path, ret);
		goto out;
	}
	for (i = 0; i < nsrc && !ret; i++)
		ret = kinds[i] == 'p' ? page_list_read(&pl, srcs[i]) :
		      page_list_pattern(&pl, srcs[i], so.length / WSR_PAGE_SIZE);
	if (ret)
		goto out;
	ret = wsr_ws_create(&id, pl.v, pl.n, dropped, &ws);
	if (ret == -ERANGE) {
		ret = fail(srcs[0], "page index beyond the snapshot range (%" PRIu64 " pages)",
			   so.length / WSR_PAGE_SIZE);
		goto out;
	}
	if (ret) {
		ret = fail_err(opath, ret);
		goto out;
	}
	ret = wsr_ws_save(ws, opath);
	if (ret) {
		ret = fail_err(opath, ret);
	} else {
		wsr_ws_info(ws, &info);
		if (opt_json) {
			struct json j;

			json_init(&j, stdout);
			json_begin_object(&j);
			json_kstr(&j, "file", opath);
			json_ku64(&j, "pages", info.pages);
			json_ku64(&j, "listed", pl.n);
			json_snapshot_id(&j, "snapshot", &info.snapshot);
			json_end_object(&j);
			json_finish(&j);
		} else {
			printf("%s: %" PRIu64 " pages (%zu listed)\n", opath,
			       info.pages, pl.n);
		}
	}
	wsr_ws_free(ws);
out:
	page_list_free(&pl);
	free(srcs);
	free(kinds);
	return ret;
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
