/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wsrtop - types shared by wsrtop.bpf.c (kernel side) and wsrtop.c.
 *
 * Only fixed-width types: the same layout is seen by clang -target bpf and
 * by the host compiler.  The BPF side uses maps only, no global data (see
 * struct wsrtop_config).
 */
#ifndef WSRTOP_H
#define WSRTOP_H

/*
 * Counters are indexed by enum wsr_source (WSR_SRC_POOL = 1, WSR_SRC_CACHE,
 * WSR_SRC_DEVICE); index 0 counts values the tool does not know, which
 * must stay zero.
 */
#define WSRTOP_NR_SRC		4
#define WSRTOP_HIST_SLOTS	64	/* log2 ns buckets, one per bit */
#define WSRTOP_PAGE_SIZE	4096ULL
#define WSRTOP_HUGE_PAGES	512ULL	/* 4 KiB pages in a 2 MiB folio */

/*
 * The "hists" array map: log2 latency histograms in ns, WSRTOP_HIST_SLOTS
 * buckets each: faults by source, then runs by source, then whole
 * restores.
 */
#define WSRTOP_HIST_FAULT(src)	((src) * WSRTOP_HIST_SLOTS)
#define WSRTOP_HIST_RUN(src)	((WSRTOP_NR_SRC + (src)) * WSRTOP_HIST_SLOTS)
#define WSRTOP_HIST_RESTORE	(2 * WSRTOP_NR_SRC * WSRTOP_HIST_SLOTS)
#define WSRTOP_HIST_ENTRIES	(WSRTOP_HIST_RESTORE + WSRTOP_HIST_SLOTS)

/* The "misc" array map: index WSRTOP_MISC_LOST counts events not counted
 * because a map was full.
 */
#define WSRTOP_MISC_LOST	0
#define WSRTOP_MISC_ENTRIES	1

/*
 * The "ka" array map: keep-alive of the snapshot bases (wsr_ka_load and
 * wsr_ka_evict), module-wide (bases are not regions: --region does not
 * filter them).
 */
#define WSRTOP_KA_LOADS		0	/* restores of a base */
#define WSRTOP_KA_HITS		1	/* of those, all resident, nothing read */
#define WSRTOP_KA_MISSES	2	/* of those, something read */
#define WSRTOP_KA_READ		3	/* bytes those restores read */
#define WSRTOP_KA_EVICT_BUDGET	4	/* bases dropped over base_max_kb */
#define WSRTOP_KA_EVICT_TTL	5	/* bases dropped unused for ttl_s */
#define WSRTOP_KA_EVICT_BYTES	6	/* bytes dropped */
#define WSRTOP_KA_EVICT_RECLAIM	7	/* bases dropped by memory pressure */
#define WSRTOP_KA_ENTRIES	8

/**
 * struct wsrtop_config - the "config" array map's one entry, written by
 * userspace between load and attach
 * @filter: non-zero: trace only @region
 * @region: region id to trace
 *
 * Knobs are a map rather than .rodata because libbpf (1.1) decides whether
 * the kernel supports global data by loading a socket filter program,
 * which a kernel without CONFIG_NET (the test kernel) refuses.
 */
struct wsrtop_config {
	__u32 filter;
	__u32 region;
};

/* struct wsrtop_region.seen */
#define WSRTOP_SEEN_CREATE	(1U << 0)	/* wsr_region_create traced */
#define WSRTOP_SEEN_DESTROY	(1U << 1)	/* wsr_region_destroy traced */

/**
 * struct wsrtop_key - key of the regions map
 * @region: the module's region id (ids of destroyed regions are reused)
 * @gen:    how many wsr_region_create of that id the tool saw; 0 for a
 *          region created before the tool started
 */
struct wsrtop_key {
	__u32 region;
	__u32 gen;
};

/**
 * struct wsrtop_region - what the tool saw of one region
 * @offset:        wsr_region_create: offset in the snapshot file
 * @length:        wsr_region_create: region length in bytes
 * @flags:         wsr_region_create: WSR_CREATE_* flags
 * @seen:          WSRTOP_SEEN_*
 * @faults:        wsr_fault events
 * @faults_huge:   of those, with huge set
 * @faults_src:    wsr_fault events by source
 * @fault_pages:   4 KiB pages loaded by 4 KiB faults, by source
 * @fault_ns:      sum of fault latencies
 * @runs_src:      wsr_restore_run events by source
 * @run_pages:     4 KiB pages loaded by those runs, by source
 * @run_ns:        sum of run latencies
 * @chunk_runs:    of the runs, those that loaded a 2 MiB chunk for a fault
 * @chunk_pages:   their pages, by source
 * @restore_runs:  of the runs, those of a restore that completed
 * @restore_pages: their pages, by source
 * @restores:      wsr_restore_done events
 * @done_cache:    sum of wsr_restore_done pages_cache
 * @done_device:   sum of wsr_restore_done pages_device
 * @done_bytes:    sum of wsr_restore_done bytes_read
 * @end_faults:    wsr_region_destroy: the module's fault count
 * @end_bytes:     wsr_region_destroy: the module's bytes_read
 * @first_ns:      bpf_ktime_get_ns() of the first event
 * @last_ns:       bpf_ktime_get_ns() of the latest event
 *
 * A run is attributed when the task that issued it ends the load: with a
 * huge wsr_fault (a chunk load) or with wsr_restore_done (a restore).
 * Until then it is in flight, counted in struct wsrtop_pending.
 */
struct wsrtop_region {
	__u64 offset;
	__u64 length;
	__u32 flags;
	__u32 seen;
	__u64 faults;
	__u64 faults_huge;
	__u64 faults_src[WSRTOP_NR_SRC];
	__u64 fault_pages[WSRTOP_NR_SRC];
	__u64 fault_ns;
	__u64 runs_src[WSRTOP_NR_SRC];
	__u64 run_pages[WSRTOP_NR_SRC];
	__u64 run_ns;
	__u64 chunk_runs;
	__u64 chunk_pages[WSRTOP_NR_SRC];
	__u64 restore_runs;
	__u64 restore_pages[WSRTOP_NR_SRC];
	__u64 restores;
	__u64 done_cache;
	__u64 done_device;
	__u64 done_bytes;
	__u64 end_faults;
	__u64 end_bytes;
	__u64 first_ns;
	__u64 last_ns;
};

/**
 * struct wsrtop_pending - runs a task issued and has not ended yet, keyed
 * by thread id
 * @region: region id of the runs
 * @pad:    zero
 * @runs:   wsr_restore_run events
 * @pages:  their pages, by source
 */
struct wsrtop_pending {
	__u32 region;
	__u32 pad;
	__u64 runs;
	__u64 pages[WSRTOP_NR_SRC];
};

#endif /* WSRTOP_H */
