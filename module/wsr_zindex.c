// SPDX-License-Identifier: GPL-2.0
/*
 * wsr zindex: the index of a compressed snapshot (wsr-zsnap(5)).
 *
 * A compressed snapshot is a 64-byte header, a table of 24-byte chunk
 * entries and the stored chunks, back to back in chunk order from
 * data_offset to the end of the file.  The index is read once, when a base
 * is made over the file, and checked completely: both CRCs, every reserved
 * field zero, every chunk's codec and length consistent, the chunks
 * contiguous and ending exactly at the end of the file.  After that a
 * chunk's entry is trusted for where its bytes are; its own CRC is checked
 * on every load (wsr_zio.c).  The rules are those of the userspace parser
 * (userspace/lib/zsnap.c); both must accept the same files.
 */
#include <linux/crc32.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "wsr_internal.h"

#define WSR_ZS_MAGIC		"WSRZSNP"	/* and a NUL: 8 bytes */
#define WSR_ZS_VERSION		1
#define WSR_ZS_HDR_SIZE		64
#define WSR_ZS_ENTRY_SIZE	24
#define WSR_ZS_ALIGN		4096
#define WSR_ZS_CHUNK_MIN	SZ_64K
#define WSR_ZS_CHUNK_MAX	SZ_2M
#define WSR_ZS_MAX_LENGTH	(1ULL << 40)
/* Entries read and checked at a time. */
#define WSR_ZS_READ_ENTRIES	2048

/* The on-disk header, little-endian. */
struct wsr_zs_header {
	u8 magic[8];
	__le32 version;
	__le32 hdr_size;
	__le32 chunk_size;
	__le32 entry_size;
	__le64 length;
	__le64 nchunks;
	__le64 data_offset;
	__le32 flags;
	__le32 reserved;
	__le32 index_crc;
	__le32 hdr_crc;
};

/* An on-disk entry. */
struct wsr_zs_entry {
	__le64 offset;
	__le32 length;
	__le32 crc;
	__le16 codec;
	__le16 flags;
	__le32 reserved;
};

static_assert(sizeof(struct wsr_zs_header) == WSR_ZS_HDR_SIZE);
static_assert(sizeof(struct wsr_zs_entry) == WSR_ZS_ENTRY_SIZE);

/**
 * wsr_zs_crc() - CRC-32C as the format stores it (inverted in and out)
 * @p:   bytes
 * @len: how many
 *
 * Return: the CRC.
 * Context: any.
 */
u32 wsr_zs_crc(const void *p, size_t len)
{
	return ~__crc32c_le(~0U, (const u8 *)p, len);
}

static int wsr_zs_read(struct file *f, void *buf, size_t len, loff_t pos)
{
	ssize_t n = kernel_read(f, buf, len, &pos);

	if (n < 0)
		return n;
	return n == len ? 0 : -ENODATA;
}

/* Check the header; fill @zi's geometry. */
static int wsr_zs_parse_header(const struct wsr_zs_header *h,
			       struct wsr_zindex *zi)
{
	u32 chunk = le32_to_cpu(h->chunk_size);
	u64 len = le64_to_cpu(h->length), n, data;

	if (memcmp(h->magic, WSR_ZS_MAGIC, 8) ||
	    le32_to_cpu(h->version) != WSR_ZS_VERSION)
		return -EINVAL;
	if (le32_to_cpu(h->hdr_crc) !=
	    wsr_zs_crc(h, offsetof(struct wsr_zs_header, hdr_crc)))
		return -EBADMSG;
	if (le32_to_cpu(h->hdr_size) != WSR_ZS_HDR_SIZE ||
	    le32_to_cpu(h->entry_size) != WSR_ZS_ENTRY_SIZE ||
	    h->flags || h->reserved)
		return -EINVAL;
	if (chunk < WSR_ZS_CHUNK_MIN || chunk > WSR_ZS_CHUNK_MAX ||
	    !is_power_of_2(chunk) || !len || len > WSR_ZS_MAX_LENGTH ||
	    !PAGE_ALIGNED(len))
		return -EINVAL;
	n = DIV_ROUND_UP_ULL(len, chunk);
	data = round_up(WSR_ZS_HDR_SIZE + n * WSR_ZS_ENTRY_SIZE, WSR_ZS_ALIGN);
	if (le64_to_cpu(h->nchunks) != n || le64_to_cpu(h->data_offset) != data)
		return -EINVAL;
	zi->chunk_size = chunk;
	zi->chunk_order = ilog2(chunk) - PAGE_SHIFT;
	zi->length = len;
	zi->nchunks = n;
	zi->data_offset = data;
	return 0;
}

/* Check entry @i (stored bytes from @pos on) and keep it. */
static int wsr_zs_parse_entry(struct wsr_zindex *zi, u64 i,
			      const struct wsr_zs_entry *e, u64 pos,
			      loff_t size)
{
	struct wsr_zchunk *c = &zi->chunks[i];
	u32 raw = wsr_zindex_chunk_bytes(zi, i);

	if (e->flags || e->reserved)
		return -EINVAL;
	c->offset = le64_to_cpu(e->offset);
	c->length = le32_to_cpu(e->length);
	c->crc = le32_to_cpu(e->crc);
	c->codec = le16_to_cpu(e->codec);
	switch (c->codec) {
	case WSR_ZS_ZERO:
		return c->offset || c->length || c->crc ? -EINVAL : 0;
	case WSR_ZS_RAW:
		if (c->length != raw)
			return -EINVAL;
		break;
	case WSR_ZS_LZ4:
	case WSR_ZS_ZSTD:
		if (!c->length || c->length >= raw)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (c->offset != pos)
		return -EINVAL;
	return c->length > size - pos ? -ENODATA : 0;
}

/* The bytes between the last entry and the data must be zero. */
static int wsr_zs_check_padding(struct file *f, const struct wsr_zindex *zi,
				void *buf)
{
	u64 end = WSR_ZS_HDR_SIZE + zi->nchunks * WSR_ZS_ENTRY_SIZE;
	int ret;

	if (end == zi->data_offset)
		return 0;
	ret = wsr_zs_read(f, buf, zi->data_offset - end, end);
	if (ret)
		return ret;
	return memchr_inv(buf, 0, zi->data_offset - end) ? -EINVAL : 0;
}

/**
 * wsr_zindex_load() - read and check the index of a compressed snapshot
 * @f: the snapshot, open for reading
 *
 * Return: the index, or ERR_PTR(-EINVAL) (not a compressed snapshot of
 * format version 1, or an inconsistent index), ERR_PTR(-EBADMSG) (a header
 * or index checksum), ERR_PTR(-ENODATA) (the file is shorter than its
 * index says), ERR_PTR(-EFBIG) (longer), -ENOMEM or the -errno of a read.
 * Context: process context, may sleep; no wsr lock held.
 */
struct wsr_zindex *wsr_zindex_load(struct file *f)
{
	loff_t size = i_size_read(file_inode(f));
	struct wsr_zs_entry *ents = NULL;
	struct wsr_zs_header h;
	struct wsr_zindex *zi;
	u64 i, pos;
	u32 crc = ~0U;
	int ret, bad = 0;

	zi = kzalloc(sizeof(*zi), GFP_KERNEL_ACCOUNT);
	if (!zi)
		return ERR_PTR(-ENOMEM);
	ret = size < WSR_ZS_HDR_SIZE ? -ENODATA :
	      wsr_zs_read(f, &h, sizeof(h), 0);
	if (!ret)
		ret = wsr_zs_parse_header(&h, zi);
	if (ret)
		goto err;
	if (size < zi->data_offset) {
		ret = -ENODATA;
		goto err;
	}
	zi->chunks = kvcalloc(zi->nchunks, sizeof(*zi->chunks),
			      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	ents = kvmalloc_array(WSR_ZS_READ_ENTRIES, sizeof(*ents), GFP_KERNEL);
	if (!zi->chunks || !ents) {
		ret = -ENOMEM;
		goto err;
	}
	pos = zi->data_offset;
	for (i = 0; i < zi->nchunks; i++) {
		unsigned int k = i % WSR_ZS_READ_ENTRIES;

		if (!k) {
			u64 nr = min_t(u64, zi->nchunks - i,
				       WSR_ZS_READ_ENTRIES);

			ret = wsr_zs_read(f, ents, nr * sizeof(*ents),
					  WSR_ZS_HDR_SIZE + i * sizeof(*ents));
			if (ret)
				goto err;
			crc = __crc32c_le(crc, (const u8 *)ents,
					  nr * sizeof(*ents));
			cond_resched();
		}
		/* A checksum mismatch wins over what it garbled. */
		if (!bad)
			bad = wsr_zs_parse_entry(zi, i, &ents[k], pos, size);
		pos += zi->chunks[i].length;
	}
	ret = ~crc != le32_to_cpu(h.index_crc) ? -EBADMSG : bad;
	if (!ret)
		ret = wsr_zs_check_padding(f, zi, ents);
	if (!ret && pos != size)
		ret = -EFBIG;
	if (ret)
		goto err;
	kvfree(ents);
	return zi;
err:
	kvfree(ents);
	wsr_zindex_free(zi);
	return ERR_PTR(ret);
}

/**
 * wsr_zindex_free() - free an index
 * @zi: the index, or NULL
 *
 * Context: process context.
 */
void wsr_zindex_free(struct wsr_zindex *zi)
{
	if (!zi)
		return;
	kvfree(zi->chunks);
	kfree(zi);
}
