// SPDX-License-Identifier: GPL-2.0-or-later
/* Working-set file format: round trip, corruption, truncation, limits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tap.h"
#include "wsr-private.h"

static const uint64_t sample_pages[] = { 17, 3, 250, 4, 5, 6, 99, 0, 255 };
#define NSAMPLE (sizeof(sample_pages) / sizeof(sample_pages[0]))

/* A merged sample: 3 recordings, so frequencies and ranks vary. */
static struct wsr_ws *sample_ws(void)
{
	static const uint64_t r2[] = { 3, 17, 1, 2 }, r3[] = { 250, 3, 7 };
	struct wsr_snapshot_id id = test_id(256);
	struct wsr_ws *in[3], *m;
	int ret;

	in[0] = test_ws(&id, sample_pages, NSAMPLE);
	in[1] = test_ws(&id, r2, 4);
	in[2] = test_ws(&id, r3, 3);
	in[0]->dropped = 2;
	ret = wsr_ws_merge(in, 3, 0, &m);
	wsr_ws_free(in[0]);
	wsr_ws_free(in[1]);
	wsr_ws_free(in[2]);
	if (ret) {
		printf("Bail out! merge: %s\n", wsr_strerror(ret));
		exit(2);
	}
	return m;
}

static int ws_equal(const struct wsr_ws *a, const struct wsr_ws *b)
{
	return a->count == b->count && a->recordings == b->recordings &&
	       a->dropped == b->dropped &&
	       !memcmp(&a->snap, &b->snap, sizeof(a->snap)) &&
	       !memcmp(a->entries, b->entries,
		       a->count * sizeof(*a->entries)) &&
	       !memcmp(a->pages, b->pages, a->count * sizeof(*a->pages));
}

TEST(crc32c_check_value)
{
	CHECK_EQ(wsr__crc32c(0, "123456789", 9), 0xe3069283u);
	CHECK_EQ(wsr__crc32c(wsr__crc32c(0, "1234", 4), "56789", 5),
		 0xe3069283u);
	CHECK_EQ(wsr__crc32c(0, "", 0), 0);
}

TEST(format_roundtrip_memory)
{
	struct wsr_ws *ws = sample_ws(), *back = NULL;
	void *buf;
	size_t len;

	CHECK_EQ(wsr_ws_encode(ws, &buf, &len), 0);
	CHECK_EQ(len, WSR_WS_HDR_SIZE + ws->count * WSR_WS_ENTRY_SIZE);
	CHECK_EQ(wsr_ws_parse(buf, len, &back), 0);
	CHECK(back && ws_equal(ws, back));
	CHECK_EQ(ws->recordings, 3);
	CHECK_EQ(ws->dropped, 2);
	free(buf);
	wsr_ws_free(back);
	wsr_ws_free(ws);
}

TEST(format_roundtrip_file)
{
	struct wsr_ws *ws = sample_ws(), *back = NULL;
	char path[512];
	void *buf;
	size_t len;
	struct stat st;

	snprintf(path, sizeof(path), "%s/rt.ws", test_tmpdir());
	CHECK_EQ(wsr_ws_save(ws, path), 0);
	CHECK_EQ(wsr_ws_load(path, &back), 0);
	CHECK(back && ws_equal(ws, back));
	CHECK_EQ(wsr_ws_encode(ws, &buf, &len), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_size, len);
	/* Overwrite in place: save replaces atomically. */
	CHECK_EQ(wsr_ws_save(ws, path), 0);
	free(buf);
	wsr_ws_free(back);
	wsr_ws_free(ws);
}

TEST(format_layout_little_endian)
{
	static const uint64_t pages[] = { 0x0102030405ull };
	struct wsr_snapshot_id id = test_id(1ull << 33);
	struct wsr_ws *ws = test_ws(&id, pages, 1);
	unsigned char *b;
	void *buf;
	size_t len;

	CHECK_EQ(wsr_ws_encode(ws, &buf, &len), 0);
	b = buf;
	CHECK(!memcmp(b, "WSRWSET\0", 8));
	CHECK(b[8] == 1 && b[9] == 0 && b[10] == 0 && b[11] == 0);
	CHECK(b[12] == 96 && b[16] == 0 && b[17] == 0x10);	/* 4096 */
	CHECK(b[20] == 16 && b[24] == 1 && b[32] == 1);
	CHECK(b[96] == 0x05 && b[97] == 0x04 && b[100] == 0x01 && b[101] == 0);
	/* one page at position 0 of 1: rank 1/2 = 0x80000000 */
	CHECK(b[104] == 0 && b[107] == 0x80 && b[108] == 1);
	CHECK_EQ(wsr__get32(b + 92), wsr__crc32c(0, b, 92));
	CHECK_EQ(wsr__get32(b + 88), wsr__crc32c(0, b + 96, 16));
	free(buf);
	wsr_ws_free(ws);
}

TEST(format_empty_roundtrip)
{
	struct wsr_snapshot_id id = test_id(16);
	struct wsr_ws *ws, *back = NULL;
	void *buf;
	size_t len;

	CHECK_EQ(wsr_ws_create(&id, NULL, 0, 0, &ws), 0);
	CHECK_EQ(wsr_ws_encode(ws, &buf, &len), 0);
	CHECK_EQ(len, WSR_WS_HDR_SIZE);
	CHECK_EQ(wsr_ws_parse(buf, len, &back), 0);
	CHECK(back && back->count == 0 && back->recordings == 1);
	free(buf);
	wsr_ws_free(back);
	wsr_ws_free(ws);
}

/* Expected error for a one-byte change at @off of the header/body. */
static int expected_corruption_error(size_t off)
{
	if (off < WSR_HDR_VERSION)
		return -EPROTO;
	if (off < WSR_HDR_HDR_SIZE)
		return -EPROTONOSUPPORT;
	return -EBADMSG;
}

TEST(format_every_byte_corruption_rejected)
{
	static const unsigned char flips[] = { 0x01, 0x02, 0x10, 0x80, 0xff };
	struct wsr_ws *ws = sample_ws(), *bad;
	unsigned char *buf;
	size_t len, off, f, tried = 0;
	int ret, exp;

	CHECK_EQ(wsr_ws_encode(ws, (void **)&buf, &len), 0);
	for (off = 0; off < len; off++) {
		for (f = 0; f < sizeof(flips); f++) {
			buf[off] ^= flips[f];
			bad = NULL;
			ret = wsr_ws_parse(buf, len, &bad);
			exp = expected_corruption_error(off);
			CHECKF(ret == exp, "byte %zu ^ 0x%02x: got %d (%s), want %d",
			       off, flips[f], ret, wsr_strerror(ret), exp);
			CHECK(!bad);
			buf[off] ^= flips[f];
			tried++;
		}
	}
	/* Every value of every byte of a small file, too. */
	CHECK_EQ(wsr_ws_parse(buf, len, &bad), 0);
	wsr_ws_free(bad);
	printf("# %zu corruptions of a %zu-byte file, all rejected\n", tried,
	       len);
	free(buf);
	wsr_ws_free(ws);
}

TEST(format_every_byte_value_rejected)
{
	static const uint64_t pages[] = { 2, 0, 1 };
	struct wsr_snapshot_id id = test_id(4);
	struct wsr_ws *ws = test_ws(&id, pages, 3), *bad;
	unsigned char *buf;
	size_t len, off;
	unsigned int v, orig;
	int ret;

	CHECK_EQ(wsr_ws_encode(ws, (void **)&buf, &len), 0);
	for (off = 0; off < len; off++) {
		orig = buf[off];
		for (v = 0; v < 256; v++) {
			if (v == orig)
				continue;
			buf[off] = (unsigned char)v;
			bad = NULL;
			ret = wsr_ws_parse(buf, len, &bad);
			CHECKF(ret < 0 && !bad, "byte %zu = 0x%02x accepted",
			       off, v);
			wsr_ws_free(bad);
		}
		buf[off] = (unsigned char)orig;
	}
	free(buf);
	wsr_ws_free(ws);
}

TEST(format_every_truncation_rejected)
{
	struct wsr_ws *ws = sample_ws(), *bad;
	unsigned char *buf, *copy;
	size_t len, n;
	int ret;

	CHECK_EQ(wsr_ws_encode(ws, (void **)&buf, &len), 0);
	for (n = 0; n < len; n++) {
		/* Exact-size heap copy so ASan sees any read past the end. */
		copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		bad = NULL;
		ret = wsr_ws_parse(n ? copy : NULL, n, &bad);
		CHECKF(ret == -ENODATA, "length %zu: got %d (%s)", n, ret,
		       wsr_strerror(ret));
		CHECK(!bad);
		free(copy);
	}
	free(buf);
	wsr_ws_free(ws);
}

TEST(format_trailing_bytes_rejected)
{
	struct wsr_ws *ws = sample_ws(), *bad = NULL;
	unsigned char *buf, *big;
	size_t len, extra;

	CHECK_EQ(wsr_ws_encode(ws, (void **)&buf, &len), 0);
	for (extra = 1; extra <= 32; extra++) {
		big = calloc(1, len + extra);
		memcpy(big, buf, len);
		CHECK_EQ(wsr_ws_parse(big, len + extra, &bad), -EFBIG);
		free(big);
	}
	CHECK(!bad);
	free(buf);
	wsr_ws_free(ws);
}

/* Re-seal a crafted buffer with valid checksums. */
static void reseal(unsigned char *b, size_t len)
{
	wsr__put32(b + WSR_HDR_BODY_CRC,
		   wsr__crc32c(0, b + WSR_WS_HDR_SIZE, len - WSR_WS_HDR_SIZE));
	wsr__put32(b + WSR_HDR_HDR_CRC, wsr__crc32c(0, b, WSR_HDR_HDR_CRC));
}

typedef void (*mutator)(unsigned char *b);

static void m_freq0(unsigned char *b) { wsr__put32(b + 96 + 12, 0); }
static void m_freq_big(unsigned char *b) { wsr__put32(b + 96 + 12, 4); }
static void m_index_big(unsigned char *b) { wsr__put64(b + 96, 256); }
static void m_dup(unsigned char *b)
{
	/* second entry gets the first one's index and a later rank */
	wsr__put64(b + 112, wsr__get64(b + 96));
}
static void m_order(unsigned char *b)
{
	unsigned char t[16];

	memcpy(t, b + 96, 16);
	memcpy(b + 96, b + 112, 16);
	memcpy(b + 112, t, 16);
}
static void m_reserved(unsigned char *b) { b[WSR_HDR_RESERVED + 3] = 1; }
static void m_flags(unsigned char *b) { wsr__put32(b + WSR_HDR_FLAGS, 1); }
static void m_hsize(unsigned char *b) { wsr__put32(b + WSR_HDR_HDR_SIZE, 128); }
static void m_esize(unsigned char *b) { wsr__put32(b + WSR_HDR_ENTRY_SIZE, 24); }
static void m_psize(unsigned char *b) { wsr__put32(b + WSR_HDR_PAGE_SIZE, 8192); }
static void m_rec0(unsigned char *b) { wsr__put32(b + WSR_HDR_RECORDINGS, 0); }
static void m_len0(unsigned char *b) { wsr__put64(b + WSR_HDR_SNAP_LENGTH, 0); }
static void m_lenodd(unsigned char *b) { wsr__put64(b + WSR_HDR_SNAP_LENGTH, 4097); }
static void m_small_len(unsigned char *b)
{
	/* more entries than the snapshot has pages */
	wsr__put64(b + WSR_HDR_SNAP_LENGTH, 2 * 4096);
}
static void m_method(unsigned char *b) { wsr__put32(b + WSR_HDR_FP_METHOD, 2); }
static void m_samples(unsigned char *b) { wsr__put32(b + WSR_HDR_FP_SAMPLES, 65); }
static void m_count_huge(unsigned char *b)
{
	wsr__put64(b + WSR_HDR_COUNT, WSR_WS_MAX_ENTRIES + 1);
}
static void m_count_wrap(unsigned char *b)
{
	wsr__put64(b + WSR_HDR_COUNT, UINT64_MAX / 16 + 2);
}
static void m_rec_huge(unsigned char *b)
{
	wsr__put32(b + WSR_HDR_RECORDINGS, WSR_WS_MAX_RECORDINGS + 1);
}
static void m_count_more(unsigned char *b) { wsr__put64(b + WSR_HDR_COUNT, 4); }
static void m_count_less(unsigned char *b) { wsr__put64(b + WSR_HDR_COUNT, 2); }

TEST(format_inconsistent_contents_rejected)
{
	static const struct {
		const char *what;
		mutator fn;
		int err;
	} cases[] = {
		{ "freq 0", m_freq0, -EUCLEAN },
		{ "freq > recordings", m_freq_big, -EUCLEAN },
		{ "index beyond snapshot", m_index_big, -EUCLEAN },
		{ "duplicate index", m_dup, -EUCLEAN },
		{ "entries out of order", m_order, -EUCLEAN },
		{ "reserved bytes set", m_reserved, -EUCLEAN },
		{ "flags set", m_flags, -EUCLEAN },
		{ "header size", m_hsize, -EUCLEAN },
		{ "entry size", m_esize, -EUCLEAN },
		{ "page size", m_psize, -EUCLEAN },
		{ "zero recordings", m_rec0, -EUCLEAN },
		{ "zero length", m_len0, -EUCLEAN },
		{ "unaligned length", m_lenodd, -EUCLEAN },
		{ "count > snapshot pages", m_small_len, -EUCLEAN },
		{ "unknown fingerprint method", m_method, -EUCLEAN },
		{ "too many samples", m_samples, -EUCLEAN },
		{ "count above the limit", m_count_huge, -EOVERFLOW },
		{ "count * entry size wraps", m_count_wrap, -EOVERFLOW },
		{ "recordings above the limit", m_rec_huge, -EOVERFLOW },
		{ "count larger than the body", m_count_more, -ENODATA },
		{ "count smaller than the body", m_count_less, -EFBIG },
	};
	/* 3 recordings over 256 pages; entries: 3 (freq 3), 1, 2 */
	static const uint64_t r[] = { 3, 1, 2 };
	struct wsr_snapshot_id id = test_id(256);
	struct wsr_ws *in[3], *ws, *bad;
	unsigned char *buf, *b;
	size_t len, i;
	int ret;

	in[0] = test_ws(&id, r, 3);
	in[1] = test_ws(&id, r, 1);
	in[2] = test_ws(&id, r, 1);
	CHECK_EQ(wsr_ws_merge(in, 3, 0, &ws), 0);
	CHECK_EQ(ws->count, 3);
	CHECK_EQ(wsr_ws_encode(ws, (void **)&buf, &len), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = malloc(len);
		memcpy(b, buf, len);
		cases[i].fn(b);
		reseal(b, len);
		bad = NULL;
		ret = wsr_ws_parse(b, len, &bad);
		CHECKF(ret == cases[i].err, "%s: got %d (%s), want %d",
		       cases[i].what, ret, wsr_strerror(ret), cases[i].err);
		CHECK(!bad);
		free(b);
	}
	free(buf);
	for (i = 0; i < 3; i++)
		wsr_ws_free(in[i]);
	wsr_ws_free(ws);
}

TEST(format_bad_magic_and_version)
{
	struct wsr_ws *ws = sample_ws(), *bad = NULL;
	unsigned char *buf;
	size_t len;

	CHECK_EQ(wsr_ws_encode(ws, (void **)&buf, &len), 0);
	CHECK_EQ(wsr_ws_parse("hello", 5, &bad), -EPROTO);
	CHECK_EQ(wsr_ws_parse("WSRW", 4, &bad), -ENODATA);
	wsr__put32(buf + WSR_HDR_VERSION, 2);
	reseal(buf, len);
	CHECK_EQ(wsr_ws_parse(buf, len, &bad), -EPROTONOSUPPORT);
	CHECK(!bad);
	free(buf);
	wsr_ws_free(ws);
}

TEST(format_load_errors)
{
	struct wsr_ws *ws = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/missing.ws", test_tmpdir());
	CHECK_EQ(wsr_ws_load(path, &ws), -ENOENT);
	CHECK_EQ(wsr_ws_load(test_tmpdir(), &ws), -EISDIR);
	CHECK_EQ(wsr_ws_load("/dev/null", &ws), -EINVAL);
	snprintf(path, sizeof(path), "%s/empty.ws", test_tmpdir());
	CHECK_EQ(test_write_file(path, "", 0), 0);
	CHECK_EQ(wsr_ws_load(path, &ws), -ENODATA);
	snprintf(path, sizeof(path), "%s/text.ws", test_tmpdir());
	CHECK_EQ(test_write_file(path, "0 1 2 3\n", 8), 0);
	CHECK_EQ(wsr_ws_load(path, &ws), -EPROTO);
	CHECK(!ws);
	snprintf(path, sizeof(path), "%s/nodir/x.ws", test_tmpdir());
	ws = sample_ws();
	CHECK_EQ(wsr_ws_save(ws, path), -ENOENT);
	wsr_ws_free(ws);
}

TEST(format_strerror_specific)
{
	CHECK(strstr(wsr_strerror(-EBADMSG), "checksum"));
	CHECK(strstr(wsr_strerror(-ENODATA), "truncated"));
	CHECK(strstr(wsr_strerror(-EPROTO), "magic"));
	CHECK(strstr(wsr_strerror(-ESTALE), "different snapshot"));
	CHECK(!strcmp(wsr_strerror(-ENOENT), "No such file or directory"));
}
