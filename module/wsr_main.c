// SPDX-License-Identifier: GPL-2.0
/*
 * wsr - working-set-aware restore of microVM memory snapshots.
 *
 * /dev/wsr: one open file per region.  The first ioctl is the WSR_IOC_API
 * handshake; WSR_IOC_CREATE then binds a snapshot file range, which is
 * mmapped as guest memory.  This is the ioctl layer: every user copy and
 * every check of an ioctl's struct happens here, and the files below take
 * kernel types only.  The region lives until this file is released and
 * its last mapping is gone (wsr_region.c); the region's file holds a
 * reference on this module (fops owner), so the module cannot be unloaded
 * while a region exists.
 *
 * Lock order: wsr_file.lock -> wsr_region.mutex -> mmap_lock -> leaf
 * spinlocks (see wsr_internal.h).
 */
#include <linux/bitmap.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "wsr_internal.h"
#include "wsr_filetrack.h"

#define CREATE_TRACE_POINTS
#include "wsr_trace.h"

struct workqueue_struct *wsr_wq;

/**
 * struct wsr_file - state of one open /dev/wsr
 * @lock:    protects @api and serialises WSR_IOC_CREATE
 * @api:     the handshake was done
 * @region:  set once by WSR_IOC_CREATE (store-release), then constant
 * @ft:      set once by WSR_IOC_TRACK_FILE (store-release), then constant
 * @name:    the named base bound by WSR_IOC_BASE_OPEN, set with @region
 */
struct wsr_file {
	struct mutex lock;	/* protects @api, serialises CREATE */
	bool api;
	struct wsr_region *region;
	struct wsr_filetrack *ft;
	struct wsr_name *name;
};

/* Largest region, in pages: keeps every per-page array below INT_MAX. */
#define WSR_MAX_PAGES		BIT(26)

#define WSR_IOCTLS	(BIT_ULL(_IOC_NR(WSR_IOC_API)) |		\
			 BIT_ULL(_IOC_NR(WSR_IOC_CREATE)) |		\
			 BIT_ULL(_IOC_NR(WSR_IOC_TRACK)) |		\
			 BIT_ULL(_IOC_NR(WSR_IOC_GET_WS)) |		\
			 BIT_ULL(_IOC_NR(WSR_IOC_RESTORE)) |		\
			 BIT_ULL(_IOC_NR(WSR_IOC_STATS)) |		\
			 BIT_ULL(_IOC_NR(WSR_IOC_WAIT)) |		\
			 BIT_ULL(_IOC_NR(WSR_IOC_BASE_CREATE)) |	\
			 BIT_ULL(_IOC_NR(WSR_IOC_BASE_DROP)) |		\
			 BIT_ULL(_IOC_NR(WSR_IOC_BASE_OPEN)) |		\
			 BIT_ULL(_IOC_NR(WSR_IOC_BASE_LIST)) |		\
			 BIT_ULL(_IOC_NR(WSR_IOC_BASE_INFO)))

static u64 wsr_features(void)
{
	u64 f = WSR_FEATURE_TRACK | WSR_FEATURE_RESTORE | WSR_FEATURE_ASYNC |
		WSR_FEATURE_SHARED_BASE | WSR_FEATURE_NAMED_BASE |
		WSR_FEATURE_COMPRESSED;

	if (wsr_huge_possible())
		f |= WSR_FEATURE_HUGE;
	return f | WSR_FILETRACK_FEATURES;
}

static int wsr_ioc_api(struct wsr_file *wf, struct wsr_api *arg)
{
	if (!arg->api || arg->api > WSR_API_VERSION ||
	    memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	arg->api = WSR_API_VERSION;
	arg->features = wsr_features();
	arg->ioctls = WSR_IOCTLS | WSR_FILETRACK_IOCTLS;
	mutex_lock(&wf->lock);
	wf->api = true;
	mutex_unlock(&wf->lock);
	return 0;
}

/* A snapshot range: aligned, non-empty, no overflow, not too large. */
static bool wsr_range_ok(u64 offset, u64 length)
{
	u64 end;

	return length && PAGE_ALIGNED(offset) && PAGE_ALIGNED(length) &&
	       !check_add_overflow(offset, length, &end) &&
	       end <= MAX_LFS_FILESIZE && length >> PAGE_SHIFT <= WSR_MAX_PAGES;
}

static int wsr_ioc_create(struct wsr_file *wf, struct wsr_create *arg)
{
	struct wsr_region *r;
	int ret;

	if (arg->flags & ~WSR_CREATE_FLAGS ||
	    memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	/* A compressed snapshot is mapped whole, from its first page. */
	if ((arg->flags & WSR_CREATE_COMPRESSED) && arg->offset)
		return -EINVAL;
	if (!wsr_range_ok(arg->offset, arg->length))
		return -EINVAL;

	if (mutex_lock_killable(&wf->lock))
		return -EINTR;
	if (wf->region || wf->ft) {
		ret = -EBUSY;
		goto out;
	}
	ret = wsr_region_create(arg, &r);
	if (!ret) {
		/* Pairs with smp_load_acquire() in ioctl and mmap. */
		smp_store_release(&wf->region, r);
	}
out:
	mutex_unlock(&wf->lock);
	return ret;
}

static int wsr_ioc_track(struct wsr_region *r, struct wsr_track *arg)
{
	int ret;

	if (arg->pad || memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (mutex_lock_killable(&r->mutex))
		return -EINTR;
	ret = wsr_tracker_op(r, arg->op);
	mutex_unlock(&r->mutex);
	return ret;
}

/*
 * Copy in a working set: validate every index, drop duplicates, keep
 * first-touch order (@out) and the set as a bitmap (@set, index order).
 */
static int wsr_copy_ws(struct wsr_region *r, u64 upages, u64 count,
		       pgoff_t **out, unsigned long **set, unsigned long *nws)
{
	const u64 __user *up = u64_to_user_ptr(upages);
	unsigned long *seen;
	pgoff_t *order;
	u64 buf[64];
	u64 i, j;
	int ret = 0;

	*nws = 0;
	/*
	 * The bitmap first: kvmalloc() falls back to vmalloc() when kmalloc()
	 * fails, so a fault injected there would never reach the bitmap.
	 */
	seen = bitmap_zalloc(r->npages, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	order = kvmalloc_array(max_t(u64, min_t(u64, count, r->npages), 1),
			       sizeof(*order), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!order || !seen) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < count && !ret; i += j) {
		u64 k = min_t(u64, count - i, ARRAY_SIZE(buf));

		if (copy_from_user(buf, up + i, k * sizeof(*buf))) {
			ret = -EFAULT;
			break;
		}
		for (j = 0; j < k; j++) {
			if (buf[j] >= r->npages) {
				ret = -EINVAL;
				break;
			}
			if (!__test_and_set_bit(buf[j], seen))
				order[(*nws)++] = buf[j];
		}
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
out:
	if (ret) {
		bitmap_free(seen);
		kvfree(order);
		seen = NULL;
		order = NULL;
	}
	*out = order;
	*set = seen;
	return ret;
}

static int wsr_ioc_restore(struct wsr_region *r, struct wsr_restore *arg)
{
	unsigned long n, *set;
	pgoff_t *order;
	int ret;

	if (arg->flags & ~WSR_RESTORE_FLAGS || arg->pad ||
	    memchr_inv(arg->reserved, 0, sizeof(arg->reserved)) ||
	    arg->count > r->npages)
		return -EINVAL;
	ret = wsr_copy_ws(r, arg->pages, arg->count, &order, &set, &n);
	if (ret)
		return ret;
	return wsr_restore(r, order, set, n, arg);
}

static int wsr_ioc_wait(struct wsr_region *r, struct wsr_wait *arg)
{
	if (arg->pad || memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	return wsr_restore_wait(r, arg);
}

/* WSR_IOC_GET_WS of either tracker: the one copy-out of a record. */
static int wsr_ioc_get_ws(struct wsr_record *rec, struct wsr_get_ws *arg)
{
	u64 cap = arg->count, n;
	int ret = 0;

	if (!rec || arg->pad ||
	    memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (mutex_lock_killable(&rec->mutex))
		return -EINTR;
	wsr_record_counts(rec, &n, &arg->dropped);
	arg->count = n;
	arg->flags = arg->dropped ? WSR_WS_OVERFLOW : 0;
	if (cap < n)
		ret = -ENOSPC;
	else if (n && copy_to_user(u64_to_user_ptr(arg->entries), rec->ents,
				   n * sizeof(*rec->ents)))
		ret = -EFAULT;
	mutex_unlock(&rec->mutex);
	return ret;
}

static int wsr_ioc_stats(struct wsr_region *r, struct wsr_stats *arg)
{
	memset(arg, 0, sizeof(*arg));
	wsr_stats_get(r, arg);
	return 0;
}

/*
 * A base name: 1 to 63 bytes of [A-Za-z0-9._-], not starting with '.',
 * NUL-terminated in the field and zero after the NUL.
 */
static int wsr_check_name(const char *name)
{
	size_t len = strnlen(name, WSR_BASE_NAME_MAX), i;

	if (len == WSR_BASE_NAME_MAX)
		return -ENAMETOOLONG;
	if (!len || name[0] == '.' ||
	    memchr_inv(name + len, 0, WSR_BASE_NAME_MAX - len))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '.' && c != '_' && c != '-')
			return -EINVAL;
	}
	return 0;
}

static int wsr_ioc_base_create(struct wsr_base_create *arg)
{
	int ret = wsr_check_name(arg->name);

	if (ret)
		return ret;
	if (arg->flags & ~WSR_CREATE_NO_HUGE ||
	    memchr_inv(arg->reserved, 0, sizeof(arg->reserved)) ||
	    !wsr_range_ok(arg->offset, arg->length))
		return -EINVAL;
	return wsr_name_create(arg);
}

static int wsr_ioc_base_drop(struct wsr_base_name *arg)
{
	int ret = wsr_check_name(arg->name);

	if (ret)
		return ret;
	if (memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	return wsr_name_drop(arg->name);
}

/* Bind this fd to a named base's region, as WSR_IOC_CREATE would. */
static int wsr_ioc_base_open(struct wsr_file *wf, struct wsr_base_name *arg)
{
	struct wsr_name *n;
	int ret = wsr_check_name(arg->name);

	if (ret)
		return ret;
	if (memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (mutex_lock_killable(&wf->lock))
		return -EINTR;
	if (wf->region || wf->ft) {
		ret = -EBUSY;
		goto out;
	}
	n = wsr_name_find(arg->name, true);
	if (IS_ERR(n)) {
		ret = PTR_ERR(n);
		goto out;
	}
	/* Released by wsr_region_close() in wsr_release(). */
	get_file(n->region->vfile);
	wf->name = n;
	/* Pairs with smp_load_acquire() in ioctl and mmap. */
	smp_store_release(&wf->region, n->region);
out:
	mutex_unlock(&wf->lock);
	return ret;
}

static int wsr_ioc_base_list(struct wsr_base_list *arg)
{
	u64 cap = min_t(u64, arg->count, WSR_BASE_MAX), n;
	struct wsr_base_info *buf;
	int ret = 0;

	if (memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	buf = kvcalloc(max_t(u64, cap, 1), sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	n = wsr_name_list(buf, cap);
	if (arg->count < n)
		ret = -ENOSPC;
	else if (n && copy_to_user(u64_to_user_ptr(arg->entries), buf,
				   n * sizeof(*buf)))
		ret = -EFAULT;
	arg->count = n;
	kvfree(buf);
	return ret;
}

union wsr_ioc_arg {
	struct wsr_api api;
	struct wsr_create create;
	struct wsr_track track;
	struct wsr_get_ws get_ws;
	struct wsr_restore restore;
	struct wsr_stats stats;
	struct wsr_wait wait;
	struct wsr_track_file track_file;
	struct wsr_base_create base_create;
	struct wsr_base_name base_name;
	struct wsr_base_list base_list;
	struct wsr_base_info base_info;
};

static long wsr_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct wsr_file *wf = file->private_data;
	void __user *uarg = (void __user *)arg;
	union wsr_ioc_arg u;
	struct wsr_region *r;
	bool api;
	int ret;

	switch (cmd) {
	case WSR_IOC_API:
	case WSR_IOC_CREATE:
	case WSR_IOC_TRACK:
	case WSR_IOC_GET_WS:
	case WSR_IOC_RESTORE:
	case WSR_IOC_STATS:
	case WSR_IOC_WAIT:
	case WSR_IOC_TRACK_FILE:
	case WSR_IOC_BASE_CREATE:
	case WSR_IOC_BASE_DROP:
	case WSR_IOC_BASE_OPEN:
	case WSR_IOC_BASE_LIST:
	case WSR_IOC_BASE_INFO:
		break;
	default:
		return -ENOTTY;
	}
	BUILD_BUG_ON(sizeof(u) > 256);
	memset(&u, 0, sizeof(u));
	if ((_IOC_DIR(cmd) & _IOC_WRITE) &&
	    copy_from_user(&u, uarg, _IOC_SIZE(cmd)))
		return -EFAULT;

	if (cmd == WSR_IOC_API) {
		ret = wsr_ioc_api(wf, &u.api);
		goto out;
	}
	mutex_lock(&wf->lock);
	api = wf->api;
	mutex_unlock(&wf->lock);
	if (!api)
		return -EINVAL;
	if (cmd == WSR_IOC_CREATE) {
		ret = wsr_ioc_create(wf, &u.create);
		goto out;
	}
	switch (cmd) {
	case WSR_IOC_BASE_CREATE:
		ret = wsr_ioc_base_create(&u.base_create);
		goto out;
	case WSR_IOC_BASE_DROP:
		ret = wsr_ioc_base_drop(&u.base_name);
		goto out;
	case WSR_IOC_BASE_OPEN:
		ret = wsr_ioc_base_open(wf, &u.base_name);
		goto out;
	case WSR_IOC_BASE_LIST:
		ret = wsr_ioc_base_list(&u.base_list);
		/* -ENOSPC reports the count needed */
		if (ret == -ENOSPC &&
		    copy_to_user(uarg, &u, _IOC_SIZE(cmd)))
			ret = -EFAULT;
		goto out;
	}
	if (cmd == WSR_IOC_TRACK_FILE) {
		if (mutex_lock_killable(&wf->lock))
			return -EINTR;
		ret = wf->region ? -EBUSY :
		      wsr_filetrack_ioctl(&wf->ft, &u.track_file);
		mutex_unlock(&wf->lock);
		goto out;
	}
	/* Pairs with smp_store_release() in wsr_ioc_create(). */
	r = smp_load_acquire(&wf->region);
	if (!r && cmd != WSR_IOC_GET_WS)
		return -EINVAL;

	switch (cmd) {
	case WSR_IOC_TRACK:
		ret = wsr_ioc_track(r, &u.track);
		break;
	case WSR_IOC_GET_WS:
		ret = wsr_ioc_get_ws(r ? &r->track :
				     wsr_filetrack_record(&wf->ft), &u.get_ws);
		/* -ENOSPC reports the count needed */
		if (ret == -ENOSPC &&
		    copy_to_user(uarg, &u, _IOC_SIZE(cmd)))
			ret = -EFAULT;
		break;
	case WSR_IOC_RESTORE:
		ret = wsr_ioc_restore(r, &u.restore);
		break;
	case WSR_IOC_STATS:
		ret = wsr_ioc_stats(r, &u.stats);
		break;
	case WSR_IOC_WAIT:
		ret = wsr_ioc_wait(r, &u.wait);
		break;
	case WSR_IOC_BASE_INFO:
		/* Set before wf->region, which was read with acquire. */
		if (!wf->name) {
			ret = -EINVAL;
			break;
		}
		wsr_name_info(wf->name, &u.base_info);
		ret = 0;
		break;
	default:
		ret = -ENOTTY;
		break;
	}
out:
	if (!ret && (_IOC_DIR(cmd) & _IOC_READ) &&
	    copy_to_user(uarg, &u, _IOC_SIZE(cmd)))
		ret = -EFAULT;
	return ret;
}

static int wsr_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct wsr_file *wf = file->private_data;
	struct wsr_region *r;

	/* Pairs with smp_store_release() in wsr_ioc_create(). */
	r = smp_load_acquire(&wf->region);
	if (!r) {
		pr_info_ratelimited("%s[%d]: mmap before WSR_IOC_CREATE refused\n",
				    current->comm, task_pid_nr(current));
		return -EINVAL;
	}
	return wsr_fault_mmap(r, vma);
}

static int wsr_open(struct inode *inode, struct file *file)
{
	struct wsr_file *wf;

	wf = kzalloc(sizeof(*wf), GFP_KERNEL_ACCOUNT);
	if (!wf)
		return -ENOMEM;
	mutex_init(&wf->lock);
	file->private_data = wf;
	return 0;
}

static int wsr_release(struct inode *inode, struct file *file)
{
	struct wsr_file *wf = file->private_data;

	if (wf->region)
		wsr_region_close(wf->region);
	wsr_name_put(wf->name);
	wsr_filetrack_release(wf->ft);
	mutex_destroy(&wf->lock);
	kfree(wf);
	return 0;
}

static const struct file_operations wsr_fops = {
	.owner = THIS_MODULE,
	.open = wsr_open,
	.release = wsr_release,
	.unlocked_ioctl = wsr_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = wsr_mmap,
	.get_unmapped_area = thp_get_unmapped_area,
	.llseek = noop_llseek,
};

/*
 * Root's alone, like /dev/kvm: a udev rule opens it to the "wsr" group
 * (userspace/udev/60-wsr.rules).  What a region allocates is charged to
 * the memory cgroup of the task that causes it (see the admin guide).
 */
static struct miscdevice wsr_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "wsr",
	.fops = &wsr_fops,
};

static int __init wsr_init(void)
{
	int ret;

	wsr_wq = alloc_workqueue("wsr", WQ_UNBOUND, 0);
	if (!wsr_wq)
		return -ENOMEM;
	ret = wsr_zio_init();
	if (ret)
		goto err_wq;
	ret = wsr_base_init();
	if (ret)
		goto err_zio;
	ret = wsr_sysfs_init();
	if (ret)
		goto err_base;
	ret = wsr_fs_init();
	if (ret)
		goto err_sysfs;
	ret = misc_register(&wsr_misc);
	if (ret)
		goto err_fs;
	pr_info("api %u, features 0x%llx\n", WSR_API_VERSION, wsr_features());
	return 0;

err_fs:
	wsr_fs_exit();
err_sysfs:
	wsr_sysfs_exit();
err_base:
	wsr_base_exit();
err_zio:
	wsr_zio_exit();
err_wq:
	destroy_workqueue(wsr_wq);
	return ret;
}

static void __exit wsr_exit(void)
{
	misc_deregister(&wsr_misc);
	wsr_fs_exit();
	wsr_sysfs_exit();
	/* No region is left (each holds a module reference). */
	destroy_workqueue(wsr_wq);
	wsr_base_exit();
	wsr_zio_exit();
}

module_init(wsr_init);
module_exit(wsr_exit);
MODULE_DESCRIPTION("wsr: working-set-aware restore of microVM snapshots");
MODULE_AUTHOR("wsr project");
MODULE_LICENSE("GPL");
