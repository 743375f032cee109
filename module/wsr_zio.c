// SPDX-License-Identifier: GPL-2.0
/*
 * wsr zio: fill pages from a compressed snapshot (wsr-zsnap(5)).
 *
 * The source's index (wsr_zindex.c) maps a page of the uncompressed
 * snapshot to its chunk.  A load groups its (sorted) pages by chunk and
 * makes one job per chunk: a ZERO chunk clears its pages and reads
 * nothing; any other reads the chunk's stored bytes through the
 * compressed file's page cache, checks their CRC-32C, decompresses them
 * (LZ4 or zstd of lib/) into a buffer and copies out the pages the load
 * wants.  A chunk is read only when a page of it is wanted, and only its
 * stored bytes are read.
 *
 * Parallel and overlapped: the load first starts the reads of every chunk
 * that the page cache does not hold (readahead requests of exactly the
 * stored bytes: the file has FMODE_RANDOM), queueing each chunk's job on
 * an unbound workqueue right after its read is started, so jobs run on
 * every CPU while later reads are still in flight; each job waits only for
 * the pages of its own chunk.  A load of one chunk (a 4 KiB fault) runs
 * its job in the caller.
 *
 * A chunk whose stored bytes fail their CRC, or that does not decompress
 * to exactly its size, fails the load with -EIO: the pages are never
 * handed out (the fault gets SIGBUS, the restore -EIO).
 *
 * Accounting: pages of a chunk whose stored bytes were all in the page
 * cache, and pages of ZERO chunks, count as page-cache pages (nothing was
 * read); others as device pages, with @bytes the chunk's stored bytes and
 * a request per chunk.  Each job times its LZ4 or zstd call with
 * ktime_get_ns(); the load adds the jobs' times and the number of chunks
 * they decompressed (not ZERO or RAW ones) to @decompress_ns and
 * @decompressed, whichever CPU ran them.  Like wsr_io.c, nothing is
 * accounted here.
 */
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/lz4.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/zstd.h>

#include "wsr_internal.h"
#include "wsr_trace.h"

/* Decompression jobs of every load; unbound: they run on every CPU. */
static struct workqueue_struct *wsr_zio_wq;

/**
 * struct wsr_zjob - the pages one load wants of one chunk
 * @work:  runs wsr_zio_work() on wsr_zio_wq
 * @src:   the compressed source
 * @ci:    chunk number
 * @slots: the pages, sorted, all in chunk @ci
 * @n:     how many
 * @err:   (out) 0 or -errno
 * @ns:    (out) time spent in the LZ4 or zstd call, ktime_get_ns()
 * @decompressed: (out) the chunk went through LZ4 or zstd
 */
struct wsr_zjob {
	struct work_struct work;
	const struct wsr_src *src;
	u64 ci;
	struct wsr_slot *slots;
	unsigned long n;
	int err;
	u64 ns;
	bool decompressed;
};

static pgoff_t wsr_zio_first(const struct wsr_zchunk *c)
{
	return c->offset >> PAGE_SHIFT;
}

static pgoff_t wsr_zio_last(const struct wsr_zchunk *c)
{
	return (c->offset + c->length - 1) >> PAGE_SHIFT;
}

/* Are the stored bytes of @c uptodate in the page cache? */
static bool wsr_zio_stored_cached(const struct wsr_src *s,
				  const struct wsr_zchunk *c)
{
	struct address_space *mapping = s->file->f_mapping;
	pgoff_t i;

	for (i = wsr_zio_first(c); i <= wsr_zio_last(c); i++) {
		struct folio *folio = filemap_get_folio(mapping, i);
		bool ok;

		if (!folio)
			return false;
		ok = folio_test_uptodate(folio) && !folio_test_hwpoison(folio);
		folio_put(folio);
		if (!ok)
			return false;
	}
	return true;
}

/* Start reading the stored bytes of @c into the page cache. */
static void wsr_zio_read_ahead(const struct wsr_src *s,
			       const struct wsr_zchunk *c)
{
	struct file *f = s->file;

	/* tmpfs has no ->read_folio: wsr_zio_fetch() reads it. */
	if (c->codec == WSR_ZS_ZERO || !f->f_mapping->a_ops->read_folio)
		return;
	{
		DEFINE_READAHEAD(ractl, f, &f->f_ra, f->f_mapping,
				 wsr_zio_first(c));

		page_cache_sync_ra(&ractl, wsr_zio_last(c) - wsr_zio_first(c) + 1);
	}
}

/*
 * Copy the stored bytes of @c into @buf, through the page cache (waiting
 * for the reads wsr_zio_read_ahead() started), not through ->read_iter(),
 * which may take the inode lock (see wsr_io.c).
 */
static int wsr_zio_fetch(const struct wsr_src *s, const struct wsr_zchunk *c,
			 u8 *buf)
{
	struct address_space *mapping = s->file->f_mapping;
	loff_t pos = c->offset;
	u32 done = 0;

	/* The file shrank: never hand out what is not there. */
	if (pos + c->length > i_size_read(mapping->host))
		return -EIO;
	if (!mapping->a_ops->read_folio) {
		ssize_t n = kernel_read(s->file, buf, c->length, &pos);

		if (n < 0)
			return n;
		return n == c->length ? 0 : -EIO;
	}
	while (done < c->length) {
		pgoff_t idx = (pos + done) >> PAGE_SHIFT;
		size_t off = offset_in_page(pos + done);
		size_t n = min_t(size_t, PAGE_SIZE - off, c->length - done);
		struct folio *folio = read_mapping_folio(mapping, idx, s->file);

		if (IS_ERR(folio))
			return PTR_ERR(folio);
		if (folio_test_hwpoison(folio)) {
			folio_put(folio);
			return -EIO;
		}
		memcpy_from_page(buf + done, folio_file_page(folio, idx), off,
				 n);
		folio_put(folio);
		done += n;
	}
	return 0;
}

/*
 * Decompress @c's stored bytes @in into @out, @raw bytes exactly; time the
 * LZ4 or zstd call into @j.
 */
static int wsr_zio_decompress(struct wsr_zjob *j, const struct wsr_zchunk *c,
			      const u8 *in, u8 *out, u32 raw)
{
	size_t wsize, n;
	zstd_dctx *dctx;
	void *ws;
	u64 t0;
	int got;

	switch (c->codec) {
	case WSR_ZS_LZ4:
		t0 = ktime_get_ns();
		got = LZ4_decompress_safe(in, out, c->length, raw);
		j->ns = ktime_get_ns() - t0;
		j->decompressed = true;
		return got == raw ? 0 : -EIO;
	case WSR_ZS_ZSTD:
		wsize = zstd_dctx_workspace_bound();
		ws = kvmalloc(wsize, GFP_KERNEL);
		if (!ws)
			return -ENOMEM;
		t0 = ktime_get_ns();
		dctx = zstd_init_dctx(ws, wsize);
		n = dctx ? zstd_decompress_dctx(dctx, out, raw, in, c->length) :
			   0;
		j->ns = ktime_get_ns() - t0;
		j->decompressed = true;
		kvfree(ws);
		return dctx && !zstd_is_error(n) && n == raw ? 0 : -EIO;
	}
	return -EIO;
}

/* Fill the pages of job @j. */
static int wsr_zio_job(struct wsr_zjob *j)
{
	const struct wsr_zindex *zi = j->src->zi;
	const struct wsr_zchunk *c = &zi->chunks[j->ci];
	u32 raw = wsr_zindex_chunk_bytes(zi, j->ci);
	pgoff_t first = (pgoff_t)j->ci << zi->chunk_order;
	u8 *in, *out = NULL;
	unsigned long k;
	int ret;

	if (c->codec == WSR_ZS_ZERO) {
		for (k = 0; k < j->n; k++)
			clear_highpage(j->slots[k].page);
		return 0;
	}
	in = kvmalloc(c->length, GFP_KERNEL);
	if (!in)
		return -ENOMEM;
	ret = wsr_zio_fetch(j->src, c, in);
	if (ret)
		goto out;
	if (wsr_zs_crc(in, c->length) != c->crc) {
		pr_warn_ratelimited("%pD: chunk %llu: checksum mismatch\n",
				    j->src->file, j->ci);
		ret = -EIO;
		goto out;
	}
	if (c->codec == WSR_ZS_RAW) {
		out = in;
	} else {
		out = kvmalloc(raw, GFP_KERNEL);
		ret = out ? wsr_zio_decompress(j, c, in, out, raw) : -ENOMEM;
		if (ret == -EIO)
			pr_warn_ratelimited("%pD: chunk %llu: does not decompress to %u bytes\n",
					    j->src->file, j->ci, raw);
		if (ret)
			goto out;
	}
	for (k = 0; k < j->n; k++) {
		size_t off = (j->slots[k].index - first) << PAGE_SHIFT;

		memcpy_to_page(j->slots[k].page, 0, out + off, PAGE_SIZE);
	}
out:
	if (out != in)
		kvfree(out);
	kvfree(in);
	return ret;
}

static void wsr_zio_work(struct work_struct *work)
{
	struct wsr_zjob *j = container_of(work, struct wsr_zjob, work);

	j->err = wsr_zio_job(j);
}

/**
 * wsr_zio_load() - fill destination pages from a compressed snapshot
 * @s:     source range with an index (@s->zi)
 * @slots: the pages to fill, sorted by index; src set on return
 * @n:     number of slots
 * @id:    region id for a wsr_restore_run event per chunk, 0 for none
 * @ls:    (out) added to: what the load did (see the top of the file)
 *
 * Return: 0, -EIO (a chunk failed its checksum or did not decompress, or a
 * read failed), -ENOMEM. On error the slots' contents are undefined.
 * Context: process context, may sleep, no wsr lock held.
 */
int wsr_zio_load(const struct wsr_src *s, struct wsr_slot *slots,
		 unsigned long n, u32 id, struct wsr_load_stats *ls)
{
	const struct wsr_zindex *zi = s->zi;
	unsigned int order = zi->chunk_order;
	unsigned long i, e, k, nj = 0;
	struct wsr_zjob *jobs;
	u64 t0 = ktime_get_ns();
	int ret = 0;

	for (i = 0; i < n; i++)
		nj += !i || slots[i].index >> order !=
			    slots[i - 1].index >> order;
	if (!nj)
		return 0;
	jobs = kvcalloc(nj, sizeof(*jobs), GFP_KERNEL);
	if (!jobs)
		return -ENOMEM;
	for (i = 0, k = 0; i < n; i = e, k++) {
		struct wsr_zjob *j = &jobs[k];
		const struct wsr_zchunk *c;
		bool cached;
		int src;

		j->src = s;
		j->ci = slots[i].index >> order;
		for (e = i + 1; e < n && slots[e].index >> order == j->ci; e++)
			;
		j->slots = &slots[i];
		j->n = e - i;
		c = &zi->chunks[j->ci];
		cached = c->codec == WSR_ZS_ZERO || wsr_zio_stored_cached(s, c);
		src = cached ? WSR_SRC_CACHE : WSR_SRC_DEVICE;
		for (; i < e; i++)
			slots[i].src = src;
		if (cached) {
			ls->cache += j->n;
		} else {
			ls->device += j->n;
			ls->bytes += c->length;
			ls->runs++;
			wsr_zio_read_ahead(s, c);
		}
		INIT_WORK(&j->work, wsr_zio_work);
		if (nj > 1)
			queue_work(wsr_zio_wq, &j->work);
	}
	if (nj == 1)
		jobs[0].err = wsr_zio_job(&jobs[0]);
	for (k = 0; k < nj; k++) {
		struct wsr_zjob *j = &jobs[k];

		if (nj > 1)
			flush_work(&j->work);
		if (!ret)
			ret = j->err;
		ls->decompress_ns += j->ns;
		ls->decompressed += j->decompressed;
		if (id && !j->err)
			trace_wsr_restore_run(id, j->slots[0].index, j->n,
					      j->slots[0].src,
					      ktime_get_ns() - t0);
	}
	kvfree(jobs);
	return ret;
}

/**
 * wsr_zio_cached() - can a page be filled without device I/O?
 * @s:     source range with an index
 * @index: page index in the range
 *
 * Return: true when the page's chunk is a ZERO chunk or its stored bytes
 * are uptodate in the compressed file's page cache.
 * Context: any.
 */
bool wsr_zio_cached(const struct wsr_src *s, pgoff_t index)
{
	const struct wsr_zchunk *c =
		&s->zi->chunks[index >> s->zi->chunk_order];

	return c->codec == WSR_ZS_ZERO || wsr_zio_stored_cached(s, c);
}

/**
 * wsr_zio_readahead() - read the chunks of pages into the page cache
 * @s:     source range with an index
 * @start: first page
 * @nr:    pages
 *
 * Reads the stored bytes of every chunk of [@start, @start + @nr) that
 * the page cache does not hold.
 *
 * Context: process context, may sleep.
 */
void wsr_zio_readahead(const struct wsr_src *s, pgoff_t start,
		       unsigned long nr)
{
	unsigned int order = s->zi->chunk_order;
	u64 ci;

	if (!nr)
		return;
	for (ci = start >> order; ci <= (start + nr - 1) >> order; ci++)
		if (!wsr_zio_stored_cached(s, &s->zi->chunks[ci]))
			wsr_zio_read_ahead(s, &s->zi->chunks[ci]);
}

/**
 * wsr_zio_init() - make the decompression workqueue
 *
 * Return: 0 or -ENOMEM.
 * Context: module init.
 */
int wsr_zio_init(void)
{
	wsr_zio_wq = alloc_workqueue("wsr_zio", WQ_UNBOUND, 0);
	return wsr_zio_wq ? 0 : -ENOMEM;
}

/**
 * wsr_zio_exit() - destroy the decompression workqueue
 *
 * Context: module exit, no load running.
 */
void wsr_zio_exit(void)
{
	destroy_workqueue(wsr_zio_wq);
}
