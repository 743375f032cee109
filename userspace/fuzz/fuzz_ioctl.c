// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-fuzz: the /dev/wsr ops.  Each builds a mostly valid struct and then,
 * now and then, breaks one thing in it (a reserved word, the padding, a
 * flag, a size, the pointer), so that calls get past validation often
 * enough to reach the code behind it.
 *
 * Cheap checks of the answers: an ioctl number wsr does not define fails
 * with ENOTTY, a valid handshake succeeds, reserved output words are zero,
 * no kernel-internal errno (>= 512) reaches userspace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/wsr.h>

#include "fuzz.h"

#define FZ_FEATURES	(WSR_FEATURE_HUGE | WSR_FEATURE_TRACK |		\
			 WSR_FEATURE_RESTORE | WSR_FEATURE_ASYNC |	\
			 WSR_FEATURE_FILE_TRACK | WSR_FEATURE_SHARED_BASE | \
			 WSR_FEATURE_NAMED_BASE | WSR_FEATURE_COMPRESSED)

/* Now and then set one byte of a field that must be zero. */
static void fz_corrupt(uint64_t *s, void *zero, size_t len)
{
	uint64_t r = fz_rand(s);

	if (r % 12 == 0)
		((uint8_t *)zero)[(r >> 8) % len] = 1 + (r >> 16) % 255;
}

static int fz_ret(long r)
{
	return r < 0 ? -errno : (int)r;
}

/*
 * Issue @cmd with @arg copied to the end of the thread's argument page
 * (right before its guard page, sometimes misaligned) or to a bad address;
 * copy what the kernel wrote back into @arg.
 */
static int fz_ioctl(struct fz_thread *t, uint64_t *s, int fd,
		    unsigned long cmd, void *arg, size_t len, bool kw)
{
	char *dst = t->arg_end - len;
	void *p;
	int ret;

	if (fz_rand(s) % 4 == 0)
		dst -= 1 + fz_rand(s) % 7;
	memcpy(dst, arg, len);
	p = fz_uptr(t, s, dst, len, kw);
	ret = fz_ret(ioctl(fd, cmd, p));
	fz_uptr_done(t);
	/* Elsewhere (a mapping) the kernel may have written it: unchecked. */
	t->arg_back = p == dst;
	if (t->arg_back)
		memcpy(arg, dst, len);
	return ret;
}

static int fz_handshake(int fd)
{
	struct wsr_api a = { .api = WSR_API_VERSION };

	return fz_ret(ioctl(fd, WSR_IOC_API, &a));
}

int fz_op_open(struct fz_thread *t, const struct fz_op *op)
{
	static const int flags[] = { O_RDWR, O_RDWR, O_RDONLY, O_WRONLY,
				     O_RDWR | O_NONBLOCK };
	struct fz_slot *sl = &fz.slot[op->a[0] % FZ_SLOTS];
	int fd;

	pthread_mutex_lock(&fz.lock);
	if (sl->fd >= 0)
		close(sl->fd);
	memset(sl, 0, sizeof(*sl));
	sl->fd = -1;
	fd = open(fz.dev, flags[op->a[1] % 5] | O_CLOEXEC);
	if (fd >= 0) {
		sl->fd = fd;
		/* Most regions are wanted: spare a separate API call. */
		if (op->a[2] % 8)
			fz_handshake(fd);
	}
	pthread_mutex_unlock(&fz.lock);
	return fz_ret(fd);
}

int fz_op_close(struct fz_thread *t, const struct fz_op *op)
{
	struct fz_slot *sl = &fz.slot[op->a[0] % FZ_SLOTS];
	int ret = FZ_SKIP;

	pthread_mutex_lock(&fz.lock);
	if (sl->fd >= 0) {
		ret = fz_ret(close(sl->fd));
		memset(sl, 0, sizeof(*sl));
		sl->fd = -1;
	}
	pthread_mutex_unlock(&fz.lock);
	return ret;
}

/* A valid handshake on a /dev/wsr fd must succeed and say sane things. */
static int fz_api_checked(struct fz_thread *t, const struct fz_op *op)
{
	struct fz_slot *sl = &fz.slot[op->a[0] % FZ_SLOTS];
	struct wsr_api a = { .api = WSR_API_VERSION };
	int ret = FZ_SKIP;

	pthread_mutex_lock(&fz.lock);
	if (sl->fd >= 0) {
		ret = fz_ret(ioctl(sl->fd, WSR_IOC_API, &a));
		if (ret || a.api != WSR_API_VERSION ||
		    a.features & ~FZ_FEATURES ||
		    !(a.ioctls & (1ULL << _IOC_NR(WSR_IOC_API))))
			fz_error(t, "API: ret %d api %llu features %#llx",
				 ret, (unsigned long long)a.api,
				 (unsigned long long)a.features);
	}
	pthread_mutex_unlock(&fz.lock);
	return ret;
}

int fz_op_api(struct fz_thread *t, const struct fz_op *op)
{
	uint64_t s = op->a[3] | 1;
	struct wsr_api a;
	int fd;

	if (op->a[1] % 4 == 0)
		return fz_api_checked(t, op);
	memset(&a, 0, sizeof(a));
	a.api = op->a[1] % 3 ? WSR_API_VERSION : fz_edge(op->a[2]);
	fz_corrupt(&s, a.reserved, sizeof(a.reserved));
	fd = fz_pick_wsr_fd(&s);
	return fz_ioctl(t, &s, fd, WSR_IOC_API, &a, sizeof(a), true);
}

/* Which snapshot @fd is, or -1. */
static int fz_snap_of(int fd)
{
	int i;

	for (i = 0; i < FZ_SNAPS; i++)
		if (fz.snap[i].fd == fd)
			return i;
	return -1;
}

/* An offset and length in a file of @size, mostly valid. */
static void fz_range(uint64_t *s, uint64_t size, __u64 *off,
		     __u64 *len)
{
	uint64_t r = fz_rand(s), pages = size / FZ_PAGE;

	switch (r % 8) {
	case 0:
		*off = fz_edge(r >> 8);
		break;
	case 1:
		*off = size - FZ_PAGE;
		break;
	case 2:
		*off = ((r >> 8) % (size / FZ_HUGE + 1)) * FZ_HUGE;
		break;
	case 3:
		*off = 0;
		break;
	default:
		*off = pages ? ((r >> 8) % pages) * FZ_PAGE : 0;
		break;
	}
	*len = fz_size(s, *off < size ? size - *off : FZ_PAGE);
}

int fz_op_create(struct fz_thread *t, const struct fz_op *op)
{
	struct fz_slot *sl;
	uint64_t s = op->a[3] | 1;
	struct wsr_create c;
	int ret, snap, fd, i;

	memset(&c, 0, sizeof(c));
	c.fd = op->a[1] % 8 ? fz.snap[(op->a[1] >> 8) % FZ_SNAPS].fd :
	       fz_pick_fd(&s);
	snap = fz_snap_of(c.fd);
	c.flags = op->a[2] % 4;
	if (op->a[2] % 16 == 15)
		c.flags = fz_edge(op->a[2] >> 8);
	fz_corrupt(&s, c.reserved, sizeof(c.reserved));
	/* Locked: what the region covers must be known exactly. */
	pthread_mutex_lock(&fz.lock);
	/* Mostly an fd that has no region yet. */
	for (i = 0; i < FZ_SLOTS; i++) {
		sl = &fz.slot[(op->a[0] + i) % FZ_SLOTS];
		if (sl->fd >= 0 && !sl->region)
			break;
	}
	if (i == FZ_SLOTS || op->a[0] % 16 == 0)
		sl = &fz.slot[op->a[0] % FZ_SLOTS];
	fz_range(&s, snap >= 0 ? fz.snap[snap].size : FZ_HUGE, &c.offset,
		 &c.length);
	fd = sl->fd >= 0 ? sl->fd : fz_pick_wsr_fd(&s);
	ret = fz_ioctl(t, &s, fd, WSR_IOC_CREATE, &c, sizeof(c), false);
	if (!ret && fd == sl->fd && snap >= 0) {
		sl->region = true;
		sl->snap = snap;
		sl->off = c.offset;
		sl->len = c.length;
		sl->gen = fz.snap[snap].gen;
	}
	pthread_mutex_unlock(&fz.lock);
	return ret;
}

int fz_op_track(struct fz_thread *t, const struct fz_op *op)
{
	uint64_t s = op->a[3] | 1;
	struct wsr_track tr;

	memset(&tr, 0, sizeof(tr));
	tr.op = 1 + op->a[1] % 3;
	if (op->a[1] % 16 == 0)
		tr.op = fz_edge(op->a[1] >> 8);
	fz_corrupt(&s, &tr.pad, sizeof(tr.pad));
	fz_corrupt(&s, tr.reserved, sizeof(tr.reserved));
	return fz_ioctl(t, &s, fz_pick_wsr_fd(&s), WSR_IOC_TRACK, &tr,
			sizeof(tr), false);
}

int fz_op_get_ws(struct fz_thread *t, const struct fz_op *op)
{
	static const uint64_t caps[] = { 0, 1, 2, 511, 512, FZ_WS_MAX };
	uint64_t s = op->a[3] | 1, cap, bytes;
	struct wsr_get_ws g;
	void *good;
	int ret;

	memset(&g, 0, sizeof(g));
	cap = op->a[1] % 3 ? caps[op->a[1] % 6] : fz_edge(op->a[1] >> 8);
	/* The kernel writes at most what was recorded: <= FZ_WS_MAX. */
	bytes = (cap < FZ_WS_MAX ? cap : FZ_WS_MAX) * sizeof(*t->ws);
	good = (char *)t->ws + FZ_WS_MAX * sizeof(*t->ws) - bytes;
	g.entries = (uintptr_t)fz_uptr(t, &s, good, bytes, true);
	g.count = cap;
	fz_corrupt(&s, &g.pad, sizeof(g.pad));
	fz_corrupt(&s, g.reserved, sizeof(g.reserved));
	ret = fz_ioctl(t, &s, fz_pick_wsr_fd(&s), WSR_IOC_GET_WS, &g,
		       sizeof(g), true);
	if (!ret && t->arg_back &&
	    (g.count > cap || g.flags & ~WSR_WS_OVERFLOW))
		fz_error(t, "GET_WS: count %llu of capacity %llu, flags %#x",
			 (unsigned long long)g.count,
			 (unsigned long long)cap, g.flags);
	return ret;
}

/* Page indices for a region of @n pages: runs, shuffles, duplicates. */
static uint64_t fz_indices(uint64_t *s, uint64_t *idx, uint64_t n)
{
	uint64_t k = 1 + fz_rand(s) % FZ_IDX_MAX, i, start, r;

	r = fz_rand(s);
	if (r % 4 == 0)
		k = 1 + k % 16;
	start = n ? fz_rand(s) % n : 0;
	for (i = 0; i < k; i++) {
		switch ((r >> 8) % 4) {
		case 0:
			idx[i] = n ? (start + i) % n : i;
			break;
		case 1:
			idx[i] = n ? (start + i * 512) % n : i;
			break;
		default:
			idx[i] = n ? fz_rand(s) % n : 0;
			break;
		}
	}
	if (r % 8 == 0)
		idx[fz_rand(s) % k] = (r >> 16) % 2 ? n : fz_edge(r >> 24);
	if (r % 5 == 0)
		idx[fz_rand(s) % k] = idx[0];
	return k;
}

int fz_op_restore(struct fz_thread *t, const struct fz_op *op)
{
	struct fz_slot *sl = &fz.slot[op->a[0] % FZ_SLOTS];
	uint64_t s = op->a[3] | 1, n, k, *good;
	struct wsr_restore rs;
	int ret, fd;

	n = __atomic_load_n(&sl->len, __ATOMIC_RELAXED) / FZ_PAGE;
	fd = __atomic_load_n(&sl->fd, __ATOMIC_RELAXED);
	if (fd < 0 || op->a[0] % 32 == 0)
		fd = fz_pick_wsr_fd(&s);
	k = fz_indices(&s, t->idx, n);
	/* The indices end at a guard page: a count too large faults. */
	good = t->idx + FZ_IDX_MAX - k;
	memmove(good, t->idx, k * sizeof(*good));
	memset(&rs, 0, sizeof(rs));
	rs.pages = (uintptr_t)fz_uptr(t, &s, good, k * 8, false);
	rs.count = op->a[1] % 16 ? k : fz_edge(op->a[1] >> 8);
	rs.flags = op->a[2] % 3 == 0 ? WSR_RESTORE_ASYNC : 0;
	if (op->a[2] % 4 == 1)
		rs.flags |= WSR_RESTORE_LAZY_CACHE;
	if (op->a[2] % 32 == 7)
		rs.flags |= 1U << (op->a[2] >> 8) % 32;
	fz_corrupt(&s, &rs.pad, sizeof(rs.pad));
	fz_corrupt(&s, rs.reserved, sizeof(rs.reserved));
	ret = fz_ioctl(t, &s, fd, WSR_IOC_RESTORE, &rs, sizeof(rs), true);
	if (!ret && t->arg_back &&
	    ((rs.left_cached && !(rs.flags & WSR_RESTORE_LAZY_CACHE)) ||
	     rs.reserved[0] || rs.reserved[1]))
		fz_error(t, "RESTORE: left_cached %llu with flags %#x",
			 (unsigned long long)rs.left_cached, rs.flags);
	return ret;
}

int fz_op_stats(struct fz_thread *t, const struct fz_op *op)
{
	uint64_t s = op->a[3] | 1;
	struct wsr_stats st;
	unsigned int i;
	int ret;

	memset(&st, 0xa5, sizeof(st));
	ret = fz_ioctl(t, &s, fz_pick_wsr_fd(&s), WSR_IOC_STATS, &st,
		       sizeof(st), true);
	for (i = 0; !ret && t->arg_back &&
		    i < sizeof(st.reserved) / sizeof(st.reserved[0]); i++) {
		if (st.reserved[i]) {
			fz_error(t, "STATS: reserved[%u] = %#llx", i,
				 (unsigned long long)st.reserved[i]);
			break;
		}
	}
	return ret;
}

int fz_op_wait(struct fz_thread *t, const struct fz_op *op)
{
	static const uint32_t ms[] = { 1, 10, 100, 0 };
	uint64_t s = op->a[3] | 1;
	struct wsr_wait w;

	memset(&w, 0, sizeof(w));
	/* 0 waits without limit: rarely. */
	w.timeout_ms = ms[op->a[1] % 3];
	if (op->a[1] % 64 == 3)
		w.timeout_ms = 0;
	fz_corrupt(&s, &w.pad, sizeof(w.pad));
	fz_corrupt(&s, w.reserved, sizeof(w.reserved));
	return fz_ioctl(t, &s, fz_pick_wsr_fd(&s), WSR_IOC_WAIT, &w,
			sizeof(w), false);
}

int fz_op_track_file(struct fz_thread *t, const struct fz_op *op)
{
	uint64_t s = op->a[3] | 1, size = FZ_HUGE;
	struct wsr_track_file tf;
	int snap;

	memset(&tf, 0, sizeof(tf));
	tf.op = 1 + op->a[1] % 3;
	if (op->a[1] % 32 == 0)
		tf.op = fz_edge(op->a[1] >> 8);
	if (tf.op == WSR_TRACK_START || op->a[1] % 16 == 1) {
		tf.fd = fz_pick_fd(&s);
		snap = fz_snap_of(tf.fd);
		if (snap >= 0)
			size = __atomic_load_n(&fz.snap[snap].size,
					       __ATOMIC_RELAXED);
		fz_range(&s, size, &tf.offset, &tf.length);
		tf.flags = op->a[2] % 2;
		if (op->a[2] % 16 == 3)
			tf.flags = fz_edge(op->a[2] >> 8);
	}
	fz_corrupt(&s, &tf.pad, sizeof(tf.pad));
	fz_corrupt(&s, tf.reserved, sizeof(tf.reserved));
	return fz_ioctl(t, &s, fz_pick_wsr_fd(&s), WSR_IOC_TRACK_FILE, &tf,
			sizeof(tf), true);
}

/* The defined wsr ioctl numbers, to tell a bad number from a good one. */
static bool fz_defined(unsigned long cmd)
{
	static const unsigned long good[] = {
		WSR_IOC_API, WSR_IOC_CREATE, WSR_IOC_TRACK, WSR_IOC_GET_WS,
		WSR_IOC_RESTORE, WSR_IOC_STATS, WSR_IOC_WAIT,
		WSR_IOC_TRACK_FILE, WSR_IOC_BASE_CREATE, WSR_IOC_BASE_DROP,
		WSR_IOC_BASE_OPEN, WSR_IOC_BASE_LIST, WSR_IOC_BASE_INFO,
	};
	unsigned int i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (cmd == good[i])
			return true;
	return false;
}

/*
 * A number wsr does not define, on a /dev/wsr fd, fails with ENOTTY: an
 * unknown number in wsr's magic, a known number with another direction or
 * size, another driver's magic.
 */
int fz_op_bad_ioctl(struct fz_thread *t, const struct fz_op *op)
{
	struct fz_slot *sl = &fz.slot[op->a[0] % FZ_SLOTS];
	unsigned int dir = op->a[2] % 4, size = (op->a[2] >> 8) % 0x4000;
	unsigned long cmd;
	int ret = FZ_SKIP;

	switch (op->a[1] % 3) {
	case 0:
		cmd = _IOC(dir, WSR_IOC_MAGIC, 0x0d + (op->a[1] >> 8) % 0xf3,
			   size);
		break;
	case 1:
		cmd = _IOC(dir, WSR_IOC_MAGIC, (op->a[1] >> 8) % 0x0d, size);
		if (fz_defined(cmd))
			cmd = _IOC(dir, WSR_IOC_MAGIC, (op->a[1] >> 8) % 0x0d,
				   size ^ 1);
		break;
	default:
		cmd = _IOC(dir, 'x', (op->a[1] >> 8) % 0x100, size);
		break;
	}
	pthread_mutex_lock(&fz.lock);
	if (sl->fd >= 0) {
		ret = fz_ret(ioctl(sl->fd, cmd, t->arg));
		if (ret != -ENOTTY)
			fz_error(t, "ioctl %#lx on /dev/wsr: %d, not -ENOTTY",
				 cmd, ret);
	}
	pthread_mutex_unlock(&fz.lock);
	return ret;
}
