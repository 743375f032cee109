// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-fuzz: memory and file ops.  mmap, munmap, mremap and madvise of
 * region and snapshot mappings, checked and racy touches, fork, and writes
 * and truncations of the snapshot files.
 *
 * The oracle: a clean page of a region mapping reads as the snapshot file
 * at the same offset while the file is as it was when the region was
 * created (struct fz_map.gen).  The fuzzer spaces its own modifications
 * of a file FZ_MOD_GAP_NS apart, so that each one changes the file's mtime
 * (a coarse clock) and a region created later gets a new base instead of
 * one loaded before the change.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fuzz.h"

#ifndef MADV_COLD
#define MADV_COLD		20
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif

#define FZ_MOD_GAP_NS	(50ULL * 1000 * 1000)
#define FZ_CHILD_NS	(30ULL * 1000 * 1000 * 1000)
#define FZ_PROT_NONE_MAP (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | \
			  MAP_FIXED)

static uint64_t fz_pages(uint64_t len)
{
	return (len + FZ_PAGE - 1) / FZ_PAGE;
}

static uint64_t fz_slot_off(const struct fz_map *m)
{
	return m->addr - fz_arena_addr(m->arena);
}

/* A used mapping at or after index @r, or NULL.  Caller holds fz.lock. */
static struct fz_map *fz_map_pick(uint64_t r, bool oracle, int prot)
{
	int i, m;

	for (i = 0; i < FZ_MAPS; i++) {
		m = (r + i) % FZ_MAPS;
		if (!fz.map[m].used || (oracle && !fz.map[m].oracle) ||
		    (fz.map[m].prot & prot) != prot)
			continue;
		return &fz.map[m];
	}
	return NULL;
}

static int fz_arena_free(uint64_t r)
{
	int i, a;

	for (i = 0; i < FZ_ARENA_SLOTS; i++) {
		a = (r + i) % FZ_ARENA_SLOTS;
		if (fz.arena_owner[a] == -1)
			return a;
	}
	return -1;
}

/* Unmap a whole mapping and give its arena slot back. */
static int fz_map_drop(struct fz_map *m)
{
	int ret = munmap(m->addr, m->len) ? -errno : 0;

	fz_arena_reserve(m->arena, fz_slot_off(m), m->len);
	fz.arena_owner[m->arena] = -1;
	m->used = false;
	return ret;
}

/* The fd, offset and oracle data of a new mapping. */
static int fz_mmap_fd(uint64_t *s, const struct fz_op *op, struct fz_map *m,
		      uint64_t *off, uint64_t *maxlen)
{
	struct fz_slot *sl = &fz.slot[op->a[0] % FZ_SLOTS];
	uint64_t r = fz_rand(s), npages = sl->len / FZ_PAGE, pg;
	int fd;

	m->oracle = false;
	if (r % 10 >= 7 || sl->fd < 0) {
		fd = fz_pick_fd(s);
		*off = fz_size(s, 4 << 20) & ~(r % 3 ? FZ_PAGE - 1 : 0);
		*maxlen = FZ_SLOT_SIZE;
		return fd;
	}
	switch ((r >> 8) % 6) {
	case 0:
	case 1:
		pg = 0;
		break;
	case 2:
		pg = npages ? ((r >> 16) % npages) & ~511ULL : 0;
		break;
	case 3:
		pg = fz_edge(r >> 16) / FZ_PAGE;
		break;
	default:
		pg = npages ? (r >> 16) % npages : 0;
		break;
	}
	*off = pg * FZ_PAGE;
	*maxlen = pg < npages ? (npages - pg) * FZ_PAGE : FZ_PAGE;
	if (sl->region && pg < npages) {
		m->oracle = true;
		m->snap = sl->snap;
		m->foff = sl->off + *off;
		m->gen = sl->gen;
	}
	return sl->fd;
}

int fz_op_mmap(struct fz_thread *t, const struct fz_op *op)
{
	static const int prots[] = { PROT_READ | PROT_WRITE, PROT_READ,
				     PROT_READ | PROT_WRITE, PROT_NONE,
				     PROT_WRITE, PROT_READ | PROT_EXEC };
	uint64_t s = op->a[3] | 1, off, len, maxlen;
	struct fz_map *m;
	int fd, a, flags, ret;
	void *p;

	pthread_mutex_lock(&fz.lock);
	m = &fz.map[op->a[1] % FZ_MAPS];
	if (m->used)
		fz_map_drop(m);
	a = fz_arena_free(op->a[2]);
	ret = FZ_SKIP;
	if (a < 0)
		goto out;
	fd = fz_mmap_fd(&s, op, m, &off, &maxlen);
	len = fz_size(&s, maxlen < FZ_SLOT_SIZE ? maxlen : FZ_SLOT_SIZE);
	if (len > FZ_SLOT_SIZE)
		len = op->a[2] % 2 ? FZ_SLOT_SIZE : maxlen + FZ_PAGE;
	if (len > FZ_SLOT_SIZE)
		len = FZ_SLOT_SIZE;
	/* Plain files privately only: shared writes would change them. */
	flags = (op->a[2] >> 8) % 3 == 0 && m->oracle ? MAP_SHARED :
		MAP_PRIVATE;
	if ((op->a[2] >> 16) % 32 == 0)
		flags |= MAP_POPULATE;
	if ((op->a[2] >> 24) % 8 == 0)
		flags |= MAP_NORESERVE;
	m->prot = prots[(op->a[2] >> 32) % 6];
	p = mmap(fz_arena_addr(a), len, m->prot, flags | MAP_FIXED, fd, off);
	if (p == MAP_FAILED) {
		ret = -errno;
		fz_arena_reserve(a, 0, fz_pages(len) * FZ_PAGE);
		goto out;
	}
	m->used = true;
	m->arena = a;
	m->addr = p;
	m->len = fz_pages(len) * FZ_PAGE;
	memset(m->state, FZ_CLEAN, sizeof(m->state));
	fz.arena_owner[a] = m - fz.map;
	ret = 0;
out:
	pthread_mutex_unlock(&fz.lock);
	return ret;
}

/* Unmap all of a mapping, its head, its tail, a hole, or fail to. */
int fz_op_munmap(struct fz_thread *t, const struct fz_op *op)
{
	struct fz_map *m;
	uint64_t n, k, x;
	int ret = FZ_SKIP;

	pthread_mutex_lock(&fz.lock);
	m = fz_map_pick(op->a[0], false, 0);
	if (!m)
		goto out;
	n = m->len / FZ_PAGE;
	k = 1 + op->a[2] % n;
	x = op->a[2] >> 16;
	switch (op->a[1] % 6) {
	case 0:
		ret = fz_map_drop(m);
		break;
	case 1:
		if (k == n)
			k--;
		ret = munmap(m->addr, k * FZ_PAGE) ? -errno : 0;
		if (ret)
			break;
		fz_arena_reserve(m->arena, fz_slot_off(m), k * FZ_PAGE);
		memmove(m->state, m->state + k, n - k);
		m->addr += k * FZ_PAGE;
		m->foff += k * FZ_PAGE;
		m->len -= k * FZ_PAGE;
		break;
	case 2:
		if (k == n)
			k--;
		ret = munmap(m->addr + m->len - k * FZ_PAGE, k * FZ_PAGE);
		ret = ret ? -errno : 0;
		if (ret)
			break;
		m->len -= k * FZ_PAGE;
		fz_arena_reserve(m->arena, fz_slot_off(m) + m->len,
				 k * FZ_PAGE);
		break;
	case 3:
		/* A hole, atomically: the range is never free for others. */
		k = 1 + k % 16;
		x %= n;
		k = k < n - x ? k : n - x;
		if (mmap(m->addr + x * FZ_PAGE, k * FZ_PAGE, PROT_NONE,
			 FZ_PROT_NONE_MAP, -1, 0) == MAP_FAILED)
			ret = -errno;
		else
			memset(m->state + x, FZ_GONE, k);
		break;
	default:
		/* Misaligned or empty: EINVAL, nothing changes. */
		ret = munmap(m->addr + 1 + x % (FZ_PAGE - 1),
			     op->a[1] % 2 ? 0 : FZ_PAGE) ? -errno : 0;
		break;
	}
out:
	pthread_mutex_unlock(&fz.lock);
	return ret;
}

/* mremap to another arena slot (maybe resized), keeping track of it. */
static int fz_mremap_move(struct fz_map *m, uint64_t r, bool dontunmap)
{
	uint64_t newlen = m->len, n = m->len / FZ_PAGE;
	int a = fz_arena_free(r), flags = MREMAP_MAYMOVE | MREMAP_FIXED;
	struct fz_map *copy = NULL;
	void *p;

	if (a < 0)
		return FZ_SKIP;
	if (dontunmap) {
		flags |= MREMAP_DONTUNMAP;
		for (copy = fz.map; copy < fz.map + FZ_MAPS; copy++)
			if (!copy->used)
				break;
		if (copy == fz.map + FZ_MAPS)
			return FZ_SKIP;
	} else if (r % 3 == 0) {
		newlen = (1 + (r >> 8) % (FZ_SLOT_SIZE / FZ_PAGE)) * FZ_PAGE;
	}
	p = mremap(m->addr, m->len, newlen, flags, fz_arena_addr(a));
	if (p == MAP_FAILED) {
		fz_arena_reserve(a, 0, newlen);
		return -errno;
	}
	/* Pages that moved or appeared are no longer checked. */
	memset(m->state + (newlen < m->len ? newlen : m->len) / FZ_PAGE,
	       FZ_DIRTY, sizeof(m->state) - (newlen < m->len ? newlen :
					     m->len) / FZ_PAGE);
	if (copy) {
		*copy = *m;
		memset(m->state, FZ_DIRTY, n);
		m = copy;
	} else {
		fz_arena_reserve(m->arena, fz_slot_off(m), m->len);
		fz.arena_owner[m->arena] = -1;
	}
	m->arena = a;
	m->addr = p;
	m->len = newlen;
	fz.arena_owner[a] = m - fz.map;
	return 0;
}

int fz_op_mremap(struct fz_thread *t, const struct fz_op *op)
{
	uint64_t k, end;
	struct fz_map *m;
	int ret = FZ_SKIP;
	void *p;

	pthread_mutex_lock(&fz.lock);
	m = fz_map_pick(op->a[0], false, 0);
	if (!m)
		goto out;
	k = (1 + op->a[2] % (m->len / FZ_PAGE)) * FZ_PAGE;
	end = fz_slot_off(m) + m->len;
	switch (op->a[1] % 5) {
	case 0:
		/* Shrink in place. */
		if (k >= m->len)
			break;
		p = mremap(m->addr, m->len, k, 0);
		ret = p == MAP_FAILED ? -errno : 0;
		if (!ret) {
			fz_arena_reserve(m->arena, fz_slot_off(m) + k,
					 m->len - k);
			m->len = k;
		}
		break;
	case 1:
		/* Grow in place into the reservation: ENOMEM. */
		if (end + k <= FZ_SLOT_SIZE)
			ret = mremap(m->addr, m->len, m->len + k, 0) ==
			      MAP_FAILED ? -errno : 0;
		break;
	case 2:
		ret = fz_mremap_move(m, op->a[2] >> 8, false);
		break;
	case 3:
		ret = fz_mremap_move(m, op->a[2] >> 8, true);
		break;
	default:
		/* Bad: misaligned, old_len 0 of a private mapping. */
		ret = mremap(m->addr + (op->a[2] % 2), op->a[2] % 2 ?
			     m->len : 0, m->len, 0) == MAP_FAILED ? -errno : 0;
		break;
	}
out:
	pthread_mutex_unlock(&fz.lock);
	return ret;
}

int fz_op_madvise(struct fz_thread *t, const struct fz_op *op)
{
	static const int adv[] = {
		MADV_DONTNEED, MADV_REMOVE, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
		MADV_WILLNEED, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ,
		MADV_POPULATE_WRITE, MADV_COLLAPSE, MADV_DONTFORK,
		MADV_DOFORK, MADV_FREE, MADV_RANDOM, MADV_SEQUENTIAL,
		MADV_NORMAL, MADV_DONTNEED, MADV_PAGEOUT, 1234,
	};
	const struct fz_map *m = &fz.map[op->a[0] % FZ_MAPS];
	char *arena_end = fz.arena + FZ_ARENA_SLOTS * FZ_SLOT_SIZE;
	uint64_t s = op->a[2] | 1, base, len, off;
	char *addr;

	/* Racy on purpose; whatever we read stays inside the arena. */
	base = (uintptr_t)__atomic_load_n(&m->addr, __ATOMIC_RELAXED);
	len = __atomic_load_n(&m->len, __ATOMIC_RELAXED);
	if (!len || base < (uintptr_t)fz.arena ||
	    base >= (uintptr_t)arena_end)
		return FZ_SKIP;
	off = (op->a[1] % (len / FZ_PAGE)) * FZ_PAGE;
	len = op->a[2] % 4 ? len - off : fz_size(&s, len);
	addr = (char *)base + off + (op->a[1] % 16 == 0);
	if (len > (uint64_t)(arena_end - addr))
		len = arena_end - addr;
	return madvise(addr, len, adv[op->a[3] % (sizeof(adv) /
						  sizeof(adv[0]))]) ? -errno : 0;
}

/* Check one clean page against the file: pread after the touch. */
static int fz_check_page(struct fz_thread *t, struct fz_map *m,
			 uint64_t pg, uint64_t *s)
{
	uint64_t off = fz_rand(s) % (FZ_PAGE - 64), len = 1 + fz_rand(s) % 64;
	const struct fz_snap *sn = &fz.snap[m->snap];
	char got[64], want[64];
	int ret;

	ret = fz_guarded_read(m->addr + pg * FZ_PAGE + off, got, len);
	if (fz.in_child)
		return ret;
	if (ret == -(FZ_ERRNO_MAX - SIGBUS)) {
		fz_error(t, "SIGBUS reading %s at %#llx through a region over the unchanged file",
			 sn->path, (unsigned long long)(m->foff + pg * FZ_PAGE));
		return ret;
	}
	if (ret || pread(sn->fd, want, len, m->foff + pg * FZ_PAGE + off) !=
		   (ssize_t)len)
		return ret;
	if (memcmp(got, want, len))
		fz_error(t, "%s at %#llx: mapping at %p reads %02x%02x.., file %02x%02x..",
			 sn->path,
			 (unsigned long long)(m->foff + pg * FZ_PAGE + off),
			 m->addr + pg * FZ_PAGE + off, (uint8_t)got[0],
			 (uint8_t)got[len > 1], (uint8_t)want[0],
			 (uint8_t)want[len > 1]);
	return 0;
}

/* Read a run of pages of a region mapping, checking the clean ones. */
int fz_op_read(struct fz_thread *t, const struct fz_op *op)
{
	uint64_t s = op->a[3] | 1, n, pg, k, i;
	int ret = FZ_SKIP, r;
	struct fz_map *m;
	char tmp[8];

	pthread_mutex_lock(&fz.lock);
	m = fz_map_pick(op->a[0], op->a[1] % 8 != 0, 0);
	if (!m)
		goto out;
	n = m->len / FZ_PAGE;
	pg = op->a[2] % n;
	k = 1 + (op->a[2] >> 16) % (op->a[1] % 4 ? 4 : 16);
	ret = 0;
	for (i = pg; i < pg + k && i < n; i++) {
		if (m->oracle && m->state[i] == FZ_CLEAN &&
		    m->gen == fz.snap[m->snap].gen && m->prot & PROT_READ)
			r = fz_check_page(t, m, i, &s);
		else
			r = fz_guarded_read(m->addr + i * FZ_PAGE, tmp, 8);
		ret = ret ? ret : r;
	}
out:
	pthread_mutex_unlock(&fz.lock);
	return ret;
}

int fz_op_write(struct fz_thread *t, const struct fz_op *op)
{
	uint64_t n, pg, k, i, off;
	int ret = FZ_SKIP, r;
	struct fz_map *m;

	pthread_mutex_lock(&fz.lock);
	m = fz_map_pick(op->a[0], false, op->a[1] % 8 ? PROT_WRITE : 0);
	if (!m)
		goto out;
	n = m->len / FZ_PAGE;
	pg = op->a[2] % n;
	k = 1 + (op->a[2] >> 16) % (op->a[1] % 4 ? 2 : 32);
	ret = 0;
	for (i = pg; i < pg + k && i < n; i++) {
		if (m->state[i] == FZ_GONE)
			continue;
		m->state[i] = FZ_DIRTY;
		off = (op->a[3] >> 8) % (FZ_PAGE - 16);
		r = fz_guarded_write(m->addr + i * FZ_PAGE + off,
				     1 + op->a[3] % 16, op->a[3] >> 32);
		ret = ret ? ret : r;
	}
out:
	pthread_mutex_unlock(&fz.lock);
	return ret;
}

/* Read without the lock, racing munmap, mremap and madvise. */
int fz_op_racy(struct fz_thread *t, const struct fz_op *op)
{
	const struct fz_map *m = &fz.map[op->a[0] % FZ_MAPS];
	uint64_t base, len, i, n;
	char tmp[8];
	int ret = 0, r;

	base = (uintptr_t)__atomic_load_n(&m->addr, __ATOMIC_RELAXED);
	len = __atomic_load_n(&m->len, __ATOMIC_RELAXED);
	if (!len || base < (uintptr_t)fz.arena ||
	    base + len > (uintptr_t)fz.arena + FZ_ARENA_SLOTS * FZ_SLOT_SIZE)
		return FZ_SKIP;
	n = op->a[1] % 4 ? 1 : 1 + op->a[1] % 16;
	for (i = 0; i < n; i++) {
		r = fz_guarded_read((char *)base +
				    ((op->a[2] + i) % (len / FZ_PAGE)) *
				    FZ_PAGE, tmp, 1);
		ret = ret ? ret : r;
	}
	return ret;
}

/* Reap a forked child; one that takes over FZ_CHILD_NS has hung. */
static void fz_child_reap(struct fz_thread *t, pid_t pid)
{
	uint64_t end = fz_now_ns() + FZ_CHILD_NS;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (fz_now_ns() > end) {
			fz_error(t, "forked child %d hung", pid);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return;
		}
		usleep(1000);
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		fz_error(t, "forked child died of signal %d",
			 WTERMSIG(status));
	if (WIFEXITED(status) && WEXITSTATUS(status))
		fz_error(t, "forked child found errors (above)");
}

int fz_op_fork(struct fz_thread *t, const struct fz_op *op)
{
	pid_t pid;

	if (fz.in_child ||
	    __atomic_add_fetch(&fz.children, 1, __ATOMIC_RELAXED) > 2) {
		__atomic_sub_fetch(&fz.children, 1, __ATOMIC_RELAXED);
		return FZ_SKIP;
	}
	/*
	 * Fork with the lock held, so the child sees consistent tables, and
	 * with stdout's, so that it can print.  The child has a new thread
	 * id: it cannot unlock the recursive mutex, it makes a new one.
	 */
	pthread_mutex_lock(&fz.lock);
	flockfile(stdout);
	pid = fork();
	funlockfile(stdout);
	if (!pid) {
		fz.in_child = true;
		pthread_mutex_init(&fz.lock, &fz.lock_attr);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fz_child_run(t, op->a[1]);
		_exit(0);
	}
	pthread_mutex_unlock(&fz.lock);
	if (pid > 0)
		fz_child_reap(t, pid);
	__atomic_sub_fetch(&fz.children, 1, __ATOMIC_RELAXED);
	return pid < 0 ? -errno : 0;
}

/* A writable snapshot not modified in the last FZ_MOD_GAP_NS. */
static struct fz_snap *fz_mod_begin(uint64_t r)
{
	struct fz_snap *sn = &fz.snap[1 + r % 2];

	if (fz.in_child)
		return NULL;
	pthread_mutex_lock(&fz.lock);
	if (fz_now_ns() - sn->mod_ns < FZ_MOD_GAP_NS) {
		pthread_mutex_unlock(&fz.lock);
		return NULL;
	}
	return sn;
}

static void fz_mod_end(struct fz_snap *sn)
{
	struct stat st;

	if (!fstat(sn->fd, &st))
		sn->size = st.st_size;
	sn->gen++;
	sn->mod_ns = fz_now_ns();
	pthread_mutex_unlock(&fz.lock);
}

int fz_op_fwrite(struct fz_thread *t, const struct fz_op *op)
{
	static char buf[64 << 10];
	struct fz_snap *sn = fz_mod_begin(op->a[0]);
	uint64_t s = op->a[3] | 1, off, len, i;
	int ret;

	if (!sn)
		return FZ_SKIP;
	len = 1 + op->a[1] % sizeof(buf);
	off = op->a[2] % 4 ? op->a[2] % (sn->size + 1) :
	      fz_edge(op->a[2] >> 8) % (FZ_FILE_MAX - len);
	for (i = 0; i < len; i++)
		buf[i] = fz_rand(&s);
	if (op->a[1] % 3 == 0) {
		ret = lseek(sn->fd, off, SEEK_SET) < 0 ||
		      write(sn->fd, buf, len) < 0 ? -errno : 0;
	} else {
		ret = pwrite(sn->fd, buf, len, off) < 0 ? -errno : 0;
	}
	fz_mod_end(sn);
	return ret;
}

int fz_op_ftruncate(struct fz_thread *t, const struct fz_op *op)
{
	static const uint64_t sizes[] = {
		0, FZ_PAGE - 1, FZ_PAGE, FZ_HUGE - 1, FZ_HUGE, FZ_HUGE + 1,
		4 << 20,
	};
	struct fz_snap *sn;
	uint64_t size;
	int ret;

	/* A read-only fd: EINVAL, no change. */
	if (op->a[1] % 16 == 0)
		return ftruncate(fz.snap[0].fd, FZ_PAGE) ? -errno : 0;
	sn = fz_mod_begin(op->a[0]);
	if (!sn)
		return FZ_SKIP;
	switch (op->a[1] % 4) {
	case 0:
		size = sizes[op->a[2] % 7];
		break;
	case 1:
		size = op->a[2] % FZ_FILE_MAX;
		break;
	default:
		/* Mostly back to whole: regions need the data to be there. */
		size = sn->orig + ((op->a[2] % 3) - 1) * FZ_PAGE;
		break;
	}
	ret = ftruncate(sn->fd, size) ? -errno : 0;
	fz_mod_end(sn);
	return ret;
}

int fz_op_fadvise(struct fz_thread *t, const struct fz_op *op)
{
	static const int adv[] = { POSIX_FADV_DONTNEED, POSIX_FADV_DONTNEED,
				   POSIX_FADV_WILLNEED, POSIX_FADV_NOREUSE,
				   POSIX_FADV_RANDOM, POSIX_FADV_SEQUENTIAL };
	const struct fz_snap *sn = &fz.snap[op->a[0] % FZ_SNAPS];
	int fd, ret;

	/* Now and then every clean page, the bases' included. */
	if (op->a[1] % 64 == 0) {
		fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ret = write(fd, "1", 1) < 0 ? -errno : 0;
		close(fd);
		return ret;
	}
	return -posix_fadvise(sn->fd, op->a[2] % 2 ? 0 : op->a[2] % sn->orig,
			      op->a[1] % 2 ? 0 : op->a[3] % sn->orig,
			      adv[op->a[3] % 6]);
}
