// SPDX-License-Identifier: GPL-2.0
/*
 * faasnap: FaaSnap, "FaaSnap: FaaS Made Fast Using Snapshot-based VMs"
 * (Ao et al., EuroSys'22; github.com/ucsdsysnet/faasnap).
 *
 *  - Record (--record LS, run with a dropped page cache): guest memory is
 *    the memory file mapped MAP_PRIVATE (as the file backend) and a thread
 *    polls mincore() on the memory file every FAASNAP_POLL_US; each page
 *    gets the poll round in which it first appeared, its layer.  After the
 *    run the zero pages of the memory file are found and left out of the
 *    loading set; the file LS holds the non-zero regions and the loading
 *    set in layer order.
 *
 *  - Restore (--ws LS): guest memory is an anonymous base mapping with a
 *    MAP_PRIVATE|MAP_FIXED file overlay for every non-zero region (zero
 *    pages are plain anonymous memory and never read).  A concurrent
 *    thread reads the loading set, layer by layer, into the page cache
 *    while the guest runs, skipping the pages mincore() reports resident.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "vmm.h"

#define FAASNAP_MAGIC		0x31736c70736e6166ULL	/* "fansplsl1" */
#define FAASNAP_POLL_US		2000
#define FAASNAP_MAX_RUN		64	/* pages per prefetch read */
#define FAASNAP_MAX_REGIONS	30000	/* keep below vm.max_map_count */

struct faasnap_hdr {
	uint64_t magic;
	uint64_t mem_size;
	uint64_t nregions;	/* struct faasnap_region that follow */
	uint64_t npages;	/* struct faasnap_page after the regions */
	uint64_t nlayers;
	uint64_t zero_pages;	/* left out of the loading set */
};

struct faasnap_region {
	uint64_t index;
	uint64_t npages;
};

struct faasnap_page {
	uint64_t index;
	uint64_t layer;
};

struct faasnap {
	uint64_t size;
	uint64_t npages;
	uint8_t *mem;
	const uint8_t *cmap;		/* memory file, for mincore() */
	int fd;
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
	uint64_t prefetched;		/* pages read by the thread */
	uint64_t skipped;		/* resident when their turn came */
	uint64_t reads;
	uint64_t prefetch_ns;
	bool done_before_guest;
	uint64_t t_guest_done;
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

/* Restore: read the loading set into the page cache in layer order. */
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

static int faasnap_load(struct faasnap *p, const char *path)
{
	size_t rsz, lsz;
	uint64_t i;
	int fd, ret = -EBADMSG;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (read(fd, &p->hdr, sizeof(p->hdr)) != sizeof(p->hdr) ||
	    p->hdr.magic != FAASNAP_MAGIC || p->hdr.mem_size != p->size ||
	    p->hdr.nregions > p->npages || p->hdr.npages > p->npages)
		goto out;
	rsz = p->hdr.nregions * sizeof(*p->regions);
	lsz = p->hdr.npages * sizeof(*p->ls);
	p->regions = malloc(rsz + 1);
	p->ls = malloc(lsz + 1);
	if (!p->regions || !p->ls) {
		ret = -ENOMEM;
		goto out;
	}
	if (read(fd, p->regions, rsz) != (ssize_t)rsz ||
	    read(fd, p->ls, lsz) != (ssize_t)lsz)
		goto out;
	for (i = 0; i < p->hdr.nregions; i++)
		if (p->regions[i].index >= p->npages ||
		    p->regions[i].npages > p->npages - p->regions[i].index)
			goto out;
	for (i = 0; i < p->hdr.npages; i++)
		if (p->ls[i].index >= p->npages)
			goto out;
	ret = 0;
out:
	close(fd);
	return ret;
}

static int faasnap_setup(struct restore *r)
{
	struct faasnap *p;
	uint64_t i;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->priv = p;
	p->size = r->st.mem_size;
	p->npages = p->size / VMM_PAGE;
	p->fd = r->snap_fd;
	p->record = r->recording;
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
	p->mem = mmap(NULL, p->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		return -errno;
	}
	for (i = 0; i < p->hdr.nregions; i++) {
		uint64_t off = p->regions[i].index * VMM_PAGE;
		void *m = mmap(p->mem + off, p->regions[i].npages * VMM_PAGE,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE,
			       p->fd, off);

		if (m == MAP_FAILED)
			return -errno;
	}
	r->mem = p->mem;
	/* The page cache serves both the thread and the faults. */
	ret = pthread_create(&p->thread, NULL, faasnap_prefetch, p);
	if (ret)
		return -ret;
	p->thread_started = true;
	return 0;
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
	p->t_guest_done = now_ns();
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
	restore_extra(r, "faasnap_skipped", p->skipped);
	restore_extra(r, "faasnap_reads", p->reads);
	restore_extra(r, "faasnap_prefetch_us", p->prefetch_ns / 1000);
	return 0;
}

static int cmp_page(const void *a, const void *b)
{
	const struct faasnap_page *x = a, *y = b;

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

static int faasnap_save(struct restore *r)
{
	struct faasnap *p = r->priv;
	struct faasnap_hdr h = { .magic = FAASNAP_MAGIC, .mem_size = p->size };
	const uint64_t chunk = 4ULL << 20;
	struct faasnap_region *regions = NULL;
	struct faasnap_page *ls = NULL;
	uint8_t *zero = NULL, *buf = NULL;
	uint64_t i, off, nls = 0, nreg = 0, maxlayer = 0, gap;
	int fd = -1, ret;

	zero = calloc(p->npages, 1);
	buf = malloc(chunk);
	ls = malloc(p->npages * sizeof(*ls) + 1);
	regions = malloc(p->npages * sizeof(*regions) + 1);
	if (!zero || !buf || !ls || !regions) {
		ret = -ENOMEM;
		goto out;
	}
	/* Find the zero pages of the memory file. */
	for (off = 0; off < p->size; off += chunk) {
		ssize_t n = pread(p->fd, buf, chunk, off);

		if (n != (ssize_t)chunk) {
			ret = n < 0 ? -errno : -EIO;
			goto out;
		}
		for (i = 0; i < chunk; i += VMM_PAGE)
			zero[(off + i) / VMM_PAGE] = page_is_zero(buf + i);
	}
	/*
	 * Non-zero regions; if there are too many for one mapping each,
	 * merge across ever larger zero gaps.
	 */
	for (gap = 1;; gap *= 2) {
		uint64_t run_zero = 0;

		nreg = 0;
		for (i = 0; i < p->npages; i++) {
			if (zero[i]) {
				run_zero++;
				continue;
			}
			if (nreg && run_zero < gap &&
			    regions[nreg - 1].index + regions[nreg - 1].npages +
			    run_zero == i) {
				regions[nreg - 1].npages += run_zero + 1;
			} else {
				regions[nreg].index = i;
				regions[nreg].npages = 1;
				nreg++;
			}
			run_zero = 0;
		}
		if (nreg <= FAASNAP_MAX_REGIONS)
			break;
	}
	for (i = 0; i < p->npages; i++) {
		if (zero[i])
			h.zero_pages++;
		if (!p->layer[i] || zero[i])
			continue;
		ls[nls].index = i;
		ls[nls].layer = p->layer[i];
		if (p->layer[i] > maxlayer)
			maxlayer = p->layer[i];
		nls++;
	}
	qsort(ls, nls, sizeof(*ls), cmp_page);
	h.nregions = nreg;
	h.npages = nls;
	h.nlayers = maxlayer;

	fd = open(r->record_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0644);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = -EIO;
	if (write(fd, &h, sizeof(h)) != sizeof(h) ||
	    write(fd, regions, nreg * sizeof(*regions)) !=
	    (ssize_t)(nreg * sizeof(*regions)) ||
	    write(fd, ls, nls * sizeof(*ls)) != (ssize_t)(nls * sizeof(*ls)))
		goto out;
	ret = fsync(fd) ? -errno : 0;
out:
	if (fd >= 0)
		close(fd);
	free(zero);
	free(buf);
	free(ls);
	free(regions);
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
	free(p->layer);
	free(p->regions);
	free(p->ls);
	free(p);
	r->priv = NULL;
	r->mem = NULL;
}

const struct backend backend_faasnap = {
	.name = "faasnap",
	.paper = "FaaSnap (Ao et al., EuroSys'22)",
	.setup = faasnap_setup,
	.resume = faasnap_resume,
	.stop = faasnap_stop,
	.save = faasnap_save,
	.teardown = faasnap_teardown,
};
