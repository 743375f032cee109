// SPDX-License-Identifier: GPL-2.0
/*
 * wsr restore: fill region pages from the snapshot's page cache or device.
 *
 * Lock order: wsr_region.mutex -> {wsr_region.lock, wsr_region.stat_lock}.
 * Loads themselves run without locks: the loader owns the units it claimed
 * (see wsr_region.c), and reads through the region's own struct file.
 *
 * A load takes a set of destination pages ("slots"), sorts them by index,
 * copies every page that is uptodate in the snapshot's page cache (and never
 * reads it), and reads the others in sorted runs, each run split into
 * requests of at most read_batch_kb, with vfs_iter_read() straight into the
 * region pages.  Restores read with direct I/O (restore_direct): the data
 * goes into the region anyway, so a page-cache copy would cost a copy and
 * twice the memory.  Faults read through the page cache; the region's file
 * has FMODE_RANDOM, so a request reads exactly its range and no readahead
 * beyond it.
 *
 * Working sets are sparse: most of their pages lie a few pages apart, and a
 * request per contiguous run would cost a device round trip per page or
 * two.  So a run also spans holes of up to read_gap_kb between pages that
 * are not in the page cache: one request reads the whole range, the hole
 * pages into a scratch page (read through the page cache, they stay there
 * for later faults).  Hole pages are not loaded pages: they
 * are counted in bytes_gap, apart from from_device, pages_device and
 * bytes_read, and a wsr_restore_run event is emitted per contiguous piece.
 * A run never spans a page the load copies from the page cache.
 *
 * WSR_IOC_RESTORE takes a working set in first-touch order.  Synchronous:
 * every unit (2 MiB chunk or 4 KiB page) of the working set is claimed and
 * then loaded at once, giving the longest sorted runs.  Asynchronous: a work
 * item loads the first read_batch_kb of units in working-set order (what
 * the guest touches first), then the rest in index order, read_batch_kb at
 * a time, while the VMM runs: sorted steps give long runs whose holes never
 * hold a later step's page.  A fault on a unit the worker has claimed waits
 * for it, a fault on a unit not yet reached claims and loads it itself,
 * and the worker then finds it loaded and skips it.  No working-set page
 * is read twice.  With WSR_RESTORE_LAZY_CACHE, 4 KiB pages found in the
 * page cache are not loaded at all: a fault copies each one when touched,
 * so a working set wider than one run's needs costs nothing for the pages
 * it does not touch.
 */
#include <linux/bvec.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uio.h>

#include "wsr_internal.h"
#include "wsr_trace.h"

static int wsr_slot_cmp(const void *a, const void *b)
{
	const struct wsr_slot *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

static unsigned long wsr_batch_pages(void)
{
	return max(1UL, READ_ONCE(wsr_read_batch_kb) >> (PAGE_SHIFT - 10));
}

static unsigned long wsr_gap_pages(void)
{
	return READ_ONCE(wsr_read_gap_kb) >> (PAGE_SHIFT - 10);
}

static void wsr_run_done(struct wsr_region *r, bool emit, pgoff_t index,
			 u64 npages, int src, u64 t0)
{
	if (!emit || !npages)
		return;
	wsr_stats_add_pages(r, src, npages);
	trace_wsr_restore_run(r->id, index, npages, src, ktime_get_ns() - t0);
}

/*
 * Fill @nr bvecs from @pos of the region's file, with direct I/O first
 * when @direct.  The direct read must not wait for the inode lock: a
 * writer of the snapshot may hold it while it faults on this region, on a
 * unit this load owns.  So it is RWF_NOWAIT, and whatever it did not read
 * (-EAGAIN, a short read, no direct I/O) is read through the page cache,
 * which takes no inode lock.
 */
static int wsr_read_bvec(struct wsr_region *r, bool direct,
			 struct bio_vec *bv, unsigned long nr, loff_t pos)
{
	size_t len = nr << PAGE_SHIFT, done = 0;
	struct iov_iter iter;
	ssize_t ret;

	if (direct) {
		iov_iter_bvec(&iter, ITER_DEST, bv, nr, len);
		ret = vfs_iter_read(r->dio_file, &iter, &pos, RWF_NOWAIT);
		if (ret == len)
			return 0;
		if (ret > 0)
			done = ret;
	}
	iov_iter_bvec(&iter, ITER_DEST, bv, nr, len);
	iov_iter_advance(&iter, done);
	ret = vfs_iter_read(r->file, &iter, &pos, 0);
	if (ret < 0)
		return ret;
	return done + ret == len ? 0 : -EIO;	/* the file shrank */
}

/*
 * Read @n sorted slots from the device in requests of at most
 * read_batch_kb, the holes between them into @gap (NULL: no holes).
 */
static int wsr_read_run(struct wsr_region *r, bool direct,
			struct wsr_slot *s, unsigned long n, struct bio_vec *bv,
			struct page *gap, bool emit, struct wsr_load_stats *ls)
{
	unsigned long batch = wsr_batch_pages();

	while (n) {
		pgoff_t first = s[0].index;
		loff_t pos = r->offset + ((loff_t)first << PAGE_SHIFT);
		unsigned long k = 1, span, i, p;
		u64 t0 = ktime_get_ns();
		int ret;

		while (k < n && s[k].index - first < batch)
			k++;
		span = s[k - 1].index - first + 1;
		if (WARN_ON_ONCE(span > k && !gap))
			return -EINVAL;
		for (i = 0, p = 0; p < span; p++) {
			bv[p].bv_page = s[i].index == first + p ?
					s[i++].page : gap;
			bv[p].bv_len = PAGE_SIZE;
			bv[p].bv_offset = 0;
		}
		ret = wsr_read_bvec(r, direct, bv, span, pos);
		if (ret)
			return ret;
		ls->device += k;
		ls->bytes += (u64)k << PAGE_SHIFT;
		ls->gap += (u64)(span - k) << PAGE_SHIFT;
		ls->runs++;
		if (emit && span > k)
			wsr_stats_add_gap(r, (u64)(span - k) << PAGE_SHIFT);
		/* An event per contiguous piece: events count loaded pages. */
		for (i = 0, p = 1; p <= k; p++) {
			if (p < k && s[p].index == s[p - 1].index + 1)
				continue;
			wsr_run_done(r, emit, s[i].index, p - i,
				     WSR_SRC_DEVICE, t0);
			i = p;
		}
		s += k;
		n -= k;
	}
	return 0;
}

/**
 * wsr_load_slots() - fill destination pages from the snapshot
 * @r:         region
 * @slots:     the pages to fill; sorted by index on return, src set
 * @n:         number of slots
 * @emit_runs: account the pages (and holes read) in the region's
 *             counters and emit one wsr_restore_run event per contiguous
 *             run of one source
 * @direct:    read with direct I/O where the region can (restores: never
 *             under mmap_lock, which ranks below the inode lock that
 *             direct I/O takes)
 * @ls:        (out) added to: what the load did
 *
 * Return: 0, or -errno of a failed read (-EIO when the file is too short).
 * On error the slots' contents are undefined.
 * Context: process context, may sleep, no wsr lock held.
 */
int wsr_load_slots(struct wsr_region *r, struct wsr_slot *slots,
		   unsigned long n, bool emit_runs, bool direct,
		   struct wsr_load_stats *ls)
{
	struct address_space *mapping = r->file->f_mapping;
	unsigned long i, run = 0, batch = wsr_batch_pages();
	unsigned long maxgap = wsr_gap_pages(), span = n;
	struct page *gap = NULL;
	struct bio_vec *bv;
	u64 t0 = 0;
	int ret = 0;

	direct = direct && r->dio_file && READ_ONCE(wsr_restore_direct);
	if (n > 1) {
		sort(slots, n, sizeof(*slots), wsr_slot_cmp, NULL);
		span = slots[n - 1].index - slots[0].index + 1;
	}
	/* Without a scratch page for the holes, read contiguous runs. */
	if (span > n && maxgap)
		gap = alloc_page(GFP_KERNEL | __GFP_NOWARN);
	if (!gap) {
		maxgap = 0;
		span = n;
	}
	bv = kvmalloc_array(min(span, batch), sizeof(*bv), GFP_KERNEL);
	if (!bv) {
		if (gap)
			__free_page(gap);
		return -ENOMEM;
	}

	/*
	 * One pass in index order: copy what the page cache has, and issue a
	 * device run as soon as a run of missing pages ends.
	 */
	for (i = 0; i < n; i++) {
		pgoff_t fidx = r->file_pgoff + slots[i].index;
		struct folio *folio = filemap_get_folio(mapping, fidx);

		slots[i].src = WSR_SRC_DEVICE;
		if (folio) {
			if (folio_test_uptodate(folio) &&
			    !folio_test_hwpoison(folio)) {
				copy_highpage(slots[i].page,
					      folio_file_page(folio, fidx));
				slots[i].src = WSR_SRC_CACHE;
			}
			folio_put(folio);
		}

		/*
		 * Does slot i continue the run that starts at slot run?  A
		 * device run may span a hole of up to maxgap pages.
		 */
		if (i > run && (slots[i].src != slots[run].src ||
				slots[i].index - slots[i - 1].index >
				(slots[i].src == WSR_SRC_DEVICE ?
				 maxgap + 1 : 1))) {
			if (slots[run].src == WSR_SRC_DEVICE) {
				ret = wsr_read_run(r, direct, &slots[run], i - run,
						   bv, gap, emit_runs, ls);
				if (ret)
					goto out;
			} else {
				wsr_run_done(r, emit_runs, slots[run].index,
					     i - run, WSR_SRC_CACHE, t0);
			}
			run = i;
		}
		if (run == i)
			t0 = ktime_get_ns();
		if (slots[i].src == WSR_SRC_CACHE)
			ls->cache++;
		if (!(i & 255))
			cond_resched();
	}
	if (n) {
		if (slots[run].src == WSR_SRC_DEVICE)
			ret = wsr_read_run(r, direct, &slots[run], n - run, bv,
					   gap, emit_runs, ls);
		else
			wsr_run_done(r, emit_runs, slots[run].index, n - run,
				     WSR_SRC_CACHE, t0);
	}
out:
	kvfree(bv);
	if (gap)
		__free_page(gap);
	return ret;
}

/*
 * Is page @index of the region in the snapshot's page cache?  @readable:
 * and uptodate, so that it can be copied now (else: read or being read).
 */
static bool wsr_page_cached(struct wsr_region *r, pgoff_t index,
			    bool readable)
{
	struct folio *folio = filemap_get_folio(r->file->f_mapping,
						r->file_pgoff + index);
	bool ret;

	if (!folio)
		return false;
	ret = !readable || (folio_test_uptodate(folio) &&
			    !folio_test_hwpoison(folio));
	folio_put(folio);
	return ret;
}

/* Pages of [start, end) of the region in the page cache, @skip aside. */
static unsigned long wsr_cached_pages(struct wsr_region *r, pgoff_t start,
				      pgoff_t end, pgoff_t skip)
{
	unsigned long n = 0;
	pgoff_t i;

	for (i = start; i < end; i++)
		n += i != skip && wsr_page_cached(r, i, false);
	return n;
}

/* Start reading @nr pages of the region from @start into the page cache. */
static void wsr_readahead(struct wsr_region *r, pgoff_t start,
			  unsigned long nr)
{
	DEFINE_READAHEAD(ractl, r->file, &r->file->f_ra, r->file->f_mapping,
			 r->file_pgoff + start);

	/* The file is FMODE_RANDOM: exactly this range, no more. */
	page_cache_sync_ra(&ractl, nr);
}

/**
 * wsr_read_around() - read a faulting page's neighbours as well
 * @r:     region
 * @index: page a fault is about to load
 * @bytes: (out) bytes of neighbour pages this added to the page cache
 *
 * A guest that faults outside its working set usually goes on to the
 * neighbouring pages (it walks a structure), which filemap's mmap
 * read-around bets on too.  When @index is not in the snapshot's page
 * cache, start one read of read_around_kb centred on it, clipped to the
 * region and to the pages the region does not hold, into the page cache:
 * the fault then waits for its own page, and the neighbours' faults become
 * copies instead of device reads.
 *
 * Return: true when this started the read of @index itself.
 * Context: process context (fault, for a page no background restore will
 * load), may sleep.
 */
bool wsr_read_around(struct wsr_region *r, pgoff_t index, u64 *bytes)
{
	unsigned long win = READ_ONCE(wsr_read_around_kb) >> (PAGE_SHIFT - 10);
	unsigned long before, after;
	pgoff_t start, end;

	*bytes = 0;
	if (win < 2 || wsr_page_cached(r, index, false))
		return false;
	start = index > win / 2 ? index - win / 2 : 0;
	end = min_t(pgoff_t, start + win, r->npages);
	wsr_region_clip_to_missing(r, index, &start, &end);
	before = wsr_cached_pages(r, start, end, index);
	wsr_readahead(r, start, end - start);
	after = wsr_cached_pages(r, start, end, index);
	*bytes = after > before ? (u64)(after - before) << PAGE_SHIFT : 0;
	return wsr_page_cached(r, index, false);
}

/* A unit owned by a restore while it loads. */
struct wsr_owned {
	pgoff_t unit;
	bool huge;
	struct page *page;
};

/*
 * Claim, load and publish @nu units.  Units loaded or being loaded by
 * someone else are left alone and their working-set pages counted in
 * *@present.  A 2 MiB unit whose folio cannot be allocated falls back to
 * 4 KiB pages that are loaded on demand.
 */
static int wsr_restore_units(struct wsr_region *r, const pgoff_t *units,
			     unsigned long nu, const u16 *ws_per_chunk,
			     struct wsr_load_stats *ls, u64 *present)
{
	struct wsr_owned *own;
	struct wsr_slot *slots;
	unsigned long i, no = 0, ns = 0, total = 0;
	int ret = 0;

	for (i = 0; i < nu; i++)
		total += wsr_unit_pages(units[i]);
	own = kvmalloc_array(nu, sizeof(*own), GFP_KERNEL);
	slots = kvmalloc_array(total, sizeof(*slots), GFP_KERNEL);
	if (!own || !slots) {
		ret = -ENOMEM;
		goto out_free;
	}

	for (i = 0; i < nu; i++) {
		struct wsr_owned *o = &own[no];
		unsigned int k;
		bool busy;

		if (!wsr_region_try_claim(r, units[i] & ~WSR_UNIT_HUGE,
					  &o->unit, &o->huge, &busy)) {
			*present += o->huge ?
				ws_per_chunk[o->unit >> WSR_CHUNK_ORDER] : 1;
			continue;
		}
		ret = wsr_unit_alloc(r, o->unit, o->huge, &slots[ns], &k);
		if (ret) {
			wsr_unit_abort(r, o->unit, o->huge, NULL, o->huge);
			if (o->huge) {
				ret = 0;
				continue;
			}
			goto out_abort;
		}
		o->page = slots[ns].page;
		ns += k;
		no++;
	}

	ret = wsr_load_slots(r, slots, ns, true, true, ls);
	if (ret)
		goto out_abort;
	for (i = 0; i < no; i++)
		wsr_unit_publish(r, own[i].unit, own[i].huge, own[i].page);
	goto out_free;

out_abort:
	for (i = 0; i < no; i++)
		wsr_unit_abort(r, own[i].unit, own[i].huge, own[i].page, false);
out_free:
	kvfree(slots);
	kvfree(own);
	return ret;
}

static int wsr_unit_cmp(const void *a, const void *b)
{
	pgoff_t x = *(const pgoff_t *)a & ~WSR_UNIT_HUGE;
	pgoff_t y = *(const pgoff_t *)b & ~WSR_UNIT_HUGE;

	return x < y ? -1 : x > y;
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
	const u16 *ws_per_chunk = (const u16 *)(a->units + a->nunits);
	unsigned long batch = wsr_batch_pages();
	struct wsr_load_stats ls = {};
	unsigned long *ws;
	u64 present = 0;
	int ret = 0;

	while (a->pos < a->nunits && !READ_ONCE(a->stop)) {
		unsigned long k = 0, pages = 0;

		while (a->pos + k < a->nunits && (!k || pages < batch)) {
			pages += wsr_unit_pages(a->units[a->pos + k]);
			k++;
		}
		ret = wsr_restore_units(r, a->units + a->pos, k, ws_per_chunk,
					&ls, &present);
		/* The head is loaded: the rest in index order. */
		if (!a->pos && k < a->nunits)
			sort(a->units + k, a->nunits - k, sizeof(*a->units),
			     wsr_unit_cmp, NULL);
		a->pos += k;
		spin_lock(&r->lock);
		a->pending -= min_t(u64, a->pending, pages);
		spin_unlock(&r->lock);
		if (ret) {
			pr_warn_ratelimited("region %u: background restore stopped: %d\n",
					    r->id, ret);
			break;
		}
		cond_resched();
	}
	trace_wsr_restore_done(r->id, ls.cache, ls.device, ls.bytes,
			       ktime_get_ns() - a->start);

	kvfree(a->units);
	a->units = NULL;
	spin_lock(&r->lock);
	a->pending = 0;
	r->async_active = false;
	ws = a->ws;
	a->ws = NULL;
	spin_unlock(&r->lock);
	kvfree(ws);
	wake_up_all(&r->wq);
}

/**
 * wsr_restore_will_load() - is a page a background restore still loads?
 * @r:     region
 * @index: a 4 KiB page
 *
 * A fault uses it to leave the neighbours of a working-set page to the
 * restore instead of reading them around.
 *
 * Return: true while a background restore runs whose working set has
 * @index as a 4 KiB unit.
 * Context: any, takes wsr_region.lock.
 */
bool wsr_restore_will_load(struct wsr_region *r, pgoff_t index)
{
	bool ret;

	spin_lock(&r->lock);
	ret = r->async_active && r->async.ws && test_bit(index, r->async.ws);
	spin_unlock(&r->lock);
	return ret;
}

/**
 * wsr_restore_stop() - stop a background restore and wait for it
 * @r: region
 *
 * Context: process context, may sleep; the region's file is being released.
 */
void wsr_restore_stop(struct wsr_region *r)
{
	WRITE_ONCE(r->async.stop, true);
	flush_work(&r->async.work);
}

/**
 * wsr_restore_wait() - WSR_IOC_WAIT: wait for a background restore
 * @r:   region
 * @arg: validated here
 *
 * Return: 0 when no restore is pending, -ETIMEDOUT, -EINTR or -EINVAL.
 * Context: process context, sleeps interruptibly.
 */
int wsr_restore_wait(struct wsr_region *r, const struct wsr_wait *arg)
{
	long ret;

	if (arg->pad || memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (!arg->timeout_ms) {
		ret = wait_event_interruptible(r->wq,
					       !READ_ONCE(r->async_active));
		return ret ? -EINTR : 0;
	}
	ret = wait_event_interruptible_timeout(r->wq,
					       !READ_ONCE(r->async_active),
					       msecs_to_jiffies(arg->timeout_ms));
	if (ret < 0)
		return -EINTR;
	return ret ? 0 : -ETIMEDOUT;
}

/*
 * Copy in the working set: validate every index, drop duplicates, keep
 * first-touch order, count working-set pages per chunk.
 */
static int wsr_restore_read_ws(struct wsr_region *r, u64 upages, u64 count,
			       pgoff_t *order, unsigned long *nws,
			       unsigned long *seen, u16 *ws_per_chunk)
{
	const u64 __user *up = u64_to_user_ptr(upages);
	u64 buf[64];
	u64 i, j;

	for (i = 0; i < count; i += j) {
		u64 k = min_t(u64, count - i, ARRAY_SIZE(buf));

		if (copy_from_user(buf, up + i, k * sizeof(*buf)))
			return -EFAULT;
		for (j = 0; j < k; j++) {
			if (buf[j] >= r->npages)
				return -EINVAL;
			if (__test_and_set_bit(buf[j], seen))
				continue;
			order[(*nws)++] = buf[j];
			ws_per_chunk[buf[j] >> WSR_CHUNK_ORDER]++;
		}
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/**
 * wsr_restore() - WSR_IOC_RESTORE: prefault a working set into a region
 * @r:   region
 * @arg: validated here; counters filled in on success
 *
 * Return: 0, -EINVAL (flags, pad, reserved, index beyond the region),
 * -EFAULT, -EBUSY (an asynchronous restore is running), -ENOMEM, -EINTR or
 * the -errno of a failed read.
 * Context: process context, may sleep; takes wsr_region.mutex.
 */
int wsr_restore(struct wsr_region *r, struct wsr_restore *arg)
{
	bool async = arg->flags & WSR_RESTORE_ASYNC;
	bool lazy = arg->flags & WSR_RESTORE_LAZY_CACHE;
	u64 left = 0;
	unsigned long nws = 0, nu = 0, i, *seen = NULL;
	struct wsr_load_stats ls = {};
	pgoff_t *order = NULL, *units;
	u16 *ws_per_chunk;
	u64 present = 0, t0 = ktime_get_ns();
	size_t sz;
	int ret;

	if (arg->flags & ~WSR_RESTORE_FLAGS || arg->pad ||
	    memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (!READ_ONCE(wsr_async_enabled))
		async = false;

	mutex_lock(&r->mutex);
	if (READ_ONCE(r->async_active)) {
		ret = -EBUSY;
		goto out_unlock;
	}
	/*
	 * One allocation: page order, then (for the worker) unit list and
	 * per-chunk working-set counts; units never outnumber pages.
	 */
	sz = r->npages * 2 * sizeof(pgoff_t) + r->nchunks * sizeof(u16);
	order = kvmalloc(sz, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	seen = kvcalloc(BITS_TO_LONGS(r->npages), sizeof(long),
			GFP_KERNEL | __GFP_NOWARN);
	if (!order || !seen) {
		ret = -ENOMEM;
		goto out_free;
	}
	units = order + r->npages;
	ws_per_chunk = (u16 *)(units + r->npages);
	memset(ws_per_chunk, 0, r->nchunks * sizeof(u16));

	ret = wsr_restore_read_ws(r, arg->pages, arg->count, order, &nws,
				  seen, ws_per_chunk);
	if (ret)
		goto out_free;
	wsr_region_decide_ws(r, ws_per_chunk);

	/* Units in first-touch order; a 2 MiB chunk at its first page. */
	bitmap_zero(seen, r->npages);
	for (i = 0; i < nws; i++) {
		bool huge;
		pgoff_t u = wsr_region_unit_of(r, order[i], &huge);

		if (huge && __test_and_set_bit(u, seen))
			continue;
		/* Lazy: a cached 4 KiB page is copied when it is touched. */
		if (lazy && !huge && !wsr_region_holds(r, u) &&
		    wsr_page_cached(r, u, true)) {
			left++;
			continue;
		}
		units[nu++] = u | (huge ? WSR_UNIT_HUGE : 0);
		if (!(i & 255))
			cond_resched();
	}
	atomic64_inc(&wsr_gstats.restores);

	memset(&arg->from_cache, 0, sizeof(*arg) -
	       offsetof(struct wsr_restore, from_cache));
	arg->left_cached = left;
	if (async && nu) {
		u64 pages = 0;

		/* Hand the buffer to the worker: units + per-chunk counts. */
		memmove(order, units, nu * sizeof(*units));
		memmove(order + nu, ws_per_chunk, r->nchunks * sizeof(u16));
		for (i = 0; i < nu; i++)
			pages += wsr_unit_pages(order[i]);
		/* Its 4 KiB units, for faults (wsr_restore_will_load()). */
		bitmap_zero(seen, r->npages);
		for (i = 0; i < nu; i++)
			if (!(order[i] & WSR_UNIT_HUGE))
				__set_bit(order[i], seen);
		r->async.units = order;
		r->async.nunits = nu;
		r->async.pos = 0;
		r->async.stop = false;
		r->async.start = t0;
		spin_lock(&r->lock);
		r->async.pending = pages;
		r->async.ws = seen;
		r->async_active = true;
		spin_unlock(&r->lock);
		queue_work(wsr_wq, &r->async.work);
		order = NULL;	/* the worker frees them */
		seen = NULL;
		goto out_free;
	}

	ret = wsr_restore_units(r, units, nu, ws_per_chunk, &ls, &present);
	trace_wsr_restore_done(r->id, ls.cache, ls.device, ls.bytes,
			       ktime_get_ns() - t0);
	if (ret)
		goto out_free;
	arg->from_cache = ls.cache;
	arg->from_device = ls.device;
	arg->bytes_read = ls.bytes;
	arg->runs = ls.runs;
	arg->present = present;
	arg->bytes_gap = ls.gap;
out_free:
	kvfree(seen);
	kvfree(order);
out_unlock:
	mutex_unlock(&r->mutex);
	return ret;
}
