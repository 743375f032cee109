// SPDX-License-Identifier: GPL-2.0
/*
 * wsrfs: named bases as files, for VMMs that map guest memory by path.
 *
 *	mount -t wsrfs wsr /run/wsr
 *
 * The root directory lists the named bases of the host (wsr_name.c); every
 * mount shows the same ones.  Nothing is stored in the filesystem: a
 * lookup asks the table, and a dentry is valid while its name is not
 * dropped, so a base made or dropped by ioctl shows at once.  A base's
 * file has the snapshot range's size and the snapshot's owner, group and
 * mode; an open needs the snapshot's permission (wsr_name_permission()).
 *
 * mmap() maps the base's region (wsr_fault.c): MAP_PRIVATE with any
 * protection, copy-on-write; MAP_SHARED read-only, and never writable
 * later.  Nothing is written through a file: write(2), ftruncate(2),
 * chmod(2) and a shared writable mapping fail with -EPERM, as for a memfd
 * sealed against writes.  read(2) is not supported (-EINVAL): the data
 * is for mapping.  The mapping's address is 2 MiB aligned where possible
 * (thp_get_unmapped_area()), for PMD mappings of 2 MiB units.
 *
 * Dentries and inodes are not cached past their last use (always deleted),
 * so an inode's reference on its named base is dropped in process context.
 */
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/slab.h>
#include <linux/stat.h>

#include "wsr_internal.h"

static const struct inode_operations wsr_fs_file_iops;
static const struct file_operations wsr_fs_file_fops;

static struct wsr_name *wsr_fs_name(struct inode *inode)
{
	return inode->i_private;
}

static int wsr_fs_open(struct inode *inode, struct file *file)
{
	struct wsr_name *n = wsr_fs_name(inode);

	wsr_name_get(n);
	file->private_data = n;
	return 0;
}

static int wsr_fs_release(struct inode *inode, struct file *file)
{
	wsr_name_put(file->private_data);
	return 0;
}

static int wsr_fs_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct wsr_name *n = file->private_data;

	if (vma->vm_flags & VM_SHARED) {
		if (vma->vm_flags & VM_WRITE) {
			pr_info_ratelimited("%s[%d]: base %s: shared writable mapping refused\n",
					    current->comm, task_pid_nr(current),
					    n->name);
			return -EPERM;
		}
		vma->vm_flags &= ~VM_MAYWRITE;
	}
	return wsr_fault_mmap(n->region, vma);
}

static ssize_t wsr_fs_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	return -EPERM;
}

static const struct file_operations wsr_fs_file_fops = {
	.owner = THIS_MODULE,
	.open = wsr_fs_open,
	.release = wsr_fs_release,
	.mmap = wsr_fs_mmap,
	.write_iter = wsr_fs_write_iter,
	.get_unmapped_area = thp_get_unmapped_area,
	.llseek = generic_file_llseek,
};

static int wsr_fs_permission(struct user_namespace *mnt_userns,
			     struct inode *inode, int mask)
{
	return wsr_name_permission(wsr_fs_name(inode), mask);
}

/* Owner, group and mode are the snapshot's, as they are now. */
static int wsr_fs_getattr(struct user_namespace *mnt_userns,
			  const struct path *path, struct kstat *stat,
			  u32 request_mask, unsigned int query_flags)
{
	struct inode *inode = d_inode(path->dentry);
	struct inode *si = file_inode(wsr_name_snapshot(wsr_fs_name(inode)));

	generic_fillattr(mnt_userns, inode, stat);
	stat->uid = si->i_uid;
	stat->gid = si->i_gid;
	stat->mode = S_IFREG | (si->i_mode & 07777);
	return 0;
}

static int wsr_fs_setattr(struct user_namespace *mnt_userns,
			  struct dentry *dentry, struct iattr *attr)
{
	return -EPERM;
}

static const struct inode_operations wsr_fs_file_iops = {
	.permission = wsr_fs_permission,
	.getattr = wsr_fs_getattr,
	.setattr = wsr_fs_setattr,
};

/* The inode of a named base on @sb; consumes the caller's reference. */
static struct inode *wsr_fs_inode(struct super_block *sb, struct wsr_name *n)
{
	struct inode *si = file_inode(wsr_name_snapshot(n));
	struct inode *inode;

	inode = iget_locked(sb, n->ino);
	if (!inode) {
		wsr_name_put(n);
		return ERR_PTR(-ENOMEM);
	}
	if (!(inode->i_state & I_NEW)) {
		wsr_name_put(n);
		return inode;
	}
	inode->i_mode = S_IFREG | (si->i_mode & 07777);
	inode->i_uid = si->i_uid;
	inode->i_gid = si->i_gid;
	inode->i_size = (loff_t)n->region->npages << PAGE_SHIFT;
	inode->i_mtime = si->i_mtime;
	inode->i_ctime = current_time(inode);
	inode->i_atime = inode->i_ctime;
	inode->i_op = &wsr_fs_file_iops;
	inode->i_fop = &wsr_fs_file_fops;
	inode->i_private = n;
	unlock_new_inode(inode);
	return inode;
}

static struct dentry *wsr_fs_lookup(struct inode *dir, struct dentry *dentry,
				    unsigned int flags)
{
	struct wsr_name *n = wsr_name_find(dentry->d_name.name, false);
	struct inode *inode = NULL;

	if (!IS_ERR(n)) {
		inode = wsr_fs_inode(dir->i_sb, n);
		if (IS_ERR(inode))
			return ERR_CAST(inode);
	}
	return d_splice_alias(inode, dentry);
}

static int wsr_fs_readdir(struct file *file, struct dir_context *ctx)
{
	struct wsr_name *n;

	if (!dir_emit_dots(file, ctx))
		return 0;
	while ((n = wsr_name_nth(ctx->pos - 2))) {
		bool more = dir_emit(ctx, n->name, strlen(n->name), n->ino,
				     DT_REG);

		wsr_name_put(n);
		if (!more)
			return 0;
		ctx->pos++;
	}
	return 0;
}

static const struct inode_operations wsr_fs_dir_iops = {
	.lookup = wsr_fs_lookup,
};

static const struct file_operations wsr_fs_dir_fops = {
	.iterate_shared = wsr_fs_readdir,
	.read = generic_read_dir,
	.llseek = generic_file_llseek,
};

/* A name dropped (or made again) since the lookup: look it up again. */
static int wsr_fs_revalidate(struct dentry *dentry, unsigned int flags)
{
	struct inode *inode;

	if (flags & LOOKUP_RCU)
		return -ECHILD;
	inode = d_inode(dentry);
	if (!inode)
		return 0;
	if (S_ISDIR(inode->i_mode))
		return 1;
	return !READ_ONCE(wsr_fs_name(inode)->dropped);
}

static const struct dentry_operations wsr_fs_dops = {
	.d_revalidate = wsr_fs_revalidate,
	.d_delete = always_delete_dentry,
};

static void wsr_fs_evict(struct inode *inode)
{
	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	if (S_ISREG(inode->i_mode))
		wsr_name_put(wsr_fs_name(inode));
}

static const struct super_operations wsr_fs_sops = {
	.statfs = simple_statfs,
	.drop_inode = generic_delete_inode,
	.evict_inode = wsr_fs_evict,
};

static int wsr_fs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct inode *root;

	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_magic = WSRFS_MAGIC;
	sb->s_op = &wsr_fs_sops;
	sb->s_d_op = &wsr_fs_dops;
	sb->s_time_gran = 1;

	root = new_inode(sb);
	if (!root)
		return -ENOMEM;
	root->i_ino = 1;
	root->i_mode = S_IFDIR | 0755;
	root->i_atime = current_time(root);
	root->i_mtime = root->i_atime;
	root->i_ctime = root->i_atime;
	root->i_op = &wsr_fs_dir_iops;
	root->i_fop = &wsr_fs_dir_fops;
	set_nlink(root, 2);
	sb->s_root = d_make_root(root);
	return sb->s_root ? 0 : -ENOMEM;
}

static int wsr_fs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, wsr_fs_fill_super);
}

static const struct fs_context_operations wsr_fs_context_ops = {
	.get_tree = wsr_fs_get_tree,
};

static int wsr_fs_init_fs_context(struct fs_context *fc)
{
	fc->ops = &wsr_fs_context_ops;
	return 0;
}

/* A mount holds a reference on the module: rmmod needs umount first. */
static struct file_system_type wsr_fs_type = {
	.owner = THIS_MODULE,
	.name = "wsrfs",
	.init_fs_context = wsr_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * wsr_fs_init() - register wsrfs
 *
 * Return: 0 or -errno.
 * Context: module init.
 */
int wsr_fs_init(void)
{
	return register_filesystem(&wsr_fs_type);
}

/**
 * wsr_fs_exit() - unregister wsrfs
 *
 * Context: module exit; nothing is mounted (a mount holds the module).
 */
void wsr_fs_exit(void)
{
	unregister_filesystem(&wsr_fs_type);
}
