// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the compressed-snapshot index parser
 * (wsr_zsnap_parse(), wsr-zsnap(5)).  The input is a whole compressed
 * snapshot file.  It must be either rejected with one of the documented
 * negative errnos and no output, or accepted; an accepted input must
 * re-encode to exactly its first data_offset bytes (the format has one
 * canonical encoding), and its chunks must lie back to back inside the
 * file, each consistent with its codec.  Any violation aborts.
 *
 * As in ws_parse_fuzz.c, every input is tried a second time with both
 * checksums recomputed, to reach the checks behind them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "wsr-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static void check_one(const uint8_t *data, size_t size)
{
	struct wsr_zsnap *z = NULL;
	struct wsr_zsnap_info in;
	struct wsr_zsnap_chunk c;
	uint64_t i, pos, n = 0;
	size_t len, need;
	void *buf;
	int ret;

	ret = wsr_zsnap_parse(size ? data : NULL, size, size, &z);
	if (ret) {
		REQUIRE(ret < 0 && !z);
		REQUIRE(ret == -EPROTO || ret == -EPROTONOSUPPORT ||
			ret == -ENODATA || ret == -EFBIG || ret == -EBADMSG ||
			ret == -EOVERFLOW || ret == -EUCLEAN || ret == -ENOMEM);
		return;
	}
	REQUIRE(!wsr_zsnap_index_size(data, size, &need));
	REQUIRE(!wsr_zsnap_info(z, &in));
	REQUIRE(need == in.data_offset && in.file_size == size);
	REQUIRE(!wsr_zsnap_encode(z, &buf, &len));
	REQUIRE(len == in.data_offset && !memcmp(buf, data, len));
	free(buf);

	REQUIRE(in.chunk_size >= WSR_ZSNAP_CHUNK_MIN &&
		in.chunk_size <= WSR_ZSNAP_CHUNK_MAX &&
		in.length % WSR_PAGE_SIZE == 0 && in.length);
	REQUIRE(in.nchunks == (in.length + in.chunk_size - 1) / in.chunk_size);
	pos = in.data_offset;
	for (i = 0; i < in.nchunks; i++) {
		uint64_t raw = in.length - i * in.chunk_size;

		if (raw > in.chunk_size)
			raw = in.chunk_size;
		REQUIRE(!wsr_zsnap_chunk(z, i, &c));
		REQUIRE(c.codec >= WSR_ZSNAP_ZERO && c.codec < WSR_ZSNAP_NCODECS);
		if (c.codec == WSR_ZSNAP_ZERO) {
			REQUIRE(!c.offset && !c.length && !c.crc);
			n++;
			continue;
		}
		REQUIRE(c.offset == pos && c.length <= size - pos);
		REQUIRE(c.codec == WSR_ZSNAP_RAW ? c.length == raw :
			c.length && c.length < raw);
		REQUIRE(!wsr_zsnap_verify_chunk(z, i, data + c.offset,
						c.length) ||
			wsr__crc32c(0, data + c.offset, c.length) != c.crc);
		pos += c.length;
	}
	REQUIRE(pos == size && n == in.chunks[WSR_ZSNAP_ZERO]);
	REQUIRE(wsr_zsnap_chunk(z, in.nchunks, &c) == -EINVAL);
	wsr_zsnap_free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t n, end;
	unsigned char *copy;

	check_one(data, size);
	if (size < WSR_ZS_HDR_SIZE)
		return 0;
	copy = malloc(size);
	REQUIRE(copy);
	memcpy(copy, data, size);
	n = wsr__get64(copy + WSR_ZS_HDR_NCHUNKS);
	end = WSR_ZS_HDR_SIZE + n * WSR_ZS_ENTRY_SIZE;
	if (n < (1ull << 32) && end <= size)
		wsr__put32(copy + WSR_ZS_HDR_INDEX_CRC,
			   wsr__crc32c(0, copy + WSR_ZS_HDR_SIZE,
				       end - WSR_ZS_HDR_SIZE));
	wsr__put32(copy + WSR_ZS_HDR_HDR_CRC,
		   wsr__crc32c(0, copy, WSR_ZS_HDR_HDR_CRC));
	check_one(copy, size);
	free(copy);
	return 0;
}
