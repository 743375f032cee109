// SPDX-License-Identifier: GPL-2.0
/*
 * wsr io: fill pages from a snapshot file range (struct wsr_src).
 *
 * No wsr lock is held here: the caller owns the pages it asks to fill (the
 * locked folios of a base it loads).  Nothing is accounted here either: a
 * load returns what it did in struct wsr_load_stats and the caller adds it
 * to its counters.
 *
 * A load takes a set of destination pages ("slots"), sorts them by index,
 * copies every page that is uptodate in the snapshot's page cache (and never
 * reads it), and reads the others in sorted runs, each run split into
 * requests of at most the batch the caller sampled once from
 * read_batch_kb.  Restores read with direct I/O (restore_direct) straight
 * into the destination pages: the data goes into the base anyway, so a
 * page-cache copy would cost a copy and twice the memory.  Faults, and
 * whatever direct I/O cannot read, go through the snapshot's page cache:
 * one readahead request for the run (the source file has FMODE_RANDOM, so
 * exactly the run and nothing beyond it), then a copy per page, not
 * through ->read_iter(), which may take the inode lock (wsr_read_cached());
 * tmpfs, which has no ->read_folio, is read with ->read_iter().
 *
 * Working sets are sparse: most of their pages lie a few pages apart, and a
 * request per contiguous run would cost a device round trip per page or
 * two.  So a run also spans holes of up to read_gap_kb between pages that
 * are not in the page cache: one request reads the whole range, the hole
 * pages into a scratch page or, read through the page cache, left there
 * for later faults.  Hole pages are not loaded pages: they are counted in
 * @gap, apart from @device and @bytes, and a wsr_restore_run event is
 * emitted per contiguous piece.  A run never spans a page the load copies
 * from the page cache.
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

static unsigned long wsr_gap_pages(void)
{
	return READ_ONCE(wsr_read_gap_kb) >> (PAGE_SHIFT - 10);
}

/* An event per contiguous run of one source; @id 0 emits none. */
static void wsr_run_done(u32 id, pgoff_t index, u64 npages, int src, u64 t0)
{
	if (id && npages)
		trace_wsr_restore_run(id, index, npages, src,
				      ktime_get_ns() - t0);
}

/* Fill bvecs @done_pages.. through the file's ->read_iter(). */
static int wsr_read_iter(const struct wsr_src *r, struct bio_vec *bv,
			 unsigned long nr, unsigned long done_pages, loff_t pos)
{
	size_t len = nr << PAGE_SHIFT, done = done_pages << PAGE_SHIFT;
	struct iov_iter iter;
	ssize_t ret;

	pos += done;
	iov_iter_bvec(&iter, ITER_DEST, bv, nr, len);
	iov_iter_advance(&iter, done);
	ret = vfs_iter_read(r->file, &iter, &pos, 0);
	if (ret < 0)
		return ret;
	return done + ret == len ? 0 : -EIO;
}

/*
 * Fill @nr bvecs from @pos through the snapshot's page cache: read the
 * range ahead in one request, then copy each page, waiting for its read.
 * Neither takes the inode lock, which ->read_iter() of XFS and NFS take
 * even for buffered reads: a writer of the snapshot holds it while it
 * faults on a region of that snapshot, on a unit this load owns.  Pages
 * filled from @done_pages on; the @gap page takes no copy.
 */
static int wsr_read_cached(const struct wsr_src *r, struct bio_vec *bv,
			   unsigned long nr, unsigned long done_pages,
			   loff_t pos, struct page *gap)
{
	struct address_space *mapping = r->file->f_mapping;
	pgoff_t first = pos >> PAGE_SHIFT;
	unsigned long p;

	/* The file shrank: never hand out zeroes past its end. */
	if (pos + ((loff_t)nr << PAGE_SHIFT) > i_size_read(mapping->host))
		return -EIO;
	/* tmpfs has no ->read_folio, and its ->read_iter() takes no lock. */
	if (!mapping->a_ops->read_folio)
		return wsr_read_iter(r, bv, nr, done_pages, pos);
	wsr_io_readahead(r, first + done_pages - r->pgoff, nr - done_pages);
	for (p = done_pages; p < nr; p++) {
		struct folio *folio;

		if (bv[p].bv_page == gap)
			continue;
		folio = read_mapping_folio(mapping, first + p, r->file);
		if (IS_ERR(folio))
			return PTR_ERR(folio);
		if (folio_test_hwpoison(folio)) {
			folio_put(folio);
			return -EIO;
		}
		copy_highpage(bv[p].bv_page, folio_file_page(folio, first + p));
		folio_put(folio);
	}
	return 0;
}

/*
 * Fill @nr bvecs from @pos of the region's file, with direct I/O first
 * when @direct.  The direct read must not wait for the inode lock (see
 * wsr_read_cached()), so it is RWF_NOWAIT, and whatever it did not read
 * (-EAGAIN, a short read, no direct I/O) is read through the page cache.
 */
static int wsr_read_bvec(const struct wsr_src *r, bool direct,
			 struct bio_vec *bv, unsigned long nr, loff_t pos,
			 struct page *gap)
{
	size_t len = nr << PAGE_SHIFT;
	unsigned long done = 0;
	struct iov_iter iter;
	ssize_t ret;

	if (direct) {
		loff_t dpos = pos;

		iov_iter_bvec(&iter, ITER_DEST, bv, nr, len);
		ret = vfs_iter_read(r->dio_file, &iter, &dpos, RWF_NOWAIT);
		if (ret == len)
			return 0;
		if (ret > 0)
			done = ret >> PAGE_SHIFT;
	}
	return wsr_read_cached(r, bv, nr, done, pos, gap);
}

/*
 * Read @n sorted slots from the device in requests of at most
 * read_batch_kb, the holes between them into @gap (NULL: no holes).
 */
static int wsr_read_run(const struct wsr_src *r, bool direct,
			struct wsr_slot *s, unsigned long n, unsigned long batch,
			struct bio_vec *bv, struct page *gap, u32 id,
			struct wsr_load_stats *ls)
{

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
		ret = wsr_read_bvec(r, direct, bv, span, pos, gap);
		if (ret)
			return ret;
		ls->device += k;
		ls->bytes += (u64)k << PAGE_SHIFT;
		ls->gap += (u64)(span - k) << PAGE_SHIFT;
		ls->runs++;
		/* An event per contiguous piece: events count loaded pages. */
		for (i = 0, p = 1; p <= k; p++) {
			if (p < k && s[p].index == s[p - 1].index + 1)
				continue;
			wsr_run_done(id, s[i].index, p - i, WSR_SRC_DEVICE, t0);
			i = p;
		}
		s += k;
		n -= k;
	}
	return 0;
}

/**
 * wsr_io_load() - fill destination pages from the snapshot
 * @r:      source range
 * @slots:  the pages to fill; sorted by index on return, src set
 * @n:      number of slots
 * @batch:  largest read request, in pages (sampled once by the caller, so
 *          that a knob change cannot resize a request in flight)
 * @direct: read with direct I/O where the source can (never under
 *          mmap_lock, which ranks below the inode lock direct I/O takes)
 * @id:     region id for one wsr_restore_run event per contiguous run of
 *          one source, 0 for none
 * @ls:     (out) added to: what the load did
 *
 * A compressed source (@r->zi) is read and decompressed by wsr_zio_load()
 * instead, after the sort; @batch and @direct do not apply to it.
 *
 * Return: 0, or -errno of a failed read (-EIO when the file is too short,
 * or a compressed chunk is corrupt).  On error the slots' contents are
 * undefined.
 * Context: process context, may sleep, no wsr lock held.
 */
int wsr_io_load(const struct wsr_src *r, struct wsr_slot *slots,
		unsigned long n, unsigned long batch, bool direct, u32 id,
		struct wsr_load_stats *ls)
{
	struct address_space *mapping = r->file->f_mapping;
	unsigned long i, run = 0;
	unsigned long maxgap = wsr_gap_pages(), span = n;
	struct page *gap = NULL;
	struct bio_vec *bv;
	u64 t0 = 0;
	int ret = 0;

	direct = direct && r->dio_file && READ_ONCE(wsr_restore_direct);
	if (n > 1) {
		for (i = 1; i < n && slots[i - 1].index < slots[i].index; i++)
			;
		if (i < n)
			sort(slots, n, sizeof(*slots), wsr_slot_cmp, NULL);
		span = slots[n - 1].index - slots[0].index + 1;
	}
	if (r->zi)
		return wsr_zio_load(r, slots, n, id, ls);
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
		pgoff_t fidx = r->pgoff + slots[i].index;
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
						   batch, bv, gap, id, ls);
				if (ret)
					goto out;
			} else {
				wsr_run_done(id, slots[run].index, i - run,
					     WSR_SRC_CACHE, t0);
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
			ret = wsr_read_run(r, direct, &slots[run], n - run,
					   batch, bv, gap, id, ls);
		else
			wsr_run_done(id, slots[run].index, n - run,
				     WSR_SRC_CACHE, t0);
	}
out:
	kvfree(bv);
	if (gap)
		__free_page(gap);
	return ret;
}

/**
 * wsr_io_cached() - is a page of the range in the snapshot's page cache?
 * @r:        source range
 * @index:    page index in the range
 * @readable: and uptodate, so that it can be copied now (else: read or
 *            being read)
 *
 * For a compressed source: is its chunk zero or its stored bytes
 * uptodate in the compressed file's page cache (wsr_zio_cached())?
 *
 * Return: true when the page cache holds the page.
 * Context: any.
 */
bool wsr_io_cached(const struct wsr_src *r, pgoff_t index, bool readable)
{
	struct folio *folio;
	bool ret;

	if (r->zi)
		return wsr_zio_cached(r, index);
	folio = filemap_get_folio(r->file->f_mapping, r->pgoff + index);
	if (!folio)
		return false;
	ret = !readable || (folio_test_uptodate(folio) &&
			    !folio_test_hwpoison(folio));
	folio_put(folio);
	return ret;
}

/**
 * wsr_io_cached_pages() - count pages of the range in the page cache
 * @r:     source range
 * @start: first page
 * @end:   end of the pages counted
 * @skip:  a page not to count
 *
 * Return: pages of [@start, @end) other than @skip in the page cache.
 * Context: any.
 */
unsigned long wsr_io_cached_pages(const struct wsr_src *r, pgoff_t start,
				  pgoff_t end, pgoff_t skip)
{
	unsigned long n = 0;
	pgoff_t i;

	for (i = start; i < end; i++)
		n += i != skip && wsr_io_cached(r, i, false);
	return n;
}

/**
 * wsr_io_readahead() - read pages of the range into the page cache
 * @r:     source range
 * @start: first page
 * @nr:    pages
 *
 * The source file is FMODE_RANDOM: exactly this range is read, no more;
 * of a compressed source, the stored bytes of the range's chunks.
 *
 * Context: process context, may sleep.
 */
void wsr_io_readahead(const struct wsr_src *r, pgoff_t start,
		      unsigned long nr)
{
	DEFINE_READAHEAD(ractl, r->file, &r->file->f_ra, r->file->f_mapping,
			 r->pgoff + start);

	if (r->zi)
		wsr_zio_readahead(r, start, nr);
	else
		page_cache_sync_ra(&ractl, nr);
}
