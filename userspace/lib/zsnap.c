// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * The index of a compressed snapshot (wsr-zsnap(5)): header and chunk
 * table, encoded and parsed here and nowhere else.  Compressing and
 * decompressing the chunks is the caller's business (wsrctl links liblz4
 * and libzstd; libwsr does not).
 *
 * The format has one canonical encoding: the stored chunks lie back to
 * back in index order from data_offset, zero chunks store nothing, a
 * compressed chunk is shorter than its uncompressed size (else it is raw),
 * and the file ends with the last stored byte.  The parser enforces all of
 * it, so two different files never describe the same snapshot and a
 * stored byte belongs to exactly one chunk.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "wsr-private.h"

static uint64_t zs_nchunks(uint64_t length, uint32_t chunk_size)
{
	return (length + chunk_size - 1) / chunk_size;
}

static uint64_t zs_data_offset(uint64_t nchunks)
{
	uint64_t end = WSR_ZS_HDR_SIZE + nchunks * WSR_ZS_ENTRY_SIZE;

	return (end + WSR_ZS_ALIGN - 1) / WSR_ZS_ALIGN * WSR_ZS_ALIGN;
}

/* Uncompressed bytes of chunk @i. */
static uint32_t zs_chunk_len(const struct wsr_zsnap_info *in, uint64_t i)
{
	uint64_t left = in->length - i * in->chunk_size;

	return left < in->chunk_size ? (uint32_t)left : in->chunk_size;
}

static int zs_geometry_ok(uint32_t chunk_size, uint64_t length)
{
	return chunk_size >= WSR_ZSNAP_CHUNK_MIN &&
	       chunk_size <= WSR_ZSNAP_CHUNK_MAX &&
	       !(chunk_size & (chunk_size - 1)) && length &&
	       length <= WSR_ZSNAP_MAX_LENGTH && !(length % WSR_PAGE_SIZE);
}

static struct wsr_zsnap *zs_alloc(uint32_t chunk_size, uint64_t length)
{
	struct wsr_zsnap *z = calloc(1, sizeof(*z));
	uint64_t n = zs_nchunks(length, chunk_size);

	if (!z)
		return NULL;
	z->chunks = calloc(n, sizeof(*z->chunks));
	if (!z->chunks) {
		free(z);
		return NULL;
	}
	z->info.version = WSR_ZS_VERSION;
	z->info.chunk_size = chunk_size;
	z->info.length = length;
	z->info.nchunks = n;
	z->info.data_offset = zs_data_offset(n);
	z->info.file_size = z->info.data_offset;
	return z;
}

/*
 * Is @c a valid entry for chunk @i that starts at @pos (the end of the
 * previous stored chunk)?  0 or -EUCLEAN.
 */
static int zs_check_chunk(const struct wsr_zsnap_info *in, uint64_t i,
			  const struct wsr_zsnap_chunk *c, uint64_t pos)
{
	uint32_t len = zs_chunk_len(in, i);

	switch (c->codec) {
	case WSR_ZSNAP_ZERO:
		return c->offset || c->length || c->crc ? -EUCLEAN : 0;
	case WSR_ZSNAP_RAW:
		if (c->length != len)
			return -EUCLEAN;
		break;
	case WSR_ZSNAP_LZ4:
	case WSR_ZSNAP_ZSTD:
		if (!c->length || c->length >= len)
			return -EUCLEAN;
		break;
	default:
		return -EUCLEAN;
	}
	return c->offset == pos ? 0 : -EUCLEAN;
}

/* Account chunk @i, stored as @c, in @in. */
static void zs_count(struct wsr_zsnap_info *in, uint64_t i,
		     const struct wsr_zsnap_chunk *c)
{
	in->chunks[c->codec]++;
	in->stored[c->codec] += c->length;
	in->raw_bytes[c->codec] += zs_chunk_len(in, i);
}

/**
 * wsr_zsnap_create() - an empty index, to be filled in chunk order
 * @chunk_size: a power of two from 64 KiB to 2 MiB
 * @length:     uncompressed length, a multiple of 4 KiB, at most 1 TiB
 * @out:        (out) the new index, every chunk unset
 *
 * Return: 0, -EINVAL for a bad geometry, -ENOMEM.
 */
WSR_EXPORT int wsr_zsnap_create(uint32_t chunk_size, uint64_t length,
				struct wsr_zsnap **out)
{
	struct wsr_zsnap *z;

	if (!out || !zs_geometry_ok(chunk_size, length))
		return -EINVAL;
	z = zs_alloc(chunk_size, length);
	if (!z)
		return -ENOMEM;
	*out = z;
	return 0;
}

/**
 * wsr_zsnap_add_chunk() - describe chunk @i, the next one
 * @z:      index from wsr_zsnap_create(), chunks 0..@i-1 added
 * @i:      the next chunk
 * @codec:  enum wsr_zsnap_codec it is stored with
 * @stored: its stored bytes (NULL for ZERO)
 * @length: how many (0 for ZERO, the chunk's size for RAW, less for LZ4
 *          and ZSTD)
 *
 * The chunk's bytes go right after the previous stored chunk; its CRC is
 * computed here.
 *
 * Return: 0; -EINVAL when @i is not the next chunk or the entry breaks the
 * format's rules (a compressed chunk not shorter than the raw one, ...).
 */
WSR_EXPORT int wsr_zsnap_add_chunk(struct wsr_zsnap *z, uint64_t i,
				   uint32_t codec, const void *stored,
				   uint32_t length)
{
	struct wsr_zsnap_chunk e = { .codec = codec, .length = length };
	uint64_t done = 0, k;

	if (!z || i >= z->info.nchunks || (length && !stored))
		return -EINVAL;
	for (k = 0; k < WSR_ZSNAP_NCODECS; k++)
		done += z->info.chunks[k];
	if (i != done)
		return -EINVAL;
	if (codec != WSR_ZSNAP_ZERO) {
		e.offset = z->info.file_size;
		e.crc = wsr__crc32c(0, stored, length);
	}
	if (zs_check_chunk(&z->info, i, &e, z->info.file_size))
		return -EINVAL;
	z->chunks[i] = e;
	z->info.file_size += e.length;
	zs_count(&z->info, i, &e);
	return 0;
}

/**
 * wsr_zsnap_verify_chunk() - do stored bytes match chunk @i's checksum?
 * @z:      the index
 * @i:      chunk number
 * @stored: the bytes read from the chunk's offset
 * @length: how many (its entry's length)
 *
 * Return: 0, -EBADMSG on a checksum mismatch, -EINVAL for a bad @i or
 * @length.
 */
WSR_EXPORT int wsr_zsnap_verify_chunk(const struct wsr_zsnap *z, uint64_t i,
				      const void *stored, uint32_t length)
{
	const struct wsr_zsnap_chunk *c;

	if (!z || i >= z->info.nchunks)
		return -EINVAL;
	c = &z->chunks[i];
	if (length != c->length || (length && !stored))
		return -EINVAL;
	if (c->codec == WSR_ZSNAP_ZERO)
		return 0;
	return wsr__crc32c(0, stored, length) == c->crc ? 0 : -EBADMSG;
}

/**
 * wsr_zsnap_encode() - header and index of a complete index
 * @z:   every chunk set
 * @buf: (out) malloc()ed bytes, data_offset of them (the index padded
 *       with zeroes to the data), for the caller to free()
 * @len: (out) their length
 *
 * Return: 0, -EINVAL for an incomplete index, -ENOMEM.
 */
WSR_EXPORT int wsr_zsnap_encode(const struct wsr_zsnap *z, void **buf,
				size_t *len)
{
	const struct wsr_zsnap_info *in;
	uint64_t done = 0, i;
	unsigned char *p, *e;

	if (!z || !buf || !len)
		return -EINVAL;
	in = &z->info;
	for (i = 0; i < WSR_ZSNAP_NCODECS; i++)
		done += in->chunks[i];
	if (done != in->nchunks)
		return -EINVAL;
	p = calloc(1, in->data_offset);
	if (!p)
		return -ENOMEM;
	memcpy(p + WSR_ZS_HDR_MAGIC, WSR_ZS_MAGIC, 8);
	wsr__put32(p + WSR_ZS_HDR_VERSION, WSR_ZS_VERSION);
	wsr__put32(p + WSR_ZS_HDR_HDR_SIZE, WSR_ZS_HDR_SIZE);
	wsr__put32(p + WSR_ZS_HDR_CHUNK_SIZE, in->chunk_size);
	wsr__put32(p + WSR_ZS_HDR_ENTRY_SIZE, WSR_ZS_ENTRY_SIZE);
	wsr__put64(p + WSR_ZS_HDR_LENGTH, in->length);
	wsr__put64(p + WSR_ZS_HDR_NCHUNKS, in->nchunks);
	wsr__put64(p + WSR_ZS_HDR_DATA_OFFSET, in->data_offset);
	for (i = 0; i < in->nchunks; i++) {
		const struct wsr_zsnap_chunk *c = &z->chunks[i];

		e = p + WSR_ZS_HDR_SIZE + i * WSR_ZS_ENTRY_SIZE;
		wsr__put64(e + WSR_ZS_ENT_OFFSET, c->offset);
		wsr__put32(e + WSR_ZS_ENT_LENGTH, c->length);
		wsr__put32(e + WSR_ZS_ENT_CRC, c->crc);
		e[WSR_ZS_ENT_CODEC] = (unsigned char)c->codec;
		e[WSR_ZS_ENT_CODEC + 1] = (unsigned char)(c->codec >> 8);
	}
	wsr__put32(p + WSR_ZS_HDR_INDEX_CRC,
		   wsr__crc32c(0, p + WSR_ZS_HDR_SIZE,
			       in->nchunks * WSR_ZS_ENTRY_SIZE));
	wsr__put32(p + WSR_ZS_HDR_HDR_CRC,
		   wsr__crc32c(0, p, WSR_ZS_HDR_HDR_CRC));
	*buf = p;
	*len = in->data_offset;
	return 0;
}

/*
 * Check the header in @buf (@len >= WSR_ZS_HDR_SIZE) and fill @in from it.
 * Returns 0 or -errno (see wsr_zsnap_parse()).
 */
static int zs_parse_header(const unsigned char *p, struct wsr_zsnap_info *in)
{
	uint32_t chunk_size;
	uint64_t length, n;

	if (memcmp(p + WSR_ZS_HDR_MAGIC, WSR_ZS_MAGIC, 8))
		return -EPROTO;
	if (wsr__get32(p + WSR_ZS_HDR_VERSION) != WSR_ZS_VERSION)
		return -EPROTONOSUPPORT;
	if (wsr__get32(p + WSR_ZS_HDR_HDR_CRC) !=
	    wsr__crc32c(0, p, WSR_ZS_HDR_HDR_CRC))
		return -EBADMSG;
	if (wsr__get32(p + WSR_ZS_HDR_HDR_SIZE) != WSR_ZS_HDR_SIZE ||
	    wsr__get32(p + WSR_ZS_HDR_ENTRY_SIZE) != WSR_ZS_ENTRY_SIZE ||
	    wsr__get32(p + WSR_ZS_HDR_FLAGS) ||
	    wsr__get32(p + WSR_ZS_HDR_RESERVED))
		return -EUCLEAN;
	chunk_size = wsr__get32(p + WSR_ZS_HDR_CHUNK_SIZE);
	length = wsr__get64(p + WSR_ZS_HDR_LENGTH);
	if (!zs_geometry_ok(chunk_size, length))
		return -EOVERFLOW;
	n = zs_nchunks(length, chunk_size);
	if (wsr__get64(p + WSR_ZS_HDR_NCHUNKS) != n ||
	    wsr__get64(p + WSR_ZS_HDR_DATA_OFFSET) != zs_data_offset(n))
		return -EUCLEAN;
	memset(in, 0, sizeof(*in));
	in->version = WSR_ZS_VERSION;
	in->chunk_size = chunk_size;
	in->length = length;
	in->nchunks = n;
	in->data_offset = zs_data_offset(n);
	return 0;
}

/**
 * wsr_zsnap_index_size() - how many bytes the header says the index takes
 * @buf:  the file's first bytes
 * @len:  how many (at least the 64-byte header)
 * @need: (out) header + index + padding: the data_offset, the bytes
 *        wsr_zsnap_parse() needs
 *
 * Return: 0 or a -errno of wsr_zsnap_parse() about the header.
 */
WSR_EXPORT int wsr_zsnap_index_size(const void *buf, size_t len, size_t *need)
{
	struct wsr_zsnap_info in;
	int ret;

	if (!buf || !need)
		return -EINVAL;
	if (len < WSR_ZS_HDR_SIZE)
		return -ENODATA;
	ret = zs_parse_header(buf, &in);
	if (ret)
		return ret;
	*need = in.data_offset;
	return 0;
}

/**
 * wsr_zsnap_parse() - parse the header and index of a compressed snapshot
 * @buf:       the file's first bytes: at least header, index and padding
 * @len:       how many
 * @file_size: the file's size: the stored chunks must end exactly there
 * @out:       (out) the index, untouched on error
 *
 * Return: 0, or -EPROTO (bad magic), -EPROTONOSUPPORT (version), -ENODATA
 * (@len or @file_size shorter than the index), -EBADMSG (a checksum),
 * -EOVERFLOW (geometry beyond the limits), -EUCLEAN (inconsistent index:
 * reserved bits set, chunks not back to back, a compressed chunk not
 * shorter than the raw one), -EFBIG (the file is longer than its chunks),
 * -ENOMEM.
 */
WSR_EXPORT int wsr_zsnap_parse(const void *buf, size_t len, uint64_t file_size,
			       struct wsr_zsnap **out)
{
	const unsigned char *p = buf;
	struct wsr_zsnap_info in;
	struct wsr_zsnap *z;
	uint64_t i, pos;
	int ret;

	if (!out)
		return -EINVAL;
	if (!p || len < WSR_ZS_HDR_SIZE)
		return -ENODATA;
	ret = zs_parse_header(p, &in);
	if (ret)
		return ret;
	if (len < in.data_offset || file_size < in.data_offset)
		return -ENODATA;
	if (wsr__get32(p + WSR_ZS_HDR_INDEX_CRC) !=
	    wsr__crc32c(0, p + WSR_ZS_HDR_SIZE, in.nchunks * WSR_ZS_ENTRY_SIZE))
		return -EBADMSG;
	for (i = WSR_ZS_HDR_SIZE + in.nchunks * WSR_ZS_ENTRY_SIZE;
	     i < in.data_offset; i++)
		if (p[i])
			return -EUCLEAN;
	z = zs_alloc(in.chunk_size, in.length);
	if (!z)
		return -ENOMEM;
	pos = in.data_offset;
	for (i = 0; i < in.nchunks; i++) {
		const unsigned char *e = p + WSR_ZS_HDR_SIZE +
					 i * WSR_ZS_ENTRY_SIZE;
		struct wsr_zsnap_chunk *c = &z->chunks[i];

		c->offset = wsr__get64(e + WSR_ZS_ENT_OFFSET);
		c->length = wsr__get32(e + WSR_ZS_ENT_LENGTH);
		c->crc = wsr__get32(e + WSR_ZS_ENT_CRC);
		c->codec = e[WSR_ZS_ENT_CODEC] | e[WSR_ZS_ENT_CODEC + 1] << 8;
		if (e[WSR_ZS_ENT_FLAGS] || e[WSR_ZS_ENT_FLAGS + 1] ||
		    wsr__get32(e + WSR_ZS_ENT_RESERVED) ||
		    zs_check_chunk(&in, i, c, pos)) {
			ret = -EUCLEAN;
			goto err;
		}
		if (c->length > file_size - pos) {
			ret = -ENODATA;
			goto err;
		}
		pos += c->length;
		zs_count(&in, i, c);
	}
	if (file_size != pos) {
		ret = -EFBIG;
		goto err;
	}
	in.file_size = pos;
	z->info = in;
	*out = z;
	return 0;
err:
	wsr_zsnap_free(z);
	return ret;
}

/**
 * wsr_zsnap_load() - read and parse the index of an open compressed snapshot
 * @fd:  the file, read with pread() (its offset is not moved)
 * @out: (out) the index
 *
 * Return: 0, a -errno of wsr_zsnap_parse(), or of fstat()/pread().
 */
WSR_EXPORT int wsr_zsnap_load(int fd, struct wsr_zsnap **out)
{
	unsigned char hdr[WSR_ZS_HDR_SIZE];
	unsigned char *buf;
	struct stat st;
	size_t need, got = 0;
	ssize_t n;
	int ret;

	if (!out)
		return -EINVAL;
	if (fstat(fd, &st))
		return -errno;
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (n < 0)
		return -errno;
	ret = wsr_zsnap_index_size(hdr, (size_t)n, &need);
	if (ret)
		return ret;
	if ((uint64_t)st.st_size < need)
		return -ENODATA;
	buf = malloc(need);
	if (!buf)
		return -ENOMEM;
	while (got < need) {
		n = pread(fd, buf + got, need - got, (off_t)got);
		if (n <= 0) {
			ret = n < 0 ? -errno : -ENODATA;
			free(buf);
			return ret;
		}
		got += (size_t)n;
	}
	ret = wsr_zsnap_parse(buf, need, (uint64_t)st.st_size, out);
	free(buf);
	return ret;
}

/**
 * wsr_zsnap_info() - summary of an index
 * @z:    the index
 * @info: (out) its header and per-codec counts
 *
 * Return: 0 or -EINVAL.
 */
WSR_EXPORT int wsr_zsnap_info(const struct wsr_zsnap *z,
			      struct wsr_zsnap_info *info)
{
	if (!z || !info)
		return -EINVAL;
	*info = z->info;
	return 0;
}

/**
 * wsr_zsnap_chunk() - one chunk's entry
 * @z: the index
 * @i: chunk number
 * @c: (out) its entry
 *
 * Return: 0, -EINVAL when @i is out of range.
 */
WSR_EXPORT int wsr_zsnap_chunk(const struct wsr_zsnap *z, uint64_t i,
			       struct wsr_zsnap_chunk *c)
{
	if (!z || !c || i >= z->info.nchunks)
		return -EINVAL;
	*c = z->chunks[i];
	return 0;
}

/**
 * wsr_zsnap_free() - free an index
 * @z: the index, or NULL
 */
WSR_EXPORT void wsr_zsnap_free(struct wsr_zsnap *z)
{
	if (!z)
		return;
	free(z->chunks);
	free(z);
}
