// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The compressed-snapshot index (wsr_zsnap_*, wsr-zsnap(5)): encode and
 * parse round trip, the writer's rules, and corruption: every flipped
 * header and index byte, truncation, a wrong file size, bad reserved
 * fields behind valid checksums.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "wsr-private.h"

#define CHUNK	(64u << 10)
#define LENGTH	(16ull * CHUNK + 8192)	/* 17 chunks, the last 8 KiB */

static unsigned char stored[CHUNK];

/* An index of 17 chunks: zero, raw, lz4, zstd in turn; the last raw. */
static struct wsr_zsnap *make_index(void)
{
	struct wsr_zsnap *z;
	uint64_t i;
	int ret;

	for (i = 0; i < sizeof(stored); i++)
		stored[i] = (unsigned char)(i * 31 + 7);
	if (wsr_zsnap_create(CHUNK, LENGTH, &z))
		return NULL;
	for (i = 0; i < 17; i++) {
		uint32_t codec = i == 16 ? WSR_ZSNAP_RAW : 1 + i % 4;
		uint32_t len = codec == WSR_ZSNAP_ZERO ? 0 :
			       codec == WSR_ZSNAP_RAW ? (i == 16 ? 8192 : CHUNK) :
			       1000 + (uint32_t)i * 100;

		ret = wsr_zsnap_add_chunk(z, i, codec, len ? stored : NULL, len);
		if (ret) {
			wsr_zsnap_free(z);
			return NULL;
		}
	}
	return z;
}

TEST(zsnap_roundtrip)
{
	struct wsr_zsnap *z = make_index(), *p = NULL;
	struct wsr_zsnap_info a, b;
	struct wsr_zsnap_chunk ca, cb;
	void *buf;
	size_t len, need;
	uint64_t i;

	CHECK(z);
	if (!z)
		return;
	CHECK_EQ(wsr_zsnap_encode(z, &buf, &len), 0);
	CHECK_EQ(wsr_zsnap_info(z, &a), 0);
	CHECK_EQ(len, 4096);
	CHECK_EQ(a.data_offset, 4096);
	CHECK_EQ(a.nchunks, 17);
	CHECK_EQ(a.chunks[WSR_ZSNAP_ZERO], 4);
	CHECK_EQ(a.chunks[WSR_ZSNAP_RAW], 5);
	CHECK_EQ(a.raw_bytes[WSR_ZSNAP_RAW], 4 * CHUNK + 8192);
	CHECK_EQ(a.stored[WSR_ZSNAP_LZ4], 1200 + 1600 + 2000 + 2400);
	CHECK_EQ(wsr_zsnap_index_size(buf, 64, &need), 0);
	CHECK_EQ(need, 4096);
	CHECK_EQ(wsr_zsnap_parse(buf, len, a.file_size, &p), 0);
	CHECK(p);
	if (p) {
		CHECK_EQ(wsr_zsnap_info(p, &b), 0);
		CHECK(!memcmp(&a, &b, sizeof(a)));
		for (i = 0; i < 17; i++) {
			CHECK_EQ(wsr_zsnap_chunk(z, i, &ca), 0);
			CHECK_EQ(wsr_zsnap_chunk(p, i, &cb), 0);
			CHECK(!memcmp(&ca, &cb, sizeof(ca)));
		}
		CHECK_EQ(wsr_zsnap_chunk(p, 17, &cb), -EINVAL);
		CHECK_EQ(wsr_zsnap_chunk(p, 2, &cb), 0);
		CHECK_EQ(cb.offset, 4096 + CHUNK);	/* after chunk 1 (raw) */
		CHECK_EQ(wsr_zsnap_verify_chunk(p, 2, stored, cb.length), 0);
		stored[5] ^= 1;
		CHECK_EQ(wsr_zsnap_verify_chunk(p, 2, stored, cb.length), -EBADMSG);
		stored[5] ^= 1;
		CHECK_EQ(wsr_zsnap_verify_chunk(p, 2, stored, cb.length - 1), -EINVAL);
		CHECK_EQ(wsr_zsnap_verify_chunk(p, 0, NULL, 0), 0);
	}
	wsr_zsnap_free(p);
	wsr_zsnap_free(z);
	free(buf);
}

TEST(zsnap_writer_rules)
{
	struct wsr_zsnap *z;
	void *buf;
	size_t len;

	CHECK_EQ(wsr_zsnap_create(CHUNK + 1, LENGTH, &z), -EINVAL);
	CHECK_EQ(wsr_zsnap_create(32u << 10, LENGTH, &z), -EINVAL);
	CHECK_EQ(wsr_zsnap_create(4u << 20, LENGTH, &z), -EINVAL);
	CHECK_EQ(wsr_zsnap_create(CHUNK, LENGTH + 1, &z), -EINVAL);
	CHECK_EQ(wsr_zsnap_create(CHUNK, 0, &z), -EINVAL);
	CHECK_EQ(wsr_zsnap_create(CHUNK, LENGTH, &z), 0);
	/* out of order, bad codec, bad lengths */
	CHECK_EQ(wsr_zsnap_add_chunk(z, 1, WSR_ZSNAP_ZERO, NULL, 0), -EINVAL);
	CHECK_EQ(wsr_zsnap_add_chunk(z, 0, 0, stored, 10), -EINVAL);
	CHECK_EQ(wsr_zsnap_add_chunk(z, 0, WSR_ZSNAP_NCODECS, stored, 10), -EINVAL);
	CHECK_EQ(wsr_zsnap_add_chunk(z, 0, WSR_ZSNAP_ZERO, stored, 10), -EINVAL);
	CHECK_EQ(wsr_zsnap_add_chunk(z, 0, WSR_ZSNAP_RAW, stored, CHUNK - 1), -EINVAL);
	CHECK_EQ(wsr_zsnap_add_chunk(z, 0, WSR_ZSNAP_LZ4, stored, CHUNK), -EINVAL);
	CHECK_EQ(wsr_zsnap_add_chunk(z, 0, WSR_ZSNAP_ZSTD, stored, 0), -EINVAL);
	CHECK_EQ(wsr_zsnap_add_chunk(z, 0, WSR_ZSNAP_ZSTD, NULL, 10), -EINVAL);
	/* an incomplete index does not encode */
	CHECK_EQ(wsr_zsnap_add_chunk(z, 0, WSR_ZSNAP_ZSTD, stored, 10), 0);
	CHECK_EQ(wsr_zsnap_encode(z, &buf, &len), -EINVAL);
	wsr_zsnap_free(z);
}

static int parse(const unsigned char *buf, size_t len, uint64_t size)
{
	struct wsr_zsnap *p = NULL;
	int ret = wsr_zsnap_parse(buf, len, size, &p);

	if (ret && p)
		return -9999;	/* output on error */
	wsr_zsnap_free(p);
	return ret;
}

/* Recompute both checksums of @b (@n chunks). */
static void fix_crcs(unsigned char *b, uint64_t n)
{
	wsr__put32(b + WSR_ZS_HDR_INDEX_CRC,
		   wsr__crc32c(0, b + WSR_ZS_HDR_SIZE, n * WSR_ZS_ENTRY_SIZE));
	wsr__put32(b + WSR_ZS_HDR_HDR_CRC, wsr__crc32c(0, b, WSR_ZS_HDR_HDR_CRC));
}

TEST(zsnap_corruption)
{
	struct wsr_zsnap *z = make_index();
	struct wsr_zsnap_info in;
	unsigned char *b, *c;
	size_t len, i;
	uint64_t size;
	int ret, bit;

	CHECK(z);
	if (!z)
		return;
	wsr_zsnap_info(z, &in);
	size = in.file_size;
	CHECK_EQ(wsr_zsnap_encode(z, (void **)&b, &len), 0);
	c = malloc(len);
	CHECK_EQ(parse(b, len, size), 0);
	/* Every bit of header and index: never accepted. */
	for (i = 0; i < WSR_ZS_HDR_SIZE + 17 * WSR_ZS_ENTRY_SIZE; i++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(c, b, len);
			c[i] ^= 1 << bit;
			ret = parse(c, len, size);
			CHECKF(ret == -EBADMSG || (i < 8 && ret == -EPROTO) ||
			       (i >= 8 && i < 12 && ret == -EPROTONOSUPPORT),
			       "byte %zu bit %d: %d", i, bit, ret);
		}
	/* The padding before the data must be zero. */
	memcpy(c, b, len);
	c[len - 1] = 1;
	CHECK_EQ(parse(c, len, size), -EUCLEAN);
	/* Truncated buffers; wrong file sizes. */
	CHECK_EQ(parse(b, 0, size), -ENODATA);
	CHECK_EQ(parse(b, 63, size), -ENODATA);
	CHECK_EQ(parse(b, len - 1, size), -ENODATA);
	CHECK_EQ(parse(b, len, size - 1), -ENODATA);
	CHECK_EQ(parse(b, len, size + 1), -EFBIG);
	CHECK_EQ(parse(b, len, len - 1), -ENODATA);
	/* Valid checksums, wrong contents. */
	{
		static const struct {
			size_t off;
			unsigned char val;
			int err;
		} cases[] = {
			{ WSR_ZS_HDR_FLAGS, 1, -EUCLEAN },
			{ WSR_ZS_HDR_RESERVED + 3, 1, -EUCLEAN },
			{ WSR_ZS_HDR_HDR_SIZE, 65, -EUCLEAN },
			{ WSR_ZS_HDR_ENTRY_SIZE, 16, -EUCLEAN },
			{ WSR_ZS_HDR_CHUNK_SIZE + 2, 3, -EOVERFLOW },	/* not 2^n */
			{ WSR_ZS_HDR_LENGTH, 1, -EOVERFLOW },	/* not 4 KiB */
			{ WSR_ZS_HDR_LENGTH + 5, 1, -EOVERFLOW },	/* > 1 TiB */
			{ WSR_ZS_HDR_NCHUNKS, 18, -EUCLEAN },
			{ WSR_ZS_HDR_DATA_OFFSET + 1, 0x20, -EUCLEAN },
			{ WSR_ZS_HDR_SIZE + WSR_ZS_ENT_FLAGS, 1, -EUCLEAN },
			{ WSR_ZS_HDR_SIZE + WSR_ZS_ENT_RESERVED, 1, -EUCLEAN },
			{ WSR_ZS_HDR_SIZE + WSR_ZS_ENT_CODEC, 0, -EUCLEAN },
			{ WSR_ZS_HDR_SIZE + WSR_ZS_ENT_CODEC, 5, -EUCLEAN },
			{ WSR_ZS_HDR_SIZE + WSR_ZS_ENT_CODEC, WSR_ZSNAP_RAW, -EUCLEAN },
			{ WSR_ZS_HDR_SIZE + WSR_ZS_ENT_LENGTH, 1, -EUCLEAN },	/* zero with bytes */
			/* chunk 1 (raw) one byte short */
			{ WSR_ZS_HDR_SIZE + WSR_ZS_ENTRY_SIZE + WSR_ZS_ENT_LENGTH, 0xff, -EUCLEAN },
			/* chunk 2 (lz4) not where chunk 1 ends */
			{ WSR_ZS_HDR_SIZE + 2 * WSR_ZS_ENTRY_SIZE + WSR_ZS_ENT_OFFSET, 1, -EUCLEAN },
		};

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			memcpy(c, b, len);
			c[cases[i].off] = cases[i].val;
			fix_crcs(c, 17);
			ret = parse(c, len, size);
			CHECKF(ret == cases[i].err, "case %zu (byte %zu = %u): %d",
			       i, cases[i].off, cases[i].val, ret);
		}
	}
	/* Another version: refused before anything else is looked at. */
	memcpy(c, b, len);
	wsr__put32(c + WSR_ZS_HDR_VERSION, 2);
	fix_crcs(c, 17);
	CHECK_EQ(parse(c, len, size), -EPROTONOSUPPORT);
	free(c);
	free(b);
	wsr_zsnap_free(z);
}
