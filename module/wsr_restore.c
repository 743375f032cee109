// SPDX-License-Identifier: GPL-2.0
/*
 * wsr restore: load a working set into the base and map it.
 *
 * Lock order: wsr_region.mutex -> mmap_lock -> {wsr_region.lock,
 * wsr_region.stat_lock}.  Loads run without wsr locks (wsr_base.c).
 *
 * WSR_IOC_RESTORE takes a working set in first-touch order.  Synchronous:
 * the pages are loaded into the base in index order, read_batch_kb of
 * units at a time (each batch is published before the next is claimed),
 * then mapped into the caller's mappings of the region, so that the
 * guest's first touch of a working-set page takes no host fault (a PMD for
 * a 2 MiB folio).  Units the base holds already cost nothing, and units
 * another restore is loading are waited for, not read again: restores of
 * one snapshot read every unit once, however many run at a time.
 *
 * Asynchronous: a work item loads the first read_batch_kb of the working
 * set in first-touch order (what the guest touches first), then the rest
 * in index order while the VMM runs; faults map what it has loaded, load
 * what it has not reached, and wait for what it is loading.  It is
 * charged to the memory cgroup of the task that asked.
 *
 * With WSR_RESTORE_LAZY_CACHE, 4 KiB units found in the snapshot's page
 * cache are left out: a fault copies each one when touched, so a working
 * set wider than one run's needs costs nothing for the pages it does not
 * touch.
 */
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/ktime.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "wsr_internal.h"
#include "wsr_trace.h"

/* Pages of a fault-around window (fault_around_bytes' default). */
#define WSR_AROUND_PAGES	16

/* Where a region is mapped in the caller's address space. */
struct wsr_map_range {
	unsigned long start;
	unsigned long end;
	pgoff_t pgoff;
};

#define WSR_MAP_RANGES		8

/* The caller's mappings of @r, at most WSR_MAP_RANGES of them. */
static unsigned int wsr_map_ranges(struct wsr_region *r, struct mm_struct *mm,
				   struct wsr_map_range *mr)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;
	unsigned int n = 0;

	lockdep_assert_held(&mm->mmap_lock);
	for_each_vma(vmi, vma) {
		if (!wsr_fault_is_region_vma(r, vma))
			continue;
		mr[n].start = vma->vm_start;
		mr[n].end = vma->vm_end;
		mr[n].pgoff = vma->vm_pgoff;
		if (++n == WSR_MAP_RANGES)
			break;
	}
	return n;
}

/*
 * Map the sorted working set into the caller's mappings of the region by
 * read faults that find every unit loaded: fault-around maps a window of
 * 4 KiB folios, or the PMD of a 2 MiB folio, per call.
 */
static void wsr_restore_map_ws(struct wsr_region *r, const pgoff_t *pages,
			       unsigned long n)
{
	struct wsr_map_range mr[WSR_MAP_RANGES];
	unsigned long how = READ_ONCE(wsr_restore_map);
	struct mm_struct *mm = current->mm;
	unsigned long i, done = 0;
	unsigned int nr, k;
	bool unlocked, huge;

	if (!mm || !n || !how || wsr_tracker_recording(r))
		return;
	WRITE_ONCE(r->mapper, current);
	mmap_read_lock(mm);
	nr = wsr_map_ranges(r, mm, mr);
	for (i = 0; i < n && nr; i++) {
		unsigned long step;

		if (i && pages[i] < done)
			continue;
		huge = wsr_base_unit_huge(r->base, pages[i], false);
		if (!huge && how < 2)
			continue;
		step = huge ? WSR_CHUNK_PAGES : WSR_AROUND_PAGES;
		done = round_down(pages[i], step) + step;
		for (k = 0; k < nr; k++) {
			unsigned long addr;

			if (pages[i] < mr[k].pgoff ||
			    pages[i] - mr[k].pgoff >=
			    (mr[k].end - mr[k].start) >> PAGE_SHIFT)
				continue;
			addr = mr[k].start +
			       ((pages[i] - mr[k].pgoff) << PAGE_SHIFT);
			unlocked = false;
			/* A VMA that changed meanwhile is simply not ours. */
			if (!fixup_user_fault(mm, addr, 0, &unlocked) &&
			    !unlocked)
				continue;
			nr = wsr_map_ranges(r, mm, mr);
			break;
		}
		if (fatal_signal_pending(current))
			break;
		if (!(i & 255) && need_resched()) {
			mmap_read_unlock(mm);
			cond_resched();
			mmap_read_lock(mm);
			nr = wsr_map_ranges(r, mm, mr);
		}
	}
	mmap_read_unlock(mm);
	WRITE_ONCE(r->mapper, NULL);
}

/**
 * wsr_restore_work() - background part of an asynchronous restore
 * @work: wsr_async.work of a region
 *
 * Context: workqueue (wsr_wq), may sleep.
 */
void wsr_restore_work(struct work_struct *work)
{
	struct wsr_async *a = container_of(work, struct wsr_async, work);
	struct wsr_region *r = container_of(a, struct wsr_region, async);
	unsigned long batch = wsr_read_batch_pages(), pos = 0;
	struct wsr_load_stats ls = {};
	struct mem_cgroup *old;
	unsigned long *ws;
	int ret = 0;

	/* set_active_memcg() needs a symbol modules do not get. */
	old = current->active_memcg;
	current->active_memcg = a->memcg;
	while (pos < a->npages && !READ_ONCE(a->stop)) {
		struct wsr_load_stats one = {};
		unsigned long k = min(batch, a->npages - pos);

		ret = wsr_base_load(r->base, a->pages + pos, k, false, true,
				    r->id, &one);
		wsr_stats_add_load(r, &one);
		ls.cache += one.cache;
		ls.device += one.device;
		ls.bytes += one.bytes;
		ls.present += one.present;
		pos += k;
		spin_lock(&r->lock);
		a->pending -= min_t(u64, a->pending, k);
		spin_unlock(&r->lock);
		if (ret) {
			pr_warn_ratelimited("region %u: background restore stopped: %d\n",
					    r->id, ret);
			break;
		}
		cond_resched();
	}
	current->active_memcg = old;
	trace_wsr_restore_done(r->id, ls.cache, ls.device, ls.bytes,
			       ktime_get_ns() - a->start);
	if (!ret && pos >= a->npages)
		wsr_base_restored(r->base, &ls, !ls.cache && !ls.device,
				  ktime_get_ns() - a->start);
	wsr_base_trim();

	kvfree(a->pages);
	a->pages = NULL;
	mem_cgroup_put(a->memcg);
	a->memcg = NULL;
	spin_lock(&r->lock);
	a->pending = 0;
	/* Reported by the next WSR_IOC_WAIT. */
	a->err = a->stop ? 0 : ret;
	r->async_active = false;
	ws = a->ws;
	a->ws = NULL;
	spin_unlock(&r->lock);
	bitmap_free(ws);
	wake_up_all(&r->wq);
}

/**
 * wsr_restore_stop() - stop a background restore and wait for it
 * @r: region
 *
 * Context: process context, may sleep; the region is being destroyed.
 */
void wsr_restore_stop(struct wsr_region *r)
{
	WRITE_ONCE(r->async.stop, true);
	flush_work(&r->async.work);
}

/**
 * wsr_restore_wait() - WSR_IOC_WAIT: wait for a background restore
 * @r:   region
 * @arg: validated by the caller
 *
 * Return: 0 when no restore is pending, -ETIMEDOUT or -EINTR; the first
 * wait after a background restore stopped on an error returns that error.
 * Context: process context, sleeps interruptibly.
 */
int wsr_restore_wait(struct wsr_region *r, const struct wsr_wait *arg)
{
	long timeout = arg->timeout_ms ? msecs_to_jiffies(arg->timeout_ms) :
			MAX_SCHEDULE_TIMEOUT;
	long ret;
	int err;

	ret = wait_event_interruptible_timeout(r->wq,
					       !READ_ONCE(r->async_active),
					       timeout);
	if (ret < 0)
		return -EINTR;
	if (!ret)
		return -ETIMEDOUT;
	spin_lock(&r->lock);
	err = r->async.err;
	r->async.err = 0;
	spin_unlock(&r->lock);
	return err;
}

/*
 * Rewrite @pages[@from..@n) as the pages of @set in index order: the set
 * is a bitmap already, a sort would cost far more.
 */
static void wsr_restore_sorted(struct wsr_region *r, pgoff_t *pages,
			       unsigned long from, unsigned long n,
			       unsigned long *set)
{
	unsigned long i;

	for_each_set_bit(i, set, r->npages) {
		if (WARN_ON_ONCE(from >= n))
			break;
		pages[from++] = i;
	}
}

/* Hand the pages to the worker; they are its to free. */
static void wsr_restore_queue(struct wsr_region *r, pgoff_t *pages,
			      unsigned long *set, unsigned long n, u64 t0)
{
	unsigned long head = min(wsr_read_batch_pages(), n), i;
	unsigned long *ws;

	/* The head in first-touch order, the rest sorted. */
	for (i = 0; i < head; i++)
		__clear_bit(pages[i], set);
	wsr_restore_sorted(r, pages, head, n, set);
	/* Its 4 KiB units, for faults not to read around them. */
	ws = bitmap_zalloc(r->npages, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	for (i = 0; ws && i < n; i++)
		if (!wsr_base_unit_huge(r->base, pages[i], false))
			__set_bit(pages[i], ws);
	r->async.pages = pages;
	r->async.npages = n;
	r->async.stop = false;
	r->async.start = t0;
	r->async.memcg = get_mem_cgroup_from_mm(current->mm);
	spin_lock(&r->lock);
	r->async.pending = n;
	r->async.err = 0;
	r->async.ws = ws;
	r->async_active = true;
	spin_unlock(&r->lock);
	queue_work(wsr_wq, &r->async.work);
}

/**
 * wsr_restore() - WSR_IOC_RESTORE: load a working set and map it
 * @r:     region
 * @order: unique page indices below the region's size, first-touch order
 * @set:   the same pages as a bitmap of the region's pages
 * @n:     entries in @order
 * @arg:   flags validated by the caller; counters filled in on success
 *
 * This function owns @order and @set and frees them.
 *
 * Return: 0, -EBUSY (an asynchronous restore is running), -ENOMEM, -EINTR
 * or the -errno of a failed read.
 * Context: process context, may sleep; takes wsr_region.mutex.
 */
int wsr_restore(struct wsr_region *r, pgoff_t *order, unsigned long *set,
		unsigned long n, struct wsr_restore *arg)
{
	bool async = arg->flags & WSR_RESTORE_ASYNC;
	bool lazy = arg->flags & WSR_RESTORE_LAZY_CACHE;
	bool record = wsr_tracker_recording(r);
	struct wsr_load_stats ls = {};
	u64 t0 = ktime_get_ns(), left = 0;
	unsigned long i, nu = 0;
	bool first_ws = false;
	u16 *ws_per_chunk;
	int ret = 0;

	if (!READ_ONCE(wsr_async_enabled))
		async = false;
	if (mutex_lock_killable(&r->mutex)) {
		ret = -EINTR;
		goto out_free;
	}
	if (READ_ONCE(r->async_active)) {
		ret = -EBUSY;
		goto out_unlock;
	}
	ws_per_chunk = kvcalloc(r->base->nchunks, sizeof(*ws_per_chunk),
				GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!ws_per_chunk) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	for (i = 0; i < n; i++)
		ws_per_chunk[order[i] >> WSR_CHUNK_ORDER]++;
	/* An empty working set decides nothing. */
	if (n && !record)
		first_ws = wsr_base_decide_ws(r->base, ws_per_chunk);
	kvfree(ws_per_chunk);

	/* Lazy: a cached 4 KiB page is copied when it is touched. */
	for (i = 0; i < n; i++) {
		if (lazy && !wsr_base_unit_huge(r->base, order[i], record) &&
		    !wsr_base_has(r->base, order[i]) &&
		    wsr_io_cached(&r->base->src, order[i], true)) {
			__clear_bit(order[i], set);
			left++;
			continue;
		}
		order[nu++] = order[i];
	}
	atomic64_inc(&wsr_gstats.restores);

	memset(&arg->from_cache, 0, sizeof(*arg) -
	       offsetof(struct wsr_restore, from_cache));
	arg->left_cached = left;
	if (async && nu) {
		wsr_restore_queue(r, order, set, nu, t0);
		order = NULL;
		goto out_unlock;
	}

	wsr_restore_sorted(r, order, 0, nu, set);
	ret = wsr_base_load(r->base, order, nu, record, true, r->id, &ls);
	wsr_stats_add_load(r, &ls);
	trace_wsr_restore_done(r->id, ls.cache, ls.device, ls.bytes,
			       ktime_get_ns() - t0);
	if (!ret)
		wsr_restore_map_ws(r, order, nu);
	if (!ret && n)
		wsr_base_restored(r->base, &ls,
				  !left && !ls.cache && !ls.device,
				  ktime_get_ns() - t0);
	wsr_base_trim();
	if (ret) {
		/* A failed first restore leaves the chunk policy as it was. */
		if (first_ws)
			wsr_base_forget_ws(r->base);
		goto out_unlock;
	}
	arg->from_cache = ls.cache;
	arg->from_device = ls.device;
	arg->bytes_read = ls.bytes;
	arg->runs = ls.runs;
	arg->present = ls.present;
	arg->bytes_gap = ls.gap;
out_unlock:
	mutex_unlock(&r->mutex);
out_free:
	bitmap_free(set);
	kvfree(order);
	return ret;
}
