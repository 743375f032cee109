/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wsr - working-set-aware restore: definitions shared by the module's files.
 *
 * The module is a stack; a file calls only the files below it:
 *
 *	wsr_main.c		ioctl layer: user copies, validation, locks
 *	wsr_fs.c		wsrfs: named bases as files
 *	wsr_name.c		named bases: the table, permissions
 *	wsr_sysfs.c		knobs and module-wide statistics, shown
 *	wsr_filetrack.c		first-touch record of a plain file mapping
 *	wsr_region.c		region create/destroy, statistics
 *	wsr_restore.c		WSR_IOC_RESTORE, background restores
 *	wsr_fault.c		the mapping: vm_ops, mmap
 *	wsr_tracker.c		a region's first-touch record
 *	wsr_base.c		per-snapshot page store (the base)
 *	wsr_keepalive.c		which unused bases stay resident (policy)
 *	wsr_record.c		first-touch record type of both trackers
 *	wsr_io.c		reads from the snapshot file
 *	wsr_zio.c		reads and decompresses chunks of a compressed one
 *	wsr_zindex.c		the index of a compressed snapshot
 *
 * Knob variables and wsr_gstats are defined in wsr_sysfs.c and read by
 * every layer; that is data, not a call.
 *
 * Lock order (outermost first):
 *
 *	wsr_file.lock			(wsr_main.c, per open file)
 *	  wsr_name_lock			(wsr_name.c, the table of names)
 *	  wsr_region.mutex		(ioctls that change region state)
 *	    wsr_record.mutex		(record arrays, WSR_IOC_GET_WS copy-out)
 *	    wsr_base_lock		(wsr_base.c, the table of bases)
 *	    mmap_lock			(restore mapping, copy_{to,from}_user)
 *	      folio lock		(a base unit being loaded)
 *	        i_mmap_rwsem		(wsr_base_unmap())
 *	      wsr_base.lock		(chunk modes; spinlock, leaf)
 *	      wsr_region.lock		(async state; spinlock, leaf)
 *	      wsr_record.lock		(first-touch record; spinlock, leaf)
 *	      wsr_region.stat_lock	(counters; spinlock, leaf)
 *
 * A loader holds the locks of the folios it loads while it reads into them
 * and takes no wsr lock then.  The fault handler takes only leaf spinlocks
 * and folio locks; before it waits for device I/O it drops mmap_lock where
 * the fault flags allow and returns VM_FAULT_RETRY.  No two leaf spinlocks
 * are ever held together.
 */
#ifndef _WSR_INTERNAL_H
#define _WSR_INTERNAL_H

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/huge_mm.h>
#include <linux/kref.h>
#include <linux/uidgid.h>
#include <linux/wsr.h>

#define WSR_CHUNK_ORDER		(21 - PAGE_SHIFT)	/* 2 MiB */
#define WSR_CHUNK_PAGES		BIT(WSR_CHUNK_ORDER)

/*
 * 2 MiB folios need THP and a page cache that can split them again
 * (memory_failure(), truncation): a kernel with small XArray nodes
 * (CONFIG_BASE_SMALL) caps page-cache folios below 2 MiB.
 */
static inline bool wsr_huge_possible(void)
{
	unsigned int max_order = MAX_PAGECACHE_ORDER;

	return IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) &&
	       max_order >= WSR_CHUNK_ORDER && has_transparent_hugepage();
}

/* struct wsr_base.modes[]: decided once per chunk, only ever lowered */
enum wsr_chunk_mode {
	WSR_CHUNK_UNDECIDED = 0,
	WSR_CHUNK_SMALL,	/* 4 KiB folios */
	WSR_CHUNK_HUGE,		/* one 2 MiB folio */
};

/* How a chunk of a compressed snapshot is stored (wsr-zsnap(5)). */
enum wsr_zs_codec {
	WSR_ZS_ZERO = 1,	/* all zero, nothing stored */
	WSR_ZS_RAW,		/* stored as is */
	WSR_ZS_LZ4,		/* one LZ4 block */
	WSR_ZS_ZSTD,		/* one zstd frame */
};

/**
 * struct wsr_zchunk - where one chunk of a compressed snapshot is stored
 * @offset: byte offset in the file
 * @length: stored bytes
 * @crc:    CRC-32C of the stored bytes
 * @codec:  enum wsr_zs_codec
 */
struct wsr_zchunk {
	u64 offset;
	u32 length;
	u32 crc;
	u32 codec;
};

/**
 * struct wsr_zindex - the checked index of a compressed snapshot
 * (wsr_zindex.c); constant after wsr_zindex_load()
 * @chunk_size:  uncompressed bytes of a chunk (the last may be shorter)
 * @chunk_order: chunk_size in pages, log2
 * @length:      uncompressed length, bytes
 * @nchunks:     chunks
 * @data_offset: where the stored chunks begin
 * @chunks:      [nchunks] entries
 */
struct wsr_zindex {
	u32 chunk_size;
	unsigned int chunk_order;
	u64 length;
	u64 nchunks;
	u64 data_offset;
	struct wsr_zchunk *chunks;
};

/* Uncompressed bytes of chunk @i. */
static inline u32 wsr_zindex_chunk_bytes(const struct wsr_zindex *zi, u64 i)
{
	return min_t(u64, zi->chunk_size, zi->length - i * zi->chunk_size);
}

/**
 * struct wsr_src - where a base's bytes come from (wsr_io.c)
 * @file:     read-only, FMODE_RANDOM file on the snapshot (NULL while
 *            the base is unused)
 * @dio_file: the same opened O_DIRECT, NULL if the filesystem cannot
 * @offset:   byte offset of the range in the file
 * @pgoff:    @offset in pages
 * @npages:   range size in 4 KiB pages
 * @zi:       index of a compressed snapshot, NULL for a plain one: then
 *            @offset is 0 and page indices are those of the uncompressed
 *            snapshot (wsr_zio.c reads and decompresses)
 */
struct wsr_src {
	struct file *file;
	struct file *dio_file;
	loff_t offset;
	pgoff_t pgoff;
	pgoff_t npages;
	struct wsr_zindex *zi;
};

/**
 * struct wsr_slot - one 4 KiB page to fill during a load
 * @index: page index in the range
 * @page:  destination page
 * @src:   enum wsr_source it was filled from
 */
struct wsr_slot {
	pgoff_t index;
	struct page *page;
	int src;
};

/**
 * struct wsr_load_stats - what loads did; the caller accounts it
 * @cache:   pages copied from the snapshot's page cache
 * @device:  pages read from the device
 * @bytes:   bytes of those pages
 * @runs:    read requests issued to the device
 * @gap:     bytes of holes between the pages that requests read across
 * @present: working-set pages whose unit the base held already
 * @waited:  units another loader was loading, waited for
 * @huge:    2 MiB units this load filled
 * @decompress_ns: time spent in LZ4 and zstd calls, summed over the CPUs
 *                 that made them (wsr_zio.c)
 * @decompressed:  chunks those calls decompressed
 */
struct wsr_load_stats {
	u64 cache;
	u64 device;
	u64 bytes;
	u64 runs;
	u64 gap;
	u64 present;
	u64 waited;
	u64 huge;
	u64 decompress_ns;
	u64 decompressed;
};

/* enum wsr_ka_policy: the keep-alive policy knob (wsr_keepalive.c) */
enum wsr_ka_policy {
	WSR_KA_GDSF,
	WSR_KA_LRU,
	WSR_KA_TTL,
};

/* Why a base was dropped (wsr_ka_evict tracepoint). */
enum wsr_ka_reason {
	WSR_KA_BUDGET = 1,	/* over base_max_kb */
	WSR_KA_EXPIRED,		/* unused for ttl_s (ttl policy) */
	WSR_KA_RECLAIM,		/* memory pressure (the shrinker) */
};

#define WSR_KA_FREQ_MAX		(1ULL << 20)
#define WSR_KA_COST_MAX		(U32_MAX)

/**
 * struct wsr_ka - keep-alive state of a base (wsr_keepalive.c)
 * @id:         the base's id, the last tie-break
 * @hits:       restores that found every page resident and read nothing
 * @misses:     restores that read something
 * @freq:       restores since the base was last loaded from nothing
 * @cost_us:    duration of its last cold restore, microseconds
 * @cost_bytes: bytes that restore read
 * @size:       resident bytes after the last restore
 * @prio:       GDSF priority set by the last restore
 * @last_ns:    ktime_get_ns() of the last use (restore end, last close)
 * @evictions:  times the policy dropped the base
 * @pass:       the last trim that tried to drop the base (wsr_base.c)
 *
 * Protected by wsr_base_lock.
 */
struct wsr_ka {
	u32 id;
	u64 hits;
	u64 misses;
	u64 freq;
	u64 cost_us;
	u64 cost_bytes;
	u64 size;
	u64 prio;
	u64 last_ns;
	u64 evictions;
	u64 pass;
};

/**
 * struct wsr_base - the page store of one snapshot range, shared by every
 * region over it
 * @node:      entry in the table of bases (wsr_base_lock)
 * @users:     regions using the base (wsr_base_lock)
 * @stale:     the snapshot changed since the base was made: no new region
 *             gets it (wsr_base_lock)
 * @id:        small unique id, for messages
 * @dev:       identity of the snapshot: device,
 * @ino:       inode number,
 * @gen:       inode generation,
 * @mtime:     modification and
 * @ctime:     change time, and
 * @size:      size at creation
 * @huge_ok:   2 MiB folios allowed
 * @src:       where the bytes come from; its files are open only while
 *             the base has users, so that an unused base pins no
 *             filesystem
 * @inode:     the base's own inode on wsr's pseudo filesystem: its
 *             address_space holds the loaded folios
 * @nchunks:   2 MiB chunks, the last one may be partial
 * @lock:      protects @modes and @has_ws
 * @modes:     enum wsr_chunk_mode of every chunk
 * @has_ws:    a working set decided chunk modes: undecided ones are small
 * @ka:        keep-alive state (wsr_base_lock)
 */
struct wsr_base {
	struct list_head node;
	unsigned long users;
	bool stale;
	u32 id;
	dev_t dev;
	unsigned long ino;
	u32 gen;
	struct timespec64 mtime;
	struct timespec64 ctime;
	loff_t size;
	bool huge_ok;
	struct wsr_src src;
	struct inode *inode;
	unsigned long nchunks;
	spinlock_t lock;	/* protects @modes, @has_ws */
	u8 *modes;
	bool has_ws;
	struct wsr_ka ka;
};

/**
 * struct wsr_record - first-touch record of a range of pages (wsr_record.c)
 * @mutex:   serialises replacing the arrays and copying them out
 * @lock:    protects every field below
 * @on:      recording
 * @start:   ktime_get_ns() of time zero
 * @seen:    bitmap of pages already touched since time zero
 * @ents:    recorded first touches, in order
 * @cap:     entries allocated in @ents
 * @count:   entries used in @ents
 * @dropped: first touches not recorded because @ents was full
 *
 * @seen and @ents are replaced only with @mutex held as well, so a holder
 * of @mutex may read @ents[0, @count) without @lock.
 */
struct wsr_record {
	struct mutex mutex;	/* serialises array replacement, copy-out */
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
 * @pages:   working-set pages still to load, in load order
 * @npages:  entries in @pages
 * @pending: pages of @pages not yet done (wsr_stats.restore_pending)
 * @stop:    the region is being destroyed, stop early
 * @start:   ktime_get_ns() when the restore was requested
 * @memcg:   memory cgroup of the task that asked: loads are charged to it
 * @ws:      bitmap of the 4 KiB units among @pages, for faults to tell
 * @err:     -errno that stopped the last restore, for the next WSR_IOC_WAIT
 *
 * @pages and @npages are set by the ioctl before the work is queued and
 * freed by the worker.  @pending, @ws and @err are protected by
 * wsr_region.lock (the worker frees @ws); wsr_region.async_active tells
 * whether the work is queued or running.
 */
struct wsr_async {
	struct work_struct work;
	pgoff_t *pages;
	unsigned long npages;
	u64 pending;
	bool stop;
	u64 start;
	struct mem_cgroup *memcg;
	unsigned long *ws;
	int err;
};

/* Recent failed loads a region remembers (struct wsr_region.failed). */
#define WSR_FAILED_SLOTS	4

/**
 * struct wsr_region - one instance's view of a snapshot base
 * @id:           small unique id, for the tracepoints
 * @flags:        WSR_CREATE_*
 * @base:         the shared page store
 * @vfile:        the file every mapping of the region maps: a file on the
 *                base's inode, so filemap maps base folios into the
 *                region's VMAs; its release destroys the region
 * @npages:       region size in 4 KiB pages
 * @start:        ktime_get_ns() at create
 * @mapper:       task mapping a restored working set (its faults are not
 *                guest faults and are not counted)
 * @mutex:        serialises state-changing ioctls (track, restore, get_ws)
 * @lock:         protects @async_active, @async.pending, @async.ws,
 *                @failed, @failed_next
 * @wq:           woken when an async restore ends
 * @async_active: an async restore is queued or running
 * @async:        background restore state
 * @failed:       pages (index + 1, 0: none) whose load failed after a
 *                fault dropped mmap_lock for it; see wsr_fault()
 * @failed_next:  where the next one goes in @failed
 * @stat_lock:    protects @stats
 * @stats:        per-region counters (WSR_IOC_STATS)
 * @track:        first-touch record of the region's pages
 */
struct wsr_region {
	u32 id;
	u32 flags;
	struct wsr_base *base;
	struct file *vfile;
	pgoff_t npages;
	u64 start;
	struct task_struct *mapper;

	struct mutex mutex;	/* serialises track/restore/get_ws */
	spinlock_t lock;	/* protects the async state, see above */
	wait_queue_head_t wq;
	bool async_active;
	struct wsr_async async;
	pgoff_t failed[WSR_FAILED_SLOTS];
	unsigned int failed_next;

	spinlock_t stat_lock;	/* protects @stats */
	struct wsr_stats stats;

	struct wsr_record track;
};

/**
 * struct wsr_name - a named base (wsr_name.c), served by wsrfs (wsr_fs.c)
 * @node:    entry in the table of names (wsr_name_lock)
 * @ref:     the table's reference, one per open wsrfs file, wsrfs inode
 *           and bound /dev/wsr fd
 * @refs:    references other than the table's, for WSR_IOC_BASE_LIST
 * @name:    NUL-terminated name
 * @region:  the region every mapping of the name maps; @ref's last put
 *           releases the name's reference on its file
 * @creator: effective uid of the creator: may drop and bind
 * @flags:   WSR_CREATE_* it was made with
 * @tag:     struct wsr_base_create.tag
 * @ino:     inode number of its wsrfs files
 * @dropped: removed from the table (written under wsr_name_lock)
 */
struct wsr_name {
	struct list_head node;
	struct kref ref;
	atomic_t refs;
	char name[WSR_BASE_NAME_MAX];
	struct wsr_region *region;
	kuid_t creator;
	u32 flags;
	u64 tag[2];
	unsigned long ino;
	bool dropped;
};

/* Tunables (wsr_sysfs.c); read with READ_ONCE(), no lock. */
extern unsigned long wsr_huge_enabled;
extern unsigned long wsr_huge_threshold;
extern unsigned long wsr_read_batch_kb;
extern unsigned long wsr_read_gap_kb;
extern unsigned long wsr_read_around_kb;
extern unsigned long wsr_restore_direct;
extern unsigned long wsr_restore_map;
extern unsigned long wsr_async_enabled;
extern unsigned long wsr_tracker_capacity;
extern unsigned long wsr_base_max_kb;
/* Owned by wsr_keepalive.c, shown by wsr_sysfs.c. */
extern unsigned long wsr_ka_policy;
extern unsigned long wsr_ttl_s;

/* read_batch_kb in pages; a load samples it once (see wsr_base_load()). */
static inline unsigned long wsr_read_batch_pages(void)
{
	return max(1UL, READ_ONCE(wsr_read_batch_kb) >> (PAGE_SHIFT - 10));
}

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
	atomic64_t base_trimmed;
};

extern struct wsr_global_stats wsr_gstats;

extern struct workqueue_struct *wsr_wq;

/* wsr_io.c */
int wsr_io_load(const struct wsr_src *s, struct wsr_slot *slots,
		unsigned long n, unsigned long batch, bool direct, u32 id,
		struct wsr_load_stats *ls);
bool wsr_io_cached(const struct wsr_src *s, pgoff_t index, bool readable);
unsigned long wsr_io_cached_pages(const struct wsr_src *s, pgoff_t start,
				  pgoff_t end, pgoff_t skip);
void wsr_io_readahead(const struct wsr_src *s, pgoff_t start,
		      unsigned long nr);

/* wsr_zio.c */
int wsr_zio_init(void);
void wsr_zio_exit(void);
int wsr_zio_load(const struct wsr_src *s, struct wsr_slot *slots,
		 unsigned long n, u32 id, struct wsr_load_stats *ls);
bool wsr_zio_cached(const struct wsr_src *s, pgoff_t index);
void wsr_zio_readahead(const struct wsr_src *s, pgoff_t start,
		       unsigned long nr);

/* wsr_zindex.c */
u32 wsr_zs_crc(const void *p, size_t len);
struct wsr_zindex *wsr_zindex_load(struct file *f);
void wsr_zindex_free(struct wsr_zindex *zi);

/* wsr_keepalive.c: called with wsr_base_lock held, see there */
struct seq_file;
int wsr_ka_policy_parse(const char *buf);
const char *wsr_ka_policy_name(unsigned long policy);
void wsr_ka_init(struct wsr_ka *ka, u32 id);
u64 wsr_ka_priority(u64 clock, u64 freq, u64 cost_us, u64 size);
void wsr_ka_restored(struct wsr_ka *ka, bool hit, bool cold, u64 bytes,
		     u64 ns, u64 size);
void wsr_ka_released(struct wsr_ka *ka);
bool wsr_ka_expiring(void);
bool wsr_ka_expired(const struct wsr_ka *ka, u64 now);
bool wsr_ka_before(const struct wsr_ka *a, const struct wsr_ka *b);
void wsr_ka_evicted(struct wsr_ka *ka, int reason, u64 bytes, u64 now);
void wsr_ka_show_head(struct seq_file *m);
void wsr_ka_show(struct seq_file *m, const struct wsr_ka *ka, u64 now);

/* wsr_base.c */
int wsr_base_init(void);
void wsr_base_exit(void);
struct wsr_base *wsr_base_get(struct file *uf, loff_t offset, loff_t length,
			      bool huge_ok, bool compressed);
void wsr_base_put(struct wsr_base *b);
struct file *wsr_base_open(struct wsr_base *b,
			   const struct file_operations *fops, void *priv);
bool wsr_base_decide_ws(struct wsr_base *b, const u16 *ws_per_chunk);
void wsr_base_forget_ws(struct wsr_base *b);
bool wsr_base_unit_huge(struct wsr_base *b, pgoff_t index, bool small_only);
int wsr_base_load(struct wsr_base *b, const pgoff_t *pages, unsigned long n,
		  bool small_only, bool direct, u32 id,
		  struct wsr_load_stats *ls);
bool wsr_base_has(struct wsr_base *b, pgoff_t index);
void wsr_base_clip_to_missing(struct wsr_base *b, pgoff_t index,
			      pgoff_t *start, pgoff_t *end);
void wsr_base_resident(struct wsr_base *b, u64 *huge, u64 *small);
void wsr_base_unmap(struct wsr_base *b);
void wsr_base_trim(void);
void wsr_base_restored(struct wsr_base *b, const struct wsr_load_stats *ls,
		       bool hit, u64 ns);
int wsr_base_show(struct seq_file *m);
unsigned long wsr_base_count(unsigned long *pages);

/* wsr_record.c */
void wsr_record_init(struct wsr_record *rec);
int wsr_record_start(struct wsr_record *rec, pgoff_t npages);
void wsr_record_stop(struct wsr_record *rec);
void wsr_record_reset(struct wsr_record *rec);
void wsr_record_free(struct wsr_record *rec);
bool wsr_record_on(struct wsr_record *rec);
void wsr_record_touch(struct wsr_record *rec, pgoff_t index);
void wsr_record_counts(struct wsr_record *rec, u64 *count, u64 *dropped);

/* wsr_tracker.c */
int wsr_tracker_op(struct wsr_region *r, u32 op);
void wsr_tracker_record(struct wsr_region *r, pgoff_t index);
bool wsr_tracker_recording(struct wsr_region *r);

/* wsr_fault.c */
int wsr_fault_mmap(struct wsr_region *r, struct vm_area_struct *vma);
bool wsr_fault_is_region_vma(struct wsr_region *r,
			     struct vm_area_struct *vma);
void wsr_stats_add_load(struct wsr_region *r, const struct wsr_load_stats *ls);
void wsr_stats_add_around(struct wsr_region *r, u64 bytes);

/* wsr_restore.c */
int wsr_restore(struct wsr_region *r, pgoff_t *order, unsigned long *set,
		unsigned long n, struct wsr_restore *arg);
int wsr_restore_wait(struct wsr_region *r, const struct wsr_wait *arg);
void wsr_restore_stop(struct wsr_region *r);
void wsr_restore_work(struct work_struct *work);

/* wsr_region.c */
int wsr_region_create(const struct wsr_create *arg, struct wsr_region **out);
void wsr_region_close(struct wsr_region *r);
void wsr_stats_get(struct wsr_region *r, struct wsr_stats *out);

/* wsr_name.c */
int wsr_name_create(const struct wsr_base_create *arg);
int wsr_name_drop(const char *name);
struct wsr_name *wsr_name_find(const char *name, bool bind);
struct wsr_name *wsr_name_nth(loff_t pos);
void wsr_name_get(struct wsr_name *n);
void wsr_name_put(struct wsr_name *n);
struct file *wsr_name_snapshot(struct wsr_name *n);
int wsr_name_permission(struct wsr_name *n, int mask);
void wsr_name_info(struct wsr_name *n, struct wsr_base_info *out);
u64 wsr_name_list(struct wsr_base_info *out, u64 cap);

/* wsr_fs.c */
int wsr_fs_init(void);
void wsr_fs_exit(void);

/* wsr_sysfs.c */
int wsr_sysfs_init(void);
void wsr_sysfs_exit(void);

#endif /* _WSR_INTERNAL_H */
