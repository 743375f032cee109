// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the working-set parser.  Any input must be either
 * rejected with a negative errno and no output, or accepted; an accepted
 * input must re-encode to exactly the same bytes (the format has one
 * canonical encoding), and merging it with itself and computing overlap
 * statistics must work and agree with it.  Any violation aborts.
 *
 * A fuzzer rarely guesses a CRC, so every input is also tried a second time
 * with both checksums recomputed: that reaches the header and entry checks
 * behind them.
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
	struct wsr_ws *ws = NULL, *m = NULL, *in[2];
	const struct wsr_ws_page *e, *me;
	struct wsr_ws_overlap *o;
	struct wsr_ws_info info;
	size_t n, mn, len, i;
	void *buf;
	int ret;

	ret = wsr_ws_parse(size ? data : NULL, size, &ws);
	if (ret) {
		REQUIRE(ret < 0 && !ws);
		REQUIRE(ret == -EPROTO || ret == -EPROTONOSUPPORT ||
			ret == -ENODATA || ret == -EFBIG || ret == -EBADMSG ||
			ret == -EOVERFLOW || ret == -EUCLEAN || ret == -ENOMEM);
		return;
	}
	REQUIRE(!wsr_ws_encode(ws, &buf, &len));
	REQUIRE(len == size && !memcmp(buf, data, size));
	free(buf);

	REQUIRE(!wsr_ws_info(ws, &info));
	REQUIRE(!wsr_ws_entries(ws, &e, &n));
	REQUIRE(n == info.pages);
	for (i = 0; i < n; i++)
		REQUIRE(e[i].index < info.snapshot.length / WSR_PAGE_SIZE &&
			e[i].freq >= 1 && e[i].freq <= info.recordings);

	in[0] = ws;
	in[1] = ws;
	ret = wsr_ws_merge(in, 2, 0, &m);
	if (2ull * info.recordings > WSR_WS_MAX_RECORDINGS) {
		REQUIRE(ret == -EOVERFLOW);
	} else {
		REQUIRE(!ret);
		REQUIRE(!wsr_ws_entries(m, &me, &mn));
		REQUIRE(mn == n);
		for (i = 0; i < n; i++)
			REQUIRE(me[i].index == e[i].index &&
				me[i].rank == e[i].rank &&
				me[i].freq == 2 * e[i].freq);
		wsr_ws_free(m);
	}
	REQUIRE(!wsr_ws_overlap(in, 2, &o));
	REQUIRE(o->union_pages == n && o->common_pages == n &&
		o->unique[0] == 0 && o->intersect[1] == n);
	wsr_ws_overlap_free(o);
	wsr_ws_free(ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy;

	check_one(data, size);
	if (size < WSR_WS_HDR_SIZE)
		return 0;
	copy = malloc(size);
	REQUIRE(copy);
	memcpy(copy, data, size);
	wsr__put32(copy + WSR_HDR_BODY_CRC,
		   wsr__crc32c(0, copy + WSR_WS_HDR_SIZE,
			       size - WSR_WS_HDR_SIZE));
	wsr__put32(copy + WSR_HDR_HDR_CRC,
		   wsr__crc32c(0, copy, WSR_HDR_HDR_CRC));
	check_one(copy, size);
	free(copy);
	return 0;
}
