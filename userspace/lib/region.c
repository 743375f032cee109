// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Regions: one /dev/wsr file bound to a range of a snapshot file.
 *
 * wsr_region_create() does the WSR_IOC_API handshake and keeps the features
 * and ioctls the module reports; every wrapper checks them first and returns
 * -EOPNOTSUPP instead of issuing an ioctl the module does not have.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "wsr-private.h"

#define HUGE_ALIGN	(2ul << 20)

static int has_ioctl(const struct wsr_region *r, unsigned long cmd)
{
	return !!(r->ioctls & (1ull << _IOC_NR(cmd)));
}

static int do_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret < 0 && errno == EINTR && cmd != WSR_IOC_WAIT);
	return ret < 0 ? -errno : ret;
}

int wsr__ioctl(int fd, unsigned long cmd, void *arg)
{
	return do_ioctl(fd, cmd, arg);
}

int wsr__open_dev(const char *dev, struct wsr_region *r)
{
	struct wsr_api api;
	int ret;

	r->fd = open(dev ? dev : WSR_DEVICE, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	memset(&api, 0, sizeof(api));
	api.api = WSR_API_VERSION;
	ret = do_ioctl(r->fd, WSR_IOC_API, &api);
	if (!ret && api.api < 1)
		ret = -EPROTONOSUPPORT;
	if (ret) {
		close(r->fd);
		r->fd = -1;
		return ret;
	}
	r->features = api.features;
	r->ioctls = api.ioctls;
	return 0;
}

WSR_EXPORT int wsr_region_create(const char *dev, int snap_fd,
				 uint64_t offset, uint64_t length,
				 unsigned int flags, struct wsr_region **out)
{
	struct wsr_create create;
	struct wsr_region *r;
	int ret;

	if (snap_fd < 0 || !out || !length || length % WSR_PAGE_SIZE ||
	    offset % WSR_PAGE_SIZE || (flags & ~WSR_CREATE_FLAGS))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->snap_fd = -1;
	r->flags = flags;
	r->offset = offset;
	r->length = length;
	ret = wsr__open_dev(dev, r);
	if (ret)
		goto err_free;
	if (!has_ioctl(r, WSR_IOC_CREATE) ||
	    ((flags & WSR_CREATE_TRACK) &&
	     (!(r->features & WSR_FEATURE_TRACK) ||
	      !has_ioctl(r, WSR_IOC_TRACK)))) {
		ret = -EOPNOTSUPP;
		goto err_close;
	}

	r->snap_fd = fcntl(snap_fd, F_DUPFD_CLOEXEC, 0);
	if (r->snap_fd < 0) {
		ret = -errno;
		goto err_close;
	}
	memset(&create, 0, sizeof(create));
	create.fd = snap_fd;
	create.flags = flags;
	create.offset = offset;
	create.length = length;
	ret = do_ioctl(r->fd, WSR_IOC_CREATE, &create);
	if (ret)
		goto err_close_snap;
	*out = r;
	return 0;

err_close_snap:
	close(r->snap_fd);
err_close:
	close(r->fd);
err_free:
	free(r);
	return ret;
}

/*
 * Map the whole region, copy-on-write, at a 2 MiB aligned address, so that
 * the module can use PMD mappings: reserve len + 2 MiB of address space,
 * map the region over its aligned part and give back the rest.
 */
WSR_EXPORT int wsr_region_map(struct wsr_region *r, void **addr)
{
	uintptr_t base, aligned;
	size_t len, rlen;
	void *res, *map;

	if (!r || !addr)
		return -EINVAL;
	if (r->map)
		return -EBUSY;
	if (r->length > SIZE_MAX - HUGE_ALIGN)
		return -ENOMEM;
	len = (size_t)r->length;
	rlen = len + HUGE_ALIGN;
	res = mmap(NULL, rlen, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return -errno;
	base = (uintptr_t)res;
	aligned = (base + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
	map = mmap((void *)aligned, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_FIXED, r->fd, 0);
	if (map == MAP_FAILED) {
		int ret = -errno;

		munmap(res, rlen);
		return ret;
	}
	if (aligned > base)
		munmap(res, aligned - base);
	if (base + rlen > aligned + len)
		munmap((void *)(aligned + len), base + rlen - (aligned + len));
	r->map = map;
	r->map_len = len;
	*addr = map;
	return 0;
}

WSR_EXPORT int wsr_region_fd(const struct wsr_region *r)
{
	return r ? r->fd : -EINVAL;
}

WSR_EXPORT uint64_t wsr_region_length(const struct wsr_region *r)
{
	return r ? r->length : 0;
}

WSR_EXPORT uint64_t wsr_region_features(const struct wsr_region *r)
{
	return r ? r->features : 0;
}

WSR_EXPORT uint64_t wsr_region_ioctls(const struct wsr_region *r)
{
	return r ? r->ioctls : 0;
}

WSR_EXPORT int wsr_region_snapshot_id(struct wsr_region *r,
				      struct wsr_snapshot_id *id)
{
	int ret;

	if (!r || !id)
		return -EINVAL;
	/* The identity is one of uncompressed bytes, which libwsr lacks. */
	if (r->flags & WSR_CREATE_COMPRESSED)
		return -EOPNOTSUPP;
	if (!r->have_id) {
		ret = wsr_snapshot_id(r->snap_fd, r->offset, r->length, &r->id);
		if (ret)
			return ret;
		r->have_id = 1;
	}
	*id = r->id;
	return 0;
}

WSR_EXPORT int wsr_region_track(struct wsr_region *r, int op)
{
	struct wsr_track t;

	if (!r || (op != WSR_TRACK_START && op != WSR_TRACK_STOP &&
		   op != WSR_TRACK_RESET))
		return -EINVAL;
	if (!(r->features & WSR_FEATURE_TRACK) || !has_ioctl(r, WSR_IOC_TRACK))
		return -EOPNOTSUPP;
	memset(&t, 0, sizeof(t));
	t.op = (uint32_t)op;
	return do_ioctl(r->fd, WSR_IOC_TRACK, &t);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct wsr_ws_entry *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

WSR_EXPORT int wsr_region_get_ws(struct wsr_region *r, struct wsr_ws **out)
{
	struct wsr_ws_entry *e = NULL, *ne;
	struct wsr_snapshot_id id;
	struct wsr_get_ws g;
	struct wsr_stats st;
	uint64_t cap = 1, *pages;
	size_t i;
	int ret, tries;

	if (!r || !out)
		return -EINVAL;
	if (!(r->features & WSR_FEATURE_TRACK) ||
	    !has_ioctl(r, WSR_IOC_GET_WS))
		return -EOPNOTSUPP;
	ret = wsr_region_snapshot_id(r, &id);
	if (ret)
		return ret;
	if (!wsr_region_stats(r, &st) && st.tracked)
		cap = st.tracked;
	/* The record may grow between calls while tracking is on. */
	for (tries = 0; tries < 8; tries++) {
		if (cap > WSR_WS_MAX_ENTRIES) {
			ret = -EOVERFLOW;
			goto out;
		}
		ne = realloc(e, cap * sizeof(*e));
		if (!ne) {
			ret = -ENOMEM;
			goto out;
		}
		e = ne;
		memset(&g, 0, sizeof(g));
		g.entries = (uintptr_t)e;
		g.count = cap;
		ret = do_ioctl(r->fd, WSR_IOC_GET_WS, &g);
		if (ret != -ENOSPC)
			break;
		cap = g.count > cap ? g.count + g.count / 8 : cap * 2;
	}
	if (ret)
		goto out;
	if (g.count > cap) {
		ret = -EPROTO;	/* the module broke its contract */
		goto out;
	}
	qsort(e, g.count, sizeof(*e), entry_cmp);
	pages = malloc((g.count ? g.count : 1) * sizeof(*pages));
	if (!pages) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < g.count; i++)
		pages[i] = e[i].index;
	ret = wsr_ws_create(&id, pages, g.count, g.dropped, out);
	free(pages);
out:
	free(e);
	return ret;
}

WSR_EXPORT int wsr_region_restore(struct wsr_region *r,
				  const struct wsr_ws *ws, unsigned int flags,
				  struct wsr_restore *out)
{
	struct wsr_snapshot_id id;
	struct wsr_restore rs;
	int ret;

	if (!r || !ws ||
	    (flags & ~(WSR_RESTORE_FLAGS | WSR_RESTORE_NOCHECK)))
		return -EINVAL;
	if (!(r->features & WSR_FEATURE_RESTORE) ||
	    !has_ioctl(r, WSR_IOC_RESTORE) ||
	    ((flags & WSR_RESTORE_ASYNC) &&
	     !(r->features & WSR_FEATURE_ASYNC)))
		return -EOPNOTSUPP;
	if (ws->snap.length != r->length)
		return -ESTALE;
	if (!(flags & WSR_RESTORE_NOCHECK)) {
		ret = wsr_region_snapshot_id(r, &id);
		if (ret)
			return ret;
		ret = wsr_ws_check_snapshot(ws, &id);
		if (ret)
			return ret;
	}
	memset(&rs, 0, sizeof(rs));
	if (ws->count) {
		rs.pages = (uintptr_t)ws->pages;
		rs.count = ws->count;
		rs.flags = flags & WSR_RESTORE_FLAGS;
		ret = do_ioctl(r->fd, WSR_IOC_RESTORE, &rs);
		if (ret)
			return ret;
	}
	if (out)
		*out = rs;
	return 0;
}

WSR_EXPORT int wsr_region_stats(struct wsr_region *r, struct wsr_stats *out)
{
	struct wsr_stats st;
	int ret;

	if (!r || !out)
		return -EINVAL;
	if (!has_ioctl(r, WSR_IOC_STATS))
		return -EOPNOTSUPP;
	memset(&st, 0, sizeof(st));
	ret = do_ioctl(r->fd, WSR_IOC_STATS, &st);
	if (ret)
		return ret;
	*out = st;
	return 0;
}

WSR_EXPORT int wsr_region_wait(struct wsr_region *r, unsigned int timeout_ms)
{
	struct wsr_wait w;

	if (!r)
		return -EINVAL;
	if (!has_ioctl(r, WSR_IOC_WAIT))
		return -EOPNOTSUPP;
	memset(&w, 0, sizeof(w));
	w.timeout_ms = timeout_ms;
	return do_ioctl(r->fd, WSR_IOC_WAIT, &w);
}

WSR_EXPORT void wsr_region_destroy(struct wsr_region *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->map_len);
	close(r->snap_fd);
	close(r->fd);
	free(r);
}
