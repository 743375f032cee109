// SPDX-License-Identifier: GPL-2.0
/*
 * What a restore costs: time, block-device reads (the device holding the
 * snapshot, from /sys/dev/block/M:m/stat), page-cache residency of the
 * snapshot (mincore) and the process's memory (/proc/self/status).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "vmm.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Read statistics of the whole disk that holds @fd's file.  The stat file
 * of a partition has the same fields, so either works.
 */
int blk_stat(int fd, struct io_stat *st)
{
	unsigned long long v[4];
	char path[64];
	struct stat sb;
	FILE *f;
	int n;

	if (fstat(fd, &sb))
		return -errno;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/stat",
		 major(sb.st_dev), minor(sb.st_dev));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3]);
	fclose(f);
	if (n != 4)
		return -EIO;
	st->read_ios = v[0];
	st->read_sectors = v[2];
	return 0;
}

/*
 * Page-cache residency of the first @size bytes of @fd: *@vec (malloc'ed,
 * one byte per page, bit 0 = resident) and the number resident.
 */
int cache_pages(int fd, uint64_t size, uint8_t **vec, uint64_t *count)
{
	uint64_t pages = (size + VMM_PAGE - 1) / VMM_PAGE, i, n = 0;
	uint8_t *v;
	void *map;

	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	v = malloc(pages);
	if (!v) {
		munmap(map, size);
		return -ENOMEM;
	}
	if (mincore(map, size, v)) {
		int ret = -errno;

		free(v);
		munmap(map, size);
		return ret;
	}
	munmap(map, size);
	for (i = 0; i < pages; i++)
		n += v[i] & 1;
	if (vec)
		*vec = v;
	else
		free(v);
	*count = n;
	return 0;
}

int proc_rss(uint64_t *anon_kb, uint64_t *file_kb, uint64_t *shmem_kb)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -errno;
	*anon_kb = *file_kb = *shmem_kb = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "RssAnon: %llu", &v) == 1)
			*anon_kb = v;
		else if (sscanf(line, "RssFile: %llu", &v) == 1)
			*file_kb = v;
		else if (sscanf(line, "RssShmem: %llu", &v) == 1)
			*shmem_kb = v;
	}
	fclose(f);
	return 0;
}

/* sync, then drop the clean page cache, dentries and inodes. */
int drop_caches(void)
{
	int fd, ret = 0;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "3\n", 2) != 2)
		ret = -errno;
	close(fd);
	return ret;
}

/* A backend's own count for the restore's report (up to VMM_MAX_EXTRA). */
void restore_extra(struct restore *r, const char *key, int64_t val)
{
	if (r->nextra < VMM_MAX_EXTRA)
		r->extra[r->nextra++] = (struct extra){ key, val };
}
