// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-fuzz environment: the snapshot files, the fds of the wrong type, the
 * address-space arena every mapping lives in, edge values, bad user
 * pointers, accesses that survive SIGSEGV/SIGBUS, and the sysfs knobs.
 *
 * The arena is one PROT_NONE reservation cut into slots.  Mappings are
 * placed into it with MAP_FIXED and what they leave behind is reserved
 * again, so that munmap, mremap and madvise, however wrong their
 * arguments, can only ever hit the arena and never the fuzzer's own heap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "fuzz.h"

#define FZ_SYSFS	"/sys/kernel/mm/wsr/"
#define FZ_NORESERVE	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

__thread sigjmp_buf *volatile fz_jmp;

struct fz_knob {
	const char *name;
	uint64_t min, max, step;
	uint64_t saved;
	bool have;
};

#define FZ_KNOB(n, lo, hi, st) { .name = n, .min = lo, .max = hi, .step = st }

static struct fz_knob fz_knobs[] = {
	FZ_KNOB("huge_enabled", 0, 1, 1),
	FZ_KNOB("huge_threshold", 1, 512, 1),
	FZ_KNOB("read_batch_kb", 4, 64 * 1024, 4),
	FZ_KNOB("read_gap_kb", 0, 64 * 1024, 4),
	FZ_KNOB("read_around_kb", 0, 2048, 4),
	FZ_KNOB("restore_direct", 0, 1, 1),
	FZ_KNOB("restore_map", 0, 2, 1),
	FZ_KNOB("async_enabled", 0, 1, 1),
	FZ_KNOB("tracker_capacity", 1, 1ULL << 26, 1),
	FZ_KNOB("base_max_kb", 0, 1ULL << 40, 4),
};

#define FZ_NKNOBS	(sizeof(fz_knobs) / sizeof(fz_knobs[0]))

static const char *const fz_stat_files[] = {
	"regions", "faults", "faults_huge", "pages_cache", "pages_device",
	"bytes_read", "bytes_gap", "bytes_around", "restores",
	"base_trimmed", "bases", "base_pages",
};

/* The fuzzer's shared state: the files, maps and locks of fuzz.h. */
struct fz_state fz;

uint64_t fz_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint64_t fz_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static const uint64_t fz_edges[] = {
	0, 1, 2, 7, 4095, 4096, 4097, 8192, (2 << 20) - 1, 2 << 20,
	(2 << 20) + 4096, 4 << 20, 6 << 20, 64 << 20, 1ULL << 26,
	0x7fffffff, 0x80000000, 0xffffffff, 1ULL << 32, 1ULL << 40,
	1ULL << 52, 1ULL << 63, ~0ULL, ~0ULL - 4095, ~0ULL >> 1,
};

uint64_t fz_edge(uint64_t r)
{
	return fz_edges[r % (sizeof(fz_edges) / sizeof(fz_edges[0]))];
}

/* A size: mostly whole pages up to @limit, sometimes an edge value. */
uint64_t fz_size(uint64_t *s, uint64_t limit)
{
	uint64_t r = fz_rand(s), pages = limit / FZ_PAGE;

	switch (r % 10) {
	case 0:
		return fz_edge(r >> 8);
	case 1:
		return fz_rand(s) % (limit + 1);	/* misaligned */
	case 2:
		return ((r >> 8) % (limit / FZ_HUGE + 1)) * FZ_HUGE;
	case 3:
		return limit;
	case 4 ... 6:
		/* Small ones keep calls fast under the emulated debug VM. */
		return pages ? (1 + (r >> 8) % (pages < 600 ? pages : 600)) *
			       FZ_PAGE : FZ_PAGE;
	default:
		return pages ? (1 + (r >> 8) % pages) * FZ_PAGE : FZ_PAGE;
	}
}

/* Fill @fd with @size deterministic random bytes. */
static int fz_fill(int fd, uint64_t size, uint64_t seed)
{
	static uint64_t buf[1 << 17];
	uint64_t done = 0, i;

	seed |= 1;
	while (done < size) {
		uint64_t n = size - done < sizeof(buf) ? size - done :
			     sizeof(buf);

		for (i = 0; i < (n + 7) / 8; i++)
			buf[i] = fz_rand(&seed);
		if (pwrite(fd, buf, n, done) != (ssize_t)n)
			return -errno;
		done += n;
	}
	return ftruncate(fd, size) ? -errno : 0;
}

static int fz_snap_make(int i, const char *path, uint64_t size, bool wr)
{
	struct fz_snap *sn = &fz.snap[i];
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fz_fill(fd, size, fz.seed * 31 + i) || fsync(fd)) {
		fprintf(stderr, "wsr-fuzz: cannot create %s: %m\n", path);
		return -1;
	}
	if (!wr) {
		close(fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	sn->path = path;
	sn->fd = fd;
	sn->size = size;
	sn->orig = size;
	sn->writable = wr;
	return fd < 0 ? -1 : 0;
}

static int fz_files_init(const char *dir, const char *tmp)
{
	static char a[256], b[256], c[256], t[256];
	struct stat st;

	snprintf(a, sizeof(a), "%s/wsr-fuzz-a", dir);
	snprintf(b, sizeof(b), "%s/wsr-fuzz-b", dir);
	snprintf(t, sizeof(t), "%s/wsr-fuzz-t", tmp);
	/* A partial last 2 MiB chunk in b, a tmpfs snapshot in t. */
	if (fz_snap_make(0, a, 4 << 20, false) ||
	    fz_snap_make(1, b, (6 << 20) + 20 * FZ_PAGE, true) ||
	    fz_snap_make(2, t, 3 << 20, true))
		return -1;
	snprintf(c, sizeof(c), "%s/snap-64M", dir);
	if (!stat(c, &st) && st.st_size >= (64 << 20)) {
		fz.snap[3].path = c;
		fz.snap[3].fd = open(c, O_RDONLY | O_CLOEXEC);
		fz.snap[3].size = fz.snap[3].orig = 64 << 20;
		return fz.snap[3].fd < 0 ? -1 : 0;
	}
	snprintf(c, sizeof(c), "%s/wsr-fuzz-c", dir);
	return fz_snap_make(3, c, 16 << 20, false);
}

/* Fds CREATE, TRACK_FILE and mmap must refuse (or treat as plain files). */
static void fz_odd_init(const char *dir)
{
	int p[2];

	if (!pipe2(p, O_CLOEXEC)) {
		fz.odd[fz.nodd++] = p[0];
		fz.odd[fz.nodd++] = p[1];
	}
	fz.odd[fz.nodd++] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fz.odd[fz.nodd++] = open(fz.snap[0].path,
				 O_RDONLY | O_DIRECT | O_CLOEXEC);
	fz.odd[fz.nodd++] = open(fz.snap[1].path, O_WRONLY | O_CLOEXEC);
	fz.odd[fz.nodd++] = eventfd(0, EFD_CLOEXEC);
	fz.odd[fz.nodd++] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fz.odd[fz.nodd++] = open(fz.snap[0].path, O_PATH | O_CLOEXEC);
}

static void fz_knobs_save(void)
{
	char path[128], buf[64];
	unsigned int i;
	FILE *f;

	for (i = 0; i < FZ_NKNOBS; i++) {
		snprintf(path, sizeof(path), FZ_SYSFS "%s", fz_knobs[i].name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			fz_knobs[i].saved = strtoull(buf, NULL, 0);
			fz_knobs[i].have = true;
		}
		fclose(f);
	}
}

static int fz_write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

int fz_env_init(void)
{
	const char *dir = getenv("WSR_FUZZ_DIR") ?: "/data";
	const char *tmp = getenv("WSR_FUZZ_TMP") ?: "/tmp";
	uint64_t size = FZ_ARENA_SLOTS * FZ_SLOT_SIZE + FZ_HUGE;
	char *p;
	int i;

	if (fz_files_init(dir, tmp))
		return -1;
	fz_odd_init(dir);
	fz_knobs_save();
	for (i = 0; i < FZ_SLOTS; i++)
		fz.slot[i].fd = -1;
	p = mmap(NULL, size, PROT_NONE, FZ_NORESERVE, -1, 0);
	fz.ro_page = mmap(NULL, FZ_PAGE, PROT_READ, FZ_NORESERVE, -1, 0);
	if (p == MAP_FAILED || fz.ro_page == MAP_FAILED)
		return -1;
	/* 2 MiB aligned, so that a region's 2 MiB folios can be PMD mapped. */
	fz.arena = (char *)(((uintptr_t)p + FZ_HUGE - 1) & ~(FZ_HUGE - 1));
	for (i = 0; i < FZ_ARENA_SLOTS; i++)
		fz.arena_owner[i] = -1;
	return 0;
}

/* Put every knob back as it was and remove the fuzzer's files. */
void fz_env_exit(void)
{
	char path[128], buf[32];
	unsigned int i;

	for (i = 0; i < FZ_NKNOBS; i++) {
		if (!fz_knobs[i].have)
			continue;
		snprintf(path, sizeof(path), FZ_SYSFS "%s", fz_knobs[i].name);
		snprintf(buf, sizeof(buf), "%" PRIu64 "\n", fz_knobs[i].saved);
		if (fz_write_text(path, buf))
			fprintf(stderr, "wsr-fuzz: cannot restore %s\n", path);
	}
	for (i = 0; i < 3; i++)
		unlink(fz.snap[i].path);
	if (strstr(fz.snap[3].path, "wsr-fuzz-"))
		unlink(fz.snap[3].path);
}

/* Mostly an open /dev/wsr fd, now and then any fd. */
int fz_pick_wsr_fd(uint64_t *s)
{
	uint64_t r = fz_rand(s);
	int i, fd;

	if (r % 16 == 0)
		return fz_pick_fd(s);
	for (i = 0; i < FZ_SLOTS; i++) {
		fd = __atomic_load_n(&fz.slot[(r + i) % FZ_SLOTS].fd,
				     __ATOMIC_RELAXED);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

/* Any fd: mostly a snapshot, else one of the wrong type or no fd at all. */
int fz_pick_fd(uint64_t *s)
{
	static const int bad[] = { -1, 0x7fffffff, 1 << 20, 999 };
	uint64_t r = fz_rand(s);

	switch (r % 20) {
	case 0 ... 12:
		return fz.snap[(r >> 8) % FZ_SNAPS].fd;
	case 13 ... 17:
		return fz.nodd ? fz.odd[(r >> 8) % fz.nodd] : -1;
	case 18:
		return __atomic_load_n(&fz.slot[(r >> 8) % FZ_SLOTS].fd,
				       __ATOMIC_RELAXED);
	default:
		return bad[(r >> 8) % 4];
	}
}

int fz_pick_snap(uint64_t *s, bool writable)
{
	uint64_t r = fz_rand(s);

	if (writable)
		return 1 + r % 2;
	return r % FZ_SNAPS;
}

/*
 * A user pointer for the kernel to read @len bytes from, or write them to:
 * mostly @good, sometimes NULL, a kernel address, PROT_NONE memory, a
 * read-only page, a buffer running into a guard page or the arena, where
 * our mappings are.  What the kernel may write in our mappings stops being
 * checked by the oracle, and fz.lock is held until fz_uptr_done().
 */
void *fz_uptr(struct fz_thread *t, uint64_t *s, void *good, uint64_t len,
	      bool kernel_writes)
{
	uint64_t r = fz_rand(s);
	char *p;

	if (r % 8)
		return good;
	switch ((r >> 8) % 8) {
	case 0:
		return NULL;
	case 1:
		return (void *)0xffffffff81000000ULL;
	case 2:
		return (void *)(~0ULL - 7);
	case 3:
		return fz.ro_page + (r >> 16) % 16;
	case 4:
		/* Callers place @good at the end of a buffer. */
		return (char *)good + len / 2 + 1;
	case 5:
		return (void *)0xffff888000000000ULL;
	default:
		p = fz.arena + ((r >> 16) % (FZ_ARENA_SLOTS * FZ_SLOT_SIZE -
					     len));
		/* Held until the call is done: no mapping may appear there. */
		if (kernel_writes) {
			pthread_mutex_lock(&fz.lock);
			t->arena_locks++;
			fz_mark_dirty(p, len);
		}
		return p;
	}
}

/* After the call that used pointers from fz_uptr(). */
void fz_uptr_done(struct fz_thread *t)
{
	for (; t->arena_locks; t->arena_locks--)
		pthread_mutex_unlock(&fz.lock);
}

/* Stop checking every page of our mappings in [addr, addr + len). */
void fz_mark_dirty(const void *addr, uint64_t len)
{
	const char *a = addr;
	uint64_t i, first, last;
	int m;

	pthread_mutex_lock(&fz.lock);
	for (m = 0; m < FZ_MAPS; m++) {
		struct fz_map *mp = &fz.map[m];

		if (!mp->used || a >= mp->addr + mp->len ||
		    a + len <= mp->addr || !len)
			continue;
		first = a > mp->addr ? (a - mp->addr) / FZ_PAGE : 0;
		last = (a + len - mp->addr + FZ_PAGE - 1) / FZ_PAGE;
		for (i = first; i < last && i < mp->len / FZ_PAGE; i++)
			if (mp->state[i] == FZ_CLEAN)
				mp->state[i] = FZ_DIRTY;
	}
	pthread_mutex_unlock(&fz.lock);
}

char *fz_arena_addr(int slot)
{
	return fz.arena + slot * FZ_SLOT_SIZE;
}

/* Reserve [off, off + len) of an arena slot again after an unmap. */
void fz_arena_reserve(int slot, uint64_t off, uint64_t len)
{
	void *want = fz_arena_addr(slot) + off, *p;

	if (!len)
		return;
	p = mmap(want, len, PROT_NONE, FZ_NORESERVE | MAP_FIXED_NOREPLACE,
		 -1, 0);
	if (p != MAP_FAILED && p != want)
		munmap(p, len);		/* kernel without NOREPLACE */
}

/* Copy @len bytes from @p; a signal instead returns -(FZ_ERRNO_MAX - sig). */
int fz_guarded_read(const volatile char *p, char *out, uint64_t len)
{
	sigjmp_buf jb;
	uint64_t i;
	int sig;

	sig = sigsetjmp(jb, 1);
	if (sig) {
		fz_jmp = NULL;
		return -(FZ_ERRNO_MAX - sig);
	}
	fz_jmp = &jb;
	for (i = 0; i < len; i++)
		out[i] = p[i];
	fz_jmp = NULL;
	return 0;
}

int fz_guarded_write(volatile char *p, uint64_t len, uint8_t v)
{
	sigjmp_buf jb;
	uint64_t i;
	int sig;

	sig = sigsetjmp(jb, 1);
	if (sig) {
		fz_jmp = NULL;
		return -(FZ_ERRNO_MAX - sig);
	}
	fz_jmp = &jb;
	for (i = 0; i < len; i++)
		p[i] = v + i;
	fz_jmp = NULL;
	return 0;
}

int fz_knob_read(uint64_t *s)
{
	uint64_t r = fz_rand(s);
	const char *name;
	char path[128], buf[64];
	ssize_t n;
	int fd;

	if (r % 2)
		name = fz_knobs[(r >> 8) % FZ_NKNOBS].name;
	else
		name = fz_stat_files[(r >> 8) % (sizeof(fz_stat_files) /
						 sizeof(fz_stat_files[0]))];
	snprintf(path, sizeof(path), FZ_SYSFS "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Odd offsets and sizes too. */
	n = pread(fd, buf, 1 + (r >> 16) % (sizeof(buf) - 1), (r >> 24) % 4);
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/* Write a value in range, out of range, misaligned or not a number. */
int fz_knob_write(uint64_t *s)
{
	static const char *const junk[] = {
		"abc", "", "-1", "0x10", "18446744073709551616", " 4", "4k",
		"1\n2",
	};
	uint64_t r = fz_rand(s), v;
	struct fz_knob *k = &fz_knobs[r % FZ_NKNOBS];
	char path[128], buf[32];

	snprintf(path, sizeof(path), FZ_SYSFS "%s", k->name);
	r = fz_rand(s);
	switch (r % 10) {
	case 0:
		v = k->min;
		break;
	case 1:
		v = k->max;
		break;
	case 2:
		v = k->max + k->step;
		break;
	case 3:
		v = k->min + 1;
		break;
	case 4:
		return fz_write_text(path, junk[(r >> 8) % 8]);
	case 5:
		v = k->saved;
		break;
	default:
		/* Mostly small values: huge ones are slow to act on. */
		v = k->min + ((r >> 8) % (k->max - k->min + 1)) %
			     (k->step * 4096);
		v -= v % k->step;
		break;
	}
	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
	return fz_write_text(path, buf);
}
