/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the wsr selftest suites (region, tracker, restore,
 * stress).  Everything is static inline so that each suite stays one .c file.
 *
 * Functions return 0 or -errno and never print; the tests assert on the
 * results.  The snapshot files are the random-content files the rig puts on
 * the guest's data disk (/data, ext4 on virtio-blk /dev/vda).
 */
#ifndef WSR_TEST_UTIL_H
#define WSR_TEST_UTIL_H

#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <linux/loop.h>
#include <linux/wsr.h>

#define WSR_DEV			"/dev/wsr"
#define WSR_KO			"/lib/modules/wsr.ko"
#define WSR_SYSFS		"/sys/kernel/mm/wsr"
#define WSR_SNAP		"/data/snap-64M"
#define WSR_SNAP_SIZE		(64ULL << 20)
#define WSR_BLK_STAT		"/sys/block/vda/stat"

#define WSR_PAGE		4096ULL
#define WSR_HUGE		(2ULL << 20)
#define WSR_HUGE_PAGES		(WSR_HUGE / WSR_PAGE)
#define WSR_KNOWN_FEATURES	(WSR_FEATURE_HUGE | WSR_FEATURE_TRACK | \
				 WSR_FEATURE_RESTORE | WSR_FEATURE_ASYNC | \
				 WSR_FEATURE_FILE_TRACK | \
				 WSR_FEATURE_SHARED_BASE | \
				 WSR_FEATURE_NAMED_BASE | \
				 WSR_FEATURE_COMPRESSED)
#define WSR_IOCTL_BIT(cmd)	(1ULL << _IOC_NR(cmd))

/*
 * SKIP from a FIXTURE_SETUP: the 6.1 harness would still run the test body
 * after a plain "return", and only exit status 255 of the test child is
 * reported as a skip, so leave the child with that status.
 */
#define WSR_SETUP_SKIP(fmt, ...) SKIP(_exit(255), fmt, ##__VA_ARGS__)

static inline uint64_t wsr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Open /dev/wsr; -ENOENT when the module is not loaded. */
static inline int wsr_open(void)
{
	int fd = open(WSR_DEV, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int wsr_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int wsr_handshake(int fd, struct wsr_api *api)
{
	memset(api, 0, sizeof(*api));
	api->api = WSR_API_VERSION;
	return wsr_ioctl(fd, WSR_IOC_API, api);
}

/* Open /dev/wsr and do the handshake, which must come first. */
static inline int wsr_open_api(void)
{
	struct wsr_api api;
	int fd = wsr_open();
	int ret;

	if (fd < 0)
		return fd;
	ret = wsr_handshake(fd, &api);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Handshake on a throw-away fd: -ENOENT without the module. */
static inline int wsr_probe(struct wsr_api *api)
{
	int fd = wsr_open();
	int ret;

	if (fd < 0)
		return fd;
	ret = wsr_handshake(fd, api);
	close(fd);
	return ret;
}

static inline int wsr_create(int fd, int snap_fd, uint32_t flags,
			     uint64_t offset, uint64_t length)
{
	struct wsr_create c;

	memset(&c, 0, sizeof(c));
	c.fd = snap_fd;
	c.flags = flags;
	c.offset = offset;
	c.length = length;
	return wsr_ioctl(fd, WSR_IOC_CREATE, &c);
}

/* A region over [@off, @off + @len) of @snap, mapped at *@mem; -errno. */
static inline int wsr_open_region(int snap, uint32_t flags, uint64_t off,
				  uint64_t len, char **mem)
{
	int dev = wsr_open_api(), ret;
	void *p;

	if (dev < 0)
		return dev;
	ret = wsr_create(dev, snap, flags, off, len);
	if (ret) {
		close(dev);
		return ret;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, dev, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		close(dev);
		return ret;
	}
	*mem = p;
	return dev;
}

/* WSR_IOC_TRACK_FILE; on success *@out (if any) gets the counters. */
static inline int wsr_track_file(int dev, uint32_t op, int fd, uint32_t flags,
				 uint64_t off, uint64_t len,
				 struct wsr_track_file *out)
{
	struct wsr_track_file tf;
	int ret;

	memset(&tf, 0, sizeof(tf));
	tf.fd = fd;
	tf.op = op;
	tf.flags = flags;
	tf.offset = off;
	tf.length = len;
	ret = wsr_ioctl(dev, WSR_IOC_TRACK_FILE, &tf);
	if (!ret && out)
		*out = tf;
	return ret;
}

static inline int wsr_get_stats(int fd, struct wsr_stats *st)
{
	memset(st, 0xa5, sizeof(*st));
	return wsr_ioctl(fd, WSR_IOC_STATS, st);
}

static inline int wsr_track(int fd, uint32_t op)
{
	struct wsr_track t;

	memset(&t, 0, sizeof(t));
	t.op = op;
	return wsr_ioctl(fd, WSR_IOC_TRACK, &t);
}

static inline int wsr_wait(int fd, uint32_t timeout_ms)
{
	struct wsr_wait w;

	memset(&w, 0, sizeof(w));
	w.timeout_ms = timeout_ms;
	return wsr_ioctl(fd, WSR_IOC_WAIT, &w);
}

/* Restore @count indices; @r receives the (out) counters. */
static inline int wsr_restore(int fd, const uint64_t *pages, uint64_t count,
			      uint32_t flags, struct wsr_restore *r)
{
	memset(r, 0, sizeof(*r));
	r->pages = (uintptr_t)pages;
	r->count = count;
	r->flags = flags;
	return wsr_ioctl(fd, WSR_IOC_RESTORE, r);
}

/* Read exactly @len bytes at @off; -EIO on a short read. */
static inline int wsr_pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Compare @len bytes of @mem with the file at @off, 1 MiB at a time.
 * Each part of @mem is touched before the file is read, so that a fault
 * on a wsr mapping sees the page cache as it was, not as the comparison's
 * own pread() left it.  Returns -1 when equal, else the offset of the
 * first differing byte (or -2 when the file could not be read).
 */
static inline int64_t wsr_cmp_file(const void *mem, int fd, uint64_t off,
				   uint64_t len)
{
	const size_t step = 1 << 20;
	const char *m = mem;
	uint64_t done;
	char *buf = malloc(step);
	int64_t ret = -1;

	if (!buf)
		return -2;
	for (done = 0; done < len; done += step) {
		size_t n = len - done < step ? len - done : step;
		size_t i;

		for (i = 0; i < n; i += WSR_PAGE)
			(void)__atomic_load_n(m + done + i, __ATOMIC_RELAXED);
		if (wsr_pread_full(fd, buf, n, off + done)) {
			ret = -2;
			break;
		}
		if (!memcmp(m + done, buf, n))
			continue;
		for (i = 0; i < n && m[done + i] == buf[i]; i++)
			;
		ret = done + i;
		break;
	}
	free(buf);
	return ret;
}

/* Compare one 4 KiB page of the mapping with the file (touched first). */
static inline bool wsr_page_equal(const void *mem, int fd, uint64_t off)
{
	char buf[WSR_PAGE];

	(void)__atomic_load_n((const char *)mem, __ATOMIC_RELAXED);
	if (wsr_pread_full(fd, buf, sizeof(buf), off))
		return false;
	return !memcmp(mem, buf, sizeof(buf));
}

/* Evict the file's clean page-cache pages (data only, not fs metadata). */
static inline int wsr_drop_file_cache(int fd)
{
	int ret = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);

	return -ret;
}

/*
 * Empty every CPU's LRU add batch, where a page-cache page just added
 * waits until the batch fills and where nothing can evict it: fault one
 * anonymous 2 MiB page on each CPU (a large folio drains its CPU's batch).
 * Without transparent huge pages this does nothing.
 */
static inline void wsr_lru_drain(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), cpu;
	unsigned long all, one;
	char *p, *a;

	if (syscall(SYS_sched_getaffinity, 0, sizeof(all), &all) < 0)
		return;
	for (cpu = 0; cpu < ncpu && cpu < 64; cpu++) {
		one = 1UL << cpu;
		if (syscall(SYS_sched_setaffinity, 0, sizeof(one), &one))
			continue;
		p = mmap(NULL, 2 * (2UL << 20), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			continue;
		a = (char *)(((unsigned long)p + (2UL << 20) - 1) &
			     ~((2UL << 20) - 1));
		madvise(a, 2UL << 20, MADV_HUGEPAGE);
		a[0] = 1;
		munmap(p, 2 * (2UL << 20));
	}
	syscall(SYS_sched_setaffinity, 0, sizeof(all), &all);
}

/*
 * Start cold: drop every clean, unmapped page-cache page, which includes
 * the snapshot bases of closed regions (a base outlives its regions while
 * it holds pages, for the next region over the same snapshot).
 */
static inline int wsr_drop_caches(void)
{
	int fd, ret = 0;

	sync();
	wsr_lru_drain();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "1", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

/* Number of pages of [off, off + len) of the file that are in page cache. */
static inline long wsr_file_resident(int fd, uint64_t off, uint64_t len,
				     unsigned char *vec)
{
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off);
	long n = 0;
	uint64_t i;

	if (p == MAP_FAILED)
		return -errno;
	if (mincore(p, len, vec)) {
		n = -errno;
		munmap(p, len);
		return n;
	}
	munmap(p, len);
	for (i = 0; i < len / WSR_PAGE; i++)
		n += vec[i] & 1;
	return n;
}

static inline long wsr_majflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_majflt;
}

/* Read a whole small sysfs/proc file into @buf (NUL terminated). */
static inline int wsr_read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* Load WSR_KO; -EEXIST when it is loaded already. */
static inline int wsr_load_module(void)
{
	int fd = open(WSR_KO, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* Unload wsr without waiting: -EWOULDBLOCK while it is in use. */
static inline int wsr_unload_module(void)
{
	return syscall(SYS_delete_module, "wsr", O_NONBLOCK) ? -errno : 0;
}

static inline int wsr_write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* Read /sys/kernel/mm/wsr/@name as an unsigned number. */
static inline int wsr_knob_get(const char *name, uint64_t *val)
{
	char path[256], buf[64], *end;
	int ret;

	snprintf(path, sizeof(path), WSR_SYSFS "/%s", name);
	ret = wsr_read_text(path, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

static inline int wsr_knob_set(const char *name, uint64_t val)
{
	char path[256], buf[32];

	snprintf(path, sizeof(path), WSR_SYSFS "/%s", name);
	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", val);
	return wsr_write_text(path, buf);
}

/*
 * A knob a test changes: wsr_knob_override() saves the old value once,
 * wsr_knob_restore() puts it back (call it from the fixture teardown).
 */
struct wsr_knob_save {
	const char *name;
	uint64_t old;
	bool saved;
};

static inline int wsr_knob_override(struct wsr_knob_save *k, const char *name,
				    uint64_t val)
{
	int ret;

	if (!k->saved) {
		ret = wsr_knob_get(name, &k->old);
		if (ret)
			return ret;
		k->name = name;
		k->saved = true;
	}
	return wsr_knob_set(name, val);
}

static inline int wsr_knob_restore(struct wsr_knob_save *k)
{
	if (!k->saved)
		return 0;
	k->saved = false;
	return wsr_knob_set(k->name, k->old);
}

/*
 * Wait up to @ms for the module-wide "regions" count to reach @want (a
 * region is freed when its last fd and mapping are gone, possibly after
 * a background restore lets go of it).  Returns the last value read, or
 * -errno.
 */
static inline int64_t wsr_wait_regions(int64_t want, unsigned int ms)
{
	uint64_t v = 0;
	int ret;

	for (;;) {
		ret = wsr_knob_get("regions", &v);
		if (ret)
			return ret;
		if ((int64_t)v == want || !ms)
			return v;
		usleep(10000);
		ms = ms > 10 ? ms - 10 : 0;
	}
}

/*
 * Disk reads the filesystem may add to the module's own when a test
 * compares the block device's read sectors with bytes_read: ext4
 * extent-tree and inode-table blocks, if evicted (the tests only drop the
 * snapshot's data pages, so normally none), rounded up generously.
 */
#define WSR_METADATA_SLACK	(128ULL << 10)

/* Sectors (512 bytes) read by the data disk so far. */
static inline int wsr_disk_sectors_read(uint64_t *sectors)
{
	char buf[512];
	unsigned long long rd_ios, rd_merges, rd_sectors;
	int ret = wsr_read_text(WSR_BLK_STAT, buf, sizeof(buf));

	if (ret)
		return ret;
	if (sscanf(buf, "%llu %llu %llu", &rd_ios, &rd_merges,
		   &rd_sectors) != 3)
		return -EINVAL;
	*sectors = rd_sectors;
	return 0;
}

/*
 * Value of "@key": in one line of JSON printed by our tools (flat objects,
 * any spaces after the colon), copied into @buf without string quotes.
 * Returns @buf, or NULL when the key is absent.
 */
static inline const char *wsr_json_get(const char *line, const char *key,
				       char *buf, size_t len)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	p += strspn(p, " ");
	if (*p == '"')
		p++;
	while (*p && *p != '"' && *p != ',' && *p != '}' && n + 1 < len)
		buf[n++] = *p++;
	buf[n] = 0;
	return buf;
}

/* Unsigned number @key of a JSON line (see wsr_json_get()). */
static inline int wsr_json_u64(const char *line, const char *key,
			       uint64_t *val)
{
	char buf[32], *end;

	if (!wsr_json_get(line, key, buf, sizeof(buf)))
		return -ENOENT;
	errno = 0;
	*val = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

/* The /proc/vmstat counter @name, or -errno (-ENOENT: no such counter). */
static inline long long wsr_vmstat(const char *name)
{
	FILE *f = fopen("/proc/vmstat", "re");
	size_t len = strlen(name);
	long long val = -ENOENT;
	char line[256];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ' ') {
			val = strtoll(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return val;
}

/*
 * Sum of "@field:" (kB) over the smaps entry of the VMA containing @addr;
 * -ENOENT when no VMA contains it.
 */
static inline long wsr_smaps_kb(const void *addr, const char *field)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long start, end, a = (unsigned long)addr;
	size_t flen = strlen(field);
	bool in = false, found = false;
	long kb = -ENOENT;
	char line[512];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = a >= start && a < end;
			found |= in;
			continue;
		}
		if (in && !strncmp(line, field, flen) && line[flen] == ':') {
			kb = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return found ? kb : -ENOENT;
}

/*
 * Loop-mount the XFS image of the data disk (/data/xfs.img, see
 * scripts/mkdisk.sh) on @dir; the loop device goes with the umount
 * (autoclear).  -ENOENT without the image, -ENODEV without loop or XFS.
 */
#define WSR_XFS_IMG		"/data/xfs.img"

static inline int wsr_xfs_mount(const char *dir)
{
	struct loop_info64 info;
	int ctl, n, lfd = -1, ifd = -1, ret = 0;
	char dev[32];

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (n < 0)
		return -errno;
	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	ifd = open(WSR_XFS_IMG, O_RDWR | O_CLOEXEC);
	lfd = open(dev, O_RDWR | O_CLOEXEC);
	if (ifd < 0 || lfd < 0) {
		ret = -errno;
		goto out;
	}
	memset(&info, 0, sizeof(info));
	info.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (ioctl(lfd, LOOP_SET_FD, ifd) || ioctl(lfd, LOOP_SET_STATUS64, &info)) {
		ret = -errno;
		goto out;
	}
	mkdir(dir, 0755);
	if (mount(dev, dir, "xfs", 0, NULL)) {
		ret = errno == ENODEV ? -ENODEV : -errno;
		ioctl(lfd, LOOP_CLR_FD, 0);
	}
out:
	if (lfd >= 0)
		close(lfd);
	if (ifd >= 0)
		close(ifd);
	return ret;
}

/* Deterministic pseudo-random numbers (xorshift64) for access scripts. */
static inline uint64_t wsr_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* Fisher-Yates shuffle of @n indices. */
static inline void wsr_shuffle(uint64_t *v, uint64_t n, uint64_t seed)
{
	uint64_t i, j, t;

	for (i = n; i > 1; i--) {
		j = wsr_rand(&seed) % i;
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Load and store that the compiler may not elide or merge (READ_ONCE). */
static inline uint64_t wsr_load64(const void *p)
{
	return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
}

static inline void wsr_store64(void *p, uint64_t v)
{
	__atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED);
}

/* Touch a page for reading. */
static inline uint64_t wsr_touch(const void *mem, uint64_t index)
{
	return wsr_load64((const char *)mem + index * WSR_PAGE);
}

/* What wsr_run() captured of a program. */
struct wsr_cmd_out {
	int status;		/* exit code, or 128 + signal */
	char out[8192];
	char err[8192];
};

static inline void wsr_slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	unlink(path);
}

/*
 * Run argv (NULL-terminated) and wait, capturing stdout and stderr in @o.
 * Returns 0 (the program's status is in @o) or -errno.
 */
static inline int wsr_run(struct wsr_cmd_out *o, const char *const argv[])
{
	char opath[] = "/tmp/wsr-run-out.XXXXXX";
	char epath[] = "/tmp/wsr-run-err.XXXXXX";
	int ofd = mkstemp(opath), efd = mkstemp(epath), st;
	pid_t pid;

	if (ofd < 0 || efd < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		dup2(ofd, 1);
		dup2(efd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(ofd);
	close(efd);
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	wsr_slurp(opath, o->out, sizeof(o->out));
	wsr_slurp(epath, o->err, sizeof(o->err));
	return 0;
}

#endif /* WSR_TEST_UTIL_H */
