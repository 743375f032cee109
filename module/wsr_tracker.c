// SPDX-License-Identifier: GPL-2.0
/*
 * wsr tracker: in-kernel record of each 4 KiB page's first touch.
 *
 * Lock order: wsr_region.mutex -> wsr_tracker.lock (leaf spinlock).  The
 * fault handler takes only wsr_tracker.lock; the record arrays are
 * allocated, replaced and freed with wsr_region.mutex held as well, so an
 * ioctl holding the mutex can copy recorded entries out without the
 * spinlock (entries below the count it read are never written again).
 *
 * Faults are recorded at 4 KiB granularity: WSR_TRACK_START zaps every
 * mapping of the region's base, and while recording every page, a subpage
 * of a 2 MiB folio included, is mapped by its own PTE (see wsr_fault.c), so
 * the first touch of each page after START faults, whether or not the page
 * was loaded or mapped before.  A touch racing with START itself may count as
 * before it.  Memory is bounded by the tracker_capacity knob; first touches
 * beyond it are counted as dropped.
 */
#include <linux/ktime.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "wsr_internal.h"

/**
 * wsr_tracker_init() - initialise a region's tracker, not recording
 * @r: region
 *
 * Return: 0.
 * Context: any.
 */
int wsr_tracker_init(struct wsr_region *r)
{
	spin_lock_init(&r->track.lock);
	return 0;
}

/* Swap in new arrays (NULL to drop the record); returns the old ones. */
static void wsr_tracker_swap(struct wsr_region *r, unsigned long **seen,
			     struct wsr_ws_entry **ents, u64 cap, bool on)
{
	struct wsr_tracker *t = &r->track;

	lockdep_assert_held(&r->mutex);
	spin_lock(&t->lock);
	swap(t->seen, *seen);
	swap(t->ents, *ents);
	t->cap = cap;
	t->count = 0;
	t->dropped = 0;
	t->start = ktime_get_ns();
	WRITE_ONCE(t->on, on);
	spin_unlock(&t->lock);
}

/**
 * wsr_tracker_free() - free a region's record
 * @r: region
 *
 * Context: process context; nobody can fault on the region any more.
 */
void wsr_tracker_free(struct wsr_region *r)
{
	kvfree(r->track.seen);
	kvfree(r->track.ents);
	r->track.seen = NULL;
	r->track.ents = NULL;
}

/**
 * wsr_tracker_op() - WSR_IOC_TRACK operations
 * @r:  region
 * @op: WSR_TRACK_START (drop any record, begin recording, time zero is
 *      now, then zap the region's mappings), WSR_TRACK_STOP (stop, keep the
 *      record) or WSR_TRACK_RESET (stop and drop the record)
 *
 * Return: 0, -EINVAL for an unknown op, -ENOMEM.
 * Context: process context, wsr_region.mutex held, may sleep.
 */
int wsr_tracker_op(struct wsr_region *r, u32 op)
{
	struct wsr_tracker *t = &r->track;
	struct wsr_ws_entry *ents = NULL;
	unsigned long *seen = NULL;
	u64 cap;

	lockdep_assert_held(&r->mutex);
	switch (op) {
	case WSR_TRACK_START:
		cap = min_t(u64, READ_ONCE(wsr_tracker_capacity), r->npages);
		seen = kvcalloc(BITS_TO_LONGS(r->npages), sizeof(long),
				GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		ents = kvmalloc_array(max_t(u64, cap, 1), sizeof(*ents),
				      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!seen || !ents) {
			kvfree(seen);
			kvfree(ents);
			return -ENOMEM;
		}
		wsr_tracker_swap(r, &seen, &ents, cap, true);
		/*
		 * Pages mapped until now must fault again to be recorded:
		 * zap the base from every mapping (other regions' too; they
		 * refault from the base, their copied pages stay).
		 */
		wsr_base_unmap(r->base);
		break;
	case WSR_TRACK_STOP:
		spin_lock(&t->lock);
		WRITE_ONCE(t->on, false);
		spin_unlock(&t->lock);
		return 0;
	case WSR_TRACK_RESET:
		wsr_tracker_swap(r, &seen, &ents, 0, false);
		break;
	default:
		return -EINVAL;
	}
	kvfree(seen);
	kvfree(ents);
	return 0;
}

/**
 * wsr_tracker_recording() - is the tracker recording?
 * @r: region
 *
 * Return: true while recording (a racy snapshot).
 * Context: any.
 */
bool wsr_tracker_recording(struct wsr_region *r)
{
	return READ_ONCE(r->track.on);
}

/**
 * wsr_tracker_record() - note a touch of a page
 * @r:     region
 * @index: page index in the region
 *
 * Only the first touch since WSR_TRACK_START is recorded.
 *
 * Context: fault handler (mmap_lock held), takes wsr_tracker.lock.
 */
void wsr_tracker_record(struct wsr_region *r, pgoff_t index)
{
	struct wsr_tracker *t = &r->track;

	if (!READ_ONCE(t->on))
		return;
	spin_lock(&t->lock);
	if (t->on && !__test_and_set_bit(index, t->seen)) {
		if (t->count < t->cap) {
			t->ents[t->count].index = index;
			t->ents[t->count].ns = ktime_get_ns() - t->start;
			t->count++;
		} else {
			t->dropped++;
		}
	}
	spin_unlock(&t->lock);
}

/**
 * wsr_tracker_get() - WSR_IOC_GET_WS: copy the record out
 * @r:   region
 * @arg: validated here; count, flags and dropped set on return
 *
 * Return: 0, -EINVAL (pad, reserved), -ENOSPC (capacity too small, count
 * holds the number needed), -EFAULT.
 * Context: process context, takes wsr_region.mutex.
 */
int wsr_tracker_get(struct wsr_region *r, struct wsr_get_ws *arg)
{
	struct wsr_tracker *t = &r->track;
	u64 cap = arg->count, n;
	int ret = 0;

	if (arg->pad || memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;

	mutex_lock(&r->mutex);
	spin_lock(&t->lock);
	n = t->count;
	arg->dropped = t->dropped;
	spin_unlock(&t->lock);
	arg->count = n;
	arg->flags = arg->dropped ? WSR_WS_OVERFLOW : 0;
	if (cap < n)
		ret = -ENOSPC;
	else if (n && copy_to_user(u64_to_user_ptr(arg->entries), t->ents,
				   n * sizeof(*t->ents)))
		ret = -EFAULT;
	mutex_unlock(&r->mutex);
	return ret;
}
