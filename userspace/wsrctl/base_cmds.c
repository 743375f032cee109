// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * wsrctl base create|restore|record|list|drop: named bases, which wsrfs
 * serves as files for VMMs that map guest memory by path.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "wsrctl.h"

/* Options every base verb takes. */
struct base_opts {
	const char *dev;
	const char *name;
};

static int fail_base(const struct base_opts *bo, const char *op, int err)
{
	if (err == -ENOENT && !strcmp(op, "open device"))
		return fail(bo->dev ? bo->dev : WSR_DEVICE,
			    "%s (is wsr.ko loaded?)", strerror(ENOENT));
	if (err == -ENOENT)
		return fail(bo->name, "no such base");
	if (err == -EEXIST)
		return fail(bo->name, "a base of that name exists");
	if (err == -EPERM)
		return fail(bo->name, "%s: only its creator or root may", op);
	if (err == -EOPNOTSUPP)
		return fail(bo->dev ? bo->dev : WSR_DEVICE,
			    "the module has no named bases (WSR_FEATURE_NAMED_BASE)");
	return fail(bo->name ? bo->name : "base", "%s: %s", op,
		    wsr_strerror(err));
}

/* The NAME operand, the only one of create/restore/drop. */
static int base_name(struct base_opts *bo, int argc, char **argv,
		     const char *verb)
{
	const char *n;

	if (optind >= argc)
		return usage_error(verb, "need NAME");
	n = argv[optind++];
	if (!*n || *n == '.' || strlen(n) >= WSR_BASE_NAME_MAX ||
	    strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(n))
		return usage_error(verb, "bad NAME '%s': 1-63 of [A-Za-z0-9._-], not starting with '.'",
				   n);
	bo->name = n;
	return EXIT_OK;
}

static int base_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "snapshot", required_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'O' },
		{ "length", required_argument, NULL, 'L' },
		{ "dev", required_argument, NULL, 'D' },
		{ "no-huge", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct base_opts bo = { 0 };
	struct snap_opts so = { 0 };
	unsigned int flags = 0;
	int c, ret = EXIT_OK, fd = -1, err;

	optind = 0;
	while (!ret && (c = getopt_long(argc, argv, "s:O:L:D:Hh", opts,
					NULL)) != -1) {
		if (c == 's' || c == 'O' || c == 'L')
			ret = snap_opt(&so, c, optarg, "base create");
		else if (c == 'D')
			bo.dev = optarg;
		else if (c == 'H')
			flags |= WSR_CREATE_NO_HUGE;
		else if (c == 'h')
			return print_help(stdout, "base create"), EXIT_OK;
		else
			ret = usage_error("base create", "bad option");
	}
	if (!ret)
		ret = base_name(&bo, argc, argv, "base create");
	if (ret)
		return ret;
	if (!so.path || optind != argc)
		return usage_error("base create", "need NAME and --snapshot F");
	ret = open_snapshot(so.path, so.offset, so.have_length, &so.length,
			    &fd);
	if (ret)
		return ret;
	err = wsr_base_create(bo.dev, bo.name, fd, so.offset, so.length, flags);
	close(fd);
	if (err)
		return fail_base(&bo, "create", err);
	if (!opt_json) {
		printf("%s: %" PRIu64 " bytes of %s from offset %" PRIu64 "\n",
		       bo.name, so.length, so.path, so.offset);
		return EXIT_OK;
	}
	{
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_kstr(&j, "name", bo.name);
		json_kstr(&j, "snapshot_file", so.path);
		json_ku64(&j, "offset", so.offset);
		json_ku64(&j, "length", so.length);
		json_end_object(&j);
		json_finish(&j);
	}
	return EXIT_OK;
}

static int base_drop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct base_opts bo = { 0 };
	int c, ret = EXIT_OK, err;

	optind = 0;
	while (!ret && (c = getopt_long(argc, argv, "D:h", opts, NULL)) != -1) {
		if (c == 'D')
			bo.dev = optarg;
		else if (c == 'h')
			return print_help(stdout, "base drop"), EXIT_OK;
		else
			ret = usage_error("base drop", "bad option");
	}
	if (!ret)
		ret = base_name(&bo, argc, argv, "base drop");
	if (!ret && optind != argc)
		ret = usage_error("base drop", "one NAME only");
	if (ret)
		return ret;
	err = wsr_base_drop(bo.dev, bo.name);
	return err ? fail_base(&bo, "drop", err) : EXIT_OK;
}

static void json_base(struct json *j, const struct wsr_base_info *b)
{
	json_begin_object(j);
	json_kstr(j, "name", b->name);
	json_ku64(j, "offset", b->offset);
	json_ku64(j, "length", b->length);
	json_ku64(j, "snap_dev", b->snap_dev);
	json_ku64(j, "snap_ino", b->snap_ino);
	json_ku64(j, "uid", b->uid);
	json_ku64(j, "gid", b->gid);
	json_ku64(j, "mode", b->mode);
	json_ku64(j, "resident_huge", b->resident_huge);
	json_ku64(j, "resident_small", b->resident_small);
	json_ku64(j, "faults", b->faults);
	json_ku64(j, "refs", b->refs);
	json_end_object(j);
}

static int base_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct base_opts bo = { 0 };
	struct wsr_base_info *v;
	struct json j;
	size_t n, i;
	int c, err;

	optind = 0;
	while ((c = getopt_long(argc, argv, "D:h", opts, NULL)) != -1) {
		if (c == 'D')
			bo.dev = optarg;
		else if (c == 'h')
			return print_help(stdout, "base list"), EXIT_OK;
		else
			return usage_error("base list", "bad option");
	}
	if (optind != argc)
		return usage_error("base list", "no operands");
	err = wsr_base_list(bo.dev, &v, &n);
	if (err)
		return fail_base(&bo, "list", err);
	if (opt_json) {
		json_init(&j, stdout);
		json_begin_array(&j);
		for (i = 0; i < n; i++)
			json_base(&j, &v[i]);
		json_end_array(&j);
		json_finish(&j);
	} else {
		printf("%-20s %12s %12s %5s %5s %5s %8s %8s %8s\n", "NAME",
		       "OFFSET", "LENGTH", "UID", "GID", "MODE", "HUGE",
		       "SMALL", "FAULTS");
		for (i = 0; i < n; i++)
			printf("%-20s %12" PRIu64 " %12" PRIu64 " %5u %5u %5o %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
			       v[i].name, (uint64_t)v[i].offset,
			       (uint64_t)v[i].length, v[i].uid, v[i].gid,
			       v[i].mode, (uint64_t)v[i].resident_huge,
			       (uint64_t)v[i].resident_small,
			       (uint64_t)v[i].faults);
	}
	free(v);
	return EXIT_OK;
}

/* --ws, --async, --lazy, --no-check, --wait of 'base restore'. */
struct restore_opts {
	const char *wpath;
	unsigned int flags;
	int do_wait;
	uint64_t wait_ms;
};

static int restore_parse(int argc, char **argv, struct base_opts *bo,
			 struct restore_opts *ro)
{
	static const struct option opts[] = {
		{ "ws", required_argument, NULL, 'w' },
		{ "async", no_argument, NULL, 'a' },
		{ "lazy", no_argument, NULL, 'z' },
		{ "wait", required_argument, NULL, 'W' },
		{ "no-check", no_argument, NULL, 'n' },
		{ "dev", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "w:azW:nD:h", opts, NULL)) != -1) {
		if (c == 'w')
			ro->wpath = optarg;
		else if (c == 'a')
			ro->flags |= WSR_RESTORE_ASYNC;
		else if (c == 'z')
			ro->flags |= WSR_RESTORE_LAZY_CACHE;
		else if (c == 'n')
			ro->flags |= WSR_RESTORE_NOCHECK;
		else if (c == 'D')
			bo->dev = optarg;
		else if (c == 'h')
			return print_help(stdout, "base restore"), -1;
		else if (c != 'W')
			return usage_error("base restore", "bad option");
		else if (parse_u64(optarg, &ro->wait_ms) ||
			 ro->wait_ms > UINT32_MAX)
			return usage_error("base restore", "bad --wait '%s'",
					   optarg);
		else
			ro->do_wait = 1;
	}
	if (base_name(bo, argc, argv, "base restore"))
		return EXIT_USAGE;
	if (!ro->wpath || optind != argc)
		return usage_error("base restore", "need NAME and --ws WS");
	return EXIT_OK;
}

static void restore_print(const struct base_opts *bo,
			  const struct restore_opts *ro,
			  const struct wsr_restore *rs, const struct wsr_stats *st)
{
	struct json j;

	if (!opt_json) {
		printf("%s: restored %" PRIu64 " pages into base %s%s\n",
		       ro->wpath, (uint64_t)rs->count, bo->name,
		       ro->flags & WSR_RESTORE_ASYNC ? " (async)" : "");
		print_restore(rs);
		printf("base statistics:\n");
		print_region_stats(st);
		return;
	}
	json_init(&j, stdout);
	json_begin_object(&j);
	json_kstr(&j, "ws", ro->wpath);
	json_kstr(&j, "base", bo->name);
	json_kbool(&j, "async", !!(ro->flags & WSR_RESTORE_ASYNC));
	json_restore(&j, rs);
	json_region_stats(&j, "stats", st);
	json_end_object(&j);
	json_finish(&j);
}

static int base_restore(int argc, char **argv)
{
	struct restore_opts ro = { 0 };
	struct base_opts bo = { 0 };
	struct wsr_region *r = NULL;
	struct wsr_ws *ws = NULL;
	struct wsr_restore rs;
	struct wsr_stats st;
	int ret, err;

	ret = restore_parse(argc, argv, &bo, &ro);
	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	ret = load_ws(ro.wpath, &ws);
	if (ret)
		return ret;
	err = wsr_base_open(bo.dev, bo.name, &r);
	if (err) {
		ret = fail_base(&bo, "open", err);
		goto out;
	}
	err = wsr_region_restore(r, ws, ro.flags, &rs);
	if (err == -ESTALE) {
		ret = fail(ro.wpath, "belongs to a different snapshot than base %s",
			   bo.name);
		goto out;
	}
	if (!err && ro.do_wait)
		err = wsr_region_wait(r, (unsigned int)ro.wait_ms);
	if (!err)
		err = wsr_region_stats(r, &st);
	if (err) {
		ret = fail_base(&bo, "restore", err);
		goto out;
	}
	restore_print(&bo, &ro, &rs, &st);
out:
	wsr_region_destroy(r);
	wsr_ws_free(ws);
	return ret;
}

static int record_run(const struct base_opts *bo, struct wsr_region *r,
		      char **cmd, const char *opath)
{
	struct wsr_ws_info info;
	struct wsr_ws *ws = NULL;
	struct wsr_stats st;
	int ret, err;

	err = wsr_region_track(r, WSR_TRACK_START);
	if (err)
		return fail_base(bo, "start tracking", err);
	ret = run_command(-1, 0, cmd);
	err = wsr_region_track(r, WSR_TRACK_STOP);
	if (!ret && err)
		ret = fail_base(bo, "stop tracking", err);
	if (ret)
		return ret;
	err = wsr_region_get_ws(r, &ws);
	if (err)
		return fail_base(bo, "get working set", err);
	err = wsr_ws_save(ws, opath);
	if (err) {
		wsr_ws_free(ws);
		return fail_err(opath, err);
	}
	wsr_ws_info(ws, &info);
	wsr_ws_free(ws);
	err = wsr_region_stats(r, &st);
	if (err)
		return fail_base(bo, "stats", err);
	if (opt_json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_kstr(&j, "file", opath);
		json_kstr(&j, "base", bo->name);
		json_ku64(&j, "pages", info.pages);
		json_ku64(&j, "dropped", info.dropped);
		json_snapshot_id(&j, "snapshot", &info.snapshot);
		json_region_stats(&j, "stats", &st);
		json_end_object(&j);
		json_finish(&j);
		return EXIT_OK;
	}
	printf("%s: recorded %" PRIu64 " pages of base %s", opath, info.pages,
	       bo->name);
	if (info.dropped)
		printf(", %" PRIu64 " first touches dropped (tracker full)",
		       info.dropped);
	printf("\nbase statistics:\n");
	print_region_stats(&st);
	return EXIT_OK;
}

static int base_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "dev", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct base_opts bo = { 0 };
	struct wsr_region *r = NULL;
	const char *opath = NULL;
	int c, ret, err;

	optind = 0;
	while ((c = getopt_long(argc, argv, "o:D:h", opts, NULL)) != -1) {
		if (c == 'o')
			opath = optarg;
		else if (c == 'D')
			bo.dev = optarg;
		else if (c == 'h')
			return print_help(stdout, "base record"), EXIT_OK;
		else
			return usage_error("base record", "bad option");
	}
	ret = base_name(&bo, argc, argv, "base record");
	if (ret)
		return ret;
	if (!opath || optind >= argc)
		return usage_error("base record", "need NAME, -o OUT and -- CMD");
	err = wsr_base_open(bo.dev, bo.name, &r);
	if (err)
		return fail_base(&bo, "open", err);
	if (!(wsr_region_features(r) & WSR_FEATURE_TRACK))
		ret = fail(bo.name, "the module has no first-touch tracker (WSR_FEATURE_TRACK)");
	else
		ret = record_run(&bo, r, argv + optind, opath);
	wsr_region_destroy(r);
	return ret;
}

int cmd_base(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} subs[] = {
		{ "create", base_create },
		{ "restore", base_restore },
		{ "record", base_record },
		{ "list", base_list },
		{ "drop", base_drop },
	};
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_help(argc < 2 ? stderr : stdout, "base");
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "wsrctl base: unknown verb '%s' (see 'wsrctl base --help')\n",
		argv[1]);
	return EXIT_USAGE;
}
