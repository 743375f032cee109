// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Snapshot identity: the region length plus a sampled content fingerprint.
 *
 * Hashing a whole snapshot would read all of it, which is what wsr exists to
 * avoid (and costs seconds for 256 MiB under TCG).  WSR_FP_SAMPLED64 hashes
 * 64 pages spread evenly over the region instead (all pages if there are 64
 * or fewer): page k * (n - 1) / 63 for k = 0..63, where n is the number of
 * pages, so the first and last page are always included.  It catches a
 * different snapshot or a re-written one with near certainty, but not a
 * change confined to pages that are not sampled: see wsr_snapshot_id(3).
 *
 * The samples are read with O_DIRECT when the file system allows it so that
 * computing an identity does not populate the page cache (which would change
 * what a later restore finds there).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "wsr-private.h"

#define FNV64_OFFSET	0xcbf29ce484222325ull
#define FNV64_PRIME	0x100000001b3ull

static uint64_t fnv1a64(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len--) {
		h ^= *p++;
		h *= FNV64_PRIME;
	}
	return h;
}

static int read_page(int fd, int *dfd, void *buf, uint64_t off)
{
	ssize_t n;

	for (;;) {
		if (*dfd >= 0)
			n = pread(*dfd, buf, WSR_PAGE_SIZE, off);
		else
			n = pread(fd, buf, WSR_PAGE_SIZE, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && *dfd >= 0 && errno == EINVAL) {
			/* O_DIRECT refused at read time: go buffered. */
			close(*dfd);
			*dfd = -1;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n != WSR_PAGE_SIZE)
			return -ENXIO;	/* range beyond the end of the file */
		return 0;
	}
}

WSR_EXPORT int wsr_snapshot_id(int fd, uint64_t offset, uint64_t length,
			       struct wsr_snapshot_id *id)
{
	unsigned char le[8];
	uint64_t n, k, nsamples, page, h;
	char path[64];
	void *buf;
	int dfd, ret = 0;

	if (fd < 0 || !id || !length || length % WSR_PAGE_SIZE ||
	    offset % WSR_PAGE_SIZE || offset + length < offset)
		return -EINVAL;
	if (posix_memalign(&buf, WSR_PAGE_SIZE, WSR_PAGE_SIZE))
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	n = length / WSR_PAGE_SIZE;
	nsamples = n < WSR_FP_SAMPLES ? n : WSR_FP_SAMPLES;
	h = FNV64_OFFSET;
	wsr__put64(le, length);
	h = fnv1a64(h, le, sizeof(le));
	for (k = 0; k < nsamples; k++) {
		page = n <= WSR_FP_SAMPLES ? k :
		       k * (n - 1) / (WSR_FP_SAMPLES - 1);
		ret = read_page(fd, &dfd, buf, offset + page * WSR_PAGE_SIZE);
		if (ret)
			break;
		wsr__put64(le, page);
		h = fnv1a64(h, le, sizeof(le));
		h = fnv1a64(h, buf, WSR_PAGE_SIZE);
	}
	if (dfd >= 0)
		close(dfd);
	free(buf);
	if (ret)
		return ret;
	memset(id, 0, sizeof(*id));
	id->offset = offset;
	id->length = length;
	id->fingerprint = h;
	id->method = WSR_FP_SAMPLED64;
	id->samples = (uint32_t)nsamples;
	return 0;
}
