// SPDX-License-Identifier: GPL-2.0
/*
 * Soak suite (make soak; not part of make check): for WSR_SOAK_SECONDS
 * (default 60 here, 600 under make soak) several processes at once
 *  - create regions over random ranges of the snapshot (2 MiB and 4 KiB
 *    units), restore random working sets sync or async (WAIT, or faults
 *    racing the background load, or a close while it runs), fault and
 *    read them, and check every byte they read;
 *  - record with the region tracker (exact first-touch order) and with
 *    WSR_IOC_TRACK_FILE (WSR_TRACK_FILE_AROUND: every touched page);
 *  - the same over snapshot files that a mutator truncates and rewrites
 *    under them: bytes are checked only for regions whose file did not
 *    change from their creation to the end of the check (a seqlock), and
 *    SIGBUS or -EIO count as legal only when it did;
 *  - a reclaimer drops the caches now and then.
 * Half-way and at the end, after the last close and with the caches
 * dropped, the module's objects (regions, bases, base_pages) must be back
 * to their baseline exactly, and MemAvailable, Slab and SUnreclaim within
 * the tolerances SOAK_TOL_* (see there).  The numbers are printed, with
 * the slab caches that grew most.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define NR_WORKERS	4
#define NR_MUT		2
#define MUT_SIZE	(8ULL << 20)
#define MUT_PATH	"/data/wsr-soak-mut-%d"
#define MAX_LEN		(4 * WSR_HUGE)
#define MAX_PAGES	(MAX_LEN / WSR_PAGE)
/*
 * Mutator: at least this long between two changes of a file, so that
 * every change gets an mtime of its own (a base is kept while mtime,
 * ctime and size are those it saw; the clock is coarse).
 */
#define MUT_GAP_US	30000

/*
 * Memory is measured after a warm-up ("before"), half-way ("mid") and at
 * the end ("after"), each time with every region closed, the caches
 * dropped (drop_caches 3), empty bases swept and the KASAN quarantine
 * refilled with objects of our own (soak_churn()).  The module's objects
 * (regions, bases, base_pages) must be at their baseline exactly, every
 * time.  Memory:
 *  - from before to after, Slab/SUnreclaim may grow by 128 MiB and
 *    MemAvailable drop by as much: on the debug kernel, 60 to 120 s runs
 *    left +33..68 MiB of Slab (2026-12-01), most of it kmemleak_object
 *    (kmemleak's record of every live slab object, ~400 bytes each), the
 *    rest ext4's buffer_head and radix_tree_node of metadata still in
 *    the journal and bio/sg mempool caches: all of it referenced, none of
 *    it reported by kmemleak, none of it wsr's;
 *  - from mid to after, Slab/SUnreclaim may grow by 16 MiB and
 *    MemAvailable drop by 24 MiB: those caches fill in the first half (a
 *    120 s run: first half +33 MiB, second half +0.3 MiB), so the second
 *    half shows what keeps growing with the work done; a leak of one
 *    2 MiB folio per restore, or of 1 KiB per operation (with its
 *    kmemleak record) over the thousands of operations of a make soak
 *    half, is above that.
 */
#define SOAK_TOL_TOTAL_KB	(128 << 10)
#define SOAK_TOL_HALF_SLAB_KB	(16 << 10)
#define SOAK_TOL_HALF_AVAIL_KB	(24 << 10)

enum soak_op {
	OP_SYNC, OP_ASYNC, OP_ASYNC_RACE, OP_CLOSE_EARLY, OP_TRACK,
	OP_TRACK_FILE, OP_MUT, OP_REWRITE, OP_DROP, NR_OPS,
};

static const char *const op_names[NR_OPS] = {
	"sync restores", "async restores+wait", "async restores+faults",
	"closes during async", "tracker recordings", "file recordings",
	"regions over changing files", "file rewrites", "cache drops",
};

/* Shared by every process of the soak. */
struct soak_shared {
	atomic_ulong ops[NR_OPS];
	atomic_ulong pages_checked;
	atomic_ulong checks_skipped;	/* file changed under the region */
	atomic_ulong legal_errors;	/* SIGBUS/-EIO/-EINVAL of a change */
	atomic_ulong errors;
	atomic_ulong mismatches;
	char first_error[256];
	atomic_int error_claimed;
	struct {
		atomic_ulong seq;	/* odd while the file changes */
		atomic_ulong gen;	/* content generation */
	} mut[NR_MUT];
	atomic_bool stop;
};

static struct soak_shared *sh;
static const char *snap_bytes;		/* the snapshot, read once */

static void soak_error(const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&sh->errors, 1);
	if (atomic_exchange(&sh->error_claimed, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->first_error, sizeof(sh->first_error), fmt, ap);
	va_end(ap);
}

/* Word @w of a mutable file's generation @gen. */
static uint64_t mut_word(uint64_t gen, uint64_t w)
{
	uint64_t x = (gen << 40) ^ (w * 0x9e3779b97f4a7c15ULL) ^ 0x5bd1e995;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 32);
}

static void mut_fill(char *buf, uint64_t gen, uint64_t off, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i += 8)
		memcpy(buf + i, &(uint64_t){ mut_word(gen, (off + i) / 8) }, 8);
}

static sigjmp_buf touch_jmp;
static volatile sig_atomic_t in_touch;

static void on_sigbus(int sig)
{
	if (in_touch)
		siglongjmp(touch_jmp, 1);
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

/*
 * Compare pages @pages[0..n) of @mem with @want (NULL: the mutable file of
 * generation @gen at @off); SIGBUS gives -EFAULT.  Returns the number of
 * differing pages.
 */
static long check_pages(const char *mem, const uint64_t *pages, uint64_t n,
			const char *want, uint64_t gen, uint64_t off)
{
	static char buf[WSR_PAGE];
	static volatile uint64_t i;
	static volatile long bad;

	bad = 0;
	if (sigsetjmp(touch_jmp, 1)) {
		in_touch = 0;
		return -EFAULT;
	}
	in_touch = 1;
	for (i = 0; i < n; i++) {
		const char *w = want ? want + pages[i] * WSR_PAGE : buf;

		if (!want)
			mut_fill(buf, gen, off + pages[i] * WSR_PAGE, WSR_PAGE);
		bad += !!memcmp(mem + pages[i] * WSR_PAGE, w, WSR_PAGE);
	}
	in_touch = 0;
	atomic_fetch_add(&sh->pages_checked, n);
	return bad;
}

/* A random working set of a region of @np pages: dense chunks, sparse. */
static uint64_t random_ws(uint64_t *seed, uint64_t np, uint64_t *ws)
{
	uint8_t *in = calloc(np, 1);
	uint64_t n = 0, i, c, k;

	if (!in)
		return 0;
	for (c = 0; c < np / WSR_HUGE_PAGES; c++) {
		if (wsr_rand(seed) % 3)
			continue;
		for (i = 0; i < WSR_HUGE_PAGES; i++)
			in[c * WSR_HUGE_PAGES + i] = 1;
	}
	k = 1 + wsr_rand(seed) % 64;
	for (i = 0; i < k; i++)
		in[wsr_rand(seed) % np] = 1;
	for (i = 0; i < np; i++)
		if (in[i])
			ws[n++] = i;
	free(in);
	wsr_shuffle(ws, n, wsr_rand(seed));
	return n;
}

/* Restore ops over the (immutable) snapshot. */
static void op_restore(int snap, uint64_t *seed, enum soak_op op,
		       uint64_t *ws, uint64_t *all)
{
	uint32_t flags = wsr_rand(seed) % 4 ? 0 : WSR_CREATE_NO_HUGE;
	uint64_t chunks = 1 + wsr_rand(seed) % 4, np, n, i, off;
	struct wsr_restore r;
	char *mem = NULL;
	long bad;
	int dev, ret;

	off = (wsr_rand(seed) % (WSR_SNAP_SIZE / WSR_HUGE - chunks)) * WSR_HUGE;
	np = chunks * WSR_HUGE_PAGES;
	/* Now and then a region that ends inside a chunk. */
	if (!(wsr_rand(seed) % 4))
		np -= 1 + wsr_rand(seed) % 100;
	dev = wsr_open_region(snap, flags, off, np * WSR_PAGE, &mem);
	if (dev < 0) {
		soak_error("create at %llu: %d", (unsigned long long)off, dev);
		return;
	}
	n = random_ws(seed, np, ws);
	ret = wsr_restore(dev, ws, n, op == OP_SYNC ? 0 : WSR_RESTORE_ASYNC,
			  &r);
	if (ret) {
		soak_error("restore (op %d): %d", op, ret);
		goto out;
	}
	if (op == OP_CLOSE_EARLY) {
		/* Touch a few, then go while it loads. */
		check_pages(mem, ws, n < 8 ? n : 8, snap_bytes + off, 0, 0);
		goto out;
	}
	if (op == OP_ASYNC_RACE) {
		for (i = 0; i < np; i++)
			all[i] = i;
		wsr_shuffle(all, np, wsr_rand(seed));
		bad = check_pages(mem, all, np, snap_bytes + off, 0, 0);
		ret = wsr_wait(dev, 60000);
	} else {
		if (op == OP_ASYNC)
			ret = wsr_wait(dev, 60000);
		bad = check_pages(mem, ws, n, snap_bytes + off, 0, 0);
		if (!bad) {
			for (i = 0; i < 64; i++)
				all[i] = wsr_rand(seed) % np;
			bad = check_pages(mem, all, 64, snap_bytes + off, 0, 0);
		}
	}
	if (ret)
		soak_error("wait (op %d): %d", op, ret);
	if (bad) {
		atomic_fetch_add(&sh->mismatches, bad < 0 ? 1 : bad);
		soak_error("op %d at %llu: %ld bad pages", op,
			   (unsigned long long)off, bad);
	}
out:
	atomic_fetch_add(&sh->ops[op], 1);
	munmap(mem, np * WSR_PAGE);
	close(dev);
}

static int get_ws(int dev, struct wsr_ws_entry *e, uint64_t cap)
{
	struct wsr_get_ws g;
	int ret;

	memset(&g, 0, sizeof(g));
	g.entries = (uintptr_t)e;
	g.count = cap;
	ret = wsr_ioctl(dev, WSR_IOC_GET_WS, &g);
	return ret ? ret : (int)g.count;
}

/* Region tracker: exactly our first touches, in order. */
static void op_track(int snap, uint64_t *seed, uint64_t *all,
		     struct wsr_ws_entry *e)
{
	uint64_t off = (wsr_rand(seed) % (WSR_SNAP_SIZE / WSR_HUGE - 2)) *
		       WSR_HUGE;
	uint64_t np = 2 * WSR_HUGE_PAGES, n = 16 + wsr_rand(seed) % 100, i;
	bool at_create = wsr_rand(seed) & 1;
	char *mem = NULL;
	int dev, k;

	dev = wsr_open_region(snap, at_create ? WSR_CREATE_TRACK : 0, off,
			  np * WSR_PAGE, &mem);
	if (dev < 0) {
		soak_error("create (track): %d", dev);
		return;
	}
	if (!at_create && wsr_track(dev, WSR_TRACK_START)) {
		soak_error("TRACK_START: %d", -errno);
		goto out;
	}
	for (i = 0; i < np; i++)
		all[i] = i;
	wsr_shuffle(all, np, wsr_rand(seed));
	if (check_pages(mem, all, n, snap_bytes + off, 0, 0)) {
		atomic_fetch_add(&sh->mismatches, 1);
		soak_error("tracked region at %llu: bad bytes",
			   (unsigned long long)off);
	}
	if (wsr_track(dev, WSR_TRACK_STOP))
		soak_error("TRACK_STOP");
	k = get_ws(dev, e, MAX_PAGES);
	if (k != (int)n) {
		soak_error("GET_WS: %d entries, touched %llu", k,
			   (unsigned long long)n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (e[i].index != all[i]) {
			soak_error("GET_WS entry %llu: page %llu, touched %llu",
				   (unsigned long long)i,
				   (unsigned long long)e[i].index,
				   (unsigned long long)all[i]);
			break;
		}
	}
out:
	atomic_fetch_add(&sh->ops[OP_TRACK], 1);
	munmap(mem, np * WSR_PAGE);
	close(dev);
}

/*
 * File tracker over the snapshot, with fault-around recorded: every
 * page we touch is in the record (other processes' touches may be too).
 */
static void op_track_file(int snap, uint64_t *seed, uint64_t *all,
			  struct wsr_ws_entry *e)
{
	uint64_t off = (wsr_rand(seed) % (WSR_SNAP_SIZE / WSR_HUGE - 2)) *
		       WSR_HUGE;
	uint64_t np = 2 * WSR_HUGE_PAGES, n = 8 + wsr_rand(seed) % 64, i, j;
	uint8_t *seen = NULL;
	struct wsr_track_file tf;
	char *file;
	int dev, k;

	dev = wsr_open_api();
	if (dev < 0) {
		soak_error("open: %d", dev);
		return;
	}
	file = mmap(NULL, np * WSR_PAGE, PROT_READ, MAP_PRIVATE, snap, off);
	if (file == MAP_FAILED) {
		soak_error("mmap of the snapshot: %d", -errno);
		close(dev);
		return;
	}
	memset(&tf, 0, sizeof(tf));
	tf.op = WSR_TRACK_START;
	tf.fd = snap;
	tf.flags = WSR_TRACK_FILE_AROUND;
	tf.offset = off;
	tf.length = np * WSR_PAGE;
	if (wsr_ioctl(dev, WSR_IOC_TRACK_FILE, &tf)) {
		soak_error("TRACK_FILE start: %d", -errno);
		goto out;
	}
	for (i = 0; i < np; i++)
		all[i] = i;
	wsr_shuffle(all, np, wsr_rand(seed));
	if (check_pages(file, all, n, snap_bytes + off, 0, 0)) {
		atomic_fetch_add(&sh->mismatches, 1);
		soak_error("file mapping at %llu: bad bytes",
			   (unsigned long long)off);
	}
	memset(&tf, 0, sizeof(tf));
	tf.op = WSR_TRACK_STOP;
	if (wsr_ioctl(dev, WSR_IOC_TRACK_FILE, &tf))
		soak_error("TRACK_FILE stop: %d", -errno);
	k = get_ws(dev, e, MAX_PAGES);
	seen = calloc(np, 1);
	if (k < 0 || !seen) {
		soak_error("GET_WS (file): %d", k);
		goto out;
	}
	for (j = 0; j < (uint64_t)k; j++)
		if (e[j].index < np)
			seen[e[j].index] = 1;
	for (i = 0; i < n; i++) {
		if (!seen[all[i]]) {
			soak_error("TRACK_FILE: touched page %llu missing",
				   (unsigned long long)all[i]);
			break;
		}
	}
out:
	free(seen);
	atomic_fetch_add(&sh->ops[OP_TRACK_FILE], 1);
	munmap(file, np * WSR_PAGE);
	close(dev);
}

/* A region over a file the mutator changes. */
static void op_mut(uint64_t *seed, uint64_t *ws, int *mfd)
{
	int m = wsr_rand(seed) % NR_MUT;
	uint64_t s1, s2, gen, n, np = 1 + wsr_rand(seed) % (2 * WSR_HUGE_PAGES);
	uint64_t off = (wsr_rand(seed) % ((MUT_SIZE / WSR_PAGE) - np)) *
		       WSR_PAGE;
	struct wsr_restore r;
	char *mem = NULL;
	long bad = 0;
	int dev, ret = 0;

	s1 = atomic_load(&sh->mut[m].seq);
	gen = atomic_load(&sh->mut[m].gen);
	if (s1 & 1)
		return;
	dev = wsr_open_region(mfd[m], wsr_rand(seed) & 1 ? WSR_CREATE_NO_HUGE : 0,
			  off, np * WSR_PAGE, &mem);
	if (dev >= 0) {
		n = random_ws(seed, np, ws);
		if (wsr_rand(seed) & 1) {
			ret = wsr_restore(dev, ws, n, WSR_RESTORE_ASYNC, &r);
			if (!ret)
				ret = wsr_wait(dev, 60000);
		} else {
			ret = wsr_restore(dev, ws, n, 0, &r);
		}
		if (!ret)
			bad = check_pages(mem, ws, n, NULL, gen, off);
	}
	s2 = atomic_load(&sh->mut[m].seq);
	if (s1 != s2) {
		atomic_fetch_add(&sh->checks_skipped, 1);
		if (dev < 0 || ret || bad)
			atomic_fetch_add(&sh->legal_errors, 1);
	} else if (dev < 0 || ret || bad) {
		if (bad > 0)
			atomic_fetch_add(&sh->mismatches, bad);
		soak_error("unchanged file %d gen %llu at %llu+%llu pages: create %d restore %d bad %ld",
			   m, (unsigned long long)gen, (unsigned long long)off,
			   (unsigned long long)np, dev < 0 ? dev : 0, ret, bad);
	}
	atomic_fetch_add(&sh->ops[OP_MUT], 1);
	if (dev >= 0) {
		munmap(mem, np * WSR_PAGE);
		close(dev);
	}
}

static int write_mut(int fd, uint64_t gen, char *buf)
{
	uint64_t off;

	for (off = 0; off < MUT_SIZE; off += 1 << 20) {
		mut_fill(buf, gen, off, 1 << 20);
		if (pwrite(fd, buf, 1 << 20, off) != 1 << 20)
			return -EIO;
	}
	return 0;
}

/* Truncate and rewrite the mutable files, in turn. */
static void mutator(const int *mfd, uint64_t seed)
{
	char *buf = malloc(1 << 20);
	int m = 0;

	if (!buf)
		_exit(1);
	while (!atomic_load(&sh->stop)) {
		uint64_t gen = atomic_load(&sh->mut[m].gen) + 1;

		atomic_fetch_add(&sh->mut[m].seq, 1);
		usleep(MUT_GAP_US);
		if (ftruncate(mfd[m], (wsr_rand(&seed) % 8) << 20))
			soak_error("truncate: %d", -errno);
		usleep(MUT_GAP_US);
		if (write_mut(mfd[m], gen, buf))
			soak_error("rewrite of file %d", m);
		atomic_store(&sh->mut[m].gen, gen);
		usleep(MUT_GAP_US);
		atomic_fetch_add(&sh->mut[m].seq, 1);
		atomic_fetch_add(&sh->ops[OP_REWRITE], 1);
		m = (m + 1) % NR_MUT;
		usleep(200000 + wsr_rand(&seed) % 800000);
	}
	free(buf);
	_exit(0);
}

static void reclaimer(int snap, uint64_t seed)
{
	while (!atomic_load(&sh->stop)) {
		usleep(1000000 + wsr_rand(&seed) % 3000000);
		if (wsr_drop_caches())
			soak_error("drop_caches");
		wsr_drop_file_cache(snap);
		atomic_fetch_add(&sh->ops[OP_DROP], 1);
	}
	_exit(0);
}

static void worker(int id, int snap, const int *mfd, uint64_t deadline)
{
	uint64_t seed = 0x50a6ULL * (id + 1) + wsr_now_ns();
	uint64_t *ws = malloc(MAX_PAGES * sizeof(*ws));
	uint64_t *all = malloc(MAX_PAGES * sizeof(*all));
	struct wsr_ws_entry *e = malloc(MAX_PAGES * sizeof(*e));

	if (!ws || !all || !e)
		_exit(1);
	signal(SIGBUS, on_sigbus);
	while (wsr_now_ns() < deadline && !atomic_load(&sh->stop)) {
		unsigned int r = wsr_rand(&seed) % 16;

		if (r < 3)
			op_restore(snap, &seed, OP_SYNC, ws, all);
		else if (r < 6)
			op_restore(snap, &seed, OP_ASYNC, ws, all);
		else if (r < 8)
			op_restore(snap, &seed, OP_ASYNC_RACE, ws, all);
		else if (r < 9)
			op_restore(snap, &seed, OP_CLOSE_EARLY, ws, all);
		else if (r < 11)
			op_track(snap, &seed, all, e);
		else if (r < 13)
			op_track_file(snap, &seed, all, e);
		else
			op_mut(&seed, ws, (int *)mfd);
	}
	_exit(0);
}

#define SOAK_CACHES	512

struct soak_mem {
	long avail_kb, slab_kb, sunreclaim_kb;
	uint64_t regions, bases, base_pages;
	/* /proc/slabinfo: KiB held by each cache (slabs * pages) */
	int ncaches;
	char cache[SOAK_CACHES][64];
	long cache_kb[SOAK_CACHES];
};

static void slabinfo_read(struct soak_mem *m)
{
	FILE *f = fopen("/proc/slabinfo", "re");
	char line[512], name[64];
	long active, num, objsize, per_slab, pages, slabs;

	m->ncaches = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && m->ncaches < SOAK_CACHES) {
		if (sscanf(line, "%63s %ld %ld %ld %ld %ld : tunables %*d %*d %*d : slabdata %*d %ld",
			   name, &active, &num, &objsize, &per_slab, &pages,
			   &slabs) != 7)
			continue;
		snprintf(m->cache[m->ncaches], sizeof(m->cache[0]), "%s",
			 name);
		m->cache_kb[m->ncaches++] = slabs * pages * 4;
	}
	fclose(f);
}

/* Log the caches that grew most from @a to @b. */
static void slabinfo_log(struct __test_metadata *_metadata,
			 const struct soak_mem *a, const struct soak_mem *b)
{
	long best_kb, d;
	int i, j, k, best;
	bool done[SOAK_CACHES] = { false };

	for (k = 0; k < 8; k++) {
		best = -1;
		best_kb = 0;
		for (i = 0; i < b->ncaches; i++) {
			d = b->cache_kb[i];
			for (j = 0; j < a->ncaches; j++)
				if (!strcmp(a->cache[j], b->cache[i]))
					d -= a->cache_kb[j];
			if (!done[i] && d > best_kb) {
				best_kb = d;
				best = i;
			}
		}
		if (best < 0)
			break;
		done[best] = true;
		TH_LOG("slab cache %-24s %+ld kB", b->cache[best], best_kb);
	}
}

static long meminfo_kb(const char *key)
{
	char buf[4096], *p;
	size_t klen = strlen(key);

	if (wsr_read_text("/proc/meminfo", buf, sizeof(buf)))
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == ':')
			return strtol(p + klen + 1, NULL, 10);
	return -1;
}

/*
 * Fill the KASAN quarantine, which keeps freed slab objects (counted in
 * Slab) until 1/32 of memory is queued, with short-lived socket buffers
 * of this process: before and after the soak it then holds the same.
 */
static void soak_churn(void)
{
	static char buf[4000];
	int sv[2], i;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return;
	for (i = 0; i < 40000; i++) {
		if (send(sv[0], buf, sizeof(buf), 0) < 0 ||
		    recv(sv[1], buf, sizeof(buf), 0) < 0)
			break;
	}
	close(sv[0]);
	close(sv[1]);
}

/*
 * Let RCU free what the churn queued: kmemleak frees its own metadata
 * (kmemleak_object, one per allocation) after a grace period, so right
 * after the churn tens of MiB of it can still be waiting, more or less
 * depending on how busy the machine was.
 */
static void soak_settle(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		syscall(__NR_membarrier, 1 /* MEMBARRIER_CMD_GLOBAL */, 0, 0);
		usleep(500000);
	}
}

/* Cold and settled: caches dropped, empty bases swept, quarantine full. */
static void soak_measure(struct soak_mem *m)
{
	uint64_t old = 0;

	wsr_drop_caches();
	wsr_write_text("/proc/sys/vm/drop_caches", "3");
	wsr_knob_get("base_max_kb", &old);
	wsr_knob_set("base_max_kb", 1ULL << 40);
	wsr_knob_set("base_max_kb", old);
	soak_churn();
	soak_settle();
	slabinfo_read(m);
	m->avail_kb = meminfo_kb("MemAvailable");
	m->slab_kb = meminfo_kb("Slab");
	m->sunreclaim_kb = meminfo_kb("SUnreclaim");
	wsr_knob_get("regions", &m->regions);
	wsr_knob_get("bases", &m->bases);
	wsr_knob_get("base_pages", &m->base_pages);
}

static unsigned long soak_seconds(void)
{
	const char *s = getenv("WSR_SOAK_SECONDS");

	return s && atol(s) > 0 ? atol(s) : 60;
}

/* Run the workers, the mutator and the reclaimer for @secs seconds. */
static void soak_run(struct __test_metadata *_metadata, int snap,
		     const int *mfd, uint64_t secs)
{
	uint64_t deadline = wsr_now_ns() + secs * 1000000000ULL, i;
	pid_t pids[NR_WORKERS + 2];
	int status;

	atomic_store(&sh->stop, false);
	for (i = 0; i < NR_WORKERS + 2; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i])
			continue;
		if (i < NR_WORKERS)
			worker(i, snap, mfd, deadline);
		else if (i == NR_WORKERS)
			mutator(mfd, 77 + secs);
		else
			reclaimer(snap, 99 + secs);
	}
	for (i = 0; i < NR_WORKERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("worker %llu: status 0x%x",
			       (unsigned long long)i, status);
	}
	atomic_store(&sh->stop, true);
	for (; i < NR_WORKERS + 2; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
}

#define SOAK_LOG_MEM(when, m)						\
	TH_LOG("%s MemAvailable %ld kB, Slab %ld kB, SUnreclaim %ld kB, "	\
	       "regions %llu, bases %llu, base_pages %llu", when,	\
	       (m).avail_kb, (m).slab_kb, (m).sunreclaim_kb,		\
	       (unsigned long long)(m).regions,				\
	       (unsigned long long)(m).bases,				\
	       (unsigned long long)(m).base_pages)

TEST(soak)
{
	uint64_t secs = soak_seconds(), warm = secs / 10 < 30 ? secs / 10 : 30;
	uint64_t t0, i;
	int mfd[NR_MUT], snap, dev, m;
	static struct soak_mem before, mid, after;
	struct wsr_api api;
	char path[64], *buf, *bytes;

	dev = wsr_open();
	if (dev == -ENOENT)
		SKIP(return, "no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_handshake(dev, &api));
	close(dev);
	if (!(api.features & WSR_FEATURE_FILE_TRACK) ||
	    !(api.features & WSR_FEATURE_ASYNC))
		SKIP(return, "module lacks TRACK_FILE or ASYNC");
	snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, snap);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	bytes = mmap(NULL, WSR_SNAP_SIZE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bytes);
	ASSERT_EQ(0, wsr_pread_full(snap, bytes, WSR_SNAP_SIZE, 0));
	snap_bytes = bytes;
	buf = malloc(1 << 20);
	ASSERT_NE(NULL, buf);
	for (m = 0; m < NR_MUT; m++) {
		snprintf(path, sizeof(path), MUT_PATH, m);
		mfd[m] = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0600);
		ASSERT_LE(0, mfd[m]);
		ASSERT_EQ(0, write_mut(mfd[m], 0, buf));
		ASSERT_EQ(0, fsync(mfd[m]));
	}
	free(buf);

	/*
	 * A short warm-up first: slab caches, kworkers and the like that
	 * the first operations create stay, and are not what we look for.
	 */
	TH_LOG("warm-up: %llu s", (unsigned long long)warm);
	soak_run(_metadata, snap, mfd, warm);
	EXPECT_EQ((int64_t)0, wsr_wait_regions(0, 10000));
	soak_measure(&before);
	SOAK_LOG_MEM("before:", before);
	memset(sh->ops, 0, sizeof(sh->ops));
	atomic_store(&sh->pages_checked, 0);
	atomic_store(&sh->checks_skipped, 0);
	atomic_store(&sh->legal_errors, 0);

	TH_LOG("soak: %llu s, %d workers, a mutator, a reclaimer",
	       (unsigned long long)secs, NR_WORKERS);
	t0 = wsr_now_ns();
	soak_run(_metadata, snap, mfd, secs / 2);
	EXPECT_EQ((int64_t)before.regions,
		  wsr_wait_regions(before.regions, 10000));
	soak_measure(&mid);
	SOAK_LOG_MEM("mid:   ", mid);
	soak_run(_metadata, snap, mfd, secs - secs / 2);
	TH_LOG("soak ran %llu s", (unsigned long long)
	       ((wsr_now_ns() - t0) / 1000000000ULL));
	for (i = 0; i < NR_OPS; i++) {
		TH_LOG("%-30s %lu", op_names[i],
		       (unsigned long)atomic_load(&sh->ops[i]));
		EXPECT_LT(0UL, atomic_load(&sh->ops[i]));
	}
	TH_LOG("pages checked %lu, checks skipped (file changed) %lu, legal errors %lu",
	       (unsigned long)atomic_load(&sh->pages_checked),
	       (unsigned long)atomic_load(&sh->checks_skipped),
	       (unsigned long)atomic_load(&sh->legal_errors));
	EXPECT_EQ(0UL, atomic_load(&sh->mismatches));
	EXPECT_EQ(0UL, atomic_load(&sh->errors))
		TH_LOG("first error: %s", sh->first_error);

	/* Everything closed: back to the baseline. */
	EXPECT_EQ((int64_t)before.regions,
		  wsr_wait_regions(before.regions, 10000));
	soak_measure(&after);
	SOAK_LOG_MEM("after: ", after);
	TH_LOG("before -> after: MemAvailable %+ld kB, Slab %+ld kB, SUnreclaim %+ld kB (tolerance %d kB)",
	       after.avail_kb - before.avail_kb,
	       after.slab_kb - before.slab_kb,
	       after.sunreclaim_kb - before.sunreclaim_kb, SOAK_TOL_TOTAL_KB);
	slabinfo_log(_metadata, &before, &after);
	TH_LOG("mid -> after:    MemAvailable %+ld kB, Slab %+ld kB, SUnreclaim %+ld kB (tolerances %d, %d kB)",
	       after.avail_kb - mid.avail_kb,
	       after.slab_kb - mid.slab_kb,
	       after.sunreclaim_kb - mid.sunreclaim_kb,
	       SOAK_TOL_HALF_AVAIL_KB, SOAK_TOL_HALF_SLAB_KB);
	slabinfo_log(_metadata, &mid, &after);
	EXPECT_EQ(before.regions, mid.regions);
	EXPECT_EQ(before.bases, mid.bases);
	EXPECT_EQ(before.base_pages, mid.base_pages);
	EXPECT_EQ(before.regions, after.regions);
	EXPECT_EQ(before.bases, after.bases);
	EXPECT_EQ(before.base_pages, after.base_pages);
	EXPECT_GE(after.avail_kb, before.avail_kb - SOAK_TOL_TOTAL_KB);
	EXPECT_LE(after.slab_kb, before.slab_kb + SOAK_TOL_TOTAL_KB);
	EXPECT_LE(after.sunreclaim_kb, before.sunreclaim_kb + SOAK_TOL_TOTAL_KB);
	EXPECT_GE(after.avail_kb, mid.avail_kb - SOAK_TOL_HALF_AVAIL_KB);
	EXPECT_LE(after.slab_kb, mid.slab_kb + SOAK_TOL_HALF_SLAB_KB);
	EXPECT_LE(after.sunreclaim_kb, mid.sunreclaim_kb + SOAK_TOL_HALF_SLAB_KB);

	for (m = 0; m < NR_MUT; m++) {
		close(mfd[m]);
		snprintf(path, sizeof(path), MUT_PATH, m);
		unlink(path);
	}
	munmap(bytes, WSR_SNAP_SIZE);
	close(snap);
	munmap(sh, sizeof(*sh));
}

/* The harness's timeout must outlast WSR_SOAK_SECONDS. */
int main(int argc, char **argv)
{
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			t->timeout = soak_seconds() + 600;
	wsr_filter_tests();
	return test_harness_run(argc, argv);
}
