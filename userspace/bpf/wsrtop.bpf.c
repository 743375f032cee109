// SPDX-License-Identifier: GPL-2.0
/*
 * wsrtop - kernel side: count wsr.ko's tracepoints per region.
 *
 * The programs attach with raw_tp, whose context is the array of the
 * tracepoint's TP_PROTO arguments widened to u64, so neither the kernel nor
 * the module needs BTF.  The argument lists below must match module/
 * wsr_trace.h in order and number: attaching fails with -EINVAL when a
 * program reads more arguments than the tracepoint has.
 *
 * Per-region counters live in the "regions" hash map, keyed by region id
 * and a generation because the module reuses the ids of destroyed regions;
 * the runs a task has issued but not yet ended (with a huge fault or a
 * restore_done) wait in "pending"; the latency histograms are in the
 * "hists" array.  No global data (see struct wsrtop_config).  Counters are
 * updated with atomic adds because faults on one region are served on
 * several CPUs at once.
 */
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/wsr.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "wsrtop.h"

#define WSRTOP_MAX_REGIONS	4096
#define WSRTOP_MAX_TASKS	1024

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wsrtop_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WSRTOP_HIST_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WSRTOP_MISC_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} misc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WSRTOP_MAX_REGIONS);
	__type(key, struct wsrtop_key);
	__type(value, struct wsrtop_region);
} regions SEC(".maps");

/* Region id -> generation of its current region. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WSRTOP_MAX_REGIONS);
	__type(key, __u32);
	__type(value, __u32);
} gens SEC(".maps");

/* Thread id -> runs it issued and has not ended yet. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WSRTOP_MAX_TASKS);
	__type(key, __u32);
	__type(value, struct wsrtop_pending);
} pending SEC(".maps");

/* Keep-alive counters, WSRTOP_KA_* (wsrtop.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WSRTOP_KA_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} ka SEC(".maps");

/* Never written: the zeros new map entries are created from. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wsrtop_region);
} zeros SEC(".maps");

static __always_inline void count(void *map, __u32 index)
{
	__u64 *v = bpf_map_lookup_elem(map, &index);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void add(void *map, __u32 index, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, &index);

	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline void count_lost(void)
{
	count(&misc, WSRTOP_MISC_LOST);
}

static __always_inline bool region_ignored(__u32 region)
{
	__u32 zero = 0;
	struct wsrtop_config *c = bpf_map_lookup_elem(&config, &zero);

	return c && c->filter && region != c->region;
}

static __always_inline const void *zero_value(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&zeros, &zero);
}

/* Return the current region of this id, creating its entry on first sight. */
static __always_inline struct wsrtop_region *region_get(__u32 region)
{
	struct wsrtop_key key = { .region = region };
	struct wsrtop_region *r;
	const void *zero;
	__u32 *gen;

	gen = bpf_map_lookup_elem(&gens, &region);
	if (gen)
		key.gen = *gen;
	r = bpf_map_lookup_elem(&regions, &key);
	if (r)
		return r;
	zero = zero_value();
	if (!zero)
		return NULL;
	/* -EEXIST when another CPU won the race: look up its entry. */
	bpf_map_update_elem(&regions, &key, zero, BPF_NOEXIST);
	r = bpf_map_lookup_elem(&regions, &key);
	if (!r)
		count_lost();
	return r;
}

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/*
 * Unknown sources (negative ones included) count at index 0.  The barrier
 * and the mask keep the index provably small for the verifier: without
 * them clang checks a zero-extended copy and indexes with the original.
 */
static __always_inline __u32 src_index(int source)
{
	__u32 s = source;

	if (s > WSR_SRC_DEVICE)
		s = 0;
	barrier_var(s);
	return s & (WSRTOP_NR_SRC - 1);
}

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	barrier_var(r);
	return r & (WSRTOP_HIST_SLOTS - 1);
}

static __always_inline void touch(struct wsrtop_region *r)
{
	__u64 now = bpf_ktime_get_ns();

	if (!r->first_ns)
		r->first_ns = now;
	r->last_ns = now;
}

SEC("raw_tp/wsr_region_create")
int BPF_PROG(on_region_create, __u32 region, __u64 offset, __u64 length,
	     __u32 flags)
{
	struct wsrtop_key key = { .region = region, .gen = 1 };
	const void *zero = zero_value();
	struct wsrtop_region *r;
	__u32 *gen;

	if (region_ignored(region) || !zero)
		return 0;
	/* The module reuses ids: a new generation keeps the old entry. */
	gen = bpf_map_lookup_elem(&gens, &region);
	if (gen)
		key.gen = *gen + 1;
	if (bpf_map_update_elem(&gens, &region, &key.gen, BPF_ANY) ||
	    bpf_map_update_elem(&regions, &key, zero, BPF_ANY)) {
		count_lost();
		return 0;
	}
	r = bpf_map_lookup_elem(&regions, &key);
	if (!r)
		return 0;
	r->offset = offset;
	r->length = length;
	r->flags = flags;
	r->seen |= WSRTOP_SEEN_CREATE;
	touch(r);
	return 0;
}

SEC("raw_tp/wsr_region_destroy")
int BPF_PROG(on_region_destroy, __u32 region, __u64 faults, __u64 bytes_read)
{
	struct wsrtop_region *r;

	if (region_ignored(region))
		return 0;
	r = region_get(region);
	if (!r)
		return 0;
	r->end_faults = faults;
	r->end_bytes = bytes_read;
	r->seen |= WSRTOP_SEEN_DESTROY;
	touch(r);
	return 0;
}

SEC("raw_tp/wsr_fault")
int BPF_PROG(on_fault, __u32 region, __u64 index, bool huge, int source,
	     __u64 latency_ns)
{
	__u32 s = src_index(source), slot = log2_slot(latency_ns);
	__u32 tid = current_tid();
	struct wsrtop_pending *p;
	struct wsrtop_region *r;
	int i;

	if (region_ignored(region))
		return 0;
	r = region_get(region);
	if (!r)
		return 0;
	__sync_fetch_and_add(&r->faults, 1);
	if (huge)
		__sync_fetch_and_add(&r->faults_huge, 1);
	__sync_fetch_and_add(&r->faults_src[s], 1);
	/* A 2 MiB fault accounts its loads as runs, a 4 KiB one here. */
	if (!huge && s != WSR_SRC_POOL)
		__sync_fetch_and_add(&r->fault_pages[s], 1);
	__sync_fetch_and_add(&r->fault_ns, latency_ns);
	count(&hists, WSRTOP_HIST_FAULT(s) + slot);

	/* Runs this task issued just before a huge fault loaded its chunk. */
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p && p->region == region) {
		if (huge) {
			__sync_fetch_and_add(&r->chunk_runs, p->runs);
			for (i = 0; i < WSRTOP_NR_SRC; i++)
				__sync_fetch_and_add(&r->chunk_pages[i],
						     p->pages[i]);
		}
		bpf_map_delete_elem(&pending, &tid);
	}
	touch(r);
	return 0;
}

SEC("raw_tp/wsr_restore_run")
int BPF_PROG(on_restore_run, __u32 region, __u64 index, __u64 npages,
	     int source, __u64 latency_ns)
{
	__u32 s = src_index(source), slot = log2_slot(latency_ns);
	__u32 tid = current_tid();
	struct wsrtop_pending *p;
	struct wsrtop_region *r;
	const void *zero;

	if (region_ignored(region))
		return 0;
	r = region_get(region);
	if (!r)
		return 0;
	__sync_fetch_and_add(&r->runs_src[s], 1);
	__sync_fetch_and_add(&r->run_pages[s], npages);
	__sync_fetch_and_add(&r->run_ns, latency_ns);
	count(&hists, WSRTOP_HIST_RUN(s) + slot);
	touch(r);

	/* Only this task touches its entry: no atomics needed. */
	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p || p->region != region) {
		zero = zero_value();
		if (!zero ||
		    bpf_map_update_elem(&pending, &tid, zero, BPF_ANY))
			return 0;
		p = bpf_map_lookup_elem(&pending, &tid);
		if (!p)
			return 0;
		p->region = region;
	}
	p->runs++;
	p->pages[s] += npages;
	return 0;
}

SEC("raw_tp/wsr_ka_load")
int BPF_PROG(on_ka_load, __u32 base, bool hit, __u64 bytes, __u64 latency_ns,
	     __u64 freq, __u64 prio)
{
	count(&ka, WSRTOP_KA_LOADS);
	count(&ka, hit ? WSRTOP_KA_HITS : WSRTOP_KA_MISSES);
	add(&ka, WSRTOP_KA_READ, bytes);
	return 0;
}

SEC("raw_tp/wsr_ka_evict")
int BPF_PROG(on_ka_evict, __u32 base, int reason, __u64 bytes, __u64 freq,
	     __u64 prio, __u64 idle_ns)
{
	/* enum wsr_ka_reason: 1 budget, 2 ttl, 3 reclaim */
	count(&ka, reason == 3 ? WSRTOP_KA_EVICT_RECLAIM :
		   reason == 2 ? WSRTOP_KA_EVICT_TTL : WSRTOP_KA_EVICT_BUDGET);
	add(&ka, WSRTOP_KA_EVICT_BYTES, bytes);
	return 0;
}

SEC("raw_tp/wsr_restore_done")
int BPF_PROG(on_restore_done, __u32 region, __u64 pages_cache,
	     __u64 pages_device, __u64 bytes_read, __u64 latency_ns)
{
	__u32 slot = log2_slot(latency_ns);
	__u32 tid = current_tid();
	struct wsrtop_pending *p;
	struct wsrtop_region *r;
	int i;

	if (region_ignored(region))
		return 0;
	r = region_get(region);
	if (!r)
		return 0;
	__sync_fetch_and_add(&r->restores, 1);
	__sync_fetch_and_add(&r->done_cache, pages_cache);
	__sync_fetch_and_add(&r->done_device, pages_device);
	__sync_fetch_and_add(&r->done_bytes, bytes_read);
	count(&hists, WSRTOP_HIST_RESTORE + slot);

	p = bpf_map_lookup_elem(&pending, &tid);
	if (p && p->region == region) {
		__sync_fetch_and_add(&r->restore_runs, p->runs);
		for (i = 0; i < WSRTOP_NR_SRC; i++)
			__sync_fetch_and_add(&r->restore_pages[i],
					     p->pages[i]);
		bpf_map_delete_elem(&pending, &tid);
	}
	touch(r);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
