/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wsr - working-set-aware restore: definitions shared by the module's files.
 *
 * Lock order (outermost first):
 *
 *	wsr_file.lock			(wsr_main.c, per open file)
 *	  wsr_region.mutex		(ioctls that change region state)
 *	    folio lock			(wsr_region_unmap() waits for faults)
 *	    i_mmap_rwsem		(wsr_region_unmap(), wsr_file.mapping)
 *	    mmap_lock			(taken by copy_{to,from}_user faults)
 *	      wsr_region.lock		(page store, claims; spinlock, leaf)
 *	      wsr_tracker.lock		(first-touch record; spinlock, leaf)
 *	      wsr_region.stat_lock	(counters; spinlock, leaf)
 *	      wsr_pool_lock		(wsr_pool.c; spinlock, leaf)
 *
 * The fault handler runs under mmap_lock and only takes the leaf
 * spinlocks, never wsr_region.mutex; while recording it may allocate a page
 * table (page table lock) with the locked page it returns.  No two leaf
 * spinlocks are ever held together.
 */
#ifndef _WSR_INTERNAL_H
#define _WSR_INTERNAL_H

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/huge_mm.h>
#include <linux/wsr.h>

#define WSR_CHUNK_ORDER		(21 - PAGE_SHIFT)	/* 2 MiB */
#define WSR_CHUNK_PAGES		BIT(WSR_CHUNK_ORDER)

/* Free pool folios are KASAN-poisoned (wsr_pool.c). */
#if defined(CONFIG_KASAN_GENERIC) || \
	(defined(CONFIG_KASAN) && defined(WSR_KASAN_PAGE_EXPORTS))
#define WSR_POOL_KASAN		1
#else
#define WSR_POOL_KASAN		0
#endif

/* Restore unit lists mark the first page of a 2 MiB unit with this bit. */
#define WSR_UNIT_HUGE		(1UL << (BITS_PER_LONG - 1))

static inline unsigned long wsr_unit_pages(pgoff_t unit)
{
	return unit & WSR_UNIT_HUGE ? WSR_CHUNK_PAGES : 1;
}

/* struct wsr_chunk.mode: decided once per chunk, never changed back */
enum wsr_chunk_mode {
	WSR_CHUNK_UNDECIDED = 0,
	WSR_CHUNK_SMALL,	/* 4 KiB pages in wsr_region.small[] */
	WSR_CHUNK_HUGE,		/* one 2 MiB folio in wsr_chunk.huge */
};

/**
 * struct wsr_chunk - one 2 MiB-aligned slice of a region
 * @huge:      the loaded 2 MiB folio (HUGE mode), the region holds a ref
 * @mode:      enum wsr_chunk_mode
 * @huge_busy: the 2 MiB folio is being loaded by someone
 *
 * All fields are protected by wsr_region.lock.
 */
struct wsr_chunk {
	struct folio *huge;
	u8 mode;
	bool huge_busy;
};

/**
 * struct wsr_tracker - first-touch recorder of one region
 * @lock:    protects every field below
 * @on:      recording
 * @start:   ktime_get_ns() of time zero
 * @seen:    bitmap of region pages already touched since time zero
 * @ents:    recorded first touches, in order
 * @cap:     entries allocated in @ents
 * @count:   entries used in @ents
 * @dropped: first touches not recorded because @ents was full
 *
 * @seen and @ents are replaced only with wsr_region.mutex held as well, so
 * a holder of that mutex may read @ents[0, @count) without @lock.
 */
struct wsr_tracker {
	spinlock_t lock;	/* protects the fields below */
	bool on;
	u64 start;
	unsigned long *seen;
	struct wsr_ws_entry *ents;
	u64 cap;
	u64 count;
	u64 dropped;
};

/**
 * struct wsr_async - background part of an asynchronous restore
 * @work:    runs wsr_restore_work() on wsr_wq
 * @units:   first page of every unit still to load, in working-set order
 * @nunits:  entries in @units
 * @pos:     next entry of @units the worker takes
 * @pending: 4 KiB pages of @units[@pos..] (wsr_stats.restore_pending)
 * @stop:    the file is being released, stop early
 * @start:   ktime_get_ns() when the restore was requested
 * @cache:   pages copied from the page cache by the worker
 * @device:  pages read from the device by the worker
 * @bytes:   bytes read by the worker
 * @ws:      bitmap of the 4 KiB units among @units, for faults to tell
 *
 * @units and @nunits are set by the ioctl before the work is queued and
 * freed by the worker; @pos and the counters are only touched by the
 * worker.  @pending and @ws are protected by wsr_region.lock (the worker
 * frees @ws); wsr_region.async_active tells whether the work is queued or
 * running.
 */
struct wsr_async {
	struct work_struct work;
	pgoff_t *units;
	unsigned long nunits;
	unsigned long pos;
	u64 pending;
	bool stop;
	u64 start;
	u64 cache;
	u64 device;
	u64 bytes;
	unsigned long *ws;
};

/**
 * struct wsr_region - a snapshot file range backing one /dev/wsr file
 * @id:           small unique id, for the tracepoints
 * @flags:        WSR_CREATE_*
 * @file:         the region's own read-only, FMODE_RANDOM file on the
 *                snapshot (reads are exactly the requested pages)
 * @dio_file:     the same opened O_DIRECT, for restores to read straight
 *                into region pages; NULL if the filesystem cannot
 * @mapping:      f_mapping of the /dev/wsr file: its VMAs, for zapping
 * @offset:       byte offset of the region in @file
 * @file_pgoff:   @offset in pages
 * @npages:       region size in 4 KiB pages
 * @nchunks:      region size in 2 MiB chunks, the last one may be partial
 * @huge_ok:      2 MiB folios allowed (huge_enabled at create, no NO_HUGE)
 * @start:        ktime_get_ns() at create
 * @mutex:        serialises state-changing ioctls (track, restore, get_ws)
 * @lock:         protects @chunks, @small, @busy, @has_ws, @async_active,
 *                @nr_small, @nr_huge, @async.pending
 * @wq:           woken when a load completes or an async restore ends
 * @chunks:       @nchunks chunk descriptors
 * @small:        @npages page pointers, the loaded 4 KiB pages
 * @busy:         bitmap of 4 KiB pages being loaded
 * @has_ws:       a restore gave a working set: undecided chunks are small
 * @async_active: an async restore is queued or running
 * @nr_small:     loaded 4 KiB pages
 * @nr_huge:      loaded 2 MiB folios
 * @async:        background restore state
 * @stat_lock:    protects @stats
 * @stats:        per-region counters (WSR_IOC_STATS)
 * @track:        first-touch tracker
 */
struct wsr_region {
	u32 id;
	u32 flags;
	struct file *file;
	struct file *dio_file;
	struct address_space *mapping;
	loff_t offset;
	pgoff_t file_pgoff;
	pgoff_t npages;
	unsigned long nchunks;
	bool huge_ok;
	u64 start;

	struct mutex mutex;	/* serialises track/restore/get_ws */
	spinlock_t lock;	/* protects the page store, see above */
	wait_queue_head_t wq;
	struct wsr_chunk *chunks;
	struct page **small;
	unsigned long *busy;
	bool has_ws;
	bool async_active;
	unsigned long nr_small;
	unsigned long nr_huge;
	struct wsr_async async;

	spinlock_t stat_lock;	/* protects @stats */
	struct wsr_stats stats;

	struct wsr_tracker track;
};

/**
 * struct wsr_slot - one 4 KiB page to fill during a load
 * @index: page index in the region
 * @page:  destination page
 * @src:   enum wsr_source it was filled from
 */
struct wsr_slot {
	pgoff_t index;
	struct page *page;
	int src;
};

/**
 * struct wsr_load_stats - what one load did
 * @cache:  pages copied from the page cache
 * @device: pages read from the device
 * @bytes:  bytes of those pages
 * @runs:   read requests issued to the device
 * @gap:    bytes of holes between the pages that requests read across
 */
struct wsr_load_stats {
	u64 cache;
	u64 device;
	u64 bytes;
	u64 runs;
	u64 gap;
};

/* Tunables (wsr_sysfs.c); read with READ_ONCE(), no lock. */
extern unsigned long wsr_huge_enabled;
extern unsigned long wsr_huge_threshold;
extern unsigned long wsr_read_batch_kb;
extern unsigned long wsr_read_gap_kb;
extern unsigned long wsr_read_around_kb;
extern unsigned long wsr_restore_direct;
extern unsigned long wsr_async_enabled;
extern unsigned long wsr_tracker_capacity;
extern unsigned long wsr_pool_size;

/* Module-wide statistics (wsr_sysfs.c). */
struct wsr_global_stats {
	atomic_long_t regions;
	atomic64_t faults;
	atomic64_t faults_huge;
	atomic64_t pages_cache;
	atomic64_t pages_device;
	atomic64_t bytes_read;
	atomic64_t bytes_gap;
	atomic64_t bytes_around;
	atomic64_t restores;
};

extern struct wsr_global_stats wsr_gstats;

extern struct workqueue_struct *wsr_wq;

/* wsr_region.c */
int wsr_region_create(const struct wsr_create *arg,
		      struct address_space *mapping, struct wsr_region **out);
void wsr_region_destroy(struct wsr_region *r);
int wsr_region_mmap(struct wsr_region *r, struct vm_area_struct *vma);
bool wsr_region_try_claim(struct wsr_region *r, pgoff_t index,
			  pgoff_t *unit, bool *huge, bool *busy);
int wsr_unit_alloc(struct wsr_region *r, pgoff_t unit, bool huge,
		   struct wsr_slot *slots, unsigned int *nslots);
void wsr_unit_publish(struct wsr_region *r, pgoff_t unit, bool huge,
		      struct page *page);
void wsr_unit_abort(struct wsr_region *r, pgoff_t unit, bool huge,
		    struct page *page, bool to_small);
void wsr_region_unmap(struct wsr_region *r);
void wsr_region_decide_ws(struct wsr_region *r, const u16 *ws_per_chunk);
pgoff_t wsr_region_unit_of(struct wsr_region *r, pgoff_t index, bool *huge);
bool wsr_region_holds(struct wsr_region *r, pgoff_t index);
void wsr_region_clip_to_missing(struct wsr_region *r, pgoff_t index,
				pgoff_t *start, pgoff_t *end);
void wsr_stats_get(struct wsr_region *r, struct wsr_stats *out);
void wsr_stats_add_pages(struct wsr_region *r, int src, u64 npages);
void wsr_stats_add_gap(struct wsr_region *r, u64 bytes);
void wsr_stats_add_around(struct wsr_region *r, u64 bytes);

/* wsr_restore.c */
int wsr_load_slots(struct wsr_region *r, struct wsr_slot *slots,
		   unsigned long n, bool emit_runs, bool direct,
		   struct wsr_load_stats *ls);
bool wsr_read_around(struct wsr_region *r, pgoff_t index, u64 *bytes);
bool wsr_restore_will_load(struct wsr_region *r, pgoff_t index);
int wsr_restore(struct wsr_region *r, struct wsr_restore *arg);
int wsr_restore_wait(struct wsr_region *r, const struct wsr_wait *arg);
void wsr_restore_stop(struct wsr_region *r);
void wsr_restore_work(struct work_struct *work);

/* wsr_tracker.c */
int wsr_tracker_init(struct wsr_region *r);
void wsr_tracker_free(struct wsr_region *r);
int wsr_tracker_op(struct wsr_region *r, u32 op);
int wsr_tracker_get(struct wsr_region *r, struct wsr_get_ws *arg);
void wsr_tracker_record(struct wsr_region *r, pgoff_t index);
bool wsr_tracker_recording(struct wsr_region *r);

/* wsr_pool.c */
struct folio *wsr_pool_get(void);
void wsr_pool_put(struct folio *folio);
void wsr_pool_trim(unsigned long keep);
unsigned long wsr_pool_free(void);

/* wsr_sysfs.c */
int wsr_sysfs_init(void);
void wsr_sysfs_exit(void);

#endif /* _WSR_INTERNAL_H */
