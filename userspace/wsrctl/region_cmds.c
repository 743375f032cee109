// SPDX-License-Identifier: GPL-2.0-or-later
/* wsrctl record|restore|touch|id: verbs that need a snapshot or a region. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

/* --touch / --pattern arguments, collected in order. */
struct access_opts {
	const char **src;
	char *kind;
	int n;
};

static int access_add(struct access_opts *a, int argc, char kind,
		      const char *arg)
{
	if (!a->src) {
		a->src = calloc(argc, sizeof(*a->src));
		a->kind = calloc(argc, 1);
		if (!a->src || !a->kind)
			return -ENOMEM;
	}
	a->kind[a->n] = kind;
	a->src[a->n++] = arg;
	return 0;
}

static int access_build(const struct access_opts *a, uint64_t length,
			struct page_list *pl)
{
	int i, ret = EXIT_OK;

	for (i = 0; i < a->n && !ret; i++)
		ret = a->kind[i] == 't' ? page_list_read(pl, a->src[i]) :
		      page_list_pattern(pl, a->src[i], length / WSR_PAGE_SIZE);
	if (!ret)
		ret = check_pages(pl, length, a->n ? a->src[0] : "pages");
	return ret;
}

static void access_free(struct access_opts *a)
{
	free(a->src);
	free(a->kind);
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

int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'O' },
		{ "length", required_argument, NULL, 'L' },
		{ "dev", required_argument, NULL, 'D' },
		{ "no-huge", no_argument, NULL, 'H' },
		{ "output", required_argument, NULL, 'o' },
		{ "touch", required_argument, NULL, 't' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct snap_opts so = { 0 };
	struct access_opts acc = { 0 };
	struct page_list pl = { 0 };
	struct wsr_region *r = NULL;
	struct wsr_ws *ws = NULL;
	struct wsr_ws_info info;
	struct wsr_stats st;
	const char *dev = NULL, *opath = NULL;
	unsigned int flags = 0;
	char **cmd = NULL;
	void *mem;
	int c, ret = EXIT_OK, fd = -1, err;

	optind = 0;
	while (!ret && (c = getopt_long(argc, argv, "+js:O:L:D:Ho:t:p:h",
					opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = 1;
			break;
		case 's':
		case 'O':
		case 'L':
			ret = snap_opt(&so, c, optarg, "record");
			break;
		case 'D':
			dev = optarg;
			break;
		case 'H':
			flags |= WSR_CREATE_NO_HUGE;
			break;
		case 'o':
			opath = optarg;
			break;
		case 't':
		case 'p':
			if (access_add(&acc, argc, (char)c, optarg))
				ret = fail("wsrctl", "out of memory");
			break;
		case 'h':
			print_help(stdout, "record");
			goto out;
		default:
			ret = usage_error("record", "bad option");
		}
	}
	if (ret)
		goto out;
	if (optind < argc)
		cmd = argv + optind;
	if (!so.path || !opath || (!cmd && !acc.n) || (cmd && acc.n)) {
		ret = usage_error("record", "need --snapshot F, -o OUT and either --touch/--pattern or -- CMD");
		goto out;
	}
	ret = open_snapshot(so.path, so.offset, so.have_length, &so.length, &fd);
	if (ret)
		goto out;
	if (!cmd) {
		ret = access_build(&acc, so.length, &pl);
		if (ret)
			goto out;
	}
	err = wsr_region_create(dev, fd, so.offset, so.length, flags, &r);
	if (err) {
		ret = fail_region(dev, "create", err);
		goto out;
	}
	if (!(wsr_region_features(r) & WSR_FEATURE_TRACK)) {
		ret = fail(region_what(dev), "the module has no first-touch tracker (WSR_FEATURE_TRACK)");
		goto out;
	}
	if (!cmd) {
		err = wsr_region_map(r, &mem);
		if (err) {
			ret = fail_region(dev, "mmap", err);
			goto out;
		}
	}
	err = wsr_region_track(r, WSR_TRACK_START);
	if (err) {
		ret = fail_region(dev, "start tracking", err);
		goto out;
	}
	if (cmd)
		ret = run_command(wsr_region_fd(r), wsr_region_length(r), cmd);
	else
		touch_pages(mem, &pl);
	err = wsr_region_track(r, WSR_TRACK_STOP);
	if (!ret && err)
		ret = fail_region(dev, "stop tracking", err);
	if (ret)
		goto out;
	err = wsr_region_get_ws(r, &ws);
	if (err) {
		ret = fail_region(dev, "get working set", err);
		goto out;
	}
	err = wsr_ws_save(ws, opath);
	if (err) {
		ret = fail_err(opath, err);
		goto out;
	}
	wsr_ws_info(ws, &info);
	err = wsr_region_stats(r, &st);
	if (err) {
		ret = fail_region(dev, "stats", err);
		goto out;
	}
	if (opt_json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_kstr(&j, "file", opath);
		json_ku64(&j, "pages", info.pages);
		json_ku64(&j, "touched", pl.n);
		json_ku64(&j, "dropped", info.dropped);
		json_snapshot_id(&j, "snapshot", &info.snapshot);
		json_region_stats(&j, "stats", &st);
		json_end_object(&j);
		json_finish(&j);
	} else {
		printf("%s: recorded %" PRIu64 " pages", opath, info.pages);
		if (!cmd)
			printf(" (%zu accesses)", pl.n);
		if (info.dropped)
			printf(", %" PRIu64 " first touches dropped (tracker full)",
			       info.dropped);
		printf("\nregion statistics:\n");
		print_region_stats(&st);
	}
out:
	wsr_ws_free(ws);
	wsr_region_destroy(r);
	if (fd >= 0)
		close(fd);
	page_list_free(&pl);
	access_free(&acc);
	return ret;
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

int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'O' },
		{ "ws", required_argument, NULL, 'w' },
		{ "dev", required_argument, NULL, 'D' },
		{ "no-huge", no_argument, NULL, 'H' },
		{ "async", no_argument, NULL, 'a' },
		{ "lazy", no_argument, NULL, 'z' },
		{ "wait", required_argument, NULL, 'W' },
		{ "no-check", no_argument, NULL, 'n' },
		{ "touch", required_argument, NULL, 't' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct snap_opts so = { 0 };
	struct access_opts acc = { 0 };
	struct page_list pl = { 0 };
	struct wsr_region *r = NULL;
	struct wsr_ws *ws = NULL;
	struct wsr_ws_info info;
	struct wsr_restore rs;
	struct wsr_stats st;
	const char *dev = NULL, *wpath = NULL;
	unsigned int cflags = 0, rflags = 0;
	uint64_t wait_ms = 0;
	int c, ret = EXIT_OK, fd = -1, err, do_wait = 0;
	void *mem = NULL;

	optind = 0;
	while (!ret && (c = getopt_long(argc, argv, "js:O:w:D:HazW:nt:p:h",
					opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = 1;
			break;
		case 's':
		case 'O':
			ret = snap_opt(&so, c, optarg, "restore");
			break;
		case 'w':
			wpath = optarg;
			break;
		case 'D':
			dev = optarg;
			break;
		case 'H':
			cflags |= WSR_CREATE_NO_HUGE;
			break;
		case 'a':
			rflags |= WSR_RESTORE_ASYNC;
			break;
		case 'z':
			rflags |= WSR_RESTORE_LAZY_CACHE;
			break;
		case 'W':
			if (parse_u64(optarg, &wait_ms) || wait_ms > UINT32_MAX)
				ret = usage_error("restore", "bad --wait '%s'", optarg);
			do_wait = 1;
			break;
		case 'n':
			rflags |= WSR_RESTORE_NOCHECK;
			break;
		case 't':
		case 'p':
			if (access_add(&acc, argc, (char)c, optarg))
				ret = fail("wsrctl", "out of memory");
			break;
		case 'h':
			print_help(stdout, "restore");
			goto out;
		default:
			ret = usage_error("restore", "bad option");
		}
	}
	if (ret)
		goto out;
	if (!so.path || !wpath || optind != argc) {
		ret = usage_error("restore", "need --snapshot F and --ws WS");
		goto out;
	}
	ret = load_ws(wpath, &ws);
	if (ret)
		goto out;
	wsr_ws_info(ws, &info);
	/* The region has the working set's length. */
	so.length = info.snapshot.length;
	ret = open_snapshot(so.path, so.offset, 1, &so.length, &fd);
	if (ret)
		goto out;
	ret = access_build(&acc, so.length, &pl);
	if (ret)
		goto out;
	err = wsr_region_create(dev, fd, so.offset, so.length, cflags, &r);
	if (err) {
		ret = fail_region(dev, "create", err);
		goto out;
	}
	err = wsr_region_map(r, &mem);
	if (err) {
		ret = fail_region(dev, "mmap", err);
		goto out;
	}
	err = wsr_region_restore(r, ws, rflags, &rs);
	if (err == -ESTALE) {
		struct wsr_snapshot_id id;

		if (!wsr_region_snapshot_id(r, &id))
			ret = fail_stale(wpath, so.path, &info.snapshot, &id);
		else
			ret = fail_err(wpath, err);
		goto out;
	}
	if (err) {
		ret = fail_region(dev, "restore", err);
		goto out;
	}
	if (do_wait) {
		err = wsr_region_wait(r, (unsigned int)wait_ms);
		if (err) {
			ret = fail_region(dev, "wait", err);
			goto out;
		}
	}
	touch_pages(mem, &pl);
	err = wsr_region_stats(r, &st);
	if (err) {
		ret = fail_region(dev, "stats", err);
		goto out;
	}
	if (opt_json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_kstr(&j, "ws", wpath);
		json_kstr(&j, "snapshot_file", so.path);
		json_kbool(&j, "async", !!(rflags & WSR_RESTORE_ASYNC));
		json_ku64(&j, "touched", pl.n);
		json_restore(&j, &rs);
		json_region_stats(&j, "stats", &st);
		json_end_object(&j);
		json_finish(&j);
	} else {
		printf("%s: restored %" PRIu64 " pages of %s%s\n", wpath,
		       info.pages, so.path,
		       rflags & WSR_RESTORE_ASYNC ? " (async)" : "");
		print_restore(&rs);
		printf("region statistics%s:\n",
		       pl.n ? " after touching the listed pages" : "");
		print_region_stats(&st);
	}
out:
	wsr_ws_free(ws);
	wsr_region_destroy(r);
	if (fd >= 0)
		close(fd);
	page_list_free(&pl);
	access_free(&acc);
	return ret;
}

int cmd_touch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "fd", required_argument, NULL, 'f' },
		{ "length", required_argument, NULL, 'L' },
		{ "touch", required_argument, NULL, 't' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct access_opts acc = { 0 };
	struct page_list pl = { 0 };
	const char *fds = getenv("WSR_FD"), *lens = getenv("WSR_LENGTH");
	uint64_t fd64 = 0, length = 0;
	int c, ret = EXIT_OK;
	void *mem;

	optind = 0;
	while (!ret && (c = getopt_long(argc, argv, "+jf:L:t:p:h", opts,
					NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = 1;
			break;
		case 'f':
			fds = optarg;
			break;
		case 'L':
			lens = optarg;
			break;
		case 't':
		case 'p':
			if (access_add(&acc, argc, (char)c, optarg))
				ret = fail("wsrctl", "out of memory");
			break;
		case 'h':
			print_help(stdout, "touch");
			goto out;
		default:
			ret = usage_error("touch", "bad option");
		}
	}
	if (ret)
		goto out;
	if (!fds || !lens || !acc.n || optind != argc ||
	    parse_u64(fds, &fd64) || fd64 > INT32_MAX ||
	    parse_u64(lens, &length) || !length || length % WSR_PAGE_SIZE) {
		ret = usage_error("touch", "need --fd N (or $WSR_FD), --length L (or $WSR_LENGTH) and --touch/--pattern");
		goto out;
	}
	ret = access_build(&acc, length, &pl);
	if (ret)
		goto out;
	mem = mmap(NULL, length, PROT_READ, MAP_SHARED, (int)fd64, 0);
	if (mem == MAP_FAILED) {
		ret = fail(fds, "mmap: %s", strerror(errno));
		goto out;
	}
	touch_pages(mem, &pl);
	munmap(mem, length);
	if (opt_json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_ku64(&j, "touched", pl.n);
		json_end_object(&j);
		json_finish(&j);
	} else
		printf("touched %zu pages\n", pl.n);
out:
	page_list_free(&pl);
	access_free(&acc);
	return ret;
}
