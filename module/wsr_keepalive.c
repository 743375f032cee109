// SPDX-License-Identifier: GPL-2.0
/*
 * wsr keep-alive: which unused bases stay resident under base_max_kb.
 *
 * A base nobody maps is a warm start kept for the next restore of its
 * snapshot.  When the bases hold more than base_max_kb, wsr_base_trim()
 * drops unused bases one at a time, in the order this file decides
 * (policy):
 *
 *  gdsf  Greedy-Dual-Size-Frequency (FaaSCache, ASPLOS'21).  Each restore
 *        of a base sets its priority to
 *
 *		clock + freq * cost_us * 1024 / size_kb
 *
 *        freq: restores since the base was last loaded from nothing;
 *        cost_us: the duration of its last cold restore (one that found
 *        none of its pages resident); size_kb: what the base held after
 *        the restore.  The lowest priority goes first; dropping a base
 *        raises the clock to its priority, so that bases not restored
 *        for a long time age out even when they were popular once.
 *  lru   the base used longest ago goes first.
 *  ttl   a base unused for ttl_s seconds goes (at the next trim) whatever
 *        the budget; over the budget, the base used longest ago goes
 *        first.
 *
 * Memory pressure (the shrinker in wsr_base.c) drops unused bases in the
 * same order.
 *
 * "Used" is the end of a restore or the close of the last region of the
 * base.  A restore is a hit when every page it asked for was resident and
 * nothing was read; otherwise a miss.  Ties go to the lower base id.
 *
 * This file only keeps the numbers and compares them; it calls nothing of
 * wsr's.  wsr_base_lock (wsr_base.c owns the table of bases) protects
 * struct wsr_ka and the clock: every function that reads or changes them
 * is called with it held (see each one's Context).
 * The userspace simulator (userspace/keepalive/ka_policy.h) is a port of
 * this file; keep the two in step.
 */
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "wsr_internal.h"
#include "wsr_trace.h"

/* Knobs (shown by wsr_sysfs.c). */
unsigned long wsr_ka_policy = WSR_KA_GDSF;
unsigned long wsr_ttl_s = 600;

/* GDSF inflation clock; protected by wsr_base_lock */
static u64 wsr_ka_clock;

static const char * const wsr_ka_names[] = {
	[WSR_KA_GDSF] = "gdsf",
	[WSR_KA_LRU] = "lru",
	[WSR_KA_TTL] = "ttl",
};

/**
 * wsr_ka_policy_parse() - a policy from its name
 * @buf: "gdsf", "lru" or "ttl", optionally followed by a newline
 *
 * Return: enum wsr_ka_policy, or -EINVAL.
 * Context: any.
 */
int wsr_ka_policy_parse(const char *buf)
{
	int i = sysfs_match_string(wsr_ka_names, buf);

	return i < 0 ? -EINVAL : i;
}

/**
 * wsr_ka_policy_name() - the name of a policy
 * @policy: enum wsr_ka_policy
 *
 * Return: its name, "?" for a value out of range.
 * Context: any.
 */
const char *wsr_ka_policy_name(unsigned long policy)
{
	return policy < ARRAY_SIZE(wsr_ka_names) ? wsr_ka_names[policy] : "?";
}

/**
 * wsr_ka_init() - keep-alive state of a new base
 * @ka: zeroed state
 * @id: the base's id
 *
 * Context: any.
 */
void wsr_ka_init(struct wsr_ka *ka, u32 id)
{
	ka->id = id;
	ka->last_ns = ktime_get_ns();
}

/**
 * wsr_ka_priority() - GDSF priority from its parts
 * @clock:   GDSF clock
 * @freq:    restores since the base was loaded from nothing
 * @cost_us: duration of its last cold restore, microseconds
 * @size:    resident bytes
 *
 * @freq is capped at 2^20 and @cost_us at 2^32 - 1 so that the product
 * fits 64 bits.
 *
 * Return: the priority.
 * Context: any.
 */
u64 wsr_ka_priority(u64 clock, u64 freq, u64 cost_us, u64 size)
{
	u64 kb = max_t(u64, size >> 10, 1);

	freq = min_t(u64, freq, WSR_KA_FREQ_MAX);
	cost_us = min_t(u64, cost_us, WSR_KA_COST_MAX);
	return clock + div64_u64(freq * cost_us * 1024, kb);
}

/**
 * wsr_ka_restored() - account a restore of a base
 * @ka:      the base's state
 * @hit:     every page asked for was resident, nothing was read
 * @cold:    none of them was resident: a cold restore, whose cost counts
 * @bytes:   bytes the restore read
 * @ns:      its duration
 * @size:    bytes the base holds now
 *
 * Context: wsr_base_lock held.
 */
void wsr_ka_restored(struct wsr_ka *ka, bool hit, bool cold, u64 bytes,
		     u64 ns, u64 size)
{
	if (hit)
		ka->hits++;
	else
		ka->misses++;
	/* A partly warm restore says less about the cost than none. */
	if (!hit && (cold || !ka->cost_us)) {
		ka->cost_us = max_t(u64, div_u64(ns, NSEC_PER_USEC), 1);
		ka->cost_bytes = bytes;
	}
	ka->freq++;
	ka->size = size;
	ka->prio = wsr_ka_priority(wsr_ka_clock, ka->freq, ka->cost_us, size);
	ka->last_ns = ktime_get_ns();
	trace_wsr_ka_load(ka->id, hit, bytes, ns, ka->freq, ka->prio);
}

/**
 * wsr_ka_released() - the last region of a base closed
 * @ka: the base's state
 *
 * Context: wsr_base_lock held.
 */
void wsr_ka_released(struct wsr_ka *ka)
{
	ka->last_ns = ktime_get_ns();
}

/**
 * wsr_ka_expiring() - may bases expire whatever the budget?
 *
 * Return: true under the ttl policy.
 * Context: any.
 */
bool wsr_ka_expiring(void)
{
	return READ_ONCE(wsr_ka_policy) == WSR_KA_TTL;
}

/**
 * wsr_ka_expired() - has an unused base outlived ttl_s?
 * @ka:  the base's state
 * @now: ktime_get_ns() of the trim
 *
 * Return: true under the ttl policy when the base was last used ttl_s
 * seconds or more before @now.
 * Context: wsr_base_lock held.
 */
bool wsr_ka_expired(const struct wsr_ka *ka, u64 now)
{
	return wsr_ka_expiring() &&
	       now - ka->last_ns >= (u64)READ_ONCE(wsr_ttl_s) * NSEC_PER_SEC;
}

/**
 * wsr_ka_before() - does @a go before @b?
 * @a: state of an unused base
 * @b: state of another one
 *
 * Return: true when the policy drops @a first.
 * Context: wsr_base_lock held.
 */
bool wsr_ka_before(const struct wsr_ka *a, const struct wsr_ka *b)
{
	if (READ_ONCE(wsr_ka_policy) == WSR_KA_GDSF && a->prio != b->prio)
		return a->prio < b->prio;
	if (a->last_ns != b->last_ns)
		return a->last_ns < b->last_ns;
	return a->id < b->id;
}

/**
 * wsr_ka_evicted() - an unused base was dropped
 * @ka:      the base's state
 * @reason:  enum wsr_ka_reason
 * @bytes:   bytes dropped
 * @now:     ktime_get_ns() of the trim
 *
 * Under gdsf a budget or reclaim eviction raises the clock to the base's
 * priority.
 * The base starts again from nothing: frequency 0.
 *
 * Context: wsr_base_lock held.
 */
void wsr_ka_evicted(struct wsr_ka *ka, int reason, u64 bytes, u64 now)
{
	if (reason != WSR_KA_EXPIRED &&
	    READ_ONCE(wsr_ka_policy) == WSR_KA_GDSF)
		wsr_ka_clock = max(wsr_ka_clock, ka->prio);
	trace_wsr_ka_evict(ka->id, reason, bytes, ka->freq, ka->prio,
			   now - ka->last_ns);
	ka->evictions++;
	ka->freq = 0;
}

/**
 * wsr_ka_show_head() - debugfs: the policy, the clock and column names
 * @m: seq_file of /sys/kernel/debug/wsr/bases
 *
 * Context: wsr_base_lock held.
 */
void wsr_ka_show_head(struct seq_file *m)
{
	seq_printf(m, "policy %s clock %llu ttl_s %lu\n",
		   wsr_ka_policy_name(READ_ONCE(wsr_ka_policy)), wsr_ka_clock,
		   READ_ONCE(wsr_ttl_s));
}

/**
 * wsr_ka_show() - debugfs: one base's keep-alive columns
 * @m:   seq_file
 * @ka:  the base's state
 * @now: ktime_get_ns() of the read
 *
 * Context: wsr_base_lock held.
 */
void wsr_ka_show(struct seq_file *m, const struct wsr_ka *ka, u64 now)
{
	seq_printf(m, " hits %llu misses %llu freq %llu cost_us %llu cost_bytes %llu size %llu prio %llu idle_ms %llu evictions %llu",
		   ka->hits, ka->misses, ka->freq, ka->cost_us,
		   ka->cost_bytes, ka->size, ka->prio,
		   div_u64(now - ka->last_ns, NSEC_PER_MSEC), ka->evictions);
}
