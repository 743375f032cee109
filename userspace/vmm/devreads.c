// SPDX-License-Identifier: GPL-2.0
/*
 * Pages the device delivered more than once during one restore, the same
 * way for every backend: a bitmap over device reads.
 *
 * devreads_start() creates a tracefs instance of its own
 * (instances/wsr-vmm-PID) with the block:block_rq_complete event of the
 * disk that holds the memory file; devreads_stop() reads what completed
 * since.  Each completed read (sector, count) is mapped back through the
 * files' extents (FS_IOC_FIEMAP) to pages of the files that hold guest
 * memory: the memory file, page for page, and copies such as REAP's
 * working-set file or FaaSnap's loading-set file, whose pages stand for
 * guest pages given by the backend.  Counts are kept per 512-byte
 * sector: a file page was delivered as often as its most-read sector
 * (a page read in two halves was delivered once), and a guest page as
 * often as the file pages standing for it together.  read_twice counts
 * the guest pages delivered twice or more.  Reads that touched none of
 * the files (file system metadata, other files) are counted in bytes.
 *
 * The count is of device reads, whoever issued them: the VMM, its
 * helper threads, the kernel's readahead, the wsr module; in a batch of
 * concurrent restores, the other instances too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "vmm.h"

#define DEVREADS_BUF_KB		2048	/* per CPU */
#define SECTOR			512ULL
#define SECTORS_PER_PAGE	(VMM_PAGE / SECTOR)

static const char *const tracefs_dirs[] = {
	"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
};

static int write_str(const char *dir, const char *name, const char *val)
{
	char path[PATH_MAX];
	ssize_t n, len = strlen(val);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	close(fd);
	if (n != len)
		return n < 0 ? -errno : -EIO;
	return 0;
}

static int read_u64(const char *path, uint64_t *v)
{
	unsigned long long x;
	FILE *f = fopen(path, "re");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%llu", &x);
	fclose(f);
	if (n != 1)
		return -EIO;
	*v = x;
	return 0;
}

/* A mounted tracefs with instances/, or mount one. */
static const char *tracefs_root(void)
{
	char path[PATH_MAX];
	unsigned int i;

	for (i = 0; i < sizeof(tracefs_dirs) / sizeof(*tracefs_dirs); i++) {
		snprintf(path, sizeof(path), "%s/instances", tracefs_dirs[i]);
		if (!access(path, W_OK))
			return tracefs_dirs[i];
	}
	if (mount("tracefs", tracefs_dirs[0], "tracefs", 0, NULL))
		return NULL;
	return tracefs_dirs[0];
}

/*
 * The whole disk holding @fd's file, and where the file system starts on
 * it (a partition's start sector; 0 for a whole disk).
 */
static int file_disk(int fd, dev_t *disk, uint64_t *start)
{
	char path[PATH_MAX], real[PATH_MAX];
	unsigned int ma, mi;
	struct stat sb;
	FILE *f;
	int n;

	if (fstat(fd, &sb))
		return -errno;
	*disk = sb.st_dev;
	*start = 0;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition",
		 major(sb.st_dev), minor(sb.st_dev));
	if (access(path, F_OK))
		return 0;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/start",
		 major(sb.st_dev), minor(sb.st_dev));
	if (read_u64(path, start))
		return -EIO;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/..",
		 major(sb.st_dev), minor(sb.st_dev));
	if (!realpath(path, real))
		return -errno;
	strncat(real, "/dev", sizeof(real) - strlen(real) - 1);
	f = fopen(real, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%u:%u", &ma, &mi);
	fclose(f);
	if (n != 2)
		return -EIO;
	*disk = makedev(ma, mi);
	return 0;
}

int devreads_start(struct devreads *d, int fd)
{
	const char *root;
	char val[64];
	int ret;

	memset(d, 0, sizeof(*d));
	ret = file_disk(fd, &d->disk, &d->part_start);
	if (ret)
		return ret;
	root = tracefs_root();
	if (!root)
		return -ENOENT;
	snprintf(d->inst, sizeof(d->inst), "%s/instances/wsr-vmm-%d", root,
		 (int)getpid());
	if (mkdir(d->inst, 0700) && errno != EEXIST)
		return -errno;
	d->created = true;
	snprintf(val, sizeof(val), "%u", DEVREADS_BUF_KB);
	ret = write_str(d->inst, "buffer_size_kb", val);
	/* The kernel's dev_t: major << 20 | minor. */
	snprintf(val, sizeof(val), "dev == %u",
		 major(d->disk) << 20 | minor(d->disk));
	if (!ret)
		ret = write_str(d->inst, "events/block/block_rq_complete/filter",
				val);
	if (!ret)
		ret = write_str(d->inst, "events/block/block_rq_complete/enable",
				"1");
	if (!ret)
		ret = write_str(d->inst, "tracing_on", "1");
	if (ret)
		devreads_free(d);
	return ret;
}

/* Events lost to a full buffer, summed over the CPUs. */
static int devreads_lost(struct devreads *d, uint64_t *lost)
{
	char path[PATH_MAX + 32], line[128];
	struct dirent *e;
	DIR *dir;

	*lost = 0;
	snprintf(path, sizeof(path), "%s/per_cpu", d->inst);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		FILE *f;

		if (strncmp(e->d_name, "cpu", 3))
			continue;
		snprintf(path, sizeof(path), "%s/per_cpu/%s/stats", d->inst,
			 e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned long long v;

			if (sscanf(line, "overrun: %llu", &v) == 1 ||
			    sscanf(line, "dropped events: %llu", &v) == 1)
				*lost += v;
		}
		fclose(f);
	}
	closedir(dir);
	return 0;
}

static int devreads_add(struct devreads *d, uint64_t sector, uint64_t count)
{
	if (d->nreads == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 1024;
		struct devread *n = realloc(d->reads, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		d->reads = n;
		d->cap = cap;
	}
	d->reads[d->nreads].sector = sector;
	d->reads[d->nreads].count = count;
	d->nreads++;
	return 0;
}

int devreads_stop(struct devreads *d)
{
	char path[PATH_MAX + 16], line[512];
	FILE *f;
	int ret = 0;

	write_str(d->inst, "tracing_on", "0");
	snprintf(path, sizeof(path), "%s/trace", d->inst);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* "... block_rq_complete: 254,0 RA () 123456 + 256 [0]" */
	while (fgets(line, sizeof(line), f)) {
		unsigned long long sector;
		unsigned int ma, mi, count;
		char rwbs[16];
		int err;
		const char *p = strstr(line, "block_rq_complete: ");

		if (!p || sscanf(p, "block_rq_complete: %u,%u %15s () %llu + %u [%d]",
				 &ma, &mi, rwbs, &sector, &count, &err) != 6)
			continue;
		if (!strchr(rwbs, 'R') || err || !count)
			continue;
		ret = devreads_add(d, sector, count);
		if (ret)
			break;
	}
	fclose(f);
	if (!ret)
		ret = devreads_lost(d, &d->lost);
	return ret;
}

void devreads_free(struct devreads *d)
{
	if (d->created) {
		write_str(d->inst, "events/block/block_rq_complete/enable",
			  "0");
		rmdir(d->inst);
		d->created = false;
	}
	free(d->reads);
	d->reads = NULL;
	d->nreads = d->cap = 0;
}

/*
 * Add one to @hits[s] for every sector s of @fd's first @npages pages
 * per completed read that covered it; mark in @claimed the reads that
 * covered any of them.
 */
static int file_hits(struct devreads *d, int fd, uint64_t npages,
		     uint16_t *hits, uint8_t *claimed)
{
	const unsigned int max = 256;
	const uint64_t nsec = npages * SECTORS_PER_PAGE;
	struct fiemap *fm;
	uint64_t start = 0, i, r;
	int ret = 0;
	bool last = false;

	fm = calloc(1, sizeof(*fm) + max * sizeof(struct fiemap_extent));
	if (!fm)
		return -ENOMEM;
	while (!last && start < npages * VMM_PAGE) {
		memset(fm, 0, sizeof(*fm));
		fm->fm_start = start;
		fm->fm_length = npages * VMM_PAGE - start;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = max;
		if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
			ret = -errno;
			break;
		}
		if (!fm->fm_mapped_extents)
			break;
		for (i = 0; i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];
			uint64_t ps, pe, fs;	/* disk sectors, file sector */

			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
			start = e->fe_logical + e->fe_length;
			if (e->fe_flags & (FIEMAP_EXTENT_UNKNOWN |
					   FIEMAP_EXTENT_ENCODED |
					   FIEMAP_EXTENT_DATA_INLINE |
					   FIEMAP_EXTENT_NOT_ALIGNED |
					   FIEMAP_EXTENT_UNWRITTEN))
				continue;
			ps = e->fe_physical / SECTOR + d->part_start;
			pe = ps + e->fe_length / SECTOR;
			fs = e->fe_logical / SECTOR;
			for (r = 0; r < d->nreads; r++) {
				uint64_t rs = d->reads[r].sector;
				uint64_t re = rs + d->reads[r].count;
				uint64_t s = rs > ps ? rs : ps;
				uint64_t t = re < pe ? re : pe;

				if (s >= t)
					continue;
				claimed[r] = 1;
				for (; s < t && fs + (s - ps) < nsec; s++)
					if (hits[fs + (s - ps)] < UINT16_MAX)
						hits[fs + (s - ps)]++;
			}
		}
	}
	free(fm);
	return ret;
}

int devreads_count(struct devreads *d, uint64_t mem_pages,
		   const struct page_copy *files, unsigned int nfiles,
		   struct devreads_result *res)
{
	uint16_t *guest, *hits = NULL;
	uint8_t *claimed;
	unsigned int f;
	uint64_t i;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	guest = calloc(mem_pages, sizeof(*guest));
	claimed = calloc(d->nreads + 1, 1);
	if (!guest || !claimed) {
		ret = -ENOMEM;
		goto out;
	}
	for (f = 0; f < nfiles && !ret; f++) {
		const struct page_copy *c = &files[f];

		free(hits);
		hits = calloc(c->npages * SECTORS_PER_PAGE + 1,
			      sizeof(*hits));
		if (!hits) {
			ret = -ENOMEM;
			break;
		}
		ret = file_hits(d, c->fd, c->npages, hits, claimed);
		for (i = 0; !ret && i < c->npages; i++) {
			uint64_t g = c->page ? c->page[i] : i;
			uint16_t n = 0, k;

			/* a page: as often as its most read sector */
			for (k = 0; k < SECTORS_PER_PAGE; k++)
				if (hits[i * SECTORS_PER_PAGE + k] > n)
					n = hits[i * SECTORS_PER_PAGE + k];
			if (!n || g >= mem_pages)
				continue;
			guest[g] = guest[g] + n > UINT16_MAX ? UINT16_MAX :
				   guest[g] + n;
		}
	}
	if (ret)
		goto out;
	for (i = 0; i < mem_pages; i++) {
		res->pages += guest[i] > 0;
		res->twice += guest[i] > 1;
	}
	for (i = 0; i < d->nreads; i++) {
		res->bytes += d->reads[i].count * SECTOR;
		if (!claimed[i])
			res->other_bytes += d->reads[i].count * SECTOR;
	}
	res->reads = d->nreads;
	res->lost = d->lost;
out:
	free(hits);
	free(guest);
	free(claimed);
	return ret;
}
