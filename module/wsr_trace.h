/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wsr tracepoints (TRACE_SYSTEM wsr), for ftrace and BPF raw_tp programs.
 * The TP_PROTO argument orders are a contract with the BPF tool.
 *
 * Accounting, exactly matching struct wsr_stats of the region:
 *  - one wsr_fault per guest fault the .fault handler serves (a retried
 *    fault once; not the faults a restore takes to map its working set;
 *    pages fault-around maps never reach the handler): faults; huge ->
 *    faults_huge; source POOL (page already loaded, possibly after waiting
 *    for another loader) -> faults_present, CACHE (the fault loaded its unit
 *    without device I/O) -> faults_cache, DEVICE (it read from the device)
 *    -> faults_device.
 *  - a !huge CACHE or DEVICE fault loaded one 4 KiB page: +1 to
 *    pages_cache or pages_device (+4096 bytes_read).  It emits no
 *    wsr_restore_run.
 *  - every other load (restores, and a huge fault loading a 2 MiB chunk,
 *    whose runs come before its wsr_fault) emits one wsr_restore_run per
 *    contiguous run of one source: npages are added to pages_cache or
 *    pages_device (npages * 4096 to bytes_read).  A device read request
 *    emits one per contiguous piece it loads; the holes it reads across
 *    (read_gap_kb) go to bytes_gap, which no event reports.
 *  - wsr_restore_done per WSR_IOC_RESTORE (sync), or at the end of the
 *    background part of an async one, with that restore's totals.
 *  - no event reports decompress_ns or chunks_decompressed.
 *
 * Keep-alive (wsr_keepalive.c), per base:
 *  - wsr_ka_load per successful restore of a base with a non-empty working
 *    set (sync: after its mapping; async: at the end of its background
 *    part): hit when it read nothing; bytes it read; its duration; the
 *    base's frequency and GDSF priority after it.
 *  - wsr_ka_evict per base the policy drops: reason 1 (over base_max_kb),
 *    2 (unused for ttl_s) or 3 (memory pressure, the shrinker); bytes
 *    dropped; frequency and priority before; how long it had been unused.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM wsr

#if !defined(_WSR_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _WSR_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(wsr_region_create,
	TP_PROTO(u32 region, u64 offset, u64 length, u32 flags),
	TP_ARGS(region, offset, length, flags),
	TP_STRUCT__entry(
		__field(u32, region)
		__field(u32, flags)
		__field(u64, offset)
		__field(u64, length)
	),
	TP_fast_assign(
		__entry->region = region;
		__entry->flags = flags;
		__entry->offset = offset;
		__entry->length = length;
	),
	TP_printk("region=%u offset=%llu length=%llu flags=0x%x",
		  __entry->region, __entry->offset, __entry->length,
		  __entry->flags)
);

TRACE_EVENT(wsr_region_destroy,
	TP_PROTO(u32 region, u64 faults, u64 bytes_read),
	TP_ARGS(region, faults, bytes_read),
	TP_STRUCT__entry(
		__field(u32, region)
		__field(u64, faults)
		__field(u64, bytes_read)
	),
	TP_fast_assign(
		__entry->region = region;
		__entry->faults = faults;
		__entry->bytes_read = bytes_read;
	),
	TP_printk("region=%u faults=%llu bytes_read=%llu",
		  __entry->region, __entry->faults, __entry->bytes_read)
);

TRACE_EVENT(wsr_fault,
	TP_PROTO(u32 region, u64 index, bool huge, int source, u64 latency_ns),
	TP_ARGS(region, index, huge, source, latency_ns),
	TP_STRUCT__entry(
		__field(u32, region)
		__field(bool, huge)
		__field(int, source)
		__field(u64, index)
		__field(u64, latency_ns)
	),
	TP_fast_assign(
		__entry->region = region;
		__entry->huge = huge;
		__entry->source = source;
		__entry->index = index;
		__entry->latency_ns = latency_ns;
	),
	TP_printk("region=%u index=%llu huge=%d source=%d latency_ns=%llu",
		  __entry->region, __entry->index, __entry->huge,
		  __entry->source, __entry->latency_ns)
);

TRACE_EVENT(wsr_restore_run,
	TP_PROTO(u32 region, u64 index, u64 npages, int source,
		 u64 latency_ns),
	TP_ARGS(region, index, npages, source, latency_ns),
	TP_STRUCT__entry(
		__field(u32, region)
		__field(int, source)
		__field(u64, index)
		__field(u64, npages)
		__field(u64, latency_ns)
	),
	TP_fast_assign(
		__entry->region = region;
		__entry->source = source;
		__entry->index = index;
		__entry->npages = npages;
		__entry->latency_ns = latency_ns;
	),
	TP_printk("region=%u index=%llu npages=%llu source=%d latency_ns=%llu",
		  __entry->region, __entry->index, __entry->npages,
		  __entry->source, __entry->latency_ns)
);

TRACE_EVENT(wsr_restore_done,
	TP_PROTO(u32 region, u64 pages_cache, u64 pages_device, u64 bytes_read,
		 u64 latency_ns),
	TP_ARGS(region, pages_cache, pages_device, bytes_read, latency_ns),
	TP_STRUCT__entry(
		__field(u32, region)
		__field(u64, pages_cache)
		__field(u64, pages_device)
		__field(u64, bytes_read)
		__field(u64, latency_ns)
	),
	TP_fast_assign(
		__entry->region = region;
		__entry->pages_cache = pages_cache;
		__entry->pages_device = pages_device;
		__entry->bytes_read = bytes_read;
		__entry->latency_ns = latency_ns;
	),
	TP_printk("region=%u pages_cache=%llu pages_device=%llu bytes_read=%llu latency_ns=%llu",
		  __entry->region, __entry->pages_cache, __entry->pages_device,
		  __entry->bytes_read, __entry->latency_ns)
);

TRACE_EVENT(wsr_ka_load,
	TP_PROTO(u32 base, bool hit, u64 bytes, u64 latency_ns, u64 freq,
		 u64 prio),
	TP_ARGS(base, hit, bytes, latency_ns, freq, prio),
	TP_STRUCT__entry(
		__field(u32, base)
		__field(bool, hit)
		__field(u64, bytes)
		__field(u64, latency_ns)
		__field(u64, freq)
		__field(u64, prio)
	),
	TP_fast_assign(
		__entry->base = base;
		__entry->hit = hit;
		__entry->bytes = bytes;
		__entry->latency_ns = latency_ns;
		__entry->freq = freq;
		__entry->prio = prio;
	),
	TP_printk("base=%u hit=%d bytes=%llu latency_ns=%llu freq=%llu prio=%llu",
		  __entry->base, __entry->hit, __entry->bytes,
		  __entry->latency_ns, __entry->freq, __entry->prio)
);

TRACE_EVENT(wsr_ka_evict,
	TP_PROTO(u32 base, int reason, u64 bytes, u64 freq, u64 prio,
		 u64 idle_ns),
	TP_ARGS(base, reason, bytes, freq, prio, idle_ns),
	TP_STRUCT__entry(
		__field(u32, base)
		__field(int, reason)
		__field(u64, bytes)
		__field(u64, freq)
		__field(u64, prio)
		__field(u64, idle_ns)
	),
	TP_fast_assign(
		__entry->base = base;
		__entry->reason = reason;
		__entry->bytes = bytes;
		__entry->freq = freq;
		__entry->prio = prio;
		__entry->idle_ns = idle_ns;
	),
	TP_printk("base=%u reason=%d bytes=%llu freq=%llu prio=%llu idle_ns=%llu",
		  __entry->base, __entry->reason, __entry->bytes,
		  __entry->freq, __entry->prio, __entry->idle_ns)
);

#endif /* _WSR_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE wsr_trace
#include <trace/define_trace.h>
