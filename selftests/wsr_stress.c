// SPDX-License-Identifier: GPL-2.0
/*
 * Stress suite: concurrency around one region, in bounded time.
 *  - several threads fault (and write) while an async restore loads the
 *    region behind them: every byte right, no page loaded twice;
 *  - a faulting thread against mmap(MAP_FIXED) replacement and
 *    MADV_DONTNEED of the same range;
 *  - close/munmap while an async restore and faults are in flight, and a
 *    process killed in the middle of one;
 *  - concurrent restores of overlapping working sets;
 *  - the tracker under several faulting threads.
 * Threads never ASSERT (the harness longjmps); they count failures, which
 * the main thread asserts on.  Teardown and leaks are checked by the rig
 * (KASAN/KMEMLEAK/lockdep reports fail the run).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define REGION_OFF	(12 * WSR_HUGE)
#define REGION_LEN	(8ULL << 20)
#define REGION_PAGES	(REGION_LEN / WSR_PAGE)
#define NTHREADS	4
/* Wall-clock budget of the looping tests, well inside their timeouts. */
#define LOOP_BUDGET_NS	(15ULL * 1000000000ULL)

FIXTURE(stress)
{
	int dev;
	int snap;
	struct wsr_api api;
	char *mem;
	char *want;		/* the region's expected bytes */
	uint64_t *all;		/* every page index, shuffled */
};

FIXTURE_VARIANT(stress)
{
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(stress, huge)
{
	.flags = 0,
};

FIXTURE_VARIANT_ADD(stress, small)
{
	.flags = WSR_CREATE_NO_HUGE,
};

FIXTURE_SETUP(stress)
{
	uint64_t i;

	ASSERT_EQ(0, wsr_drop_caches());
	self->dev = -1;
	self->dev = wsr_open();
	if (self->dev == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, wsr_handshake(self->dev, &self->api));
	close(self->dev);
	self->dev = -1;
	if (!(variant->flags & WSR_CREATE_NO_HUGE) &&
	    !(self->api.features & WSR_FEATURE_HUGE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_HUGE");
	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " WSR_SNAP);
	self->want = malloc(REGION_LEN);
	self->all = malloc(REGION_PAGES * sizeof(uint64_t));
	ASSERT_NE(NULL, self->want);
	ASSERT_NE(NULL, self->all);
	ASSERT_EQ(0, wsr_pread_full(self->snap, self->want, REGION_LEN,
				    REGION_OFF));
	for (i = 0; i < REGION_PAGES; i++)
		self->all[i] = i;
	wsr_shuffle(self->all, REGION_PAGES, 0xfeedface);
	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
}

FIXTURE_TEARDOWN(stress)
{
	if (self->mem)
		munmap(self->mem, REGION_LEN);
	if (self->dev >= 0)
		close(self->dev);
	if (self->snap > 0)
		close(self->snap);
	free(self->want);
	free(self->all);
}

/* Open a region fd and map it; 0 or -errno. */
static int new_region(int snap, uint32_t flags, int *dev, char **mem)
{
	void *p;
	int fd, ret;

	fd = wsr_open_api();
	if (fd < 0)
		return fd;
	ret = wsr_create(fd, snap, flags, REGION_OFF, REGION_LEN);
	if (ret) {
		close(fd);
		return ret;
	}
	p = mmap(NULL, REGION_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*dev = fd;
	*mem = p;
	return 0;
}

struct faulter {
	pthread_t thread;
	int id;
	char *mem;
	const char *want;
	uint64_t seed;
	atomic_ulong *bad;
	atomic_bool *stop;
	bool write;
};

/*
 * Check every page of this thread's share (page % NTHREADS == id) in a
 * private random order, then stamp it with a marker the main thread checks.
 */
static void *fault_share(void *arg)
{
	struct faulter *f = arg;
	uint64_t n = 0, i, order[REGION_PAGES / NTHREADS];

	for (i = f->id; i < REGION_PAGES; i += NTHREADS)
		order[n++] = i;
	wsr_shuffle(order, n, f->seed);
	for (i = 0; i < n; i++) {
		char *p = f->mem + order[i] * WSR_PAGE;

		if (memcmp(p, f->want + order[i] * WSR_PAGE, WSR_PAGE))
			atomic_fetch_add(f->bad, 1);
		if (f->write)
			wsr_store64(p + 64 * f->id,
				    0xabcd000000000000ULL | order[i]);
	}
	return NULL;
}

/*
 * Several threads read (and write) their shares of the region while an
 * async restore loads all of it in another order.
 */
TEST_F_TIMEOUT(stress, threads_fault_during_async, 170)
{
	struct faulter f[NTHREADS];
	atomic_ulong bad;
	struct wsr_restore r;
	struct wsr_stats st;
	uint64_t i, t, wrong, round, t0 = wsr_now_ns();

	if (!(self->api.features & WSR_FEATURE_ASYNC))
		SKIP(return, "module lacks WSR_FEATURE_ASYNC");

	for (round = 0; round < 2 && wsr_now_ns() - t0 < LOOP_BUDGET_NS;
	     round++) {
		/*
		 * Cold every round: the base of the last round's region
		 * outlives it while it holds pages.
		 */
		ASSERT_EQ(0, wsr_drop_caches());
		ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
		ASSERT_EQ(0, new_region(self->snap, variant->flags,
					&self->dev, &self->mem));
		atomic_init(&bad, 0);
		ASSERT_EQ(0, wsr_restore(self->dev, self->all, REGION_PAGES,
					 WSR_RESTORE_ASYNC, &r));
		for (t = 0; t < NTHREADS; t++) {
			f[t] = (struct faulter){
				.id = t, .mem = self->mem, .want = self->want,
				.seed = 1000 * round + t + 1, .bad = &bad,
				.write = true,
			};
			ASSERT_EQ(0, pthread_create(&f[t].thread, NULL,
						    fault_share, &f[t]));
		}
		for (t = 0; t < NTHREADS; t++)
			pthread_join(f[t].thread, NULL);
		EXPECT_EQ(0UL, atomic_load(&bad));
		ASSERT_EQ(0, wsr_wait(self->dev, 0));

		/* Every page: file bytes plus the owner's marker. */
		wrong = 0;
		for (i = 0; i < REGION_PAGES; i++) {
			char *p = self->mem + i * WSR_PAGE;
			uint64_t id = i % NTHREADS;
			uint64_t mark = 0xabcd000000000000ULL | i;

			if (memcmp(p, self->want + i * WSR_PAGE, 64 * id) ||
			    memcmp(p + 64 * id, &mark, 8) ||
			    memcmp(p + 64 * id + 8,
				   self->want + i * WSR_PAGE + 64 * id + 8,
				   WSR_PAGE - 64 * id - 8))
				wrong++;
		}
		EXPECT_EQ(0ULL, wrong);

		ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
		TH_LOG("round %llu: faults %llu present %llu cache %llu",
		       (unsigned long long)round,
		       (unsigned long long)st.faults,
		       (unsigned long long)st.faults_present,
		       (unsigned long long)st.faults_cache);
		TH_LOG("device %llu waited %llu huge %llu; pages %llu + %llu",
		       (unsigned long long)st.faults_device,
		       (unsigned long long)st.faults_waited,
		       (unsigned long long)st.faults_huge,
		       (unsigned long long)st.pages_cache,
		       (unsigned long long)st.pages_device);
		/* Loaded exactly once each, by the loader or by a fault. */
		EXPECT_EQ(REGION_PAGES, st.pages_cache + st.pages_device);
		EXPECT_EQ(st.pages_device * WSR_PAGE, st.bytes_read);
		EXPECT_EQ(0ULL, st.restore_pending);
		EXPECT_EQ(st.faults, st.faults_present + st.faults_cache +
				     st.faults_device);
		EXPECT_EQ(REGION_PAGES, st.resident_small +
					st.resident_huge * WSR_HUGE_PAGES);

		munmap(self->mem, REGION_LEN);
		self->mem = NULL;
		close(self->dev);
		self->dev = -1;
	}
	EXPECT_LE(1ULL, round);
}

struct remapper {
	char *mem;
	int dev;
	atomic_bool stop;
	atomic_ulong replaced;
	atomic_ulong errors;
};

/* Replace the mapping in place and zap ranges of it, over and over. */
static void *remap_loop(void *arg)
{
	struct remapper *m = arg;
	uint64_t seed = 77, n = 0;

	while (!atomic_load(&m->stop)) {
		uint64_t off = (wsr_rand(&seed) % REGION_PAGES) * WSR_PAGE;
		uint64_t len = WSR_PAGE * (1 + wsr_rand(&seed) % 600);

		if (off + len > REGION_LEN)
			len = REGION_LEN - off;
		if (n++ % 4 == 0) {
			void *p = mmap(m->mem, REGION_LEN,
				       PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_FIXED, m->dev, 0);

			if (p != m->mem)
				atomic_fetch_add(&m->errors, 1);
			atomic_fetch_add(&m->replaced, 1);
		} else if (madvise(m->mem + off, len, MADV_DONTNEED)) {
			atomic_fetch_add(&m->errors, 1);
		}
	}
	return NULL;
}

/*
 * Fault random pages while another thread replaces the VMA with
 * MAP_FIXED and zaps ranges with MADV_DONTNEED: every read shows the
 * file's bytes.  Mappings are copy-on-write, so a write lives in the
 * mapping's own page: a zap or a replacement of the VMA discards it and
 * the page shows the file's bytes again.
 */
TEST_F_TIMEOUT(stress, fault_vs_remap_and_zap, 120)
{
	struct remapper m = { 0 };
	pthread_t th;
	uint64_t seed = 5, i, bad = 0, iters = 0, t0;
	char *p;

	ASSERT_EQ(0, new_region(self->snap, variant->flags, &self->dev,
				&self->mem));
	/* A write, then a zap of its page: the write is gone. */
	self->mem[3 * WSR_PAGE + 5] ^= 0x3c;
	EXPECT_EQ((char)(self->want[3 * WSR_PAGE + 5] ^ 0x3c),
		  self->mem[3 * WSR_PAGE + 5]);
	ASSERT_EQ(0, madvise(self->mem + 3 * WSR_PAGE, WSR_PAGE,
			     MADV_DONTNEED));
	EXPECT_EQ(0, memcmp(self->mem + 3 * WSR_PAGE,
			    self->want + 3 * WSR_PAGE, WSR_PAGE));
	/* A write, then a replacement of the VMA: gone too. */
	self->mem[3 * WSR_PAGE + 5] ^= 0x3c;
	EXPECT_EQ((char)(self->want[3 * WSR_PAGE + 5] ^ 0x3c),
		  self->mem[3 * WSR_PAGE + 5]);
	p = mmap(self->mem, REGION_LEN, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, self->dev, 0);
	ASSERT_EQ(self->mem, p);
	EXPECT_EQ(0, memcmp(self->mem + 3 * WSR_PAGE,
			    self->want + 3 * WSR_PAGE, WSR_PAGE));

	m.mem = self->mem;
	m.dev = self->dev;
	ASSERT_EQ(0, pthread_create(&th, NULL, remap_loop, &m));
	t0 = wsr_now_ns();
	while (wsr_now_ns() - t0 < 8ULL * 1000000000ULL) {
		for (i = 0; i < 64; i++) {
			uint64_t p = wsr_rand(&seed) % REGION_PAGES;
			uint64_t w = (wsr_rand(&seed) % (WSR_PAGE / 8)) * 8;
			const char *a = self->mem + p * WSR_PAGE + w;

			if (memcmp(a, self->want + p * WSR_PAGE + w, 8))
				bad++;
		}
		iters++;
	}
	atomic_store(&m.stop, true);
	pthread_join(th, NULL);
	TH_LOG("%llu probes, %lu VMA replacements",
	       (unsigned long long)iters * 64,
	       (unsigned long)atomic_load(&m.replaced));
	EXPECT_EQ(0ULL, bad);
	EXPECT_EQ(0UL, atomic_load(&m.errors));
	EXPECT_LT(0UL, atomic_load(&m.replaced));
	EXPECT_EQ(-1, wsr_cmp_file(self->mem, self->snap, REGION_OFF,
				   REGION_LEN));
	EXPECT_EQ(0, memcmp(self->mem, self->want, REGION_LEN));
}

/*
 * Tear a region down while an async restore runs and threads fault: the
 * fd is closed and a second mapping unmapped mid-flight, then the first
 * mapping after the faulting threads finish.  Repeated; afterwards a new
 * region still works.
 */
TEST_F_TIMEOUT(stress, close_unmap_during_async, 170)
{
	struct faulter f[2];
	atomic_ulong bad;
	struct wsr_restore r;
	uint64_t it, t, t0 = wsr_now_ns();
	uint64_t base;
	char *mem2;

	if (!(self->api.features & WSR_FEATURE_ASYNC))
		SKIP(return, "module lacks WSR_FEATURE_ASYNC");
	ASSERT_EQ(0, wsr_knob_get("regions", &base));
	atomic_init(&bad, 0);
	for (it = 0; it < 6 && wsr_now_ns() - t0 < LOOP_BUDGET_NS; it++) {
		ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
		ASSERT_EQ(0, new_region(self->snap, variant->flags,
					&self->dev, &self->mem));
		mem2 = mmap(NULL, REGION_LEN, PROT_READ, MAP_SHARED,
			    self->dev, 0);
		ASSERT_NE(MAP_FAILED, mem2);
		ASSERT_EQ(0, wsr_restore(self->dev, self->all, REGION_PAGES,
					 WSR_RESTORE_ASYNC, &r));
		for (t = 0; t < 2; t++) {
			f[t] = (struct faulter){
				.id = t, .mem = t ? mem2 : self->mem,
				.want = self->want, .seed = it * 10 + t,
				.bad = &bad, .write = false,
			};
			ASSERT_EQ(0, pthread_create(&f[t].thread, NULL,
						    fault_share, &f[t]));
		}
		usleep((it % 4) * 5000);
		close(self->dev);
		self->dev = -1;
		/* Thread 1 faults through mem2 until it has finished. */
		pthread_join(f[1].thread, NULL);
		munmap(mem2, REGION_LEN);
		pthread_join(f[0].thread, NULL);
		munmap(self->mem, REGION_LEN);
		self->mem = NULL;
	}
	EXPECT_EQ(0UL, atomic_load(&bad));
	TH_LOG("%llu teardown rounds", (unsigned long long)it);

	/* A process killed in the middle of an async restore. */
	for (it = 0; it < 3; it++) {
		int status;
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			int dev;
			char *mem;

			if (new_region(self->snap, variant->flags, &dev, &mem))
				_exit(2);
			if (wsr_restore(dev, self->all, REGION_PAGES,
					WSR_RESTORE_ASYNC, &r))
				_exit(3);
			for (t = 0;; t = (t + 1) % REGION_PAGES)
				wsr_touch(mem, self->all[REGION_PAGES - 1 - t]);
		}
		usleep(2000 + it * 20000);
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSIGNALED(status))
			TH_LOG("child exited with %d", WEXITSTATUS(status));
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
		ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
	}

	/* Every region torn down above is freed, workers included. */
	EXPECT_EQ((int64_t)base, wsr_wait_regions(base, 5000));

	/* The module still serves a fresh region correctly. */
	ASSERT_EQ(0, new_region(self->snap, variant->flags, &self->dev,
				&self->mem));
	EXPECT_EQ(0, memcmp(self->mem, self->want, REGION_LEN));
}

struct restorer {
	pthread_t thread;
	int dev;
	const uint64_t *pages;
	uint64_t count;
	int ret;
	struct wsr_restore r;
};

static void *do_restore(void *arg)
{
	struct restorer *x = arg;

	x->ret = wsr_restore(x->dev, x->pages, x->count, 0, &x->r);
	return NULL;
}

/*
 * Two synchronous restores of overlapping working sets on one region at
 * the same time: each either completes or is refused with -EBUSY; pages
 * of the union are loaded exactly once.
 */
TEST_F_TIMEOUT(stress, concurrent_restores, 150)
{
	struct restorer x[2];
	struct wsr_stats st;
	struct wsr_restore r;
	uint64_t half = REGION_PAGES / 2, quarter = REGION_PAGES / 4;
	uint64_t loaded = 0, t;

	if (!(self->api.features & WSR_FEATURE_RESTORE))
		SKIP(return, "module lacks WSR_FEATURE_RESTORE");
	ASSERT_EQ(0, new_region(self->snap, variant->flags, &self->dev,
				&self->mem));
	/* x[0]: shuffled pages [0, 3/4); x[1]: [1/4, 1) in order. */
	for (t = 0; t < 2; t++) {
		uint64_t *v = malloc((half + quarter) * sizeof(*v));
		uint64_t i;

		ASSERT_NE(NULL, v);
		for (i = 0; i < half + quarter; i++)
			v[i] = t * quarter + i;
		if (!t)
			wsr_shuffle(v, half + quarter, 99);
		x[t] = (struct restorer){
			.dev = self->dev, .pages = v, .count = half + quarter,
		};
	}
	for (t = 0; t < 2; t++)
		ASSERT_EQ(0, pthread_create(&x[t].thread, NULL, do_restore,
					    &x[t]));
	for (t = 0; t < 2; t++)
		pthread_join(x[t].thread, NULL);
	for (t = 0; t < 2; t++) {
		EXPECT_TRUE(x[t].ret == 0 || x[t].ret == -EBUSY)
			TH_LOG("restore %llu: %d", (unsigned long long)t,
			       x[t].ret);
		if (x[t].ret)
			continue;
		TH_LOG("restore %llu: cache %llu device %llu present %llu",
		       (unsigned long long)t,
		       (unsigned long long)x[t].r.from_cache,
		       (unsigned long long)x[t].r.from_device,
		       (unsigned long long)x[t].r.present);
		EXPECT_EQ(half + quarter, x[t].r.from_cache +
			  x[t].r.from_device + x[t].r.present);
		loaded += x[t].r.from_cache + x[t].r.from_device;
	}
	/* A refused one is retried now, alone. */
	for (t = 0; t < 2; t++) {
		if (!x[t].ret)
			continue;
		ASSERT_EQ(0, wsr_restore(self->dev, x[t].pages, x[t].count,
					 0, &r));
		loaded += r.from_cache + r.from_device;
	}
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(REGION_PAGES, loaded);
	EXPECT_EQ(REGION_PAGES, st.pages_cache + st.pages_device);
	EXPECT_EQ(st.pages_device * WSR_PAGE, st.bytes_read);
	EXPECT_EQ(0, memcmp(self->mem, self->want, REGION_LEN));
	free((void *)x[0].pages);
	free((void *)x[1].pages);
}

struct toucher {
	pthread_t thread;
	char *mem;
	uint64_t first, count;	/* pages first .. first + count - 1 */
};

static void *touch_range(void *arg)
{
	struct toucher *t = arg;
	uint64_t i;

	for (i = 0; i < t->count; i++)
		wsr_touch(t->mem, t->first + (i * 37) % t->count);
	return NULL;
}

/*
 * The tracker with several faulting threads while the main thread reads
 * the working set out repeatedly: the record grows monotonically, holds
 * every touched page exactly once, in each thread's own order, with
 * non-decreasing timestamps.
 */
TEST_F_TIMEOUT(stress, tracker_concurrent, 150)
{
	const uint64_t per = 128, total = per * NTHREADS;
	struct wsr_ws_entry *e = calloc(total, sizeof(*e));
	uint8_t *seen = calloc(REGION_PAGES, 1);
	uint64_t last = 0, polls = 0, i, t, pos[NTHREADS] = { 0 };
	struct toucher th[NTHREADS];
	struct wsr_get_ws g;
	int ret;

	if (!(self->api.features & WSR_FEATURE_TRACK))
		SKIP(return, "module lacks WSR_FEATURE_TRACK");
	ASSERT_NE(NULL, e);
	ASSERT_NE(NULL, seen);
	ASSERT_EQ(0, new_region(self->snap, variant->flags | WSR_CREATE_TRACK,
				&self->dev, &self->mem));
	for (t = 0; t < NTHREADS; t++) {
		/* Disjoint ranges, each its own 2 MiB chunk. */
		th[t] = (struct toucher){
			.mem = self->mem, .first = t * WSR_HUGE_PAGES + 7,
			.count = per,
		};
		ASSERT_EQ(0, pthread_create(&th[t].thread, NULL, touch_range,
					    &th[t]));
	}
	do {
		memset(&g, 0, sizeof(g));
		g.entries = (uintptr_t)e;
		g.count = total;
		ret = wsr_ioctl(self->dev, WSR_IOC_GET_WS, &g);
		EXPECT_EQ(0, ret);
		EXPECT_LE(last, g.count);
		last = g.count;
		polls++;
	} while (!ret && g.count < total && polls < 100000);
	for (t = 0; t < NTHREADS; t++)
		pthread_join(th[t].thread, NULL);

	memset(&g, 0, sizeof(g));
	g.entries = (uintptr_t)e;
	g.count = total;
	ASSERT_EQ(0, wsr_ioctl(self->dev, WSR_IOC_GET_WS, &g));
	ASSERT_EQ(total, g.count);
	EXPECT_EQ(0U, g.flags);
	TH_LOG("%llu polls while recording", (unsigned long long)polls);
	for (i = 0; i < total; i++) {
		uint64_t p = e[i].index, k;

		ASSERT_GT(REGION_PAGES, p);
		EXPECT_EQ(0, seen[p]) TH_LOG("page %llu twice",
					     (unsigned long long)p);
		seen[p] = 1;
		if (i)
			EXPECT_LE(e[i - 1].ns, e[i].ns);
		/* Which thread, and is it that thread's next page? */
		t = p / WSR_HUGE_PAGES;
		ASSERT_GT((uint64_t)NTHREADS, t);
		k = pos[t]++;
		EXPECT_EQ(th[t].first + (k * 37) % per, p);
	}
	free(seen);
	free(e);
}

WSR_HARNESS_MAIN
