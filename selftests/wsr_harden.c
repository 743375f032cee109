// SPDX-License-Identifier: GPL-2.0
/*
 * Hardening suite: each test is the regression test of a defect an
 * adversarial review found (issue "Hardening").  Checked here:
 *  - /dev/wsr is root's alone unless its group is opened to a user (as
 *    udev/60-wsr.rules does), and an unprivileged restore in a memory
 *    cgroup is charged there and gets -ENOMEM at memory.max, never the
 *    OOM killer;
 *  - an empty restore, or one that fails, leaves 2 MiB chunks possible;
 *    a background restore that fails says so to WSR_IOC_WAIT;
 *  - RESTORE's count is bounded by the region, an ioctl queued behind a
 *    restore dies at once on SIGKILL, and a read-only /dev/wsr fd maps
 *    PROT_READ;
 *  - a poisoned base page (MADV_HWPOISON) is dropped from the base: its
 *    mappings get SIGBUS (a split 2 MiB folio is unmapped instead and
 *    loaded again), every other mapping reads the snapshot's bytes;
 *  - MADV_DONTNEED gives a mapping's copies back; MADV_REMOVE is refused
 *    as on any private file mapping;
 *  - MADV_NOHUGEPAGE and PR_SET_THP_DISABLE stop PMD mappings;
 *  - a snapshot on tmpfs (no ->read_folio) restores and faults;
 *  - on XFS, whose buffered reads take the inode lock: a write() to the
 *    snapshot from a mapping of a region over it does not deadlock, and
 *    restores read the right bytes;
 *  - WSR_IOC_TRACK_FILE sees every page of a PMD-mapped file folio, and
 *    caps the trackers of one user.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define NOBODY		65534
#define WSR_GROUP	4242	/* stands for the "wsr" group of the udev rule */
#define CG_ROOT		"/tmp/wsr-cg"
#define CG		"/tmp/wsr-cg/wsr-harden"
#define XFS_DIR		"/tmp/wsr-xfs"
#define XFS_SNAP	XFS_DIR "/snap"
#define XFS_LEN		(8 * WSR_HUGE)

#ifndef MADV_HWPOISON
#define MADV_HWPOISON	100
#endif

static bool huge_supported(void)
{
	struct wsr_api api;

	return !wsr_probe(&api) && (api.features & WSR_FEATURE_HUGE);
}

/* Drop root for good: supplementary group @group (0: none), then nobody. */
static int drop_to_nobody(gid_t group)
{
	gid_t groups[1] = { group };

	if (setgroups(group ? 1 : 0, groups) || setgid(NOBODY) ||
	    setuid(NOBODY))
		return -errno;
	return 0;
}

/* Copy @len bytes of /data/snap-64M to a new file @path; -errno. */
static int copy_snapshot(const char *path, uint64_t len)
{
	int in = open(WSR_SNAP, O_RDONLY | O_CLOEXEC), out, ret = 0;
	char *buf = malloc(1 << 20);
	uint64_t done;

	unlink(path);
	out = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (in < 0 || out < 0 || !buf) {
		ret = -EIO;
		goto out;
	}
	for (done = 0; done < len && !ret; done += 1 << 20) {
		ret = wsr_pread_full(in, buf, 1 << 20, done);
		if (!ret && pwrite(out, buf, 1 << 20, done) != 1 << 20)
			ret = -EIO;
	}
	if (!ret && (fsync(out) || wsr_drop_file_cache(out)))
		ret = -EIO;
out:
	free(buf);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ret;
}

FIXTURE(harden) {
	int snap;
};

FIXTURE_SETUP(harden)
{
	struct wsr_api api;

	if (wsr_probe(&api))
		WSR_SETUP_SKIP("wsr module not loaded");
	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap);
	ASSERT_EQ(0, wsr_drop_caches());
}

FIXTURE_TEARDOWN(harden)
{
	close(self->snap);
}

/*
 * /dev/wsr is 0600 root: nobody cannot open it.  Opened to a group (what
 * udev/60-wsr.rules does), a member can.
 */
TEST_F(harden, dev_node_needs_group)
{
	struct stat st;
	int status, i;
	pid_t pid;

	ASSERT_EQ(0, stat(WSR_DEV, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	ASSERT_EQ(0, chown(WSR_DEV, 0, WSR_GROUP));
	ASSERT_EQ(0, chmod(WSR_DEV, 0660));
	for (i = 0; i < 2; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			int fd;

			if (drop_to_nobody(i ? WSR_GROUP : 0))
				_exit(10);
			fd = open(WSR_DEV, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				_exit(errno == EACCES ? 1 : 11);
			_exit(wsr_handshake(fd, &(struct wsr_api){}) ? 12 : 0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		/* Without the group: EACCES; with it: a handshake. */
		EXPECT_EQ(i ? 0 : 1, WEXITSTATUS(status));
	}
	chmod(WSR_DEV, 0600);
	chown(WSR_DEV, 0, 0);
}

static long long cg_value(const char *file, const char *key)
{
	char path[128], buf[1024], *p;

	snprintf(path, sizeof(path), "%s/%s", CG, file);
	if (wsr_read_text(path, buf, sizeof(buf)))
		return -1;
	if (!key)
		return atoll(buf);
	p = strstr(buf, key);
	return p ? atoll(p + strlen(key) + 1) : -1;
}

static int cg_set(const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", CG, file);
	return wsr_write_text(path, val);
}

#define MEMCG_ANON	(20ULL << 20)
#define MEMCG_MAX	(24ULL << 20)
#define MEMCG_WS	(16ULL << 20)

/*
 * The child: joins the cgroup, opens /dev/wsr as nobody through the group,
 * fills its cgroup with anonymous memory, then restores: -ENOMEM (the
 * batch cannot be charged), then, once the parent lifted memory.max, the
 * whole working set, every byte right.
 */
static int memcg_child(int snap, int go, int done)
{
	uint64_t n = MEMCG_WS / WSR_PAGE, i, *ws;
	struct wsr_restore r;
	char pid[32], *mem, *anon, c;
	int dev, ret;

	snprintf(pid, sizeof(pid), "%d", getpid());
	if (cg_set("cgroup.procs", pid))
		return 10;
	if (drop_to_nobody(WSR_GROUP))
		return 11;
	ws = malloc(n * sizeof(*ws));
	anon = mmap(NULL, MEMCG_ANON, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ws || anon == MAP_FAILED)
		return 12;
	memset(anon, 1, MEMCG_ANON);
	for (i = 0; i < n; i++)
		ws[i] = i;
	dev = wsr_open_region(snap, WSR_CREATE_NO_HUGE, 0, MEMCG_WS, &mem);
	if (dev < 0)
		return 13;
	ret = wsr_restore(dev, ws, n, 0, &r);
	if (write(done, &ret, sizeof(ret)) != sizeof(ret) ||
	    read(go, &c, 1) != 1)
		return 14;
	if (ret != -ENOMEM)
		return 15;
	if (wsr_restore(dev, ws, n, 0, &r))
		return 16;
	if (wsr_cmp_file(mem, snap, 0, MEMCG_WS) != -1)
		return 17;
	return write(done, &ret, sizeof(ret)) == sizeof(ret) ? 0 : 18;
}

/*
 * As nobody in a cgroup with memory.max: base pages are charged there,
 * and a restore that cannot be charged fails with -ENOMEM; the OOM killer
 * is not called.
 */
TEST_F_TIMEOUT(harden, unprivileged_restore_charged_and_bounded, 150)
{
	struct wsr_knob_save batch = {};
	int go[2], done[2], status, ret;
	long long before;
	char max[32];
	pid_t pid;

	mkdir(CG_ROOT, 0755);
	if (mount("none", CG_ROOT, "cgroup2", 0, NULL) && errno != EBUSY)
		SKIP(return, "no cgroup2 (%s)", strerror(errno));
	if (wsr_write_text(CG_ROOT "/cgroup.subtree_control", "+memory"))
		SKIP(goto out_umount, "no memory controller");
	mkdir(CG, 0755);
	snprintf(max, sizeof(max), "%llu", MEMCG_MAX);
	ASSERT_EQ(0, cg_set("memory.max", max));
	/* One batch is more than the cgroup has room for. */
	ASSERT_EQ(0, wsr_knob_override(&batch, "read_batch_kb", 8192));
	ASSERT_EQ(0, chown(WSR_DEV, 0, WSR_GROUP));
	ASSERT_EQ(0, chmod(WSR_DEV, 0660));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	/* Base pages an earlier test left are charged elsewhere. */
	ASSERT_EQ(0, wsr_drop_caches());

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(memcg_child(self->snap, go[0], done[1]));
	close(go[0]);
	close(done[1]);
	if (read(done[0], &ret, sizeof(ret)) == sizeof(ret)) {
		EXPECT_EQ(-ENOMEM, ret);
		EXPECT_GE(MEMCG_MAX, (unsigned long long)cg_value("memory.current", NULL));
		ASSERT_EQ(0, cg_set("memory.max", "max"));
		before = cg_value("memory.current", NULL);
		EXPECT_EQ(1, write(go[1], "g", 1));
		if (read(done[0], &ret, sizeof(ret)) == sizeof(ret))
			/* The whole working set is charged here now. */
			EXPECT_LE((long long)(MEMCG_ANON + MEMCG_WS),
				  cg_value("memory.current", NULL));
		TH_LOG("memory.current %lld before the second restore", before);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, cg_value("memory.events", "oom_kill"));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(go[1]);
	close(done[0]);
	chmod(WSR_DEV, 0600);
	chown(WSR_DEV, 0, 0);
	wsr_knob_restore(&batch);
	ASSERT_EQ(0, wsr_drop_caches());
	rmdir(CG);
out_umount:
	umount(CG_ROOT);
}

/* /dev/wsr opened read-only maps PROT_READ, shared or private. */
TEST_F(harden, readonly_fd_maps_read_only)
{
	const uint64_t len = WSR_HUGE;
	int dev, i, flags[] = { MAP_SHARED, MAP_PRIVATE };
	struct wsr_api api;
	char *mem;

	dev = open(WSR_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_handshake(dev, &api));
	ASSERT_EQ(0, wsr_create(dev, self->snap, 0, 0, len));
	for (i = 0; i < 2; i++) {
		mem = mmap(NULL, len, PROT_READ, flags[i], dev, 0);
		ASSERT_NE(MAP_FAILED, mem);
		EXPECT_EQ(-1, wsr_cmp_file(mem, self->snap, 0, len));
		/* Shared and read-only: it may never become writable. */
		if (flags[i] == MAP_SHARED)
			EXPECT_EQ(-1, mprotect(mem, len, PROT_WRITE));
		munmap(mem, len);
	}
	EXPECT_EQ(MAP_FAILED, mmap(NULL, len, PROT_READ | PROT_WRITE,
				   MAP_SHARED, dev, 0));
	close(dev);
}

struct restore_job {
	int dev;
	const uint64_t *ws;
	uint64_t n;
	int ret;
	uint64_t t_done;
};

static void *restore_thread(void *arg)
{
	struct restore_job *j = arg;
	struct wsr_restore r;

	j->ret = wsr_restore(j->dev, j->ws, j->n, 0, &r);
	j->t_done = wsr_now_ns();
	return NULL;
}

/*
 * An ioctl queued behind a long restore of the same region dies at once on
 * SIGKILL, before that restore ends: the region's lock is taken killably.
 */
TEST_F_TIMEOUT(harden, ioctl_killable_behind_restore, 150)
{
	const uint64_t len = 16ULL << 20, n = len / WSR_PAGE;
	struct wsr_knob_save batch = {}, direct = {};
	struct restore_job job = { .n = n };
	uint64_t *ws, i, t_kill, t_dead;
	int go[2], status;
	struct wsr_restore r;
	pthread_t t;
	pid_t child;
	char *mem, c;

	ASSERT_EQ(0, wsr_knob_override(&batch, "read_batch_kb", 64 * 1024));
	ASSERT_EQ(0, wsr_knob_override(&direct, "restore_direct", 0));
	ws = malloc(n * sizeof(*ws));
	ASSERT_NE(NULL, ws);
	for (i = 0; i < n; i++)
		ws[i] = i;
	job.ws = ws;
	job.dev = wsr_open_region(self->snap, WSR_CREATE_NO_HUGE, 0, len, &mem);
	ASSERT_LE(0, job.dev);
	ASSERT_EQ(0, pipe(go));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		/* Queued behind the parent's restore of the same region. */
		wsr_restore(job.dev, ws, 1, 0, &r);
		_exit(2);
	}
	ASSERT_EQ(0, pthread_create(&t, NULL, restore_thread, &job));
	usleep(100 * 1000);
	ASSERT_EQ(1, write(go[1], "g", 1));
	usleep(200 * 1000);
	t_kill = wsr_now_ns();
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	t_dead = wsr_now_ns();
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, job.ret);
	TH_LOG("killed at +0, reaped at +%llu ms, the restore ended at +%lld ms",
	       (unsigned long long)((t_dead - t_kill) / 1000000),
	       (long long)((int64_t)(job.t_done - t_kill) / 1000000));
	if (job.t_done < t_kill)
		SKIP(goto out, "the restore ended before the kill");
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_LT(t_dead, job.t_done);
out:
	EXPECT_EQ(-1, wsr_cmp_file(mem, self->snap, 0, len));
	munmap(mem, len);
	close(job.dev);
	free(ws);
	wsr_knob_restore(&batch);
	wsr_knob_restore(&direct);
}

/* Faults into chunk 0 of a fresh region: is it a 2 MiB unit? */
static void expect_first_chunk_huge(struct __test_metadata *_metadata,
				    int dev, char *mem)
{
	struct wsr_stats st;

	wsr_touch(mem, 5);
	ASSERT_EQ(0, wsr_get_stats(dev, &st));
	EXPECT_EQ(1, st.faults);
	EXPECT_EQ(1, st.faults_huge);
}

/* A RESTORE with no pages decides nothing: chunks stay 2 MiB. */
TEST_F(harden, empty_restore_keeps_huge)
{
	const uint64_t off = 20 * WSR_HUGE, len = 4 * WSR_HUGE;
	struct wsr_restore r;
	char *mem;
	int dev;

	if (!huge_supported())
		SKIP(return, "no 2 MiB folios");
	dev = wsr_open_region(self->snap, 0, off, len, &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_restore(dev, NULL, 0, 0, &r));
	EXPECT_EQ(0, r.from_device + r.from_cache);
	expect_first_chunk_huge(_metadata, dev, mem);
	EXPECT_EQ(-1, wsr_cmp_file(mem, self->snap, off, WSR_HUGE));
	munmap(mem, len);
	close(dev);
}

#define TRUNC_SNAP	"/data/wsr-harden-trunc"

/*
 * A first restore that fails (the snapshot shrank under it) leaves the
 * chunks outside its working set as they were: 2 MiB.
 */
TEST_F(harden, failed_restore_keeps_huge)
{
	const uint64_t len = 4 * WSR_HUGE, ws[] = { 3 * WSR_HUGE_PAGES + 7 };
	struct wsr_restore r;
	int dev, fd;
	char *mem;

	if (!huge_supported())
		SKIP(return, "no 2 MiB folios");
	ASSERT_EQ(0, copy_snapshot(TRUNC_SNAP, len));
	fd = open(TRUNC_SNAP, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	dev = wsr_open_region(fd, 0, 0, len, &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, ftruncate(fd, 2 * WSR_HUGE));
	EXPECT_EQ(-EIO, wsr_restore(dev, ws, 1, 0, &r));
	expect_first_chunk_huge(_metadata, dev, mem);
	EXPECT_EQ(-1, wsr_cmp_file(mem, fd, 0, WSR_HUGE));
	munmap(mem, len);
	close(dev);
	close(fd);
	unlink(TRUNC_SNAP);
}

/*
 * A background restore that stops on an error (the snapshot shrank under
 * it) reports it to the next WSR_IOC_WAIT, once; it used to be silent.
 */
TEST_F(harden, async_failure_reported_by_wait)
{
	const uint64_t len = 4 * WSR_HUGE, ws[] = { 3 * WSR_HUGE_PAGES + 7 };
	struct wsr_api api;
	struct wsr_restore r;
	int dev, fd;
	char *mem;

	if (wsr_probe(&api) || !(api.features & WSR_FEATURE_ASYNC))
		SKIP(return, "no WSR_RESTORE_ASYNC");
	ASSERT_EQ(0, copy_snapshot(TRUNC_SNAP, len));
	fd = open(TRUNC_SNAP, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	dev = wsr_open_region(fd, WSR_CREATE_NO_HUGE, 0, len, &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, ftruncate(fd, 2 * WSR_HUGE));
	ASSERT_EQ(0, wsr_restore(dev, ws, 1, WSR_RESTORE_ASYNC, &r));
	EXPECT_EQ(-EIO, wsr_wait(dev, 30000));
	EXPECT_EQ(0, wsr_wait(dev, 30000));
	/* The region is still usable where the file still is. */
	EXPECT_EQ(-1, wsr_cmp_file(mem, fd, 0, WSR_HUGE));
	munmap(mem, len);
	close(dev);
	close(fd);
	unlink(TRUNC_SNAP);
}

#define SHM_SNAP	"/dev/shm/wsr-harden-snap"

/*
 * A snapshot on tmpfs, whose mapping has no ->read_folio: restores, sync
 * and async, and faults read it through ->read_iter().  It used to oops.
 */
TEST_F(harden, tmpfs_snapshot)
{
	const uint64_t len = 4 * WSR_HUGE, n = len / WSR_PAGE;
	struct wsr_restore r;
	uint64_t *ws, i, nws = 0;
	int dev, fd, k;
	char *mem;

	mkdir("/dev/shm", 01777);
	if (mount("tmpfs", "/dev/shm", "tmpfs", 0, NULL) && errno != EBUSY)
		SKIP(return, "no tmpfs (%s)", strerror(errno));
	ASSERT_EQ(0, copy_snapshot(SHM_SNAP, len));
	fd = open(SHM_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ws = calloc(n, sizeof(*ws));
	ASSERT_NE(NULL, ws);
	for (i = 0; i < n; i += 3)
		ws[nws++] = i;
	for (k = 0; k < 3; k++) {
		dev = wsr_open_region(fd, k == 1 ? WSR_CREATE_NO_HUGE : 0, 0, len,
				  &mem);
		ASSERT_LE(0, dev);
		if (k < 2)
			ASSERT_EQ(0, wsr_restore(dev, ws, nws,
						 k ? WSR_RESTORE_ASYNC : 0, &r));
		if (k == 1)
			ASSERT_EQ(0, wsr_wait(dev, 30000));
		/* k == 2: faults alone (the bases are dropped first). */
		EXPECT_EQ(-1, wsr_cmp_file(mem, fd, 0, len));
		munmap(mem, len);
		close(dev);
		ASSERT_EQ(0, wsr_drop_caches());
	}
	free(ws);
	close(fd);
	unlink(SHM_SNAP);
	umount("/dev/shm");
}

/* RESTORE takes at most as many indices as the region has pages. */
TEST_F(harden, restore_count_bounded)
{
	const uint64_t len = 2 * WSR_HUGE, n = len / WSR_PAGE;
	struct wsr_restore r;
	uint64_t *ws, i;
	char *mem;
	int dev;

	ws = calloc(n + 1, sizeof(*ws));
	ASSERT_NE(NULL, ws);
	for (i = 0; i < n; i++)
		ws[i] = n - 1 - i;
	dev = wsr_open_region(self->snap, WSR_CREATE_NO_HUGE, 0, len, &mem);
	ASSERT_LE(0, dev);
	EXPECT_EQ(-EINVAL, wsr_restore(dev, ws, n + 1, 0, &r));
	EXPECT_EQ(-EINVAL, wsr_restore(dev, ws, UINT64_MAX, 0, &r));
	ASSERT_EQ(0, wsr_restore(dev, ws, n, 0, &r));
	EXPECT_EQ(n, r.from_device + r.from_cache);
	EXPECT_EQ(-1, wsr_cmp_file(mem, self->snap, 0, len));
	munmap(mem, len);
	close(dev);
	free(ws);
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, 1);
}

/* Touch one page here: 0 read, 1 SIGBUS. */
static int touch_here(const char *mem, uint64_t index)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int ret = 1;

	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(bus_jmp, 1)) {
		wsr_touch(mem, index);
		ret = 0;
	}
	sigaction(SIGBUS, &old, NULL);
	return ret;
}

/*
 * A poisoned base page leaves the base and a new region reads the
 * snapshot's bytes, that page loaded again and the others still present.
 * A mapping that had the 4 KiB page gets SIGBUS there.  A 2 MiB folio is
 * split first, which unmaps it everywhere (as for any page-cache THP), so
 * the mapping's next touch loads the page again from the snapshot.
 */
TEST_F_TIMEOUT(harden, hwpoison_leaves_the_base, 120)
{
	const uint64_t off = 28 * WSR_HUGE, len = 2 * WSR_HUGE;
	const uint64_t n = len / WSR_PAGE, bad = 5;
	struct wsr_restore r;
	struct wsr_stats st, st0;
	uint64_t *ws, i;
	char *mem, *mem2;
	int dev, dev2, k;
	long long splits;

	ws = calloc(n, sizeof(*ws));
	ASSERT_NE(NULL, ws);
	for (i = 0; i < n; i++)
		ws[i] = i;
	for (k = 0; k < 2; k++) {
		uint32_t flags = k ? WSR_CREATE_NO_HUGE : 0;
		bool huge = !k;

		if (huge && !huge_supported())
			continue;
		ASSERT_EQ(0, wsr_drop_caches());
		dev = wsr_open_region(self->snap, flags, off, len, &mem);
		ASSERT_LE(0, dev);
		ASSERT_EQ(0, wsr_restore(dev, ws, n, 0, &r));
		ASSERT_EQ(0, touch_here(mem, bad));
		splits = wsr_vmstat("thp_split_page");
		ASSERT_LE(0, splits);
		ASSERT_EQ(0, wsr_get_stats(dev, &st0));
		if (madvise(mem + bad * WSR_PAGE, WSR_PAGE, MADV_HWPOISON)) {
			ASSERT_EQ(EINVAL, errno);
			SKIP(goto out, "no CONFIG_MEMORY_FAILURE");
		}
		EXPECT_EQ(splits + huge, wsr_vmstat("thp_split_page"));
		EXPECT_EQ(!huge, touch_here(mem, bad));
		EXPECT_EQ(0, touch_here(mem, bad + 1));
		ASSERT_EQ(0, wsr_get_stats(dev, &st));
		EXPECT_EQ(huge, st.faults_device + st.faults_cache -
				(st0.faults_device + st0.faults_cache));
		if (huge)
			EXPECT_EQ(-1, wsr_cmp_file(mem + bad * WSR_PAGE,
						   self->snap,
						   off + bad * WSR_PAGE,
						   WSR_PAGE));

		dev2 = wsr_open_region(self->snap, flags, off, len, &mem2);
		ASSERT_LE(0, dev2);
		EXPECT_EQ(-1, wsr_cmp_file(mem2, self->snap, off, len));
		ASSERT_EQ(0, wsr_get_stats(dev2, &st));
		/* Only the poisoned page was loaded again, by one region. */
		EXPECT_EQ(!huge, st.faults_device + st.faults_cache);
		TH_LOG("%s: faults %llu (present %llu)",
		       huge ? "2 MiB" : "4 KiB",
		       (unsigned long long)st.faults,
		       (unsigned long long)st.faults_present);
		munmap(mem2, len);
		close(dev2);
out:
		munmap(mem, len);
		close(dev);
	}
	free(ws);
}

#define POPULATE_SNAP	"/data/harden-populate.img"

/*
 * MAP_POPULATE over a region whose snapshot was truncated under it ends:
 * the populate loop of GUP retries a fault that dropped mmap_lock without
 * FAULT_FLAG_TRIED, so a load that fails every time must not drop it
 * every time.  Units before the end read right; the others, and a 2 MiB
 * unit the end cuts, give SIGBUS.
 */
TEST_F_TIMEOUT(harden, populate_over_truncated_snapshot, 120)
{
	const uint64_t len = 4 * WSR_HUGE, keep = WSR_HUGE + 7 * WSR_PAGE;
	int fd, dev, k, status;
	pid_t pid;
	char *mem;

	ASSERT_EQ(0, copy_snapshot(POPULATE_SNAP, len));
	fd = open(POPULATE_SNAP, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (k = 0; k < 2; k++) {
		dev = wsr_open_api();
		ASSERT_LE(0, dev);
		ASSERT_EQ(0, wsr_create(dev, fd, k ? WSR_CREATE_NO_HUGE : 0, 0,
					len));
		ASSERT_EQ(0, ftruncate(fd, keep));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			alarm(30);
			mem = mmap(NULL, len, PROT_READ, MAP_PRIVATE |
				   MAP_POPULATE, dev, 0);
			if (mem == MAP_FAILED)
				_exit(2);
			if (wsr_cmp_file(mem, fd, 0, k ? keep : WSR_HUGE) != -1)
				_exit(3);
			_exit(touch_here(mem, keep / WSR_PAGE + 1) == 1 ? 0 : 4);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		/* SIGALRM: mmap() did not return. */
		EXPECT_TRUE(WIFEXITED(status))
			TH_LOG("%s: child signal %d", k ? "4 KiB" : "2 MiB",
			       WTERMSIG(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
		close(dev);
		close(fd);
		ASSERT_EQ(0, copy_snapshot(POPULATE_SNAP, len));
		fd = open(POPULATE_SNAP, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd);
	}
	close(fd);
	unlink(POPULATE_SNAP);
}

/*
 * MADV_DONTNEED gives back the pages a mapping copied on write and shows
 * the snapshot again; MADV_REMOVE is refused (EACCES), as on every
 * private file mapping.
 */
TEST_F(harden, dontneed_gives_copies_back)
{
	const uint64_t len = 2 * WSR_HUGE;
	char *mem;
	int dev, i;

	dev = wsr_open_region(self->snap, WSR_CREATE_NO_HUGE, 0, len, &mem);
	ASSERT_LE(0, dev);
	for (i = 0; i < 64; i++)
		wsr_store64(mem + i * WSR_PAGE, 0xdeadbeef);
	EXPECT_LE(64 * 4, wsr_smaps_kb(mem, "Anonymous"));
	ASSERT_EQ(0, madvise(mem, len, MADV_DONTNEED));
	EXPECT_EQ(0, wsr_smaps_kb(mem, "Anonymous"));
	EXPECT_EQ(-1, wsr_cmp_file(mem, self->snap, 0, len));
	EXPECT_EQ(-1, madvise(mem, len, MADV_REMOVE));
	EXPECT_EQ(EACCES, errno);
	munmap(mem, len);
	close(dev);
}

enum thp_off { THP_ON, THP_MADVISE, THP_PRCTL };

#define THP_OFF		(12 * WSR_HUGE)

/*
 * In a child: a region over 2 full chunks, THP turned off as @how says,
 * restored (@restore) or faulted in; returns FilePmdMapped in MiB, or
 * -1 on a wrong byte, -2.. on errors.
 */
static int thp_child(int snap, enum thp_off how, bool restore)
{
	const uint64_t len = 2 * WSR_HUGE, n = len / WSR_PAGE;
	struct wsr_restore r;
	uint64_t ws[2 * WSR_HUGE_PAGES], i;
	char *mem;
	int dev;

	if (how == THP_PRCTL && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		return -2;
	dev = wsr_open_region(snap, 0, THP_OFF, len, &mem);
	if (dev < 0)
		return -3;
	if (how == THP_MADVISE && madvise(mem, len, MADV_NOHUGEPAGE))
		return -4;
	for (i = 0; i < n; i++)
		ws[i] = i;
	if (restore && wsr_restore(dev, ws, n, 0, &r))
		return -5;
	if (wsr_cmp_file(mem, snap, THP_OFF, len) != -1)
		return -1;
	return wsr_smaps_kb(mem, "FilePmdMapped") >> 10;
}

/* THP off for the VMA or the process: PTE mappings only, same bytes. */
TEST_F_TIMEOUT(harden, thp_controls_respected, 120)
{
	const char *name[] = { "on", "MADV_NOHUGEPAGE", "PR_SET_THP_DISABLE" };
	int how, restore, status, pmd_mb;
	pid_t pid;

	if (!huge_supported())
		SKIP(return, "no 2 MiB folios");
	for (restore = 0; restore < 2; restore++) {
		for (how = THP_ON; how <= THP_PRCTL; how++) {
			ASSERT_EQ(0, wsr_drop_caches());
			pid = fork();
			ASSERT_LE(0, pid);
			if (!pid)
				_exit(thp_child(self->snap, how, restore) + 16);
			ASSERT_EQ(pid, waitpid(pid, &status, 0));
			ASSERT_TRUE(WIFEXITED(status));
			pmd_mb = WEXITSTATUS(status) - 16;
			TH_LOG("THP %s, %s: FilePmdMapped %d MiB", name[how],
			       restore ? "restored" : "faulted", pmd_mb);
			EXPECT_EQ(how == THP_ON ? 4 : 0, pmd_mb);
		}
	}
}

/* An XFS filesystem with an 8 MiB snapshot copied from the ext4 one. */
static int xfs_setup(void)
{
	int ret = wsr_xfs_mount(XFS_DIR);

	if (ret)
		return ret;
	ret = copy_snapshot(XFS_SNAP, XFS_LEN);
	if (ret)
		umount(XFS_DIR);
	return ret;
}

static void xfs_teardown(void)
{
	unlink(XFS_SNAP);
	umount(XFS_DIR);
}

/*
 * A buffered write to the snapshot whose source is a region page nobody
 * loaded: the writer holds the XFS inode lock while it faults the source
 * in, and the load must not need that lock.  It used to deadlock.
 */
TEST_F_TIMEOUT(harden, xfs_write_from_unloaded_region, 120)
{
	const uint64_t src = 3 * WSR_HUGE + 5 * WSR_PAGE, wlen = 16 * WSR_PAGE;
	char *want, *got, *mem;
	int ret, fd, dev, k;

	ret = xfs_setup();
	if (ret == -ENODEV || ret == -ENOENT)
		SKIP(return, "no XFS or loop device (%s)", strerror(-ret));
	ASSERT_EQ(0, ret);
	want = malloc(wlen);
	got = malloc(wlen);
	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, got);
	fd = open(XFS_SNAP, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	/* 2 MiB units, then 4 KiB ones. */
	for (k = 0; k < 2; k++) {
		ASSERT_EQ(0, wsr_pread_full(fd, want, wlen, src));
		ASSERT_EQ(0, wsr_drop_caches());
		dev = wsr_open_region(fd, k ? WSR_CREATE_NO_HUGE : 0, 0, XFS_LEN,
				  &mem);
		ASSERT_LE(0, dev);
		EXPECT_EQ(wlen, pwrite(fd, mem + src, wlen, k * wlen));
		ASSERT_EQ(0, wsr_pread_full(fd, got, wlen, k * wlen));
		EXPECT_EQ(0, memcmp(want, got, wlen));
		munmap(mem, XFS_LEN);
		close(dev);
	}
	close(fd);
	free(want);
	free(got);
	xfs_teardown();
}

/* Restores from XFS, sync and async, read every byte right. */
TEST_F_TIMEOUT(harden, xfs_restore_integrity, 150)
{
	const uint64_t n = XFS_LEN / WSR_PAGE;
	struct wsr_restore r;
	uint64_t *ws, i, nws = 0;
	int ret, fd, dev, k;
	char *mem;

	ret = xfs_setup();
	if (ret == -ENODEV || ret == -ENOENT)
		SKIP(return, "no XFS or loop device (%s)", strerror(-ret));
	ASSERT_EQ(0, ret);
	ws = calloc(n, sizeof(*ws));
	ASSERT_NE(NULL, ws);
	/* Chunk 1 dense, every 3rd page elsewhere. */
	for (i = 0; i < n; i++)
		if (i / WSR_HUGE_PAGES == 1 || !(i % 3))
			ws[nws++] = i;
	fd = open(XFS_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (k = 0; k < 2; k++) {
		ASSERT_EQ(0, wsr_drop_caches());
		dev = wsr_open_region(fd, 0, 0, XFS_LEN, &mem);
		ASSERT_LE(0, dev);
		ASSERT_EQ(0, wsr_restore(dev, ws, nws,
					 k ? WSR_RESTORE_ASYNC : 0, &r));
		if (k)
			ASSERT_EQ(0, wsr_wait(dev, 60000));
		EXPECT_EQ(-1, wsr_cmp_file(mem, fd, 0, XFS_LEN));
		munmap(mem, XFS_LEN);
		close(dev);
	}
	close(fd);
	free(ws);
	xfs_teardown();
}

static bool file_track_supported(void)
{
	struct wsr_api api;

	return !wsr_probe(&api) && (api.features & WSR_FEATURE_FILE_TRACK);
}

/* A 2 MiB-aligned private mapping of @len bytes of @fd, MADV_HUGEPAGE. */
static char *map_huge_aligned(int fd, uint64_t len)
{
	char *p = mmap(NULL, len + WSR_HUGE, PROT_READ, MAP_PRIVATE, fd, 0);
	uint64_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + WSR_HUGE - 1) & ~(WSR_HUGE - 1);
	munmap(p, len + WSR_HUGE);
	p = mmap((void *)a, len, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED || madvise(p, len, MADV_HUGEPAGE))
		return NULL;
	return p;
}

/*
 * A file folio mapped by one PMD (XFS reads 2 MiB folios ahead for
 * MADV_HUGEPAGE mappings): the tracker sees the fault and, with
 * WSR_TRACK_FILE_AROUND, the other 511 pages the PMD mapped.  They used to
 * be invisible.
 */
TEST_F_TIMEOUT(harden, file_track_sees_pmd_mapped_folio, 120)
{
	struct wsr_track_file tf;
	struct wsr_get_ws g;
	struct wsr_ws_entry *e;
	int ret, fd, dev;
	long pmd_kb;
	char *mem;

	if (!file_track_supported())
		SKIP(return, "no WSR_IOC_TRACK_FILE (kernel without mm-patches)");
	ret = xfs_setup();
	if (ret == -ENODEV || ret == -ENOENT)
		SKIP(return, "no XFS or loop device (%s)", strerror(-ret));
	ASSERT_EQ(0, ret);
	fd = open(XFS_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, wsr_drop_file_cache(fd));
	/* Readahead allocates 2 MiB folios without retrying: make room. */
	wsr_write_text("/proc/sys/vm/compact_memory", "1");
	dev = wsr_open_api();
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_track_file(dev, WSR_TRACK_START, fd,
				    WSR_TRACK_FILE_AROUND, 0, WSR_HUGE, NULL));
	mem = map_huge_aligned(fd, WSR_HUGE);
	ASSERT_NE(NULL, mem);
	wsr_touch(mem, 3);
	pmd_kb = wsr_smaps_kb(mem, "FilePmdMapped");
	wsr_touch(mem, 100);
	ASSERT_EQ(0, wsr_track_file(dev, WSR_TRACK_STOP, 0, 0, 0, 0, &tf));
	if (pmd_kb != 2048)
		SKIP(goto out, "no 2 MiB folio in XFS's page cache (FilePmdMapped %ld kB)",
		     pmd_kb);
	e = calloc(WSR_HUGE_PAGES, sizeof(*e));
	ASSERT_NE(NULL, e);
	memset(&g, 0, sizeof(g));
	g.entries = (uintptr_t)e;
	g.count = WSR_HUGE_PAGES;
	ASSERT_EQ(0, wsr_ioctl(dev, WSR_IOC_GET_WS, &g));
	TH_LOG("faults %llu, around_hits %llu, around %llu, recorded %llu",
	       (unsigned long long)tf.faults,
	       (unsigned long long)tf.around_hits,
	       (unsigned long long)tf.around, (unsigned long long)g.count);
	/* A fault that waited for the readahead is reported twice. */
	EXPECT_LE(1, tf.faults);
	EXPECT_GE(2, tf.faults);
	EXPECT_EQ(WSR_HUGE_PAGES - 1, tf.around);
	EXPECT_EQ(WSR_HUGE_PAGES, g.count);
	EXPECT_EQ(3, e[0].index);
	free(e);
out:
	munmap(mem, WSR_HUGE);
	close(dev);
	close(fd);
	xfs_teardown();
}

#define CAP_FILE	"/data/wsr-harden-cap"
#define CAP_TRACKERS	8	/* WSR_FT_MAX_PER_USER */

/*
 * A user without CAP_SYS_ADMIN may have CAP_TRACKERS trackers recording:
 * the next one gets -EMFILE, and closing one makes room again.
 */
TEST_F(harden, file_trackers_capped_per_user)
{
	int status, fd;
	pid_t pid;

	if (!file_track_supported())
		SKIP(return, "no WSR_IOC_TRACK_FILE (kernel without mm-patches)");
	ASSERT_EQ(0, copy_snapshot(CAP_FILE, WSR_HUGE));
	fd = open(CAP_FILE, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fchown(fd, NOBODY, NOBODY));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int dev[CAP_TRACKERS + 1], i;

		for (i = 0; i <= CAP_TRACKERS; i++) {
			dev[i] = wsr_open_api();
			if (dev[i] < 0)
				_exit(10);
		}
		if (drop_to_nobody(0))
			_exit(11);
		for (i = 0; i < CAP_TRACKERS; i++)
			if (wsr_track_file(dev[i], WSR_TRACK_START, fd, 0, 0,
				       WSR_PAGE, NULL))
				_exit(12);
		if (wsr_track_file(dev[i], WSR_TRACK_START, fd, 0, 0, WSR_PAGE,
			       NULL) != -EMFILE)
			_exit(13);
		close(dev[0]);
		_exit(wsr_track_file(dev[i], WSR_TRACK_START, fd, 0, 0, WSR_PAGE,
				 NULL) ? 14 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(fd);
	unlink(CAP_FILE);
}

WSR_HARNESS_MAIN
