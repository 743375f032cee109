// SPDX-License-Identifier: GPL-2.0
/*
 * wsr region: a snapshot file range mapped as private guest memory.
 *
 * Lock order: wsr_region.mutex -> mmap_lock -> {wsr_region.lock,
 * wsr_tracker.lock, wsr_region.stat_lock} (leaf spinlocks, never nested).
 * The fault handler runs with mmap_lock held for read and takes only the
 * leaf spinlocks; it may sleep for I/O or for a load done by someone else.
 *
 * Page store.  A region is cut into 2 MiB chunks.  The first time a chunk is
 * needed its mode is decided once (wsr_chunk_decide_locked()):
 *
 *  - HUGE: one order-9 folio, loaded as a whole (every byte of it may be
 *    mapped by the PMD), when 2 MiB folios are allowed for the region, the
 *    chunk lies fully inside the region, the tracker is not recording, and
 *    either the region has no working set yet or the working set has at
 *    least huge_threshold pages in the chunk.
 *  - SMALL: 4 KiB pages loaded one by one.  Chunks of a region that has a
 *    working set but which are not dense in it are small, and so is every
 *    chunk decided while the tracker records (no 2 MiB load for one touch).
 *
 * A "unit" is what is loaded at once: a whole HUGE chunk or one SMALL page.
 * A unit is absent, busy (claimed by one loader, fault or restore) or
 * loaded.  Whoever claims a unit fills it completely before publishing it,
 * so nobody ever maps partial data; a fault on a busy unit sleeps on
 * wsr_region.wq until the unit is published or the load is abandoned.
 * Loaded units stay until the region is destroyed (file release, which
 * happens only after the last VMA is gone since VMAs hold the file).
 *
 * The .fault handler returns the locked, referenced 4 KiB page or subpage;
 * finish_fault() maps a subpage of an order-9 folio with a PMD through
 * do_set_pmd() when the PMD entry is empty and the VMA is suitably aligned
 * (thp_get_unmapped_area()), else with a PTE.  The region stays page-backed
 * (no VM_PFNMAP) so that GUP and KVM work on it.
 *
 * Recording.  The tracker must see the first touch of every 4 KiB page
 * after WSR_TRACK_START, including pages mapped before it and pages of a
 * HUGE chunk.  So START zaps every mapping of the region
 * (wsr_region_unmap(): the /dev/wsr file has its own address_space, whose
 * i_mmap holds only this region's VMAs), and while recording the fault
 * handler puts a page table under an empty PMD entry before returning a
 * subpage of a 2 MiB folio (wsr_fault_pte_table()), so finish_fault() maps
 * that 4 KiB page alone by a PTE and the other 511 still fault.  A fault
 * that began before START holds the folio lock up to its do_set_pmd(), and
 * START takes every 2 MiB folio's lock once before zapping, so no PMD set
 * by such a fault survives.  A refault of a loaded page is a POOL fault,
 * recorded once per page since START like any other.  Chunks touched while
 * recording stay mapped by PTEs in that VMA afterwards (the page table is
 * not removed); their pages are still the same 2 MiB folio.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/ktime.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "wsr_internal.h"
#include "wsr_trace.h"

/* Largest region, in pages: keeps every per-page array below INT_MAX. */
#define WSR_MAX_PAGES		BIT(26)

static DEFINE_IDA(wsr_region_ida);

static bool wsr_chunk_full(struct wsr_region *r, unsigned long ci)
{
	return ((pgoff_t)ci + 1) * WSR_CHUNK_PAGES <= r->npages;
}

static bool wsr_huge_allowed(struct wsr_region *r, unsigned long ci)
{
	return r->huge_ok && READ_ONCE(wsr_huge_enabled) &&
	       wsr_chunk_full(r, ci) && !wsr_tracker_recording(r);
}

static void wsr_chunk_decide_locked(struct wsr_region *r, unsigned long ci)
{
	struct wsr_chunk *c = &r->chunks[ci];

	lockdep_assert_held(&r->lock);
	if (c->mode != WSR_CHUNK_UNDECIDED)
		return;
	if (!r->has_ws && wsr_huge_allowed(r, ci))
		c->mode = WSR_CHUNK_HUGE;
	else
		c->mode = WSR_CHUNK_SMALL;
}

/**
 * wsr_region_decide_ws() - decide chunk modes from a working set
 * @r:            region
 * @ws_per_chunk: working-set pages in each chunk
 *
 * Undecided chunks with working-set pages become HUGE when they hold at
 * least huge_threshold of them (and 2 MiB folios are allowed), SMALL
 * otherwise.  From now on the region has a working set, so chunks decided
 * later (by faults outside the working set) are SMALL.
 *
 * Context: process context, takes wsr_region.lock.
 */
void wsr_region_decide_ws(struct wsr_region *r, const u16 *ws_per_chunk)
{
	unsigned long thr = READ_ONCE(wsr_huge_threshold);
	unsigned long ci;

	spin_lock(&r->lock);
	for (ci = 0; ci < r->nchunks; ci++) {
		struct wsr_chunk *c = &r->chunks[ci];

		if (c->mode != WSR_CHUNK_UNDECIDED || !ws_per_chunk[ci])
			continue;
		if (ws_per_chunk[ci] >= thr && wsr_huge_allowed(r, ci))
			c->mode = WSR_CHUNK_HUGE;
		else
			c->mode = WSR_CHUNK_SMALL;
	}
	r->has_ws = true;
	spin_unlock(&r->lock);
}

/**
 * wsr_region_unit_of() - the unit a page belongs to
 * @r:     region
 * @index: page index in the region
 * @huge:  set when the unit is a 2 MiB chunk
 *
 * Decides the chunk's mode if that has not happened yet.
 *
 * Return: the first page index of the unit.
 * Context: process context, takes wsr_region.lock.
 */
pgoff_t wsr_region_unit_of(struct wsr_region *r, pgoff_t index, bool *huge)
{
	unsigned long ci = index >> WSR_CHUNK_ORDER;

	spin_lock(&r->lock);
	wsr_chunk_decide_locked(r, ci);
	*huge = r->chunks[ci].mode == WSR_CHUNK_HUGE;
	spin_unlock(&r->lock);
	return *huge ? (pgoff_t)ci << WSR_CHUNK_ORDER : index;
}

/**
 * wsr_region_try_claim() - find a page, or claim its unit for loading
 * @r:     region
 * @index: page index in the region
 * @unit:  (out) first page of the unit
 * @huge:  (out) the unit is a 2 MiB chunk
 * @busy:  (out) someone else is loading the unit
 *
 * Return: true when the caller now owns the unit and must fill it, then
 * call wsr_unit_publish() or wsr_unit_abort(); false when the unit is
 * loaded already (*@busy false) or being loaded by someone else (*@busy
 * true).
 * Context: process context, takes wsr_region.lock.
 */
bool wsr_region_try_claim(struct wsr_region *r, pgoff_t index,
			  pgoff_t *unit, bool *huge, bool *busy)
{
	unsigned long ci = index >> WSR_CHUNK_ORDER;
	struct wsr_chunk *c = &r->chunks[ci];
	bool claimed = false;

	*busy = false;
	spin_lock(&r->lock);
	wsr_chunk_decide_locked(r, ci);
	if (c->mode == WSR_CHUNK_HUGE) {
		*huge = true;
		*unit = (pgoff_t)ci << WSR_CHUNK_ORDER;
		if (c->huge_busy)
			*busy = true;
		else if (!c->huge)
			claimed = true;
		c->huge_busy |= claimed;
	} else {
		*huge = false;
		*unit = index;
		if (test_bit(index, r->busy))
			*busy = true;
		else if (!r->small[index])
			claimed = true;
		if (claimed)
			__set_bit(index, r->busy);
	}
	spin_unlock(&r->lock);
	return claimed;
}

/* Is @index loaded?  Returns the page with a reference, or NULL. */
static struct page *wsr_region_get_page(struct wsr_region *r, pgoff_t index)
{
	struct wsr_chunk *c = &r->chunks[index >> WSR_CHUNK_ORDER];
	struct page *page = NULL;

	spin_lock(&r->lock);
	if (c->mode == WSR_CHUNK_HUGE && c->huge)
		page = folio_page(c->huge, index & (WSR_CHUNK_PAGES - 1));
	else if (c->mode == WSR_CHUNK_SMALL)
		page = r->small[index];
	if (page)
		get_page(page);
	spin_unlock(&r->lock);
	return page;
}

/**
 * wsr_region_unmap() - make the next touch of every page fault again
 * @r: region, recording was just turned on
 *
 * First waits for faults that may still map a 2 MiB folio by a PMD (they
 * hold its lock until they are done; later ones see recording on), then
 * zaps every user mapping of the region.
 *
 * Context: process context, wsr_region.mutex held, may sleep; takes
 * wsr_region.lock, folio locks and i_mmap_rwsem, one after another.
 */
void wsr_region_unmap(struct wsr_region *r)
{
	unsigned long ci;

	lockdep_assert_held(&r->mutex);
	for (ci = 0; ci < r->nchunks; ci++) {
		struct folio *folio;

		/* Published folios stay until the region is destroyed. */
		spin_lock(&r->lock);
		folio = r->chunks[ci].huge;
		spin_unlock(&r->lock);
		if (folio) {
			folio_lock(folio);
			folio_unlock(folio);
		}
		if (!(ci & 511))
			cond_resched();
	}
	unmap_mapping_range(r->mapping, 0, 0, 1);
}

static bool wsr_region_busy(struct wsr_region *r, pgoff_t index)
{
	struct wsr_chunk *c = &r->chunks[index >> WSR_CHUNK_ORDER];
	bool busy;

	spin_lock(&r->lock);
	if (c->mode == WSR_CHUNK_HUGE)
		busy = c->huge_busy;
	else
		busy = test_bit(index, r->busy);
	spin_unlock(&r->lock);
	return busy;
}

/* Is @index loaded or being loaded?  Caller holds wsr_region.lock. */
static bool wsr_page_held_locked(struct wsr_region *r, pgoff_t index)
{
	struct wsr_chunk *c = &r->chunks[index >> WSR_CHUNK_ORDER];

	if (c->mode == WSR_CHUNK_HUGE)
		return c->huge || c->huge_busy;
	if (c->mode == WSR_CHUNK_SMALL)
		return r->small[index] || test_bit(index, r->busy);
	return false;
}

/**
 * wsr_region_holds() - is a page loaded or being loaded?
 * @r:     region
 * @index: page
 *
 * Return: true when @index is in the region or claimed by a loader.
 * Context: any, takes wsr_region.lock.
 */
bool wsr_region_holds(struct wsr_region *r, pgoff_t index)
{
	bool ret;

	spin_lock(&r->lock);
	ret = wsr_page_held_locked(r, index);
	spin_unlock(&r->lock);
	return ret;
}

/**
 * wsr_region_clip_to_missing() - shrink a read-around window
 * @r:     region
 * @index: the faulting page, inside [*start, *end)
 * @start: (in/out) first page of the window
 * @end:   (in/out) end of the window
 *
 * Clips the window to the pages on either side of @index that the region
 * neither holds nor is loading, so that a read-around never reads a page
 * the region has already (a restore's direct reads leave no page-cache
 * copy of them).
 *
 * Context: any, takes wsr_region.lock.
 */
void wsr_region_clip_to_missing(struct wsr_region *r, pgoff_t index,
				pgoff_t *start, pgoff_t *end)
{
	pgoff_t i;

	spin_lock(&r->lock);
	for (i = index; i > *start && !wsr_page_held_locked(r, i - 1); i--)
		;
	*start = i;
	for (i = index + 1; i < *end && !wsr_page_held_locked(r, i); i++)
		;
	*end = i;
	spin_unlock(&r->lock);
}

/**
 * wsr_unit_alloc() - allocate the memory of a claimed unit
 * @r:      region
 * @unit:   first page of the unit
 * @huge:   the unit is a 2 MiB chunk
 * @slots:  (out) one slot per 4 KiB page of the unit
 * @nslots: (out) slots filled in
 *
 * Return: 0, or -ENOMEM (for a 2 MiB unit the caller may retry it small).
 * Context: process context, may sleep.
 */
int wsr_unit_alloc(struct wsr_region *r, pgoff_t unit, bool huge,
		   struct wsr_slot *slots, unsigned int *nslots)
{
	unsigned int i;

	if (huge) {
		struct folio *folio = wsr_pool_get();

		if (!folio)
			return -ENOMEM;
		for (i = 0; i < WSR_CHUNK_PAGES; i++) {
			slots[i].index = unit + i;
			slots[i].page = folio_page(folio, i);
			slots[i].src = 0;
		}
		*nslots = WSR_CHUNK_PAGES;
		return 0;
	}
	slots[0].page = alloc_page(GFP_HIGHUSER | __GFP_NOWARN);
	if (!slots[0].page)
		return -ENOMEM;
	slots[0].index = unit;
	slots[0].src = 0;
	*nslots = 1;
	return 0;
}

/**
 * wsr_unit_publish() - make a filled unit visible and wake its waiters
 * @r:    region
 * @unit: first page of the unit
 * @huge: the unit is a 2 MiB chunk
 * @page: its first page (the folio's head for a 2 MiB unit); the region
 *        takes over the caller's reference
 *
 * Context: process context, takes wsr_region.lock.
 */
void wsr_unit_publish(struct wsr_region *r, pgoff_t unit, bool huge,
		      struct page *page)
{
	struct wsr_chunk *c = &r->chunks[unit >> WSR_CHUNK_ORDER];

	spin_lock(&r->lock);
	if (huge) {
		WARN_ON_ONCE(!c->huge_busy || c->huge);
		c->huge = page_folio(page);
		c->huge_busy = false;
		r->nr_huge++;
	} else {
		WARN_ON_ONCE(!test_bit(unit, r->busy) || r->small[unit]);
		r->small[unit] = page;
		__clear_bit(unit, r->busy);
		r->nr_small++;
	}
	spin_unlock(&r->lock);
	wake_up_all(&r->wq);
}

/**
 * wsr_unit_abort() - give up a claimed unit
 * @r:        region
 * @unit:     first page of the unit
 * @huge:     the unit is a 2 MiB chunk
 * @page:     its memory from wsr_unit_alloc(), freed here, or NULL
 * @to_small: turn the chunk of a 2 MiB unit into a SMALL chunk (no 2 MiB
 *            folio could be allocated)
 *
 * Context: process context, takes wsr_region.lock.
 */
void wsr_unit_abort(struct wsr_region *r, pgoff_t unit, bool huge,
		    struct page *page, bool to_small)
{
	struct wsr_chunk *c = &r->chunks[unit >> WSR_CHUNK_ORDER];

	if (page) {
		if (huge)
			wsr_pool_put(page_folio(page));
		else
			put_page(page);
	}
	spin_lock(&r->lock);
	if (huge) {
		c->huge_busy = false;
		if (to_small && !c->huge)
			c->mode = WSR_CHUNK_SMALL;
	} else {
		__clear_bit(unit, r->busy);
	}
	spin_unlock(&r->lock);
	wake_up_all(&r->wq);
}

/**
 * wsr_stats_add_pages() - account pages loaded by a run
 * @r:      region
 * @src:    WSR_SRC_CACHE or WSR_SRC_DEVICE
 * @npages: 4 KiB pages
 *
 * Called exactly where a wsr_restore_run event is emitted, so that the
 * counters and the events agree.
 *
 * Context: any, takes wsr_region.stat_lock.
 */
void wsr_stats_add_pages(struct wsr_region *r, int src, u64 npages)
{
	spin_lock(&r->stat_lock);
	if (src == WSR_SRC_CACHE) {
		r->stats.pages_cache += npages;
	} else {
		r->stats.pages_device += npages;
		r->stats.bytes_read += npages << PAGE_SHIFT;
	}
	spin_unlock(&r->stat_lock);
	if (src == WSR_SRC_CACHE) {
		atomic64_add(npages, &wsr_gstats.pages_cache);
	} else {
		atomic64_add(npages, &wsr_gstats.pages_device);
		atomic64_add(npages << PAGE_SHIFT, &wsr_gstats.bytes_read);
	}
}

/**
 * wsr_stats_add_gap() - account bytes a restore read across holes
 * @r:     region
 * @bytes: hole bytes of one read request
 *
 * Context: any, takes wsr_region.stat_lock.
 */
void wsr_stats_add_gap(struct wsr_region *r, u64 bytes)
{
	spin_lock(&r->stat_lock);
	r->stats.bytes_gap += bytes;
	spin_unlock(&r->stat_lock);
	atomic64_add(bytes, &wsr_gstats.bytes_gap);
}

/**
 * wsr_stats_add_around() - account bytes a fault read around its page
 * @r:     region
 * @bytes: neighbour bytes one fault added to the page cache
 *
 * Context: any, takes wsr_region.stat_lock.
 */
void wsr_stats_add_around(struct wsr_region *r, u64 bytes)
{
	spin_lock(&r->stat_lock);
	r->stats.bytes_around += bytes;
	spin_unlock(&r->stat_lock);
	atomic64_add(bytes, &wsr_gstats.bytes_around);
}

/**
 * wsr_stats_get() - snapshot of a region's counters
 * @r:   region
 * @out: filled in
 *
 * Context: process context, takes the leaf spinlocks one after another.
 */
void wsr_stats_get(struct wsr_region *r, struct wsr_stats *out)
{
	spin_lock(&r->stat_lock);
	*out = r->stats;
	spin_unlock(&r->stat_lock);

	spin_lock(&r->lock);
	out->restore_pending = r->async_active ? r->async.pending : 0;
	out->resident_huge = r->nr_huge;
	out->resident_small = r->nr_small;
	spin_unlock(&r->lock);

	spin_lock(&r->track.lock);
	out->tracked = r->track.count;
	out->dropped = r->track.dropped;
	spin_unlock(&r->track.lock);
}

static void wsr_fault_account(struct wsr_region *r, pgoff_t index, bool huge,
			      int src, bool waited, u64 t0)
{
	struct wsr_stats *s = &r->stats;

	spin_lock(&r->stat_lock);
	s->faults++;
	s->faults_huge += huge;
	s->faults_waited += waited;
	switch (src) {
	case WSR_SRC_POOL:
		s->faults_present++;
		break;
	case WSR_SRC_CACHE:
		s->faults_cache++;
		if (!huge)
			s->pages_cache++;
		break;
	default:
		s->faults_device++;
		if (!huge) {
			s->pages_device++;
			s->bytes_read += PAGE_SIZE;
		}
		break;
	}
	spin_unlock(&r->stat_lock);

	atomic64_inc(&wsr_gstats.faults);
	if (huge) {
		atomic64_inc(&wsr_gstats.faults_huge);
	} else if (src == WSR_SRC_CACHE) {
		atomic64_inc(&wsr_gstats.pages_cache);
	} else if (src == WSR_SRC_DEVICE) {
		atomic64_inc(&wsr_gstats.pages_device);
		atomic64_add(PAGE_SIZE, &wsr_gstats.bytes_read);
	}
	trace_wsr_fault(r->id, index, huge, src, ktime_get_ns() - t0);
}

/*
 * Load a unit the fault handler claimed.  Returns 0 and the source in
 * *@src, -EAGAIN when the chunk fell back to 4 KiB pages (retry), or
 * -errno.
 */
static int wsr_fault_load(struct wsr_region *r, pgoff_t unit, bool huge,
			  int *src)
{
	struct wsr_load_stats ls = {};
	struct wsr_slot one, *slots = &one;
	u64 around = 0;
	bool read = false;
	unsigned int n;
	int ret;

	if (huge) {
		slots = kvmalloc_array(WSR_CHUNK_PAGES, sizeof(*slots),
				       GFP_KERNEL);
		if (!slots) {
			wsr_unit_abort(r, unit, huge, NULL, false);
			return -ENOMEM;
		}
	}
	ret = wsr_unit_alloc(r, unit, huge, slots, &n);
	if (ret) {
		wsr_unit_abort(r, unit, huge, NULL, huge);
		ret = huge ? -EAGAIN : ret;
		goto out;
	}
	/* A background restore reads a working-set page's neighbours. */
	if (!huge && !wsr_restore_will_load(r, unit))
		read = wsr_read_around(r, unit, &around);
	/* Small units are accounted by the wsr_fault event, huge by runs. */
	ret = wsr_load_slots(r, slots, n, huge, false, &ls);
	if (ret) {
		wsr_unit_abort(r, unit, huge, slots[0].page, false);
		goto out;
	}
	/* Read by the read-around: a device fault even if already done. */
	*src = ls.device || read ? WSR_SRC_DEVICE : WSR_SRC_CACHE;
	if (around)
		wsr_stats_add_around(r, around);
	/* wsr_load_slots() sorted the slots: [0] is the unit's first page. */
	wsr_unit_publish(r, unit, huge, slots[0].page);
out:
	if (slots != &one)
		kvfree(slots);
	return ret;
}

/*
 * While recording, a subpage of a 2 MiB folio must be mapped by a PTE so
 * that the other pages of its chunk still fault on their first touch:
 * finish_fault() sets a PMD only over an empty PMD entry, so give the entry
 * a page table.  The caller holds the folio lock, which every fault that
 * could set a PMD mapping this folio here holds too, so the entry cannot
 * become a huge one in between.  The folio is in no page cache and never
 * under writeback, so allocating with its lock held cannot wait on it.
 */
static vm_fault_t wsr_fault_pte_table(struct vm_fault *vmf)
{
	if (!pmd_none(*vmf->pmd))
		return 0;
	/* No callback: only allocate the page table. */
	if (apply_to_page_range(vmf->vma->vm_mm, vmf->address, PAGE_SIZE,
				NULL, NULL))
		return VM_FAULT_OOM;
	return 0;
}

static vm_fault_t wsr_fault(struct vm_fault *vmf)
{
	struct wsr_region *r = vmf->vma->vm_private_data;
	pgoff_t index = vmf->pgoff;
	bool waited = false, huge, busy;
	int src = WSR_SRC_POOL;
	struct page *page;
	u64 t0 = ktime_get_ns();
	pgoff_t unit;
	int ret;

	if (index >= r->npages)
		return VM_FAULT_SIGBUS;

	wsr_tracker_record(r, index);
	for (;;) {
		page = wsr_region_get_page(r, index);
		if (page)
			break;
		if (!wsr_region_try_claim(r, index, &unit, &huge, &busy)) {
			if (busy) {
				waited = true;
				wait_event(r->wq, !wsr_region_busy(r, index));
			}
			continue;
		}
		ret = wsr_fault_load(r, unit, huge, &src);
		if (ret == -EAGAIN)
			continue;
		if (ret == -ENOMEM)
			return VM_FAULT_OOM;
		if (ret) {
			/* -EINTR: killed while reading, nothing to report */
			if (ret != -EINTR)
				pr_warn_ratelimited("region %u: page %lu: load failed: %d\n",
						    r->id, index, ret);
			return VM_FAULT_SIGBUS;
		}
	}
	huge = PageCompound(page);
	wsr_fault_account(r, index, huge, src, waited, t0);

	lock_page(page);
	/* Read under the folio lock: see wsr_region_unmap(). */
	if (huge && wsr_tracker_recording(r)) {
		vm_fault_t err = wsr_fault_pte_table(vmf);

		if (err) {
			unlock_page(page);
			put_page(page);
			return err;
		}
	}
	vmf->page = page;
	return VM_FAULT_LOCKED | (src == WSR_SRC_DEVICE ? VM_FAULT_MAJOR : 0);
}

static const struct vm_operations_struct wsr_vm_ops = {
	.fault = wsr_fault,
};

/**
 * wsr_region_mmap() - validate and set up a mapping of a region
 * @r:   region
 * @vma: the new VMA
 *
 * Only MAP_SHARED mappings that lie inside the region are accepted;
 * refusals are logged rate-limited with the caller's name.
 *
 * Return: 0 or -EINVAL.
 * Context: process context, mmap_lock held for write.
 */
int wsr_region_mmap(struct wsr_region *r, struct vm_area_struct *vma)
{
	lockdep_assert_held_write(&vma->vm_mm->mmap_lock);
	if (!(vma->vm_flags & VM_SHARED)) {
		pr_info_ratelimited("%s[%d]: region %u: MAP_PRIVATE refused, use MAP_SHARED\n",
				    current->comm, task_pid_nr(current), r->id);
		return -EINVAL;
	}
	if (vma->vm_pgoff >= r->npages ||
	    vma_pages(vma) > r->npages - vma->vm_pgoff) {
		pr_info_ratelimited("%s[%d]: region %u: mapping of pages %lu+%lu beyond the region's %lu\n",
				    current->comm, task_pid_nr(current), r->id,
				    vma->vm_pgoff, vma_pages(vma), r->npages);
		return -EINVAL;
	}
	vma->vm_flags |= VM_DONTEXPAND;
	vma->vm_ops = &wsr_vm_ops;
	vma->vm_private_data = r;
	return 0;
}

/* Open the region's own file: read-only, no readahead beyond a request. */
static struct file *wsr_open_snapshot(const struct wsr_create *arg)
{
	struct file *uf, *f;
	loff_t end;

	uf = fget(arg->fd);
	if (!uf)
		return ERR_PTR(-EBADF);
	f = ERR_PTR(-EINVAL);
	if (!S_ISREG(file_inode(uf)->i_mode))
		goto out;
	if (!(uf->f_mode & FMODE_READ)) {
		f = ERR_PTR(-EBADF);
		goto out;
	}
	if (uf->f_flags & O_DIRECT)
		goto out;
	end = arg->offset + arg->length;
	if (end > i_size_read(file_inode(uf)))
		goto out;
	f = dentry_open(&uf->f_path, O_RDONLY | O_LARGEFILE, uf->f_cred);
	if (IS_ERR(f))
		goto out;
	if (!f->f_op->read_iter) {
		fput(f);
		f = ERR_PTR(-EINVAL);
		goto out;
	}
	spin_lock(&f->f_lock);
	f->f_mode |= FMODE_RANDOM;
	spin_unlock(&f->f_lock);
out:
	fput(uf);
	return f;
}

/*
 * The same file opened O_DIRECT, for restores: no page-cache copy of what
 * goes into the region anyway.  NULL where the filesystem has no direct
 * I/O; restores then read through the page cache.
 */
static struct file *wsr_open_direct(struct file *f)
{
	struct file *d = dentry_open(&f->f_path,
				     O_RDONLY | O_LARGEFILE | O_DIRECT,
				     f->f_cred);

	return IS_ERR(d) ? NULL : d;
}

static void wsr_region_free(struct wsr_region *r)
{
	kvfree(r->busy);
	kvfree(r->small);
	kvfree(r->chunks);
	kfree(r);
}

/**
 * wsr_region_create() - bind a snapshot file range
 * @arg:     validated for reserved fields, flags and ranges here
 * @mapping: f_mapping of the /dev/wsr file, linking the region's VMAs
 * @out:     (out) the new region
 *
 * Return: 0, -EBADF (bad fd, not open for reading), -EINVAL (flags,
 * reserved, alignment, overflow, beyond EOF, not a regular file, O_DIRECT)
 * or -ENOMEM.
 * Context: process context, may sleep.
 */
int wsr_region_create(const struct wsr_create *arg,
		      struct address_space *mapping, struct wsr_region **out)
{
	struct wsr_region *r;
	struct file *f;
	u64 end;
	int ret;

	if (arg->flags & ~WSR_CREATE_FLAGS ||
	    memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (!arg->length || !PAGE_ALIGNED(arg->offset) ||
	    !PAGE_ALIGNED(arg->length) ||
	    check_add_overflow(arg->offset, arg->length, &end) ||
	    end > MAX_LFS_FILESIZE || arg->length >> PAGE_SHIFT > WSR_MAX_PAGES)
		return -EINVAL;

	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	r->npages = arg->length >> PAGE_SHIFT;
	r->nchunks = DIV_ROUND_UP(r->npages, WSR_CHUNK_PAGES);
	r->chunks = kvcalloc(r->nchunks, sizeof(*r->chunks),
			     GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	r->small = kvcalloc(r->npages, sizeof(*r->small),
			    GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	r->busy = kvcalloc(BITS_TO_LONGS(r->npages), sizeof(long),
			   GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!r->chunks || !r->small || !r->busy) {
		ret = -ENOMEM;
		goto err_free;
	}

	f = wsr_open_snapshot(arg);
	if (IS_ERR(f)) {
		ret = PTR_ERR(f);
		goto err_free;
	}
	ret = ida_alloc_min(&wsr_region_ida, 1, GFP_KERNEL);
	if (ret < 0)
		goto err_fput;
	r->id = ret;

	r->file = f;
	r->dio_file = wsr_open_direct(f);
	r->mapping = mapping;
	r->flags = arg->flags;
	r->offset = arg->offset;
	r->file_pgoff = arg->offset >> PAGE_SHIFT;
	r->huge_ok = IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) &&
		     has_transparent_hugepage() &&
		     READ_ONCE(wsr_huge_enabled) &&
		     !(arg->flags & WSR_CREATE_NO_HUGE);
	r->start = ktime_get_ns();
	mutex_init(&r->mutex);
	spin_lock_init(&r->lock);
	spin_lock_init(&r->stat_lock);
	init_waitqueue_head(&r->wq);
	INIT_WORK(&r->async.work, wsr_restore_work);
	wsr_tracker_init(r);
	if (arg->flags & WSR_CREATE_TRACK) {
		mutex_lock(&r->mutex);
		ret = wsr_tracker_op(r, WSR_TRACK_START);
		mutex_unlock(&r->mutex);
		if (ret)
			goto err_ida;
	}

	atomic_long_inc(&wsr_gstats.regions);
	trace_wsr_region_create(r->id, arg->offset, arg->length, arg->flags);
	*out = r;
	return 0;

err_ida:
	ida_free(&wsr_region_ida, r->id);
	if (r->dio_file)
		fput(r->dio_file);
err_fput:
	fput(f);
err_free:
	wsr_region_free(r);
	return ret;
}

/**
 * wsr_region_destroy() - free a region and everything it holds
 * @r: region; no VMA maps it any more (they hold the file being released)
 *
 * Pages still referenced elsewhere (GUP pins) are freed by their last user.
 *
 * Context: process context (file release), may sleep.
 */
void wsr_region_destroy(struct wsr_region *r)
{
	unsigned long ci;
	pgoff_t i;
	struct wsr_stats s;

	wsr_restore_stop(r);
	wsr_stats_get(r, &s);
	trace_wsr_region_destroy(r->id, s.faults, s.bytes_read);

	for (ci = 0; ci < r->nchunks; ci++) {
		WARN_ON_ONCE(r->chunks[ci].huge_busy);
		if (r->chunks[ci].huge)
			wsr_pool_put(r->chunks[ci].huge);
	}
	for (i = 0; i < r->npages; i++) {
		if (r->small[i])
			put_page(r->small[i]);
		if (!(i & 4095))
			cond_resched();
	}
	wsr_tracker_free(r);
	if (r->dio_file)
		fput(r->dio_file);
	fput(r->file);
	ida_free(&wsr_region_ida, r->id);
	mutex_destroy(&r->mutex);
	wsr_region_free(r);
	atomic_long_dec(&wsr_gstats.regions);
}
