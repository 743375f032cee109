// SPDX-License-Identifier: GPL-2.0
/*
 * kabench: the keep-alive policies in the test VM, restores issued from a
 * trace through wsr (make bench-keepalive-vm; not part of make check).
 *
 * The trace (/usr/share/wsr/ka-trace-vm.txt, gen-trace.py: 64 functions,
 * 6 hours of the Azure Functions shape, working sets divided by 32) maps
 * function i to snapshot i: the 4 MiB range [i * 4 MiB, (i + 1) * 4 MiB)
 * of /data/snap-256M, a base of its own, whose working set is its first
 * ws_kb.  Invocations are replayed in trace order in virtual time, as
 * wsr-kasim replays them: each opens a region over its snapshot, restores
 * the working set, keeps the region open and mapped until its virtual end
 * (start + duration + the simulator's modelled restore time) and closes
 * it; regions whose end comes before an arrival close first.  Each run
 * starts from dropped caches under one policy and one budget and prints
 * one line: invocations, cold starts (restores that read), restore time
 * as measured (debug kernel, shared machine: relative only), time-averaged
 * (over virtual time) and peak base memory, and what wsr-kasim gets on the
 * same trace.  TTL is not run: the module's TTL counts real seconds, and
 * a replay in virtual time has none.
 *
 * Checked: after every restore the bases hold at most the budget or, when
 * more, only bases in use; every restore's bytes are the snapshot's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define KB_TRACE	"/usr/share/wsr/ka-trace-vm.txt"
#define KB_SNAP		"/data/snap-256M"
#define KB_SIM		"/usr/bin/wsr-kasim"
#define KB_SPAN		(4ULL << 20)
#define KB_MAX_FN	64
#define KB_WS_MAX	(KB_SPAN / WSR_PAGE)

struct kb_inv {
	uint64_t t_ms, dur_ms;
	uint32_t fn;
};

/* An open region and its virtual end. */
struct kb_open {
	uint64_t end_ns;
	uint32_t fn;
	int dev;
	char *mem;
};

struct kb_trace {
	uint64_t ws_kb[KB_MAX_FN];
	uint32_t nfn;
	struct kb_inv *inv;
	size_t ninv;
};

static int kb_load(struct kb_trace *tr)
{
	unsigned long long a, b, c;
	char line[256];
	size_t cap = 0;
	FILE *f = fopen(KB_TRACE, "re");

	if (!f)
		return -errno;
	memset(tr, 0, sizeof(*tr));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "fn %llu %*s %llu", &a, &b) == 2) {
			if (a != tr->nfn || a >= KB_MAX_FN ||
			    b > KB_WS_MAX * 4) {
				fclose(f);
				return -EINVAL;
			}
			tr->ws_kb[tr->nfn++] = b;
		} else if (sscanf(line, "inv %llu %llu %llu", &a, &b,
				  &c) == 3) {
			if (b >= tr->nfn) {
				fclose(f);
				return -EINVAL;
			}
			if (tr->ninv == cap) {
				cap = cap ? 2 * cap : 4096;
				tr->inv = realloc(tr->inv,
						  cap * sizeof(*tr->inv));
				if (!tr->inv) {
					fclose(f);
					return -ENOMEM;
				}
			}
			tr->inv[tr->ninv].t_ms = a;
			tr->inv[tr->ninv].fn = b;
			tr->inv[tr->ninv].dur_ms = c;
			tr->ninv++;
		}
	}
	fclose(f);
	return tr->nfn ? 0 : -EINVAL;
}

/* wsr-kasim's restore model (kasim.c, defaults): its virtual duration. */
static uint64_t kb_model_ns(uint64_t ws_kb, bool hit)
{
	uint64_t ws = ws_kb << 10;

	if (hit)
		return (uint64_t)(1 * 1e6) + (ws >> 12) * 250;
	return (uint64_t)(20 * 1e6 + ws / (400.0 * 1048576) * 1e9);
}

/* wsr-kasim's cold starts on the same trace, policy and budget. */
static long kb_sim_cold(const char *policy, uint64_t budget_kb,
			double *ratio)
{
	char cmd[256], line[1024], *p;
	long cold = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), KB_SIM " trace " KB_TRACE
		 " --policy %s --budget-mb %.4f", policy, budget_kb / 1024.0);
	f = popen(cmd, "re");
	if (!f)
		return -errno;
	if (fgets(line, sizeof(line), f)) {
		p = strstr(line, "\"cold\":");
		if (p)
			cold = strtol(p + 7, NULL, 10);
		p = strstr(line, "\"cold_ratio\":");
		if (p)
			*ratio = strtod(p + 13, NULL);
	}
	if (pclose(f))
		return -EIO;
	return cold;
}

static void kb_close(struct kb_open *o, size_t len)
{
	munmap(o->mem, len);
	close(o->dev);
}

FIXTURE(kb)
{
	struct kb_trace tr;
	int snap;
	char policy[16];
	struct wsr_knob_save knobs[3];
};

FIXTURE_VARIANT(kb)
{
	const char *policy;
	uint64_t budget_kb;
};

FIXTURE_VARIANT_ADD(kb, gdsf_8m) { .policy = "gdsf", .budget_kb = 8192 };
FIXTURE_VARIANT_ADD(kb, lru_8m) { .policy = "lru", .budget_kb = 8192 };
FIXTURE_VARIANT_ADD(kb, gdsf_16m) { .policy = "gdsf", .budget_kb = 16384 };
FIXTURE_VARIANT_ADD(kb, lru_16m) { .policy = "lru", .budget_kb = 16384 };
FIXTURE_VARIANT_ADD(kb, gdsf_32m) { .policy = "gdsf", .budget_kb = 32768 };
FIXTURE_VARIANT_ADD(kb, lru_32m) { .policy = "lru", .budget_kb = 32768 };

FIXTURE_SETUP(kb)
{
	int dev, ret;

	self->snap = -1;
	self->tr.inv = NULL;
	self->policy[0] = 0;
	dev = wsr_open();
	if (dev == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, dev);
	close(dev);
	ret = kb_load(&self->tr);
	ASSERT_EQ(0, ret) TH_LOG("cannot load " KB_TRACE ": %s",
				 strerror(-ret));
	self->snap = open(KB_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " KB_SNAP);
	ASSERT_EQ(0, wsr_read_text(WSR_SYSFS "/policy", self->policy,
				   sizeof(self->policy)));
	self->policy[strcspn(self->policy, "\n")] = 0;
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[0], "base_max_kb", 0));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[1], "read_gap_kb", 0));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[2], "restore_map", 2));
	ASSERT_EQ(0, wsr_write_text(WSR_SYSFS "/policy", variant->policy));
	ASSERT_EQ(0, wsr_drop_caches());
	ASSERT_EQ(0, wsr_knob_set("base_max_kb", variant->budget_kb));
}

FIXTURE_TEARDOWN(kb)
{
	int i;

	free(self->tr.inv);
	if (self->snap >= 0)
		close(self->snap);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, wsr_knob_restore(&self->knobs[i]));
	if (self->policy[0])
		EXPECT_EQ(0, wsr_write_text(WSR_SYSFS "/policy",
					    self->policy));
}

TEST_F_TIMEOUT(kb, replay, 1200)
{
	static uint64_t ws[KB_WS_MAX];
	uint64_t cap_pages = variant->budget_kb / 4, peak = 0, inuse[KB_MAX_FN];
	uint64_t restore_ns = 0, last_t = 0, cold = 0, over = 0, bad = 0;
	struct kb_open *open_r;
	size_t nopen = 0, i, k;
	double area = 0, sim_ratio = 0;
	long sim;

	for (i = 0; i < KB_WS_MAX; i++)
		ws[i] = i;
	memset(inuse, 0, sizeof(inuse));
	open_r = calloc(self->tr.ninv, sizeof(*open_r));
	ASSERT_NE(NULL, open_r);
	for (i = 0; i < self->tr.ninv; i++) {
		const struct kb_inv *v = &self->tr.inv[i];
		uint64_t t = v->t_ms * 1000000ULL, npg = self->tr.ws_kb[v->fn] / 4;
		uint64_t pages, t0, inuse_pages = 0;
		struct wsr_restore r;
		struct kb_open *o;
		bool hit;

		/* Regions whose virtual end came first close first. */
		for (;;) {
			size_t min = nopen;

			for (k = 0; k < nopen; k++)
				if (open_r[k].end_ns <= t &&
				    (min == nopen ||
				     open_r[k].end_ns < open_r[min].end_ns))
					min = k;
			if (min == nopen)
				break;
			inuse[open_r[min].fn]--;
			kb_close(&open_r[min], KB_SPAN);
			open_r[min] = open_r[--nopen];
		}
		ASSERT_EQ(0, wsr_knob_get("base_pages", &pages));
		area += (double)pages * (t - last_t);
		last_t = t;

		o = &open_r[nopen];
		o->fn = v->fn;
		o->dev = wsr_open_region(self->snap, WSR_CREATE_NO_HUGE,
					 v->fn * KB_SPAN, KB_SPAN, &o->mem);
		ASSERT_LE(0, o->dev) TH_LOG("invocation %zu", i);
		t0 = wsr_now_ns();
		ASSERT_EQ(0, wsr_restore(o->dev, ws, npg, 0, &r));
		restore_ns += wsr_now_ns() - t0;
		hit = !r.from_device && !r.from_cache;
		cold += !hit;
		o->end_ns = t + kb_model_ns(self->tr.ws_kb[v->fn], hit) +
			    v->dur_ms * 1000000ULL;
		inuse[v->fn]++;
		nopen++;
		/* The first page of the working set is the snapshot's. */
		bad += !wsr_page_equal(o->mem, self->snap, v->fn * KB_SPAN);

		ASSERT_EQ(0, wsr_knob_get("base_pages", &pages));
		if (pages > peak)
			peak = pages;
		for (k = 0; k < self->tr.nfn; k++)
			if (inuse[k])
				inuse_pages += self->tr.ws_kb[k] / 4;
		/* Over the budget only with nothing unused left. */
		if (pages > cap_pages && pages > inuse_pages)
			over++;
	}
	for (k = 0; k < nopen; k++)
		kb_close(&open_r[k], KB_SPAN);
	free(open_r);
	/*
	 * Pages still in a CPU's LRU add batch cannot be dropped, so a
	 * trim can fall short now and then (the keepalive suite drains
	 * first and checks the budget exactly): at most 1% of restores.
	 */
	EXPECT_LE(over * 100, self->tr.ninv) TH_LOG("over budget %llu times",
						   (unsigned long long)over);
	EXPECT_EQ(0ULL, bad);

	sim = kb_sim_cold(variant->policy, variant->budget_kb, &sim_ratio);
	EXPECT_LE(0, sim);
	printf("# kabench: policy=%s budget_kb=%llu invocations=%zu cold=%llu cold_ratio=%.4f restore_ms=%.0f mem_avg_kb=%.0f mem_peak_kb=%llu over=%llu sim_cold=%ld sim_cold_ratio=%.4f\n",
	       variant->policy, (unsigned long long)variant->budget_kb,
	       self->tr.ninv, (unsigned long long)cold,
	       (double)cold / self->tr.ninv, restore_ns / 1e6,
	       last_t ? area / last_t * 4 : 0, (unsigned long long)peak * 4,
	       (unsigned long long)over, sim, sim_ratio);
}

WSR_HARNESS_MAIN
