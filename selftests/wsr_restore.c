// SPDX-License-Identifier: GPL-2.0
/*
 * Restore suite: WSR_IOC_RESTORE loads a working set into the snapshot's
 * shared base and maps it into the caller's mappings of the region.
 * Checked here, with exact counters:
 *  - a cold restore reads every working-set page from the device, in
 *    sorted merged runs, and maps it: touching the working set afterwards
 *    through a mapping that existed at restore time takes no fault at all;
 *  - pages resident in the snapshot's page cache are copied, never read
 *    again: the module's counters and the disk's read sectors
 *    (/sys/block/vda/stat) agree;
 *  - pages already in the base are counted present and left alone (a
 *    mapping's private writes survive the restore);
 *  - a second region over the same snapshot range restores the same
 *    working set from the base: nothing read, every byte right;
 *  - a chunk the working set covers densely is a 2 MiB folio mapped by PMD;
 *  - async mode: WSR_IOC_WAIT, faults while the background load runs;
 *  - a working set recorded by the tracker restores into a new region;
 *  - a direct restore never waits for the snapshot's inode lock;
 *  - a sparse working set is read in few requests that span its holes
 *    (read_gap_kb), counted apart; direct reads leave the page cache alone,
 *    buffered ones leave the holes there for later faults;
 *  - argument validation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define REGION_OFF	(8 * WSR_HUGE)
#define REGION_LEN	(16ULL << 20)
#define REGION_PAGES	(REGION_LEN / WSR_PAGE)

#define METADATA_SLACK	WSR_METADATA_SLACK

/*
 * The working set used by most tests, in "first-touch" order: chunk 1
 * (pages 512..1023) complete and in descending order, so it is dense in
 * any sense; chunks 3, 4, 5/6 touched at a few pages only (sparse); two
 * duplicates.  The sorted unique pages form 7 maximal runs.
 */
static const uint64_t sparse_head[] = { 2055, 1836, 3072, 1536 };
static const uint64_t sparse_tail[] = {
	1537, 1538, 1636, 1637, 2559, 3070, 3071, 3073, 512, 2055,
};
#define WS_UNIQUE	(512 + 12)
#define WS_RUNS		7
#define DENSE_CHUNK	1

struct ws {
	uint64_t *pages;
	uint64_t count;
};

static struct ws build_ws(void)
{
	size_t nh = ARRAY_SIZE(sparse_head);
	size_t nt = ARRAY_SIZE(sparse_tail);
	struct ws ws;
	uint64_t i, n = 0;

	ws.pages = malloc((nh + 512 + nt) * sizeof(uint64_t));
	for (i = 0; ws.pages && i < nh; i++)
		ws.pages[n++] = sparse_head[i];
	for (i = 0; ws.pages && i < 512; i++)
		ws.pages[n++] = 1023 - i;
	for (i = 0; ws.pages && i < nt; i++)
		ws.pages[n++] = sparse_tail[i];
	ws.count = n;
	return ws;
}

FIXTURE(restore)
{
	int dev;
	int snap;
	struct wsr_api api;
	char *mem;
	size_t len;
	struct ws ws;
	struct wsr_knob_save knobs[6];
};

FIXTURE_VARIANT(restore)
{
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(restore, huge)
{
	.flags = 0,
};

FIXTURE_VARIANT_ADD(restore, small)
{
	.flags = WSR_CREATE_NO_HUGE,
};

FIXTURE_SETUP(restore)
{
	ASSERT_EQ(0, wsr_drop_caches());
	self->dev = wsr_open();
	if (self->dev == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, wsr_handshake(self->dev, &self->api));
	if (!(self->api.features & WSR_FEATURE_RESTORE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_RESTORE");
	if (!(variant->flags & WSR_CREATE_NO_HUGE) &&
	    !(self->api.features & WSR_FEATURE_HUGE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_HUGE");
	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " WSR_SNAP);
	self->len = REGION_LEN;
	self->ws = build_ws();
	ASSERT_NE(NULL, self->ws.pages);
	/*
	 * Pin the policy the expectations rely on: 2 MiB folios on, a chunk
	 * is dense from half its pages (the working set's chunks have 512
	 * or at most 6), one read request may cover a whole chunk and span
	 * holes of up to 32 pages (the working set's holes are all larger),
	 * direct reads.
	 */
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[0], "huge_enabled", 1));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[1], "huge_threshold",
				       WSR_HUGE_PAGES / 2));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[2], "read_batch_kb",
				       4096));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[3], "read_gap_kb",
				       32 * WSR_PAGE / 1024));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[4], "restore_direct", 1));
	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
}

FIXTURE_TEARDOWN(restore)
{
	if (self->mem)
		munmap(self->mem, self->len);
	if (self->dev >= 0)
		close(self->dev);
	if (self->snap > 0)
		close(self->snap);
	free(self->ws.pages);
	EXPECT_EQ(0, wsr_knob_restore(&self->knobs[0]));
	EXPECT_EQ(0, wsr_knob_restore(&self->knobs[1]));
	EXPECT_EQ(0, wsr_knob_restore(&self->knobs[2]));
	EXPECT_EQ(0, wsr_knob_restore(&self->knobs[3]));
	EXPECT_EQ(0, wsr_knob_restore(&self->knobs[4]));
	EXPECT_EQ(0, wsr_knob_restore(&self->knobs[5]));
}

/* CREATE + mmap of the standard 16 MiB region. */
static int make_region(int dev, int snap, uint32_t flags, char **mem)
{
	void *p;
	int ret;

	ret = wsr_create(dev, snap, flags, REGION_OFF, REGION_LEN);
	if (ret)
		return ret;
	p = mmap(NULL, REGION_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, dev, 0);
	if (p == MAP_FAILED)
		return -errno;
	*mem = p;
	return 0;
}

static void log_restore(struct __test_metadata *_metadata, const char *what,
			const struct wsr_restore *r)
{
	TH_LOG("%s: from_cache %llu from_device %llu bytes_read %llu",
	       what, (unsigned long long)r->from_cache,
	       (unsigned long long)r->from_device,
	       (unsigned long long)r->bytes_read);
	TH_LOG("%s: runs %llu present %llu bytes_gap %llu", what,
	       (unsigned long long)r->runs,
	       (unsigned long long)r->present,
	       (unsigned long long)r->bytes_gap);
}

/*
 * Touch every page of @ws through the mapping and compare it with the
 * file; returns the number of pages that differ.
 */
static uint64_t touch_and_check(const char *mem, int snap, const struct ws *ws)
{
	uint64_t i, bad = 0;

	for (i = 0; i < ws->count; i++) {
		uint64_t p = ws->pages[i];

		if (!wsr_page_equal(mem + p * WSR_PAGE, snap,
				    REGION_OFF + p * WSR_PAGE))
			bad++;
	}
	return bad;
}

/* Minor faults of this process so far (wsr_majflt()'s twin). */
static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * Read one word of every page of @ws through the mapping, nothing else:
 * no allocation, no file read, so that the process's fault counters
 * around it count this loop's faults only.
 */
static void touch_ws(const char *mem, const struct ws *ws)
{
	uint64_t i;

	for (i = 0; i < ws->count; i++)
		wsr_touch(mem, ws->pages[i]);
}

/*
 * Cold cache: every working-set page comes from the device, in WS_RUNS
 * sorted, merged reads, and the restore maps it into the region's
 * mapping: touching the working set afterwards takes no fault at all
 * (neither the module's ->fault nor a minor or major fault of the
 * process) and reads nothing, while a page outside it is a device fault.
 */
TEST_F_TIMEOUT(restore, cold_then_no_major_faults, 150)
{
	struct wsr_stats st0, st1, st2;
	struct wsr_restore r;
	long maj0, maj1, min0, min1;

	ASSERT_EQ(0, make_region(self->dev, self->snap, variant->flags,
				 &self->mem));
	ASSERT_EQ(0, wsr_restore(self->dev, self->ws.pages, self->ws.count,
				 0, &r));
	log_restore(_metadata, "cold restore", &r);
	EXPECT_EQ(0ULL, r.from_cache);
	EXPECT_EQ((__u64)WS_UNIQUE, r.from_device);
	EXPECT_EQ(WS_UNIQUE * WSR_PAGE, r.bytes_read);
	EXPECT_EQ(0ULL, r.present);
	/* One request per maximal run (read_batch_kb covers 2 MiB). */
	EXPECT_EQ((__u64)WS_RUNS, r.runs);
	EXPECT_EQ(0ULL, r.bytes_gap);

	ASSERT_EQ(0, wsr_get_stats(self->dev, &st0));
	EXPECT_EQ(0ULL, st0.faults);
	EXPECT_EQ(0ULL, st0.pages_cache);
	EXPECT_EQ((__u64)WS_UNIQUE, st0.pages_device);
	EXPECT_EQ(WS_UNIQUE * WSR_PAGE, st0.bytes_read);
	EXPECT_EQ(0ULL, st0.restore_pending);
	if (variant->flags & WSR_CREATE_NO_HUGE) {
		EXPECT_EQ(0ULL, st0.resident_huge);
		EXPECT_EQ((__u64)WS_UNIQUE, st0.resident_small);
	} else {
		/* The complete chunk is one folio, the rest 4 KiB pages. */
		EXPECT_EQ(1ULL, st0.resident_huge);
		EXPECT_EQ((__u64)(WS_UNIQUE - 512), st0.resident_small);
	}
	/*
	 * The restore mapped exactly the working set (the base holds
	 * nothing else for fault-around to map), the dense chunk by a PMD.
	 */
	EXPECT_EQ((long)(WS_UNIQUE * WSR_PAGE / 1024),
		  wsr_smaps_kb(self->mem, "Rss"));
	EXPECT_EQ(variant->flags & WSR_CREATE_NO_HUGE ? 0L :
		  (long)(WSR_HUGE / 1024),
		  wsr_smaps_kb(self->mem, "FilePmdMapped"));

	min0 = minflt();
	maj0 = wsr_majflt();
	touch_ws(self->mem, &self->ws);
	maj1 = wsr_majflt();
	min1 = minflt();
	EXPECT_EQ(0, maj1 - maj0);
	EXPECT_EQ(0, min1 - min0);
	EXPECT_EQ(0ULL, touch_and_check(self->mem, self->snap, &self->ws));
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st1));
	EXPECT_EQ(0ULL, st1.faults);
	EXPECT_EQ(0ULL, st1.faults_huge);
	EXPECT_EQ(0ULL, st1.faults_present);
	EXPECT_EQ(0ULL, st1.faults_device);
	EXPECT_EQ(0ULL, st1.faults_cache);
	EXPECT_EQ(st0.pages_device, st1.pages_device);
	EXPECT_EQ(st0.bytes_read, st1.bytes_read);
	TH_LOG("after touching: faults %llu (huge %llu), minor %ld, major %ld",
	       (unsigned long long)st1.faults,
	       (unsigned long long)st1.faults_huge, min1 - min0, maj1 - maj0);

	/*
	 * Control: a cold page outside the working set is a device fault
	 * and is accounted as a major fault, so the zeros above mean
	 * something.
	 */
	maj0 = wsr_majflt();
	EXPECT_TRUE(wsr_page_equal(self->mem + 100 * WSR_PAGE, self->snap,
				   REGION_OFF + 100 * WSR_PAGE));
	maj1 = wsr_majflt();
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st2));
	EXPECT_EQ(st1.faults + 1, st2.faults);
	EXPECT_EQ(1ULL, st2.faults_device);
	EXPECT_EQ(1, maj1 - maj0);
}

/*
 * Warm part of the working set into the page cache (and two pages outside
 * it), evict the rest: the restore copies exactly the warm pages and reads
 * exactly the others, and the disk agrees.  A second restore finds
 * everything present and reads nothing.
 */
TEST_F_TIMEOUT(restore, warm_cache_not_reread, 150)
{
	unsigned char *vec = malloc(REGION_PAGES);
	uint64_t s0, s1, disk, warm = 0, i;
	struct wsr_stats st0, st1;
	struct wsr_restore r;
	long maj0, maj1, res;
	char buf[WSR_PAGE];
	int rfd;

	ASSERT_NE(NULL, vec);
	/* A private fd with readahead off: each pread loads one page. */
	rfd = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, posix_fadvise(rfd, 0, 0, POSIX_FADV_RANDOM));
	memset(vec, 0, REGION_PAGES);
	for (i = 0; i < self->ws.count; i++) {
		uint64_t p = self->ws.pages[i];

		/* Every 4th dense page, two sparse ones; once each. */
		if (vec[p])
			continue;
		if ((p >= 512 && p < 1024 && p % 4 == 0) || p == 1537 ||
		    p == 3071) {
			vec[p] = 1;
			ASSERT_EQ(0, wsr_pread_full(rfd, buf, WSR_PAGE,
						    REGION_OFF + p * WSR_PAGE));
			warm++;
		}
	}
	ASSERT_EQ(0, wsr_pread_full(rfd, buf, WSR_PAGE,
				    REGION_OFF + 100 * WSR_PAGE));
	ASSERT_EQ(0, wsr_pread_full(rfd, buf, WSR_PAGE,
				    REGION_OFF + 4000 * WSR_PAGE));
	close(rfd);
	/* The page cache holds exactly those pages of the region's range. */
	res = wsr_file_resident(self->snap, REGION_OFF, REGION_LEN, vec);
	ASSERT_EQ((long)(warm + 2), res)
		TH_LOG("warming left %ld pages resident, wanted %llu", res,
		       (unsigned long long)warm + 2);

	ASSERT_EQ(0, make_region(self->dev, self->snap, variant->flags,
				 &self->mem));
	ASSERT_EQ(0, wsr_disk_sectors_read(&s0));
	ASSERT_EQ(0, wsr_restore(self->dev, self->ws.pages, self->ws.count,
				 0, &r));
	ASSERT_EQ(0, wsr_disk_sectors_read(&s1));
	disk = (s1 - s0) * 512;
	log_restore(_metadata, "warm restore", &r);
	TH_LOG("warmed %llu; disk read %llu bytes during the restore",
	       (unsigned long long)warm, (unsigned long long)disk);

	EXPECT_EQ(warm, r.from_cache);
	EXPECT_EQ(WS_UNIQUE - warm, r.from_device);
	EXPECT_EQ(r.from_device * WSR_PAGE, r.bytes_read);
	EXPECT_EQ(0ULL, r.present);
	EXPECT_LE(1ULL, r.runs);
	/* The disk read at least what the module read, little more. */
	EXPECT_LE(r.bytes_read, disk);
	EXPECT_GE(r.bytes_read + METADATA_SLACK, disk);

	ASSERT_EQ(0, wsr_get_stats(self->dev, &st0));
	EXPECT_EQ(warm, st0.pages_cache);
	EXPECT_EQ(WS_UNIQUE - warm, st0.pages_device);
	EXPECT_EQ(r.bytes_read, st0.bytes_read);

	/* Everything is present now: nothing copied, nothing read. */
	ASSERT_EQ(0, wsr_disk_sectors_read(&s0));
	ASSERT_EQ(0, wsr_restore(self->dev, self->ws.pages, self->ws.count,
				 0, &r));
	ASSERT_EQ(0, wsr_disk_sectors_read(&s1));
	log_restore(_metadata, "second restore", &r);
	EXPECT_EQ((__u64)WS_UNIQUE, r.present);
	EXPECT_EQ(0ULL, r.from_cache);
	EXPECT_EQ(0ULL, r.from_device);
	EXPECT_EQ(0ULL, r.bytes_read);
	EXPECT_EQ(0ULL, r.runs);
	EXPECT_GE(METADATA_SLACK, (s1 - s0) * 512);

	maj0 = wsr_majflt();
	EXPECT_EQ(0ULL, touch_and_check(self->mem, self->snap, &self->ws));
	maj1 = wsr_majflt();
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st1));
	EXPECT_EQ(0, maj1 - maj0);
	EXPECT_EQ(0ULL, st1.faults_device);
	EXPECT_EQ(0ULL, st1.faults_cache);
	EXPECT_EQ(st0.pages_cache, st1.pages_cache);
	EXPECT_EQ(st0.pages_device, st1.pages_device);
	EXPECT_EQ(st0.bytes_read, st1.bytes_read);
	free(vec);
}

/*
 * Two regions over the same snapshot range share one base.  Region A
 * restores the working set cold and reads every page from the device;
 * region B (another /dev/wsr file, same range, same flags) restores the
 * same working set while A is still there and finds every page in the
 * base: it reads nothing, neither in its counters nor on the disk, and
 * its own mapping shows the file's bytes without a fault.
 */
TEST_F_TIMEOUT(restore, second_region_reads_nothing, 150)
{
	struct wsr_stats sta, stb;
	struct wsr_restore r;
	uint64_t s0, s1, disk;
	long maj0, min0;
	char *mem_b = NULL;
	int dev_b;

	/* Region A: cold. */
	ASSERT_EQ(0, make_region(self->dev, self->snap, variant->flags,
				 &self->mem));
	ASSERT_EQ(0, wsr_disk_sectors_read(&s0));
	ASSERT_EQ(0, wsr_restore(self->dev, self->ws.pages, self->ws.count,
				 0, &r));
	ASSERT_EQ(0, wsr_disk_sectors_read(&s1));
	disk = (s1 - s0) * 512;
	log_restore(_metadata, "region A", &r);
	TH_LOG("region A: disk read %llu bytes", (unsigned long long)disk);
	EXPECT_EQ(0ULL, r.from_cache);
	EXPECT_EQ((__u64)WS_UNIQUE, r.from_device);
	EXPECT_EQ(WS_UNIQUE * WSR_PAGE, r.bytes_read);
	EXPECT_EQ(0ULL, r.present);
	EXPECT_EQ((__u64)WS_RUNS, r.runs);
	EXPECT_LE(r.bytes_read, disk);
	EXPECT_GE(r.bytes_read + METADATA_SLACK, disk);
	ASSERT_EQ(0, wsr_get_stats(self->dev, &sta));
	EXPECT_EQ((__u64)WS_UNIQUE, sta.pages_device);

	/* Region B: same snapshot range, same flags, its own file. */
	dev_b = wsr_open_api();
	ASSERT_LE(0, dev_b);
	ASSERT_EQ(0, make_region(dev_b, self->snap, variant->flags, &mem_b));
	ASSERT_EQ(0, wsr_disk_sectors_read(&s0));
	ASSERT_EQ(0, wsr_restore(dev_b, self->ws.pages, self->ws.count, 0,
				 &r));
	ASSERT_EQ(0, wsr_disk_sectors_read(&s1));
	disk = (s1 - s0) * 512;
	log_restore(_metadata, "region B", &r);
	TH_LOG("region B: disk read %llu bytes", (unsigned long long)disk);
	EXPECT_EQ((__u64)WS_UNIQUE, r.present);
	EXPECT_EQ(0ULL, r.from_device);
	EXPECT_EQ(0ULL, r.from_cache);
	EXPECT_EQ(0ULL, r.bytes_read);
	EXPECT_EQ(0ULL, r.bytes_gap);
	EXPECT_EQ(0ULL, r.runs);
	EXPECT_EQ(0ULL, disk);

	/* B's mapping: mapped by B's restore, the file's bytes. */
	min0 = minflt();
	maj0 = wsr_majflt();
	touch_ws(mem_b, &self->ws);
	EXPECT_EQ(0, wsr_majflt() - maj0);
	EXPECT_EQ(0, minflt() - min0);
	EXPECT_EQ(0ULL, touch_and_check(mem_b, self->snap, &self->ws));
	ASSERT_EQ(0, wsr_get_stats(dev_b, &stb));
	EXPECT_EQ(0ULL, stb.faults);
	EXPECT_EQ(0ULL, stb.pages_cache);
	EXPECT_EQ(0ULL, stb.pages_device);
	EXPECT_EQ(0ULL, stb.bytes_read);
	EXPECT_EQ(0ULL, stb.bytes_gap);
	/* One base: both regions see the same folios. */
	EXPECT_EQ(sta.resident_huge, stb.resident_huge);
	EXPECT_EQ(sta.resident_small, stb.resident_small);
	if (variant->flags & WSR_CREATE_NO_HUGE) {
		EXPECT_EQ(0ULL, stb.resident_huge);
		EXPECT_EQ((__u64)WS_UNIQUE, stb.resident_small);
	} else {
		EXPECT_EQ(1ULL, stb.resident_huge);
		EXPECT_EQ((__u64)(WS_UNIQUE - 512), stb.resident_small);
	}

	/* A is unchanged by B: its counters, its bytes. */
	EXPECT_EQ(0ULL, touch_and_check(self->mem, self->snap, &self->ws));
	ASSERT_EQ(0, wsr_get_stats(self->dev, &sta));
	EXPECT_EQ(0ULL, sta.faults);
	EXPECT_EQ((__u64)WS_UNIQUE, sta.pages_device);
	EXPECT_EQ(WS_UNIQUE * WSR_PAGE, sta.bytes_read);

	munmap(mem_b, REGION_LEN);
	close(dev_b);
}

/*
 * Pages faulted in (one of them written) before the restore are counted
 * as present and left alone: the write survives.
 */
TEST_F_TIMEOUT(restore, present_pages_left_alone, 120)
{
	static const uint64_t pre[] = { 1536, 1537, 1538, 1636, 1637, 1836 };
	struct wsr_restore r;
	unsigned char c;
	struct wsr_stats st;
	uint64_t i;

	ASSERT_EQ(0, make_region(self->dev, self->snap, variant->flags,
				 &self->mem));
	for (i = 0; i < 6; i++)
		EXPECT_TRUE(wsr_page_equal(self->mem + pre[i] * WSR_PAGE,
					   self->snap,
					   REGION_OFF + pre[i] * WSR_PAGE));
	self->mem[1637 * WSR_PAGE + 33] ^= 0x5a;
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));

	ASSERT_EQ(0, wsr_restore(self->dev, self->ws.pages, self->ws.count,
				 0, &r));
	log_restore(_metadata, "restore over present pages", &r);
	EXPECT_EQ(6ULL, r.present);
	EXPECT_EQ((__u64)(WS_UNIQUE - 6), r.from_cache + r.from_device);
	EXPECT_EQ(r.from_device * WSR_PAGE, r.bytes_read);

	/* The written byte is still the region's, not the file's. */
	ASSERT_EQ(0, wsr_pread_full(self->snap, &c, 1,
				    REGION_OFF + 1637 * WSR_PAGE + 33));
	EXPECT_EQ((unsigned char)(c ^ 0x5a),
		  (unsigned char)self->mem[1637 * WSR_PAGE + 33]);
	self->mem[1637 * WSR_PAGE + 33] ^= 0x5a;
	EXPECT_EQ(0ULL, touch_and_check(self->mem, self->snap, &self->ws));
}

/*
 * A chunk the working set covers completely is one 2 MiB folio and the
 * restore maps it by a PMD; with WSR_CREATE_NO_HUGE it is 512 small pages,
 * mapped by PTEs.  Either way touching it through the mapping that existed
 * at restore time takes no fault.  A mapping made after the restore
 * faults, but each fault maps the whole folio by its PMD, or 16 small
 * pages (fault-around), without a call of the region's ->fault.
 */
TEST_F_TIMEOUT(restore, dense_chunk_pmd_mapped, 120)
{
	const uint64_t chunk = 2, first = chunk * WSR_HUGE_PAGES;
	const uint64_t around = 16;	/* fault_around_bytes' default */
	const bool small = variant->flags & WSR_CREATE_NO_HUGE;
	uint64_t *pages = malloc((WSR_HUGE_PAGES + 1) * sizeof(uint64_t));
	struct ws ws = { pages, WSR_HUGE_PAGES + 1 };
	struct wsr_restore r;
	struct wsr_stats st0, st1, st2;
	long pmd_kb, min0, min1, maj0, maj1;
	char *mem2;
	uint64_t i;

	ASSERT_NE(NULL, pages);
	for (i = 0; i < WSR_HUGE_PAGES; i++)
		pages[i] = first + (i * 7) % WSR_HUGE_PAGES;
	pages[WSR_HUGE_PAGES] = 5;	/* one page of chunk 0: sparse */

	ASSERT_EQ(0, make_region(self->dev, self->snap, variant->flags,
				 &self->mem));
	ASSERT_EQ(0, wsr_restore(self->dev, pages, WSR_HUGE_PAGES + 1, 0,
				 &r));
	log_restore(_metadata, "dense chunk", &r);
	EXPECT_EQ(WSR_HUGE_PAGES + 1, r.from_cache + r.from_device);
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st0));

	/* Mapped by the restore, before any touch: the PMD and one PTE. */
	pmd_kb = wsr_smaps_kb(self->mem, "FilePmdMapped");
	EXPECT_EQ(small ? 0L : (long)(WSR_HUGE / 1024), pmd_kb);
	EXPECT_EQ((long)((WSR_HUGE_PAGES + 1) * WSR_PAGE / 1024),
		  wsr_smaps_kb(self->mem, "Rss"));

	/* Touching the chunk and the sparse page: no fault at all. */
	min0 = minflt();
	maj0 = wsr_majflt();
	touch_ws(self->mem, &ws);
	maj1 = wsr_majflt();
	min1 = minflt();
	EXPECT_EQ(0, min1 - min0);
	EXPECT_EQ(0, maj1 - maj0);
	/* Check every byte of the chunk and of the sparse page. */
	EXPECT_EQ(-1, wsr_cmp_file(self->mem + first * WSR_PAGE, self->snap,
				   REGION_OFF + first * WSR_PAGE, WSR_HUGE));
	EXPECT_TRUE(wsr_page_equal(self->mem + 5 * WSR_PAGE, self->snap,
				   REGION_OFF + 5 * WSR_PAGE));
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st1));
	TH_LOG("FilePmdMapped %ld kB, faults %llu (huge %llu)", pmd_kb,
	       (unsigned long long)st1.faults,
	       (unsigned long long)st1.faults_huge);
	TH_LOG("resident huge %llu small %llu",
	       (unsigned long long)st1.resident_huge,
	       (unsigned long long)st1.resident_small);
	EXPECT_EQ(0ULL, st1.faults);
	EXPECT_EQ(0ULL, st1.faults_huge);
	EXPECT_EQ(0ULL, st1.faults_device);
	EXPECT_EQ(0ULL, st1.faults_cache);
	if (small) {
		EXPECT_EQ(0ULL, st1.resident_huge);
		EXPECT_EQ(WSR_HUGE_PAGES + 1, st1.resident_small);
	} else {
		EXPECT_EQ(0ULL, (uintptr_t)self->mem % WSR_HUGE);
		EXPECT_EQ(1ULL, st1.resident_huge);
		EXPECT_EQ(1ULL, st1.resident_small);
	}

	/*
	 * A second mapping, made after the restore: one fault maps the
	 * whole chunk by its PMD (or 16 small pages by fault-around), one
	 * more the sparse page.  Filemap maps pages the base holds without
	 * calling the region's ->fault, so the module counts no fault.
	 */
	mem2 = mmap(NULL, REGION_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		    self->dev, 0);
	ASSERT_NE(MAP_FAILED, mem2);
	/* The PMD, and the fault-around windows, need the alignment. */
	EXPECT_EQ(0ULL, (uintptr_t)mem2 % WSR_HUGE);
	min0 = minflt();
	maj0 = wsr_majflt();
	for (i = 0; i < WSR_HUGE_PAGES; i++)
		wsr_touch(mem2, first + i);
	wsr_touch(mem2, 5);
	maj1 = wsr_majflt();
	min1 = minflt();
	EXPECT_EQ(0, maj1 - maj0);
	EXPECT_EQ(small ? (long)(WSR_HUGE_PAGES / around + 1) : 2L,
		  min1 - min0);
	EXPECT_EQ(small ? 0L : (long)(WSR_HUGE / 1024),
		  wsr_smaps_kb(mem2, "FilePmdMapped"));
	EXPECT_EQ(-1, wsr_cmp_file(mem2 + first * WSR_PAGE, self->snap,
				   REGION_OFF + first * WSR_PAGE, WSR_HUGE));
	EXPECT_TRUE(wsr_page_equal(mem2 + 5 * WSR_PAGE, self->snap,
				   REGION_OFF + 5 * WSR_PAGE));
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st2));
	TH_LOG("second mapping: minor faults %ld, FilePmdMapped %ld kB",
	       min1 - min0, wsr_smaps_kb(mem2, "FilePmdMapped"));
	EXPECT_EQ(0ULL, st2.faults);
	EXPECT_EQ(st0.pages_device, st2.pages_device);
	EXPECT_EQ(st0.bytes_read, st2.bytes_read);
	EXPECT_EQ(st1.resident_huge, st2.resident_huge);
	EXPECT_EQ(st1.resident_small, st2.resident_small);
	munmap(mem2, REGION_LEN);
	free(pages);
}

/* Async restore, then WSR_IOC_WAIT: totals in WSR_IOC_STATS. */
TEST_F_TIMEOUT(restore, async_then_wait, 150)
{
	struct wsr_restore r;
	struct wsr_stats st0, st1;
	long maj0, maj1;

	if (!(self->api.features & WSR_FEATURE_ASYNC))
		SKIP(return, "module lacks WSR_FEATURE_ASYNC");
	ASSERT_EQ(0, make_region(self->dev, self->snap, variant->flags,
				 &self->mem));
	/* Nothing pending yet: WAIT returns at once. */
	EXPECT_EQ(0, wsr_wait(self->dev, 1));

	ASSERT_EQ(0, wsr_restore(self->dev, self->ws.pages, self->ws.count,
				 WSR_RESTORE_ASYNC, &r));
	log_restore(_metadata, "async (before return)", &r);
	EXPECT_GE((__u64)WS_UNIQUE, r.from_cache + r.from_device);
	EXPECT_EQ(r.from_device * WSR_PAGE, r.bytes_read);
	ASSERT_EQ(0, wsr_wait(self->dev, 0));

	ASSERT_EQ(0, wsr_get_stats(self->dev, &st0));
	EXPECT_EQ(0ULL, st0.restore_pending);
	EXPECT_EQ(0ULL, st0.pages_cache);
	EXPECT_EQ((__u64)WS_UNIQUE, st0.pages_device);
	EXPECT_EQ(WS_UNIQUE * WSR_PAGE, st0.bytes_read);
	EXPECT_EQ(0ULL, st0.faults);
	EXPECT_EQ(0, wsr_wait(self->dev, 1));

	maj0 = wsr_majflt();
	EXPECT_EQ(0ULL, touch_and_check(self->mem, self->snap, &self->ws));
	maj1 = wsr_majflt();
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st1));
	EXPECT_EQ(0, maj1 - maj0);
	EXPECT_EQ(0ULL, st1.faults_device);
	EXPECT_EQ(0ULL, st1.faults_cache);
	EXPECT_EQ(0ULL, st1.faults_waited);
	EXPECT_EQ(st0.bytes_read, st1.bytes_read);
}

/*
 * Async restore of the whole region in reverse order while this thread
 * reads it forward: each fault either waits for the page or loads it at
 * once; every byte is right and no page is loaded twice.
 */
TEST_F_TIMEOUT(restore, async_faults_race_loader, 150)
{
	uint64_t *all = malloc(REGION_PAGES * sizeof(uint64_t));
	struct wsr_restore r;
	struct wsr_stats st;
	uint64_t i, bad = 0;

	if (!(self->api.features & WSR_FEATURE_ASYNC))
		SKIP(return, "module lacks WSR_FEATURE_ASYNC");
	ASSERT_NE(NULL, all);
	for (i = 0; i < REGION_PAGES; i++)
		all[i] = REGION_PAGES - 1 - i;
	ASSERT_EQ(0, make_region(self->dev, self->snap, variant->flags,
				 &self->mem));
	ASSERT_EQ(0, wsr_restore(self->dev, all, REGION_PAGES,
				 WSR_RESTORE_ASYNC, &r));
	for (i = 0; i < REGION_PAGES; i++)
		if (!wsr_page_equal(self->mem + i * WSR_PAGE, self->snap,
				    REGION_OFF + i * WSR_PAGE))
			bad++;
	EXPECT_EQ(0ULL, bad);
	ASSERT_EQ(0, wsr_wait(self->dev, 0));
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	TH_LOG("faults %llu: present %llu cache %llu device %llu waited %llu",
	       (unsigned long long)st.faults,
	       (unsigned long long)st.faults_present,
	       (unsigned long long)st.faults_cache,
	       (unsigned long long)st.faults_device,
	       (unsigned long long)st.faults_waited);
	EXPECT_EQ(REGION_PAGES, st.pages_cache + st.pages_device);
	EXPECT_EQ(st.pages_device * WSR_PAGE, st.bytes_read);
	EXPECT_EQ(st.faults, st.faults_present + st.faults_cache +
			     st.faults_device);
	EXPECT_EQ(0ULL, st.restore_pending);
	EXPECT_EQ(REGION_PAGES, st.resident_small +
				st.resident_huge * WSR_HUGE_PAGES);
	EXPECT_EQ(-1, wsr_cmp_file(self->mem, self->snap, REGION_OFF,
				   REGION_LEN));
	free(all);
}

/*
 * During a background restore, a fault outside the working set still
 * reads around its page (the restore will not load the neighbours), so
 * that guests running off their recorded set are not left to 4 KiB reads.
 */
TEST_F_TIMEOUT(restore, async_fault_outside_ws_reads_around, 150)
{
	const uint64_t n = 2048, outside = 3000, win = 32;
	uint64_t *ws = malloc(n * sizeof(uint64_t)), i, pending;
	struct wsr_restore r;
	struct wsr_stats st;

	if (!(self->api.features & WSR_FEATURE_ASYNC))
		SKIP(return, "module lacks WSR_FEATURE_ASYNC");
	ASSERT_NE(NULL, ws);
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[5], "read_around_kb",
				       win * WSR_PAGE / 1024));
	for (i = 0; i < n; i++)
		ws[i] = n - 1 - i;
	ASSERT_EQ(0, make_region(self->dev, self->snap, variant->flags,
				 &self->mem));
	ASSERT_EQ(0, wsr_restore(self->dev, ws, n, WSR_RESTORE_ASYNC, &r));
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	pending = st.restore_pending;
	EXPECT_TRUE(wsr_page_equal(self->mem + outside * WSR_PAGE, self->snap,
				   REGION_OFF + outside * WSR_PAGE));
	ASSERT_EQ(0, wsr_wait(self->dev, 0));
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	TH_LOG("fault at %llu with %llu pages pending: bytes_around %llu",
	       (unsigned long long)outside, (unsigned long long)pending,
	       (unsigned long long)st.bytes_around);
	/* The restore read directly: the whole window was missing. */
	EXPECT_EQ((win - 1) * WSR_PAGE, st.bytes_around);
	EXPECT_EQ(1ULL, st.faults_device);
	EXPECT_EQ(n + 1, st.pages_cache + st.pages_device);
	EXPECT_EQ(-1, wsr_cmp_file(self->mem, self->snap, REGION_OFF,
				   n * WSR_PAGE));
	free(ws);
}

/*
 * End to end: record a random access pattern with the tracker on one
 * region, restore the recorded set into a fresh region of the same
 * snapshot, and replay the pattern without a fault.  The recording
 * region's pages stay in the snapshot's base after it is gone, so the
 * restore starts cold only after drop_caches (the template case, where
 * the base still holds them, is second_region_reads_nothing).
 */
TEST_F_TIMEOUT(restore, tracked_set_restores, 150)
{
	const uint64_t n = 300;
	struct wsr_ws_entry *e = calloc(n + 1, sizeof(*e));
	uint64_t *order = malloc(REGION_PAGES * sizeof(uint64_t));
	struct wsr_get_ws g = { 0 };
	struct wsr_restore r;
	struct wsr_stats st;
	struct ws ws;
	uint64_t i;
	long maj0, min0;

	if (!(self->api.features & WSR_FEATURE_TRACK))
		SKIP(return, "module lacks WSR_FEATURE_TRACK");
	ASSERT_NE(NULL, e);
	ASSERT_NE(NULL, order);
	for (i = 0; i < REGION_PAGES; i++)
		order[i] = i;
	wsr_shuffle(order, REGION_PAGES, 42);

	/* Record. */
	ASSERT_EQ(0, make_region(self->dev, self->snap,
				 variant->flags | WSR_CREATE_TRACK, &self->mem));
	for (i = 0; i < n; i++)
		wsr_touch(self->mem, order[i]);
	g.entries = (uintptr_t)e;
	g.count = n + 1;
	ASSERT_EQ(0, wsr_ioctl(self->dev, WSR_IOC_GET_WS, &g));
	ASSERT_EQ(n, g.count);
	ws.pages = malloc(n * sizeof(uint64_t));
	ASSERT_NE(NULL, ws.pages);
	ws.count = n;
	for (i = 0; i < n; i++) {
		EXPECT_EQ(order[i], e[i].index);
		ws.pages[i] = e[i].index;
	}
	munmap(self->mem, self->len);
	self->mem = NULL;
	close(self->dev);

	/*
	 * Restore into a new region from a cold cache: the snapshot's page
	 * cache and the base the recording region left behind both dropped.
	 */
	ASSERT_EQ(0, wsr_drop_caches());
	self->dev = wsr_open_api();
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, make_region(self->dev, self->snap, variant->flags,
				 &self->mem));
	ASSERT_EQ(0, wsr_restore(self->dev, ws.pages, n, 0, &r));
	log_restore(_metadata, "tracked set", &r);
	EXPECT_EQ(n, r.from_cache + r.from_device);
	EXPECT_EQ(r.from_device * WSR_PAGE, r.bytes_read);
	EXPECT_EQ(0ULL, r.present);

	/* Replay: the restore mapped every recorded page. */
	maj0 = wsr_majflt();
	min0 = minflt();
	touch_ws(self->mem, &ws);
	EXPECT_EQ(0, minflt() - min0);
	EXPECT_EQ(0, wsr_majflt() - maj0);
	EXPECT_EQ(0ULL, touch_and_check(self->mem, self->snap, &ws));
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(0ULL, st.faults);
	EXPECT_EQ(0ULL, st.faults_device);
	EXPECT_EQ(0ULL, st.faults_cache);
	free(ws.pages);
	free(order);
	free(e);
}

/*
 * A sparse working set for the read_gap_kb tests: every 4th page of
 * 2048..2300 (64 pages, holes of 3) and one far page.  Fewer than
 * huge_threshold pages per chunk: 4 KiB units in both variants.
 */
#define GAP_FIRST	2048
#define GAP_STRIDE	4
#define GAP_N		64
#define GAP_SPAN	((GAP_N - 1) * GAP_STRIDE + 1)
#define GAP_HOLES	(GAP_SPAN - GAP_N)
#define GAP_FAR		3900

static uint64_t gap_ws(uint64_t *pages)
{
	uint64_t i;

	for (i = 0; i < GAP_N; i++)
		pages[i] = GAP_FIRST + i * GAP_STRIDE;
	pages[GAP_N] = GAP_FAR;
	return GAP_N + 1;
}

/*
 * Restore the gap working set into a fresh region; *@disk gets the bytes
 * the data disk read meanwhile.
 */
static int gap_restore(int dev, int snap, uint32_t flags, char **mem,
		       struct wsr_restore *r, uint64_t *disk)
{
	uint64_t pages[GAP_N + 1], n = gap_ws(pages), s0, s1;
	int ret;

	ret = make_region(dev, snap, flags, mem);
	if (!ret)
		ret = wsr_disk_sectors_read(&s0);
	if (!ret)
		ret = wsr_restore(dev, pages, n, 0, r);
	if (!ret)
		ret = wsr_disk_sectors_read(&s1);
	if (!ret)
		*disk = (s1 - s0) * 512;
	return ret;
}

/*
 * Holes of 3 pages are spanned: two requests (the 64 pages, the far page)
 * instead of 65.  The holes are read once, counted in bytes_gap and not in
 * bytes_read.  Direct reads leave the page cache as it was (empty).
 */
TEST_F_TIMEOUT(restore, gap_merge_spans_holes, 150)
{
	unsigned char *vec = malloc(REGION_PAGES);
	uint64_t pages[GAP_N + 1], n = gap_ws(pages), disk;
	struct wsr_restore r;
	struct wsr_stats st;
	struct ws ws = { pages, n };

	ASSERT_NE(NULL, vec);
	ASSERT_EQ(0, gap_restore(self->dev, self->snap, variant->flags,
				 &self->mem, &r, &disk));
	log_restore(_metadata, "gap restore", &r);
	TH_LOG("disk read %llu bytes", (unsigned long long)disk);
	EXPECT_EQ(0ULL, r.from_cache);
	EXPECT_EQ(n, r.from_device);
	EXPECT_EQ(n * WSR_PAGE, r.bytes_read);
	EXPECT_EQ(GAP_HOLES * WSR_PAGE, r.bytes_gap);
	EXPECT_EQ(2ULL, r.runs);
	EXPECT_LE(r.bytes_read + r.bytes_gap, disk);
	EXPECT_GE(r.bytes_read + r.bytes_gap + METADATA_SLACK, disk);

	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(n, st.pages_device);
	EXPECT_EQ(r.bytes_read, st.bytes_read);
	EXPECT_EQ(r.bytes_gap, st.bytes_gap);
	EXPECT_EQ(n, st.resident_small);
	EXPECT_EQ(0L, wsr_file_resident(self->snap, REGION_OFF, REGION_LEN,
					vec));
	EXPECT_EQ(0ULL, touch_and_check(self->mem, self->snap, &ws));
	free(vec);
}

/*
 * restore_direct 0: the same requests through the page cache, where the
 * spanned range stays: touching a hole page is one fault served from
 * there, with no read.  (The fault copies the page into the base with
 * mmap_lock dropped and returns VM_FAULT_RETRY; the kernel accounts a
 * retried fault as a major one, whatever the module says.)
 */
TEST_F_TIMEOUT(restore, gap_merge_buffered_caches_holes, 150)
{
	unsigned char *vec = malloc(REGION_PAGES);
	uint64_t pages[GAP_N + 1], n = gap_ws(pages), disk, hole, s0, s1;
	struct wsr_stats st0, st1;
	struct wsr_restore r;
	struct ws ws = { pages, n };
	long maj0, maj1;

	ASSERT_NE(NULL, vec);
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[4], "restore_direct", 0));
	ASSERT_EQ(0, gap_restore(self->dev, self->snap, variant->flags,
				 &self->mem, &r, &disk));
	log_restore(_metadata, "buffered gap restore", &r);
	EXPECT_EQ(n, r.from_device);
	EXPECT_EQ(GAP_HOLES * WSR_PAGE, r.bytes_gap);
	EXPECT_EQ(2ULL, r.runs);
	EXPECT_LE(r.bytes_read + r.bytes_gap, disk);
	EXPECT_GE(r.bytes_read + r.bytes_gap + METADATA_SLACK, disk);
	/* The page cache holds the spanned range and the far page, only. */
	EXPECT_EQ((long)(GAP_SPAN + 1),
		  wsr_file_resident(self->snap, REGION_OFF, REGION_LEN, vec));
	EXPECT_EQ(1, vec[GAP_FIRST + 1] & 1);
	EXPECT_EQ(0, vec[GAP_FIRST + GAP_SPAN] & 1);

	EXPECT_EQ(0ULL, touch_and_check(self->mem, self->snap, &ws));
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st0));
	/* The restore mapped the working set: touching it took no fault. */
	EXPECT_EQ(0ULL, st0.faults);
	hole = GAP_FIRST + GAP_STRIDE * 10 + 2;
	ASSERT_EQ(0, wsr_disk_sectors_read(&s0));
	maj0 = wsr_majflt();
	EXPECT_TRUE(wsr_page_equal(self->mem + hole * WSR_PAGE, self->snap,
				   REGION_OFF + hole * WSR_PAGE));
	maj1 = wsr_majflt();
	ASSERT_EQ(0, wsr_disk_sectors_read(&s1));
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st1));
	/* A copy from the page cache: no major fault. */
	EXPECT_EQ(0, maj1 - maj0);
	/* Served from the page cache: the disk read nothing. */
	EXPECT_EQ(0ULL, (s1 - s0) * 512);
	EXPECT_EQ(st0.faults + 1, st1.faults);
	EXPECT_EQ(st0.faults_cache + 1, st1.faults_cache);
	EXPECT_EQ(0ULL, st1.faults_device);
	EXPECT_EQ(st0.pages_cache + 1, st1.pages_cache);
	EXPECT_EQ(st0.pages_device, st1.pages_device);
	EXPECT_EQ(st0.bytes_read, st1.bytes_read);
	EXPECT_EQ(st0.bytes_around, st1.bytes_around);
	free(vec);
}

/* read_gap_kb 0: one request per contiguous run, nothing else read. */
TEST_F_TIMEOUT(restore, gap_zero_reads_pages_only, 150)
{
	unsigned char *vec = malloc(REGION_PAGES);
	struct wsr_restore r;
	struct wsr_stats st;
	uint64_t disk;

	ASSERT_NE(NULL, vec);
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[3], "read_gap_kb", 0));
	ASSERT_EQ(0, gap_restore(self->dev, self->snap, variant->flags,
				 &self->mem, &r, &disk));
	log_restore(_metadata, "gap 0 restore", &r);
	EXPECT_EQ((__u64)GAP_N + 1, r.from_device);
	EXPECT_EQ((__u64)GAP_N + 1, r.runs);
	EXPECT_EQ(0ULL, r.bytes_gap);
	EXPECT_LE(r.bytes_read, disk);
	EXPECT_GE(r.bytes_read + METADATA_SLACK, disk);
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(0ULL, st.bytes_gap);
	/* Direct reads: nothing of it in the page cache. */
	EXPECT_EQ(0L, wsr_file_resident(self->snap, REGION_OFF, REGION_LEN,
					vec));
	free(vec);
}

/*
 * A working-set page already in the page cache is copied and ends the
 * request before it (it is never read again); a cached hole page is
 * counted in bytes_gap but not read from the disk either.
 */
TEST_F_TIMEOUT(restore, gap_merge_stops_at_cached_page, 150)
{
	uint64_t pages[GAP_N + 1], n = gap_ws(pages), disk, mid, want;
	struct wsr_restore r;
	char buf[WSR_PAGE];
	int rfd;

	mid = GAP_FIRST + GAP_STRIDE * (GAP_N / 2);
	rfd = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, posix_fadvise(rfd, 0, 0, POSIX_FADV_RANDOM));
	ASSERT_EQ(0, wsr_pread_full(rfd, buf, WSR_PAGE,
				    REGION_OFF + mid * WSR_PAGE));
	ASSERT_EQ(0, wsr_pread_full(rfd, buf, WSR_PAGE,
				    REGION_OFF + (GAP_FIRST + 1) * WSR_PAGE));
	close(rfd);

	ASSERT_EQ(0, gap_restore(self->dev, self->snap, variant->flags,
				 &self->mem, &r, &disk));
	log_restore(_metadata, "gap restore around a cached page", &r);
	EXPECT_EQ(1ULL, r.from_cache);
	EXPECT_EQ(n - 1, r.from_device);
	/* Requests: below mid, above mid, the far page. */
	EXPECT_EQ(3ULL, r.runs);
	/* The holes on either side of mid (3 pages each) are not spanned. */
	EXPECT_EQ((GAP_HOLES - 2 * (GAP_STRIDE - 1)) * WSR_PAGE, r.bytes_gap);
	want = r.bytes_read + r.bytes_gap - WSR_PAGE;
	EXPECT_LE(want, disk);
	EXPECT_GE(want + METADATA_SLACK, disk);
	EXPECT_EQ(0ULL, touch_and_check(self->mem, self->snap,
					&(struct ws){ pages, n }));
}

/*
 * WSR_RESTORE_LAZY_CACHE: working-set pages the page cache holds are left
 * there (left_cached) and copied by the fault that touches them; the rest
 * is read as usual and mapped by the restore, so touching it takes no
 * fault.  Nothing is read twice, nothing copied up front.
 */
TEST_F_TIMEOUT(restore, lazy_cache_copies_on_touch, 150)
{
	uint64_t pages[GAP_N + 1], n = gap_ws(pages), i;
	const uint64_t warm = 10;
	struct ws ws = { pages, n };
	struct wsr_stats st0, st1;
	struct wsr_restore r;
	char buf[WSR_PAGE];
	long maj0, maj1;
	int rfd;

	rfd = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, posix_fadvise(rfd, 0, 0, POSIX_FADV_RANDOM));
	for (i = 0; i < warm; i++)
		ASSERT_EQ(0, wsr_pread_full(rfd, buf, WSR_PAGE,
					    REGION_OFF + pages[i] * WSR_PAGE));
	close(rfd);

	ASSERT_EQ(0, make_region(self->dev, self->snap, variant->flags,
				 &self->mem));
	ASSERT_EQ(0, wsr_restore(self->dev, pages, n, WSR_RESTORE_LAZY_CACHE,
				 &r));
	log_restore(_metadata, "lazy restore", &r);
	EXPECT_EQ(warm, r.left_cached);
	EXPECT_EQ(0ULL, r.from_cache);
	EXPECT_EQ(n - warm, r.from_device);
	EXPECT_EQ(0ULL, r.present);
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st0));
	EXPECT_EQ(0ULL, st0.pages_cache);
	EXPECT_EQ(n - warm, st0.resident_small);

	/*
	 * The comparison's own preads read the disk; the module must not.
	 * Each of the warm pages is one minor fault that copies it from the
	 * page cache (no device I/O, so mmap_lock is kept); the n - warm
	 * restored pages are mapped already and take no fault.
	 */
	maj0 = wsr_majflt();
	EXPECT_EQ(0ULL, touch_and_check(self->mem, self->snap, &ws));
	maj1 = wsr_majflt();
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st1));
	EXPECT_EQ(0, maj1 - maj0);
	EXPECT_EQ(warm, st1.faults);
	EXPECT_EQ(warm, st1.faults_cache);
	EXPECT_EQ(warm, st1.pages_cache);
	EXPECT_EQ(0ULL, st1.faults_device);
	EXPECT_EQ(0ULL, st1.faults_present);
	EXPECT_EQ(st0.pages_device, st1.pages_device);
	EXPECT_EQ(st0.bytes_read, st1.bytes_read);
	EXPECT_EQ(n, st1.resident_small);
}

/*
 * The direct read of a restore must not sleep on the snapshot's inode
 * lock: a writer of the snapshot holds it while it faults its source
 * buffer in, and that fault may wait for a unit the restore owns.  Hold
 * the lock with a write(2) whose buffer is a userfaultfd page nobody
 * serves yet; the restore must still complete (through the page cache),
 * read every page once and load the right bytes.
 */
#define LOCKED_FILE	"/data/wsr-locked-snapshot"
#define LOCKED_LEN	(4ULL << 20)

struct locked_writer {
	int fd;
	void *buf;
	ssize_t ret;
};

static void *locked_write(void *arg)
{
	struct locked_writer *w = arg;

	/* Past the region: whatever lands there is not restored. */
	w->ret = pwrite(w->fd, w->buf, WSR_PAGE, LOCKED_LEN - WSR_PAGE);
	return NULL;
}

TEST_F_TIMEOUT(restore, direct_read_skips_held_inode_lock, 120)
{
	uint64_t pages[64], n = ARRAY_SIZE(pages), s0, s1, i;
	struct uffdio_register reg = { 0 };
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_copy copy = { 0 };
	struct locked_writer w = { -1, NULL, 0 };
	struct uffd_msg msg;
	struct wsr_restore r;
	struct pollfd pfd;
	pthread_t th;
	char *buf;
	int uffd;

	for (i = 0; i < n; i++)
		pages[i] = 4 * i;
	/* A private snapshot copy: the write below goes to it. */
	buf = malloc(LOCKED_LEN);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, wsr_pread_full(self->snap, buf, LOCKED_LEN, REGION_OFF));
	w.fd = open(LOCKED_FILE, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, w.fd);
	ASSERT_EQ((ssize_t)LOCKED_LEN, pwrite(w.fd, buf, LOCKED_LEN, 0));
	ASSERT_EQ(0, fsync(w.fd));
	ASSERT_EQ(0, wsr_drop_file_cache(w.fd));

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (uffd < 0) {
		close(w.fd);
		unlink(LOCKED_FILE);
		free(buf);
		SKIP(return, "no userfaultfd: %s", strerror(errno));
	}
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	w.buf = mmap(NULL, WSR_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, w.buf);
	reg.range.start = (uintptr_t)w.buf;
	reg.range.len = WSR_PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	/* The writer takes the inode lock and blocks on its buffer. */
	ASSERT_EQ(0, pthread_create(&th, NULL, locked_write, &w));
	pfd.fd = uffd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);

	ASSERT_EQ(0, wsr_create(self->dev, w.fd, variant->flags, 0,
				LOCKED_LEN / 2));
	self->mem = mmap(NULL, LOCKED_LEN / 2, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->dev, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->len = LOCKED_LEN / 2;
	ASSERT_EQ(0, wsr_disk_sectors_read(&s0));
	ASSERT_EQ(0, wsr_restore(self->dev, pages, n, 0, &r));
	ASSERT_EQ(0, wsr_disk_sectors_read(&s1));
	log_restore(_metadata, "restore beside a held inode lock", &r);
	EXPECT_EQ(n, r.from_device);
	EXPECT_LE(r.bytes_read + r.bytes_gap, (s1 - s0) * 512);
	EXPECT_GE(r.bytes_read + r.bytes_gap + METADATA_SLACK,
		  (s1 - s0) * 512);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, memcmp(self->mem + pages[i] * WSR_PAGE,
				    buf + pages[i] * WSR_PAGE, WSR_PAGE))
			TH_LOG("page %llu differs",
			       (unsigned long long)pages[i]);
	}

	/* Let the writer go. */
	memset(buf, 0, WSR_PAGE);
	copy.dst = (uintptr_t)w.buf;
	copy.src = (uintptr_t)buf;
	copy.len = WSR_PAGE;
	EXPECT_EQ(0, ioctl(uffd, UFFDIO_COPY, &copy));
	EXPECT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ((ssize_t)WSR_PAGE, w.ret);
	munmap(w.buf, WSR_PAGE);
	close(uffd);
	close(w.fd);
	unlink(LOCKED_FILE);
	free(buf);
}

/*
 * The restore knobs take whole pages within their ranges; anything else
 * is -EINVAL and leaves the value alone.
 */
TEST_F(restore, knobs_reject_bad_values)
{
	static const struct {
		const char *knob;
		const char *text;
	} bad[] = {
		{ "read_gap_kb", "6\n" },
		{ "read_gap_kb", "65540\n" },
		{ "read_gap_kb", "-4\n" },
		{ "read_gap_kb", "lots\n" },
		{ "read_batch_kb", "0\n" },
		{ "read_batch_kb", "10\n" },
		{ "read_batch_kb", "65540\n" },
		{ "restore_direct", "2\n" },
		{ "read_around_kb", "2052\n" },
		{ "read_around_kb", "6\n" },
	};
	uint64_t before, after;
	char path[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(path, sizeof(path), WSR_SYSFS "/%s", bad[i].knob);
		ASSERT_EQ(0, wsr_knob_get(bad[i].knob, &before));
		EXPECT_EQ(-EINVAL, wsr_write_text(path, bad[i].text))
			TH_LOG("%s <- %s", bad[i].knob, bad[i].text);
		ASSERT_EQ(0, wsr_knob_get(bad[i].knob, &after));
		EXPECT_EQ(before, after);
	}
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[3], "read_gap_kb", 0));
	ASSERT_EQ(0, wsr_knob_get("read_gap_kb", &after));
	EXPECT_EQ(0ULL, after);
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[3], "read_gap_kb",
				       64 * 1024));
	ASSERT_EQ(0, wsr_knob_get("read_gap_kb", &after));
	EXPECT_EQ(64ULL * 1024, after);
}

/* Bad arguments to WSR_IOC_RESTORE and WSR_IOC_WAIT load nothing. */
TEST_F(restore, validation)
{
	uint64_t bad_index[] = { 1, 2, REGION_PAGES };
	uint64_t one = 7;
	struct wsr_restore r;
	struct wsr_wait w;
	struct wsr_stats st;
	int i;

	ASSERT_EQ(0, make_region(self->dev, self->snap, variant->flags,
				 &self->mem));

#define RESTORE_FAILS(err, field, value) do {				\
	memset(&r, 0, sizeof(r));					\
	r.pages = (uintptr_t)&one;					\
	r.count = 1;							\
	r.field = value;						\
	EXPECT_EQ(-(err), wsr_ioctl(self->dev, WSR_IOC_RESTORE, &r))	\
		TH_LOG("RESTORE with " #field " = " #value);		\
} while (0)

	RESTORE_FAILS(EINVAL, flags, ~WSR_RESTORE_FLAGS);
	RESTORE_FAILS(EINVAL, flags, 1U << 2);
	RESTORE_FAILS(EINVAL, pad, 1);
	for (i = 0; i < (int)ARRAY_SIZE(r.reserved); i++)
		RESTORE_FAILS(EINVAL, reserved[i], 1);
	RESTORE_FAILS(EFAULT, pages, 0);
	RESTORE_FAILS(EFAULT, pages, 8);
#undef RESTORE_FAILS
	/* An index past the region, after valid ones: nothing loaded. */
	EXPECT_EQ(-EINVAL, wsr_restore(self->dev, bad_index, 3, 0, &r));
	bad_index[2] = UINT64_MAX;
	EXPECT_EQ(-EINVAL, wsr_restore(self->dev, bad_index, 3, 0, &r));
	/* A count whose byte size overflows, or beyond the array. */
	memset(&r, 0, sizeof(r));
	r.pages = (uintptr_t)&one;
	r.count = 1ULL << 61;
	ASSERT_EQ(-1, ioctl(self->dev, WSR_IOC_RESTORE, &r));
	EXPECT_TRUE(errno == EINVAL || errno == EFAULT || errno == ENOMEM ||
		    errno == E2BIG) TH_LOG("huge count: errno %d", errno);
	EXPECT_EQ(-EFAULT, wsr_ioctl(self->dev, WSR_IOC_RESTORE, NULL));

	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(0ULL, st.pages_cache);
	EXPECT_EQ(0ULL, st.pages_device);
	EXPECT_EQ(0ULL, st.bytes_read);
	EXPECT_EQ(0ULL, st.resident_small);
	EXPECT_EQ(0ULL, st.resident_huge);
	EXPECT_EQ(0ULL, st.restore_pending);

	if (self->api.features & WSR_FEATURE_ASYNC) {
		memset(&w, 0, sizeof(w));
		w.pad = 1;
		EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_WAIT, &w));
		for (i = 0; i < (int)ARRAY_SIZE(w.reserved); i++) {
			memset(&w, 0, sizeof(w));
			w.reserved[i] = 1;
			EXPECT_EQ(-EINVAL,
				  wsr_ioctl(self->dev, WSR_IOC_WAIT, &w));
		}
		EXPECT_EQ(-EFAULT, wsr_ioctl(self->dev, WSR_IOC_WAIT, NULL));
	}

	/* The valid single-page restore works after all that. */
	ASSERT_EQ(0, wsr_restore(self->dev, &one, 1, 0, &r));
	EXPECT_EQ(1ULL, r.from_cache + r.from_device);
	EXPECT_TRUE(wsr_page_equal(self->mem + 7 * WSR_PAGE, self->snap,
				   REGION_OFF + 7 * WSR_PAGE));
}

WSR_HARNESS_MAIN
