// SPDX-License-Identifier: GPL-2.0
/*
 * wsr sysfs: /sys/kernel/mm/wsr/ tuning knobs and module-wide statistics.
 *
 * Lock order: wsr_sysfs_lock (mutex) -> wsr_base_lock.  debugfs
 * (/sys/kernel/debug/wsr/bases) shows the bases and their keep-alive
 * state under wsr_base_lock alone.  Knobs are single
 * words written under wsr_sysfs_lock and read with READ_ONCE() by the rest
 * of the module, which samples them when it needs them.
 *
 * One value per file.  Writes need CAP_SYS_ADMIN (files are 0644, root
 * owned); a value that does not parse or is out of range is rejected with
 * -EINVAL and the knob keeps its value.
 */
#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>

#include "wsr_internal.h"

unsigned long wsr_huge_enabled = 1;
unsigned long wsr_huge_threshold = WSR_CHUNK_PAGES / 2;
unsigned long wsr_read_batch_kb = 1024;
unsigned long wsr_read_gap_kb = 128;
unsigned long wsr_read_around_kb = 128;
unsigned long wsr_restore_direct = 1;
unsigned long wsr_restore_map = 2;
unsigned long wsr_async_enabled = 1;
unsigned long wsr_tracker_capacity = 1UL << 18;
unsigned long wsr_base_max_kb;

struct wsr_global_stats wsr_gstats;

/* protects knob updates (base_max_kb also trims the bases) */
static DEFINE_MUTEX(wsr_sysfs_lock);
static struct kobject *wsr_kobj;
static struct dentry *wsr_debugfs;

/* A knob: a value in [min, max] that is a multiple of step. */
struct wsr_knob {
	struct kobj_attribute attr;
	unsigned long *val;
	unsigned long min;
	unsigned long max;
	unsigned long step;
};

#define to_knob(a) container_of(a, struct wsr_knob, attr)

static ssize_t wsr_knob_show(struct kobject *kobj, struct kobj_attribute *a,
			     char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(*to_knob(a)->val));
}

static ssize_t wsr_knob_store(struct kobject *kobj, struct kobj_attribute *a,
			      const char *buf, size_t count)
{
	struct wsr_knob *k = to_knob(a);
	unsigned long v;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (kstrtoul(buf, 0, &v) || v < k->min || v > k->max || v % k->step)
		return -EINVAL;
	mutex_lock(&wsr_sysfs_lock);
	WRITE_ONCE(*k->val, v);
	if (k->val == &wsr_base_max_kb || k->val == &wsr_ttl_s)
		wsr_base_trim();
	mutex_unlock(&wsr_sysfs_lock);
	return count;
}

#define WSR_KNOB_STEP(_name, _min, _max, _step)				\
	static struct wsr_knob wsr_knob_##_name = {			\
		.attr = __ATTR(_name, 0644, wsr_knob_show, wsr_knob_store), \
		.val = &wsr_##_name,					\
		.min = _min,						\
		.max = _max,						\
		.step = _step,						\
	}
#define WSR_KNOB(_name, _min, _max)	WSR_KNOB_STEP(_name, _min, _max, 1)
/* A size in KiB that is a whole number of pages. */
#define WSR_KNOB_KB(_name, _min, _max)					\
	WSR_KNOB_STEP(_name, _min, _max, PAGE_SIZE >> 10)

WSR_KNOB(huge_enabled, 0, 1);
WSR_KNOB(huge_threshold, 1, WSR_CHUNK_PAGES);
WSR_KNOB_KB(read_batch_kb, PAGE_SIZE >> 10, 64 * 1024);
WSR_KNOB_KB(read_gap_kb, 0, 64 * 1024);
WSR_KNOB_KB(read_around_kb, 0, 2048);
WSR_KNOB(restore_direct, 0, 1);
WSR_KNOB(restore_map, 0, 2);
WSR_KNOB(async_enabled, 0, 1);
WSR_KNOB(tracker_capacity, 1, 1UL << 26);
WSR_KNOB_KB(base_max_kb, 0, 1UL << 40);
WSR_KNOB(ttl_s, 1, 7 * 24 * 3600);

static ssize_t policy_show(struct kobject *kobj, struct kobj_attribute *a,
			   char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  wsr_ka_policy_name(READ_ONCE(wsr_ka_policy)));
}

/* A new policy decides at once what stays under base_max_kb. */
static ssize_t policy_store(struct kobject *kobj, struct kobj_attribute *a,
			    const char *buf, size_t count)
{
	int p;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	p = wsr_ka_policy_parse(buf);
	if (p < 0)
		return p;
	mutex_lock(&wsr_sysfs_lock);
	WRITE_ONCE(wsr_ka_policy, p);
	wsr_base_trim();
	mutex_unlock(&wsr_sysfs_lock);
	return count;
}

static struct kobj_attribute wsr_attr_policy = __ATTR_RW_MODE(policy, 0644);

#define WSR_STAT64(_name)						\
static ssize_t _name##_show(struct kobject *kobj,			\
			    struct kobj_attribute *a, char *buf)	\
{									\
	return sysfs_emit(buf, "%llu\n",				\
			  (u64)atomic64_read(&wsr_gstats._name));	\
}									\
static struct kobj_attribute wsr_attr_##_name = __ATTR_RO(_name)

WSR_STAT64(faults);
WSR_STAT64(faults_huge);
WSR_STAT64(pages_cache);
WSR_STAT64(pages_device);
WSR_STAT64(bytes_read);
WSR_STAT64(bytes_gap);
WSR_STAT64(bytes_around);
WSR_STAT64(restores);
WSR_STAT64(base_trimmed);

static ssize_t regions_show(struct kobject *kobj, struct kobj_attribute *a,
			    char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&wsr_gstats.regions));
}

static struct kobj_attribute wsr_attr_regions = __ATTR_RO(regions);

static ssize_t bases_show(struct kobject *kobj, struct kobj_attribute *a,
			  char *buf)
{
	unsigned long pages;

	return sysfs_emit(buf, "%lu\n", wsr_base_count(&pages));
}

static struct kobj_attribute wsr_attr_bases = __ATTR_RO(bases);

static ssize_t base_pages_show(struct kobject *kobj, struct kobj_attribute *a,
			       char *buf)
{
	unsigned long pages;

	wsr_base_count(&pages);
	return sysfs_emit(buf, "%lu\n", pages);
}

static struct kobj_attribute wsr_attr_base_pages = __ATTR_RO(base_pages);

static struct attribute *wsr_attrs[] = {
	&wsr_knob_huge_enabled.attr.attr,
	&wsr_knob_huge_threshold.attr.attr,
	&wsr_knob_read_batch_kb.attr.attr,
	&wsr_knob_read_gap_kb.attr.attr,
	&wsr_knob_read_around_kb.attr.attr,
	&wsr_knob_restore_direct.attr.attr,
	&wsr_knob_restore_map.attr.attr,
	&wsr_knob_async_enabled.attr.attr,
	&wsr_knob_tracker_capacity.attr.attr,
	&wsr_knob_base_max_kb.attr.attr,
	&wsr_knob_ttl_s.attr.attr,
	&wsr_attr_policy.attr,
	&wsr_attr_regions.attr,
	&wsr_attr_faults.attr,
	&wsr_attr_faults_huge.attr,
	&wsr_attr_pages_cache.attr,
	&wsr_attr_pages_device.attr,
	&wsr_attr_bytes_read.attr,
	&wsr_attr_bytes_gap.attr,
	&wsr_attr_bytes_around.attr,
	&wsr_attr_restores.attr,
	&wsr_attr_base_trimmed.attr,
	&wsr_attr_bases.attr,
	&wsr_attr_base_pages.attr,
	NULL,
};

static const struct attribute_group wsr_attr_group = {
	.attrs = wsr_attrs,
};

static int wsr_debugfs_bases_show(struct seq_file *m, void *unused)
{
	return wsr_base_show(m);
}
DEFINE_SHOW_ATTRIBUTE(wsr_debugfs_bases);

/**
 * wsr_sysfs_init() - create /sys/kernel/mm/wsr/ and /sys/kernel/debug/wsr/
 *
 * Without debugfs the module works, without its bases file.
 *
 * Return: 0 or -errno.
 * Context: module init.
 */
int wsr_sysfs_init(void)
{
	int ret;

	wsr_kobj = kobject_create_and_add("wsr", mm_kobj);
	if (!wsr_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(wsr_kobj, &wsr_attr_group);
	if (ret) {
		kobject_put(wsr_kobj);
		wsr_kobj = NULL;
		return ret;
	}
	wsr_debugfs = debugfs_create_dir("wsr", NULL);
	debugfs_create_file("bases", 0400, wsr_debugfs, NULL,
			    &wsr_debugfs_bases_fops);
	return 0;
}

/**
 * wsr_sysfs_exit() - remove /sys/kernel/mm/wsr/ and /sys/kernel/debug/wsr/
 *
 * Context: module exit.
 */
void wsr_sysfs_exit(void)
{
	debugfs_remove_recursive(wsr_debugfs);
	sysfs_remove_group(wsr_kobj, &wsr_attr_group);
	kobject_put(wsr_kobj);
}
