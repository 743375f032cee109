// SPDX-License-Identifier: GPL-2.0
/*
 * faasnap: FaaSnap, "FaaSnap: FaaS Made Fast Using Snapshot-based VMs"
 * (Ao et al., EuroSys'22; github.com/ucsdsysnet/faasnap, daemon/
 * snapshot.go, and its evaluated setting "faasnap" in test-2inputs.json).
 *
 *  - Record (--record LS, run with a dropped page cache): guest memory is
 *    the memory file mapped MAP_PRIVATE (as the file backend) and a thread
 *    polls mincore() on the memory file every FAASNAP_POLL_US; each page
 *    gets the poll round in which it first appeared, its layer.  After the
 *    run the zero pages of the memory file are found.  The loading-set
 *    file LS then holds:
 *      - the non-zero regions of the memory file (zero gaps shorter than
 *        FAASNAP_INTERVAL pages merged into them: GetNonZeroRegions());
 *      - the loading set, page and layer, zero pages left out;
 *      - the working-set regions of createWsRegions(): runs of loading-set
 *        pages (non-zero, with a layer), each with the lowest layer of its
 *        pages, merged across gaps shorter than FAASNAP_INTERVAL pages
 *        (the artifact's interval_threshold 32; the merged region takes
 *        the higher layer of the two), sorted by layer, then address;
 *      - from the page-aligned offset data_off, those regions' pages back
 *        to back in that order (createWsFile()): the compact file.
 *
 *  - Restore, backend faasnap (--ws LS), as the evaluated configuration
 *    (use_mem_file false, overlay_regions true, use_ws_file true): guest
 *    memory is an anonymous base mapping; the non-zero regions are mapped
 *    over it MAP_PRIVATE|MAP_FIXED from the memory file, then every
 *    working-set region MAP_PRIVATE|MAP_FIXED from its place in LS, so
 *    that the guest's faults there read LS.  A thread reads LS from
 *    data_off to its end sequentially into the page cache while the guest
 *    runs (loadWsFile()).
 *
 *  - Restore, backend faasnap-mincore (--ws LS): the artifact's fallback,
 *    the same base and non-zero overlays from the memory file, no LS
 *    overlay; a thread reads the loading set, layer by layer, from the
 *    memory file into the page cache, skipping the pages mincore()
 *    reports resident.
 *
 * "wsr-vmm union" builds the LS of several recordings: a page's layer is
 * its lowest layer in any of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "vmm.h"

#define FAASNAP_MAGIC		0x32736c70736e6166ULL	/* "fansnpls2" */
#define FAASNAP_POLL_US		2000
#define FAASNAP_INTERVAL	32	/* interval_threshold, pages */
#define FAASNAP_MAX_RUN		64	/* pages per mincore prefetch read */
#define FAASNAP_LOAD_CHUNK	(1ULL << 20)	/* sequential LS reads */
#define FAASNAP_MAX_REGIONS	30000	/* keep below vm.max_map_count */

/**
 * struct faasnap_hdr - the loading-set file's header
 * @magic:     FAASNAP_MAGIC
 * @mem_size:  size of the memory file
 * @nregions:  non-zero regions of the memory file (struct faasnap_region)
 * @npages:    loading-set pages (struct faasnap_page), layer order
 * @nlayers:   highest layer
 * @zero_pages: zero pages of the memory file
 * @nws:       working-set regions (struct faasnap_ws), file order
 * @ws_pages:  their pages, the data from @data_off
 * @data_off:  page-aligned start of the data
 *
 * The tables follow the header in that order.
 */
struct faasnap_hdr {
	uint64_t magic;
	uint64_t mem_size;
	uint64_t nregions;
	uint64_t npages;
	uint64_t nlayers;
	uint64_t zero_pages;
	uint64_t nws;
	uint64_t ws_pages;
	uint64_t data_off;
};

struct faasnap_region {
	uint64_t index;
	uint64_t npages;
};

struct faasnap_page {
	uint64_t index;
	uint64_t layer;
};

struct faasnap_ws {
	uint64_t index;		/* first guest page */
	uint64_t npages;
	uint64_t layer;
};

struct faasnap {
	uint64_t size;
	uint64_t npages;
	uint8_t *mem;
	const uint8_t *cmap;		/* memory file, for mincore() */
	int fd;
	bool overlay_ls;		/* faasnap, not faasnap-mincore */
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	int err;
	/* record */
	bool record;
	uint32_t *layer;		/* per page, 0 = never seen */
	uint64_t rounds;
	/* restore */
	struct faasnap_hdr hdr;
	struct faasnap_region *regions;
	struct faasnap_page *ls;
	struct faasnap_ws *ws;
	int ls_fd;
	uint64_t *ls_page;		/* guest page of each LS file page */
	uint64_t ls_mapped;		/* guest pages mapped from LS */
	uint64_t mem_mapped;		/* from the memory file */
	uint64_t prefetched;		/* pages read by the thread */
	uint64_t skipped;		/* resident when their turn came */
	uint64_t reads;
	uint64_t prefetch_ns;
};

/* Record: poll mincore() and stamp each new page with the round. */
static void *faasnap_poll(void *arg)
{
	struct faasnap *p = arg;
	uint8_t *vec = malloc(p->npages);
	uint64_t i;

	if (!vec) {
		p->err = -ENOMEM;
		return NULL;
	}
	/* The round after the stop request is the last sample. */
	for (;;) {
		bool last = atomic_load(&p->stop);

		p->rounds++;
		if (mincore((void *)p->cmap, p->size, vec)) {
			p->err = -errno;
			break;
		}
		for (i = 0; i < p->npages; i++)
			if ((vec[i] & 1) && !p->layer[i])
				p->layer[i] = p->rounds;
		if (last)
			break;
		usleep(FAASNAP_POLL_US);
	}
	free(vec);
	return NULL;
}

/* faasnap: read the loading-set file's data sequentially. */
static void *faasnap_load_ls(void *arg)
{
	struct faasnap *p = arg;
	uint64_t off = p->hdr.data_off;
	uint64_t end = off + p->hdr.ws_pages * VMM_PAGE, t0 = now_ns();
	uint8_t *buf = malloc(FAASNAP_LOAD_CHUNK);

	if (!buf) {
		p->err = -ENOMEM;
		return NULL;
	}
	while (off < end && !atomic_load(&p->stop)) {
		uint64_t len = end - off < FAASNAP_LOAD_CHUNK ?
			       end - off : FAASNAP_LOAD_CHUNK;
		ssize_t got = pread(p->ls_fd, buf, len, off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			p->err = got < 0 ? -errno : -EIO;
			break;
		}
		p->reads++;
		p->prefetched += got / VMM_PAGE;
		off += got;
	}
	p->prefetch_ns = now_ns() - t0;
	free(buf);
	return NULL;
}

/* faasnap-mincore: read the loading set into the page cache by layer. */
static void *faasnap_prefetch(void *arg)
{
	struct faasnap *p = arg;
	uint64_t i = 0, t0 = now_ns();
	uint8_t *buf = malloc(FAASNAP_MAX_RUN * VMM_PAGE);
	uint8_t vec[FAASNAP_MAX_RUN];

	if (!buf) {
		p->err = -ENOMEM;
		return NULL;
	}
	while (i < p->hdr.npages && !atomic_load(&p->stop)) {
		/* A run: consecutive pages of one layer. */
		uint64_t first = p->ls[i].index, n = 1, k;

		while (i + n < p->hdr.npages && n < FAASNAP_MAX_RUN &&
		       p->ls[i + n].layer == p->ls[i].layer &&
		       p->ls[i + n].index == first + n)
			n++;
		i += n;
		if (mincore((void *)(p->cmap + first * VMM_PAGE),
			    n * VMM_PAGE, vec)) {
			p->err = -errno;
			break;
		}
		/* Read the non-resident sub-runs. */
		for (k = 0; k < n;) {
			uint64_t s = k, len;
			ssize_t got;

			if (vec[k] & 1) {
				p->skipped++;
				k++;
				continue;
			}
			while (k < n && !(vec[k] & 1))
				k++;
			len = (k - s) * VMM_PAGE;
			got = pread(p->fd, buf, len, (first + s) * VMM_PAGE);
			if (got < 0 && errno != EINTR) {
				p->err = -errno;
				goto out;
			}
			p->reads++;
			p->prefetched += k - s;
		}
	}
out:
	p->prefetch_ns = now_ns() - t0;
	free(buf);
	return NULL;
}

static int read_exact(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EBADMSG;
}

/* Read and check the tables of the loading-set file @path. */
static int faasnap_load(struct faasnap *p, const char *path)
{
	struct faasnap_hdr *h = &p->hdr;
	uint64_t i, pos = 0;
	struct stat sb;
	int ret;

	p->ls_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (p->ls_fd < 0)
		return -errno;
	ret = read_exact(p->ls_fd, h, sizeof(*h));
	if (ret)
		return ret;
	if (h->magic != FAASNAP_MAGIC || h->mem_size != p->size ||
	    h->nregions > p->npages || h->npages > p->npages ||
	    h->nws > p->npages || h->ws_pages > p->npages ||
	    h->data_off % VMM_PAGE || fstat(p->ls_fd, &sb) ||
	    (uint64_t)sb.st_size != h->data_off + h->ws_pages * VMM_PAGE)
		return -EBADMSG;
	p->regions = calloc(h->nregions + 1, sizeof(*p->regions));
	p->ls = calloc(h->npages + 1, sizeof(*p->ls));
	p->ws = calloc(h->nws + 1, sizeof(*p->ws));
	p->ls_page = malloc((h->data_off / VMM_PAGE + h->ws_pages) *
			    sizeof(*p->ls_page) + 1);
	if (!p->regions || !p->ls || !p->ws || !p->ls_page)
		return -ENOMEM;
	ret = read_exact(p->ls_fd, p->regions,
			 h->nregions * sizeof(*p->regions));
	if (!ret)
		ret = read_exact(p->ls_fd, p->ls, h->npages * sizeof(*p->ls));
	if (!ret)
		ret = read_exact(p->ls_fd, p->ws, h->nws * sizeof(*p->ws));
	if (ret)
		return ret;
	if (sizeof(*h) + h->nregions * sizeof(*p->regions) +
	    h->npages * sizeof(*p->ls) + h->nws * sizeof(*p->ws) > h->data_off)
		return -EBADMSG;
	for (i = 0; i < h->nregions; i++)
		if (p->regions[i].index >= p->npages ||
		    p->regions[i].npages > p->npages - p->regions[i].index)
			return -EBADMSG;
	for (i = 0; i < h->npages; i++)
		if (p->ls[i].index >= p->npages)
			return -EBADMSG;
	/* LS file page -> guest page, for the count of device reads */
	for (i = 0; i < h->data_off / VMM_PAGE; i++)
		p->ls_page[pos++] = UINT64_MAX;
	for (i = 0; i < h->nws; i++) {
		uint64_t j;

		if (p->ws[i].index >= p->npages ||
		    p->ws[i].npages > p->npages - p->ws[i].index ||
		    p->ws[i].npages > h->ws_pages -
				      (pos - h->data_off / VMM_PAGE))
			return -EBADMSG;
		for (j = 0; j < p->ws[i].npages; j++)
			p->ls_page[pos++] = p->ws[i].index + j;
	}
	if (pos != h->data_off / VMM_PAGE + h->ws_pages)
		return -EBADMSG;
	return 0;
}

/*
 * What the guest range is mapped from, by /proc/self/maps: pages from the
 * loading-set file and from the memory file.
 */
static int faasnap_count_maps(struct faasnap *p)
{
	uintptr_t lo = (uintptr_t)p->mem, hi = lo + p->size;
	struct stat ls, mem;
	char line[512];
	FILE *f;

	if (fstat(p->ls_fd, &ls) || fstat(p->fd, &mem))
		return -errno;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	p->ls_mapped = p->mem_mapped = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off, ino;
		unsigned int ma, mi;

		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &s, &e,
			   &off, &ma, &mi, &ino) != 6 || e <= lo || s >= hi)
			continue;
		if (ino == ls.st_ino && makedev(ma, mi) == ls.st_dev)
			p->ls_mapped += (e - s) / VMM_PAGE;
		else if (ino == mem.st_ino && makedev(ma, mi) == mem.st_dev)
			p->mem_mapped += (e - s) / VMM_PAGE;
	}
	fclose(f);
	return 0;
}

static int map_fixed(struct faasnap *p, uint64_t index, uint64_t npages,
		     int fd, uint64_t off)
{
	void *m = mmap(p->mem + index * VMM_PAGE, npages * VMM_PAGE,
		       PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, off);

	return m == MAP_FAILED ? -errno : 0;
}

static int faasnap_map(struct faasnap *p)
{
	uint64_t i, off = p->hdr.data_off;
	int ret;

	p->mem = mmap(NULL, p->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		return -errno;
	}
	/* The non-zero regions from the memory file ... */
	for (i = 0; i < p->hdr.nregions; i++) {
		ret = map_fixed(p, p->regions[i].index, p->regions[i].npages,
				p->fd, p->regions[i].index * VMM_PAGE);
		if (ret)
			return ret;
	}
	if (!p->overlay_ls)
		return 0;
	/* ... and over them the working-set regions from LS. */
	for (i = 0; i < p->hdr.nws; i++) {
		ret = map_fixed(p, p->ws[i].index, p->ws[i].npages, p->ls_fd,
				off);
		if (ret)
			return ret;
		off += p->ws[i].npages * VMM_PAGE;
	}
	return faasnap_count_maps(p);
}

static int faasnap_setup(struct restore *r, bool overlay_ls)
{
	struct faasnap *p;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->priv = p;
	p->ls_fd = -1;
	p->size = r->st.mem_size;
	p->npages = p->size / VMM_PAGE;
	p->fd = r->snap_fd;
	p->record = r->recording;
	p->overlay_ls = overlay_ls;
	if (r->recording == !!r->ws_path)
		return -EINVAL;		/* exactly one of --record, --ws */
	p->cmap = mmap(NULL, p->size, PROT_READ, MAP_SHARED, p->fd, 0);
	if (p->cmap == MAP_FAILED) {
		p->cmap = NULL;
		return -errno;
	}

	if (p->record) {
		p->layer = calloc(p->npages, sizeof(*p->layer));
		if (!p->layer)
			return -ENOMEM;
		p->mem = mmap(NULL, p->size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_NORESERVE, p->fd, 0);
		if (p->mem == MAP_FAILED) {
			p->mem = NULL;
			return -errno;
		}
		r->mem = p->mem;
		return 0;	/* the poller starts at resume */
	}

	ret = faasnap_load(p, r->ws_path);
	if (ret)
		return ret;
	ret = faasnap_map(p);
	if (ret)
		return ret;
	r->mem = p->mem;
	if (overlay_ls)
		r->copy = (struct page_copy){
			.fd = p->ls_fd,
			.npages = p->hdr.data_off / VMM_PAGE + p->hdr.ws_pages,
			.page = p->ls_page,
		};
	ret = pthread_create(&p->thread, NULL, overlay_ls ? faasnap_load_ls :
			     faasnap_prefetch, p);
	if (ret)
		return -ret;
	p->thread_started = true;
	return 0;
}

static int faasnap_setup_ls(struct restore *r)
{
	return faasnap_setup(r, true);
}

static int faasnap_setup_mincore(struct restore *r)
{
	return faasnap_setup(r, false);
}

static int faasnap_resume(struct restore *r)
{
	struct faasnap *p = r->priv;
	int ret;

	if (!p->record)
		return 0;
	ret = pthread_create(&p->thread, NULL, faasnap_poll, p);
	if (ret)
		return -ret;
	p->thread_started = true;
	return 0;
}

static int faasnap_stop(struct restore *r)
{
	struct faasnap *p = r->priv;

	/*
	 * A recording takes one last sample; a prefetch is left to finish
	 * (its reads are part of the restore's cost).
	 */
	if (p->record)
		atomic_store(&p->stop, true);
	if (p->thread_started)
		pthread_join(p->thread, NULL);
	p->thread_started = false;
	if (p->err)
		return p->err;
	if (p->record) {
		restore_extra(r, "faasnap_poll_rounds", p->rounds);
		return 0;
	}
	restore_extra(r, "faasnap_ls_pages", p->hdr.npages);
	restore_extra(r, "faasnap_layers", p->hdr.nlayers);
	restore_extra(r, "faasnap_regions", p->hdr.nregions);
	restore_extra(r, "faasnap_zero_pages", p->hdr.zero_pages);
	restore_extra(r, "faasnap_prefetched", p->prefetched);
	restore_extra(r, "faasnap_reads", p->reads);
	restore_extra(r, "faasnap_prefetch_us", p->prefetch_ns / 1000);
	if (p->overlay_ls) {
		restore_extra(r, "faasnap_ws_regions", p->hdr.nws);
		restore_extra(r, "faasnap_ws_pages", p->hdr.ws_pages);
		restore_extra(r, "faasnap_ls_data_off", p->hdr.data_off);
		restore_extra(r, "faasnap_ls_mapped_pages", p->ls_mapped);
		restore_extra(r, "faasnap_mem_mapped_pages", p->mem_mapped);
	} else {
		restore_extra(r, "faasnap_skipped", p->skipped);
	}
	return 0;
}

static int cmp_page(const void *a, const void *b)
{
	const struct faasnap_page *x = a, *y = b;

	if (x->layer != y->layer)
		return x->layer < y->layer ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_ws(const void *a, const void *b)
{
	const struct faasnap_ws *x = a, *y = b;

	if (x->layer != y->layer)
		return x->layer < y->layer ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static bool page_is_zero(const uint8_t *pg)
{
	const uint64_t *w = (const uint64_t *)pg;
	unsigned int i;

	for (i = 0; i < VMM_PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* zero[i] = page i of the memory file is all zeroes; count them. */
static int find_zero(int fd, uint64_t size, uint8_t *zero, uint64_t *n)
{
	const uint64_t chunk = 4ULL << 20;
	uint8_t *buf = malloc(chunk);
	uint64_t off, i;

	if (!buf)
		return -ENOMEM;
	*n = 0;
	for (off = 0; off < size; off += chunk) {
		uint64_t len = size - off < chunk ? size - off : chunk;
		ssize_t got = pread(fd, buf, len, off);

		if (got != (ssize_t)len) {
			free(buf);
			return got < 0 ? -errno : -EIO;
		}
		for (i = 0; i < len; i += VMM_PAGE) {
			zero[(off + i) / VMM_PAGE] = page_is_zero(buf + i);
			*n += zero[(off + i) / VMM_PAGE];
		}
	}
	free(buf);
	return 0;
}

/*
 * Non-zero regions with zero gaps shorter than @gap merged into them
 * (GetNonZeroRegions() with size_threshold 0).
 */
static uint64_t nonzero_regions(const uint8_t *zero, uint64_t npages,
				uint64_t gap, struct faasnap_region *reg)
{
	uint64_t i, n = 0, run_zero = 0;

	for (i = 0; i < npages; i++) {
		if (zero[i]) {
			run_zero++;
			continue;
		}
		if (n && run_zero < gap &&
		    reg[n - 1].index + reg[n - 1].npages + run_zero == i) {
			reg[n - 1].npages += run_zero + 1;
		} else {
			reg[n].index = i;
			reg[n].npages = 1;
			n++;
		}
		run_zero = 0;
	}
	return n;
}

/*
 * createWsRegions() with inactive_ws and zero_ws false, size_threshold 0:
 * runs of loading-set pages (a layer and not zero), each with the lowest
 * layer of its pages; a gap of fewer than FAASNAP_INTERVAL other pages
 * between two runs joins them (gap pages included) with the higher of
 * their layers; then sorted by layer and address.
 */
static uint64_t ws_regions(const uint32_t *layer, const uint8_t *zero,
			   uint64_t npages, struct faasnap_ws *ws)
{
	uint64_t i, n = 0;

	for (i = 0; i < npages; i++) {
		struct faasnap_ws *last = n ? &ws[n - 1] : NULL;
		uint64_t gap;

		if (!layer[i] || zero[i])
			continue;
		/* a run (the previous one ended before i - 1) */
		gap = last ? i - (last->index + last->npages) : 0;
		ws[n].index = i;
		ws[n].npages = 1;
		ws[n].layer = layer[i];
		while (i + 1 < npages && layer[i + 1] && !zero[i + 1]) {
			i++;
			ws[n].npages++;
			if (layer[i] < ws[n].layer)
				ws[n].layer = layer[i];
		}
		if (last && gap < FAASNAP_INTERVAL) {
			last->npages += gap + ws[n].npages;
			if (ws[n].layer > last->layer)
				last->layer = ws[n].layer;
		} else {
			n++;
		}
	}
	qsort(ws, n, sizeof(*ws), cmp_ws);
	return n;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *b = buf;

	while (len) {
		ssize_t n = pwrite(fd, b, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* Write the loading-set file @path of the layers @layer (0 = untouched). */
static int faasnap_write(int mem_fd, uint64_t size, const uint32_t *layer,
			 const char *path)
{
	struct faasnap_hdr h = { .magic = FAASNAP_MAGIC, .mem_size = size };
	uint64_t npages = size / VMM_PAGE, i, nls = 0, gap, off;
	struct faasnap_region *regions = NULL;
	struct faasnap_page *ls = NULL;
	struct faasnap_ws *ws = NULL;
	uint8_t *zero = NULL, *buf = NULL;
	int fd = -1, ret;

	zero = calloc(npages, 1);
	buf = malloc(FAASNAP_LOAD_CHUNK);
	ls = malloc(npages * sizeof(*ls) + 1);
	regions = malloc(npages * sizeof(*regions) + 1);
	ws = malloc(npages * sizeof(*ws) + 1);
	if (!zero || !buf || !ls || !regions || !ws) {
		ret = -ENOMEM;
		goto out;
	}
	ret = find_zero(mem_fd, size, zero, &h.zero_pages);
	if (ret)
		goto out;
	/* Too many regions for one mapping each: merge larger gaps. */
	for (gap = FAASNAP_INTERVAL;; gap *= 2) {
		h.nregions = nonzero_regions(zero, npages, gap, regions);
		if (h.nregions <= FAASNAP_MAX_REGIONS)
			break;
	}
	for (i = 0; i < npages; i++) {
		if (!layer[i] || zero[i])
			continue;
		ls[nls].index = i;
		ls[nls].layer = layer[i];
		if (layer[i] > h.nlayers)
			h.nlayers = layer[i];
		nls++;
	}
	qsort(ls, nls, sizeof(*ls), cmp_page);
	h.npages = nls;
	h.nws = ws_regions(layer, zero, npages, ws);
	if (h.nregions + h.nws > FAASNAP_MAX_REGIONS * 2) {
		ret = -E2BIG;
		goto out;
	}
	for (i = 0; i < h.nws; i++)
		h.ws_pages += ws[i].npages;
	h.data_off = sizeof(h) + h.nregions * sizeof(*regions) +
		     nls * sizeof(*ls) + h.nws * sizeof(*ws);
	h.data_off = (h.data_off + VMM_PAGE - 1) / VMM_PAGE * VMM_PAGE;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	off = 0;
	ret = write_all(fd, &h, sizeof(h), off);
	off += sizeof(h);
	if (!ret)
		ret = write_all(fd, regions, h.nregions * sizeof(*regions),
				off);
	off += h.nregions * sizeof(*regions);
	if (!ret)
		ret = write_all(fd, ls, nls * sizeof(*ls), off);
	off += nls * sizeof(*ls);
	if (!ret)
		ret = write_all(fd, ws, h.nws * sizeof(*ws), off);
	/* The regions' pages back to back, in layer order. */
	off = h.data_off;
	for (i = 0; i < h.nws && !ret; i++) {
		uint64_t src = ws[i].index * VMM_PAGE;
		uint64_t left = ws[i].npages * VMM_PAGE;

		while (left && !ret) {
			uint64_t len = left < FAASNAP_LOAD_CHUNK ? left :
				       FAASNAP_LOAD_CHUNK;
			ssize_t got = pread(mem_fd, buf, len, src);

			if (got != (ssize_t)len) {
				ret = got < 0 ? -errno : -EIO;
				break;
			}
			ret = write_all(fd, buf, len, off);
			src += len;
			off += len;
			left -= len;
		}
	}
	if (!ret && ftruncate(fd, h.data_off + h.ws_pages * VMM_PAGE))
		ret = -errno;
	if (!ret && fsync(fd))
		ret = -errno;
out:
	if (fd >= 0)
		close(fd);
	free(zero);
	free(buf);
	free(ls);
	free(regions);
	free(ws);
	return ret;
}

static int faasnap_save(struct restore *r)
{
	struct faasnap *p = r->priv;

	return faasnap_write(p->fd, p->size, p->layer, r->record_path);
}

/**
 * faasnap_union() - the loading-set file of several recordings
 * @mem_fd: the snapshot's memory file
 * @size:   its size
 * @in:     loading-set files recorded on it
 * @n:      how many
 * @out:    the file to write
 *
 * A page's layer is its lowest layer in any of @in.
 *
 * Return: 0 or -errno (-EBADMSG: an input is not a loading-set file of
 * this snapshot).
 */
int faasnap_union(int mem_fd, uint64_t size, char *const *in, unsigned int n,
		  const char *out)
{
	uint64_t npages = size / VMM_PAGE, i;
	uint32_t *layer = calloc(npages + 1, sizeof(*layer));
	unsigned int k;
	int ret = 0;

	if (!layer)
		return -ENOMEM;
	for (k = 0; k < n && !ret; k++) {
		struct faasnap p = { .size = size, .npages = npages };

		ret = faasnap_load(&p, in[k]);
		for (i = 0; !ret && i < p.hdr.npages; i++) {
			uint64_t pg = p.ls[i].index;

			if (p.ls[i].layer > UINT32_MAX || !p.ls[i].layer) {
				ret = -EBADMSG;
				break;
			}
			if (!layer[pg] || p.ls[i].layer < layer[pg])
				layer[pg] = p.ls[i].layer;
		}
		if (p.ls_fd >= 0)
			close(p.ls_fd);
		free(p.regions);
		free(p.ls);
		free(p.ws);
		free(p.ls_page);
	}
	if (!ret)
		ret = faasnap_write(mem_fd, size, layer, out);
	free(layer);
	return ret;
}

static void faasnap_teardown(struct restore *r)
{
	struct faasnap *p = r->priv;

	if (!p)
		return;
	if (p->thread_started) {
		atomic_store(&p->stop, true);
		pthread_join(p->thread, NULL);
	}
	if (p->mem)
		munmap(p->mem, p->size);
	if (p->cmap)
		munmap((void *)p->cmap, p->size);
	if (p->ls_fd >= 0)
		close(p->ls_fd);
	free(p->layer);
	free(p->regions);
	free(p->ls);
	free(p->ws);
	free(p->ls_page);
	free(p);
	r->priv = NULL;
	r->mem = NULL;
}

const struct backend backend_faasnap = {
	.name = "faasnap",
	.paper = "FaaSnap (Ao et al., EuroSys'22)",
	.setup = faasnap_setup_ls,
	.resume = faasnap_resume,
	.stop = faasnap_stop,
	.save = faasnap_save,
	.teardown = faasnap_teardown,
};

const struct backend backend_faasnap_mincore = {
	.name = "faasnap-mincore",
	.paper = "FaaSnap's mincore fallback (Ao et al., EuroSys'22)",
	.setup = faasnap_setup_mincore,
	.resume = faasnap_resume,
	.stop = faasnap_stop,
	.save = faasnap_save,
	.teardown = faasnap_teardown,
};
