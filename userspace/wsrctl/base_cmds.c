// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * wsrctl base create|restore|record|list|drop: named bases, which wsrfs
 * serves as files for VMMs that map guest memory by path.
 */
#include <errno.h>
#include <stddef.h>
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
	const char *dev = bo->dev ? bo->dev : WSR_DEVICE;

	if (err == -ENOENT && access(dev, F_OK))
		return fail(dev, "%s (is wsr.ko loaded?)", strerror(ENOENT));
	if (err == -ENOENT)
		return fail(bo->name, "no such base");
	if (err == -EEXIST)
		return fail(bo->name, "a base of that name exists");
	if (err == -EPERM)
		return fail(bo->name, "%s: only its creator or root may", op);
	if (err == -EOPNOTSUPP)
		return fail(dev, "the module has no named bases (WSR_FEATURE_NAMED_BASE)");
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

struct create_args {
	struct snap_opts so;
	const char *dev;
	unsigned int flags;
};

static const struct opt create_opts[] = {
	OPT_SNAP(struct create_args, so),
	OPT_S("dev", 'D', struct create_args, dev),
	OPT_F("no-huge", 'H', struct create_args, flags, WSR_CREATE_NO_HUGE),
	OPT_END
};

static void create_print(const struct base_opts *bo,
			 const struct snap_opts *so)
{
	struct json j;

	if (!opt_json) {
		printf("%s: %" PRIu64 " bytes of %s from offset %" PRIu64 "\n",
		       bo->name, so->length, so->path, so->offset);
		return;
	}
	json_init(&j, stdout);
	json_begin_object(&j);
	json_kstr(&j, "name", bo->name);
	json_kstr(&j, "snapshot_file", so->path);
	json_ku64(&j, "offset", so->offset);
	json_ku64(&j, "length", so->length);
	json_end_object(&j);
	json_finish(&j);
}

static int base_create(int argc, char **argv)
{
	struct create_args a = { 0 };
	struct base_opts bo = { 0 };
	int ret, fd = -1, err;

	ret = opts_parse("base create", create_opts, &a, argc, argv, false);
	if (!ret)
		ret = base_name(&bo, argc, argv, "base create");
	if (ret)
		return ret == OPT_HELP ? EXIT_OK : ret;
	bo.dev = a.dev;
	if (!a.so.path || optind != argc)
		return usage_error("base create", "need NAME and --snapshot F");
	ret = open_snapshot(a.so.path, a.so.offset, a.so.have_length,
			    &a.so.length, &fd);
	if (ret)
		return ret;
	err = wsr_base_create(bo.dev, bo.name, fd, a.so.offset, a.so.length,
			      a.flags);
	close(fd);
	if (err)
		return fail_base(&bo, "create", err);
	create_print(&bo, &a.so);
	return EXIT_OK;
}

/* Only --dev: list and drop. */
static const struct opt dev_opts[] = {
	OPT_S("dev", 'D', struct base_opts, dev),
	OPT_END
};

static int base_drop(int argc, char **argv)
{
	struct base_opts bo = { 0 };
	int ret, err;

	ret = opts_parse("base drop", dev_opts, &bo, argc, argv, false);
	if (!ret)
		ret = base_name(&bo, argc, argv, "base drop");
	if (!ret && optind != argc)
		ret = usage_error("base drop", "one NAME only");
	if (ret)
		return ret == OPT_HELP ? EXIT_OK : ret;
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

static void list_print(const struct wsr_base_info *v, size_t n)
{
	struct json j;
	size_t i;

	if (opt_json) {
		json_init(&j, stdout);
		json_begin_array(&j);
		for (i = 0; i < n; i++)
			json_base(&j, &v[i]);
		json_end_array(&j);
		json_finish(&j);
		return;
	}
	printf("%-20s %12s %12s %5s %5s %5s %8s %8s %8s\n", "NAME", "OFFSET",
	       "LENGTH", "UID", "GID", "MODE", "HUGE", "SMALL", "FAULTS");
	for (i = 0; i < n; i++)
		printf("%-20s %12" PRIu64 " %12" PRIu64 " %5u %5u %5o %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
		       v[i].name, (uint64_t)v[i].offset, (uint64_t)v[i].length,
		       v[i].uid, v[i].gid, v[i].mode,
		       (uint64_t)v[i].resident_huge,
		       (uint64_t)v[i].resident_small, (uint64_t)v[i].faults);
}

static int base_list(int argc, char **argv)
{
	struct base_opts bo = { 0 };
	struct wsr_base_info *v;
	size_t n;
	int ret, err;

	ret = opts_parse("base list", dev_opts, &bo, argc, argv, false);
	if (!ret && optind != argc)
		ret = usage_error("base list", "no operands");
	if (ret)
		return ret == OPT_HELP ? EXIT_OK : ret;
	err = wsr_base_list(bo.dev, &v, &n);
	if (err)
		return fail_base(&bo, "list", err);
	list_print(v, n);
	free(v);
	return EXIT_OK;
}

/* Options of 'base restore'. */
struct restore_opts {
	const char *dev;
	const char *wpath;
	unsigned int flags;
	uint64_t wait_ms;
	int do_wait;
};

static const struct opt restore_tab[] = {
	OPT_S("ws", 'w', struct restore_opts, wpath),
	OPT_F("async", 'a', struct restore_opts, flags, WSR_RESTORE_ASYNC),
	OPT_F("lazy", 'z', struct restore_opts, flags, WSR_RESTORE_LAZY_CACHE),
	OPT_F("no-check", 'n', struct restore_opts, flags, WSR_RESTORE_NOCHECK),
	{ "wait", 'W', OPT_U64, offsetof(struct restore_opts, wait_ms), 0,
	  UINT32_MAX, offsetof(struct restore_opts, do_wait) },
	OPT_S("dev", 'D', struct restore_opts, dev),
	OPT_END
};

static int restore_parse(int argc, char **argv, struct base_opts *bo,
			 struct restore_opts *ro)
{
	int ret = opts_parse("base restore", restore_tab, ro, argc, argv,
			     false);

	if (!ret)
		ret = base_name(bo, argc, argv, "base restore");
	if (!ret && (!ro->wpath || optind != argc))
		ret = usage_error("base restore", "need NAME and --ws WS");
	bo->dev = ro->dev;
	return ret;
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
	struct wsr_snapshot_id id;
	struct wsr_ws_info info;
	struct wsr_restore rs;
	struct wsr_stats st;
	int ret, err;

	ret = restore_parse(argc, argv, &bo, &ro);
	if (ret)
		return ret == OPT_HELP ? EXIT_OK : ret;
	ret = load_ws(ro.wpath, &ws);
	if (ret)
		return ret;
	err = wsr_base_open(bo.dev, bo.name, &r);
	if (err) {
		ret = fail_base(&bo, "open", err);
		goto out;
	}
	err = wsr_region_restore(r, ws, ro.flags, &rs);
	if (err == -ESTALE && !wsr_region_snapshot_id(r, &id)) {
		wsr_ws_info(ws, &info);
		ret = fail_stale(ro.wpath, bo.name, &info.snapshot, &id);
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

struct record_args {
	const char *dev;
	const char *opath;
};

static const struct opt record_tab[] = {
	OPT_S("output", 'o', struct record_args, opath),
	OPT_S("dev", 'D', struct record_args, dev),
	OPT_END
};

static int base_record(int argc, char **argv)
{
	struct record_args a = { 0 };
	struct base_opts bo = { 0 };
	struct wsr_region *r = NULL;
	int ret, err;

	ret = opts_parse("base record", record_tab, &a, argc, argv, false);
	if (!ret)
		ret = base_name(&bo, argc, argv, "base record");
	if (!ret && (!a.opath || optind >= argc))
		ret = usage_error("base record", "need NAME, -o OUT and -- CMD");
	if (ret)
		return ret == OPT_HELP ? EXIT_OK : ret;
	bo.dev = a.dev;
	err = wsr_base_open(bo.dev, bo.name, &r);
	if (err)
		return fail_base(&bo, "open", err);
	if (!(wsr_region_features(r) & WSR_FEATURE_TRACK))
		ret = fail(bo.name, "the module has no first-touch tracker (WSR_FEATURE_TRACK)");
	else
		ret = record_run(&bo, r, argv + optind, a.opath);
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
