// SPDX-License-Identifier: GPL-2.0
/*
 * wsr record: the first-touch order of the pages of a range, the one
 * record type of both trackers (a region's, wsr_tracker.c, and a plain
 * file's, wsr_filetrack.c) and of WSR_IOC_GET_WS.
 *
 * Lock order: wsr_record.mutex -> mmap_lock (the copy-out faults) ->
 * wsr_record.lock (spinlock, leaf).  Touches are recorded from fault paths
 * and tracepoint probes under wsr_record.lock alone; the arrays are
 * replaced and freed with wsr_record.mutex held as well, so a holder of
 * the mutex reads @ents[0, @count) without the spinlock (entries below the
 * count it read are never written again).  Memory is bounded by the
 * tracker_capacity knob, sampled at start; first touches beyond it are
 * counted as dropped.
 */
#include <linux/ktime.h>
#include <linux/slab.h>

#include "wsr_internal.h"

/**
 * wsr_record_init() - an empty record, not recording
 * @rec: record
 *
 * Context: any.
 */
void wsr_record_init(struct wsr_record *rec)
{
	mutex_init(&rec->mutex);
	spin_lock_init(&rec->lock);
}

/* Swap in new arrays (NULL to drop the record); the old ones come back. */
static void wsr_record_swap(struct wsr_record *rec, unsigned long **seen,
			    struct wsr_ws_entry **ents, u64 cap, bool on)
{
	lockdep_assert_held(&rec->mutex);
	spin_lock(&rec->lock);
	swap(rec->seen, *seen);
	swap(rec->ents, *ents);
	rec->cap = cap;
	rec->count = 0;
	rec->dropped = 0;
	rec->start = ktime_get_ns();
	WRITE_ONCE(rec->on, on);
	spin_unlock(&rec->lock);
}

/**
 * wsr_record_start() - drop any record and record anew, time zero now
 * @rec:    record
 * @npages: pages in the range
 *
 * Return: 0 or -ENOMEM (the old record is kept then).
 * Context: process context, may sleep; takes wsr_record.mutex.
 */
int wsr_record_start(struct wsr_record *rec, pgoff_t npages)
{
	u64 cap = min_t(u64, READ_ONCE(wsr_tracker_capacity), npages);
	struct wsr_ws_entry *ents;
	unsigned long *seen;

	seen = kvcalloc(BITS_TO_LONGS(npages), sizeof(long),
			GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	ents = kvmalloc_array(max_t(u64, cap, 1), sizeof(*ents),
			      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!seen || !ents) {
		kvfree(seen);
		kvfree(ents);
		return -ENOMEM;
	}
	mutex_lock(&rec->mutex);
	wsr_record_swap(rec, &seen, &ents, cap, true);
	mutex_unlock(&rec->mutex);
	kvfree(seen);
	kvfree(ents);
	return 0;
}

/**
 * wsr_record_stop() - stop recording, keep the record
 * @rec: record
 *
 * Context: any, takes wsr_record.lock.
 */
void wsr_record_stop(struct wsr_record *rec)
{
	spin_lock(&rec->lock);
	WRITE_ONCE(rec->on, false);
	spin_unlock(&rec->lock);
}

/**
 * wsr_record_reset() - stop recording and drop the record
 * @rec: record
 *
 * Context: process context, may sleep; takes wsr_record.mutex.
 */
void wsr_record_reset(struct wsr_record *rec)
{
	struct wsr_ws_entry *ents = NULL;
	unsigned long *seen = NULL;

	mutex_lock(&rec->mutex);
	wsr_record_swap(rec, &seen, &ents, 0, false);
	mutex_unlock(&rec->mutex);
	kvfree(seen);
	kvfree(ents);
}

/**
 * wsr_record_free() - free a record nobody touches any more
 * @rec: record
 *
 * Context: process context.
 */
void wsr_record_free(struct wsr_record *rec)
{
	wsr_record_reset(rec);
	mutex_destroy(&rec->mutex);
}

/**
 * wsr_record_on() - is the record recording?
 * @rec: record
 *
 * Return: true while recording (a racy snapshot).
 * Context: any.
 */
bool wsr_record_on(struct wsr_record *rec)
{
	return READ_ONCE(rec->on);
}

/**
 * wsr_record_touch() - note a touch of a page
 * @rec:   record
 * @index: page index in the range
 *
 * Only the first touch since wsr_record_start() is recorded.
 *
 * Context: any (fault paths, tracepoint probes), takes wsr_record.lock.
 */
void wsr_record_touch(struct wsr_record *rec, pgoff_t index)
{
	if (!READ_ONCE(rec->on))
		return;
	spin_lock(&rec->lock);
	if (rec->on && !__test_and_set_bit(index, rec->seen)) {
		if (rec->count < rec->cap) {
			rec->ents[rec->count].index = index;
			rec->ents[rec->count].ns = ktime_get_ns() - rec->start;
			rec->count++;
		} else {
			rec->dropped++;
		}
	}
	spin_unlock(&rec->lock);
}

/**
 * wsr_record_counts() - entries recorded and touches dropped
 * @rec:     record
 * @count:   (out) entries in the record
 * @dropped: (out) first touches not recorded (capacity)
 *
 * Context: any, takes wsr_record.lock.
 */
void wsr_record_counts(struct wsr_record *rec, u64 *count, u64 *dropped)
{
	spin_lock(&rec->lock);
	*count = rec->count;
	*dropped = rec->dropped;
	spin_unlock(&rec->lock);
}
