// SPDX-License-Identifier: GPL-2.0
/*
 * Tracker suite: the in-kernel first-touch recorder.  A scripted access
 * pattern must come back from WSR_IOC_GET_WS in exactly its first-touch
 * order, at 4 KiB granularity even where the region would map 2 MiB, with
 * non-decreasing timestamps; STOP/RESET, the -ENOSPC sizing protocol, the
 * capacity limit (overflow flag and dropped count) and argument validation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

/* sysfs knob bounding the number of first touches a region records. */
#define TRACK_CAP_KNOB		"tracker_capacity"

#define REGION_OFF		(4 * WSR_HUGE)
#define REGION_LEN		(4 * WSR_HUGE)
#define REGION_PAGES		(REGION_LEN / WSR_PAGE)

FIXTURE(tracker)
{
	int dev;
	int snap;
	struct wsr_api api;
	char *mem;
	char *mem2;
	uint64_t saved_cap;
	bool cap_changed;
};

FIXTURE_VARIANT(tracker)
{
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(tracker, huge)
{
	.flags = 0,
};

FIXTURE_VARIANT_ADD(tracker, small)
{
	.flags = WSR_CREATE_NO_HUGE,
};

FIXTURE_SETUP(tracker)
{
	ASSERT_EQ(0, wsr_drop_caches());
	self->dev = wsr_open();
	if (self->dev == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, wsr_handshake(self->dev, &self->api));
	if (!(self->api.features & WSR_FEATURE_TRACK))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_TRACK");
	if (!(variant->flags & WSR_CREATE_NO_HUGE) &&
	    !(self->api.features & WSR_FEATURE_HUGE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_HUGE");
	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " WSR_SNAP);
}

FIXTURE_TEARDOWN(tracker)
{
	if (self->mem)
		munmap(self->mem, REGION_LEN);
	if (self->mem2)
		munmap(self->mem2, REGION_LEN);
	if (self->dev >= 0)
		close(self->dev);
	if (self->snap > 0)
		close(self->snap);
	if (self->cap_changed)
		EXPECT_EQ(0, wsr_knob_set(TRACK_CAP_KNOB, self->saved_cap));
}

static char *map_region(int dev)
{
	void *p = mmap(NULL, REGION_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		       dev, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Copy the working set out into a fresh array of @cap entries; the count
 * and flags land in @g.  Entries past the returned count keep 0xff bytes.
 */
static int get_ws(int dev, struct wsr_ws_entry *e, uint64_t cap,
		  struct wsr_get_ws *g)
{
	memset(e, 0xff, cap * sizeof(*e));
	memset(g, 0, sizeof(*g));
	g->entries = (uintptr_t)e;
	g->count = cap;
	return wsr_ioctl(dev, WSR_IOC_GET_WS, g);
}

/* One step of an access script. */
struct step {
	uint64_t page;
	bool write;
	unsigned int sleep_ms;		/* before the access */
};

/*
 * Exercises: 2 MiB neighbours (512 then 513, 511 write), the last page,
 * repeats of pages already touched (read after write, write after read),
 * and a pause so that timestamps must differ measurably.
 */
static const struct step script[] = {
	{ 5, false, 0 }, { 700, true, 0 }, { 3, false, 0 },
	{ REGION_PAGES - 1, false, 0 }, { 512, false, 20 },
	{ 511, true, 0 }, { 0, false, 0 }, { 1324, false, 0 },
	{ 6, false, 0 }, { 700, false, 0 }, { 5, true, 0 },
	{ 1536, false, 0 }, { 513, false, 0 }, { 4, false, 0 },
	{ 3, false, 0 }, { 1537, true, 0 },
};
#define SCRIPT_LEN	ARRAY_SIZE(script)
/* First touches of the script, in order. */
static const uint64_t script_ws[] = {
	5, 700, 3, REGION_PAGES - 1, 512, 511, 0, 1324, 6, 1536, 513, 4, 1537,
};
#define SCRIPT_WS_LEN	ARRAY_SIZE(script_ws)
#define SCRIPT_PAUSE_AT	4	/* index in script_ws after the pause */

static void run_script(char *mem)
{
	size_t i;

	for (i = 0; i < SCRIPT_LEN; i++) {
		char *p = mem + script[i].page * WSR_PAGE + 8 * i;

		if (script[i].sleep_ms)
			usleep(script[i].sleep_ms * 1000);
		if (script[i].write)
			wsr_store64(p, ~wsr_load64(p));
		else
			wsr_load64(p);
	}
}

/*
 * Data through the mapping still equal the file, bar the script's writes;
 * each of @runs runs of the script flipped the written words once.
 */
static int64_t check_script_data(char *mem, int snap, unsigned int runs)
{
	char *want = malloc(REGION_LEN);
	int64_t ret = -1;
	size_t i;

	if (!want)
		return -2;
	if (wsr_pread_full(snap, want, REGION_LEN, REGION_OFF)) {
		free(want);
		return -2;
	}
	for (i = 0; i < SCRIPT_LEN; i++) {
		char *p = want + script[i].page * WSR_PAGE + 8 * i;
		uint64_t v;

		if (!script[i].write || runs % 2 == 0)
			continue;
		memcpy(&v, p, 8);
		v = ~v;
		memcpy(p, &v, 8);
	}
	for (i = 0; i < REGION_LEN; i++) {
		if (mem[i] != want[i]) {
			ret = i;
			break;
		}
	}
	free(want);
	return ret;
}

static void check_script_ws(struct __test_metadata *_metadata,
			    const struct wsr_ws_entry *e, uint64_t count,
			    uint64_t elapsed_ns)
{
	uint64_t i;

	ASSERT_EQ(SCRIPT_WS_LEN, count);
	for (i = 0; i < count; i++) {
		EXPECT_EQ(script_ws[i], e[i].index)
			TH_LOG("entry %llu", (unsigned long long)i);
		EXPECT_GE(elapsed_ns, e[i].ns)
			TH_LOG("entry %llu in the future",
			       (unsigned long long)i);
		if (i)
			EXPECT_LE(e[i - 1].ns, e[i].ns)
				TH_LOG("entry %llu earlier than the one before",
				       (unsigned long long)i);
	}
	/* The 20 ms pause shows (10 ms leaves room for a coarse clock). */
	EXPECT_LE(e[SCRIPT_PAUSE_AT - 1].ns + 10000000ULL,
		  e[SCRIPT_PAUSE_AT].ns);
}

/*
 * The scripted pattern, recorded from WSR_TRACK_START: exact order,
 * timestamps, counters, and unchanged data.
 */
TEST_F_TIMEOUT(tracker, scripted_order, 120)
{
	struct wsr_ws_entry e[64];
	struct wsr_get_ws g;
	struct wsr_stats st;
	uint64_t t0, t1, i;
	int ret;

	ASSERT_EQ(0, wsr_create(self->dev, self->snap, variant->flags,
				REGION_OFF, REGION_LEN));
	self->mem = map_region(self->dev);
	ASSERT_NE(NULL, self->mem);

	t0 = wsr_now_ns();
	ASSERT_EQ(0, wsr_track(self->dev, WSR_TRACK_START));
	run_script(self->mem);
	ret = get_ws(self->dev, e, 64, &g);
	t1 = wsr_now_ns();
	if (ret)
		TH_LOG("GET_WS: %d, count %llu", ret,
		       (unsigned long long)g.count);
	for (i = 0; i < g.count && i < 64; i++)
		TH_LOG("ws[%llu] = page %llu at %llu ns", (unsigned long long)i,
		       (unsigned long long)e[i].index,
		       (unsigned long long)e[i].ns);
	ASSERT_EQ(0, ret);

	EXPECT_EQ(0U, g.flags);
	EXPECT_EQ(0ULL, g.dropped);
	check_script_ws(_metadata, e, g.count, t1 - t0);
	/* Nothing written past the count. */
	EXPECT_EQ(UINT64_MAX, e[g.count].index);
	EXPECT_EQ(UINT64_MAX, e[63].ns);

	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(SCRIPT_WS_LEN, st.tracked);
	EXPECT_EQ(0ULL, st.dropped);
	/* Recording maps 4 KiB: one fault per distinct page. */
	EXPECT_EQ(SCRIPT_WS_LEN, st.faults);
	EXPECT_EQ(0ULL, st.faults_huge);

	/* Touches already recorded are not recorded twice. */
	run_script(self->mem);
	ASSERT_EQ(0, get_ws(self->dev, e, 64, &g));
	check_script_ws(_metadata, e, g.count, wsr_now_ns() - t0);

	/* Stop first: the full comparison touches every page. */
	ASSERT_EQ(0, wsr_track(self->dev, WSR_TRACK_STOP));
	EXPECT_EQ(-1, check_script_data(self->mem, self->snap, 2));
	ASSERT_EQ(0, get_ws(self->dev, e, 64, &g));
	EXPECT_EQ(SCRIPT_WS_LEN, g.count);
}

/* WSR_CREATE_TRACK records from the CREATE on, through every mapping. */
TEST_F_TIMEOUT(tracker, create_track_two_mappings, 120)
{
	struct wsr_ws_entry e[8];
	struct wsr_get_ws g;
	uint64_t t0;

	t0 = wsr_now_ns();
	ASSERT_EQ(0, wsr_create(self->dev, self->snap,
				variant->flags | WSR_CREATE_TRACK,
				REGION_OFF, REGION_LEN));
	self->mem = map_region(self->dev);
	self->mem2 = map_region(self->dev);
	ASSERT_NE(NULL, self->mem);
	ASSERT_NE(NULL, self->mem2);

	wsr_touch(self->mem, 9);
	wsr_touch(self->mem2, 1000);
	self->mem2[2000 * WSR_PAGE] = 1;
	/* Same pages through the other mapping: already recorded. */
	wsr_touch(self->mem2, 9);
	wsr_touch(self->mem, 1000);
	wsr_touch(self->mem, 2000);
	wsr_touch(self->mem, 10);

	ASSERT_EQ(0, get_ws(self->dev, e, 8, &g));
	ASSERT_EQ(4ULL, g.count);
	EXPECT_EQ(9ULL, e[0].index);
	EXPECT_EQ(1000ULL, e[1].index);
	EXPECT_EQ(2000ULL, e[2].index);
	EXPECT_EQ(10ULL, e[3].index);
	EXPECT_GE(wsr_now_ns() - t0, e[3].ns);
	/*
	 * Mappings are copy-on-write, each private: the write stays in the
	 * mapping that made it, the other one reads the file's page.
	 */
	EXPECT_EQ(1, self->mem2[2000 * WSR_PAGE]);
	EXPECT_TRUE(wsr_page_equal(self->mem + 2000 * WSR_PAGE, self->snap,
				   REGION_OFF + 2000 * WSR_PAGE));
	EXPECT_TRUE(wsr_page_equal(self->mem2 + 10 * WSR_PAGE, self->snap,
				   REGION_OFF + 10 * WSR_PAGE));
}

/* STOP keeps the record and ignores later touches; RESET drops it. */
TEST_F_TIMEOUT(tracker, stop_start_reset, 120)
{
	struct wsr_ws_entry e[8];
	struct wsr_get_ws g;
	struct wsr_stats st;
	uint64_t t0;

	ASSERT_EQ(0, wsr_create(self->dev, self->snap, variant->flags,
				REGION_OFF, REGION_LEN));
	self->mem = map_region(self->dev);
	ASSERT_NE(NULL, self->mem);

	/* Before START nothing is recorded. */
	wsr_touch(self->mem, 100);
	ASSERT_EQ(0, get_ws(self->dev, e, 8, &g));
	EXPECT_EQ(0ULL, g.count);

	ASSERT_EQ(0, wsr_track(self->dev, WSR_TRACK_START));
	wsr_touch(self->mem, 200);
	wsr_touch(self->mem, 201);
	ASSERT_EQ(0, wsr_track(self->dev, WSR_TRACK_STOP));
	wsr_touch(self->mem, 300);
	ASSERT_EQ(0, get_ws(self->dev, e, 8, &g));
	ASSERT_EQ(2ULL, g.count);
	EXPECT_EQ(200ULL, e[0].index);
	EXPECT_EQ(201ULL, e[1].index);
	/* STOP twice is harmless; the record stays. */
	EXPECT_EQ(0, wsr_track(self->dev, WSR_TRACK_STOP));
	ASSERT_EQ(0, get_ws(self->dev, e, 8, &g));
	EXPECT_EQ(2ULL, g.count);

	ASSERT_EQ(0, wsr_track(self->dev, WSR_TRACK_RESET));
	ASSERT_EQ(0, get_ws(self->dev, e, 8, &g));
	EXPECT_EQ(0ULL, g.count);
	EXPECT_EQ(0U, g.flags);
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(0ULL, st.tracked);

	/* A new recording, with its own time zero, sees new first touches. */
	usleep(20000);
	t0 = wsr_now_ns();
	ASSERT_EQ(0, wsr_track(self->dev, WSR_TRACK_START));
	wsr_touch(self->mem, 400);
	wsr_touch(self->mem, 2);
	ASSERT_EQ(0, get_ws(self->dev, e, 8, &g));
	ASSERT_EQ(2ULL, g.count);
	EXPECT_EQ(400ULL, e[0].index);
	EXPECT_EQ(2ULL, e[1].index);
	EXPECT_GE(wsr_now_ns() - t0, e[1].ns);
	EXPECT_LE(e[0].ns, e[1].ns);
}

/* The -ENOSPC protocol: needed count reported, buffer left alone. */
TEST_F_TIMEOUT(tracker, get_ws_enospc, 120)
{
	struct wsr_ws_entry e[32];
	struct wsr_get_ws g;
	uint64_t i;

	ASSERT_EQ(0, wsr_create(self->dev, self->snap,
				variant->flags | WSR_CREATE_TRACK,
				REGION_OFF, REGION_LEN));
	self->mem = map_region(self->dev);
	ASSERT_NE(NULL, self->mem);
	for (i = 0; i < 10; i++)
		wsr_touch(self->mem, 50 + 97 * i);

	/* Too small: -ENOSPC, count = needed, nothing copied. */
	memset(e, 0xff, sizeof(e));
	EXPECT_EQ(-ENOSPC, get_ws(self->dev, e, 3, &g));
	EXPECT_EQ(10ULL, g.count);
	for (i = 0; i < 32; i++)
		EXPECT_EQ(UINT64_MAX, e[i].index);
	/* Size query with no buffer at all. */
	memset(&g, 0, sizeof(g));
	EXPECT_EQ(-ENOSPC, wsr_ioctl(self->dev, WSR_IOC_GET_WS, &g));
	EXPECT_EQ(10ULL, g.count);
	/* Exact and larger capacities succeed. */
	ASSERT_EQ(0, get_ws(self->dev, e, 10, &g));
	EXPECT_EQ(10ULL, g.count);
	for (i = 0; i < 10; i++)
		EXPECT_EQ(50 + 97 * i, e[i].index);
	ASSERT_EQ(0, get_ws(self->dev, e, 32, &g));
	EXPECT_EQ(10ULL, g.count);
	for (i = 0; i < 10; i++)
		EXPECT_EQ(50 + 97 * i, e[i].index);
	EXPECT_EQ(UINT64_MAX, e[10].index);
	EXPECT_EQ(UINT64_MAX, e[31].ns);
}

/* Bad arguments to WSR_IOC_TRACK and WSR_IOC_GET_WS. */
TEST_F(tracker, validation)
{
	struct wsr_ws_entry e[4];
	struct wsr_track t;
	struct wsr_get_ws g;
	void *ro;
	int i;

	ASSERT_EQ(0, wsr_create(self->dev, self->snap, variant->flags,
				REGION_OFF, REGION_LEN));
	self->mem = map_region(self->dev);
	ASSERT_NE(NULL, self->mem);

	/* Op 0 is reserved; unknown ops; pad and reserved words. */
	EXPECT_EQ(-EINVAL, wsr_track(self->dev, 0));
	EXPECT_EQ(-EINVAL, wsr_track(self->dev, WSR_TRACK_RESET + 1));
	EXPECT_EQ(-EINVAL, wsr_track(self->dev, UINT32_MAX));
	memset(&t, 0, sizeof(t));
	t.op = WSR_TRACK_START;
	t.pad = 1;
	EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_TRACK, &t));
	for (i = 0; i < 3; i++) {
		memset(&t, 0, sizeof(t));
		t.op = WSR_TRACK_START;
		t.reserved[i] = 1;
		EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_TRACK, &t));
	}
	EXPECT_EQ(-EFAULT, wsr_ioctl(self->dev, WSR_IOC_TRACK, NULL));

	/* None of those started recording. */
	wsr_touch(self->mem, 1);
	ASSERT_EQ(0, get_ws(self->dev, e, 4, &g));
	EXPECT_EQ(0ULL, g.count);

	ASSERT_EQ(0, wsr_track(self->dev, WSR_TRACK_START));
	wsr_touch(self->mem, 2);
	memset(&g, 0, sizeof(g));
	g.entries = (uintptr_t)e;
	g.count = 4;
	g.pad = 1;
	EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_GET_WS, &g));
	for (i = 0; i < 4; i++) {
		memset(&g, 0, sizeof(g));
		g.entries = (uintptr_t)e;
		g.count = 4;
		g.reserved[i] = 1;
		EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_GET_WS, &g));
	}
	/* Unwritable entries array. */
	memset(&g, 0, sizeof(g));
	g.entries = 8;
	g.count = 4;
	EXPECT_EQ(-EFAULT, wsr_ioctl(self->dev, WSR_IOC_GET_WS, &g));
	EXPECT_EQ(-EFAULT, wsr_ioctl(self->dev, WSR_IOC_GET_WS, NULL));
	/* A read-only buffer cannot receive the entries. */
	ro = mmap(NULL, WSR_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	g.entries = (uintptr_t)ro;
	EXPECT_EQ(-EFAULT, wsr_ioctl(self->dev, WSR_IOC_GET_WS, &g));
	munmap(ro, WSR_PAGE);
	/* The record survived all of it. */
	ASSERT_EQ(0, get_ws(self->dev, e, 4, &g));
	ASSERT_EQ(1ULL, g.count);
	EXPECT_EQ(2ULL, e[0].index);
}

/*
 * With the capacity knob lowered, the first @cap first touches are kept in
 * order, the rest are counted as dropped and the overflow flag is set.
 */
TEST_F_TIMEOUT(tracker, overflow, 120)
{
	const uint64_t cap = 16, touched = 40;
	struct wsr_ws_entry e[64];
	struct wsr_get_ws g;
	struct wsr_stats st;
	uint64_t i, order[40];

	if (wsr_knob_get(TRACK_CAP_KNOB, &self->saved_cap))
		SKIP(return, "no " WSR_SYSFS "/" TRACK_CAP_KNOB);
	ASSERT_EQ(0, wsr_knob_set(TRACK_CAP_KNOB, cap));
	self->cap_changed = true;

	ASSERT_EQ(0, wsr_create(self->dev, self->snap,
				variant->flags | WSR_CREATE_TRACK,
				REGION_OFF, REGION_LEN));
	self->mem = map_region(self->dev);
	ASSERT_NE(NULL, self->mem);
	for (i = 0; i < touched; i++)
		order[i] = (i * 331 + 17) % REGION_PAGES;
	for (i = 0; i < touched; i++)
		wsr_touch(self->mem, order[i]);
	/* Repeats of kept and of dropped pages change nothing. */
	wsr_touch(self->mem, order[0]);
	wsr_touch(self->mem, order[touched - 1]);

	EXPECT_EQ(-ENOSPC, get_ws(self->dev, e, 1, &g));
	EXPECT_EQ(cap, g.count);
	ASSERT_EQ(0, get_ws(self->dev, e, 64, &g));
	ASSERT_EQ(cap, g.count);
	EXPECT_EQ((__u32)WSR_WS_OVERFLOW, g.flags);
	EXPECT_EQ(touched - cap, g.dropped);
	for (i = 0; i < cap; i++)
		EXPECT_EQ(order[i], e[i].index);

	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(cap, st.tracked);
	EXPECT_EQ(touched - cap, st.dropped);
	/* The data is whole regardless of what the tracker kept. */
	for (i = 0; i < touched; i++)
		EXPECT_TRUE(wsr_page_equal(self->mem + order[i] * WSR_PAGE,
					   self->snap,
					   REGION_OFF + order[i] * WSR_PAGE));

	/* RESET clears the overflow too. */
	ASSERT_EQ(0, wsr_track(self->dev, WSR_TRACK_RESET));
	ASSERT_EQ(0, get_ws(self->dev, e, 64, &g));
	EXPECT_EQ(0ULL, g.count);
	EXPECT_EQ(0U, g.flags);
	EXPECT_EQ(0ULL, g.dropped);
}

WSR_HARNESS_MAIN
