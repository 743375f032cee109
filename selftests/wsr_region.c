// SPDX-License-Identifier: GPL-2.0
/*
 * Region suite: the API handshake, validation of every ioctl and of mmap,
 * byte-for-byte integrity of a random-content snapshot through the mapping
 * (2 MiB and 4 KiB backing), private writes, lifetime of a region after
 * close and munmap, the read-around of 4 KiB device faults, and module
 * unload while a region exists.
 *
 * The snapshot is /data/snap-64M (random bytes) on the guest's virtio-blk
 * ext4 disk; every byte read through a mapping is compared with pread() of
 * the same file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

/* An ioctl number in the wsr range that the UAPI does not define. */
#define WSR_IOC_UNDEFINED	_IOWR(WSR_IOC_MAGIC, 0x3f, struct wsr_api)

TEST(api_handshake)
{
	struct wsr_api api, again;
	int fd, i;

	fd = wsr_open();
	if (fd == -ENOENT)
		SKIP(return, "no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, wsr_handshake(fd, &api));
	EXPECT_EQ((__u64)WSR_API_VERSION, api.api);
	/* Only features this API version defines. */
	EXPECT_EQ(0ULL, api.features & ~WSR_KNOWN_FEATURES);
	/*
	 * The mandatory ioctls, nothing outside 0x00..0x0c, and
	 * WSR_IOC_TRACK_FILE exactly when its feature is reported.
	 */
	EXPECT_NE(0ULL, api.ioctls & WSR_IOCTL_BIT(WSR_IOC_API));
	EXPECT_NE(0ULL, api.ioctls & WSR_IOCTL_BIT(WSR_IOC_CREATE));
	EXPECT_NE(0ULL, api.ioctls & WSR_IOCTL_BIT(WSR_IOC_STATS));
	EXPECT_EQ(!!(api.features & WSR_FEATURE_FILE_TRACK),
		  !!(api.ioctls & WSR_IOCTL_BIT(WSR_IOC_TRACK_FILE)));
	EXPECT_EQ(0ULL, api.ioctls & ~(0x7fULL |
				      WSR_IOCTL_BIT(WSR_IOC_TRACK_FILE) |
				      WSR_IOCTL_BIT(WSR_IOC_BASE_CREATE) |
				      WSR_IOCTL_BIT(WSR_IOC_BASE_DROP) |
				      WSR_IOCTL_BIT(WSR_IOC_BASE_OPEN) |
				      WSR_IOCTL_BIT(WSR_IOC_BASE_LIST) |
				      WSR_IOCTL_BIT(WSR_IOC_BASE_INFO)));
	/* The named-base ioctls exactly when their feature is reported. */
	EXPECT_EQ(api.features & WSR_FEATURE_NAMED_BASE ? 0x1f00ULL : 0ULL,
		  api.ioctls & 0x1f00ULL);
	/* Feature bits and ioctl bits agree. */
	if (api.features & WSR_FEATURE_TRACK) {
		EXPECT_NE(0ULL, api.ioctls & WSR_IOCTL_BIT(WSR_IOC_TRACK));
		EXPECT_NE(0ULL, api.ioctls & WSR_IOCTL_BIT(WSR_IOC_GET_WS));
	}
	if (api.features & WSR_FEATURE_RESTORE)
		EXPECT_NE(0ULL, api.ioctls & WSR_IOCTL_BIT(WSR_IOC_RESTORE));
	if (api.features & WSR_FEATURE_ASYNC) {
		EXPECT_NE(0ULL, api.features & WSR_FEATURE_RESTORE);
		EXPECT_NE(0ULL, api.ioctls & WSR_IOCTL_BIT(WSR_IOC_WAIT));
	}
	/* The reserved words stay untouched on output. */
	for (i = 0; i < 5; i++)
		EXPECT_EQ(0ULL, api.reserved[i]);
	TH_LOG("api %llu features %#llx ioctls %#llx",
	       (unsigned long long)api.api,
	       (unsigned long long)api.features,
	       (unsigned long long)api.ioctls);

	/* A non-zero reserved word is refused, whichever it is. */
	for (i = 0; i < 5; i++) {
		struct wsr_api bad = { .api = WSR_API_VERSION };

		bad.reserved[i] = 1ULL << (i * 13);
		EXPECT_EQ(-EINVAL, wsr_ioctl(fd, WSR_IOC_API, &bad));
	}
	/* A bad pointer faults. */
	EXPECT_EQ(-EFAULT, wsr_ioctl(fd, WSR_IOC_API, NULL));
	/* The handshake may be repeated and gives the same answer. */
	ASSERT_EQ(0, wsr_handshake(fd, &again));
	EXPECT_EQ(api.features, again.features);
	EXPECT_EQ(api.ioctls, again.ioctls);
	close(fd);
}

TEST(unknown_ioctl)
{
	struct {
		__u64 w[16];
	} big = { { 0 } };
	int fd;

	fd = wsr_open();
	if (fd == -ENOENT)
		SKIP(return, "no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, fd);
	/* Undefined number in the wsr magic. */
	EXPECT_EQ(-ENOTTY, wsr_ioctl(fd, WSR_IOC_UNDEFINED, &big));
	EXPECT_EQ(-ENOTTY, wsr_ioctl(fd, _IO(WSR_IOC_MAGIC, 0x07), NULL));
	/* Another driver's magic with a wsr number. */
	EXPECT_EQ(-ENOTTY, wsr_ioctl(fd, _IOWR('x', 0x00, struct wsr_api),
				     &big));
	/* A defined number with a wrong direction or size is another cmd. */
	EXPECT_EQ(-ENOTTY, wsr_ioctl(fd, _IOR(WSR_IOC_MAGIC, 0x00,
					      struct wsr_api), &big));
	EXPECT_EQ(-ENOTTY, wsr_ioctl(fd, _IOW(WSR_IOC_MAGIC, 0x01,
					      __u64[16]), &big));
	EXPECT_EQ(-ENOTTY, wsr_ioctl(fd, _IO(WSR_IOC_MAGIC, 0x05), NULL));
	close(fd);
}

/*
 * Every way to get WSR_IOC_CREATE wrong, on one fd: none of them may leave
 * state behind, so a valid CREATE on the same fd succeeds afterwards, and
 * only once.
 */
TEST(create_validation)
{
	const struct wsr_create good = {
		.offset = 2 * WSR_HUGE, .length = WSR_HUGE,
	};
	struct wsr_create c;
	struct wsr_stats st;
	struct wsr_api api;
	int fd, snap, wronly, opath, devnull, dir, pfd[2], other, i;
	int closed_fd;

	fd = wsr_open();
	if (fd == -ENOENT)
		SKIP(return, "no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, wsr_handshake(fd, &api));
	snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, snap);

#define CREATE_FAILS(err, field, value) do {				\
	c = good;							\
	c.fd = snap;							\
	c.field = value;						\
	EXPECT_EQ(-(err), wsr_ioctl(fd, WSR_IOC_CREATE, &c))		\
		TH_LOG("CREATE with " #field " = " #value);		\
} while (0)

	/* Flags, reserved words. */
	CREATE_FAILS(EINVAL, flags, ~WSR_CREATE_FLAGS);
	CREATE_FAILS(EINVAL, flags, 1U << 3);
	CREATE_FAILS(EINVAL, flags, 1U << 31);
	for (i = 0; i < 5; i++)
		CREATE_FAILS(EINVAL, reserved[i], 1);
	/* Alignment and sizes. */
	CREATE_FAILS(EINVAL, offset, 1);
	CREATE_FAILS(EINVAL, offset, WSR_PAGE - 1);
	CREATE_FAILS(EINVAL, offset, WSR_HUGE + 512);
	CREATE_FAILS(EINVAL, length, 0);
	CREATE_FAILS(EINVAL, length, 1);
	CREATE_FAILS(EINVAL, length, WSR_HUGE + 100);
	/* Past the end of the file, and offset + length wrapping. */
	CREATE_FAILS(EINVAL, length, WSR_SNAP_SIZE);
	CREATE_FAILS(EINVAL, offset, WSR_SNAP_SIZE);
	CREATE_FAILS(EINVAL, offset, WSR_SNAP_SIZE - WSR_PAGE);
	CREATE_FAILS(EINVAL, offset, 1ULL << 62);
	CREATE_FAILS(EINVAL, offset, ~(WSR_PAGE - 1));
	CREATE_FAILS(EINVAL, length, ~(WSR_PAGE - 1));
	CREATE_FAILS(EINVAL, length, -(2 * WSR_HUGE));
	c = good;
	c.fd = snap;
	c.offset = ~(WSR_PAGE - 1);		/* wraps to 0x1000 */
	c.length = 2 * WSR_PAGE;
	EXPECT_EQ(-EINVAL, wsr_ioctl(fd, WSR_IOC_CREATE, &c));

	/* File descriptors that are not an open file. */
	CREATE_FAILS(EBADF, fd, -1);
	closed_fd = dup(snap);
	ASSERT_LE(0, closed_fd);
	close(closed_fd);
	CREATE_FAILS(EBADF, fd, closed_fd);
	CREATE_FAILS(EBADF, fd, 1 << 20);
	opath = open(WSR_SNAP, O_PATH | O_CLOEXEC);
	ASSERT_LE(0, opath);
	CREATE_FAILS(EBADF, fd, opath);

	/* Not regular files: pipe, char device, directory, wsr itself. */
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	CREATE_FAILS(EINVAL, fd, pfd[0]);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, devnull);
	CREATE_FAILS(EINVAL, fd, devnull);
	dir = open("/data", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, dir);
	CREATE_FAILS(EINVAL, fd, dir);
	CREATE_FAILS(EINVAL, fd, fd);
	other = wsr_open_api();
	ASSERT_LE(0, other);
	CREATE_FAILS(EINVAL, fd, other);

	/* Regular file, but not open for reading. */
	wronly = open(WSR_SNAP, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wronly);
	c = good;
	c.fd = wronly;
	ASSERT_EQ(-1, ioctl(fd, WSR_IOC_CREATE, &c));
	EXPECT_TRUE(errno == EBADF || errno == EACCES)
		TH_LOG("write-only snapshot fd: errno %d", errno);

	/* Bad argument pointer. */
	EXPECT_EQ(-EFAULT, wsr_ioctl(fd, WSR_IOC_CREATE, NULL));
	EXPECT_EQ(-EFAULT, wsr_ioctl(fd, WSR_IOC_CREATE, (void *)1));
#undef CREATE_FAILS

	/* None of that bound a region: the valid request succeeds now. */
	c = good;
	c.fd = snap;
	ASSERT_EQ(0, wsr_ioctl(fd, WSR_IOC_CREATE, &c));
	/* ... and exactly once per fd. */
	ASSERT_EQ(-1, ioctl(fd, WSR_IOC_CREATE, &c));
	EXPECT_TRUE(errno == EBUSY || errno == EINVAL)
		TH_LOG("second CREATE: errno %d", errno);
	c.offset = 0;
	ASSERT_EQ(-1, ioctl(fd, WSR_IOC_CREATE, &c));
	EXPECT_TRUE(errno == EBUSY || errno == EINVAL)
		TH_LOG("second CREATE: errno %d", errno);

	/* A fresh region has no history and no resident page. */
	ASSERT_EQ(0, wsr_get_stats(fd, &st));
	EXPECT_EQ(0ULL, st.faults);
	EXPECT_EQ(0ULL, st.pages_cache);
	EXPECT_EQ(0ULL, st.pages_device);
	EXPECT_EQ(0ULL, st.bytes_read);
	EXPECT_EQ(0ULL, st.restore_pending);
	EXPECT_EQ(0ULL, st.tracked);
	EXPECT_EQ(0ULL, st.resident_huge);
	EXPECT_EQ(0ULL, st.resident_small);
	EXPECT_EQ(0ULL, st.bytes_gap);
	for (i = 0; i < (int)ARRAY_SIZE(st.reserved); i++)
		EXPECT_EQ(0ULL, st.reserved[i]);
	EXPECT_EQ(-EFAULT, wsr_ioctl(fd, WSR_IOC_STATS, NULL));

	/* The largest valid region: the whole file, and its last page. */
	ASSERT_EQ(0, wsr_create(other, snap, 0, 0, WSR_SNAP_SIZE));
	close(other);
	other = wsr_open_api();
	ASSERT_LE(0, other);
	ASSERT_EQ(0, wsr_create(other, snap, WSR_CREATE_NO_HUGE,
				WSR_SNAP_SIZE - WSR_PAGE, WSR_PAGE));

	close(other);
	close(wronly);
	close(dir);
	close(devnull);
	close(pfd[0]);
	close(pfd[1]);
	close(opath);
	close(snap);
	close(fd);
}

/*
 * The handshake comes first ("always first" in the UAPI header): CREATE on
 * an fd that has not done it is refused and binds nothing.
 */
TEST(create_before_handshake)
{
	struct wsr_api api;
	int fd, snap;

	fd = wsr_open();
	if (fd == -ENOENT)
		SKIP(return, "no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, fd);
	snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, snap);
	EXPECT_EQ(-EINVAL, wsr_create(fd, snap, 0, 0, WSR_HUGE));
	ASSERT_EQ(0, wsr_handshake(fd, &api));
	EXPECT_EQ(0, wsr_create(fd, snap, 0, 0, WSR_HUGE));
	close(snap);
	close(fd);
}

/* Per-region ioctls on an fd that has no region yet. */
TEST(ioctl_without_region)
{
	uint64_t page = 0;
	struct wsr_get_ws g = { 0 };
	struct wsr_restore r;
	struct wsr_stats st;
	struct wsr_api api;
	void *p;
	int fd;

	fd = wsr_open();
	if (fd == -ENOENT)
		SKIP(return, "no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, wsr_handshake(fd, &api));
	EXPECT_EQ(-EINVAL, wsr_get_stats(fd, &st));
	if (api.features & WSR_FEATURE_TRACK) {
		EXPECT_EQ(-EINVAL, wsr_track(fd, WSR_TRACK_START));
		EXPECT_EQ(-EINVAL, wsr_ioctl(fd, WSR_IOC_GET_WS, &g));
	}
	if (api.features & WSR_FEATURE_RESTORE)
		EXPECT_EQ(-EINVAL, wsr_restore(fd, &page, 1, 0, &r));
	if (api.features & WSR_FEATURE_ASYNC)
		EXPECT_EQ(-EINVAL, wsr_wait(fd, 1));
	/* No region, nothing to map. */
	p = mmap(NULL, WSR_HUGE, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	if (p != MAP_FAILED)
		munmap(p, WSR_HUGE);
	close(fd);
}

/* Memory kinds: the module may use 2 MiB folios, or 4 KiB pages only. */
FIXTURE(region)
{
	int dev;
	int snap;
	struct wsr_api api;
	void *mem;
	size_t len;
	void *mem2;
	size_t len2;
	struct wsr_knob_save around;
};

FIXTURE_VARIANT(region)
{
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(region, huge)
{
	.flags = 0,
};

FIXTURE_VARIANT_ADD(region, small)
{
	.flags = WSR_CREATE_NO_HUGE,
};

FIXTURE_SETUP(region)
{
	ASSERT_EQ(0, wsr_drop_caches());
	self->dev = wsr_open();
	if (self->dev == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, wsr_handshake(self->dev, &self->api));
	if (!(variant->flags & WSR_CREATE_NO_HUGE) &&
	    !(self->api.features & WSR_FEATURE_HUGE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_HUGE");
	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " WSR_SNAP);
}

FIXTURE_TEARDOWN(region)
{
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, self->len);
	if (self->mem2 && self->mem2 != MAP_FAILED)
		munmap(self->mem2, self->len2);
	if (self->dev >= 0)
		close(self->dev);
	if (self->snap > 0)
		close(self->snap);
	EXPECT_EQ(0, wsr_knob_restore(&self->around));
}

static void *region_map(int fd, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

TEST_F(region, mmap_validation)
{
	const uint64_t len = 2 * WSR_HUGE;
	char *priv, *orig, *now;
	uint64_t i;
	void *p;

	orig = malloc(len);
	now = malloc(len);
	ASSERT_NE(NULL, orig);
	ASSERT_NE(NULL, now);
	ASSERT_EQ(0, wsr_pread_full(self->snap, orig, len, 4 * WSR_HUGE));

	/* Before CREATE there is nothing to map. */
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, self->dev, 0);
	ASSERT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, wsr_create(self->dev, self->snap, variant->flags,
				4 * WSR_HUGE, len));
	/*
	 * Every mapping is copy-on-write and private to itself: MAP_PRIVATE
	 * maps, reads the file's bytes, and its writes reach neither another
	 * mapping nor the file.
	 */
	priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		    self->dev, 0);
	ASSERT_NE(MAP_FAILED, priv);
	EXPECT_EQ(-1, wsr_cmp_file(priv, self->snap, 4 * WSR_HUGE, len));
	for (i = 0; i < len / WSR_PAGE; i += 37)
		wsr_store64(priv + i * WSR_PAGE, 0xbeef0000 + i);
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, self->dev, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, wsr_cmp_file(p, self->snap, 4 * WSR_HUGE, len));
	munmap(p, len);
	for (i = 0; i < len / WSR_PAGE; i += 37)
		EXPECT_EQ(0xbeef0000 + i, wsr_load64(priv + i * WSR_PAGE));
	ASSERT_EQ(0, wsr_pread_full(self->snap, now, len, 4 * WSR_HUGE));
	EXPECT_EQ(0, memcmp(orig, now, len));
	/* Beyond the region: too long, or offset pushing the end out. */
	p = mmap(NULL, len + WSR_PAGE, PROT_READ, MAP_SHARED, self->dev, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, self->dev, WSR_PAGE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, WSR_PAGE, PROT_READ, MAP_SHARED, self->dev, len);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	/*
	 * Exactly the region maps, and reads back the file: the private
	 * mapping's writes are in neither.
	 */
	self->len = len;
	self->mem = region_map(self->dev, len);
	ASSERT_NE(MAP_FAILED, self->mem);
	EXPECT_EQ(-1, wsr_cmp_file(self->mem, self->snap, 4 * WSR_HUGE, len));
	munmap(priv, len);

	/*
	 * A window inside the region (pgoff != 0), if the module allows it,
	 * shows the matching part of the file; its writes stay in it, and
	 * the first mapping's writes stay out of it.
	 */
	self->len2 = WSR_HUGE;
	self->mem2 = mmap(NULL, WSR_HUGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			  self->dev, WSR_HUGE);
	if (self->mem2 == MAP_FAILED) {
		EXPECT_EQ(EINVAL, errno);
		TH_LOG("partial mapping refused (EINVAL)");
		free(orig);
		free(now);
		return;
	}
	EXPECT_EQ(-1, wsr_cmp_file(self->mem2, self->snap,
				   5 * WSR_HUGE, WSR_HUGE));
	for (i = 0; i < WSR_HUGE_PAGES; i += 37)
		wsr_store64((char *)self->mem2 + i * WSR_PAGE,
			    0xdead0000 + i);
	for (i = 1; i < WSR_HUGE_PAGES; i += 37)
		wsr_store64((char *)self->mem + WSR_HUGE + i * WSR_PAGE,
			    0xfeed0000 + i);
	for (i = 0; i < WSR_HUGE_PAGES; i += 37) {
		EXPECT_EQ(0xdead0000 + i,
			  wsr_load64((char *)self->mem2 + i * WSR_PAGE));
		EXPECT_TRUE(wsr_page_equal((char *)self->mem + WSR_HUGE +
					   i * WSR_PAGE, self->snap,
					   5 * WSR_HUGE + i * WSR_PAGE));
	}
	for (i = 1; i < WSR_HUGE_PAGES; i += 37) {
		EXPECT_EQ(0xfeed0000 + i,
			  wsr_load64((char *)self->mem + WSR_HUGE +
				     i * WSR_PAGE));
		EXPECT_TRUE(wsr_page_equal((char *)self->mem2 + i * WSR_PAGE,
					   self->snap,
					   5 * WSR_HUGE + i * WSR_PAGE));
	}
	/* No mapping's writes reached the file. */
	ASSERT_EQ(0, wsr_pread_full(self->snap, now, len, 4 * WSR_HUGE));
	EXPECT_EQ(0, memcmp(orig, now, len));
	free(orig);
	free(now);
}

/*
 * Read an 8 MiB region from a cold cache, page by page in order: every
 * page is loaded exactly once, from the device, and the disk's read
 * sectors agree with bytes_read.  Then compare every byte.  Read-around
 * is off so that every 4 KiB page is a device fault of its own.
 */
TEST_F_TIMEOUT(region, integrity_sequential, 180)
{
	const uint64_t off = 4 * WSR_HUGE, len = 8ULL << 20;
	const uint64_t npages = len / WSR_PAGE;
	struct wsr_stats st, st2;
	uint64_t s0, s1, disk, i;
	int64_t diff;

	ASSERT_EQ(0, wsr_knob_override(&self->around, "read_around_kb", 0));
	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
	ASSERT_EQ(0, wsr_create(self->dev, self->snap, variant->flags,
				off, len));
	self->len = len;
	self->mem = region_map(self->dev, len);
	ASSERT_NE(MAP_FAILED, self->mem);

	ASSERT_EQ(0, wsr_disk_sectors_read(&s0));
	for (i = 0; i < npages; i++)
		wsr_touch(self->mem, i);
	ASSERT_EQ(0, wsr_disk_sectors_read(&s1));
	disk = (s1 - s0) * 512;

	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	TH_LOG("faults %llu huge %llu cache %llu device %llu present %llu",
	       (unsigned long long)st.faults,
	       (unsigned long long)st.faults_huge,
	       (unsigned long long)st.faults_cache,
	       (unsigned long long)st.faults_device,
	       (unsigned long long)st.faults_present);
	TH_LOG("pages cache %llu device %llu, bytes %llu, disk %llu",
	       (unsigned long long)st.pages_cache,
	       (unsigned long long)st.pages_device,
	       (unsigned long long)st.bytes_read,
	       (unsigned long long)disk);
	/* Every page resident once, loaded once, from the device. */
	EXPECT_EQ(npages, st.resident_small +
			  st.resident_huge * WSR_HUGE_PAGES);
	EXPECT_EQ(0ULL, st.pages_cache);
	EXPECT_EQ(npages, st.pages_device);
	EXPECT_EQ(len, st.bytes_read);
	EXPECT_LE(st.bytes_read, disk);
	EXPECT_GE(st.bytes_read + WSR_METADATA_SLACK, disk);
	/* Each fault is served from exactly one source. */
	EXPECT_EQ(st.faults, st.faults_present + st.faults_cache +
			     st.faults_device);
	EXPECT_LT(0ULL, st.faults_device);
	EXPECT_EQ(0ULL, st.faults_cache);
	EXPECT_LE(st.faults_huge, st.faults);
	EXPECT_GE(npages, st.faults);
	EXPECT_EQ(0ULL, st.faults_waited);
	EXPECT_EQ(0ULL, st.restore_pending);
	if (variant->flags & WSR_CREATE_NO_HUGE) {
		EXPECT_EQ(0ULL, st.faults_huge);
		EXPECT_EQ(0ULL, st.resident_huge);
		EXPECT_EQ(0, wsr_smaps_kb(self->mem, "FilePmdMapped"));
	} else {
		EXPECT_LE(st.resident_huge, len / WSR_HUGE);
	}

	diff = wsr_cmp_file(self->mem, self->snap, off, len);
	ASSERT_EQ(-1, diff) TH_LOG("first difference at region byte %lld",
				   (long long)diff);
	/* The comparison faulted no more and loaded nothing. */
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st2));
	EXPECT_EQ(st.faults, st2.faults);
	EXPECT_EQ(st.bytes_read, st2.bytes_read);
	EXPECT_EQ(st.pages_cache, st2.pages_cache);
	EXPECT_EQ(st.pages_device, st2.pages_device);
}

/*
 * Fault the pages of a region in a shuffled order (middle subpages of a
 * chunk first) and check each page right after its fault; the region
 * starts at a file offset that is page- but not 2 MiB-aligned and ends
 * with a partial chunk.
 */
TEST_F_TIMEOUT(region, integrity_random_order, 180)
{
	const uint64_t off = 3 * WSR_PAGE, len = 3 * WSR_HUGE + 5 * WSR_PAGE;
	const uint64_t npages = len / WSR_PAGE;
	uint64_t *order, i, bad = 0, first_bad = 0;
	struct wsr_stats st;

	order = malloc(npages * sizeof(*order));
	ASSERT_NE(NULL, order);
	for (i = 0; i < npages; i++)
		order[i] = i;
	wsr_shuffle(order, npages, 0x5eed1234);

	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
	ASSERT_EQ(0, wsr_create(self->dev, self->snap, variant->flags,
				off, len));
	self->len = len;
	self->mem = region_map(self->dev, len);
	ASSERT_NE(MAP_FAILED, self->mem);

	for (i = 0; i < npages; i++) {
		uint64_t p = order[i];

		if (!wsr_page_equal((char *)self->mem + p * WSR_PAGE,
				    self->snap, off + p * WSR_PAGE)) {
			if (!bad++)
				first_bad = p;
		}
	}
	EXPECT_EQ(0ULL, bad) TH_LOG("%llu pages differ, first page %llu",
				 (unsigned long long)bad,
				 (unsigned long long)first_bad);
	ASSERT_EQ(-1, wsr_cmp_file(self->mem, self->snap, off, len));

	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(npages, st.pages_cache + st.pages_device);
	EXPECT_EQ(st.pages_device * WSR_PAGE, st.bytes_read);
	EXPECT_EQ(npages, st.resident_small +
			  st.resident_huge * WSR_HUGE_PAGES);
	EXPECT_EQ(st.faults, st.faults_present + st.faults_cache +
			     st.faults_device);
	EXPECT_GE(npages, st.faults);
	if (variant->flags & WSR_CREATE_NO_HUGE)
		EXPECT_EQ(0ULL, st.resident_huge);
	free(order);
}

/*
 * Writes through a mapping stay in that mapping (copy-on-write): the file
 * is unchanged (in the page cache and on disk), the mapping sees them and
 * its untouched bytes still equal the file; a second mapping of the same
 * region does not see them, a forked child gets a copy (its writes and
 * the parent's after the fork stay apart), and a new mapping after munmap
 * shows the file's bytes again.
 */
TEST_F_TIMEOUT(region, private_writes, 120)
{
	const uint64_t off = 2 * WSR_HUGE, len = 4 * WSR_HUGE;
	/* Page indices: first, a 2 MiB boundary pair, middle, last. */
	const uint64_t pages[] = {
		0, WSR_HUGE_PAGES - 1, WSR_HUGE_PAGES, 700,
		3 * WSR_HUGE_PAGES + 17, len / WSR_PAGE - 1,
	};
	const size_t np = ARRAY_SIZE(pages);
	char *orig, *file, *disk, *m, *m2, ch;
	int to_child[2], to_parent[2];
	uint64_t i;
	int status;
	pid_t pid;

	orig = malloc(len);
	file = malloc(len);
	disk = malloc(len);
	ASSERT_NE(NULL, orig);
	ASSERT_NE(NULL, file);
	ASSERT_NE(NULL, disk);
	ASSERT_EQ(0, wsr_pread_full(self->snap, orig, len, off));

	ASSERT_EQ(0, wsr_create(self->dev, self->snap, variant->flags,
				off, len));
	self->len = len;
	self->mem = region_map(self->dev, len);
	ASSERT_NE(MAP_FAILED, self->mem);
	m = self->mem;

	/* Page 700 is read first, then written; the others are write-first. */
	ASSERT_EQ(0, memcmp(m + 700 * WSR_PAGE, orig + 700 * WSR_PAGE,
			    WSR_PAGE));
	for (i = 0; i < np; i++)
		memset(m + pages[i] * WSR_PAGE + 64, 0x5a + i, 512);
	/* A write straddling the 2 MiB boundary between chunk 0 and 1. */
	memset(m + WSR_HUGE - 8, 0xc3, 16);
	/* A whole page overwritten. */
	memset(m + 3 * WSR_HUGE, 0x11, WSR_PAGE);

	/* Build what the region must now hold. */
	for (i = 0; i < np; i++)
		memset(orig + pages[i] * WSR_PAGE + 64, 0x5a + i, 512);
	memset(orig + WSR_HUGE - 8, 0xc3, 16);
	memset(orig + 3 * WSR_HUGE, 0x11, WSR_PAGE);
	EXPECT_EQ(0, memcmp(m, orig, len));

	/* The file is unchanged, in the page cache... */
	ASSERT_EQ(0, wsr_pread_full(self->snap, file, len, off));
	EXPECT_EQ(-1, wsr_cmp_file(file, self->snap, off, len));
	for (i = 0; i < np; i++)
		EXPECT_NE(0, memcmp(file + pages[i] * WSR_PAGE + 64,
				    orig + pages[i] * WSR_PAGE + 64, 512));
	EXPECT_NE(0, memcmp(file + 3 * WSR_HUGE, orig + 3 * WSR_HUGE,
			    WSR_PAGE));
	/* ... and on disk after the cache is dropped. */
	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
	ASSERT_EQ(0, wsr_pread_full(self->snap, disk, len, off));
	EXPECT_EQ(0, memcmp(disk, file, len));

	/*
	 * A second mapping of the same region has its own copy-on-write
	 * view: the file's bytes, not the first mapping's writes.
	 */
	self->len2 = len;
	self->mem2 = region_map(self->dev, len);
	ASSERT_NE(MAP_FAILED, self->mem2);
	m2 = self->mem2;
	EXPECT_EQ(0, memcmp(m2, file, len));
	/* Its writes stay in it, out of the first mapping. */
	m2[5 * WSR_PAGE + 9] = (char)(file[5 * WSR_PAGE + 9] ^ 0x77);
	EXPECT_EQ((char)(file[5 * WSR_PAGE + 9] ^ 0x77), m2[5 * WSR_PAGE + 9]);
	EXPECT_EQ(orig[5 * WSR_PAGE + 9], m[5 * WSR_PAGE + 9]);
	EXPECT_EQ(0, memcmp(m, orig, len));

	/*
	 * A child gets a copy-on-write copy of the first mapping as it was
	 * at the fork; the child's writes and the parent's after the fork
	 * stay apart.
	 */
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char c;

		if (memcmp(m, orig, len))
			_exit(1);
		m[WSR_HUGE + 3] = (char)(orig[WSR_HUGE + 3] ^ 0x42);
		if (write(to_parent[1], "w", 1) != 1)
			_exit(2);
		if (read(to_child[0], &c, 1) != 1)
			_exit(3);
		/* The parent's write after the fork is not here. */
		if (m[WSR_HUGE + 5] != orig[WSR_HUGE + 5] ||
		    m[WSR_HUGE + 3] != (char)(orig[WSR_HUGE + 3] ^ 0x42))
			_exit(4);
		orig[WSR_HUGE + 3] ^= 0x42;
		_exit(memcmp(m, orig, len) ? 5 : 0);
	}
	/* Only the child writes to the parent: a dead child reads as EOF. */
	close(to_parent[1]);
	close(to_child[0]);
	ASSERT_EQ(1, read(to_parent[0], &ch, 1));
	/* The child's write is not in the parent. */
	EXPECT_EQ(orig[WSR_HUGE + 3], m[WSR_HUGE + 3]);
	m[WSR_HUGE + 5] = (char)(orig[WSR_HUGE + 5] ^ 0xff);
	orig[WSR_HUGE + 5] ^= 0xff;
	ASSERT_EQ(1, write(to_child[1], "p", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, memcmp(m, orig, len));
	close(to_child[1]);
	close(to_parent[0]);

	/*
	 * Unmapping every mapping keeps the region while the fd lives; a new
	 * mapping shows the file's bytes again (the writes were the old
	 * mappings' own pages).
	 */
	munmap(self->mem, len);
	munmap(self->mem2, len);
	self->mem2 = NULL;
	self->mem = region_map(self->dev, len);
	ASSERT_NE(MAP_FAILED, self->mem);
	EXPECT_EQ(0, memcmp(self->mem, file, len));
	/* The file still holds the original bytes. */
	EXPECT_EQ(-1, wsr_cmp_file(file, self->snap, off, len));

	free(disk);
	free(file);
	free(orig);
}

/*
 * Closing the fd does not pull the region from under a live mapping; the
 * mapping keeps reading the file's bytes and the writes made before.  The
 * module-wide region count shows the region live until the last mapping
 * goes, and gone after.
 */
TEST_F_TIMEOUT(region, close_then_access, 120)
{
	const uint64_t off = 6 * WSR_HUGE, len = 2 * WSR_HUGE;
	uint64_t base, n;
	unsigned char c;
	char *m;

	ASSERT_EQ(0, wsr_knob_get("regions", &base));
	ASSERT_EQ(0, wsr_create(self->dev, self->snap, variant->flags,
				off, len));
	ASSERT_EQ(0, wsr_knob_get("regions", &n));
	EXPECT_EQ(base + 1, n);
	self->len = len;
	self->mem = region_map(self->dev, len);
	ASSERT_NE(MAP_FAILED, self->mem);
	m = self->mem;
	ASSERT_TRUE(wsr_page_equal(m, self->snap, off));
	m[100] ^= 0xff;
	close(self->dev);
	self->dev = -1;
	ASSERT_EQ(0, wsr_knob_get("regions", &n));
	EXPECT_EQ(base + 1, n);

	/* Faults after close: untouched pages and the written byte. */
	EXPECT_EQ(-1, wsr_cmp_file(m + WSR_PAGE, self->snap, off + WSR_PAGE,
				   len - WSR_PAGE));
	ASSERT_EQ(0, wsr_pread_full(self->snap, &c, 1, off + 100));
	EXPECT_EQ((unsigned char)(c ^ 0xff), (unsigned char)m[100]);

	munmap(self->mem, len);
	self->mem = NULL;
	EXPECT_EQ((int64_t)base, wsr_wait_regions(base, 2000));
}

/* An fd closed before it got a region, or before mmap, leaves nothing. */
TEST_F(region, close_without_mapping)
{
	uint64_t base;
	int fd;

	ASSERT_EQ(0, wsr_knob_get("regions", &base));
	ASSERT_EQ(0, wsr_create(self->dev, self->snap, variant->flags,
				0, WSR_HUGE));
	close(self->dev);
	self->dev = -1;
	EXPECT_EQ((int64_t)base, wsr_wait_regions(base, 2000));
	fd = wsr_open();
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ((int64_t)base, wsr_wait_regions(base, 0));
}

/*
 * Read-around: a 4 KiB device fault also reads the read_around_kb window
 * centred on its page (clipped to the region) into the snapshot's page
 * cache, so faults on the neighbours are copies, not device reads.  The
 * neighbours are counted in bytes_around, the page itself in bytes_read,
 * and the disk agrees.  A 4 KiB region: 2 MiB chunks load whole anyway.
 */
#define AROUND_OFF	(4 * WSR_HUGE)
#define AROUND_PAGES	1024ULL
#define AROUND_WIN	32ULL	/* read_around_kb = 128 */

FIXTURE(around)
{
	int dev;
	int snap;
	char *mem;
	unsigned char vec[AROUND_PAGES + 64];
	struct wsr_knob_save knob;
};

FIXTURE_SETUP(around)
{
	ASSERT_EQ(0, wsr_drop_caches());
	self->dev = wsr_open_api();
	if (self->dev == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, self->dev);
	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " WSR_SNAP);
	/* The comparisons' own preads must not read ahead. */
	ASSERT_EQ(0, posix_fadvise(self->snap, 0, 0, POSIX_FADV_RANDOM));
	ASSERT_EQ(0, wsr_knob_override(&self->knob, "read_around_kb",
				       AROUND_WIN * WSR_PAGE / 1024));
	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
	ASSERT_EQ(0, wsr_create(self->dev, self->snap, WSR_CREATE_NO_HUGE,
				AROUND_OFF, AROUND_PAGES * WSR_PAGE));
	self->mem = region_map(self->dev, AROUND_PAGES * WSR_PAGE);
	ASSERT_NE(MAP_FAILED, self->mem);
}

FIXTURE_TEARDOWN(around)
{
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, AROUND_PAGES * WSR_PAGE);
	if (self->dev >= 0)
		close(self->dev);
	if (self->snap > 0)
		close(self->snap);
	EXPECT_EQ(0, wsr_knob_restore(&self->knob));
}

/* Touch page @p, compare it with the file; the disk bytes read meanwhile. */
static uint64_t around_touch(struct __test_metadata *_metadata,
			     const char *mem, int snap, uint64_t p)
{
	uint64_t s0, s1;

	EXPECT_EQ(0, wsr_disk_sectors_read(&s0));
	EXPECT_TRUE(wsr_page_equal(mem + p * WSR_PAGE, snap,
				   AROUND_OFF + p * WSR_PAGE))
		TH_LOG("page %llu differs", (unsigned long long)p);
	EXPECT_EQ(0, wsr_disk_sectors_read(&s1));
	return (s1 - s0) * 512;
}

TEST_F_TIMEOUT(around, neighbours_come_from_cache, 120)
{
	const uint64_t mid = 500, lo = mid - AROUND_WIN / 2;
	struct wsr_stats st0, st1, st2;
	uint64_t disk, p;
	long maj0, maj1;

	maj0 = wsr_majflt();
	disk = around_touch(_metadata, self->mem, self->snap, mid);
	maj1 = wsr_majflt();
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st0));
	TH_LOG("fault at %llu: disk %llu, bytes_read %llu, bytes_around %llu, pages cache %llu device %llu",
	       (unsigned long long)mid, (unsigned long long)disk,
	       (unsigned long long)st0.bytes_read,
	       (unsigned long long)st0.bytes_around,
	       (unsigned long long)st0.pages_cache,
	       (unsigned long long)st0.pages_device);
	EXPECT_EQ(1, maj1 - maj0);
	EXPECT_EQ(1ULL, st0.faults_device);
	EXPECT_EQ(WSR_PAGE, st0.bytes_read);
	EXPECT_EQ((AROUND_WIN - 1) * WSR_PAGE, st0.bytes_around);
	EXPECT_LE(AROUND_WIN * WSR_PAGE, disk);
	EXPECT_GE(AROUND_WIN * WSR_PAGE + WSR_METADATA_SLACK, disk);
	/* Exactly the window is cached: [mid - 16, mid + 16). */
	EXPECT_EQ((long)AROUND_WIN,
		  wsr_file_resident(self->snap, AROUND_OFF,
				    AROUND_PAGES * WSR_PAGE, self->vec));
	EXPECT_EQ(0, self->vec[lo - 1] & 1);
	EXPECT_EQ(1, self->vec[lo] & 1);
	EXPECT_EQ(1, self->vec[lo + AROUND_WIN - 1] & 1);
	EXPECT_EQ(0, self->vec[lo + AROUND_WIN] & 1);

	/* The neighbours: copies, no major fault, no disk read. */
	maj0 = wsr_majflt();
	disk = 0;
	for (p = lo; p < lo + AROUND_WIN; p++)
		if (p != mid)
			disk += around_touch(_metadata, self->mem, self->snap,
					     p);
	maj1 = wsr_majflt();
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st1));
	EXPECT_EQ(0, maj1 - maj0);
	EXPECT_EQ(AROUND_WIN - 1, st1.faults_cache);
	EXPECT_EQ(1ULL, st1.faults_device);
	EXPECT_EQ(st0.bytes_read, st1.bytes_read);
	EXPECT_EQ(st0.bytes_around, st1.bytes_around);
	EXPECT_GE(WSR_METADATA_SLACK, disk);

	/* Just past the window: a device fault, its window overlaps. */
	disk = around_touch(_metadata, self->mem, self->snap,
			    lo + AROUND_WIN);
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st2));
	EXPECT_EQ(2ULL, st2.faults_device);
	EXPECT_EQ(2 * WSR_PAGE, st2.bytes_read);
	/* New window [mid, mid + 32): 16 pages not cached before, minus 1. */
	EXPECT_EQ(st1.bytes_around + (AROUND_WIN / 2 - 1) * WSR_PAGE,
		  st2.bytes_around);
	EXPECT_LE(AROUND_WIN / 2 * WSR_PAGE, disk);
	EXPECT_GE(AROUND_WIN / 2 * WSR_PAGE + WSR_METADATA_SLACK, disk);
}

/* The window is clipped to the region: nothing outside it is read. */
TEST_F_TIMEOUT(around, window_stays_in_region, 120)
{
	const uint64_t last = AROUND_PAGES - 1;
	struct wsr_stats st;

	around_touch(_metadata, self->mem, self->snap, 0);
	around_touch(_metadata, self->mem, self->snap, last);
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(2ULL, st.faults_device);
	/* [0, 32) and [last - 16, last + 1). */
	EXPECT_EQ((AROUND_WIN - 1 + AROUND_WIN / 2) * WSR_PAGE,
		  st.bytes_around);
	EXPECT_EQ((long)(AROUND_WIN + AROUND_WIN / 2 + 1),
		  wsr_file_resident(self->snap, AROUND_OFF,
				    AROUND_PAGES * WSR_PAGE, self->vec));
	/* Neither the 64 pages after the region nor the 64 before. */
	EXPECT_EQ(0L, wsr_file_resident(self->snap,
					AROUND_OFF + AROUND_PAGES * WSR_PAGE,
					64 * WSR_PAGE, self->vec));
	EXPECT_EQ(0L, wsr_file_resident(self->snap, AROUND_OFF - 64 * WSR_PAGE,
					64 * WSR_PAGE, self->vec));
}

/*
 * The window stops at pages the region holds already: a restore read
 * 490, 495 and 510 directly (no page-cache copy), and a fault at 500 then
 * reads [496, 510) only, not those pages again.
 */
TEST_F_TIMEOUT(around, window_skips_loaded_pages, 120)
{
	const uint64_t ws[] = { 490, 495, 510 };
	struct wsr_restore r;
	struct wsr_stats st;
	uint64_t disk;

	ASSERT_EQ(0, wsr_restore(self->dev, ws, ARRAY_SIZE(ws), 0, &r));
	ASSERT_EQ((__u64)ARRAY_SIZE(ws), r.from_device);
	disk = around_touch(_metadata, self->mem, self->snap, 500);
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(1ULL, st.faults_device);
	EXPECT_EQ(13 * WSR_PAGE, st.bytes_around);
	EXPECT_LE(14 * WSR_PAGE, disk);
	EXPECT_GE(14 * WSR_PAGE + WSR_METADATA_SLACK, disk);
	EXPECT_EQ(14L, wsr_file_resident(self->snap, AROUND_OFF,
					 AROUND_PAGES * WSR_PAGE, self->vec));
	EXPECT_EQ(0, self->vec[495] & 1);
	EXPECT_EQ(1, self->vec[496] & 1);
	EXPECT_EQ(1, self->vec[509] & 1);
	EXPECT_EQ(0, self->vec[510] & 1);
}

/* read_around_kb 0: a device fault reads its own page only. */
TEST_F_TIMEOUT(around, off_reads_one_page, 120)
{
	struct wsr_stats st;
	uint64_t disk;

	ASSERT_EQ(0, wsr_knob_override(&self->knob, "read_around_kb", 0));
	disk = around_touch(_metadata, self->mem, self->snap, 500);
	ASSERT_EQ(0, wsr_get_stats(self->dev, &st));
	EXPECT_EQ(1ULL, st.faults_device);
	EXPECT_EQ(0ULL, st.bytes_around);
	EXPECT_LE(WSR_PAGE, disk);
	EXPECT_GE(WSR_PAGE + WSR_METADATA_SLACK, disk);
	EXPECT_EQ(1L, wsr_file_resident(self->snap, AROUND_OFF,
					AROUND_PAGES * WSR_PAGE, self->vec));
}

/*
 * Unloading the module while a region exists (fd open, or only a mapping)
 * is refused; once the last reference is gone it succeeds.  The fixture
 * loads the module again in every case, for the suites that follow.
 */
FIXTURE(unload)
{
	int dev;
	int snap;
	void *mem;
	size_t len;
};

FIXTURE_SETUP(unload)
{
	ASSERT_EQ(0, wsr_drop_caches());
	self->dev = -1;
	self->snap = -1;
	if (access("/sys/module/wsr", F_OK))
		WSR_SETUP_SKIP("wsr module not loaded");
	if (access(WSR_KO, R_OK))
		WSR_SETUP_SKIP("no " WSR_KO " to load the module again");
}

FIXTURE_TEARDOWN(unload)
{
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, self->len);
	if (self->dev >= 0)
		close(self->dev);
	if (self->snap >= 0)
		close(self->snap);
	if (access("/sys/module/wsr", F_OK)) {
		int ret = wsr_load_module();

		/* EXPECT: an ASSERT here would re-enter the teardown. */
		EXPECT_EQ(0, ret) TH_LOG("reloading " WSR_KO " failed");
	}
}

static bool unload_refused(int ret)
{
	return ret == -EBUSY || ret == -EAGAIN;
}

TEST_F_TIMEOUT(unload, refused_while_region_exists, 60)
{
	struct wsr_api api;
	int ret;

	self->dev = wsr_open_api();
	ASSERT_LE(0, self->dev);
	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap);
	self->len = WSR_HUGE;
	ASSERT_EQ(0, wsr_create(self->dev, self->snap, 0, 0, self->len));
	self->mem = region_map(self->dev, self->len);
	ASSERT_NE(MAP_FAILED, self->mem);
	ASSERT_TRUE(wsr_page_equal(self->mem, self->snap, 0));

	/* Region with open fd and mapping. */
	ret = wsr_unload_module();
	EXPECT_TRUE(unload_refused(ret)) TH_LOG("delete_module: %d", ret);
	ASSERT_EQ(0, access("/sys/module/wsr", F_OK));

	/* Only the mapping holds the region now. */
	close(self->dev);
	self->dev = -1;
	ret = wsr_unload_module();
	EXPECT_TRUE(unload_refused(ret)) TH_LOG("delete_module: %d", ret);
	ASSERT_EQ(0, access("/sys/module/wsr", F_OK));
	/* The region still works after the refused unloads. */
	EXPECT_EQ(-1, wsr_cmp_file(self->mem, self->snap, 0, self->len));

	/* Last reference gone: the unload goes through. */
	munmap(self->mem, self->len);
	self->mem = NULL;
	ASSERT_EQ(0, wsr_unload_module());
	EXPECT_NE(0, access("/sys/module/wsr", F_OK));
	EXPECT_EQ(-ENOENT, wsr_open());

	/* And the module comes back usable. */
	ASSERT_EQ(0, wsr_load_module());
	self->dev = wsr_open();
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, wsr_handshake(self->dev, &api));
	EXPECT_EQ((__u64)WSR_API_VERSION, api.api);
	ASSERT_EQ(0, wsr_create(self->dev, self->snap, WSR_CREATE_NO_HUGE,
				WSR_PAGE, WSR_PAGE));
	self->mem = region_map(self->dev, WSR_PAGE);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->len = WSR_PAGE;
	EXPECT_TRUE(wsr_page_equal(self->mem, self->snap, WSR_PAGE));
}

WSR_HARNESS_MAIN
