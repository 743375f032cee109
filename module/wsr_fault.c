// SPDX-License-Identifier: GPL-2.0
/*
 * wsr fault: a region's mappings of its base.
 *
 * Every mapping of a region is a private file mapping of the region's
 * file on the base's inode, whatever the mmap flags asked (MAP_SHARED is
 * turned into a private mapping): reads map the base's folios, read-only,
 * and the first write to a page copies it into an anonymous page of that
 * mapping.  So no mapping ever sees another's writes, the base never
 * changes, and a fork gets copy-on-write copies like any MAP_PRIVATE
 * mapping.  A write into a PMD-mapped 2 MiB folio splits that mapping's
 * PMD and copies 4 KiB.
 *
 * ->fault makes sure the base holds the faulting page's unit, then lets
 * filemap_fault() map it; filemap_map_pages() maps the neighbours the base
 * holds already (fault-around), and a whole 2 MiB folio by one PMD when
 * the mapping is aligned (thp_get_unmapped_area()).  A unit the base lacks
 * is loaded after mmap_lock is dropped, where the fault flags allow, and
 * the fault is retried; waits for another loader are killable.  A 4 KiB
 * unit missing from the snapshot's page cache too reads a read_around_kb
 * window of its neighbours into the page cache: a guest that faults
 * outside its working set usually goes on to the pages next to it.
 *
 * Recording (wsr_tracker.c).  The tracker must see the first touch of
 * every 4 KiB page after WSR_TRACK_START.  So START zaps the base's pages
 * from every mapping of it, no fault-around maps pages while the region
 * records, and a subpage of a 2 MiB folio is mapped by a PTE
 * (wsr_fault_pte_table()) so the other 511 pages still fault.  Mappings
 * with THP turned off get the same PTE mappings.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/coredump.h>

#include "wsr_internal.h"
#include "wsr_trace.h"

/**
 * wsr_stats_add_load() - account what a load did
 * @r:  region
 * @ls: the load's counters
 *
 * Context: any, takes wsr_region.stat_lock.
 */
void wsr_stats_add_load(struct wsr_region *r, const struct wsr_load_stats *ls)
{
	spin_lock(&r->stat_lock);
	r->stats.pages_cache += ls->cache;
	r->stats.pages_device += ls->device;
	r->stats.bytes_read += ls->bytes;
	r->stats.bytes_gap += ls->gap;
	r->stats.decompress_ns += ls->decompress_ns;
	r->stats.chunks_decompressed += ls->decompressed;
	spin_unlock(&r->stat_lock);
	atomic64_add(ls->cache, &wsr_gstats.pages_cache);
	atomic64_add(ls->device, &wsr_gstats.pages_device);
	atomic64_add(ls->bytes, &wsr_gstats.bytes_read);
	atomic64_add(ls->gap, &wsr_gstats.bytes_gap);
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

static void wsr_fault_account(struct wsr_region *r, pgoff_t index, bool huge,
			      int src, bool waited, u64 t0)
{
	struct wsr_stats *s = &r->stats;

	spin_lock(&r->stat_lock);
	s->faults++;
	s->faults_huge += huge;
	s->faults_waited += waited;
	if (src == WSR_SRC_POOL)
		s->faults_present++;
	else if (src == WSR_SRC_CACHE)
		s->faults_cache++;
	else
		s->faults_device++;
	spin_unlock(&r->stat_lock);
	atomic64_inc(&wsr_gstats.faults);
	if (huge)
		atomic64_inc(&wsr_gstats.faults_huge);
	trace_wsr_fault(r->id, index, huge, src, ktime_get_ns() - t0);
}

/* Will the running background restore load this 4 KiB page? */
static bool wsr_async_will_load(struct wsr_region *r, pgoff_t index)
{
	bool ret;

	spin_lock(&r->lock);
	ret = r->async_active && r->async.ws && test_bit(index, r->async.ws);
	spin_unlock(&r->lock);
	return ret;
}

/*
 * Read a read_around_kb window centred on @index, clipped to the region
 * and to the pages the base neither holds nor loads, into the snapshot's
 * page cache.  Returns true when this read @index itself.  Not for a
 * compressed snapshot: there the load reads the page's whole chunk.
 */
static bool wsr_fault_read_around(struct wsr_region *r, pgoff_t index)
{
	unsigned long win = READ_ONCE(wsr_read_around_kb) >> (PAGE_SHIFT - 10);
	const struct wsr_src *s = &r->base->src;
	unsigned long before, after;
	pgoff_t start, end;

	/* A compressed snapshot's read unit is the chunk the load reads. */
	if (win < 2 || s->zi || wsr_io_cached(s, index, false))
		return false;
	start = index > win / 2 ? index - win / 2 : 0;
	end = min_t(pgoff_t, start + win, r->npages);
	wsr_base_clip_to_missing(r->base, index, &start, &end);
	before = wsr_io_cached_pages(s, start, end, index);
	wsr_io_readahead(s, start, end - start);
	after = wsr_io_cached_pages(s, start, end, index);
	if (after > before)
		wsr_stats_add_around(r, (u64)(after - before) << PAGE_SHIFT);
	return wsr_io_cached(s, index, false);
}

/*
 * The 4 KiB unit of @index in a compressed snapshot: its load decompresses
 * the page's whole chunk, so it loads every page of the chunk around
 * @index that the base lacks (the compressed counterpart of the
 * read-around), and the neighbours' faults find them there.
 */
static int wsr_fault_load_chunk(struct wsr_region *r, pgoff_t index,
				bool record, struct wsr_load_stats *ls)
{
	pgoff_t size = 1UL << r->base->src.zi->chunk_order;
	pgoff_t start = round_down(index, size), end, i, *pages;
	unsigned long n = 0;
	int ret;

	end = min_t(pgoff_t, start + size, r->npages);
	wsr_base_clip_to_missing(r->base, index, &start, &end);
	pages = kvmalloc_array(end - start, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return wsr_base_load(r->base, &index, 1, record, false, 0, ls);
	pages[n++] = index;
	for (i = start; i < end; i++)
		if (i != index)
			pages[n++] = i;
	ret = wsr_base_load(r->base, pages, n, record, false, 0, ls);
	kvfree(pages);
	return ret;
}

/* Load the unit of @index for a fault; returns the source. */
static int wsr_fault_load(struct wsr_region *r, pgoff_t index, bool huge,
			  bool record, int *src)
{
	struct wsr_load_stats ls = {};
	bool read = false, async = !huge && wsr_async_will_load(r, index);
	int ret;

	/* A background restore reads a working-set page's neighbours. */
	if (!huge && !async)
		read = wsr_fault_read_around(r, index);
	/* 4 KiB loads are accounted by the wsr_fault event, 2 MiB by runs. */
	if (!huge && !async && r->base->src.zi)
		ret = wsr_fault_load_chunk(r, index, record, &ls);
	else
		ret = wsr_base_load(r->base, &index, 1, record, false,
				    huge ? r->id : 0, &ls);
	/*
	 * The read-around read the page itself: a device read, whether or
	 * not it completed before the load copied the page.
	 */
	if (read && ls.cache) {
		ls.cache--;
		ls.device++;
		ls.bytes += PAGE_SIZE;
	}
	wsr_stats_add_load(r, &ls);
	if (ls.device || read)
		*src = WSR_SRC_DEVICE;
	else if (ls.cache)
		*src = WSR_SRC_CACHE;
	else
		*src = WSR_SRC_POOL;
	return ret;
}

/*
 * May this fault map a 2 MiB folio by one PMD?  Not while the region
 * records: the other 511 pages must still fault on their first touch.  Nor
 * where MADV_NOHUGEPAGE or PR_SET_THP_DISABLE turned THP off, which
 * do_set_pmd() does not check for page-cache folios in this kernel.
 */
static bool wsr_fault_pmd_allowed(struct wsr_region *r,
				  struct vm_area_struct *vma)
{
	return !wsr_tracker_recording(r) && !(vma->vm_flags & VM_NOHUGEPAGE) &&
	       !test_bit(MMF_DISABLE_THP, &vma->vm_mm->flags);
}

/*
 * Map a subpage of a 2 MiB folio by a PTE: finish_fault() sets a PMD only
 * over an empty PMD entry, so give the entry a page table.  The caller
 * holds the folio lock, which every path that could set a PMD mapping this
 * folio holds too, so the entry cannot become a PMD mapping meanwhile.
 */
static vm_fault_t wsr_fault_pte_table(struct vm_fault *vmf)
{
	int err;

	if (!pmd_none(*vmf->pmd))
		return 0;
	/* No callback: only allocate the page table. */
	err = apply_to_page_range(vmf->vma->vm_mm, vmf->address, PAGE_SIZE,
				  NULL, NULL);
	if (err == -ENOMEM)
		return VM_FAULT_OOM;
	return err ? VM_FAULT_SIGBUS : 0;
}

/*
 * A fault that dropped mmap_lock must return VM_FAULT_RETRY even when its
 * load failed.  The page fault handler then retries with FAULT_FLAG_TRIED
 * and gets SIGBUS, but GUP's populate loop (MAP_POPULATE, mlock()) retries
 * without it and would spin for as long as the load fails: a page whose
 * load failed that way is loaded with mmap_lock held the next time.
 */
static void wsr_fault_failed(struct wsr_region *r, pgoff_t index)
{
	spin_lock(&r->lock);
	r->failed[r->failed_next++ % WSR_FAILED_SLOTS] = index + 1;
	spin_unlock(&r->lock);
}

/* Did the last load of @index fail after dropping mmap_lock?  Forgets it. */
static bool wsr_fault_failed_before(struct wsr_region *r, pgoff_t index)
{
	bool ret = false;
	int i;

	spin_lock(&r->lock);
	for (i = 0; i < WSR_FAILED_SLOTS; i++) {
		if (r->failed[i] == index + 1) {
			r->failed[i] = 0;
			ret = true;
		}
	}
	spin_unlock(&r->lock);
	return ret;
}

static vm_fault_t wsr_fault(struct vm_fault *vmf)
{
	struct wsr_region *r = vmf->vma->vm_file->private_data;
	bool count = !(vmf->flags & FAULT_FLAG_TRIED) &&
		     READ_ONCE(r->mapper) != current;
	bool record = wsr_tracker_recording(r);
	pgoff_t index = vmf->pgoff;
	int src = WSR_SRC_POOL;
	u64 t0 = ktime_get_ns();
	struct file *fpin = NULL;
	bool huge = false, ready = false, waited = false;
	struct folio *folio;
	vm_fault_t ret;
	int err;

	if (index >= r->npages)
		return VM_FAULT_SIGBUS;
	wsr_tracker_record(r, index);

	folio = filemap_get_folio(r->base->inode->i_mapping, index);
	if (folio) {
		ready = folio_test_uptodate(folio);
		/* Being loaded: filemap_fault() waits for it, killably. */
		waited = !ready && folio_test_locked(folio);
		huge = folio_test_large(folio);
		folio_put(folio);
	}
	if (!ready && !waited) {
		huge = wsr_base_unit_huge(r->base, index, record);
		/*
		 * Drop mmap_lock for device I/O; a 4 KiB copy from the page
		 * cache is done at once, like a minor fault.
		 */
		if (fault_flag_allow_retry_first(vmf->flags) &&
		    !(vmf->flags & FAULT_FLAG_RETRY_NOWAIT) &&
		    (huge || !wsr_io_cached(&r->base->src, index, true)) &&
		    !wsr_fault_failed_before(r, index)) {
			fpin = get_file(vmf->vma->vm_file);
			mmap_read_unlock(vmf->vma->vm_mm);
		}
		err = wsr_fault_load(r, index, huge, record, &src);
		if (count)
			wsr_fault_account(r, index, huge, src, false, t0);
		if (fpin) {
			if (err)
				wsr_fault_failed(r, index);
			fput(fpin);
			return VM_FAULT_RETRY;
		}
		if (err == -ENOMEM)
			return VM_FAULT_OOM;
		if (err) {
			/* -EINTR: killed while waiting, nothing to report */
			if (err != -EINTR)
				pr_warn_ratelimited("region %u: page %lu: load failed: %d\n",
						    r->id, index, err);
			return VM_FAULT_SIGBUS;
		}
	} else if (count) {
		/* Counted now: filemap_fault() may retry, and a retry is not. */
		wsr_fault_account(r, index, huge, WSR_SRC_POOL, waited, t0);
	}

	ret = filemap_fault(vmf);
	if (!(ret & VM_FAULT_LOCKED))
		return ret;
	/* Read under the folio lock: see wsr_tracker_op(). */
	if (PageTransCompound(vmf->page) &&
	    !wsr_fault_pmd_allowed(r, vmf->vma)) {
		vm_fault_t err = wsr_fault_pte_table(vmf);

		if (err) {
			unlock_page(vmf->page);
			put_page(vmf->page);
			return err;
		}
	}
	return ret | (src == WSR_SRC_DEVICE ? VM_FAULT_MAJOR : 0);
}

static vm_fault_t wsr_map_pages(struct vm_fault *vmf, pgoff_t start,
				pgoff_t end)
{
	struct wsr_region *r = vmf->vma->vm_file->private_data;

	/* Recording: every first touch must fault. */
	if (wsr_tracker_recording(r))
		return 0;
	/*
	 * filemap_map_pages() maps a 2 MiB folio by PMD into an empty entry:
	 * where that is not allowed, ->fault gives the entry a page table
	 * first.
	 */
	if (pmd_none(*vmf->pmd) && !wsr_fault_pmd_allowed(r, vmf->vma))
		return 0;
	return filemap_map_pages(vmf, start, end);
}

static const struct vm_operations_struct wsr_vm_ops = {
	.fault = wsr_fault,
	.map_pages = wsr_map_pages,
};

/**
 * wsr_fault_is_region_vma() - does a VMA map a region?
 * @r:   region
 * @vma: any VMA
 *
 * Return: true when @vma is a mapping of @r.
 * Context: mmap_lock held.
 */
bool wsr_fault_is_region_vma(struct wsr_region *r, struct vm_area_struct *vma)
{
	return vma->vm_ops == &wsr_vm_ops && vma->vm_file == r->vfile;
}

/**
 * wsr_fault_mmap() - validate and set up a mapping of a region
 * @r:   region
 * @vma: the new VMA, of the /dev/wsr file
 *
 * Mappings must lie inside the region; refusals are logged rate-limited
 * with the caller's name.  The VMA becomes a private mapping of the
 * region's file.
 *
 * Return: 0 or -EINVAL.
 * Context: process context, mmap_lock held for write.
 */
int wsr_fault_mmap(struct wsr_region *r, struct vm_area_struct *vma)
{
	lockdep_assert_held_write(&vma->vm_mm->mmap_lock);
	if (vma->vm_pgoff >= r->npages ||
	    vma_pages(vma) > r->npages - vma->vm_pgoff) {
		pr_info_ratelimited("%s[%d]: region %u: mapping of pages %lu+%lu beyond the region's %lu\n",
				    current->comm, task_pid_nr(current), r->id,
				    vma->vm_pgoff, vma_pages(vma), r->npages);
		return -EINVAL;
	}
	/* Writes are copied on write, never shared: see the top. */
	vma->vm_flags &= ~(VM_SHARED | VM_MAYSHARE);
	vma->vm_flags |= VM_DONTEXPAND;
	vma_set_file(vma, r->vfile);
	vma->vm_ops = &wsr_vm_ops;
	return 0;
}
