// SPDX-License-Identifier: GPL-2.0
/*
 * wsr region: one instance's view of a snapshot range.
 *
 * A region uses the base of its snapshot range (wsr_base.c), shared with
 * every other region over the same range, and has a file of its own on
 * the base's inode (wsr_region.vfile) that its mappings map
 * (wsr_fault.c).  The /dev/wsr file holds one reference to that file and
 * every mapping another, so the region lives until the /dev/wsr file is
 * closed and the last mapping is gone; the release of its file destroys
 * it.  Its own state is the tracker, the counters and a background
 * restore.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "wsr_internal.h"
#include "wsr_trace.h"

static DEFINE_IDA(wsr_region_ida);

/**
 * wsr_stats_get() - snapshot of a region's counters
 * @r:   region
 * @out: filled in
 *
 * resident_huge and resident_small count the folios of the base, which
 * every region over the snapshot shares.
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
	spin_unlock(&r->lock);

	wsr_record_counts(&r->track, &out->tracked, &out->dropped);

	wsr_base_resident(r->base, &out->resident_huge, &out->resident_small);
}

/* The last reference to the region's file is gone: no mapping is left. */
static int wsr_region_release(struct inode *inode, struct file *file)
{
	struct wsr_region *r = file->private_data;
	struct wsr_stats s;

	wsr_restore_stop(r);
	wsr_stats_get(r, &s);
	trace_wsr_region_destroy(r->id, s.faults, s.bytes_read);
	wsr_record_free(&r->track);
	wsr_base_put(r->base);
	ida_free(&wsr_region_ida, r->id);
	mutex_destroy(&r->mutex);
	kfree(r);
	atomic_long_dec(&wsr_gstats.regions);
	return 0;
}

static const struct file_operations wsr_region_fops = {
	.owner = THIS_MODULE,
	.release = wsr_region_release,
	.llseek = noop_llseek,
};

/* The snapshot: a regular file open for reading that holds the range. */
static struct file *wsr_region_snapshot(const struct wsr_create *arg)
{
	struct file *uf = fget(arg->fd);
	int ret = -EINVAL;

	if (!uf)
		return ERR_PTR(-EBADF);
	if (!S_ISREG(file_inode(uf)->i_mode))
		goto err;
	if (!(uf->f_mode & FMODE_READ)) {
		ret = -EBADF;
		goto err;
	}
	if (uf->f_flags & O_DIRECT)
		goto err;
	/* A compressed snapshot's range is checked against its index. */
	if (!(arg->flags & WSR_CREATE_COMPRESSED) &&
	    arg->offset + arg->length > i_size_read(file_inode(uf)))
		goto err;
	return uf;
err:
	fput(uf);
	return ERR_PTR(ret);
}

/**
 * wsr_region_create() - a region over a snapshot file range
 * @arg: validated by the caller for flags, reserved fields, alignment and
 *       overflow; the file is checked here
 * @out: (out) the new region
 *
 * Return: 0, -EBADF (bad fd, not open for reading), -EINVAL (beyond EOF,
 * not a regular file, O_DIRECT, no read_iter), -ENOMEM, or for
 * WSR_CREATE_COMPRESSED an error of the index (see wsr_base_get()).
 * Context: process context, may sleep.
 */
int wsr_region_create(const struct wsr_create *arg, struct wsr_region **out)
{
	struct wsr_region *r;
	struct file *uf;
	bool huge_ok;
	int ret;

	uf = wsr_region_snapshot(arg);
	if (IS_ERR(uf))
		return PTR_ERR(uf);
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r) {
		ret = -ENOMEM;
		goto err_fput;
	}
	huge_ok = wsr_huge_possible() && READ_ONCE(wsr_huge_enabled) &&
		  !(arg->flags & WSR_CREATE_NO_HUGE);
	r->base = wsr_base_get(uf, arg->offset, arg->length, huge_ok,
			       arg->flags & WSR_CREATE_COMPRESSED);
	if (IS_ERR(r->base)) {
		ret = PTR_ERR(r->base);
		goto err_free;
	}
	ret = ida_alloc_min(&wsr_region_ida, 1, GFP_KERNEL);
	if (ret < 0)
		goto err_base;
	r->id = ret;
	r->flags = arg->flags;
	r->npages = arg->length >> PAGE_SHIFT;
	r->start = ktime_get_ns();
	mutex_init(&r->mutex);
	spin_lock_init(&r->lock);
	spin_lock_init(&r->stat_lock);
	init_waitqueue_head(&r->wq);
	INIT_WORK(&r->async.work, wsr_restore_work);
	wsr_record_init(&r->track);
	if (arg->flags & WSR_CREATE_TRACK) {
		mutex_lock(&r->mutex);
		ret = wsr_tracker_op(r, WSR_TRACK_START);
		mutex_unlock(&r->mutex);
		if (ret)
			goto err_track;
	}
	r->vfile = wsr_base_open(r->base, &wsr_region_fops, r);
	if (IS_ERR(r->vfile)) {
		ret = PTR_ERR(r->vfile);
		goto err_track;
	}
	fput(uf);

	atomic_long_inc(&wsr_gstats.regions);
	trace_wsr_region_create(r->id, arg->offset, arg->length, arg->flags);
	*out = r;
	return 0;

err_track:
	wsr_record_free(&r->track);
	mutex_destroy(&r->mutex);
	ida_free(&wsr_region_ida, r->id);
err_base:
	wsr_base_put(r->base);
err_free:
	kfree(r);
err_fput:
	fput(uf);
	return ret;
}

/**
 * wsr_region_close() - the /dev/wsr file of a region is released
 * @r: region
 *
 * The region goes when its last mapping does.
 *
 * Context: process context (file release), may sleep.
 */
void wsr_region_close(struct wsr_region *r)
{
	fput(r->vfile);
}
