// SPDX-License-Identifier: GPL-2.0-or-later
/* Snapshot identity and the region wrappers' error paths (no kernel). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"
#include "wsr-private.h"

/* A file of @npages pages, page i filled with byte (i * 7 + seed). */
static int make_snapshot(const char *name, uint64_t npages, int seed)
{
	unsigned char page[WSR_PAGE_SIZE];
	char path[512];
	uint64_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	for (i = 0; i < npages; i++) {
		memset(page, (int)(i * 7 + seed), sizeof(page));
		if (pwrite(fd, page, sizeof(page), i * WSR_PAGE_SIZE) !=
		    (ssize_t)sizeof(page)) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void poke(int fd, uint64_t page, size_t off)
{
	unsigned char b = 0xa5;

	if (pwrite(fd, &b, 1, page * WSR_PAGE_SIZE + off) != 1)
		abort();
}

TEST(snapshot_id_deterministic_and_sampled)
{
	struct wsr_snapshot_id a, b;
	int fd = make_snapshot("big.snap", 1000, 1);

	CHECK(fd >= 0);
	CHECK_EQ(wsr_snapshot_id(fd, 0, 1000 * 4096ull, &a), 0);
	CHECK_EQ(wsr_snapshot_id(fd, 0, 1000 * 4096ull, &b), 0);
	CHECK(!memcmp(&a, &b, sizeof(a)));
	CHECK_EQ(a.method, WSR_FP_SAMPLED64);
	CHECK_EQ(a.samples, 64);
	CHECK_EQ(a.length, 1000 * 4096ull);
	/* first and last pages are sampled */
	poke(fd, 0, 100);
	CHECK_EQ(wsr_snapshot_id(fd, 0, 1000 * 4096ull, &b), 0);
	CHECK(a.fingerprint != b.fingerprint);
	CHECK_EQ(wsr_snapshot_id(fd, 0, 1000 * 4096ull, &a), 0);
	poke(fd, 999, 4095);
	CHECK_EQ(wsr_snapshot_id(fd, 0, 1000 * 4096ull, &b), 0);
	CHECK(a.fingerprint != b.fingerprint);
	/* page 1 is not among the 64 samples of 1000: documented blind spot */
	CHECK_EQ(wsr_snapshot_id(fd, 0, 1000 * 4096ull, &a), 0);
	poke(fd, 1, 0);
	CHECK_EQ(wsr_snapshot_id(fd, 0, 1000 * 4096ull, &b), 0);
	CHECK(a.fingerprint == b.fingerprint);
	/* a different length is a different identity */
	CHECK_EQ(wsr_snapshot_id(fd, 0, 999 * 4096ull, &b), 0);
	CHECK(a.fingerprint != b.fingerprint);
	close(fd);
}

TEST(snapshot_id_small_file_hashes_every_page)
{
	struct wsr_snapshot_id a, b;
	int fd = make_snapshot("small.snap", 40, 3);
	uint64_t p;

	CHECK(fd >= 0);
	CHECK_EQ(wsr_snapshot_id(fd, 0, 40 * 4096ull, &a), 0);
	CHECK_EQ(a.samples, 40);
	for (p = 0; p < 40; p++) {
		poke(fd, p, p * 13);
		CHECK_EQ(wsr_snapshot_id(fd, 0, 40 * 4096ull, &b), 0);
		CHECKF(a.fingerprint != b.fingerprint, "page %llu",
		       (unsigned long long)p);
		a = b;
	}
	close(fd);
}

TEST(snapshot_id_offset_and_errors)
{
	struct wsr_snapshot_id a, b;
	int fd = make_snapshot("off.snap", 16, 5);

	CHECK(fd >= 0);
	/* a range at another offset hashes its own pages */
	CHECK_EQ(wsr_snapshot_id(fd, 0, 4 * 4096, &a), 0);
	CHECK_EQ(wsr_snapshot_id(fd, 8 * 4096, 4 * 4096, &b), 0);
	CHECK(a.fingerprint != b.fingerprint);	/* contents differ */
	CHECK_EQ(b.offset, 8 * 4096);
	CHECK_EQ(wsr_snapshot_id(fd, 0, 17 * 4096, &a), -ENXIO);
	CHECK_EQ(wsr_snapshot_id(fd, 12 * 4096, 8 * 4096, &a), -ENXIO);
	CHECK_EQ(wsr_snapshot_id(fd, 1, 4096, &a), -EINVAL);
	CHECK_EQ(wsr_snapshot_id(fd, 0, 100, &a), -EINVAL);
	CHECK_EQ(wsr_snapshot_id(fd, 0, 0, &a), -EINVAL);
	CHECK_EQ(wsr_snapshot_id(-1, 0, 4096, &a), -EINVAL);
	CHECK_EQ(wsr_snapshot_id(fd, UINT64_MAX & ~4095ull, 8192, &a),
		 -EINVAL);
	close(fd);
}

TEST(base_errors_without_module)
{
	struct wsr_base_info *v = NULL;
	struct wsr_region *r = NULL;
	char path[512], longname[80];
	size_t n = 0;
	int fd = make_snapshot("b.snap", 4, 0);

	CHECK(fd >= 0);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	snprintf(path, sizeof(path), "%s/no-such-dev", test_tmpdir());
	/* Names are checked before the device is opened. */
	CHECK_EQ(wsr_base_create(path, "", fd, 0, 4096, 0), -EINVAL);
	CHECK_EQ(wsr_base_create(path, ".x", fd, 0, 4096, 0), -EINVAL);
	CHECK_EQ(wsr_base_create(path, "a/b", fd, 0, 4096, 0), -EINVAL);
	CHECK_EQ(wsr_base_create(path, longname, fd, 0, 4096, 0),
		 -ENAMETOOLONG);
	CHECK_EQ(wsr_base_create(path, "ok", fd, 0, 100, 0), -EINVAL);
	CHECK_EQ(wsr_base_create(path, "ok", fd, 0, 4096, WSR_CREATE_TRACK),
		 -EINVAL);
	CHECK_EQ(wsr_base_create(path, "ok", -1, 0, 4096, 0), -EINVAL);
	CHECK_EQ(wsr_base_drop(path, "a b"), -EINVAL);
	CHECK_EQ(wsr_base_open(path, "a b", &r), -EINVAL);
	CHECK_EQ(wsr_base_list(path, NULL, &n), -EINVAL);
	/* Then the device: missing, or not wsr. */
	CHECK_EQ(wsr_base_create(path, "ok", fd, 0, 4096, 0), -ENOENT);
	CHECK_EQ(wsr_base_drop(path, "ok"), -ENOENT);
	CHECK_EQ(wsr_base_open(path, "ok", &r), -ENOENT);
	CHECK_EQ(wsr_base_list(path, &v, &n), -ENOENT);
	CHECK_EQ(wsr_base_list("/dev/null", &v, &n), -ENOTTY);
	CHECK(!r && !v && !n);
	close(fd);
}

TEST(region_errors_without_module)
{
	struct wsr_region *r = NULL;
	char path[512];
	int fd = make_snapshot("r.snap", 4, 0);

	CHECK(fd >= 0);
	snprintf(path, sizeof(path), "%s/no-such-dev", test_tmpdir());
	CHECK_EQ(wsr_region_create(path, fd, 0, 4096, 0, &r), -ENOENT);
	/* a file that is not the wsr device: the handshake fails */
	CHECK_EQ(wsr_region_create("/dev/null", fd, 0, 4096, 0, &r), -ENOTTY);
	CHECK_EQ(wsr_region_create(NULL, fd, 0, 100, 0, &r), -EINVAL);
	CHECK_EQ(wsr_region_create(NULL, fd, 0, 4096, 0x80, &r), -EINVAL);
	CHECK_EQ(wsr_region_create(NULL, -1, 0, 4096, 0, &r), -EINVAL);
	CHECK(!r);
	CHECK_EQ(wsr_region_track(NULL, WSR_TRACK_START), -EINVAL);
	CHECK_EQ(wsr_region_fd(NULL), -EINVAL);
	wsr_region_destroy(NULL);
	close(fd);
}
