/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * wsr - working-set-aware restore of microVM memory snapshots.
 *
 * Userspace opens /dev/wsr once per region:
 *
 *	fd = open("/dev/wsr", O_RDWR | O_CLOEXEC);
 *	ioctl(fd, WSR_IOC_API, &api);		handshake, always first
 *	ioctl(fd, WSR_IOC_CREATE, &create);	bind a snapshot file range
 *	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
 *
 * Reads through the mapping return the snapshot file's bytes, from one
 * page store per snapshot that every region over it shares
 * (WSR_FEATURE_SHARED_BASE).  Every mapping is copy-on-write: its writes
 * go to pages of its own, which no other mapping, region or process sees
 * (MAP_SHARED is accepted and behaves the same).  Closing the fd and
 * unmapping frees the region.
 *
 * Every struct has fixed-width fields, explicit padding and reserved fields
 * that must be zero.  Pointers are passed as __u64.  Enum value 0 is never
 * valid so that an uninitialised field is caught.
 */
#ifndef _UAPI_LINUX_WSR_H
#define _UAPI_LINUX_WSR_H

#include <linux/types.h>

#define WSR_API_VERSION		1

/* Feature bits reported by WSR_IOC_API. */
#define WSR_FEATURE_HUGE	(1ULL << 0)	/* 2 MiB folios for dense chunks */
#define WSR_FEATURE_TRACK	(1ULL << 1)	/* in-kernel first-touch tracker */
#define WSR_FEATURE_RESTORE	(1ULL << 2)	/* WSR_IOC_RESTORE, sync */
#define WSR_FEATURE_ASYNC	(1ULL << 3)	/* WSR_RESTORE_ASYNC */
#define WSR_FEATURE_FILE_TRACK	(1ULL << 4)	/* mm-patches: WSR_IOC_TRACK_FILE */
/* No longer reported: base pages come from the page allocator. */
#define WSR_FEATURE_KASAN_POOL	(1ULL << 5)
/* One page store per snapshot, shared copy-on-write by every region. */
#define WSR_FEATURE_SHARED_BASE	(1ULL << 6)
/* Named bases, served as files by wsrfs: WSR_IOC_BASE_*. */
#define WSR_FEATURE_NAMED_BASE	(1ULL << 7)
/* WSR_CREATE_COMPRESSED: regions over compressed snapshots (wsr-zsnap(5)) */
#define WSR_FEATURE_COMPRESSED	(1ULL << 8)

/**
 * struct wsr_api - WSR_IOC_API handshake
 * @api:      (in) WSR_API_VERSION the caller was built against;
 *            (out) the module's WSR_API_VERSION
 * @features: (out) WSR_FEATURE_* this kernel supports
 * @ioctls:   (out) bitmask, 1 << _IOC_NR(cmd) for every supported ioctl
 * @reserved: (in) must be zero
 */
struct wsr_api {
	__u64 api;
	__u64 features;
	__u64 ioctls;
	__u64 reserved[5];
};

/* WSR_IOC_CREATE flags */
#define WSR_CREATE_NO_HUGE	(1U << 0)	/* 4 KiB pages only */
#define WSR_CREATE_TRACK	(1U << 1)	/* start recording at once */
/*
 * @fd is a compressed snapshot (wsr-zsnap(5)): @offset must be 0, @length
 * is in bytes of the uncompressed snapshot and at most its length; pages
 * are decompressed on demand.  Told, not guessed from the file's first
 * bytes: an uncompressed snapshot may begin with anything.
 */
#define WSR_CREATE_COMPRESSED	(1U << 2)
#define WSR_CREATE_FLAGS	(WSR_CREATE_NO_HUGE | WSR_CREATE_TRACK | \
				 WSR_CREATE_COMPRESSED)

/**
 * struct wsr_create - WSR_IOC_CREATE: bind a snapshot file range
 * @fd:       (in) snapshot file, a regular file opened for reading
 * @flags:    (in) WSR_CREATE_*
 * @offset:   (in) start in the file, page aligned (0 with
 *            WSR_CREATE_COMPRESSED)
 * @length:   (in) region size, page aligned, non-zero, within the file
 *            (within the uncompressed snapshot with WSR_CREATE_COMPRESSED)
 * @reserved: (in) must be zero
 */
struct wsr_create {
	__s32 fd;
	__u32 flags;
	__u64 offset;
	__u64 length;
	__u64 reserved[5];
};

/* struct wsr_track.op */
enum wsr_track_op {
	WSR_TRACK_START = 1,	/* begin recording; time zero is now */
	WSR_TRACK_STOP = 2,	/* stop recording, keep the record */
	WSR_TRACK_RESET = 3,	/* drop the record */
};

/**
 * struct wsr_track - WSR_IOC_TRACK: control the fault tracker
 * @op:       (in) enum wsr_track_op
 * @pad:      (in) must be zero
 * @reserved: (in) must be zero
 */
struct wsr_track {
	__u32 op;
	__u32 pad;
	__u64 reserved[3];
};

/**
 * struct wsr_ws_entry - one page of a recorded working set
 * @index: page index within the region (4 KiB units)
 * @ns:    first touch, nanoseconds since WSR_TRACK_START
 */
struct wsr_ws_entry {
	__u64 index;
	__u64 ns;
};

/* struct wsr_get_ws.flags */
#define WSR_WS_OVERFLOW		(1U << 0)	/* tracker capacity was reached */

/**
 * struct wsr_get_ws - WSR_IOC_GET_WS: copy out the recorded working set
 * @entries:  (in) user pointer to an array of struct wsr_ws_entry
 * @count:    (in) capacity of @entries; (out) entries recorded. If the
 *            capacity is too small the call fails with -ENOSPC and @count
 *            holds the number needed.
 * @flags:    (out) WSR_WS_*
 * @pad:      (in) must be zero
 * @dropped:  (out) first touches not recorded because of the capacity
 * @reserved: (in) must be zero
 */
struct wsr_get_ws {
	__u64 entries;
	__u64 count;
	__u32 flags;
	__u32 pad;
	__u64 dropped;
	__u64 reserved[4];
};

/* WSR_IOC_RESTORE flags */
#define WSR_RESTORE_ASYNC	(1U << 0)	/* return at once, load behind */
/* Pages in the snapshot's page cache: copy each when touched, not now. */
#define WSR_RESTORE_LAZY_CACHE	(1U << 1)
#define WSR_RESTORE_FLAGS	(WSR_RESTORE_ASYNC | WSR_RESTORE_LAZY_CACHE)

/**
 * struct wsr_restore - WSR_IOC_RESTORE: prefault a working set
 * @pages:       (in) user pointer to __u64 page indices, first-touch order
 * @count:       (in) number of indices, at most the region's pages
 *               (duplicates are ignored)
 * @flags:       (in) WSR_RESTORE_*
 * @pad:         (in) must be zero
 * @from_cache:  (out) pages copied from the snapshot's page cache
 * @from_device: (out) pages read from the device
 * @bytes_read:  (out) bytes read from the device
 * @runs:        (out) sorted, merged read requests issued
 * @present:     (out) pages already in the region, left alone
 * @bytes_gap:   (out) bytes of the holes between working-set pages that
 *               merged requests read across (not into the region); not
 *               part of @bytes_read
 * @left_cached: (out) 4 KiB working-set pages left in the snapshot's page
 *               cache (WSR_RESTORE_LAZY_CACHE): a fault copies each one
 *               when the guest touches it, so untouched ones cost nothing
 * @reserved:    (in) must be zero
 *
 * In async mode the counters are those of the work done before the call
 * returned; WSR_IOC_STATS reports the totals.
 */
struct wsr_restore {
	__u64 pages;
	__u64 count;
	__u32 flags;
	__u32 pad;
	__u64 from_cache;
	__u64 from_device;
	__u64 bytes_read;
	__u64 runs;
	__u64 present;
	__u64 bytes_gap;
	__u64 left_cached;
	__u64 reserved[2];
};

/**
 * struct wsr_stats - WSR_IOC_STATS: per-region counters, all (out)
 * @faults:          page faults on the mapping
 * @faults_huge:     of those, served with a 2 MiB folio
 * @faults_present:  served from the region (already loaded)
 * @faults_cache:    filled from the snapshot's page cache
 * @faults_device:   filled by a read from the device
 * @faults_waited:   waited for an async restore to finish the page
 * @pages_cache:     4 KiB pages ever copied from the page cache
 * @pages_device:    4 KiB pages ever read from the device
 * @bytes_read:      bytes read from the device by the region
 * @restore_pending: pages an async restore still has to load
 * @tracked:         first touches recorded
 * @dropped:         first touches not recorded (capacity)
 * @resident_huge:   2 MiB folios in the region
 * @resident_small:  4 KiB pages in the region
 * @bytes_gap:       bytes restores read across holes between working-set
 *                   pages (see struct wsr_restore), beside @bytes_read
 * @bytes_around:    bytes device faults read around their page into the
 *                   snapshot's page cache (read_around_kb), beside
 *                   @bytes_read
 * @decompress_ns:   nanoseconds the region's loads spent decompressing
 *                   chunks of a compressed snapshot (the LZ4 or zstd call,
 *                   timed with ktime_get_ns(): preemption during it
 *                   counts), summed over every CPU and worker that did it;
 *                   0 for an uncompressed snapshot
 * @chunks_decompressed: chunks those loads decompressed, each time one was
 *                   (not zero or raw chunks); 0 for an uncompressed
 *                   snapshot
 * @reserved:        zero
 */
struct wsr_stats {
	__u64 faults;
	__u64 faults_huge;
	__u64 faults_present;
	__u64 faults_cache;
	__u64 faults_device;
	__u64 faults_waited;
	__u64 pages_cache;
	__u64 pages_device;
	__u64 bytes_read;
	__u64 restore_pending;
	__u64 tracked;
	__u64 dropped;
	__u64 resident_huge;
	__u64 resident_small;
	__u64 bytes_gap;
	__u64 bytes_around;
	__u64 decompress_ns;
	__u64 chunks_decompressed;
	__u64 reserved[2];
};

/**
 * struct wsr_wait - WSR_IOC_WAIT: wait for an async restore to finish
 * @timeout_ms: (in) 0 waits without limit
 * @pad:        (in) must be zero
 * @reserved:   (in) must be zero
 *
 * Returns 0 when no restore is pending, -ETIMEDOUT, or -EINTR; once
 * after a background restore stopped on an error (-ENOMEM, -EIO, ...),
 * that error: faults load the pages it did not reach.
 */
struct wsr_wait {
	__u32 timeout_ms;
	__u32 pad;
	__u64 reserved[3];
};

/*
 * Where the data of a page came from, as reported by the wsr_fault and
 * wsr_restore_run tracepoints.
 */
enum wsr_source {
	WSR_SRC_POOL = 1,	/* already loaded into the region, no I/O */
	WSR_SRC_CACHE = 2,	/* copied from the snapshot's page cache */
	WSR_SRC_DEVICE = 3,	/* read from the device */
};

#define WSR_IOC_MAGIC		0xB8

#define WSR_IOC_API	_IOWR(WSR_IOC_MAGIC, 0x00, struct wsr_api)
#define WSR_IOC_CREATE	_IOW(WSR_IOC_MAGIC, 0x01, struct wsr_create)
#define WSR_IOC_TRACK	_IOW(WSR_IOC_MAGIC, 0x02, struct wsr_track)
#define WSR_IOC_GET_WS	_IOWR(WSR_IOC_MAGIC, 0x03, struct wsr_get_ws)
#define WSR_IOC_RESTORE	_IOWR(WSR_IOC_MAGIC, 0x04, struct wsr_restore)
#define WSR_IOC_STATS	_IOR(WSR_IOC_MAGIC, 0x05, struct wsr_stats)
#define WSR_IOC_WAIT	_IOW(WSR_IOC_MAGIC, 0x06, struct wsr_wait)

/*
 * Working set of an ordinary file mapping (WSR_FEATURE_FILE_TRACK, needs
 * the kernel's mm_filemap_fault tracepoints from mm-patches/).
 *
 * A /dev/wsr fd that has no region can instead record the first-touch
 * order of the pages of a file range, through every mapping of the file by
 * any process (a VMM mapping a snapshot MAP_PRIVATE, its KVM guest):
 *
 *	ioctl(fd, WSR_IOC_TRACK_FILE, &tf);	op WSR_TRACK_START
 *	... the VMM runs ...
 *	ioctl(fd, WSR_IOC_TRACK_FILE, &tf);	op WSR_TRACK_STOP
 *	ioctl(fd, WSR_IOC_GET_WS, &ws);		entries as for a region
 *
 * wsr_ws_entry.index is then the page index relative to @offset.  A page
 * is recorded at its first fault in the range: a fault served by
 * filemap_fault() or, with the page in the page cache, by fault-around
 * mapping the faulting page.  Fault-around also maps cached neighbours of
 * the faulting page ahead of any access; a later access to one of those
 * does not fault and is not recorded unless WSR_TRACK_FILE_AROUND is set,
 * which records every page fault-around maps (a superset of the touched
 * pages).  A file folio mapped by one PMD (large folios, e.g. XFS with
 * MADV_HUGEPAGE) counts the same way: its other pages are mapped ahead of
 * any access.  For the exact set of touched pages start with the range out of
 * the page cache (POSIX_FADV_DONTNEED) and without readahead
 * (MADV_RANDOM), or disable fault-around.
 *
 * A caller without CAP_SYS_ADMIN records only the faults of tasks whose
 * effective uid is its own (at WSR_TRACK_START); other users' accesses to
 * the file are neither recorded nor counted.  At most 64 trackers record
 * on a host, 8 of them for one user without CAP_SYS_ADMIN: -EMFILE.
 */

/* struct wsr_track_file.flags */
#define WSR_TRACK_FILE_AROUND	(1U << 0)	/* record fault-around pages */
#define WSR_TRACK_FILE_FLAGS	(WSR_TRACK_FILE_AROUND)

/**
 * struct wsr_track_file - WSR_IOC_TRACK_FILE: record faults on a file
 * @fd:          (in) WSR_TRACK_START: the file, a regular file opened for
 *               reading that the caller owns or may open for writing (as
 *               for mincore()), whose faults go through the page cache's
 *               filemap_fault() (tmpfs, memfd, hugetlbfs and DAX files
 *               fail with -EOPNOTSUPP); other ops: must be zero
 * @op:          (in) enum wsr_track_op
 * @flags:       (in) WSR_TRACK_START: WSR_TRACK_FILE_*; other ops: zero
 * @pad:         (in) must be zero
 * @offset:      (in) WSR_TRACK_START: start of the range in the file, page
 *               aligned; other ops: zero
 * @length:      (in) WSR_TRACK_START: range size, page aligned, non-zero,
 *               within the file; other ops: zero
 * @faults:      (out) filemap_fault() calls in the range since START (a
 *               retried fault counts twice)
 * @major:       (out) of those, pages not in the page cache (major faults)
 * @around_hits: (out) faults in the range that fault-around resolved
 * @around:      (out) pages fault-around mapped ahead of an access
 * @reserved:    (in) must be zero
 *
 * The (out) counters are those of the current record; they are written
 * on success of every op and ignored on input.
 */
struct wsr_track_file {
	__s32 fd;
	__u32 op;
	__u32 flags;
	__u32 pad;
	__u64 offset;
	__u64 length;
	__u64 faults;
	__u64 major;
	__u64 around_hits;
	__u64 around;
	__u64 reserved[4];
};

#define WSR_IOC_TRACK_FILE	_IOWR(WSR_IOC_MAGIC, 0x07, struct wsr_track_file)

/*
 * Named bases (WSR_FEATURE_NAMED_BASE): a base that outlives the process
 * that made it, with a name, served as a file by the wsrfs filesystem to
 * VMMs that map guest memory by path (QEMU's memory-backend-file,
 * Firecracker's File backend):
 *
 *	ioctl(fd, WSR_IOC_BASE_CREATE, &bc);	name + snapshot fd + range
 *	mount -t wsrfs wsr /run/wsr		any number of mounts, all
 *						show every named base
 *	open("/run/wsr/NAME", O_RDWR); mmap(MAP_PRIVATE)   guest memory
 *
 * A file of wsrfs reads as the snapshot range, copy-on-write like a
 * region's mapping; it cannot be written (write(2), ftruncate(2) and a
 * shared writable mapping fail with -EPERM).  Its owner, group and mode
 * are the snapshot's, and opening it needs the snapshot's own permission
 * (see Documentation/admin-guide/wsr.rst).
 *
 * WSR_IOC_BASE_OPEN binds a /dev/wsr fd that has no region to a named
 * base's region: WSR_IOC_RESTORE then prefetches into it, WSR_IOC_TRACK
 * and WSR_IOC_GET_WS record the first touches of every process mapping
 * the file, WSR_IOC_STATS and WSR_IOC_WAIT work as for a region.
 * WSR_IOC_BASE_DROP removes the name at once; the base goes when the last
 * open file and mapping of it do (as an unlinked file).
 */

/* Longest name, with its terminating NUL. */
#define WSR_BASE_NAME_MAX	64
/* Named bases a host may have at once. */
#define WSR_BASE_MAX		256

/**
 * struct wsr_base_create - WSR_IOC_BASE_CREATE: a named base
 * @name:     (in) 1 to 63 bytes of [A-Za-z0-9._-], not starting with '.',
 *            NUL-terminated, the bytes after the NUL zero
 * @fd:       (in) snapshot file, as for struct wsr_create
 * @flags:    (in) WSR_CREATE_NO_HUGE or 0
 * @offset:   (in) start in the file, page aligned
 * @length:   (in) size, page aligned, non-zero, within the file
 * @tag:      (in) opaque to the kernel, reported by WSR_IOC_BASE_INFO
 *            (libwsr keeps the snapshot's fingerprint there)
 * @reserved: (in) must be zero
 */
struct wsr_base_create {
	char name[WSR_BASE_NAME_MAX];
	__s32 fd;
	__u32 flags;
	__u64 offset;
	__u64 length;
	__u64 tag[2];
	__u64 reserved[4];
};

/**
 * struct wsr_base_name - WSR_IOC_BASE_DROP, WSR_IOC_BASE_OPEN: a name
 * @name:     (in) as for struct wsr_base_create
 * @reserved: (in) must be zero
 */
struct wsr_base_name {
	char name[WSR_BASE_NAME_MAX];
	__u64 reserved[4];
};

/**
 * struct wsr_base_info - one named base, all (out)
 * @name:           its name, NUL-padded
 * @offset:         range start in the snapshot file
 * @length:         range size, the file's st_size
 * @snap_dev:       the snapshot's device (new_encode_dev())
 * @snap_ino:       the snapshot's inode number
 * @tag:            struct wsr_base_create.tag
 * @uid:            owner (the snapshot's), in the caller's user namespace
 * @gid:            group (the snapshot's)
 * @mode:           permission bits (the snapshot's)
 * @flags:          WSR_CREATE_* it was made with
 * @resident_huge:  2 MiB folios the base holds
 * @resident_small: 4 KiB folios the base holds
 * @faults:         faults on its mappings since it was made
 * @refs:           references besides the name's own: open files, wsrfs
 *                  inodes in use, bound /dev/wsr fds (the caller's not
 *                  counted); mappings hold the base, not the name
 * @reserved:       zero
 */
struct wsr_base_info {
	char name[WSR_BASE_NAME_MAX];
	__u64 offset;
	__u64 length;
	__u64 snap_dev;
	__u64 snap_ino;
	__u64 tag[2];
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 flags;
	__u64 resident_huge;
	__u64 resident_small;
	__u64 faults;
	__u64 refs;
	__u64 reserved[4];
};

/**
 * struct wsr_base_list - WSR_IOC_BASE_LIST: every named base
 * @entries:  (in) user pointer to an array of struct wsr_base_info
 * @count:    (in) capacity of @entries; (out) named bases.  If the
 *            capacity is too small the call fails with -ENOSPC and @count
 *            holds the number needed.
 * @reserved: (in) must be zero
 */
struct wsr_base_list {
	__u64 entries;
	__u64 count;
	__u64 reserved[4];
};

#define WSR_IOC_BASE_CREATE	_IOW(WSR_IOC_MAGIC, 0x08, struct wsr_base_create)
#define WSR_IOC_BASE_DROP	_IOW(WSR_IOC_MAGIC, 0x09, struct wsr_base_name)
#define WSR_IOC_BASE_OPEN	_IOW(WSR_IOC_MAGIC, 0x0a, struct wsr_base_name)
#define WSR_IOC_BASE_LIST	_IOWR(WSR_IOC_MAGIC, 0x0b, struct wsr_base_list)
#define WSR_IOC_BASE_INFO	_IOR(WSR_IOC_MAGIC, 0x0c, struct wsr_base_info)

/* Magic number of wsrfs (statfs(2) f_type). */
#define WSRFS_MAGIC		0x77737266	/* "wsrf" */

#endif /* _UAPI_LINUX_WSR_H */
