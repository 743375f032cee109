// SPDX-License-Identifier: GPL-2.0
/*
 * wsr tracker: a region's record of each 4 KiB page's first touch.
 *
 * Lock order: wsr_region.mutex -> wsr_record.mutex -> wsr_record.lock.
 * The fault handler only records (wsr_record.lock).
 *
 * Faults are recorded at 4 KiB granularity: WSR_TRACK_START zaps every
 * mapping of the region's base, and while recording every page, a subpage
 * of a 2 MiB folio included, is mapped by its own PTE and nothing is
 * mapped around a fault (see wsr_fault.c), so the first touch of each page
 * after START faults, whether or not the page was loaded or mapped before.
 * A touch racing with START itself may count as before it.
 */
#include "wsr_internal.h"

/**
 * wsr_tracker_op() - WSR_IOC_TRACK operations
 * @r:  region
 * @op: WSR_TRACK_START (drop any record, begin recording, time zero is
 *      now, then zap the base's mappings), WSR_TRACK_STOP (stop, keep the
 *      record) or WSR_TRACK_RESET (stop and drop the record)
 *
 * Return: 0, -EINVAL for an unknown op, -ENOMEM.
 * Context: process context, wsr_region.mutex held, may sleep.
 */
int wsr_tracker_op(struct wsr_region *r, u32 op)
{
	int ret;

	lockdep_assert_held(&r->mutex);
	switch (op) {
	case WSR_TRACK_START:
		ret = wsr_record_start(&r->track, r->npages);
		if (ret)
			return ret;
		/*
		 * Pages mapped until now must fault again to be recorded:
		 * zap the base from every mapping (other regions' too; they
		 * refault from the base, their copied pages stay).
		 */
		wsr_base_unmap(r->base);
		return 0;
	case WSR_TRACK_STOP:
		wsr_record_stop(&r->track);
		return 0;
	case WSR_TRACK_RESET:
		wsr_record_reset(&r->track);
		return 0;
	default:
		return -EINVAL;
	}
}

/**
 * wsr_tracker_recording() - is the region's tracker recording?
 * @r: region
 *
 * Return: true while recording (a racy snapshot).
 * Context: any.
 */
bool wsr_tracker_recording(struct wsr_region *r)
{
	return wsr_record_on(&r->track);
}

/**
 * wsr_tracker_record() - note a touch of a region page
 * @r:     region
 * @index: page index in the region
 *
 * Context: fault handler (mmap_lock held), takes wsr_record.lock.
 */
void wsr_tracker_record(struct wsr_region *r, pgoff_t index)
{
	wsr_record_touch(&r->track, index);
}
