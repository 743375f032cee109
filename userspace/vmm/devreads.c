// SPDX-License-Identifier: GPL-2.0
/*
 * Pages the device delivered more than once during one restore, the same
 * way for every backend: a bitmap over device reads.
 *
 * devreads_start() opens the block:block_rq_complete tracepoint as a perf
 * event on every CPU (perf_event_open(), PERF_SAMPLE_RAW, filtered to the
 * disk that holds the memory file), each with a ring buffer of its own,
 * so that concurrent restores do not share anything; devreads_stop()
 * reads what completed since.  Each completed read (sector, count) is
 * mapped back through the files' extents (FS_IOC_FIEMAP) to pages of the
 * files that hold guest memory: the memory file, page for page, and
 * copies such as REAP's working-set file or FaaSnap's loading-set file,
 * whose pages stand for guest pages given by the backend.  Counts are
 * kept per 512-byte sector: a file page was delivered as often as its
 * most-read sector (a page read in two halves was delivered once), and a
 * guest page as often as the file pages standing for it together.
 * read_twice counts the guest pages delivered twice or more.  Reads that
 * touched none of the files (file system metadata, other files) are
 * counted in bytes.
 *
 * The count is of device reads, whoever issued them: the VMM, its
 * helper threads, the kernel's readahead, the wsr module; in a batch of
 * concurrent restores, the other instances too.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include "vmm.h"

#define DEVREADS_PAGES		256	/* ring buffer per CPU: 1 MiB */
#define SECTOR			512ULL
#define SECTORS_PER_PAGE	(VMM_PAGE / SECTOR)
#define EVENT			"events/block/block_rq_complete"

static const char *const tracefs_dirs[] = {
	"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
};

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

/* The event's directory in a mounted tracefs (mount one if need be). */
static int event_dir(char *buf, size_t len)
{
	unsigned int i;

	for (i = 0; i < sizeof(tracefs_dirs) / sizeof(*tracefs_dirs); i++) {
		snprintf(buf, len, "%s/" EVENT, tracefs_dirs[i]);
		if (!access(buf, R_OK))
			return 0;
	}
	if (mount("tracefs", tracefs_dirs[0], "tracefs", 0, NULL))
		return -errno;
	snprintf(buf, len, "%s/" EVENT, tracefs_dirs[0]);
	return access(buf, R_OK) ? -ENOENT : 0;
}

/* Offsets of the fields we read in the event's raw record. */
static int event_format(const char *dir, struct devreads *d)
{
	struct { const char *name; int *off; } want[] = {
		{ "dev", &d->off_dev }, { "sector", &d->off_sector },
		{ "nr_sector", &d->off_nr }, { "error", &d->off_error },
		{ "rwbs", &d->off_rwbs },
	};
	char path[PATH_MAX + 16], line[256];
	unsigned int i, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/format", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char decl[128], *name;
		int off;

		if (sscanf(line, " field:%127[^;]; offset:%d;", decl, &off) != 2)
			continue;
		/* "dev_t dev", "char rwbs[8]": the last word, less [..] */
		name = strrchr(decl, ' ');
		name = name ? name + 1 : decl;
		name[strcspn(name, "[")] = 0;
		for (i = 0; i < sizeof(want) / sizeof(*want); i++)
			if (!strcmp(name, want[i].name)) {
				*want[i].off = off;
				found |= 1U << i;
			}
	}
	fclose(f);
	return found == (1U << (sizeof(want) / sizeof(*want))) - 1 ? 0 :
	       -EPROTO;
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

/* The kernel's encoding of a dev_t, as the event records it. */
static uint32_t kdev(dev_t dev)
{
	return major(dev) << 20 | minor(dev);
}

int devreads_start(struct devreads *d, int fd)
{
	struct perf_event_attr attr;
	char dir[PATH_MAX], filter[64];
	uint64_t id;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF), cpu;
	int ret;

	memset(d, 0, sizeof(*d));
	ret = file_disk(fd, &d->disk, &d->part_start);
	if (!ret)
		ret = event_dir(dir, sizeof(dir));
	if (!ret)
		ret = event_format(dir, d);
	if (ret)
		return ret;
	strncat(dir, "/id", sizeof(dir) - strlen(dir) - 1);
	ret = read_u64(dir, &id);
	if (ret)
		return ret;
	if (ncpu < 1 || ncpu > DEVREADS_MAX_CPUS)
		return -E2BIG;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.config = id;
	attr.sample_period = 1;
	attr.sample_type = PERF_SAMPLE_RAW;
	snprintf(filter, sizeof(filter), "dev == %u", kdev(d->disk));
	d->map_len = (DEVREADS_PAGES + 1) * VMM_PAGE;
	for (cpu = 0; cpu < ncpu; cpu++) {
		int efd = syscall(SYS_perf_event_open, &attr, -1, (int)cpu, -1,
				  PERF_FLAG_FD_CLOEXEC);
		void *map;

		if (efd < 0 && errno == ENODEV)
			continue;	/* an offline CPU */
		if (efd < 0) {
			ret = -errno;
			goto fail;
		}
		d->fd[d->nfd] = efd;
		d->map[d->nfd++] = NULL;
		map = mmap(NULL, d->map_len, PROT_READ | PROT_WRITE,
			   MAP_SHARED, efd, 0);
		if (map == MAP_FAILED) {
			ret = -errno;
			goto fail;
		}
		d->map[d->nfd - 1] = map;
		/* fewer records in the buffer; checked again when read */
		ioctl(efd, PERF_EVENT_IOC_SET_FILTER, filter);
	}
	return 0;
fail:
	devreads_free(d);
	return ret;
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

/* One raw block_rq_complete record. */
static int devreads_record(struct devreads *d, const uint8_t *raw,
			   uint32_t size)
{
	uint64_t sector;
	uint32_t dev, nr;
	int32_t err;
	char rwbs[9];

	if ((uint32_t)d->off_rwbs + 8 > size ||
	    (uint32_t)d->off_sector + 8 > size)
		return 0;
	memcpy(&dev, raw + d->off_dev, 4);
	memcpy(&sector, raw + d->off_sector, 8);
	memcpy(&nr, raw + d->off_nr, 4);
	memcpy(&err, raw + d->off_error, 4);
	memcpy(rwbs, raw + d->off_rwbs, 8);
	rwbs[8] = 0;
	if (dev != kdev(d->disk) || !strchr(rwbs, 'R') || err || !nr)
		return 0;
	return devreads_add(d, sector, nr);
}

/* Read one CPU's ring buffer from its tail to its head. */
static int devreads_ring(struct devreads *d, void *map)
{
	struct perf_event_mmap_page *meta = map;
	const uint8_t *data = (const uint8_t *)map + VMM_PAGE;
	uint64_t size = d->map_len - VMM_PAGE;
	uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t pos = meta->data_tail;
	uint8_t rec[65536];
	int ret = 0;

	while (pos < head && !ret) {
		struct perf_event_header h;
		uint64_t i;

		for (i = 0; i < sizeof(h); i++)
			((uint8_t *)&h)[i] = data[(pos + i) % size];
		if (h.size < sizeof(h))
			return -EPROTO;
		for (i = 0; i < h.size; i++)
			rec[i] = data[(pos + i) % size];
		pos += h.size;
		if (h.type == PERF_RECORD_LOST) {
			uint64_t lost;

			memcpy(&lost, rec + sizeof(h) + 8, 8);
			d->lost += lost;
		} else if (h.type == PERF_RECORD_SAMPLE &&
			   h.size >= sizeof(h) + 4) {
			uint32_t rsize;

			memcpy(&rsize, rec + sizeof(h), 4);
			if (rsize <= h.size - sizeof(h) - 4)
				ret = devreads_record(d, rec + sizeof(h) + 4,
						      rsize);
		}
	}
	__atomic_store_n(&meta->data_tail, pos, __ATOMIC_RELEASE);
	return ret;
}

int devreads_stop(struct devreads *d)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < d->nfd; i++)
		ioctl(d->fd[i], PERF_EVENT_IOC_DISABLE, 0);
	for (i = 0; i < d->nfd && !ret; i++)
		ret = devreads_ring(d, d->map[i]);
	return ret;
}

void devreads_free(struct devreads *d)
{
	unsigned int i;

	for (i = 0; i < d->nfd; i++) {
		if (d->map[i])
			munmap(d->map[i], d->map_len);
		close(d->fd[i]);
	}
	d->nfd = 0;
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
