// SPDX-License-Identifier: GPL-2.0
/*
 * Keep-alive suite: which unused bases stay resident under base_max_kb
 * (module/wsr_keepalive.c, sysfs "policy" and "ttl_s", debugfs
 * wsr/bases, tracepoints wsr_ka_load and wsr_ka_evict).  Checked here:
 *  - order: on a crafted sequence (base A restored 64 times, B 8 times,
 *    C once, released A, B, C), lowering the budget one base at a time
 *    drops C then B under gdsf, A then B under lru and ttl; the exact
 *    hit, miss, frequency, size and priority of every base; the
 *    wsr_ka_evict events name the same bases; and wsr-kasim (the
 *    userspace port of the policy) replaying the same sequence evicts the
 *    same bases and computes the same priorities and clock;
 *  - budget: with the budget set, restores keep the bases at the budget
 *    exactly, the oldest unused base dropped at every restore;
 *  - mapped: a base in use keeps every page, however small the budget;
 *  - reclaim: memory pressure (the shrinker, driven by drop_caches=2)
 *    drops unused bases in the same order as the budget, none in use;
 *  - ttl: an unused base goes ttl_s after its last use, not before, and
 *    only under the ttl policy;
 *  - knobs: bad values of policy and ttl_s are refused with EINVAL and
 *    change nothing;
 *  - wsrtop: its keep-alive counters (BPF on wsr_ka_load and
 *    wsr_ka_evict) are exactly the restores, hits, misses, bytes and
 *    evictions done.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define KA_BASES	"/sys/kernel/debug/wsr/bases"
#define KA_TRACING	"/sys/kernel/debug/tracing"
#define KA_SIM		"/usr/bin/wsr-kasim"
#define KA_REPLAY	"/tmp/wsr-ka-replay"
#define KA_LEN		WSR_HUGE		/* a region: 2 MiB */
#define KA_WS		256			/* working set: 1 MiB */
#define KA_WS_BYTES	(KA_WS * WSR_PAGE)
#define KA_MAX_ROWS	64

/* One line of debugfs wsr/bases. */
struct ka_row {
	unsigned int id;
	unsigned long users, ino;
	unsigned long long offset, length, resident, hits, misses, freq;
	unsigned long long cost_us, cost_bytes, size, prio, idle_ms, evictions;
};

/* Every row of wsr/bases; *@clock gets the GDSF clock.  Count or -errno. */
static int ka_rows(struct ka_row *rows, int max, uint64_t *clock)
{
	char line[512], policy[16];
	unsigned long long c, ttl;
	FILE *f = fopen(KA_BASES, "re");
	int n = 0;

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "policy %15s clock %llu ttl_s %llu", policy, &c,
		   &ttl) != 3) {
		fclose(f);
		return -EINVAL;
	}
	if (clock)
		*clock = c;
	while (n < max && fgets(line, sizeof(line), f)) {
		struct ka_row *r = &rows[n];

		if (sscanf(line, "base %u users %lu ino %lu offset %llu length %llu resident %llu hits %llu misses %llu freq %llu cost_us %llu cost_bytes %llu size %llu prio %llu idle_ms %llu evictions %llu",
			   &r->id, &r->users, &r->ino, &r->offset, &r->length,
			   &r->resident, &r->hits, &r->misses, &r->freq,
			   &r->cost_us, &r->cost_bytes, &r->size, &r->prio,
			   &r->idle_ms, &r->evictions) != 15) {
			fclose(f);
			return -EINVAL;
		}
		n++;
	}
	fclose(f);
	return n;
}

/* The row of base @id, into *@out; false when the base is gone. */
static bool ka_row(unsigned int id, struct ka_row *out)
{
	struct ka_row rows[KA_MAX_ROWS];
	int n = ka_rows(rows, KA_MAX_ROWS, NULL), i;

	for (i = 0; i < n; i++) {
		if (rows[i].id == id) {
			*out = rows[i];
			return true;
		}
	}
	return false;
}

/*
 * Resident bytes of base @id over @off, 0 when it is gone (ids are
 * reused: a new base over another range may have it now).
 */
static uint64_t ka_resident_at(unsigned int id, uint64_t off)
{
	struct ka_row r;

	return ka_row(id, &r) && r.offset == off ? r.resident : 0;
}

/* One region: the /dev/wsr fd and its mapping. */
struct ka_region {
	int dev;
	char *mem;
	uint64_t off;
	unsigned int id;
};

static uint64_t ka_resident(const struct ka_region *r)
{
	return ka_resident_at(r->id, r->off);
}

/* Id of the base in use over [@off, @off + KA_LEN) of @ino, 0 if none. */
static unsigned int ka_base_id(unsigned long ino, uint64_t off)
{
	struct ka_row rows[KA_MAX_ROWS];
	int n = ka_rows(rows, KA_MAX_ROWS, NULL), i;

	for (i = 0; i < n; i++)
		if (rows[i].ino == ino && rows[i].offset == off &&
		    rows[i].length == KA_LEN && rows[i].users)
			return rows[i].id;
	return 0;
}

static int ka_policy_set(const char *p)
{
	return wsr_write_text(WSR_SYSFS "/policy", p);
}

static int ka_policy_get(char *buf, size_t len)
{
	int ret = wsr_read_text(WSR_SYSFS "/policy", buf, len);

	if (!ret)
		buf[strcspn(buf, "\n")] = 0;
	return ret;
}

/* wsr_ka_evict events: enable and clear, or read "base reason" pairs. */
static int ka_trace_start(void)
{
	int ret = wsr_write_text(KA_TRACING "/events/wsr/wsr_ka_evict/enable",
				 "1");
	int fd;

	if (ret)
		return ret;
	/* Opening it truncated empties the buffer. */
	fd = open(KA_TRACING "/trace", O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int ka_trace_evictions(unsigned int *ids, int *reasons, int max)
{
	FILE *f = fopen(KA_TRACING "/trace", "re");
	char line[512], *p;
	int n = 0;

	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		p = strstr(line, "wsr_ka_evict: base=");
		if (!p)
			continue;
		if (sscanf(p, "wsr_ka_evict: base=%u reason=%d", &ids[n],
			   &reasons[n]) == 2)
			n++;
	}
	fclose(f);
	wsr_write_text(KA_TRACING "/events/wsr/wsr_ka_evict/enable", "0");
	return n;
}

FIXTURE(ka)
{
	int snap;
	unsigned long ino;
	struct wsr_knob_save knobs[5];
	char policy[16];
	uint64_t ws[KA_WS];
	FILE *replay;
	uint64_t t;
};

FIXTURE_VARIANT(ka)
{
	const char *policy;
	/* Bases (A, B, C) in the order the budget drops them. */
	int order[3];
};

FIXTURE_VARIANT_ADD(ka, gdsf)
{
	.policy = "gdsf",
	.order = { 2, 1, 0 },
};

FIXTURE_VARIANT_ADD(ka, lru)
{
	.policy = "lru",
	.order = { 0, 1, 2 },
};

FIXTURE_VARIANT_ADD(ka, ttl)
{
	.policy = "ttl",
	.order = { 0, 1, 2 },
};

FIXTURE_SETUP(ka)
{
	struct stat st;
	int dev, i;

	self->snap = -1;
	self->replay = NULL;
	dev = wsr_open();
	if (dev == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, dev);
	close(dev);
	/* The keep-alive knobs are part of this module: no SKIP. */
	ASSERT_EQ(0, ka_policy_get(self->policy, sizeof(self->policy)));
	ASSERT_EQ(0, access(KA_BASES, R_OK));
	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " WSR_SNAP);
	ASSERT_EQ(0, fstat(self->snap, &st));
	self->ino = st.st_ino;
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[0], "base_max_kb", 0));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[1], "ttl_s", 600));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[2], "read_gap_kb", 0));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[3], "restore_map", 2));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[4], "async_enabled", 1));
	ASSERT_EQ(0, ka_policy_set(variant->policy));
	/* Start with no resident base. */
	ASSERT_EQ(0, wsr_drop_caches());
	for (i = 0; i < KA_WS; i++)
		self->ws[i] = i;
}

FIXTURE_TEARDOWN(ka)
{
	int i;

	if (self->replay)
		fclose(self->replay);
	if (self->snap >= 0)
		close(self->snap);
	for (i = 0; i < 5; i++)
		EXPECT_EQ(0, wsr_knob_restore(&self->knobs[i]));
	if (self->policy[0])
		EXPECT_EQ(0, ka_policy_set(self->policy));
}

/* Open a 2 MiB region of base @off (4 KiB units); its id, or -errno. */
static int ka_open(int snap, unsigned long ino, uint64_t off,
		   struct ka_region *r)
{
	r->off = off;
	r->dev = wsr_open_region(snap, WSR_CREATE_NO_HUGE, off, KA_LEN,
				 &r->mem);
	if (r->dev < 0)
		return r->dev;
	r->id = ka_base_id(ino, off);
	return r->id ? 0 : -ENOENT;
}

static int ka_close(struct ka_region *r)
{
	uint64_t before;
	int ret = wsr_knob_get("regions", &before);

	munmap(r->mem, KA_LEN);
	close(r->dev);
	if (ret)
		return ret;
	return wsr_wait_regions(before - 1, 2000) == (int64_t)before - 1 ?
	       0 : -EBUSY;
}

/* The replay the simulator gets: one line per event, a tick per line. */
static void ka_log(FIXTURE_DATA(ka) *self, const char *fmt, ...)
{
	va_list ap;

	if (!self->replay)
		return;
	va_start(ap, fmt);
	vfprintf(self->replay, fmt, ap);
	va_end(ap);
}

/*
 * Restore the working set @times times on an open region; log every
 * restore for the simulator.  0 or -errno (-EPROTO: a counter is off).
 */
static int ka_restore(FIXTURE_DATA(ka) *self, struct ka_region *reg,
		      int times)
{
	struct wsr_restore r;
	struct ka_row row;
	int i, ret;

	for (i = 0; i < times; i++) {
		bool hit, cold;

		ret = wsr_restore(reg->dev, self->ws, KA_WS, 0, &r);
		if (ret)
			return ret;
		hit = !r.from_device && !r.from_cache;
		cold = !r.present;
		/* The first restore reads everything, the others nothing. */
		if (hit != (i > 0) || cold != (i == 0))
			return -EPROTO;
		if (!ka_row(reg->id, &row))
			return -ENOENT;
		self->t += 1000;
		ka_log(self, "restore %u %llu %d %d %llu %llu %llu\n", reg->id,
		       (unsigned long long)self->t, hit, cold,
		       (unsigned long long)r.bytes_read,
		       hit ? 1000ULL : row.cost_us * 1000, row.size);
	}
	return 0;
}

/*
 * The crafted sequence: bases A, B and C (snapshot ranges 0, 1 and 2)
 * restored 64, 8 and 1 times, released in the order A, B, C.  0 or -errno.
 */
static const int ka_times[3] = { 64, 8, 1 };

static int ka_craft(FIXTURE_DATA(ka) *self, struct ka_region *reg)
{
	int i, ret;

	for (i = 0; i < 3; i++) {
		ret = ka_open(self->snap, self->ino, i * KA_LEN, &reg[i]);
		if (ret)
			return ret;
		self->t += 1000;
		ka_log(self, "get %u %llu\n", reg[i].id,
		       (unsigned long long)self->t);
		ret = ka_restore(self, &reg[i], ka_times[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < 3; i++) {
		ret = ka_close(&reg[i]);
		if (ret)
			return ret;
		self->t += 1000;
		ka_log(self, "put %u %llu\n", reg[i].id,
		       (unsigned long long)self->t);
	}
	return 0;
}

/*
 * The crafted sequence, then the budget lowered to two bases, then one.
 * Checks every counter, the order of eviction (debugfs and tracepoint)
 * and the simulator's replay of the same sequence.
 */
TEST_F_TIMEOUT(ka, eviction_order, 300)
{
	const int *times = ka_times;
	struct ka_region reg[3];
	unsigned int ev_ids[8], sim_ids[8], nsim = 0;
	int ev_reasons[8], nev, i, k;
	uint64_t clock0, clock1;
	struct ka_row row[3];
	char line[256];
	FILE *sim;

	self->replay = fopen(KA_REPLAY, "we");
	ASSERT_NE(NULL, self->replay);
	ASSERT_LE(0, ka_rows(row, 0, &clock0));
	ka_log(self, "policy %s\nttl 600\ncap 0\nclock %llu\n",
	       variant->policy, (unsigned long long)clock0);
	ASSERT_EQ(0, ka_craft(self, reg));
	ASSERT_LE(0, ka_rows(row, 0, &clock1));
	EXPECT_EQ(clock0, clock1);
	for (i = 0; i < 3; i++) {
		ASSERT_TRUE(ka_row(reg[i].id, &row[i]));
		EXPECT_EQ(0UL, row[i].users);
		EXPECT_EQ(KA_WS_BYTES, row[i].resident);
		EXPECT_EQ(KA_WS_BYTES, row[i].size);
		EXPECT_EQ(KA_WS_BYTES, row[i].cost_bytes);
		EXPECT_EQ((unsigned long long)times[i] - 1, row[i].hits);
		EXPECT_EQ(1ULL, row[i].misses);
		EXPECT_EQ((unsigned long long)times[i], row[i].freq);
		EXPECT_LT(0ULL, row[i].cost_us);
		/* clock + freq * cost_us * 1024 / size_kb, size 1024 KiB */
		EXPECT_EQ(clock0 + times[i] * row[i].cost_us, row[i].prio);
	}
	TH_LOG("%s: cost_us A %llu B %llu C %llu", variant->policy,
	       row[0].cost_us, row[1].cost_us, row[2].cost_us);

	/* Two bases' worth, then one: one base goes each time. */
	wsr_lru_drain();
	ASSERT_EQ(0, ka_trace_start());
	for (k = 0; k < 2; k++) {
		uint64_t cap_kb = (2 - k) * KA_WS_BYTES / 1024;

		ASSERT_EQ(0, wsr_knob_set("base_max_kb", cap_kb));
		self->t += 1000;
		ka_log(self, "cap %llu\ntrim %llu\n",
		       (unsigned long long)cap_kb * 1024,
		       (unsigned long long)self->t);
		for (i = 0; i < 3; i++) {
			bool gone = false;
			int j;

			for (j = 0; j <= k; j++)
				gone |= variant->order[j] == i;
			EXPECT_EQ(gone ? 0 : KA_WS_BYTES,
				  ka_resident(&reg[i]))
				TH_LOG("step %d: base %c", k, 'A' + i);
		}
	}
	nev = ka_trace_evictions(ev_ids, ev_reasons, 8);
	ASSERT_EQ(2, nev);
	for (k = 0; k < 2; k++) {
		EXPECT_EQ(reg[variant->order[k]].id, ev_ids[k]);
		EXPECT_EQ(1, ev_reasons[k]);
	}
	ASSERT_TRUE(ka_row(reg[variant->order[2]].id, &row[0]));
	ASSERT_LE(0, ka_rows(row + 1, 0, &clock1));
	fclose(self->replay);
	self->replay = NULL;

	/* The simulator, on the same sequence, does the same. */
	sim = popen(KA_SIM " replay " KA_REPLAY, "re");
	ASSERT_NE(NULL, sim);
	while (fgets(line, sizeof(line), sim)) {
		unsigned long long freq, prio, clk;
		unsigned int id;
		int reason;

		if (sscanf(line, "evict %u %d", &id, &reason) == 2) {
			EXPECT_EQ(1, reason);
			if (nsim < 8)
				sim_ids[nsim] = id;
			nsim++;
		} else if (sscanf(line, "base %u freq %llu prio %llu", &id,
				  &freq, &prio) == 3) {
			EXPECT_EQ(row[0].id, id);
			EXPECT_EQ(row[0].freq, freq);
			EXPECT_EQ(row[0].prio, prio);
		} else if (sscanf(line, "clock %llu", &clk) == 1) {
			EXPECT_EQ(clock1, clk);
		} else {
			EXPECT_STREQ("", line) TH_LOG("simulator said this");
		}
	}
	ASSERT_EQ(0, pclose(sim)) TH_LOG(KA_SIM " failed");
	ASSERT_EQ(2U, nsim);
	for (k = 0; k < 2; k++)
		EXPECT_EQ(ev_ids[k], sim_ids[k]);
}

/*
 * Memory pressure (echo 2 > drop_caches runs every shrinker) drops the
 * unused bases in the policy's order and never a base in use.
 */
TEST_F_TIMEOUT(ka, reclaim_order, 300)
{
	struct ka_region reg[3], used;
	unsigned int ids[8];
	int reasons[8], n, k;
	struct wsr_restore r;

	ASSERT_EQ(0, ka_open(self->snap, self->ino, 3 * KA_LEN, &used));
	ASSERT_EQ(0, wsr_restore(used.dev, self->ws, KA_WS, 0, &r));
	ASSERT_EQ(0, ka_craft(self, reg));
	EXPECT_EQ(-1, wsr_cmp_file(used.mem, self->snap, used.off,
				   KA_WS_BYTES));
	wsr_lru_drain();
	ASSERT_EQ(0, ka_trace_start());
	ASSERT_EQ(0, wsr_write_text("/proc/sys/vm/drop_caches", "2"));
	n = ka_trace_evictions(ids, reasons, 8);
	ASSERT_EQ(3, n);
	for (k = 0; k < 3; k++) {
		EXPECT_EQ(reg[variant->order[k]].id, ids[k]) TH_LOG("k %d", k);
		EXPECT_EQ(3, reasons[k]);
		EXPECT_EQ(0ULL, ka_resident(&reg[k]));
	}
	EXPECT_EQ(KA_WS_BYTES, ka_resident(&used));
	EXPECT_EQ(-1, wsr_cmp_file(used.mem, self->snap, used.off,
				   KA_WS_BYTES));
	ASSERT_EQ(0, ka_close(&used));
}

/*
 * With the budget set to two bases, every restore of a new base drops
 * the oldest unused one: the bases hold exactly two bases' worth after
 * each restore, and base_trimmed grows by one base each time.
 */
TEST_F_TIMEOUT(ka, budget_respected, 300)
{
	bool lru = strcmp(variant->policy, "gdsf");
	struct ka_region reg[5];
	uint64_t trimmed0, v;
	int i, j, kept;

	ASSERT_EQ(0, wsr_knob_set("base_max_kb", 2 * KA_WS_BYTES / 1024));
	ASSERT_EQ(0, wsr_knob_get("base_trimmed", &trimmed0));
	for (i = 0; i < 5; i++) {
		struct wsr_restore r;

		wsr_lru_drain();
		ASSERT_EQ(0, ka_open(self->snap, self->ino, i * KA_LEN,
				     &reg[i]));
		ASSERT_EQ(0, wsr_restore(reg[i].dev, self->ws, KA_WS, 0, &r));
		EXPECT_EQ((uint64_t)KA_WS, r.from_device);
		ASSERT_EQ(0, wsr_knob_get("base_pages", &v));
		EXPECT_EQ((uint64_t)(i ? 2 : 1) * KA_WS, v)
			TH_LOG("after base %d", i);
		EXPECT_EQ(KA_WS_BYTES, ka_resident(&reg[i]));
		/* One earlier base stays: under lru and ttl the last one. */
		for (j = 0, kept = 0; j < i; j++)
			kept += ka_resident(&reg[j]) == KA_WS_BYTES;
		EXPECT_EQ(i ? 1 : 0, kept) TH_LOG("after base %d", i);
		if (i && lru)
			EXPECT_EQ(KA_WS_BYTES, ka_resident(&reg[i - 1]));
		ASSERT_EQ(0, wsr_knob_get("base_trimmed", &v));
		EXPECT_EQ(trimmed0 + (uint64_t)(i > 1 ? i - 1 : 0) * KA_WS, v);
		EXPECT_EQ(-1, wsr_cmp_file(reg[i].mem, self->snap, reg[i].off,
					   KA_WS_BYTES));
		ASSERT_EQ(0, ka_close(&reg[i]));
	}
}

/*
 * A base in use keeps every page whatever the budget; an unused one goes.
 * Once its region is closed, the next trim drops it too.
 */
TEST_F_TIMEOUT(ka, mapped_base_never_evicted, 300)
{
	struct ka_region used, idle;
	struct wsr_restore r;
	struct ka_row row;
	uint64_t pages;

	ASSERT_EQ(0, ka_open(self->snap, self->ino, 0, &idle));
	ASSERT_EQ(0, wsr_restore(idle.dev, self->ws, KA_WS, 0, &r));
	ASSERT_EQ(0, ka_close(&idle));
	ASSERT_EQ(0, ka_open(self->snap, self->ino, KA_LEN, &used));
	ASSERT_EQ(0, wsr_restore(used.dev, self->ws, KA_WS, 0, &r));
	/* Every page mapped (the restore mapped them; touch to be sure). */
	EXPECT_EQ(-1, wsr_cmp_file(used.mem, self->snap, used.off,
				   KA_WS_BYTES));
	wsr_lru_drain();
	ASSERT_EQ(0, wsr_knob_set("base_max_kb", 4));
	EXPECT_EQ(0ULL, ka_resident(&idle));
	ASSERT_TRUE(ka_row(used.id, &row));
	EXPECT_EQ(KA_WS_BYTES, row.resident);
	EXPECT_EQ(0ULL, row.evictions);
	EXPECT_EQ(1UL, row.users);
	ASSERT_EQ(0, wsr_knob_get("base_pages", &pages));
	EXPECT_EQ((uint64_t)KA_WS, pages);
	EXPECT_EQ(-1, wsr_cmp_file(used.mem, self->snap, used.off,
				   KA_WS_BYTES));
	/* A restore (and its trim) does not drop it either. */
	ASSERT_EQ(0, wsr_restore(used.dev, self->ws, KA_WS, 0, &r));
	EXPECT_EQ(0ULL, r.from_device + r.from_cache);
	EXPECT_EQ(KA_WS_BYTES, ka_resident(&used));
	ASSERT_EQ(0, ka_close(&used));
	wsr_lru_drain();
	ASSERT_EQ(0, wsr_knob_set("base_max_kb", 4));
	ASSERT_EQ(0, wsr_knob_get("base_pages", &pages));
	EXPECT_EQ(0ULL, pages);
}

/*
 * ttl: A released, B released a second later; 2.5 s after A's release
 * (ttl_s 2) a trim drops A and keeps B; 2.1 s later B goes.  Under the
 * other policies nothing expires.
 */
TEST_F_TIMEOUT(ka, ttl_expiry, 120)
{
	struct ka_region a, b;
	struct wsr_restore r;
	uint64_t t0;

	ASSERT_EQ(0, wsr_knob_set("ttl_s", 2));
	ASSERT_EQ(0, ka_open(self->snap, self->ino, 0, &a));
	ASSERT_EQ(0, wsr_restore(a.dev, self->ws, KA_WS, 0, &r));
	ASSERT_EQ(0, ka_close(&a));
	t0 = wsr_now_ns();
	usleep(1000000);
	ASSERT_EQ(0, ka_open(self->snap, self->ino, KA_LEN, &b));
	ASSERT_EQ(0, wsr_restore(b.dev, self->ws, KA_WS, 0, &r));
	ASSERT_EQ(0, ka_close(&b));
	while (wsr_now_ns() - t0 < 2500000000ULL)
		usleep(10000);
	wsr_lru_drain();
	/* Writing ttl_s trims. */
	ASSERT_EQ(0, wsr_knob_set("ttl_s", 2));
	if (strcmp(variant->policy, "ttl")) {
		EXPECT_EQ(KA_WS_BYTES, ka_resident(&a));
		EXPECT_EQ(KA_WS_BYTES, ka_resident(&b));
		return;
	}
	EXPECT_EQ(0ULL, ka_resident(&a));
	EXPECT_EQ(KA_WS_BYTES, ka_resident(&b));
	usleep(2100000);
	ASSERT_EQ(0, wsr_knob_set("ttl_s", 2));
	EXPECT_EQ(0ULL, ka_resident(&b));
}

/* Bad values are refused with EINVAL and change nothing. */
TEST_F(ka, bad_knob_values)
{
	static const char *const bad_policy[] = {
		"\n", "foo", "gdsf2", "GDSF", "lru lru", "1", "gds",
	};
	static const char *const bad_ttl[] = {
		"0", "-1", "abc", "604801", "1.5", "\n",
	};
	char buf[32];
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(bad_policy) / sizeof(bad_policy[0]); i++) {
		EXPECT_EQ(-EINVAL, ka_policy_set(bad_policy[i]))
			TH_LOG("policy \"%s\"", bad_policy[i]);
		ASSERT_EQ(0, ka_policy_get(buf, sizeof(buf)));
		EXPECT_STREQ(variant->policy, buf);
	}
	ASSERT_EQ(0, wsr_knob_set("ttl_s", 30));
	for (i = 0; i < sizeof(bad_ttl) / sizeof(bad_ttl[0]); i++) {
		char path[64] = WSR_SYSFS "/ttl_s";

		EXPECT_EQ(-EINVAL, wsr_write_text(path, bad_ttl[i]))
			TH_LOG("ttl_s \"%s\"", bad_ttl[i]);
		ASSERT_EQ(0, wsr_knob_get("ttl_s", &v));
		EXPECT_EQ(30ULL, v);
	}
	/* Every good name, with or without a newline. */
	EXPECT_EQ(0, ka_policy_set("lru\n"));
	ASSERT_EQ(0, ka_policy_get(buf, sizeof(buf)));
	EXPECT_STREQ("lru", buf);
	EXPECT_EQ(0, ka_policy_set("ttl"));
	ASSERT_EQ(0, ka_policy_get(buf, sizeof(buf)));
	EXPECT_STREQ("ttl", buf);
	EXPECT_EQ(0, ka_policy_set("gdsf"));
	ASSERT_EQ(0, ka_policy_get(buf, sizeof(buf)));
	EXPECT_STREQ("gdsf", buf);
	EXPECT_EQ(0, wsr_knob_set("ttl_s", 604800));
}

#define KA_WSRTOP	"/usr/bin/wsrtop"
#define KA_TOP_OUT	"/tmp/wsr-ka-wsrtop.out"
#define KA_TOP_ERR	"/tmp/wsr-ka-wsrtop.err"

/* Start wsrtop --json and wait for its ready line: its pid or -errno. */
static int ka_wsrtop_start(void)
{
	char buf[4096];
	pid_t pid;
	int i;

	unlink(KA_TOP_ERR);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		int out = open(KA_TOP_OUT, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(KA_TOP_ERR, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(127);
		execl(KA_WSRTOP, "wsrtop", "--json", (char *)NULL);
		_exit(127);
	}
	/* Loading the BPF programs takes a while on the debug kernel. */
	for (i = 0; i < 1200; i++) {
		if (!wsr_read_text(KA_TOP_ERR, buf, sizeof(buf)) &&
		    strstr(buf, "wsrtop: ready"))
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -ECHILD;
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -ETIMEDOUT;
}

/*
 * wsrtop counts what the keep-alive tracepoints report: two misses and
 * two hits over two bases, then both bases dropped for the budget.
 */
TEST_F_TIMEOUT(ka, wsrtop_counts, 300)
{
	static char out[65536];
	struct ka_region a, b;
	struct wsr_restore r;
	int pid, status;
	uint64_t v;

	ASSERT_EQ(0, access(KA_WSRTOP, X_OK)) TH_LOG("missing " KA_WSRTOP);
	pid = ka_wsrtop_start();
	ASSERT_LT(0, pid) TH_LOG("wsrtop: %s", strerror(-pid));

	ASSERT_EQ(0, ka_open(self->snap, self->ino, 0, &a));
	ASSERT_EQ(0, wsr_restore(a.dev, self->ws, KA_WS, 0, &r));
	ASSERT_EQ(0, wsr_restore(a.dev, self->ws, KA_WS, 0, &r));
	ASSERT_EQ(0, wsr_restore(a.dev, self->ws, KA_WS, 0, &r));
	ASSERT_EQ(0, ka_close(&a));
	ASSERT_EQ(0, ka_open(self->snap, self->ino, KA_LEN, &b));
	ASSERT_EQ(0, wsr_restore(b.dev, self->ws, KA_WS, 0, &r));
	ASSERT_EQ(0, ka_close(&b));
	wsr_lru_drain();
	ASSERT_EQ(0, wsr_knob_set("base_max_kb", 4));
	EXPECT_EQ(0ULL, ka_resident(&a));
	EXPECT_EQ(0ULL, ka_resident(&b));

	ASSERT_EQ(0, kill(pid, SIGINT));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	ASSERT_EQ(0, wsr_read_text(KA_TOP_OUT, out, sizeof(out)));
	ASSERT_EQ(0, wsr_json_u64(out, "ka_restores", &v)) TH_LOG("%s", out);
	EXPECT_EQ(4ULL, v);
	ASSERT_EQ(0, wsr_json_u64(out, "ka_hits", &v));
	EXPECT_EQ(2ULL, v);
	ASSERT_EQ(0, wsr_json_u64(out, "ka_misses", &v));
	EXPECT_EQ(2ULL, v);
	ASSERT_EQ(0, wsr_json_u64(out, "ka_read_bytes", &v));
	EXPECT_EQ(2 * KA_WS_BYTES, v);
	ASSERT_EQ(0, wsr_json_u64(out, "ka_evict_budget", &v));
	EXPECT_EQ(2ULL, v);
	ASSERT_EQ(0, wsr_json_u64(out, "ka_evict_ttl", &v));
	EXPECT_EQ(0ULL, v);
	ASSERT_EQ(0, wsr_json_u64(out, "ka_evict_reclaim", &v));
	EXPECT_EQ(0ULL, v);
	ASSERT_EQ(0, wsr_json_u64(out, "ka_evict_bytes", &v));
	EXPECT_EQ(2 * KA_WS_BYTES, v);
}

WSR_HARNESS_MAIN
