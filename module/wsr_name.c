// SPDX-License-Identifier: GPL-2.0
/*
 * wsr name: named bases, the table behind wsrfs (wsr_fs.c).
 *
 * A named base is a region (wsr_region.c) that the module holds on behalf
 * of a name instead of an open /dev/wsr file: the region's own file
 * (wsr_region.vfile) is what every mapping of the name maps, so all of
 * them share its base, its tracker and its counters.  The table holds one
 * reference on the name; every open wsrfs file and every /dev/wsr fd
 * bound by WSR_IOC_BASE_OPEN holds another, and each mapping holds the
 * region's file.  Dropping removes the name from the table at once; the
 * region goes when the last reference and the last mapping do, so
 * existing mappings and open files keep working, as for an unlinked file.
 *
 * Permissions are the snapshot's: the name's file shows the snapshot's
 * owner, group and mode, and every open checks the snapshot inode's own
 * permission (mode bits and ACLs) with the opener's credentials
 * (wsr_name_permission()).  Only the creator (by effective uid) or a
 * CAP_SYS_ADMIN caller may drop a name or bind it (restore, record).
 *
 * Lock order: wsr_file.lock -> wsr_name_lock -> the region's leaf locks
 * (wsr_name_list()).  No wsr lock is held while a region is
 * created or released.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mount.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "wsr_internal.h"

/* protects wsr_names, wsr_names_count and every wsr_name.node, .dropped */
static DEFINE_MUTEX(wsr_name_lock);
static LIST_HEAD(wsr_names);
static unsigned int wsr_names_count;
/* inode numbers of wsrfs files, never reused (wsr_name_lock) */
static unsigned long wsr_name_next_ino = 2;

static void wsr_name_release(struct kref *ref)
{
	struct wsr_name *n = container_of(ref, struct wsr_name, ref);

	wsr_region_close(n->region);
	kfree(n);
}

/**
 * wsr_name_get() - take a reference on a named base
 * @n: named base
 *
 * Context: any.
 */
void wsr_name_get(struct wsr_name *n)
{
	kref_get(&n->ref);
	atomic_inc(&n->refs);
}

/**
 * wsr_name_put() - drop a reference from wsr_name_get() or wsr_name_find()
 * @n: named base, may be NULL
 *
 * The last reference releases the region's file: the region goes with
 * its last mapping.
 *
 * Context: process context, may sleep.
 */
void wsr_name_put(struct wsr_name *n)
{
	if (!n)
		return;
	atomic_dec(&n->refs);
	kref_put(&n->ref, wsr_name_release);
}

static struct wsr_name *wsr_name_lookup(const char *name)
{
	struct wsr_name *n;

	lockdep_assert_held(&wsr_name_lock);
	list_for_each_entry(n, &wsr_names, node)
		if (!strcmp(n->name, name))
			return n;
	return NULL;
}

/**
 * wsr_name_create() - make a named base
 * @arg: validated by the caller: name syntax, flags, reserved fields,
 *       alignment and overflow
 *
 * Return: 0, -EEXIST (the name is taken), -ENOSPC (WSR_BASE_MAX names
 * exist), or an error of wsr_region_create().
 * Context: process context, may sleep; takes wsr_name_lock.
 */
int wsr_name_create(const struct wsr_base_create *arg)
{
	struct wsr_create rc = {
		.fd = arg->fd,
		.flags = arg->flags,
		.offset = arg->offset,
		.length = arg->length,
	};
	struct wsr_name *n;
	int ret;

	n = kzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return -ENOMEM;
	kref_init(&n->ref);
	strscpy(n->name, arg->name, sizeof(n->name));
	n->creator = current_euid();
	n->flags = arg->flags;
	memcpy(n->tag, arg->tag, sizeof(n->tag));
	ret = wsr_region_create(&rc, &n->region);
	if (ret) {
		kfree(n);
		return ret;
	}
	mutex_lock(&wsr_name_lock);
	if (wsr_name_lookup(n->name))
		ret = -EEXIST;
	else if (wsr_names_count >= WSR_BASE_MAX)
		ret = -ENOSPC;
	if (!ret) {
		n->ino = wsr_name_next_ino++;
		list_add_tail(&n->node, &wsr_names);
		wsr_names_count++;
	}
	mutex_unlock(&wsr_name_lock);
	if (ret)
		wsr_name_release(&n->ref);
	return ret;
}

/* The creator or an administrator may drop or bind a name. */
static bool wsr_name_may_manage(const struct wsr_name *n)
{
	return uid_eq(current_euid(), n->creator) || capable(CAP_SYS_ADMIN);
}

/**
 * wsr_name_drop() - remove a name
 * @name: a valid name
 *
 * Return: 0, -ENOENT or -EPERM (neither creator nor CAP_SYS_ADMIN).
 * Context: process context, may sleep; takes wsr_name_lock.
 */
int wsr_name_drop(const char *name)
{
	struct wsr_name *n;

	mutex_lock(&wsr_name_lock);
	n = wsr_name_lookup(name);
	if (!n || !wsr_name_may_manage(n)) {
		mutex_unlock(&wsr_name_lock);
		return n ? -EPERM : -ENOENT;
	}
	list_del_init(&n->node);
	wsr_names_count--;
	WRITE_ONCE(n->dropped, true);
	mutex_unlock(&wsr_name_lock);
	kref_put(&n->ref, wsr_name_release);
	return 0;
}

/**
 * wsr_name_find() - the named base of a name, with a reference
 * @name: any string
 * @bind: the caller binds it (WSR_IOC_BASE_OPEN): check that it may
 *
 * Return: the named base (put it with wsr_name_put()), ERR_PTR(-ENOENT)
 * or ERR_PTR(-EPERM).
 * Context: process context; takes wsr_name_lock.
 */
struct wsr_name *wsr_name_find(const char *name, bool bind)
{
	struct wsr_name *n;

	mutex_lock(&wsr_name_lock);
	n = wsr_name_lookup(name);
	if (!n)
		n = ERR_PTR(-ENOENT);
	else if (bind && !wsr_name_may_manage(n))
		n = ERR_PTR(-EPERM);
	else
		wsr_name_get(n);
	mutex_unlock(&wsr_name_lock);
	return n;
}

/**
 * wsr_name_nth() - the named base at a position of the table
 * @pos: position, from 0, in creation order
 *
 * Return: the named base with a reference, or NULL past the end.
 * Context: process context; takes wsr_name_lock.
 */
struct wsr_name *wsr_name_nth(loff_t pos)
{
	struct wsr_name *n;

	mutex_lock(&wsr_name_lock);
	list_for_each_entry(n, &wsr_names, node) {
		if (pos-- == 0) {
			wsr_name_get(n);
			mutex_unlock(&wsr_name_lock);
			return n;
		}
	}
	mutex_unlock(&wsr_name_lock);
	return NULL;
}

/**
 * wsr_name_snapshot() - the snapshot file of a named base
 * @n: named base
 *
 * The base keeps the snapshot open while its region lives, which a
 * reference on @n guarantees.
 *
 * Return: the base's read-only file on the snapshot.
 * Context: any; the caller holds a reference on @n.
 */
struct file *wsr_name_snapshot(struct wsr_name *n)
{
	return n->region->base->src.file;
}

/**
 * wsr_name_permission() - may the caller open a named base so?
 * @n:    named base
 * @mask: MAY_* of the open
 *
 * The snapshot inode's own permission (mode bits, ACLs, capabilities) with
 * the caller's credentials, checked at every open, so that a chmod of the
 * snapshot applies at once.  Neither a read-only filesystem nor an
 * immutable snapshot refuses MAY_WRITE: nothing is ever written through a
 * named base.
 *
 * Return: 0 or -EACCES.
 * Context: process context.
 */
int wsr_name_permission(struct wsr_name *n, int mask)
{
	struct file *snap = wsr_name_snapshot(n);

	return generic_permission(file_mnt_user_ns(snap), file_inode(snap),
				  mask);
}

/* Fill @out for @n; wsr_name_lock held or a reference on @n. */
static void wsr_name_fill(struct wsr_name *n, struct wsr_base_info *out)
{
	struct inode *si = file_inode(wsr_name_snapshot(n));
	struct wsr_region *r = n->region;
	struct wsr_stats s;

	memset(out, 0, sizeof(*out));
	strscpy(out->name, n->name, sizeof(out->name));
	out->offset = r->base->src.offset;
	out->length = (u64)r->npages << PAGE_SHIFT;
	out->snap_dev = new_encode_dev(si->i_sb->s_dev);
	out->snap_ino = si->i_ino;
	memcpy(out->tag, n->tag, sizeof(out->tag));
	out->uid = from_kuid_munged(current_user_ns(), si->i_uid);
	out->gid = from_kgid_munged(current_user_ns(), si->i_gid);
	out->mode = si->i_mode & 07777;
	out->flags = n->flags;
	wsr_stats_get(r, &s);
	out->resident_huge = s.resident_huge;
	out->resident_small = s.resident_small;
	out->faults = s.faults;
	out->refs = atomic_read(&n->refs);
}

/**
 * wsr_name_info() - describe a named base
 * @n:   named base, a reference held by the caller
 * @out: (out) filled in; @refs does not count the caller's reference
 *
 * Context: process context, may sleep.
 */
void wsr_name_info(struct wsr_name *n, struct wsr_base_info *out)
{
	wsr_name_fill(n, out);
	out->refs--;
}

/**
 * wsr_name_list() - describe every named base
 * @out: (out) array of @cap entries
 * @cap: capacity of @out
 *
 * Return: the number of named bases; entries beyond @cap are not filled.
 * Context: process context, may sleep; takes wsr_name_lock.
 */
u64 wsr_name_list(struct wsr_base_info *out, u64 cap)
{
	struct wsr_name *n;
	u64 i = 0;

	mutex_lock(&wsr_name_lock);
	list_for_each_entry(n, &wsr_names, node) {
		if (i < cap)
			wsr_name_fill(n, &out[i]);
		i++;
	}
	mutex_unlock(&wsr_name_lock);
	return i;
}
