// SPDX-License-Identifier: GPL-2.0
/*
 * wsrctl against the real module: record three working sets with different
 * access patterns (one through 'record -- CMD'), merge them, check the
 * statistics, restore the merged set into a fresh region and verify the
 * restore and fault counters.  Runs /usr/bin/wsrctl and reads its --json
 * output, so it tests the tool as a user runs it.
 *
 * Patterns over /data/snap-64M (page indices):
 *   A = 0..199 + 4000, 4003, .. 4297 (100)   300 pages
 *   B = 100..299 + 8000..8049                250 pages
 *   C = 150..249 (touched by a child process) 100 pages
 * merged: 450 pages; frequency 3: 150..199 (50), 2: 100..149 and 200..249
 * (100), 1: the other 300.  Common to all: 50.  Unique: A 200, B 100, C 0.
 */
#include <sys/wait.h>
#include "wsr_harness.h"
#include "wsr_test_util.h"

#define WSRCTL		"/usr/bin/wsrctl"
#define DIR		"/data/wsrctl-test"
#define OUTMAX		(256 << 10)

struct run {
	int status;
	char out[OUTMAX];
	char err[OUTMAX];
};

static void slurp(const char *path, char *buf)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = 0, k;

	if (fd >= 0) {
		while (n < OUTMAX - 1 &&
		       (k = read(fd, buf + n, OUTMAX - 1 - n)) > 0)
			n += k;
		close(fd);
	}
	buf[n] = 0;
}

/* Run wsrctl with @argv (NULL-terminated, without argv[0]). */
static int run_wsrctl(struct run *r, const char *const *argv)
{
	const char *args[48];
	int i, st, fd;
	pid_t pid;

	args[0] = WSRCTL;
	for (i = 0; argv[i] && i < 46; i++)
		args[i + 1] = argv[i];
	args[i + 1] = NULL;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		fd = open(DIR "/.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		fd = open(DIR "/.err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		execv(WSRCTL, (char **)args);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	slurp(DIR "/.out", r->out);
	slurp(DIR "/.err", r->err);
	return r->status;
}

#define WSRCTL_RUN(r, ...)						\
	({								\
		const char *const __a[] = { __VA_ARGS__, NULL };	\
		run_wsrctl(r, __a);					\
	})

/*
 * The first number after "key": in @s, searching after @section (a
 * '"name": {' prefix) if given.  UINT64_MAX if absent.
 */
static uint64_t jnum(const char *s, const char *section, const char *key)
{
	char pat[128];
	const char *p = s;
	uint64_t v;

	if (section) {
		snprintf(pat, sizeof(pat), "\"%s\": {", section);
		p = strstr(p, pat);
		if (!p)
			return UINT64_MAX;
	}
	return wsr_json_u64(p, key, &v) ? UINT64_MAX : v;
}

FIXTURE(wsrctl)
{
	struct wsr_api api;
	struct run r;
};

FIXTURE_SETUP(wsrctl)
{
	int ret;

	ASSERT_EQ(0, wsr_drop_caches());
	if (access(WSRCTL, X_OK))
		WSR_SETUP_SKIP("%s not in the image", WSRCTL);
	ret = wsr_probe(&self->api);
	if (ret == -ENOENT)
		WSR_SETUP_SKIP("/dev/wsr missing: module not loaded");
	ASSERT_EQ(0, ret);
	if (!(self->api.features & WSR_FEATURE_TRACK) ||
	    !(self->api.features & WSR_FEATURE_RESTORE))
		WSR_SETUP_SKIP("module lacks TRACK or RESTORE");
	ASSERT_EQ(0, mkdir(DIR, 0755) && errno != EEXIST ? -errno : 0);
}

FIXTURE_TEARDOWN(wsrctl)
{
}

/*
 * Cold: the snapshot's page cache and the base the recordings' regions
 * left (a base outlives its regions while it holds pages, and the
 * restores below are over the same snapshot range, --no-huge).
 */
static void drop_cache(struct __test_metadata *_metadata)
{
	int fd = open(WSR_SNAP, O_RDONLY);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, wsr_drop_file_cache(fd));
	close(fd);
	ASSERT_EQ(0, wsr_drop_caches());
}

TEST_F_TIMEOUT(wsrctl, record_merge_restore, 300)
{
	struct run *r = &self->r;

	/* Three recordings with different "inputs". */
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "record", "--snapshot", WSR_SNAP,
				"--no-huge", "-o", DIR "/a.ws",
				"--pattern", "seq:0:200",
				"--pattern", "seq:4000:100:3")) TH_LOG("%s", r->err);
	EXPECT_EQ(300, jnum(r->out, NULL, "pages"));
	EXPECT_EQ(0, jnum(r->out, NULL, "dropped"));
	EXPECT_EQ(300, jnum(r->out, "stats", "tracked"));
	EXPECT_EQ(300, jnum(r->out, "stats", "faults"));
	EXPECT_EQ(0, jnum(r->out, "stats", "faults_huge"));

	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "record", "--snapshot", WSR_SNAP,
				"--no-huge", "-o", DIR "/b.ws",
				"--pattern", "seq:100:200",
				"--pattern", "seq:8000:50")) TH_LOG("%s", r->err);
	EXPECT_EQ(250, jnum(r->out, NULL, "pages"));

	/* C: accesses made by a child through the inherited region fd. */
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "record", "--snapshot", WSR_SNAP,
				"--no-huge", "-o", DIR "/c.ws", "--",
				WSRCTL, "touch", "--pattern", "seq:150:100"))
		TH_LOG("%s", r->err);
	EXPECT_EQ(100, jnum(r->out, NULL, "pages"));
	EXPECT_EQ(100, jnum(r->out, "stats", "tracked"));

	/* The recording keeps first-touch order. */
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "ws", "show", "--limit", "3",
				DIR "/a.ws"));
	EXPECT_NE(NULL, strstr(r->out, "\"index\": 0,"));
	EXPECT_NE(NULL, strstr(r->out, "\"index\": 2,"));
	EXPECT_EQ(1, jnum(r->out, NULL, "recordings"));

	/* Merge and statistics. */
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "ws", "merge", "-o", DIR "/m.ws",
				DIR "/a.ws", DIR "/b.ws", DIR "/c.ws"));
	EXPECT_EQ(450, jnum(r->out, NULL, "pages"));
	EXPECT_EQ(3, jnum(r->out, NULL, "recordings"));
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "ws", "show", "--limit", "0",
				DIR "/m.ws"));
	EXPECT_EQ(50, jnum(r->out, "frequency", "3"));
	EXPECT_EQ(100, jnum(r->out, "frequency", "2"));
	EXPECT_EQ(300, jnum(r->out, "frequency", "1"));
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "ws", "stats", DIR "/a.ws",
				DIR "/b.ws", DIR "/c.ws"));
	EXPECT_EQ(450, jnum(r->out, NULL, "union"));
	EXPECT_EQ(50, jnum(r->out, NULL, "common"));
	ASSERT_EQ(0, WSRCTL_RUN(r, "ws", "stats", DIR "/a.ws", DIR "/b.ws",
				DIR "/c.ws", DIR "/m.ws"));
	TH_LOG("wsrctl ws stats a b c m:\n%s", r->out);
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "ws", "merge", "--min-count", "2",
				"-o", DIR "/m2.ws", DIR "/a.ws", DIR "/b.ws",
				DIR "/c.ws"));
	EXPECT_EQ(150, jnum(r->out, NULL, "pages"));

	/*
	 * Restore pages 100..249 from a cold cache, then touch them: the
	 * restore mapped them into wsrctl's mapping (made before it), so
	 * the touches take no fault.
	 */
	drop_cache(_metadata);
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "restore", "--snapshot", WSR_SNAP,
				"--no-huge", "--ws", DIR "/m2.ws",
				"--pattern", "seq:100:150")) TH_LOG("%s", r->err);
	EXPECT_EQ(150, jnum(r->out, "restore", "pages"));
	EXPECT_EQ(150, jnum(r->out, "restore", "from_device"));
	EXPECT_EQ(0, jnum(r->out, "restore", "from_cache"));
	EXPECT_EQ(150 * WSR_PAGE, jnum(r->out, "restore", "bytes_read"));
	EXPECT_EQ(0, jnum(r->out, "restore", "present"));
	EXPECT_EQ(1, jnum(r->out, "restore", "runs"));
	EXPECT_EQ(0, jnum(r->out, "stats", "faults"));
	EXPECT_EQ(0, jnum(r->out, "stats", "faults_present"));
	EXPECT_EQ(0, jnum(r->out, "stats", "faults_device"));
	EXPECT_EQ(0, jnum(r->out, "stats", "faults_cache"));
	EXPECT_EQ(150, jnum(r->out, "stats", "pages_device"));
	TH_LOG("restore: %s", r->out);
}

TEST_F_TIMEOUT(wsrctl, async_restore_then_wait, 200)
{
	struct run *r = &self->r;

	if (!(self->api.features & WSR_FEATURE_ASYNC))
		SKIP(return, "module lacks WSR_FEATURE_ASYNC");
	ASSERT_EQ(0, WSRCTL_RUN(r, "ws", "import", "--snapshot", WSR_SNAP,
				"--pattern", "seq:2048:64", "--pattern",
				"random:64:5", "-o", DIR "/async.ws"));
	drop_cache(_metadata);
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "restore", "--snapshot", WSR_SNAP,
				"--no-huge", "--ws", DIR "/async.ws", "--async",
				"--wait", "0", "--pattern", "seq:2048:64"))
		TH_LOG("%s", r->err);
	EXPECT_EQ(0, jnum(r->out, "stats", "restore_pending"));
	/*
	 * The background restore maps nothing, but every touched page is
	 * in the base after the wait: fault-around maps it without calling
	 * the region's ->fault, so no wsr fault is counted.
	 */
	EXPECT_EQ(0, jnum(r->out, "stats", "faults"));
	EXPECT_EQ(0, jnum(r->out, "stats", "faults_present"));
	EXPECT_EQ(0, jnum(r->out, "stats", "faults_cache"));
	EXPECT_EQ(0, jnum(r->out, "stats", "faults_device"));
	EXPECT_EQ(jnum(r->out, "stats", "pages_device") * WSR_PAGE,
		  jnum(r->out, "stats", "bytes_read"));
}

/* A working set of another snapshot is refused before anything is read. */
TEST_F_TIMEOUT(wsrctl, foreign_working_set_refused, 120)
{
	struct run *r = &self->r;

	ASSERT_EQ(0, WSRCTL_RUN(r, "ws", "import", "--snapshot",
				"/data/snap-256M", "--length", "64M",
				"--pattern", "seq:0:10", "-o", DIR "/other.ws"));
	EXPECT_EQ(1, WSRCTL_RUN(r, "restore", "--snapshot", WSR_SNAP,
				"--ws", DIR "/other.ws"));
	EXPECT_EQ(0, strncmp(r->err, "wsrctl: " DIR "/other.ws: belongs to a different snapshot than " WSR_SNAP,
			     strlen("wsrctl: " DIR "/other.ws: belongs to a different snapshot than " WSR_SNAP)))
		TH_LOG("stderr: %s", r->err);
	EXPECT_EQ(1, WSRCTL_RUN(r, "ws", "check", "--snapshot", WSR_SNAP,
				DIR "/other.ws"));
	EXPECT_EQ(0, WSRCTL_RUN(r, "ws", "check", "--snapshot",
				"/data/snap-256M", "--length", "64M",
				DIR "/other.ws"));
}

/*
 * Named bases through wsrctl: create, list, restore (its counters and a
 * foreign working set refused), record who maps the wsrfs file, drop.
 */
TEST_F_TIMEOUT(wsrctl, base_verbs, 200)
{
	const char *mnt = DIR "/wsrfs", *name = "wsrctl-base";
	struct run *r = &self->r;
	char cmd[256];

	if (!(self->api.features & WSR_FEATURE_NAMED_BASE))
		SKIP(return, "module lacks WSR_FEATURE_NAMED_BASE");
	ASSERT_EQ(0, mkdir(mnt, 0755) && errno != EEXIST ? -errno : 0);
	ASSERT_EQ(0, mount("wsr", mnt, "wsrfs", 0, NULL));
	ASSERT_EQ(0, WSRCTL_RUN(r, "base", "create", name, "--snapshot",
				WSR_SNAP, "--offset", "8M", "--length", "4M",
				"--no-huge"))
		TH_LOG("%s", r->err);
	EXPECT_EQ(1, WSRCTL_RUN(r, "base", "create", name, "--snapshot",
				WSR_SNAP));
	EXPECT_NE(NULL, strstr(r->err, "a base of that name exists"));
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "base", "list"));
	EXPECT_NE(NULL, strstr(r->out, "\"wsrctl-base\""));
	EXPECT_EQ(4ULL << 20, jnum(strstr(r->out, name), NULL, "length"));

	ASSERT_EQ(0, WSRCTL_RUN(r, "ws", "import", "--snapshot", WSR_SNAP,
				"--offset", "8M", "--length", "4M", "--pattern",
				"seq:0:64", "-o", DIR "/base.ws"));
	drop_cache(_metadata);
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "base", "restore", name, "--ws",
				DIR "/base.ws"))
		TH_LOG("%s", r->err);
	EXPECT_EQ(64, jnum(r->out, "restore", "from_device") +
		      jnum(r->out, "restore", "from_cache"));
	EXPECT_EQ(64, jnum(r->out, "stats", "resident_small"));
	ASSERT_EQ(0, WSRCTL_RUN(r, "ws", "import", "--snapshot",
				"/data/snap-256M", "--length", "4M",
				"--pattern", "seq:0:10", "-o", DIR "/other4.ws"));
	EXPECT_EQ(1, WSRCTL_RUN(r, "base", "restore", name, "--ws",
				DIR "/other4.ws"));
	EXPECT_NE(NULL, strstr(r->err, "belongs to a different snapshot than wsrctl-base"))
		TH_LOG("stderr: %s", r->err);

	/* A process maps the file read-only and touches 5 pages. */
	snprintf(cmd, sizeof(cmd),
		 "exec 3< %s/%s && exec " WSRCTL " touch --fd 3 --length 4M --pattern seq:10:5",
		 mnt, name);
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "base", "record", name, "-o",
				DIR "/rec.ws", "--", "/bin/sh", "-c", cmd))
		TH_LOG("%s", r->err);
	EXPECT_EQ(5, jnum(r->out, NULL, "pages"));
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "ws", "show", "--all",
				DIR "/rec.ws"));
	EXPECT_NE(NULL, strstr(r->out, "\"index\": 10"));
	EXPECT_NE(NULL, strstr(r->out, "\"index\": 14"));

	ASSERT_EQ(0, WSRCTL_RUN(r, "base", "drop", name));
	EXPECT_EQ(1, WSRCTL_RUN(r, "base", "drop", name));
	EXPECT_NE(NULL, strstr(r->err, "no such base"));
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "base", "list"));
	EXPECT_EQ(NULL, strstr(r->out, name));
	EXPECT_EQ(0, umount(mnt));
}

/* stats and knobs read the module's sysfs directory. */
TEST_F(wsrctl, sysfs_stats)
{
	struct run *r = &self->r;

	if (access(WSR_SYSFS, F_OK))
		SKIP(return, "%s missing", WSR_SYSFS);
	ASSERT_EQ(0, WSRCTL_RUN(r, "--json", "stats")) TH_LOG("%s", r->err);
	EXPECT_EQ('{', r->out[0]);
	ASSERT_EQ(0, WSRCTL_RUN(r, "stats"));
	EXPECT_NE(0, r->out[0]);
	EXPECT_EQ(0, WSRCTL_RUN(r, "knob", "get"));
	EXPECT_EQ(2, WSRCTL_RUN(r, "knob", "set", "../x", "1"));
}

WSR_HARNESS_MAIN
