// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Working sets in memory and in files (format: wsr-ws(5)).
 *
 * The parser trusts nothing: every length is checked against the buffer
 * before it is read, the header checksum before any header field other than
 * magic and version is used, and the body checksum before any entry is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "wsr-private.h"

struct wsr_ws *wsr__ws_alloc(size_t count)
{
	struct wsr_ws *ws;
	size_t n = count ? count : 1;

	if (count > WSR_WS_MAX_ENTRIES)
		return NULL;
	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return NULL;
	ws->entries = calloc(n, sizeof(*ws->entries));
	ws->pages = calloc(n, sizeof(*ws->pages));
	if (!ws->entries || !ws->pages) {
		wsr_ws_free(ws);
		return NULL;
	}
	ws->count = count;
	return ws;
}

WSR_EXPORT void wsr_ws_free(struct wsr_ws *ws)
{
	if (!ws)
		return;
	free(ws->entries);
	free(ws->pages);
	free(ws);
}

int wsr__page_cmp(const struct wsr_ws_page *a, const struct wsr_ws_page *b)
{
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->freq != b->freq)
		return a->freq > b->freq ? -1 : 1;
	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return 0;
}

static int page_qcmp(const void *a, const void *b)
{
	return wsr__page_cmp(a, b);
}

void wsr__ws_finish(struct wsr_ws *ws)
{
	size_t i;

	qsort(ws->entries, ws->count, sizeof(*ws->entries), page_qcmp);
	for (i = 0; i < ws->count; i++)
		ws->pages[i] = ws->entries[i].index;
}

int wsr__snapshot_id_valid(const struct wsr_snapshot_id *id)
{
	if (!id->length || id->length % WSR_PAGE_SIZE ||
	    id->offset % WSR_PAGE_SIZE)
		return 0;
	if (id->method != WSR_FP_SAMPLED64 || id->samples > WSR_FP_SAMPLES)
		return 0;
	return 1;
}

int wsr__snapshot_id_same(const struct wsr_snapshot_id *a,
			  const struct wsr_snapshot_id *b)
{
	return a->length == b->length && a->fingerprint == b->fingerprint &&
	       a->method == b->method && a->samples == b->samples;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct pos_index {
	uint64_t index;
	size_t pos;
};

static int pos_index_cmp(const void *a, const void *b)
{
	const struct pos_index *x = a, *y = b;

	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int pos_cmp(const void *a, const void *b)
{
	const struct pos_index *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * A working set of one recording: @pages in first-touch order.  A page
 * listed twice keeps its first position.  Page at position r of m distinct
 * pages gets the normalised rank (2r + 1) / 2m in 32-bit fixed point.
 */
WSR_EXPORT int wsr_ws_create(const struct wsr_snapshot_id *id,
			     const uint64_t *pages, size_t count,
			     uint64_t dropped, struct wsr_ws **out)
{
	struct pos_index *tmp;
	struct wsr_ws *ws;
	uint64_t npages;
	size_t i, m;

	if (!id || !out || (count && !pages) || !wsr__snapshot_id_valid(id))
		return -EINVAL;
	if (count > WSR_WS_MAX_ENTRIES)
		return -EOVERFLOW;
	npages = id->length / WSR_PAGE_SIZE;
	tmp = calloc(count ? count : 1, sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		if (pages[i] >= npages) {
			free(tmp);
			return -ERANGE;
		}
		tmp[i].index = pages[i];
		tmp[i].pos = i;
	}
	/* Drop repeats, keeping the first occurrence, then restore order. */
	qsort(tmp, count, sizeof(*tmp), pos_index_cmp);
	for (i = 0, m = 0; i < count; i++)
		if (!m || tmp[m - 1].index != tmp[i].index)
			tmp[m++] = tmp[i];
	qsort(tmp, m, sizeof(*tmp), pos_cmp);

	ws = wsr__ws_alloc(m);
	if (!ws) {
		free(tmp);
		return -ENOMEM;
	}
	ws->snap = *id;
	ws->recordings = 1;
	ws->dropped = dropped;
	for (i = 0; i < m; i++) {
		ws->entries[i].index = tmp[i].index;
		ws->entries[i].rank = (uint32_t)(((uint64_t)(2 * i + 1) << 31) / m);
		ws->entries[i].freq = 1;
	}
	free(tmp);
	wsr__ws_finish(ws);
	*out = ws;
	return 0;
}

WSR_EXPORT int wsr_ws_info(const struct wsr_ws *ws, struct wsr_ws_info *info)
{
	if (!ws || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->pages = ws->count;
	info->recordings = ws->recordings;
	info->page_size = WSR_PAGE_SIZE;
	info->dropped = ws->dropped;
	info->snapshot = ws->snap;
	return 0;
}

WSR_EXPORT int wsr_ws_pages(const struct wsr_ws *ws, const uint64_t **pages,
			    size_t *count)
{
	if (!ws || !pages || !count)
		return -EINVAL;
	*pages = ws->pages;
	*count = ws->count;
	return 0;
}

WSR_EXPORT int wsr_ws_entries(const struct wsr_ws *ws,
			      const struct wsr_ws_page **entries,
			      size_t *count)
{
	if (!ws || !entries || !count)
		return -EINVAL;
	*entries = ws->entries;
	*count = ws->count;
	return 0;
}

WSR_EXPORT int wsr_ws_check_snapshot(const struct wsr_ws *ws,
				     const struct wsr_snapshot_id *id)
{
	if (!ws || !id)
		return -EINVAL;
	return wsr__snapshot_id_same(&ws->snap, id) ? 0 : -ESTALE;
}

WSR_EXPORT int wsr_ws_encode(const struct wsr_ws *ws, void **bufp,
			     size_t *lenp)
{
	unsigned char *buf, *h, *e;
	size_t len, i;

	if (!ws || !bufp || !lenp)
		return -EINVAL;
	if (ws->count > WSR_WS_MAX_ENTRIES)
		return -EOVERFLOW;
	len = WSR_WS_HDR_SIZE + ws->count * WSR_WS_ENTRY_SIZE;
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	h = buf;
	memcpy(h + WSR_HDR_MAGIC, WSR_WS_MAGIC, WSR_WS_MAGIC_LEN);
	wsr__put32(h + WSR_HDR_VERSION, WSR_WS_VERSION);
	wsr__put32(h + WSR_HDR_HDR_SIZE, WSR_WS_HDR_SIZE);
	wsr__put32(h + WSR_HDR_PAGE_SIZE, WSR_PAGE_SIZE);
	wsr__put32(h + WSR_HDR_ENTRY_SIZE, WSR_WS_ENTRY_SIZE);
	wsr__put64(h + WSR_HDR_COUNT, ws->count);
	wsr__put32(h + WSR_HDR_RECORDINGS, ws->recordings);
	wsr__put64(h + WSR_HDR_SNAP_OFFSET, ws->snap.offset);
	wsr__put64(h + WSR_HDR_SNAP_LENGTH, ws->snap.length);
	wsr__put64(h + WSR_HDR_SNAP_FP, ws->snap.fingerprint);
	wsr__put32(h + WSR_HDR_FP_METHOD, ws->snap.method);
	wsr__put32(h + WSR_HDR_FP_SAMPLES, ws->snap.samples);
	wsr__put64(h + WSR_HDR_DROPPED, ws->dropped);
	e = buf + WSR_WS_HDR_SIZE;
	for (i = 0; i < ws->count; i++, e += WSR_WS_ENTRY_SIZE) {
		wsr__put64(e + WSR_ENT_INDEX, ws->entries[i].index);
		wsr__put32(e + WSR_ENT_RANK, ws->entries[i].rank);
		wsr__put32(e + WSR_ENT_FREQ, ws->entries[i].freq);
	}
	wsr__put32(h + WSR_HDR_BODY_CRC,
		   wsr__crc32c(0, buf + WSR_WS_HDR_SIZE, len - WSR_WS_HDR_SIZE));
	wsr__put32(h + WSR_HDR_HDR_CRC, wsr__crc32c(0, h, WSR_HDR_HDR_CRC));
	*bufp = buf;
	*lenp = len;
	return 0;
}

static int all_zero(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++)
			return 0;
	return 1;
}

/* Header checks after magic, version and checksum have been verified. */
static int parse_header(const unsigned char *h, struct wsr_ws *tmpl,
			uint64_t *count)
{
	struct wsr_snapshot_id *id = &tmpl->snap;

	if (wsr__get32(h + WSR_HDR_HDR_SIZE) != WSR_WS_HDR_SIZE ||
	    wsr__get32(h + WSR_HDR_PAGE_SIZE) != WSR_PAGE_SIZE ||
	    wsr__get32(h + WSR_HDR_ENTRY_SIZE) != WSR_WS_ENTRY_SIZE ||
	    wsr__get32(h + WSR_HDR_FLAGS) ||
	    !all_zero(h + WSR_HDR_RESERVED, 8))
		return -EUCLEAN;
	*count = wsr__get64(h + WSR_HDR_COUNT);
	tmpl->recordings = wsr__get32(h + WSR_HDR_RECORDINGS);
	id->offset = wsr__get64(h + WSR_HDR_SNAP_OFFSET);
	id->length = wsr__get64(h + WSR_HDR_SNAP_LENGTH);
	id->fingerprint = wsr__get64(h + WSR_HDR_SNAP_FP);
	id->method = wsr__get32(h + WSR_HDR_FP_METHOD);
	id->samples = wsr__get32(h + WSR_HDR_FP_SAMPLES);
	tmpl->dropped = wsr__get64(h + WSR_HDR_DROPPED);
	if (*count > WSR_WS_MAX_ENTRIES ||
	    tmpl->recordings > WSR_WS_MAX_RECORDINGS)
		return -EOVERFLOW;
	if (!tmpl->recordings || !wsr__snapshot_id_valid(id) ||
	    *count > id->length / WSR_PAGE_SIZE)
		return -EUCLEAN;
	return 0;
}

WSR_EXPORT int wsr_ws_parse(const void *buf, size_t len, struct wsr_ws **out)
{
	const unsigned char *h = buf, *e;
	struct wsr_ws tmpl = { 0 };
	struct wsr_ws *ws;
	uint64_t count, npages, *idx;
	size_t i;
	int ret;

	if ((!buf && len) || !out)
		return -EINVAL;
	if (!len)
		return -ENODATA;
	if (memcmp(h, WSR_WS_MAGIC, len < WSR_WS_MAGIC_LEN ?
		   len : WSR_WS_MAGIC_LEN))
		return -EPROTO;
	if (len < WSR_WS_HDR_SIZE)
		return -ENODATA;
	if (wsr__get32(h + WSR_HDR_VERSION) != WSR_WS_VERSION)
		return -EPROTONOSUPPORT;
	if (wsr__get32(h + WSR_HDR_HDR_CRC) !=
	    wsr__crc32c(0, h, WSR_HDR_HDR_CRC))
		return -EBADMSG;
	ret = parse_header(h, &tmpl, &count);
	if (ret)
		return ret;
	/* count <= 2^28, so this cannot overflow. */
	if (len - WSR_WS_HDR_SIZE < count * WSR_WS_ENTRY_SIZE)
		return -ENODATA;
	if (len - WSR_WS_HDR_SIZE > count * WSR_WS_ENTRY_SIZE)
		return -EFBIG;
	if (wsr__get32(h + WSR_HDR_BODY_CRC) !=
	    wsr__crc32c(0, h + WSR_WS_HDR_SIZE, len - WSR_WS_HDR_SIZE))
		return -EBADMSG;

	ws = wsr__ws_alloc(count);
	if (!ws)
		return -ENOMEM;
	ws->snap = tmpl.snap;
	ws->recordings = tmpl.recordings;
	ws->dropped = tmpl.dropped;
	npages = ws->snap.length / WSR_PAGE_SIZE;
	e = h + WSR_WS_HDR_SIZE;
	ret = -EUCLEAN;
	for (i = 0; i < count; i++, e += WSR_WS_ENTRY_SIZE) {
		struct wsr_ws_page *p = &ws->entries[i];

		p->index = wsr__get64(e + WSR_ENT_INDEX);
		p->rank = wsr__get32(e + WSR_ENT_RANK);
		p->freq = wsr__get32(e + WSR_ENT_FREQ);
		if (p->index >= npages || !p->freq ||
		    p->freq > ws->recordings)
			goto err_free;
		/* Entries are stored in strictly increasing restore order. */
		if (i && wsr__page_cmp(p - 1, p) >= 0)
			goto err_free;
		ws->pages[i] = p->index;
	}
	/*
	 * No page may appear twice: a bitmap of the snapshot's pages where it
	 * is not much larger than the entries (a sort costs more), else sort.
	 */
	if (npages / 64 <= count) {
		idx = calloc(npages / 64 + 1, sizeof(*idx));
		if (!idx) {
			ret = -ENOMEM;
			goto err_free;
		}
		for (i = 0; i < count; i++) {
			uint64_t bit = 1ULL << (ws->pages[i] % 64);

			if (idx[ws->pages[i] / 64] & bit)
				break;
			idx[ws->pages[i] / 64] |= bit;
		}
	} else {
		idx = malloc((count ? count : 1) * sizeof(*idx));
		if (!idx) {
			ret = -ENOMEM;
			goto err_free;
		}
		memcpy(idx, ws->pages, count * sizeof(*idx));
		qsort(idx, count, sizeof(*idx), u64_cmp);
		for (i = 1; i < count; i++)
			if (idx[i - 1] == idx[i])
				break;
	}
	free(idx);
	if (count && i < count)
		goto err_free;
	*out = ws;
	return 0;

err_free:
	wsr_ws_free(ws);
	return ret;
}

WSR_EXPORT int wsr_ws_load(const char *path, struct wsr_ws **out)
{
	const size_t max = WSR_WS_HDR_SIZE +
			   WSR_WS_MAX_ENTRIES * WSR_WS_ENTRY_SIZE;
	unsigned char *buf;
	struct stat st;
	size_t len, done = 0;
	ssize_t n;
	int fd, ret;

	if (!path || !out)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out_close;
	}
	/* One byte beyond the largest valid file, to tell "too big". */
	len = (uint64_t)st.st_size > max ? max + 1 : (size_t)st.st_size;
	buf = malloc(len ? len : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	while (done < len) {
		n = pread(fd, buf + done, len - done, done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out_free;
		}
		if (!n)
			break;	/* shrank under us: parse what is there */
		done += n;
	}
	if (done > max)
		ret = memcmp(buf, WSR_WS_MAGIC, WSR_WS_MAGIC_LEN) ?
		      -EPROTO : -EFBIG;
	else
		ret = wsr_ws_parse(buf, done, out);
out_free:
	free(buf);
out_close:
	close(fd);
	return ret;
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Written to "<path>.tmp.<pid>" then renamed over @path, so readers see the
 * old file or the new one, never a partial one.
 */
WSR_EXPORT int wsr_ws_save(const struct wsr_ws *ws, const char *path)
{
	char *tmp;
	void *buf;
	size_t len, plen;
	int fd, ret;

	if (!ws || !path)
		return -EINVAL;
	ret = wsr_ws_encode(ws, &buf, &len);
	if (ret)
		return ret;
	plen = strlen(path) + 32;
	tmp = malloc(plen);
	if (!tmp) {
		ret = -ENOMEM;
		goto out_buf;
	}
	snprintf(tmp, plen, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out_tmp;
	}
	ret = write_all(fd, buf, len);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
out_tmp:
	free(tmp);
out_buf:
	free(buf);
	return ret;
}
