// SPDX-License-Identifier: GPL-2.0
/*
 * wsr file tracker: WSR_IOC_TRACK_FILE records the first-touch order of the
 * pages of a range of an ordinary file, through every mapping of that file
 * by any process.  A VMM that maps its snapshot file MAP_PRIVATE as guest
 * memory, and the KVM guest faulting it in through get_user_pages(), are
 * recorded without any change to the VMM; the record has the format of a
 * region's (struct wsr_ws_entry, index relative to the range start).
 *
 * The events come from two tracepoints that mm-patches/ add to
 * mm/filemap.c and export:
 *
 *  - mm_filemap_fault: filemap_fault() looked the faulting page up; cached
 *    is false for a major fault.  A retried fault reports the page again.
 *  - mm_filemap_map_page: fault-around mapped a page-cache page, either the
 *    one that faulted (address == vmf->address) or a neighbour mapped ahead
 *    of any access.
 *
 * Every first fault on a page of the range reaches one of the two, so a
 * page is recorded at its first fault.  A neighbour that fault-around maps
 * never faults when it is accessed later; it is recorded when fault-around
 * maps it only with WSR_TRACK_FILE_AROUND (the record is then a superset of
 * the touched pages, in mapping order).  The probes are registered while at
 * least one tracker records; they find the trackers of a file by its
 * address_space in an RCU list and take only the tracker's spinlock, as
 * they run under the mmap_lock, RCU and, for fault-around, the PTE lock.
 *
 * Tracking reveals the access pattern of other processes to a file, so the
 * caller must own the file or be allowed to open it for writing, the rule
 * mincore() applies to page-cache residency; and a caller without
 * CAP_SYS_ADMIN records only the faults of tasks running with its own
 * effective uid (those it could watch anyway), never other users', and may
 * have WSR_FT_MAX_PER_USER trackers recording at once.
 *
 * The mm_filemap_map_page event also reports every page of a file folio
 * that one PMD maps (large folios: XFS and others), so a PMD-mapped file
 * is recorded like a PTE-mapped one.
 *
 * Lock order (outermost first):
 *
 *	wsr_file.lock			(wsr_main.c; WSR_IOC_TRACK_FILE)
 *	  wsr_filetrack.mutex		(ops of a tracker)
 *	    wsr_ft_mutex		(wsr_ft_list updates, probe registration)
 *	    wsr_record.mutex		(the record's arrays, wsr_record.c)
 *	    wsr_filetrack.lock		(event counters; spinlock, leaf)
 *	    wsr_record.lock		(the record; spinlock, leaf)
 */
#include <linux/file.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <trace/events/filemap.h>

#include "wsr_internal.h"
#include "wsr_filetrack.h"

/* Same bound as a region: 256 GiB, a 8 MiB bitmap at most. */
#define WSR_FT_MAX_PAGES	BIT(26)
/*
 * Every file fault on the host walks the recording trackers with
 * preemption off: bound the walk, and what one user may add to it.
 */
#define WSR_FT_MAX		64
#define WSR_FT_MAX_PER_USER	8

/**
 * struct wsr_filetrack - first-touch recorder of a file range
 * @node:        entry in wsr_ft_list while @listed
 * @mutex:       serialises ops; protects @listed and @file
 * @listed:      on wsr_ft_list: recording
 * @file:        the tracked file (a reference), NULL without a record
 * @mapping:     @file's address_space, compared by the probes
 * @first:       first page of the range in the file
 * @npages:      range size in pages
 * @flags:       WSR_TRACK_FILE_*
 * @uid:         effective uid of the caller of WSR_TRACK_START
 * @anyone:      that caller had CAP_SYS_ADMIN: faults of every task count
 * @rec:         the record (index relative to @first)
 * @lock:        protects the event counters below
 * @faults:      mm_filemap_fault events in the range
 * @major:       of those, with the page not in the page cache
 * @around_hits: mm_filemap_map_page events for the faulting page
 * @around:      mm_filemap_map_page events for a neighbour
 *
 * @mapping, @first, @npages and @flags are set before the tracker is added
 * to wsr_ft_list and stay constant while it is on it, so the probes read
 * them without a lock.
 */
struct wsr_filetrack {
	struct list_head node;
	struct mutex mutex;	/* serialises ops, protects the pointers */
	bool listed;
	struct file *file;
	struct address_space *mapping;
	pgoff_t first;
	pgoff_t npages;
	u32 flags;
	kuid_t uid;
	bool anyone;

	struct wsr_record rec;
	spinlock_t lock;	/* protects the counters below */
	u64 faults;
	u64 major;
	u64 around_hits;
	u64 around;
};

/* Recording trackers, traversed by the probes under RCU. */
static LIST_HEAD(wsr_ft_list);
/* protects wsr_ft_list updates, wsr_ft_nr and probe registration */
static DEFINE_MUTEX(wsr_ft_mutex);
static unsigned int wsr_ft_nr;

static bool wsr_ft_in_range(const struct wsr_filetrack *ft, pgoff_t index)
{
	return index - ft->first < ft->npages;
}

/* May @ft see the faults of the current task?  See the top comment. */
static bool wsr_ft_may_see(const struct wsr_filetrack *ft)
{
	return ft->anyone || uid_eq(current_euid(), ft->uid);
}

/* mm_filemap_fault probe: filemap_fault() looked up vmf->pgoff. */
static void wsr_ft_probe_fault(void *data, struct vm_fault *vmf, bool cached)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct wsr_filetrack *ft;

	rcu_read_lock();
	list_for_each_entry_rcu(ft, &wsr_ft_list, node) {
		if (ft->mapping != mapping ||
		    !wsr_ft_in_range(ft, vmf->pgoff) || !wsr_ft_may_see(ft))
			continue;
		spin_lock(&ft->lock);
		ft->faults++;
		if (!cached)
			ft->major++;
		spin_unlock(&ft->lock);
		wsr_record_touch(&ft->rec, vmf->pgoff - ft->first);
	}
	rcu_read_unlock();
}

/* mm_filemap_map_page probe: fault-around mapped @index at @address. */
static void wsr_ft_probe_map_page(void *data, struct vm_fault *vmf,
				  pgoff_t index, unsigned long address)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	bool fault = address == vmf->address;
	struct wsr_filetrack *ft;

	rcu_read_lock();
	list_for_each_entry_rcu(ft, &wsr_ft_list, node) {
		if (ft->mapping != mapping || !wsr_ft_in_range(ft, index) ||
		    !wsr_ft_may_see(ft))
			continue;
		spin_lock(&ft->lock);
		if (fault)
			ft->around_hits++;
		else
			ft->around++;
		spin_unlock(&ft->lock);
		if (fault || ft->flags & WSR_TRACK_FILE_AROUND)
			wsr_record_touch(&ft->rec, index - ft->first);
	}
	rcu_read_unlock();
}

static int wsr_ft_register(void)
{
	int ret;

	lockdep_assert_held(&wsr_ft_mutex);
	ret = register_trace_mm_filemap_fault(wsr_ft_probe_fault, NULL);
	if (ret)
		return ret;
	ret = register_trace_mm_filemap_map_page(wsr_ft_probe_map_page, NULL);
	if (ret)
		unregister_trace_mm_filemap_fault(wsr_ft_probe_fault, NULL);
	return ret;
}

static void wsr_ft_unregister(void)
{
	lockdep_assert_held(&wsr_ft_mutex);
	unregister_trace_mm_filemap_map_page(wsr_ft_probe_map_page, NULL);
	unregister_trace_mm_filemap_fault(wsr_ft_probe_fault, NULL);
}

/* Trackers recording for @uid, without CAP_SYS_ADMIN. */
static unsigned int wsr_ft_count_user(kuid_t uid)
{
	struct wsr_filetrack *ft;
	unsigned int n = 0;

	lockdep_assert_held(&wsr_ft_mutex);
	list_for_each_entry(ft, &wsr_ft_list, node)
		n += !ft->anyone && uid_eq(ft->uid, uid);
	return n;
}

/*
 * Start feeding @ft from the probes; registers them for the first one.
 * -EMFILE beyond WSR_FT_MAX trackers, or WSR_FT_MAX_PER_USER of one user
 * without CAP_SYS_ADMIN.
 */
static int wsr_ft_list_add(struct wsr_filetrack *ft)
{
	int ret = 0;

	lockdep_assert_held(&ft->mutex);
	mutex_lock(&wsr_ft_mutex);
	if (wsr_ft_nr >= WSR_FT_MAX ||
	    (!ft->anyone &&
	     wsr_ft_count_user(ft->uid) >= WSR_FT_MAX_PER_USER))
		ret = -EMFILE;
	else if (!wsr_ft_nr)
		ret = wsr_ft_register();
	if (!ret) {
		list_add_rcu(&ft->node, &wsr_ft_list);
		wsr_ft_nr++;
		ft->listed = true;
	}
	mutex_unlock(&wsr_ft_mutex);
	return ret;
}

/* Stop feeding @ft; no probe touches it any more on return. */
static void wsr_ft_list_del(struct wsr_filetrack *ft)
{
	lockdep_assert_held(&ft->mutex);
	if (!ft->listed)
		return;
	mutex_lock(&wsr_ft_mutex);
	list_del_rcu(&ft->node);
	if (!--wsr_ft_nr)
		wsr_ft_unregister();
	mutex_unlock(&wsr_ft_mutex);
	/* Waits for probes running now, also those still walking the list. */
	tracepoint_synchronize_unregister();
	ft->listed = false;
}

/* Drop the record and the file; @ft must not be listed. */
static void wsr_ft_drop(struct wsr_filetrack *ft)
{
	lockdep_assert_held(&ft->mutex);
	WARN_ON_ONCE(ft->listed);
	wsr_record_reset(&ft->rec);
	if (ft->file)
		fput(ft->file);
	ft->file = NULL;
	ft->mapping = NULL;
	spin_lock(&ft->lock);
	ft->faults = 0;
	ft->major = 0;
	ft->around_hits = 0;
	ft->around = 0;
	spin_unlock(&ft->lock);
}

/* The file of a WSR_TRACK_START: checked, with a reference, or ERR_PTR. */
static struct file *wsr_ft_get_file(const struct wsr_track_file *arg)
{
	struct inode *inode;
	struct file *f;
	int ret;

	f = fget(arg->fd);
	if (!f)
		return ERR_PTR(-EBADF);
	inode = file_inode(f);
	ret = -EINVAL;
	if (!S_ISREG(inode->i_mode))
		goto err;
	ret = -EBADF;
	if (!(f->f_mode & FMODE_READ))
		goto err;
	/* Faults on these never reach filemap_fault(): nothing to record. */
	ret = -EOPNOTSUPP;
	if (inode->i_sb->s_magic == TMPFS_MAGIC ||
	    inode->i_sb->s_magic == HUGETLBFS_MAGIC || IS_DAX(inode))
		goto err;
	ret = -EPERM;
	if (!inode_owner_or_capable(file_mnt_user_ns(f), inode) &&
	    file_permission(f, MAY_WRITE))
		goto err;
	ret = -EINVAL;
	if (arg->offset + arg->length > i_size_read(inode))
		goto err;
	return f;
err:
	fput(f);
	return ERR_PTR(ret);
}

/* WSR_TRACK_START: replace any record by an empty one and record. */
static int wsr_ft_start(struct wsr_filetrack *ft,
			const struct wsr_track_file *arg)
{
	pgoff_t npages = arg->length >> PAGE_SHIFT;
	struct file *f;
	int ret;

	lockdep_assert_held(&ft->mutex);
	f = wsr_ft_get_file(arg);
	if (IS_ERR(f))
		return PTR_ERR(f);
	wsr_ft_list_del(ft);
	wsr_ft_drop(ft);
	ret = wsr_record_start(&ft->rec, npages);
	if (ret) {
		fput(f);
		return ret;
	}
	ft->file = f;
	ft->mapping = f->f_mapping;
	ft->first = arg->offset >> PAGE_SHIFT;
	ft->npages = npages;
	ft->flags = arg->flags;
	ft->uid = current_euid();
	ft->anyone = capable(CAP_SYS_ADMIN);
	ret = wsr_ft_list_add(ft);
	if (ret)
		wsr_ft_drop(ft);
	return ret;
}

/* Validate the fields the op does not use; START's range is checked here. */
static int wsr_ft_check(const struct wsr_track_file *arg)
{
	u64 end;

	if (arg->pad || memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (arg->op != WSR_TRACK_START)
		return arg->fd || arg->flags || arg->offset || arg->length ?
		       -EINVAL : 0;
	if (arg->flags & ~WSR_TRACK_FILE_FLAGS)
		return -EINVAL;
	if (!arg->length || !PAGE_ALIGNED(arg->offset) ||
	    !PAGE_ALIGNED(arg->length) ||
	    check_add_overflow(arg->offset, arg->length, &end) ||
	    end > MAX_LFS_FILESIZE ||
	    arg->length >> PAGE_SHIFT > WSR_FT_MAX_PAGES)
		return -EINVAL;
	return 0;
}

/**
 * wsr_filetrack_ioctl() - WSR_IOC_TRACK_FILE
 * @ftp: the /dev/wsr file's tracker, allocated by the first successful
 *       WSR_TRACK_START (published with smp_store_release()), then kept
 *       until wsr_filetrack_release()
 * @arg: validated here; the (out) counters are set on success
 *
 * WSR_TRACK_START drops any previous record and records the first touches
 * of the pages of [@arg->offset, @arg->offset + @arg->length) of the file
 * @arg->fd, time zero now; WSR_TRACK_STOP stops recording and keeps the
 * record for WSR_IOC_GET_WS; WSR_TRACK_RESET stops and drops the record
 * and the file.
 *
 * Return: 0; -EINVAL (op, flags, pad, reserved, fields the op does not use,
 * alignment, overflow, range beyond EOF, not a regular file, STOP or RESET
 * before any START); -EBADF (bad fd, not open for reading); -EOPNOTSUPP
 * (tmpfs, shmem and memfd, hugetlbfs or DAX file: its faults bypass
 * filemap_fault()); -EPERM (caller neither owns the file nor may write
 * it); -EMFILE (too many trackers record: WSR_FT_MAX on the host,
 * WSR_FT_MAX_PER_USER of a user without CAP_SYS_ADMIN); -ENOMEM.
 * Context: process context, may sleep; the caller holds the lock that
 * serialises *@ftp (wsr_file.lock).
 */
int wsr_filetrack_ioctl(struct wsr_filetrack **ftp,
			struct wsr_track_file *arg)
{
	struct wsr_filetrack *ft = *ftp;
	int ret;

	ret = wsr_ft_check(arg);
	if (ret)
		return ret;
	switch (arg->op) {
	case WSR_TRACK_START:
		break;
	case WSR_TRACK_STOP:
	case WSR_TRACK_RESET:
		if (!ft)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}

	if (!ft) {
		ft = kzalloc(sizeof(*ft), GFP_KERNEL_ACCOUNT);
		if (!ft)
			return -ENOMEM;
		mutex_init(&ft->mutex);
		spin_lock_init(&ft->lock);
		wsr_record_init(&ft->rec);
		INIT_LIST_HEAD(&ft->node);
		mutex_lock(&ft->mutex);
		ret = wsr_ft_start(ft, arg);
		mutex_unlock(&ft->mutex);
		if (ret) {
			wsr_record_free(&ft->rec);
			mutex_destroy(&ft->mutex);
			kfree(ft);
			return ret;
		}
		/* Pairs with smp_load_acquire() in wsr_filetrack_record(). */
		smp_store_release(ftp, ft);
	} else {
		mutex_lock(&ft->mutex);
		if (arg->op == WSR_TRACK_START) {
			ret = wsr_ft_start(ft, arg);
		} else {
			wsr_ft_list_del(ft);
			wsr_record_stop(&ft->rec);
			if (arg->op == WSR_TRACK_RESET)
				wsr_ft_drop(ft);
		}
		mutex_unlock(&ft->mutex);
		if (ret)
			return ret;
	}

	spin_lock(&ft->lock);
	arg->faults = ft->faults;
	arg->major = ft->major;
	arg->around_hits = ft->around_hits;
	arg->around = ft->around;
	spin_unlock(&ft->lock);
	return 0;
}

/**
 * wsr_filetrack_record() - the record of a /dev/wsr file that tracks a file
 * @ftp: the /dev/wsr file's tracker, NULL if WSR_TRACK_START never
 *       succeeded on it; read without the lock that serialises its update
 *
 * Return: the record (it lives as long as the /dev/wsr file), or NULL.
 * Context: any.
 */
struct wsr_record *wsr_filetrack_record(struct wsr_filetrack **ftp)
{
	/* Pairs with smp_store_release() in wsr_filetrack_ioctl(). */
	struct wsr_filetrack *ft = smp_load_acquire(ftp);

	return ft ? &ft->rec : NULL;
}

/**
 * wsr_filetrack_release() - stop tracking and free the tracker
 * @ft: the /dev/wsr file's tracker, or NULL
 *
 * Context: process context (file release), may sleep; no ioctl can run on
 * the file any more.
 */
void wsr_filetrack_release(struct wsr_filetrack *ft)
{
	if (!ft)
		return;
	mutex_lock(&ft->mutex);
	wsr_ft_list_del(ft);
	wsr_ft_drop(ft);
	mutex_unlock(&ft->mutex);
	wsr_record_free(&ft->rec);
	mutex_destroy(&ft->mutex);
	kfree(ft);
}
