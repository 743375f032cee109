// SPDX-License-Identifier: GPL-2.0
/*
 * reap: REAP, "Benchmarking, Analysis, and Optimization of Serverless
 * Function Snapshots" (Ustiugov et al., ASPLOS'21), as implemented in
 * vHive's memory manager (vhive/memory/manager: snapshot_state.go).
 *
 * Guest memory is anonymous and registered with userfaultfd (missing
 * mode); a handler thread serves the faults.
 *
 *  - Record (--record WS): every fault is served with UFFDIO_COPY from the
 *    snapshot's memory file (mapped, as vHive does) and its offset logged.
 *    Afterwards the offsets are sorted and merged into runs; the pages are
 *    written back to back into the compact working-set file WS and the
 *    runs into the trace file WS.trace.
 *
 *  - Prefetch (--ws WS): the whole WS file is read with one O_DIRECT
 *    read (by the handler thread, while the VM is being set up); at the
 *    first fault every WS page is installed with UFFDIO_COPY in
 *    UFFDIO_COPY_MODE_DONTWAKE mode, one copy per run, then one
 *    UFFDIO_WAKE wakes the faulting vCPU; later misses are served one page
 *    at a time from the memory file.  A faulting page that the install
 *    covered is only woken, never copied again from the memory file (that
 *    copy would read it, and its read-around, from the device a second
 *    time).  The O_DIRECT staging buffer is freed as soon as the install
 *    is done, before the restore's memory is measured.
 *
 * Without --ws or --record every fault is served from the memory file.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "vmm.h"

#define REAP_TRACE_MAGIC	0x3163617254706572ULL	/* "repTrac1" */

/* One run of the trace file: @npages pages from page @index. */
struct reap_run {
	uint64_t index;
	uint64_t npages;
};

struct reap_trace_hdr {
	uint64_t magic;
	uint64_t mem_size;
	uint64_t nruns;
	uint64_t npages;
};

struct reap {
	int uffd;
	int stopfd;
	bool thread_started;
	pthread_t thread;
	const uint8_t *src;		/* the memory file, mapped */
	uint64_t size;
	uint8_t *mem;
	/* prefetch */
	int ws_fd;
	uint64_t ws_bytes;
	uint8_t *ws_buf;
	struct reap_run *runs;
	uint64_t nruns;
	uint8_t *in_ws;			/* per page: 1 = part of the WS */
	uint64_t *ws_page;		/* guest page of each WS file page */
	bool installed;
	int ws_err;
	uint64_t read_ns;		/* the O_DIRECT read */
	uint64_t install_ns;		/* the UFFDIO_COPY of all runs */
	/* record */
	bool record;
	uint64_t *log;
	uint64_t nlog, cap;
	/* counters */
	uint64_t faults;		/* fault messages handled */
	uint64_t served;		/* pages copied one by one */
	uint64_t woken;			/* WS pages a fault found installed */
	uint64_t ws_buf_kb;		/* the staging buffer, freed after use */
	int err;
};

static int uffd_copy(struct reap *p, uint64_t dst, const void *src,
		     uint64_t len, uint64_t mode)
{
	struct uffdio_copy c = {
		.dst = dst, .src = (uintptr_t)src, .len = len, .mode = mode,
	};

	while (ioctl(p->uffd, UFFDIO_COPY, &c)) {
		if (errno == EAGAIN && c.copy > 0) {
			/* Partial copy: continue after what was done. */
			c.dst += c.copy;
			c.src += c.copy;
			c.len -= c.copy;
			c.copy = 0;
			continue;
		}
		if (errno == EEXIST)
			return -EEXIST;
		return -errno;
	}
	return 0;
}

static int uffd_wake(struct reap *p, uint64_t start, uint64_t len)
{
	struct uffdio_range r = { .start = start, .len = len };

	return ioctl(p->uffd, UFFDIO_WAKE, &r) ? -errno : 0;
}

/* Copy one page from the memory file; someone else may have done it. */
static int reap_serve(struct reap *p, uint64_t off)
{
	int ret = uffd_copy(p, (uintptr_t)p->mem + off, p->src + off,
			    VMM_PAGE, 0);

	if (ret == -EEXIST)
		return uffd_wake(p, (uintptr_t)p->mem + off, VMM_PAGE);
	if (!ret)
		p->served++;
	return ret;
}

/* Install every WS page (DONTWAKE), then wake everyone once. */
static int reap_install(struct reap *p)
{
	uint64_t i, pos = 0, t0 = now_ns();
	int ret;

	for (i = 0; i < p->nruns; i++) {
		uint64_t off = p->runs[i].index * VMM_PAGE;
		uint64_t len = p->runs[i].npages * VMM_PAGE, done;

		ret = uffd_copy(p, (uintptr_t)p->mem + off, p->ws_buf + pos,
				len, UFFDIO_COPY_MODE_DONTWAKE);
		if (ret == -EEXIST) {
			/* Some page of the run is there: go page by page. */
			for (done = 0; done < len; done += VMM_PAGE) {
				ret = uffd_copy(p, (uintptr_t)p->mem + off +
						done, p->ws_buf + pos + done,
						VMM_PAGE,
						UFFDIO_COPY_MODE_DONTWAKE);
				if (ret && ret != -EEXIST)
					return ret;
			}
			ret = 0;
		}
		if (ret)
			return ret;
		pos += len;
	}
	p->install_ns = now_ns() - t0;
	return uffd_wake(p, (uintptr_t)p->mem, p->size);
}

static int reap_log(struct reap *p, uint64_t off)
{
	if (p->nlog == p->cap) {
		uint64_t cap = p->cap ? 2 * p->cap : 4096;
		uint64_t *n = realloc(p->log, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->log = n;
		p->cap = cap;
	}
	p->log[p->nlog++] = off / VMM_PAGE;
	return 0;
}

static int reap_read_ws(struct reap *p)
{
	uint64_t t0 = now_ns();
	ssize_t n;

	if (!p->ws_bytes)
		return 0;
	/* One large O_DIRECT read of the whole WS file. */
	n = pread(p->ws_fd, p->ws_buf, p->ws_bytes, 0);
	if (n < 0)
		return -errno;
	if ((uint64_t)n != p->ws_bytes)
		return -EIO;
	p->read_ns = now_ns() - t0;
	return 0;
}

static void *reap_thread(void *arg)
{
	struct reap *p = arg;
	struct pollfd pfd[2] = {
		{ .fd = p->uffd, .events = POLLIN },
		{ .fd = p->stopfd, .events = POLLIN },
	};
	struct uffd_msg msg;
	int ret = 0;

	if (p->ws_fd >= 0)
		p->ws_err = reap_read_ws(p);
	for (;;) {
		uint64_t off;
		ssize_t n;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (pfd[1].revents)
			break;
		n = read(p->uffd, &msg, sizeof(msg));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (n != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		p->faults++;
		off = (msg.arg.pagefault.address - (uintptr_t)p->mem) &
		      ~(VMM_PAGE - 1);
		if (off >= p->size) {
			ret = -EFAULT;
			break;
		}
		if (p->ws_fd >= 0 && !p->installed) {
			p->installed = true;
			ret = p->ws_err;
			if (!ret)
				ret = reap_install(p);
			/* The staging buffer is of no use any more. */
			free(p->ws_buf);
			p->ws_buf = NULL;
			if (ret)
				break;
			/*
			 * The install's UFFDIO_WAKE woke the faulting vCPU if
			 * its page was in the WS; only a page outside it is
			 * served from the memory file.
			 */
			if (!p->in_ws[off / VMM_PAGE])
				ret = reap_serve(p, off);
		} else if (p->installed && p->in_ws[off / VMM_PAGE]) {
			/* A fault queued before the install: wake it. */
			p->woken++;
			ret = uffd_wake(p, (uintptr_t)p->mem + off, VMM_PAGE);
		} else {
			ret = reap_serve(p, off);
			if (!ret && p->record)
				ret = reap_log(p, off);
		}
		if (ret)
			break;
	}
	p->err = ret;
	if (ret) {
		/* Do not leave the vCPU blocked: unregister the range. */
		struct uffdio_range r = {
			.start = (uintptr_t)p->mem, .len = p->size,
		};

		vmm_err("reap: fault handler: %s", strerror(-ret));
		ioctl(p->uffd, UFFDIO_UNREGISTER, &r);
	}
	return NULL;
}

static int reap_load_trace(struct reap *p, const char *ws_path)
{
	struct reap_trace_hdr h;
	char *tpath = NULL;
	uint64_t i, pages = 0;
	int fd, ret = 0;
	ssize_t n;

	if (asprintf(&tpath, "%s.trace", ws_path) < 0)
		return -ENOMEM;
	fd = open(tpath, O_RDONLY | O_CLOEXEC);
	free(tpath);
	if (fd < 0)
		return -errno;
	n = read(fd, &h, sizeof(h));
	if (n != sizeof(h) || h.magic != REAP_TRACE_MAGIC ||
	    h.mem_size != p->size || h.nruns > p->size / VMM_PAGE ||
	    h.npages > p->size / VMM_PAGE) {
		ret = -EBADMSG;
		goto out;
	}
	p->nruns = h.nruns;
	p->runs = calloc(h.nruns ? h.nruns : 1, sizeof(*p->runs));
	if (!p->runs) {
		ret = -ENOMEM;
		goto out;
	}
	n = read(fd, p->runs, h.nruns * sizeof(*p->runs));
	if (n < 0 || (uint64_t)n != h.nruns * sizeof(*p->runs)) {
		ret = -EBADMSG;
		goto out;
	}
	p->in_ws = calloc(p->size / VMM_PAGE, 1);
	if (!p->in_ws) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < h.nruns; i++) {
		if (p->runs[i].index >= p->size / VMM_PAGE ||
		    p->runs[i].npages > p->size / VMM_PAGE -
					p->runs[i].index) {
			ret = -EBADMSG;
			goto out;
		}
		memset(p->in_ws + p->runs[i].index, 1, p->runs[i].npages);
		pages += p->runs[i].npages;
	}
	if (pages != h.npages) {
		ret = -EBADMSG;
		goto out;
	}
	p->ws_page = calloc(pages + 1, sizeof(*p->ws_page));
	if (!p->ws_page) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0, pages = 0; i < h.nruns; i++) {
		uint64_t j;

		for (j = 0; j < p->runs[i].npages; j++)
			p->ws_page[pages++] = p->runs[i].index + j;
	}
	p->ws_bytes = pages * VMM_PAGE;
out:
	close(fd);
	return ret;
}

static int reap_setup(struct restore *r)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct reap *p;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->priv = p;
	p->uffd = -1;
	p->stopfd = -1;
	p->ws_fd = -1;
	p->size = r->st.mem_size;
	p->record = r->recording;
	if (r->ws_path && r->recording)
		return -EINVAL;

	p->mem = mmap(NULL, p->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		return -errno;
	}
	p->src = mmap(NULL, p->size, PROT_READ, MAP_SHARED, r->snap_fd, 0);
	if (p->src == MAP_FAILED) {
		p->src = NULL;
		return -errno;
	}
	if (r->ws_path) {
		ret = reap_load_trace(p, r->ws_path);
		if (ret)
			return ret;
		p->ws_fd = open(r->ws_path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (p->ws_fd < 0)
			return -errno;
		/* WS file page i holds guest page ws_page[i] */
		r->copy = (struct page_copy){
			.fd = p->ws_fd, .npages = p->ws_bytes / VMM_PAGE,
			.page = p->ws_page,
		};
		if (p->ws_bytes &&
		    posix_memalign((void **)&p->ws_buf, VMM_PAGE, p->ws_bytes))
			return -ENOMEM;
		p->ws_buf_kb = p->ws_bytes / 1024;
	}
	p->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (p->uffd < 0)
		return -errno;
	if (ioctl(p->uffd, UFFDIO_API, &api))
		return -errno;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)p->mem;
	reg.range.len = p->size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(p->uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	if (!(reg.ioctls & (1ULL << _UFFDIO_COPY)))
		return -EOPNOTSUPP;
	p->stopfd = eventfd(0, EFD_CLOEXEC);
	if (p->stopfd < 0)
		return -errno;
	ret = pthread_create(&p->thread, NULL, reap_thread, p);
	if (ret)
		return -ret;
	p->thread_started = true;
	r->mem = p->mem;
	return 0;
}

static int reap_stop(struct restore *r)
{
	struct reap *p = r->priv;
	uint64_t one = 1, i, j, dup = 0;
	uint8_t *after = NULL;
	uint64_t cached;

	if (write(p->stopfd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	pthread_join(p->thread, NULL);
	p->thread_started = false;
	if (p->err)
		return p->err;
	/*
	 * WS pages that the memory file's page cache also holds, before (a
	 * warm cache REAP's O_DIRECT read ignores) or after the run: two
	 * copies in memory.  Pages the device delivered twice are counted
	 * for every backend by main.c (read_twice).
	 */
	if (p->ws_fd >= 0 && r->cache_before &&
	    !cache_pages(r->snap_fd, p->size, &after, &cached)) {
		for (i = 0; i < p->nruns; i++)
			for (j = 0; j < p->runs[i].npages; j++) {
				uint64_t pg = p->runs[i].index + j;

				dup += (r->cache_before[pg] | after[pg]) & 1;
			}
		free(after);
		restore_extra(r, "reap_ws_pages_cached", dup);
	}
	restore_extra(r, "uffd_faults", p->faults);
	restore_extra(r, "uffd_served", p->served);
	if (p->ws_fd >= 0) {
		restore_extra(r, "uffd_woken", p->woken);
		restore_extra(r, "reap_ws_pages", p->ws_bytes / VMM_PAGE);
		restore_extra(r, "reap_runs", p->nruns);
		restore_extra(r, "reap_read_us", p->read_ns / 1000);
		restore_extra(r, "reap_install_us", p->install_ns / 1000);
		/* what is still allocated of the staging buffer: 0 */
		restore_extra(r, "reap_staging_kb",
			      p->ws_buf ? p->ws_buf_kb : 0);
	}
	if (p->record)
		restore_extra(r, "reap_recorded_pages", p->nlog);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *b = buf;

	while (len) {
		ssize_t n = write(fd, b, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= n;
	}
	return 0;
}

/*
 * Sort and merge the logged page indices into runs; write the pages of
 * the memory file @src into the WS file @path and the runs into
 * @path.trace.
 */
static int reap_write(const uint8_t *src, uint64_t size, uint64_t *log,
		      uint64_t nlog, const char *path)
{
	struct reap_trace_hdr h = { .magic = REAP_TRACE_MAGIC,
				    .mem_size = size };
	struct reap_run *runs;
	uint64_t i, n = 0, nruns = 0;
	char *tpath = NULL;
	int fd = -1, ret;

	qsort(log, nlog, sizeof(*log), cmp_u64);
	for (i = 0; i < nlog; i++)
		if (!n || log[n - 1] != log[i])
			log[n++] = log[i];
	runs = calloc(n ? n : 1, sizeof(*runs));
	if (!runs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (nruns && runs[nruns - 1].index + runs[nruns - 1].npages ==
		    log[i]) {
			runs[nruns - 1].npages++;
		} else {
			runs[nruns].index = log[i];
			runs[nruns].npages = 1;
			nruns++;
		}
	}
	h.nruns = nruns;
	h.npages = n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = 0;
	for (i = 0; i < nruns && !ret; i++)
		ret = write_all(fd, src + runs[i].index * VMM_PAGE,
				runs[i].npages * VMM_PAGE);
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (ret)
		goto out;
	if (asprintf(&tpath, "%s.trace", path) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	fd = open(tpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = write_all(fd, &h, sizeof(h));
	if (!ret)
		ret = write_all(fd, runs, nruns * sizeof(*runs));
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
out:
	free(tpath);
	free(runs);
	return ret;
}

static int reap_save(struct restore *r)
{
	struct reap *p = r->priv;

	return reap_write(p->src, p->size, p->log, p->nlog, r->record_path);
}

/**
 * reap_union() - the REAP working set of several recordings
 * @mem_fd: the snapshot's memory file
 * @size:   its size
 * @in:     WS files recorded on it (each with its .trace)
 * @n:      how many
 * @out:    the WS file to write (and its .trace)
 *
 * The union of the recorded pages, written as one recording would be.
 *
 * Return: 0 or -errno (-EBADMSG: an input's trace is not of this
 * snapshot).
 */
int reap_union(int mem_fd, uint64_t size, char *const *in, unsigned int n,
	       const char *out)
{
	uint64_t *log = NULL, nlog = 0, i, j;
	const uint8_t *src;
	unsigned int k;
	int ret = 0;

	src = mmap(NULL, size, PROT_READ, MAP_SHARED, mem_fd, 0);
	if (src == MAP_FAILED)
		return -errno;
	for (k = 0; k < n && !ret; k++) {
		struct reap p = { .size = size };
		uint64_t *nl;

		ret = reap_load_trace(&p, in[k]);
		nl = ret ? NULL : realloc(log, (nlog + p.ws_bytes / VMM_PAGE +
						1) * sizeof(*log));
		if (!ret && !nl)
			ret = -ENOMEM;
		if (nl)
			log = nl;
		for (i = 0; !ret && i < p.nruns; i++)
			for (j = 0; j < p.runs[i].npages; j++)
				log[nlog++] = p.runs[i].index + j;
		free(p.runs);
		free(p.in_ws);
		free(p.ws_page);
	}
	if (!ret)
		ret = reap_write(src, size, log, nlog, out);
	free(log);
	munmap((void *)src, size);
	return ret;
}

static void reap_teardown(struct restore *r)
{
	struct reap *p = r->priv;
	uint64_t one = 1;

	if (!p)
		return;
	if (p->thread_started) {
		if (write(p->stopfd, &one, sizeof(one)) == sizeof(one))
			pthread_join(p->thread, NULL);
	}
	if (p->uffd >= 0)
		close(p->uffd);
	if (p->stopfd >= 0)
		close(p->stopfd);
	if (p->ws_fd >= 0)
		close(p->ws_fd);
	if (p->mem)
		munmap(p->mem, p->size);
	if (p->src)
		munmap((void *)p->src, p->size);
	free(p->ws_buf);
	free(p->runs);
	free(p->in_ws);
	free(p->ws_page);
	free(p->log);
	free(p);
	r->priv = NULL;
	r->mem = NULL;
}

const struct backend backend_reap = {
	.name = "reap",
	.paper = "REAP (Ustiugov et al., ASPLOS'21)",
	.setup = reap_setup,
	.stop = reap_stop,
	.save = reap_save,
	.teardown = reap_teardown,
};
