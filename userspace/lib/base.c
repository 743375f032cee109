// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Named bases: a snapshot range that the module keeps under a name and
 * wsrfs serves as a file, for VMMs that map guest memory by path (see
 * wsr_base_create(3)).
 *
 * The base keeps the snapshot identity libwsr computes at creation in its
 * tag, so that wsr_base_open() gives a struct wsr_region whose restores
 * check working sets against the snapshot without opening it again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "wsr-private.h"

static int has_base_ioctl(const struct wsr_region *r, unsigned long cmd)
{
	return (r->features & WSR_FEATURE_NAMED_BASE) &&
	       (r->ioctls & (1ull << _IOC_NR(cmd)));
}

/* 1..63 bytes of [A-Za-z0-9._-], not starting with '.' (as the module). */
static int set_name(char *dst, const char *name)
{
	size_t len, i;

	if (!name)
		return -EINVAL;
	len = strnlen(name, WSR_BASE_NAME_MAX);
	if (len == WSR_BASE_NAME_MAX)
		return -ENAMETOOLONG;
	if (!len || name[0] == '.')
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '.' && c != '_' && c != '-')
			return -EINVAL;
	}
	memset(dst, 0, WSR_BASE_NAME_MAX);
	memcpy(dst, name, len);
	return 0;
}

/* A device fd after the handshake, in @r; checks for @cmd. */
static int open_for(const char *dev, unsigned long cmd, struct wsr_region *r)
{
	int ret = wsr__open_dev(dev, r);

	if (ret)
		return ret;
	if (!has_base_ioctl(r, cmd)) {
		close(r->fd);
		return -EOPNOTSUPP;
	}
	return 0;
}

WSR_EXPORT int wsr_base_create(const char *dev, const char *name,
			       int snap_fd, uint64_t offset, uint64_t length,
			       unsigned int flags)
{
	struct wsr_base_create bc;
	struct wsr_snapshot_id id;
	struct wsr_region r;
	int ret;

	memset(&bc, 0, sizeof(bc));
	ret = set_name(bc.name, name);
	if (ret)
		return ret;
	if (snap_fd < 0 || !length || length % WSR_PAGE_SIZE ||
	    offset % WSR_PAGE_SIZE || (flags & ~WSR_CREATE_NO_HUGE))
		return -EINVAL;
	ret = wsr_snapshot_id(snap_fd, offset, length, &id);
	if (ret)
		return ret;
	ret = open_for(dev, WSR_IOC_BASE_CREATE, &r);
	if (ret)
		return ret;
	bc.fd = snap_fd;
	bc.flags = flags;
	bc.offset = offset;
	bc.length = length;
	bc.tag[0] = id.fingerprint;
	bc.tag[1] = (uint64_t)id.method << 32 | id.samples;
	ret = wsr__ioctl(r.fd, WSR_IOC_BASE_CREATE, &bc);
	close(r.fd);
	return ret;
}

WSR_EXPORT int wsr_base_drop(const char *dev, const char *name)
{
	struct wsr_base_name bn;
	struct wsr_region r;
	int ret;

	memset(&bn, 0, sizeof(bn));
	ret = set_name(bn.name, name);
	if (ret)
		return ret;
	ret = open_for(dev, WSR_IOC_BASE_DROP, &r);
	if (ret)
		return ret;
	ret = wsr__ioctl(r.fd, WSR_IOC_BASE_DROP, &bn);
	close(r.fd);
	return ret;
}

WSR_EXPORT int wsr_base_list(const char *dev, struct wsr_base_info **out,
			     size_t *count)
{
	struct wsr_base_info *v = NULL, *nv;
	struct wsr_base_list bl;
	struct wsr_region r;
	uint64_t cap = 8;
	int ret, tries;

	if (!out || !count)
		return -EINVAL;
	ret = open_for(dev, WSR_IOC_BASE_LIST, &r);
	if (ret)
		return ret;
	/* Bases may be made between calls. */
	for (tries = 0; tries < 8; tries++) {
		nv = realloc(v, cap * sizeof(*v));
		if (!nv) {
			ret = -ENOMEM;
			break;
		}
		v = nv;
		memset(&bl, 0, sizeof(bl));
		bl.entries = (uintptr_t)v;
		bl.count = cap;
		ret = wsr__ioctl(r.fd, WSR_IOC_BASE_LIST, &bl);
		if (ret != -ENOSPC)
			break;
		cap = bl.count + 8;
	}
	close(r.fd);
	if (!ret && bl.count > cap)
		ret = -EPROTO;
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	*count = (size_t)bl.count;
	return 0;
}

WSR_EXPORT int wsr_base_open(const char *dev, const char *name,
			     struct wsr_region **out)
{
	struct wsr_base_info info;
	struct wsr_base_name bn;
	struct wsr_region *r;
	int ret;

	if (!out)
		return -EINVAL;
	memset(&bn, 0, sizeof(bn));
	ret = set_name(bn.name, name);
	if (ret)
		return ret;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->snap_fd = -1;
	ret = open_for(dev, WSR_IOC_BASE_OPEN, r);
	if (ret)
		goto err_free;
	ret = wsr__ioctl(r->fd, WSR_IOC_BASE_OPEN, &bn);
	if (ret)
		goto err_close;
	memset(&info, 0, sizeof(info));
	ret = wsr__ioctl(r->fd, WSR_IOC_BASE_INFO, &info);
	if (ret)
		goto err_close;
	r->offset = info.offset;
	r->length = info.length;
	r->id.offset = info.offset;
	r->id.length = info.length;
	r->id.fingerprint = info.tag[0];
	r->id.method = (uint32_t)(info.tag[1] >> 32);
	r->id.samples = (uint32_t)info.tag[1];
	/* A base made without libwsr has no identity: restores need NOCHECK. */
	r->have_id = r->id.method != 0;
	*out = r;
	return 0;

err_close:
	close(r->fd);
err_free:
	free(r);
	return ret;
}
