// SPDX-License-Identifier: GPL-2.0
/*
 * wsr base: one page store per snapshot range, shared by every region over
 * it on the host.
 *
 * A base is the address_space of an inode of wsr's own pseudo filesystem,
 * with large folios.  Regions map it through files on that inode
 * (wsr_base_open()) MAP_PRIVATE, so the kernel's filemap code maps the
 * folios (a PMD for a 2 MiB folio, fault-around for 4 KiB ones) and its
 * copy-on-write gives every mapping private copies of the pages it
 * writes; the folios themselves are never written after they are loaded.
 * Being page cache, unmapped folios are reclaimed by the LRU, dropped by
 * drop_caches (the inode is on the superblock's inode list) and charged to
 * the memory cgroup of the task that loads them.
 *
 * Identity.  A base is found by the snapshot's device, inode number and
 * generation, range and 2 MiB permission, and kept only while the
 * snapshot's mtime, ctime and size are those seen at its creation: a
 * changed snapshot gets a new base for new regions, and the old one goes
 * with its last region.  A base no region uses stays in the table while it
 * holds pages, for the next region over the same snapshot (a template
 * restore reads nothing); it holds no reference to the snapshot meanwhile,
 * so the snapshot's filesystem can be unmounted.
 *
 * Units.  A base is cut into 2 MiB chunks; each chunk's mode is decided
 * once, on its first use: HUGE (one 2 MiB folio loaded whole) when 2 MiB
 * folios are allowed, the chunk lies fully inside the range, the caller is
 * not recording, and either no working set was given yet or the working
 * set has at least huge_threshold pages in it; SMALL (4 KiB folios)
 * otherwise.  A "unit" is what is loaded at once: a HUGE chunk or a SMALL
 * page.  A loader claims a unit by adding a new locked folio to the
 * address_space, or by locking a folio an earlier load left not uptodate;
 * it fills the folio completely and only then marks it uptodate and
 * unlocks it, so nobody maps partial data and everybody else waits on the
 * folio lock and reads nothing.  A chunk whose 2 MiB folio cannot be
 * allocated or added becomes SMALL.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "wsr_internal.h"

#define WSR_FS_MAGIC		0x77737262	/* "wsrb" */

static struct vfsmount *wsr_mnt;
/*
 * protects wsr_bases and every wsr_base.node, .users, .stale, .ka, and the
 * keep-alive clock (wsr_keepalive.c)
 */
static DEFINE_MUTEX(wsr_base_lock);
/* the current trim's number, for wsr_ka.pass (wsr_base_lock) */
static u64 wsr_base_trim_pass;
static LIST_HEAD(wsr_bases);
static DEFINE_IDA(wsr_base_ida);

static struct wsr_base *wsr_folio_base(struct folio *folio)
{
	return folio->mapping->host->i_private;
}

/* Fill a locked folio of @b from the snapshot. */
static int wsr_base_fill(struct wsr_base *b, struct folio **folios,
			 unsigned int nr, unsigned long npages,
			 unsigned long batch, bool direct, u32 id,
			 struct wsr_load_stats *ls)
{
	struct wsr_slot *slots;
	unsigned long ns = 0;
	unsigned int i;
	long k;
	int ret;

	slots = kvmalloc_array(npages, sizeof(*slots), GFP_KERNEL);
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		for (k = 0; k < folio_nr_pages(folios[i]); k++) {
			slots[ns].index = folios[i]->index + k;
			slots[ns].page = folio_page(folios[i], k);
			slots[ns].src = 0;
			ns++;
		}
	}
	ret = wsr_io_load(&b->src, slots, ns, batch, direct, id, ls);
	kvfree(slots);
	return ret;
}

/*
 * ->read_folio: filemap_fault() calls it for a folio an earlier load
 * left not uptodate, or one it allocated itself after reclaim.
 */
static int wsr_base_read_folio(struct file *file, struct folio *folio)
{
	struct wsr_base *b = wsr_folio_base(folio);
	struct wsr_load_stats ls = {};
	int ret;

	ret = wsr_base_fill(b, &folio, 1, folio_nr_pages(folio),
			    wsr_read_batch_pages(), false, 0, &ls);
	if (!ret)
		folio_mark_uptodate(folio);
	folio_unlock(folio);
	return ret;
}

/*
 * memory_failure() truncates a poisoned page out of the base
 * (error_remove_page): the next fault or restore loads it again from the
 * snapshot, and mappings of the poisoned page get SIGBUS.
 */
static const struct address_space_operations wsr_base_aops = {
	.read_folio = wsr_base_read_folio,
	.error_remove_page = generic_error_remove_page,
};

static bool wsr_chunk_full(struct wsr_base *b, unsigned long ci)
{
	return ((pgoff_t)ci + 1) * WSR_CHUNK_PAGES <= b->src.npages;
}

static bool wsr_huge_allowed(struct wsr_base *b, unsigned long ci)
{
	return b->huge_ok && READ_ONCE(wsr_huge_enabled) &&
	       wsr_chunk_full(b, ci);
}

/**
 * wsr_base_decide_ws() - decide chunk modes from a working set
 * @b:            base
 * @ws_per_chunk: working-set pages in each chunk
 *
 * Undecided chunks with working-set pages become HUGE when they hold at
 * least huge_threshold of them (and 2 MiB folios are allowed), SMALL
 * otherwise.  From now on the base has a working set, so chunks decided
 * later (by faults outside the working set) are SMALL.
 *
 * Return: true when the base had no working set before this one.
 * Context: process context, takes wsr_base.lock.
 */
bool wsr_base_decide_ws(struct wsr_base *b, const u16 *ws_per_chunk)
{
	unsigned long thr = READ_ONCE(wsr_huge_threshold);
	unsigned long ci;
	bool first;

	spin_lock(&b->lock);
	for (ci = 0; ci < b->nchunks; ci++) {
		if (b->modes[ci] != WSR_CHUNK_UNDECIDED || !ws_per_chunk[ci])
			continue;
		if (ws_per_chunk[ci] >= thr && wsr_huge_allowed(b, ci))
			b->modes[ci] = WSR_CHUNK_HUGE;
		else
			b->modes[ci] = WSR_CHUNK_SMALL;
	}
	first = !b->has_ws;
	b->has_ws = true;
	spin_unlock(&b->lock);
	return first;
}

/**
 * wsr_base_forget_ws() - the restore of the first working set failed
 * @b: base
 *
 * Chunks outside the working set are undecided still: let them be decided
 * as if there had been no working set (2 MiB where allowed), as they were
 * before the restore.
 *
 * Context: any, takes wsr_base.lock.
 */
void wsr_base_forget_ws(struct wsr_base *b)
{
	spin_lock(&b->lock);
	b->has_ws = false;
	spin_unlock(&b->lock);
}

/**
 * wsr_base_unit_huge() - is a page's unit a 2 MiB chunk?
 * @b:          base
 * @index:      page index
 * @small_only: the caller records first touches: decide an undecided
 *              chunk SMALL (no 2 MiB load for one touch)
 *
 * Decides the chunk's mode if that has not happened yet.
 *
 * Return: true for a HUGE chunk.
 * Context: any, takes wsr_base.lock.
 */
bool wsr_base_unit_huge(struct wsr_base *b, pgoff_t index, bool small_only)
{
	unsigned long ci = index >> WSR_CHUNK_ORDER;
	bool huge;

	spin_lock(&b->lock);
	if (b->modes[ci] == WSR_CHUNK_UNDECIDED)
		b->modes[ci] = !small_only && !b->has_ws &&
			       wsr_huge_allowed(b, ci) ?
			       WSR_CHUNK_HUGE : WSR_CHUNK_SMALL;
	huge = b->modes[ci] == WSR_CHUNK_HUGE;
	spin_unlock(&b->lock);
	return huge;
}

static void wsr_base_set_small(struct wsr_base *b, pgoff_t index)
{
	spin_lock(&b->lock);
	b->modes[index >> WSR_CHUNK_ORDER] = WSR_CHUNK_SMALL;
	spin_unlock(&b->lock);
}

/* Result of trying to claim the unit of a page. */
enum wsr_claim {
	WSR_CLAIM_MINE,		/* a locked, not uptodate folio to fill */
	WSR_CLAIM_PRESENT,	/* uptodate already */
	WSR_CLAIM_BUSY,		/* locked by another loader: wait later */
	WSR_CLAIM_RETRY,	/* the chunk became SMALL, or a race: again */
};

/*
 * A restore (@mayfail) gets -ENOMEM from a full memory cgroup, as a
 * syscall should; a fault goes the way of any page-cache fault.
 */
static enum wsr_claim wsr_base_claim(struct wsr_base *b, pgoff_t index,
				     bool huge, bool mayfail,
				     struct folio **out, int *err)
{
	struct address_space *mapping = b->inode->i_mapping;
	gfp_t gfp = mapping_gfp_mask(mapping) |
		    (mayfail ? __GFP_RETRY_MAYFAIL | __GFP_NOWARN : 0);
	pgoff_t unit = huge ? round_down(index, WSR_CHUNK_PAGES) : index;
	struct folio *folio;

	folio = filemap_get_folio(mapping, index);
	if (folio) {
		/* 4 KiB folios in a HUGE chunk (added after reclaim). */
		if (huge && !folio_test_large(folio)) {
			folio_put(folio);
			wsr_base_set_small(b, index);
			return WSR_CLAIM_RETRY;
		}
		if (folio_test_uptodate(folio)) {
			folio_put(folio);
			return WSR_CLAIM_PRESENT;
		}
		if (!folio_trylock(folio)) {
			*out = folio;
			return WSR_CLAIM_BUSY;
		}
		if (folio->mapping != mapping || folio_test_uptodate(folio)) {
			folio_unlock(folio);
			folio_put(folio);
			return WSR_CLAIM_RETRY;
		}
		*out = folio;
		return WSR_CLAIM_MINE;
	}
	if (huge)
		gfp |= __GFP_NORETRY | __GFP_NOWARN;
	folio = filemap_alloc_folio(gfp, huge ? WSR_CHUNK_ORDER : 0);
	if (!folio) {
		if (huge) {
			wsr_base_set_small(b, index);
			return WSR_CLAIM_RETRY;
		}
		*err = -ENOMEM;
		return WSR_CLAIM_RETRY;
	}
	*err = filemap_add_folio(mapping, folio, unit, gfp);
	if (*err) {
		folio_put(folio);
		/*
		 * A 2 MiB unit that cannot be added (a 4 KiB folio in its
		 * range, no memory) goes 4 KiB; a 4 KiB one someone added
		 * first (-EEXIST) is looked up again.
		 */
		if (huge)
			wsr_base_set_small(b, index);
		if (huge || *err == -EEXIST)
			*err = 0;
		return WSR_CLAIM_RETRY;
	}
	*out = folio;
	return WSR_CLAIM_MINE;
}

/* Give up a claim: the folio stays, not uptodate, for a later load. */
static void wsr_base_unclaim(struct folio *folio)
{
	folio_unlock(folio);
	folio_put(folio);
}

/* Fill the claimed folios, publish them (or leave them to a retry). */
static int wsr_base_publish(struct wsr_base *b, struct folio **own,
			    unsigned int no, unsigned long npages,
			    unsigned long batch, bool direct, u32 id,
			    struct wsr_load_stats *ls)
{
	unsigned int i;
	int ret;

	ret = wsr_base_fill(b, own, no, npages, batch, direct, id, ls);
	for (i = 0; i < no; i++) {
		if (!ret) {
			folio_mark_uptodate(own[i]);
			ls->huge += folio_test_large(own[i]);
		}
		wsr_base_unclaim(own[i]);
	}
	return ret;
}

/* Wait for a unit another loader holds; fill it if that load failed. */
static int wsr_base_wait(struct wsr_base *b, struct folio *folio,
			 unsigned long batch, bool direct, u32 id,
			 struct wsr_load_stats *ls)
{
	int ret = folio_lock_killable(folio);

	if (ret) {
		folio_put(folio);
		return ret;
	}
	ls->waited++;
	/* That load failed: this one tries again. */
	if (folio->mapping == b->inode->i_mapping &&
	    !folio_test_uptodate(folio))
		return wsr_base_publish(b, &folio, 1, folio_nr_pages(folio),
					batch, direct, id, ls);
	folio_unlock(folio);
	folio_put(folio);
	return 0;
}

/**
 * wsr_base_load() - load the units of pages into the base
 * @b:          base
 * @pages:      page indices, unique, below the base's size, in the order
 *              to load them
 * @n:          number of pages
 * @small_only: see wsr_base_unit_huge()
 * @direct:     a restore: read with direct I/O where possible (never under
 *              mmap_lock), and fail with -ENOMEM rather than invoke the
 *              OOM killer when memory or the memory cgroup is full
 * @id:         region id for wsr_restore_run events, 0 for none
 * @ls:         (out) added to: what the load did; @present counts pages
 *              whose unit was loaded or being loaded by someone else
 *
 * Claims units read_batch_kb at a time (sampled once), fills and
 * publishes each batch before claiming the next, then waits for the units
 * other loaders held.  No unit is read twice.
 *
 * Return: 0, -ENOMEM, -EINTR (fatal signal) or the -errno of a read.
 * Context: process context, may sleep; no wsr lock held.
 */
int wsr_base_load(struct wsr_base *b, const pgoff_t *pages, unsigned long n,
		  bool small_only, bool direct, u32 id,
		  struct wsr_load_stats *ls)
{
	unsigned long batch = wsr_read_batch_pages(), i = 0, nbusy = 0, npages;
	struct folio **own, **busy;
	unsigned long *chunk_seen = NULL, *chunk_present = NULL;
	unsigned int no;
	int ret = 0;

	own = kvmalloc_array(min(n, batch), sizeof(*own), GFP_KERNEL);
	busy = kvmalloc_array(n, sizeof(*busy), GFP_KERNEL);
	if (n > 1) {
		chunk_seen = bitmap_zalloc(b->nchunks, GFP_KERNEL);
		chunk_present = bitmap_zalloc(b->nchunks, GFP_KERNEL);
	}
	if (!own || !busy || (n > 1 && (!chunk_seen || !chunk_present))) {
		ret = -ENOMEM;
		goto out_free;
	}

	while (i < n && !ret) {
		no = 0;
		npages = 0;
		while (i < n && npages < batch) {
			pgoff_t index = pages[i];
			unsigned long ci = index >> WSR_CHUNK_ORDER;
			bool huge = wsr_base_unit_huge(b, index, small_only);
			struct folio *folio = NULL;
			enum wsr_claim c;
			int err = 0;

			if (huge && chunk_seen &&
			    __test_and_set_bit(ci, chunk_seen)) {
				ls->present += test_bit(ci, chunk_present);
				i++;
				continue;
			}
			c = wsr_base_claim(b, index, huge, direct, &folio, &err);
			if (err) {
				ret = err;
				break;
			}
			if (c == WSR_CLAIM_RETRY) {
				if (chunk_seen)
					__clear_bit(ci, chunk_seen);
				continue;
			}
			i++;
			if (c == WSR_CLAIM_MINE) {
				own[no++] = folio;
				npages += folio_nr_pages(folio);
				continue;
			}
			ls->present++;
			if (huge && chunk_present)
				__set_bit(ci, chunk_present);
			if (c == WSR_CLAIM_BUSY)
				busy[nbusy++] = folio;
		}
		if (no && ret) {
			/*
			 * No memory for the whole batch: read nothing into it.
			 * Its folios stay not uptodate and reclaimable, for
			 * the filesystem's own allocations and a later load.
			 */
			while (no)
				wsr_base_unclaim(own[--no]);
		} else if (no) {
			ret = wsr_base_publish(b, own, no, npages, batch,
					       direct, id, ls);
		}
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
	for (i = 0; i < nbusy; i++) {
		if (ret) {
			folio_put(busy[i]);
			continue;
		}
		ret = wsr_base_wait(b, busy[i], batch, direct, id, ls);
	}
out_free:
	bitmap_free(chunk_present);
	bitmap_free(chunk_seen);
	kvfree(busy);
	kvfree(own);
	return ret;
}

/**
 * wsr_base_has() - is a page loaded?
 * @b:     base
 * @index: page index
 *
 * Return: true when the base holds the page uptodate.
 * Context: any.
 */
bool wsr_base_has(struct wsr_base *b, pgoff_t index)
{
	struct folio *folio = filemap_get_folio(b->inode->i_mapping, index);
	bool ret;

	if (!folio)
		return false;
	ret = folio_test_uptodate(folio);
	folio_put(folio);
	return ret;
}

/**
 * wsr_base_clip_to_missing() - shrink a read-around window
 * @b:     base
 * @index: the faulting page, inside [*start, *end)
 * @start: (in/out) first page of the window
 * @end:   (in/out) end of the window
 *
 * Clips the window to the pages on either side of @index that the base
 * neither holds nor is loading, so that a read-around never reads a page
 * the base has already (direct reads leave no page-cache copy of it).
 *
 * Context: any.
 */
void wsr_base_clip_to_missing(struct wsr_base *b, pgoff_t index,
			      pgoff_t *start, pgoff_t *end)
{
	struct address_space *mapping = b->inode->i_mapping;
	pgoff_t i;

	for (i = index; i > *start && !filemap_range_has_page(mapping,
			(loff_t)(i - 1) << PAGE_SHIFT,
			((loff_t)i << PAGE_SHIFT) - 1); i--)
		;
	*start = i;
	for (i = index + 1; i < *end && !filemap_range_has_page(mapping,
			(loff_t)i << PAGE_SHIFT,
			((loff_t)(i + 1) << PAGE_SHIFT) - 1); i++)
		;
	*end = i;
}

/*
 * Count the folios of a base; with @lock_huge, also take and drop the lock
 * of every 2 MiB folio.
 */
static void wsr_base_walk(struct wsr_base *b, u64 *huge, u64 *small,
			  bool lock_huge)
{
	struct folio_batch fbatch;
	pgoff_t index = 0;
	unsigned int i;

	*huge = 0;
	*small = 0;
	folio_batch_init(&fbatch);
	while (filemap_get_folios(b->inode->i_mapping, &index, ULONG_MAX,
				  &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			if (!folio_test_large(folio)) {
				(*small)++;
				continue;
			}
			(*huge)++;
			if (lock_huge) {
				folio_lock(folio);
				folio_unlock(folio);
			}
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
}

/**
 * wsr_base_resident() - count the folios a base holds
 * @b:     base
 * @huge:  (out) 2 MiB folios
 * @small: (out) 4 KiB folios
 *
 * Context: process context, may sleep.
 */
void wsr_base_resident(struct wsr_base *b, u64 *huge, u64 *small)
{
	wsr_base_walk(b, huge, small, false);
}

/**
 * wsr_base_unmap() - make the next touch of every base page fault again
 * @b: base
 *
 * Zaps the base's pages from every mapping of it; pages a mapping copied
 * on write stay.  A fault in flight that maps a 2 MiB folio by its PMD
 * holds the folio lock until it is done: each such lock is taken once
 * first, so that no PMD set by a fault that began earlier survives.
 *
 * Context: process context, may sleep; takes folio locks, then
 * i_mmap_rwsem.
 */
void wsr_base_unmap(struct wsr_base *b)
{
	u64 huge, small;

	wsr_base_walk(b, &huge, &small, true);
	unmap_mapping_range(b->inode->i_mapping, 0, 0, 0);
}

/**
 * wsr_base_open() - a new file on a base's inode, for a region to map
 * @b:    base
 * @fops: the file's operations; its ->release ends the region
 * @priv: the file's private_data
 *
 * Return: the file, or ERR_PTR(-errno).
 * Context: process context, may sleep.
 */
struct file *wsr_base_open(struct wsr_base *b,
			   const struct file_operations *fops, void *priv)
{
	struct file *f;

	/* alloc_file_pseudo() takes no module reference; __fput() drops one. */
	if (!try_module_get(fops->owner))
		return ERR_PTR(-ENOENT);
	ihold(b->inode);
	f = alloc_file_pseudo(b->inode, wsr_mnt, "wsr-base", O_RDONLY, fops);
	if (IS_ERR(f)) {
		iput(b->inode);
		module_put(fops->owner);
		return f;
	}
	f->private_data = priv;
	return f;
}

/* Open the base's own files on the snapshot @uf. */
static int wsr_base_open_src(struct wsr_base *b, struct file *uf)
{
	struct file *f;

	/* Read-only, no readahead beyond a request. */
	f = dentry_open(&uf->f_path, O_RDONLY | O_LARGEFILE, uf->f_cred);
	if (IS_ERR(f))
		return PTR_ERR(f);
	if (!f->f_op->read_iter) {
		fput(f);
		return -EINVAL;
	}
	spin_lock(&f->f_lock);
	f->f_mode |= FMODE_RANDOM;
	spin_unlock(&f->f_lock);
	b->src.file = f;
	/* NULL where the filesystem has no direct I/O: buffered reads. */
	f = dentry_open(&uf->f_path, O_RDONLY | O_LARGEFILE | O_DIRECT,
			uf->f_cred);
	b->src.dio_file = IS_ERR(f) ? NULL : f;
	return 0;
}

/* The last region went: the snapshot's filesystem may be unmounted now. */
static void wsr_base_close_src(struct wsr_base *b)
{
	if (b->src.dio_file)
		fput(b->src.dio_file);
	if (b->src.file)
		fput(b->src.file);
	b->src.dio_file = NULL;
	b->src.file = NULL;
}

static void wsr_base_free(struct wsr_base *b)
{
	lockdep_assert_held(&wsr_base_lock);
	if (!list_empty(&b->node))
		list_del(&b->node);
	iput(b->inode);
	wsr_base_close_src(b);
	wsr_zindex_free(b->src.zi);
	ida_free(&wsr_base_ida, b->id);
	kvfree(b->modes);
	kfree(b);
}

/* Drop unused bases that hold no page any more. */
static void wsr_base_sweep(void)
{
	struct wsr_base *b, *tmp;

	lockdep_assert_held(&wsr_base_lock);
	list_for_each_entry_safe(b, tmp, &wsr_bases, node)
		if (!b->users && !b->inode->i_mapping->nrpages)
			wsr_base_free(b);
}

static bool wsr_base_of(struct wsr_base *b, struct inode *inode)
{
	return b->dev == inode->i_sb->s_dev && b->ino == inode->i_ino &&
	       b->gen == inode->i_generation;
}

static bool wsr_base_current(struct wsr_base *b, struct inode *inode)
{
	return timespec64_equal(&b->mtime, &inode->i_mtime) &&
	       timespec64_equal(&b->ctime, &inode->i_ctime) &&
	       b->size == i_size_read(inode);
}

static struct wsr_base *wsr_base_new(struct file *uf, loff_t offset,
				     loff_t length, bool huge_ok,
				     struct wsr_zindex *zi)
{
	struct inode *src_inode = file_inode(uf);
	struct wsr_base *b;
	struct inode *inode;
	int ret = -ENOMEM;

	b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&b->node);
	spin_lock_init(&b->lock);
	b->src.npages = length >> PAGE_SHIFT;
	b->src.offset = offset;
	b->src.pgoff = offset >> PAGE_SHIFT;
	b->nchunks = DIV_ROUND_UP(b->src.npages, WSR_CHUNK_PAGES);
	b->modes = kvcalloc(b->nchunks, sizeof(*b->modes),
			    GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!b->modes)
		goto err_free;
	ret = ida_alloc_min(&wsr_base_ida, 1, GFP_KERNEL);
	if (ret < 0)
		goto err_free;
	b->id = ret;

	ret = wsr_base_open_src(b, uf);
	if (ret)
		goto err_ida;

	inode = new_inode(wsr_mnt->mnt_sb);
	if (!inode) {
		ret = -ENOMEM;
		goto err_files;
	}
	inode->i_ino = get_next_ino();
	inode->i_mode = S_IFREG | 0400;
	inode->i_flags |= S_PRIVATE;
	inode->i_size = length;
	inode->i_private = b;
	inode->i_mapping->a_ops = &wsr_base_aops;
	mapping_set_gfp_mask(inode->i_mapping, GFP_HIGHUSER);
	if (huge_ok)
		mapping_set_large_folios(inode->i_mapping);
	b->inode = inode;

	b->dev = src_inode->i_sb->s_dev;
	b->ino = src_inode->i_ino;
	b->gen = src_inode->i_generation;
	b->mtime = src_inode->i_mtime;
	b->ctime = src_inode->i_ctime;
	b->size = i_size_read(src_inode);
	b->huge_ok = huge_ok;
	b->src.zi = zi;
	wsr_ka_init(&b->ka, b->id);
	return b;

err_files:
	wsr_base_close_src(b);
err_ida:
	ida_free(&wsr_base_ida, b->id);
err_free:
	kvfree(b->modes);
	kfree(b);
	return ERR_PTR(ret);
}

/**
 * wsr_base_get() - the base of a snapshot range, made if needed
 * @uf:      the snapshot, a regular file open for reading
 * @offset:  range start, page aligned
 * @length:  range size, page aligned, within the file
 * @huge_ok: 2 MiB folios allowed
 * @compressed: @uf is a compressed snapshot (wsr-zsnap(5)); @offset and
 *           @length are then those of the uncompressed snapshot
 *
 * Return: a base with one more user, or ERR_PTR(-errno): of a compressed
 * snapshot also those of wsr_zindex_load(), and -EINVAL when the range
 * does not lie within its uncompressed length.
 * Context: process context, may sleep; takes wsr_base_lock.
 */
struct wsr_base *wsr_base_get(struct file *uf, loff_t offset, loff_t length,
			      bool huge_ok, bool compressed)
{
	struct inode *inode = file_inode(uf);
	struct wsr_zindex *zi = NULL;
	struct wsr_base *b, *tmp;

	/*
	 * The index is read without wsr_base_lock, which ranks above the
	 * snapshot filesystem's locks; a base that exists already has its own.
	 */
	if (compressed) {
		zi = wsr_zindex_load(uf);
		if (IS_ERR(zi))
			return ERR_CAST(zi);
		/* The range is one of the uncompressed snapshot. */
		if (offset || length > zi->length) {
			wsr_zindex_free(zi);
			return ERR_PTR(-EINVAL);
		}
	}
	mutex_lock(&wsr_base_lock);
	list_for_each_entry_safe(b, tmp, &wsr_bases, node) {
		if (!wsr_base_of(b, inode) || b->src.offset != offset ||
		    b->src.npages != length >> PAGE_SHIFT ||
		    b->huge_ok != huge_ok || !b->src.zi != !compressed)
			continue;
		if (!wsr_base_current(b, inode)) {
			/* Its regions keep it; new ones get a new base. */
			b->stale = true;
			list_del_init(&b->node);
			if (!b->users)
				wsr_base_free(b);
			continue;
		}
		/* Unused and emptied (reclaim, drop_caches): start afresh. */
		if (!b->users && !b->inode->i_mapping->nrpages) {
			wsr_base_free(b);
			continue;
		}
		if (!b->users) {
			int ret = wsr_base_open_src(b, uf);

			if (ret) {
				b = ERR_PTR(ret);
				goto out;
			}
		}
		b->users++;
		goto out;
	}
	wsr_base_sweep();
	b = wsr_base_new(uf, offset, length, huge_ok, zi);
	if (!IS_ERR(b)) {
		b->users = 1;
		list_add(&b->node, &wsr_bases);
		zi = NULL;
	}
out:
	mutex_unlock(&wsr_base_lock);
	wsr_zindex_free(zi);
	return b;
}

/**
 * wsr_base_put() - a region stops using a base
 * @b: base
 *
 * A stale base, or one that holds no page, goes now; others stay for the
 * next region over the same snapshot, without holding the snapshot open
 * (the next region's file opens it again).
 *
 * Context: process context, may sleep; takes wsr_base_lock.
 */
void wsr_base_put(struct wsr_base *b)
{
	mutex_lock(&wsr_base_lock);
	if (!--b->users) {
		if (b->stale || !b->inode->i_mapping->nrpages) {
			wsr_base_free(b);
		} else {
			wsr_base_close_src(b);
			wsr_ka_released(&b->ka);
		}
	}
	mutex_unlock(&wsr_base_lock);
}

/**
 * wsr_base_count() - bases and their pages
 * @pages: (out) 4 KiB pages all bases hold
 *
 * Return: number of bases in the table.
 * Context: process context; takes wsr_base_lock.
 */
unsigned long wsr_base_count(unsigned long *pages)
{
	struct wsr_base *b;
	unsigned long n = 0;

	*pages = 0;
	mutex_lock(&wsr_base_lock);
	list_for_each_entry(b, &wsr_bases, node) {
		n++;
		*pages += b->inode->i_mapping->nrpages;
	}
	mutex_unlock(&wsr_base_lock);
	return n;
}

/* Drop an unused base's pages for the keep-alive policy. */
static unsigned long wsr_base_evict(struct wsr_base *b, int reason, u64 now)
{
	unsigned long dropped;

	lockdep_assert_held(&wsr_base_lock);
	dropped = invalidate_mapping_pages(b->inode->i_mapping, 0, -1);
	atomic64_add(dropped, &wsr_gstats.base_trimmed);
	wsr_ka_evicted(&b->ka, reason, (u64)dropped << PAGE_SHIFT, now);
	return dropped;
}

/*
 * Drop unused bases in the keep-alive policy's order until @want pages
 * went (or none is left to try); each base is tried once per @pass.
 */
static unsigned long wsr_base_evict_unused(unsigned long want, u64 pass,
					   int reason, u64 now)
{
	unsigned long done = 0;
	struct wsr_base *b, *victim;

	lockdep_assert_held(&wsr_base_lock);
	while (done < want) {
		victim = NULL;
		list_for_each_entry(b, &wsr_bases, node) {
			if (b->users || b->ka.pass == pass ||
			    !b->inode->i_mapping->nrpages)
				continue;
			if (!victim || wsr_ka_before(&b->ka, &victim->ka))
				victim = b;
		}
		if (!victim)
			break;
		victim->ka.pass = pass;
		done += wsr_base_evict(victim, reason, now);
	}
	return done;
}

/**
 * wsr_base_trim() - hold the bases under base_max_kb
 *
 * Under the ttl policy, first drops the unmapped, unlocked pages of every
 * unused base that expired.  Then, while the bases hold more than
 * base_max_kb (0: no cap), drops those of unused bases one base at a time
 * in the keep-alive policy's order (wsr_keepalive.c), and last the
 * unmapped pages of bases in use, the oldest base first.  Mapped pages
 * stay.
 *
 * Context: process context, may sleep; takes wsr_base_lock.
 */
void wsr_base_trim(void)
{
	unsigned long cap = READ_ONCE(wsr_base_max_kb) >> (PAGE_SHIFT - 10);
	unsigned long total = 0, dropped;
	struct wsr_base *b;
	u64 now, pass;

	if (!cap && !wsr_ka_expiring())
		return;
	mutex_lock(&wsr_base_lock);
	now = ktime_get_ns();
	pass = ++wsr_base_trim_pass;
	list_for_each_entry(b, &wsr_bases, node) {
		if (!b->users && b->inode->i_mapping->nrpages &&
		    wsr_ka_expired(&b->ka, now))
			wsr_base_evict(b, WSR_KA_EXPIRED, now);
		total += b->inode->i_mapping->nrpages;
	}
	if (cap && total > cap) {
		dropped = wsr_base_evict_unused(total - cap, pass,
						WSR_KA_BUDGET, now);
		total -= min(total, dropped);
	}
	list_for_each_entry_reverse(b, &wsr_bases, node) {
		if (!cap || total <= cap)
			break;
		if (!b->users)
			continue;
		dropped = invalidate_mapping_pages(b->inode->i_mapping, 0, -1);
		atomic64_add(dropped, &wsr_gstats.base_trimmed);
		total -= min(total, dropped);
	}
	wsr_base_sweep();
	mutex_unlock(&wsr_base_lock);
}

/**
 * wsr_base_restored() - account a restore to the base's keep-alive state
 * @b:   base
 * @ls:  what the restore loaded
 * @hit: every page asked for was resident (nothing loaded, none left to
 *       copy from the page cache on fault)
 * @ns:  duration of the restore
 *
 * Context: process context; takes wsr_base_lock.
 */
void wsr_base_restored(struct wsr_base *b, const struct wsr_load_stats *ls,
		       bool hit, u64 ns)
{
	mutex_lock(&wsr_base_lock);
	wsr_ka_restored(&b->ka, hit, !ls->present, ls->bytes, ns,
			(u64)b->inode->i_mapping->nrpages << PAGE_SHIFT);
	mutex_unlock(&wsr_base_lock);
}

/**
 * wsr_base_show() - debugfs: one line per base
 * @m: seq_file of /sys/kernel/debug/wsr/bases
 *
 * The policy line, then per base: id, users, the snapshot's inode and
 * range, resident bytes and its keep-alive state.
 *
 * Return: 0.
 * Context: process context; takes wsr_base_lock.
 */
int wsr_base_show(struct seq_file *m)
{
	struct wsr_base *b;
	u64 now;

	mutex_lock(&wsr_base_lock);
	now = ktime_get_ns();
	wsr_ka_show_head(m);
	list_for_each_entry(b, &wsr_bases, node) {
		seq_printf(m, "base %u users %lu ino %lu offset %llu length %llu resident %llu",
			   b->id, b->users, b->ino, (u64)b->src.offset,
			   (u64)b->src.npages << PAGE_SHIFT,
			   (u64)b->inode->i_mapping->nrpages << PAGE_SHIFT);
		wsr_ka_show(m, &b->ka, now);
		seq_putc(m, '\n');
	}
	mutex_unlock(&wsr_base_lock);
	return 0;
}

/*
 * Memory pressure: the unmapped pages of unused bases, whole bases in the
 * keep-alive policy's order.  The LRU reclaims base pages as well, in its
 * own order; this makes reclaim drop the bases the policy values least
 * first.  Emptied bases are freed at the next trim or region creation,
 * not here (no iput() in reclaim).  A reclaimer that would wait for
 * wsr_base_lock, which is held while allocating, gives up instead.
 */
static unsigned long wsr_base_shrink_count(struct shrinker *s,
					   struct shrink_control *sc)
{
	unsigned long n = 0;
	struct wsr_base *b;

	if (!mutex_trylock(&wsr_base_lock))
		return 0;
	list_for_each_entry(b, &wsr_bases, node)
		if (!b->users)
			n += b->inode->i_mapping->nrpages;
	mutex_unlock(&wsr_base_lock);
	return n;
}

static unsigned long wsr_base_shrink_scan(struct shrinker *s,
					  struct shrink_control *sc)
{
	unsigned long freed;

	if (!mutex_trylock(&wsr_base_lock))
		return SHRINK_STOP;
	freed = wsr_base_evict_unused(sc->nr_to_scan, ++wsr_base_trim_pass,
				      WSR_KA_RECLAIM, ktime_get_ns());
	mutex_unlock(&wsr_base_lock);
	return freed ? freed : SHRINK_STOP;
}

static struct shrinker wsr_base_shrinker = {
	.count_objects = wsr_base_shrink_count,
	.scan_objects = wsr_base_shrink_scan,
	.seeks = DEFAULT_SEEKS,
};

static int wsr_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, WSR_FS_MAGIC) ? 0 : -ENOMEM;
}

/* No .owner: the internal mount must not pin the module. */
static struct file_system_type wsr_fs_type = {
	.name = "wsr",
	.init_fs_context = wsr_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * wsr_base_init() - mount wsr's pseudo filesystem, register the shrinker
 *
 * Return: 0 or -errno.
 * Context: module init.
 */
int wsr_base_init(void)
{
	int ret;

	wsr_mnt = kern_mount(&wsr_fs_type);
	if (IS_ERR(wsr_mnt))
		return PTR_ERR(wsr_mnt);
	ret = register_shrinker(&wsr_base_shrinker, "wsr-base");
	if (ret)
		kern_unmount(wsr_mnt);
	return ret;
}

/**
 * wsr_base_exit() - unregister the shrinker, free every base, unmount
 *
 * Context: module exit; no region is left.
 */
void wsr_base_exit(void)
{
	struct wsr_base *b, *tmp;

	unregister_shrinker(&wsr_base_shrinker);
	mutex_lock(&wsr_base_lock);
	list_for_each_entry_safe(b, tmp, &wsr_bases, node) {
		WARN_ON_ONCE(b->users);
		wsr_base_free(b);
	}
	mutex_unlock(&wsr_base_lock);
	kern_unmount(wsr_mnt);
}
