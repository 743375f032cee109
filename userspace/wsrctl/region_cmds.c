// SPDX-License-Identifier: GPL-2.0-or-later
/* wsrctl record|restore|touch: verbs that need a region. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "wsrctl.h"

/* Read one byte of each page, in order, as a guest's first touches would. */
static uint64_t touch_pages(const volatile unsigned char *mem,
			    const struct page_list *pl)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < pl->n; i++)
		sum += mem[pl->v[i] * WSR_PAGE_SIZE];
	return sum;
}

static int check_pages(const struct page_list *pl, uint64_t length,
		       const char *what)
{
	uint64_t npages = length / WSR_PAGE_SIZE;
	size_t i;

	for (i = 0; i < pl->n; i++)
		if (pl->v[i] >= npages)
			return fail(what, "page %" PRIu64 " is beyond the region (%" PRIu64 " pages)",
				    pl->v[i], npages);
	return EXIT_OK;
}

/* The pages of --touch LIST / --pattern P options, in order. */
static int access_build(const struct opt_list *a, uint64_t length,
			struct page_list *pl)
{
	int i, ret = EXIT_OK;

	for (i = 0; i < a->n && !ret; i++)
		ret = a->key[i] == 't' ? page_list_read(pl, a->arg[i]) :
		      page_list_pattern(pl, a->arg[i], length / WSR_PAGE_SIZE);
	if (!ret)
		ret = check_pages(pl, length, a->n ? a->arg[0] : "pages");
	return ret;
}

static const char *region_what(const char *dev)
{
	return dev ? dev : WSR_DEVICE;
}

static int fail_region(const char *dev, const char *op, int err)
{
	if (err == -ENOENT)
		return fail(region_what(dev), "%s (is wsr.ko loaded?)",
			    strerror(ENOENT));
	return fail(region_what(dev), "%s: %s", op, wsr_strerror(err));
}

/*
 * Run CMD, with the region fd @fd inherited as $WSR_FD (its length in
 * $WSR_LENGTH) unless @fd < 0; EXIT_OK if it exited with status 0.
 */
int run_command(int fd, uint64_t length, char **cmd)
{
	char fdbuf[32], lenbuf[32];
	int status;
	pid_t pid;

	snprintf(fdbuf, sizeof(fdbuf), "%d", fd);
	snprintf(lenbuf, sizeof(lenbuf), "%" PRIu64, length);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail(cmd[0], "fork: %s", strerror(errno));
	if (!pid) {
		int flags = fd < 0 ? 0 : fcntl(fd, F_GETFD);

		if (fd >= 0 &&
		    (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0 ||
		     setenv("WSR_FD", fdbuf, 1) ||
		     setenv("WSR_LENGTH", lenbuf, 1)))
			_exit(127);
		execvp(cmd[0], cmd);
		fprintf(stderr, "wsrctl: %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fail(cmd[0], "waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return EXIT_OK;
	if (WIFEXITED(status))
		return fail(cmd[0], "exited with status %d, working set not saved",
			    WEXITSTATUS(status));
	return fail(cmd[0], "killed by signal %d, working set not saved",
		    WTERMSIG(status));
}

/* Options of record, restore and touch (each uses some). */
struct region_args {
	struct snap_opts so;
	const char *dev;
	const char *opath;
	const char *wpath;
	const char *fd;
	const char *len;
	unsigned int cflags;
	unsigned int rflags;
	uint64_t wait_ms;
	int do_wait;
	struct opt_list acc;
	char **cmd;
};

#define OPT_ACCESS							\
	OPT_L("touch", 't', struct region_args, acc),			\
	OPT_L("pattern", 'p', struct region_args, acc)

static const struct opt record_opts[] = {
	OPT_SNAP(struct region_args, so),
	OPT_S("dev", 'D', struct region_args, dev),
	OPT_F("no-huge", 'H', struct region_args, cflags, WSR_CREATE_NO_HUGE),
	OPT_S("output", 'o', struct region_args, opath),
	OPT_ACCESS,
	OPT_END
};

static void record_print(const struct region_args *a, const struct wsr_ws *ws,
			 const struct page_list *pl, const struct wsr_stats *st)
{
	struct wsr_ws_info info;
	struct json j;

	wsr_ws_info(ws, &info);
	if (!opt_json) {
		printf("%s: recorded %" PRIu64 " pages", a->opath, info.pages);
		if (!a->cmd)
			printf(" (%zu accesses)", pl->n);
		if (info.dropped)
			printf(", %" PRIu64 " first touches dropped (tracker full)",
			       info.dropped);
		printf("\nregion statistics:\n");
		print_region_stats(st);
		return;
	}
	json_init(&j, stdout);
	json_begin_object(&j);
	json_kstr(&j, "file", a->opath);
	json_ku64(&j, "pages", info.pages);
	json_ku64(&j, "touched", pl->n);
	json_ku64(&j, "dropped", info.dropped);
	json_snapshot_id(&j, "snapshot", &info.snapshot);
	json_region_stats(&j, "stats", st);
	json_end_object(&j);
	json_finish(&j);
}

/* Track while CMD runs or wsrctl touches the pages, then save. */
static int record_region(const struct region_args *a, struct wsr_region *r,
			 const struct page_list *pl)
{
	struct wsr_ws *ws = NULL;
	struct wsr_stats st;
	void *mem = NULL;
	int ret = EXIT_OK, err;

	err = a->cmd ? 0 : wsr_region_map(r, &mem);
	if (err)
		return fail_region(a->dev, "mmap", err);
	err = wsr_region_track(r, WSR_TRACK_START);
	if (err)
		return fail_region(a->dev, "start tracking", err);
	if (a->cmd)
		ret = run_command(wsr_region_fd(r), wsr_region_length(r),
				  a->cmd);
	else
		touch_pages(mem, pl);
	err = wsr_region_track(r, WSR_TRACK_STOP);
	if (!ret && err)
		ret = fail_region(a->dev, "stop tracking", err);
	if (ret)
		return ret;
	err = wsr_region_get_ws(r, &ws);
	if (err)
		return fail_region(a->dev, "get working set", err);
	err = wsr_ws_save(ws, a->opath);
	if (err)
		ret = fail_err(a->opath, err);
	else if ((err = wsr_region_stats(r, &st)))
		ret = fail_region(a->dev, "stats", err);
	else
		record_print(a, ws, pl, &st);
	wsr_ws_free(ws);
	return ret;
}

int cmd_record(int argc, char **argv)
{
	struct region_args a = { 0 };
	struct page_list pl = { 0 };
	struct wsr_region *r = NULL;
	int ret, fd = -1, err;

	ret = opts_parse("record", record_opts, &a, argc, argv, true);
	if (ret)
		goto out;
	if (optind < argc)
		a.cmd = argv + optind;
	if (!a.so.path || !a.opath || (!a.cmd && !a.acc.n) ||
	    (a.cmd && a.acc.n)) {
		ret = usage_error("record", "need --snapshot F, -o OUT and either --touch/--pattern or -- CMD");
		goto out;
	}
	ret = open_snapshot(a.so.path, a.so.offset, a.so.have_length,
			    &a.so.length, &fd);
	if (!ret && !a.cmd)
		ret = access_build(&a.acc, a.so.length, &pl);
	if (ret)
		goto out;
	err = wsr_region_create(a.dev, fd, a.so.offset, a.so.length, a.cflags,
				&r);
	if (err)
		ret = fail_region(a.dev, "create", err);
	else if (!(wsr_region_features(r) & WSR_FEATURE_TRACK))
		ret = fail(region_what(a.dev), "the module has no first-touch tracker (WSR_FEATURE_TRACK)");
	else
		ret = record_region(&a, r, &pl);
out:
	wsr_region_destroy(r);
	if (fd >= 0)
		close(fd);
	page_list_free(&pl);
	opt_list_free(&a.acc);
	return ret == OPT_HELP ? EXIT_OK : ret;
}

void print_restore(const struct wsr_restore *rs)
{
	printf("  %-16s %" PRIu64 "\n", "pages", (uint64_t)rs->count);
	printf("  %-16s %" PRIu64 "\n", "from_cache", (uint64_t)rs->from_cache);
	printf("  %-16s %" PRIu64 "\n", "from_device", (uint64_t)rs->from_device);
	printf("  %-16s %" PRIu64 "\n", "bytes_read", (uint64_t)rs->bytes_read);
	printf("  %-16s %" PRIu64 "\n", "runs", (uint64_t)rs->runs);
	printf("  %-16s %" PRIu64 "\n", "present", (uint64_t)rs->present);
	printf("  %-16s %" PRIu64 "\n", "bytes_gap", (uint64_t)rs->bytes_gap);
	printf("  %-16s %" PRIu64 "\n", "left_cached",
	       (uint64_t)rs->left_cached);
}

void json_restore(struct json *j, const struct wsr_restore *rs)
{
	json_key(j, "restore");
	json_begin_object(j);
	json_ku64(j, "pages", rs->count);
	json_ku64(j, "from_cache", rs->from_cache);
	json_ku64(j, "from_device", rs->from_device);
	json_ku64(j, "bytes_read", rs->bytes_read);
	json_ku64(j, "runs", rs->runs);
	json_ku64(j, "present", rs->present);
	json_ku64(j, "bytes_gap", rs->bytes_gap);
	json_ku64(j, "left_cached", rs->left_cached);
	json_end_object(j);
}

static const struct opt restore_opts[] = {
	OPT_SNAP(struct region_args, so),
	OPT_S("ws", 'w', struct region_args, wpath),
	OPT_S("dev", 'D', struct region_args, dev),
	OPT_F("no-huge", 'H', struct region_args, cflags, WSR_CREATE_NO_HUGE),
	OPT_F("async", 'a', struct region_args, rflags, WSR_RESTORE_ASYNC),
	OPT_F("lazy", 'z', struct region_args, rflags, WSR_RESTORE_LAZY_CACHE),
	{ "wait", 'W', OPT_U64, offsetof(struct region_args, wait_ms), 0,
	  UINT32_MAX, offsetof(struct region_args, do_wait) },
	OPT_F("no-check", 'n', struct region_args, rflags, WSR_RESTORE_NOCHECK),
	OPT_ACCESS,
	OPT_END
};

static void restore_print(const struct region_args *a, uint64_t pages,
			  const struct page_list *pl,
			  const struct wsr_restore *rs,
			  const struct wsr_stats *st)
{
	struct json j;

	if (!opt_json) {
		printf("%s: restored %" PRIu64 " pages of %s%s\n", a->wpath,
		       pages, a->so.path,
		       a->rflags & WSR_RESTORE_ASYNC ? " (async)" : "");
		print_restore(rs);
		printf("region statistics%s:\n",
		       pl->n ? " after touching the listed pages" : "");
		print_region_stats(st);
		return;
	}
	json_init(&j, stdout);
	json_begin_object(&j);
	json_kstr(&j, "ws", a->wpath);
	json_kstr(&j, "snapshot_file", a->so.path);
	json_kbool(&j, "async", !!(a->rflags & WSR_RESTORE_ASYNC));
	json_ku64(&j, "touched", pl->n);
	json_restore(&j, rs);
	json_region_stats(&j, "stats", st);
	json_end_object(&j);
	json_finish(&j);
}

/* Map, prefault from the working set, touch the listed pages, report. */
static int restore_region(const struct region_args *a, struct wsr_region *r,
			  const struct wsr_ws *ws, const struct page_list *pl)
{
	struct wsr_snapshot_id id;
	struct wsr_ws_info info;
	struct wsr_restore rs;
	struct wsr_stats st;
	void *mem;
	int err;

	err = wsr_region_map(r, &mem);
	if (err)
		return fail_region(a->dev, "mmap", err);
	wsr_ws_info(ws, &info);
	err = wsr_region_restore(r, ws, a->rflags, &rs);
	if (err == -ESTALE && !wsr_region_snapshot_id(r, &id))
		return fail_stale(a->wpath, a->so.path, &info.snapshot, &id);
	if (err == -ESTALE)
		return fail_err(a->wpath, err);
	if (err)
		return fail_region(a->dev, "restore", err);
	if (a->do_wait) {
		err = wsr_region_wait(r, (unsigned int)a->wait_ms);
		if (err)
			return fail_region(a->dev, "wait", err);
	}
	touch_pages(mem, pl);
	err = wsr_region_stats(r, &st);
	if (err)
		return fail_region(a->dev, "stats", err);
	restore_print(a, info.pages, pl, &rs, &st);
	return EXIT_OK;
}

int cmd_restore(int argc, char **argv)
{
	struct region_args a = { 0 };
	struct page_list pl = { 0 };
	struct wsr_region *r = NULL;
	struct wsr_ws *ws = NULL;
	struct wsr_ws_info info;
	int ret, fd = -1, err;

	ret = opts_parse("restore", restore_opts, &a, argc, argv, false);
	if (!ret && (!a.so.path || !a.wpath || optind != argc))
		ret = usage_error("restore", "need --snapshot F and --ws WS");
	if (!ret)
		ret = load_ws(a.wpath, &ws);
	if (ret)
		goto out;
	wsr_ws_info(ws, &info);
	/* The region has the working set's length. */
	a.so.length = info.snapshot.length;
	ret = open_snapshot(a.so.path, a.so.offset, 1, &a.so.length, &fd);
	if (!ret)
		ret = access_build(&a.acc, a.so.length, &pl);
	if (ret)
		goto out;
	err = wsr_region_create(a.dev, fd, a.so.offset, a.so.length, a.cflags,
				&r);
	ret = err ? fail_region(a.dev, "create", err) :
	      restore_region(&a, r, ws, &pl);
out:
	wsr_ws_free(ws);
	wsr_region_destroy(r);
	if (fd >= 0)
		close(fd);
	page_list_free(&pl);
	opt_list_free(&a.acc);
	return ret == OPT_HELP ? EXIT_OK : ret;
}

static const struct opt touch_opts[] = {
	OPT_S("fd", 'f', struct region_args, fd),
	OPT_S("length", 'L', struct region_args, len),
	OPT_ACCESS,
	OPT_END
};

static void touch_print(size_t n)
{
	struct json j;

	if (!opt_json) {
		printf("touched %zu pages\n", n);
		return;
	}
	json_init(&j, stdout);
	json_begin_object(&j);
	json_ku64(&j, "touched", n);
	json_end_object(&j);
	json_finish(&j);
}

int cmd_touch(int argc, char **argv)
{
	struct region_args a = { .fd = getenv("WSR_FD"),
				 .len = getenv("WSR_LENGTH") };
	struct page_list pl = { 0 };
	uint64_t fd64 = 0, length = 0;
	void *mem;
	int ret;

	ret = opts_parse("touch", touch_opts, &a, argc, argv, true);
	if (ret)
		goto out;
	if (!a.fd || !a.len || !a.acc.n || optind != argc ||
	    parse_u64(a.fd, &fd64) || fd64 > INT32_MAX ||
	    parse_u64(a.len, &length) || !length ||
	    length % WSR_PAGE_SIZE) {
		ret = usage_error("touch", "need --fd N (or $WSR_FD), --length L (or $WSR_LENGTH) and --touch/--pattern");
		goto out;
	}
	ret = access_build(&a.acc, length, &pl);
	if (ret)
		goto out;
	mem = mmap(NULL, length, PROT_READ, MAP_SHARED, (int)fd64, 0);
	if (mem == MAP_FAILED) {
		ret = fail(a.fd, "mmap: %s", strerror(errno));
		goto out;
	}
	touch_pages(mem, &pl);
	munmap(mem, length);
	touch_print(pl.n);
out:
	page_list_free(&pl);
	opt_list_free(&a.acc);
	return ret == OPT_HELP ? EXIT_OK : ret;
}
