// SPDX-License-Identifier: GPL-2.0
/*
 * Fault-injection suite: every allocation and every block request on the
 * create, restore, fault and tracker paths gets a failure once.
 *
 * The sweep is the "fail-nth" one: /proc/self/task/<tid>/fail-nth = N
 * makes the Nth failslab, fail_page_alloc or fail_make_request check of
 * this thread fail, whatever the probabilities; N = 1, 2, ... until the
 * operation runs with no failure hit.  So that those checks see every
 * allocation and request of the path, the debugfs attributes are set to
 *  - failslab, fail_page_alloc: ignore-gfp-wait=N (GFP_KERNEL counts),
 *    fail_page_alloc ignore-gfp-highmem=N (base pages are GFP_HIGHUSER)
 *    and min-order=0 (4 KiB folios and page-cache pages, not only 2 MiB);
 *  - fail_make_request: /sys/block/vda/make-it-fail=1 (the data disk);
 *  - probability 0 and task-filter=Y, with /proc/self/make-it-fail=1, so
 *    that nothing but the fail-nth of the test thread ever fails.
 * Work the background restore does runs in a kworker, where fail-nth
 * cannot reach: the async_worker test flags the unbound kworkers
 * (make-it-fail) and moves the one allowed failure (times=1) along with
 * "space".
 *
 * Each injected failure must end in a clean result: 0, or -ENOMEM, -EIO
 * or -EINTR (Documentation/admin-guide/wsr.rst and the kernel-doc of the
 * ioctls), and SIGBUS for a touch of a mapping.  Afterwards, with no
 * injection, the same region (or a new one) must restore and read the
 * snapshot's bytes, "regions" must come back to its value before the
 * sweep, and "bases"/"base_pages" too once the caches are dropped.  Every
 * test prints how many failures it injected and what they gave.
 * KASAN, kmemleak, lockdep and hung-task reports fail the run (rig).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define DBG		"/sys/kernel/debug"
#define DISK_FAIL	"/sys/block/vda/make-it-fail"
#define REGION_OFF	(20 * WSR_HUGE)
#define REGION_LEN	(2 * WSR_HUGE)
#define REGION_PAGES	(REGION_LEN / WSR_PAGE)
/* Working set: chunk 0 whole (a 2 MiB unit), 8 pages of chunk 1. */
#define WS_SPARSE	8
#define WS_MAX		(WSR_HUGE_PAGES + WS_SPARSE)
/* Of the sparse pages, those put in the snapshot's page cache first. */
#define WS_CACHED	3
/* Pages a "fault" op touches: one per kind of unit. */
#define NR_TOUCH	3
/* A sweep longer than this is a sweep that does not end. */
#define MAX_NTH		3000

/* A debugfs/procfs setting changed for the suite, put back at the end. */
struct fi_save {
	char path[128];
	char old[32];
};

#define FI_MAX_SAVES	32

FIXTURE(faultinj)
{
	int snap;
	int nth_fd;
	struct wsr_api api;
	char *want;
	uint64_t ws[WS_MAX];
	uint64_t nws;
	struct fi_save saves[FI_MAX_SAVES];
	int nsaves;
	struct wsr_knob_save around;
	long times[3];		/* "times" of each fault type, counting down */
	uint64_t regions0, bases0, base_pages0;
};

/* What a sweep saw, for the log and the report. */
struct fi_tally {
	const char *path;
	unsigned int injected;	/* N values whose failure was hit */
	unsigned int ok;	/* ... and the operation still succeeded */
	unsigned int enomem, eio, eintr, sigbus;
	unsigned int bad;	/* other outcomes: each one a test failure */
	unsigned int by_type[3];	/* failures of each of fi_types[] */
	unsigned int last_nth;
	bool done;		/* an N with no failure hit was reached */
};

static int fi_set(FIXTURE_DATA(faultinj) *self, const char *path, const char *val)
{
	struct fi_save *s;
	char buf[32];
	int ret;

	ret = wsr_read_text(path, buf, sizeof(buf));
	if (ret)
		return ret;
	if (self->nsaves == FI_MAX_SAVES)
		return -ENOSPC;
	s = &self->saves[self->nsaves++];
	snprintf(s->path, sizeof(s->path), "%s", path);
	buf[strcspn(buf, "\n")] = 0;
	snprintf(s->old, sizeof(s->old), "%s", buf);
	return wsr_write_text(path, val);
}

/* Set debugfs attribute @attr of fault type @type. */
static int fi_attr(FIXTURE_DATA(faultinj) *self, const char *type,
		   const char *attr, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), DBG "/%s/%s", type, attr);
	return fi_set(self, path, val);
}

/* Change an attribute fi_attr() saved already. */
static int fi_write(const char *type, const char *attr, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), DBG "/%s/%s", type, attr);
	return wsr_write_text(path, val);
}

static const char *const fi_types[] = {
	"failslab", "fail_page_alloc", "fail_make_request",
};

/* "times" of every fault type: each failure, fail-nth too, takes one. */
static void fi_times(long *v)
{
	char path[128], buf[32];
	int k;

	for (k = 0; k < 3; k++) {
		snprintf(path, sizeof(path), DBG "/%s/times", fi_types[k]);
		v[k] = wsr_read_text(path, buf, sizeof(buf)) ? -1 : atol(buf);
	}
}

static pid_t fi_gettid(void)
{
	return syscall(SYS_gettid);
}

static int fi_nth_set(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(fd, buf, len, 0) == len ? 0 : -errno;
}

/* What is left of the armed count: 0 when the failure was injected. */
static int fi_nth_get(int fd)
{
	char buf[16];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return atoi(buf);
}

/*
 * Drop the snapshot's and the bases' pages, then let an unused base that
 * holds nothing leave the table: that happens when the bases are trimmed,
 * which setting base_max_kb does.
 */
static int fi_cold(void)
{
	uint64_t old;
	int ret = wsr_drop_caches();

	if (ret)
		return ret;
	ret = wsr_knob_get("base_max_kb", &old);
	if (ret)
		return ret;
	ret = wsr_knob_set("base_max_kb", 1ULL << 40);
	if (ret)
		return ret;
	return wsr_knob_set("base_max_kb", old);
}

static uint64_t knob(const char *name)
{
	uint64_t v = ~0ULL;

	wsr_knob_get(name, &v);
	return v;
}

FIXTURE_SETUP(faultinj)
{
	char path[64];
	uint64_t i;
	int t, dev;

	self->snap = -1;
	self->nth_fd = -1;
	dev = wsr_open();
	if (dev == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_handshake(dev, &self->api));
	close(dev);
	if (!(self->api.features & WSR_FEATURE_HUGE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_HUGE");
	for (t = 0; t < 3; t++) {
		snprintf(path, sizeof(path), DBG "/%s/probability",
			 fi_types[t]);
		if (access(path, W_OK))
			WSR_SETUP_SKIP("no %s (kernel without fault injection)",
				       path);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth",
		 fi_gettid());
	self->nth_fd = open(path, O_RDWR | O_CLOEXEC);
	if (self->nth_fd < 0)
		WSR_SETUP_SKIP("no %s (kernel without CONFIG_FAULT_INJECTION)",
			       path);
	if (access(DISK_FAIL, W_OK))
		WSR_SETUP_SKIP("no " DISK_FAIL " (no CONFIG_FAIL_MAKE_REQUEST)");

	for (t = 0; t < 3; t++) {
		ASSERT_EQ(0, fi_attr(self, fi_types[t], "probability", "0"));
		ASSERT_EQ(0, fi_attr(self, fi_types[t], "interval", "1"));
		/* Counts down with every failure: fi_disarm(). */
		ASSERT_EQ(0, fi_attr(self, fi_types[t], "times", "100000000"));
		ASSERT_EQ(0, fi_attr(self, fi_types[t], "space", "0"));
		ASSERT_EQ(0, fi_attr(self, fi_types[t], "task-filter", "Y"));
		/* The outcomes are counted here; dmesg stays readable. */
		ASSERT_EQ(0, fi_attr(self, fi_types[t], "verbose", "0"));
	}
	ASSERT_EQ(0, fi_attr(self, "failslab", "ignore-gfp-wait", "N"));
	ASSERT_EQ(0, fi_attr(self, "fail_page_alloc", "ignore-gfp-wait", "N"));
	ASSERT_EQ(0, fi_attr(self, "fail_page_alloc", "ignore-gfp-highmem",
			     "N"));
	ASSERT_EQ(0, fi_attr(self, "fail_page_alloc", "min-order", "0"));
	ASSERT_EQ(0, fi_set(self, DISK_FAIL, "1"));
	ASSERT_EQ(0, fi_set(self, "/proc/self/make-it-fail", "1"));
	/*
	 * A read-around window of 4 pages, not 32: the same allocations,
	 * fewer of them to sweep.
	 */
	ASSERT_EQ(0, wsr_knob_override(&self->around, "read_around_kb", 16));
	/*
	 * Thousands of drop_caches notes would push the reports this suite
	 * looks for out of the kernel log: 4 silences them (for the boot).
	 */
	ASSERT_EQ(0, wsr_write_text("/proc/sys/vm/drop_caches", "4"));

	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " WSR_SNAP);
	self->want = malloc(REGION_LEN);
	ASSERT_NE(NULL, self->want);
	ASSERT_EQ(0, wsr_pread_full(self->snap, self->want, REGION_LEN,
				    REGION_OFF));
	self->nws = 0;
	for (i = 0; i < WSR_HUGE_PAGES; i++)
		self->ws[self->nws++] = i;
	for (i = 0; i < WS_SPARSE; i++)
		self->ws[self->nws++] = WSR_HUGE_PAGES + 5 + 61 * i;

	fi_times(self->times);
	ASSERT_EQ(0, fi_cold());
	EXPECT_EQ(0, wsr_knob_get("regions", &self->regions0));
	EXPECT_EQ(0, wsr_knob_get("bases", &self->bases0));
	EXPECT_EQ(0, wsr_knob_get("base_pages", &self->base_pages0));
}

FIXTURE_TEARDOWN(faultinj)
{
	int i;

	if (self->nth_fd >= 0) {
		fi_nth_set(self->nth_fd, 0);
		close(self->nth_fd);
	}
	/* Last change first: every file gets its value from before. */
	for (i = self->nsaves - 1; i >= 0; i--) {
		struct fi_save *s = &self->saves[i];

		EXPECT_EQ(0, wsr_write_text(s->path, s->old))
			TH_LOG("cannot restore %s", s->path);
	}
	EXPECT_EQ(0, wsr_knob_restore(&self->around));
	if (self->snap >= 0)
		close(self->snap);
	free(self->want);
}

/* A region over the suite's range, mapped; the fd or -errno. */
static int fi_region(int snap, uint32_t flags, char **mem)
{
	return wsr_open_region(snap, flags, REGION_OFF, REGION_LEN, mem);
}

/* Put some of the sparse working-set pages in the snapshot's page cache. */
static int fi_warm_some(FIXTURE_DATA(faultinj) *self)
{
	char buf[WSR_PAGE];
	uint64_t i;
	int ret;

	for (i = 0; i < WS_CACHED; i++) {
		ret = wsr_pread_full(self->snap, buf, sizeof(buf), REGION_OFF +
				     self->ws[WSR_HUGE_PAGES + i] * WSR_PAGE);
		if (ret)
			return ret;
	}
	return 0;
}

/* Touches of a mapping: SIGBUS is a legal answer to an injected failure. */
static sigjmp_buf fi_jmp;
static volatile sig_atomic_t fi_in_touch;

static void fi_sigbus(int sig)
{
	if (fi_in_touch)
		siglongjmp(fi_jmp, 1);
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

/* Touch @n pages; 0, or -EFAULT when one raised SIGBUS. */
static int fi_touch(const char *mem, const uint64_t *pages, int n)
{
	static volatile int i;

	signal(SIGBUS, fi_sigbus);
	if (sigsetjmp(fi_jmp, 1)) {
		fi_in_touch = 0;
		return -EFAULT;
	}
	fi_in_touch = 1;
	for (i = 0; i < n; i++)
		(void)wsr_touch(mem, pages[i]);
	fi_in_touch = 0;
	return 0;
}

/* Pages of @mem that differ from the snapshot (@pages, or all of them). */
static uint64_t fi_bad_pages(FIXTURE_DATA(faultinj) *self, const char *mem,
			     const uint64_t *pages, uint64_t n)
{
	uint64_t i, p, bad = 0;

	for (i = 0; i < (pages ? n : REGION_PAGES); i++) {
		p = pages ? pages[i] : i;
		bad += !!memcmp(mem + p * WSR_PAGE, self->want + p * WSR_PAGE,
				WSR_PAGE);
	}
	return bad;
}

/*
 * Count one outcome: @ret is 0 or -errno of the operation, @hit whether
 * the armed failure was injected.  Returns false for an outcome that is
 * not allowed.
 */
static bool fi_count(struct fi_tally *t, unsigned int nth, bool hit, int ret)
{
	t->last_nth = nth;
	if (!hit) {
		t->done = true;
		if (ret)
			t->bad++;
		return !ret;
	}
	t->injected++;
	switch (ret) {
	case 0:
		t->ok++;
		return true;
	case -ENOMEM:
		t->enomem++;
		return true;
	case -EIO:
		t->eio++;
		return true;
	case -EINTR:
		t->eintr++;
		return true;
	case -EFAULT:	/* fi_touch(): SIGBUS */
		t->sigbus++;
		return true;
	}
	t->bad++;
	return false;
}

#define FI_LOG(t)							\
	TH_LOG("faultinj %s: %u failures injected (N=1..%u; %u slab, "	\
	       "%u page, %u request): %u ok, %u ENOMEM, %u EIO, "	\
	       "%u EINTR, %u SIGBUS, %u bad", (t)->path, (t)->injected,	\
	       (t)->last_nth, (t)->by_type[0], (t)->by_type[1],		\
	       (t)->by_type[2], (t)->ok, (t)->enomem, (t)->eio,	\
	       (t)->eintr, (t)->sigbus, (t)->bad)

/*
 * Disarm fail-nth; returns whether the armed failure was injected, and
 * counts it for the type whose "times" went down.
 */
static bool fi_disarm(FIXTURE_DATA(faultinj) *self, struct fi_tally *t)
{
	bool hit = fi_nth_get(self->nth_fd) == 0;
	long now[3];
	int k;

	fi_nth_set(self->nth_fd, 0);
	fi_times(now);
	for (k = 0; k < 3; k++) {
		t->by_type[k] += now[k] < self->times[k];
		self->times[k] = now[k];
	}
	return hit;
}

/* Leave a note in dmesg, so that a kernel report can be placed. */
static void fi_mark(const char *path, unsigned int nth)
{
	char buf[96];
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	snprintf(buf, sizeof(buf), "wsr_faultinj: %s fail-nth %u\n", path,
		 nth);
	/* A note only: a failed write changes nothing. */
	(void)!write(fd, buf, strlen(buf));
	close(fd);
}

/*
 * After a sweep: no region is left, the bases drop back to where they
 * were, and a new region restores and reads the right bytes.
 */
static void fi_check_after(struct __test_metadata *_metadata,
			   FIXTURE_DATA(faultinj) *self)
{
	struct wsr_restore r;
	char *mem;
	int dev;

	EXPECT_EQ((int64_t)self->regions0,
		  wsr_wait_regions(self->regions0, 5000));
	ASSERT_EQ(0, fi_cold());
	EXPECT_EQ(self->bases0, knob("bases"));
	EXPECT_EQ(self->base_pages0, knob("base_pages"));
	TH_LOG("after the sweep: regions %llu, bases %llu, base_pages %llu "
	       "(before %llu, %llu, %llu)",
	       (unsigned long long)knob("regions"),
	       (unsigned long long)knob("bases"),
	       (unsigned long long)knob("base_pages"),
	       (unsigned long long)self->regions0,
	       (unsigned long long)self->bases0,
	       (unsigned long long)self->base_pages0);

	alarm(120);
	dev = fi_region(self->snap, 0, &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_restore(dev, self->ws, self->nws, 0, &r));
	EXPECT_EQ(self->nws, r.from_device + r.from_cache);
	EXPECT_EQ(0ULL, fi_bad_pages(self, mem, NULL, 0));
	alarm(0);
	munmap(mem, REGION_LEN);
	close(dev);
	EXPECT_EQ((int64_t)self->regions0,
		  wsr_wait_regions(self->regions0, 5000));
}

/* open + handshake + CREATE + mmap, all under injection. */
static void sweep_create(struct __test_metadata *_metadata,
			 FIXTURE_DATA(faultinj) *self, uint32_t flags,
			 struct fi_tally *t)
{
	uint64_t touch[NR_TOUCH] = { 7, WSR_HUGE_PAGES + 9,
				     WSR_HUGE_PAGES + 300 };
	unsigned int n;
	char *mem = NULL;
	int dev, ret;
	bool hit;

	for (n = 1; n < MAX_NTH && !t->done; n++) {
		ASSERT_EQ(0, fi_cold());
		fi_mark(t->path, n);
		ASSERT_EQ(0, fi_nth_set(self->nth_fd, n));
		dev = fi_region(self->snap, flags, &mem);
		hit = fi_disarm(self, t);
		ret = dev < 0 ? dev : 0;
		EXPECT_TRUE(fi_count(t, n, hit, ret))
			TH_LOG("%s: fail-nth %u: %d", t->path, n, ret);
		if (dev < 0)
			continue;
		/* The region that was made works. */
		alarm(60);
		EXPECT_EQ(0, fi_touch(mem, touch, NR_TOUCH));
		EXPECT_EQ(0ULL, fi_bad_pages(self, mem, touch, NR_TOUCH));
		alarm(0);
		munmap(mem, REGION_LEN);
		close(dev);
	}
	FI_LOG(t);
	EXPECT_TRUE(t->done);
	EXPECT_EQ(0U, t->bad);
}

TEST_F_TIMEOUT(faultinj, create, 600)
{
	struct fi_tally t = { .path = "create" };

	sweep_create(_metadata, self, 0, &t);
	fi_check_after(_metadata, self);
}

TEST_F_TIMEOUT(faultinj, create_track, 600)
{
	struct fi_tally t = { .path = "create_track" };

	sweep_create(_metadata, self, WSR_CREATE_TRACK, &t);
	fi_check_after(_metadata, self);
}

/*
 * WSR_IOC_RESTORE (sync, or async and WSR_IOC_WAIT) of a cold base, some
 * working-set pages in the snapshot's page cache; then, without
 * injection, the working set reads right through the same region.
 */
static void sweep_restore(struct __test_metadata *_metadata,
			  FIXTURE_DATA(faultinj) *self, uint32_t rflags,
			  struct fi_tally *t)
{
	struct wsr_restore r;
	unsigned int n;
	char *mem;
	int dev, ret;
	bool hit;

	for (n = 1; n < MAX_NTH && !t->done; n++) {
		ASSERT_EQ(0, fi_cold());
		ASSERT_EQ(0, fi_warm_some(self));
		dev = fi_region(self->snap, 0, &mem);
		ASSERT_LE(0, dev);
		memset(&r, 0, sizeof(r));
		fi_mark(t->path, n);
		ASSERT_EQ(0, fi_nth_set(self->nth_fd, n));
		ret = wsr_restore(dev, self->ws, self->nws, rflags, &r);
		if (!ret && (rflags & WSR_RESTORE_ASYNC))
			ret = wsr_wait(dev, 0);
		hit = fi_disarm(self, t);
		EXPECT_TRUE(fi_count(t, n, hit, ret))
			TH_LOG("%s: fail-nth %u: %d", t->path, n, ret);
		/* No background load is left behind. */
		EXPECT_EQ(0, wsr_wait(dev, 30000));
		alarm(120);
		/* Whatever was loaded is right, the rest loads now. */
		EXPECT_EQ(0ULL, fi_bad_pages(self, mem, self->ws, self->nws));
		if (ret) {
			/* Restore again: it completes. */
			EXPECT_EQ(0, wsr_restore(dev, self->ws, self->nws, 0,
						 &r));
			EXPECT_EQ(0ULL, fi_bad_pages(self, mem, self->ws,
						     self->nws));
		}
		alarm(0);
		munmap(mem, REGION_LEN);
		close(dev);
	}
	FI_LOG(t);
	EXPECT_TRUE(t->done);
	EXPECT_EQ(0U, t->bad);
}

TEST_F_TIMEOUT(faultinj, sync_restore, 900)
{
	struct fi_tally t = { .path = "sync_restore" };

	sweep_restore(_metadata, self, 0, &t);
	fi_check_after(_metadata, self);
}

TEST_F_TIMEOUT(faultinj, async_restore, 600)
{
	struct fi_tally t = { .path = "async_restore" };

	if (!(self->api.features & WSR_FEATURE_ASYNC))
		SKIP(return, "module lacks WSR_FEATURE_ASYNC");
	sweep_restore(_metadata, self, WSR_RESTORE_ASYNC, &t);
	fi_check_after(_metadata, self);
}

/*
 * Put chunk 0 of the range in the snapshot's page cache but for pages
 * [100, 132): its 2 MiB unit then loads by copies and one device read of
 * 32 pages (all 512 from the device would be 512 times the same
 * page-cache allocation to sweep).
 */
static int fi_warm_chunk0(FIXTURE_DATA(faultinj) *self)
{
	char *buf = malloc(WSR_HUGE);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = wsr_pread_full(self->snap, buf, 100 * WSR_PAGE, REGION_OFF);
	if (!ret)
		ret = wsr_pread_full(self->snap, buf,
				     WSR_HUGE - 132 * WSR_PAGE,
				     REGION_OFF + 132 * WSR_PAGE);
	free(buf);
	return ret;
}

/*
 * Faults on a cold region: a page of a 2 MiB chunk (mostly in the
 * snapshot's page cache), a 4 KiB page in the page cache (a copy) and one
 * that is not (a read-around).
 */
TEST_F_TIMEOUT(faultinj, fault, 900)
{
	uint64_t touch[NR_TOUCH] = { 7, WSR_HUGE_PAGES + 5,
				     WSR_HUGE_PAGES + 300 };
	struct fi_tally t = { .path = "fault" };
	unsigned int n;
	char *mem;
	int dev, ret;
	bool hit;

	for (n = 1; n < MAX_NTH && !t.done; n++) {
		ASSERT_EQ(0, fi_cold());
		ASSERT_EQ(0, fi_warm_some(self));
		ASSERT_EQ(0, fi_warm_chunk0(self));
		dev = fi_region(self->snap, 0, &mem);
		ASSERT_LE(0, dev);
		fi_mark(t.path, n);
		alarm(120);
		ASSERT_EQ(0, fi_nth_set(self->nth_fd, n));
		ret = fi_touch(mem, touch, NR_TOUCH);
		hit = fi_disarm(self, &t);
		EXPECT_TRUE(fi_count(&t, n, hit, ret))
			TH_LOG("fault: fail-nth %u: %d", n, ret);
		/* A page that raised SIGBUS reads right now. */
		EXPECT_EQ(0, fi_touch(mem, touch, NR_TOUCH));
		EXPECT_EQ(0ULL, fi_bad_pages(self, mem, touch, NR_TOUCH));
		alarm(0);
		munmap(mem, REGION_LEN);
		close(dev);
	}
	FI_LOG(&t);
	EXPECT_TRUE(t.done);
	EXPECT_EQ(0U, t.bad);
	fi_check_after(_metadata, self);
}

/* GET_WS into @e; the number of entries or -errno. */
static int fi_get_ws(int dev, struct wsr_ws_entry *e, uint64_t cap)
{
	struct wsr_get_ws g;
	int ret;

	memset(&g, 0, sizeof(g));
	g.entries = (uintptr_t)e;
	g.count = cap;
	ret = wsr_ioctl(dev, WSR_IOC_GET_WS, &g);
	return ret ? ret : (int)g.count;
}

/*
 * Tracker: START, touches, STOP and GET_WS under injection; then, on the
 * same region, a clean recording returns exactly the touched pages.
 */
TEST_F_TIMEOUT(faultinj, tracker, 900)
{
	uint64_t touch[NR_TOUCH] = { 7, WSR_HUGE_PAGES + 5,
				     WSR_HUGE_PAGES + 300 };
	struct fi_tally t = { .path = "tracker" };
	struct wsr_ws_entry e[16];
	unsigned int n;
	int dev, ret, k, i;
	char *mem;
	bool hit;

	if (!(self->api.features & WSR_FEATURE_TRACK))
		SKIP(return, "module lacks WSR_FEATURE_TRACK");
	for (n = 1; n < MAX_NTH && !t.done; n++) {
		ASSERT_EQ(0, fi_cold());
		dev = fi_region(self->snap, 0, &mem);
		ASSERT_LE(0, dev);
		memset(e, 0, sizeof(e));
		fi_mark(t.path, n);
		alarm(120);
		ASSERT_EQ(0, fi_nth_set(self->nth_fd, n));
		ret = wsr_track(dev, WSR_TRACK_START);
		if (!ret)
			ret = fi_touch(mem, touch, NR_TOUCH);
		if (!ret)
			ret = wsr_track(dev, WSR_TRACK_STOP);
		if (!ret) {
			k = fi_get_ws(dev, e, 16);
			ret = k < 0 ? k : 0;
		}
		hit = fi_disarm(self, &t);
		EXPECT_TRUE(fi_count(&t, n, hit, ret))
			TH_LOG("tracker: fail-nth %u: %d", n, ret);

		/* A clean recording on the same region. */
		EXPECT_EQ(0, wsr_track(dev, WSR_TRACK_STOP));
		EXPECT_EQ(0, wsr_track(dev, WSR_TRACK_RESET));
		ASSERT_EQ(0, wsr_track(dev, WSR_TRACK_START));
		EXPECT_EQ(0, fi_touch(mem, touch, NR_TOUCH));
		EXPECT_EQ(0, wsr_track(dev, WSR_TRACK_STOP));
		k = fi_get_ws(dev, e, 16);
		EXPECT_EQ(NR_TOUCH, k);
		for (i = 0; i < k && i < NR_TOUCH; i++)
			EXPECT_EQ(touch[i], e[i].index);
		EXPECT_EQ(0ULL, fi_bad_pages(self, mem, touch, NR_TOUCH));
		alarm(0);
		munmap(mem, REGION_LEN);
		close(dev);
	}
	FI_LOG(&t);
	EXPECT_TRUE(t.done);
	EXPECT_EQ(0U, t.bad);
	fi_check_after(_metadata, self);
}

/* WSR_IOC_TRACK_FILE over a range of the snapshot, as in filetrack. */
static int fi_track_file(int dev, uint32_t op, int fd)
{
	struct wsr_track_file tf;

	memset(&tf, 0, sizeof(tf));
	tf.op = op;
	if (op == WSR_TRACK_START) {
		tf.fd = fd;
		tf.offset = REGION_OFF;
		tf.length = REGION_LEN;
	}
	return wsr_ioctl(dev, WSR_IOC_TRACK_FILE, &tf);
}

/*
 * open + handshake + TRACK_FILE START, touches of a private mapping of
 * the snapshot file, STOP and GET_WS under injection; then a clean
 * recording on a new fd returns exactly the touched pages.
 */
TEST_F_TIMEOUT(faultinj, track_file, 900)
{
	uint64_t touch[NR_TOUCH] = { 7, WSR_HUGE_PAGES + 5,
				     WSR_HUGE_PAGES + 300 };
	struct fi_tally t = { .path = "track_file" };
	struct wsr_ws_entry e[16];
	unsigned int n;
	int dev, ret, k, i, round;
	char *file;
	bool hit;

	if (!(self->api.features & WSR_FEATURE_FILE_TRACK))
		SKIP(return, "module lacks WSR_FEATURE_FILE_TRACK");
	for (n = 1; n < MAX_NTH && !t.done; n++) {
		for (round = 0; round < 2; round++) {
			/* Out of the page cache, no fault-around or readahead. */
			ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
			file = mmap(NULL, REGION_LEN, PROT_READ, MAP_PRIVATE,
				    self->snap, REGION_OFF);
			ASSERT_NE(MAP_FAILED, file);
			ASSERT_EQ(0, madvise(file, REGION_LEN, MADV_RANDOM));
			memset(e, 0, sizeof(e));
			alarm(120);
			if (!round) {
				fi_mark(t.path, n);
				ASSERT_EQ(0, fi_nth_set(self->nth_fd, n));
			}
			dev = wsr_open_api();
			ret = dev < 0 ? dev : 0;
			if (!ret)
				ret = fi_track_file(dev, WSR_TRACK_START,
						    self->snap);
			if (!ret)
				ret = fi_touch(file, touch, NR_TOUCH);
			if (!ret)
				ret = fi_track_file(dev, WSR_TRACK_STOP, 0);
			k = 0;
			if (!ret) {
				k = fi_get_ws(dev, e, 16);
				ret = k < 0 ? k : 0;
			}
			if (!round) {
				hit = fi_disarm(self, &t);
				EXPECT_TRUE(fi_count(&t, n, hit, ret))
					TH_LOG("track_file: fail-nth %u: %d",
					       n, ret);
			} else {
				/* Clean: exactly the touched pages. */
				EXPECT_EQ(0, ret);
				EXPECT_EQ(NR_TOUCH, k);
				for (i = 0; i < k && i < NR_TOUCH; i++)
					EXPECT_EQ(touch[i], e[i].index);
			}
			EXPECT_EQ(0ULL, fi_bad_pages(self, file, touch,
						     NR_TOUCH));
			alarm(0);
			munmap(file, REGION_LEN);
			if (dev >= 0)
				close(dev);
		}
	}
	FI_LOG(&t);
	EXPECT_TRUE(t.done);
	EXPECT_EQ(0U, t.bad);
	fi_check_after(_metadata, self);
}

/* Set make-it-fail of every unbound kworker ("kworker/u..."). */
static int fi_flag_kworkers(const char *val)
{
	char path[300], comm[64];
	struct dirent *d;
	int n = 0;
	DIR *proc = opendir("/proc");

	if (!proc)
		return -errno;
	while ((d = readdir(proc))) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		if (wsr_read_text(path, comm, sizeof(comm)) ||
		    strncmp(comm, "kworker/u", 9))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/make-it-fail",
			 d->d_name);
		n += !wsr_write_text(path, val);
	}
	closedir(proc);
	return n;
}

/*
 * The background restore's own work, in a kworker: one failure (times=1)
 * of one type per run, in the unbound kworkers only (task-filter and
 * their make-it-fail; the test thread is not flagged for this test), at a
 * point moved along by "space" (units of the type's size: bytes of a
 * slab object or a request, pages of an allocation).  The failure may
 * only stop the background load: WSR_IOC_WAIT reports it (0 or the
 * allowed -errno, once), and every page reads right, loaded by faults
 * where the load stopped.  Sweeps each type
 * until a run hits no failure twice in a row (a new kworker, which is
 * not flagged, may take the work: then the run does not count).
 */
TEST_F_TIMEOUT(faultinj, async_worker, 900)
{
	static const struct {
		const char *type;
		unsigned int step;	/* space units per sweep step */
	} kinds[] = {
		{ "fail_page_alloc", 16 },
		{ "failslab", 512 },
		{ "fail_make_request", 256 << 10 },
	};
	struct fi_tally t = { .path = "async_worker" };
	unsigned int k, s, misses, flagged, steps = 0;
	struct wsr_restore r;
	char buf[32], path[128];
	char *mem;
	int dev, ret;

	if (!(self->api.features & WSR_FEATURE_ASYNC))
		SKIP(return, "module lacks WSR_FEATURE_ASYNC");
	ASSERT_EQ(0, fi_set(self, "/proc/self/make-it-fail", "0"));
	for (k = 0; k < 3; k++) {
		misses = 0;
		for (s = 0; s < MAX_NTH && misses < 2; s++) {
			ASSERT_EQ(0, fi_cold());
			ASSERT_EQ(0, fi_warm_some(self));
			dev = fi_region(self->snap, 0, &mem);
			ASSERT_LE(0, dev);
			flagged = fi_flag_kworkers("1");
			snprintf(buf, sizeof(buf), "%u", s * kinds[k].step);
			ASSERT_EQ(0, fi_write(kinds[k].type, "space", buf));
			ASSERT_EQ(0, fi_write(kinds[k].type, "times", "1"));
			ASSERT_EQ(0, fi_write(kinds[k].type, "probability",
					      "100"));
			fi_mark(kinds[k].type, s);
			ret = wsr_restore(dev, self->ws, self->nws,
					  WSR_RESTORE_ASYNC, &r);
			if (!ret)
				ret = wsr_wait(dev, 60000);
			ASSERT_EQ(0, fi_write(kinds[k].type, "probability",
					      "0"));
			snprintf(path, sizeof(path), DBG "/%s/times",
				 kinds[k].type);
			ASSERT_EQ(0, wsr_read_text(path, buf, sizeof(buf)));
			fi_flag_kworkers("0");
			if (atoi(buf) == 1) {
				misses++;
			} else {
				misses = 0;
				t.by_type[k == 0 ? 1 : k == 1 ? 0 : 2]++;
				EXPECT_TRUE(fi_count(&t, s + 1, true, ret))
					TH_LOG("%s space step %u (%u kworkers): %d",
					       kinds[k].type, s, flagged, ret);
			}
			alarm(120);
			EXPECT_EQ(0ULL, fi_bad_pages(self, mem, self->ws,
						     self->nws));
			alarm(0);
			munmap(mem, REGION_LEN);
			close(dev);
		}
		TH_LOG("async_worker %s: swept %u steps", kinds[k].type, s);
		steps += s;
		t.done = misses >= 2;
		EXPECT_TRUE(t.done);
	}
	/* "N" of the log: the runs, steps of "space" rather than fail-nth. */
	t.last_nth = steps;
	FI_LOG(&t);
	EXPECT_EQ(0U, t.bad);
	fi_check_after(_metadata, self);
}

WSR_HARNESS_MAIN
