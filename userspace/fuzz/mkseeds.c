// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Write a few valid working-set files as the fuzzer's seed corpus, and
 * compressed snapshots for the index parser's.
 */
#include <stdio.h>
#include <stdlib.h>
#include "libwsr.h"

static struct wsr_ws *one(uint64_t npages, const uint64_t *p, size_t n)
{
	struct wsr_snapshot_id id = {
		.length = npages * WSR_PAGE_SIZE,
		.fingerprint = 0x5eed0000ull + npages,
		.method = WSR_FP_SAMPLED64,
		.samples = npages < 64 ? (uint32_t)npages : 64,
	};
	struct wsr_ws *ws;

	if (wsr_ws_create(&id, p, n, n & 1, &ws))
		exit(1);
	return ws;
}

static void save(struct wsr_ws *ws, const char *dir, int k)
{
	char path[4096];
	int ret;

	snprintf(path, sizeof(path), "%s/seed-%d.ws", dir, k);
	ret = wsr_ws_save(ws, path);
	if (ret) {
		fprintf(stderr, "mkseeds: %s: %s\n", path, wsr_strerror(ret));
		exit(1);
	}
}

/*
 * A compressed snapshot of @n chunks of 64 KiB (the last @tail bytes
 * short of it), codecs cycling from @first, stored bytes filler.
 */
static void zsave(const char *dir, int k, uint64_t n, uint32_t tail,
		  uint32_t first)
{
	static unsigned char fill[64 << 10];
	struct wsr_zsnap *z;
	char path[4096];
	uint64_t i, len = n * (64 << 10) - tail;
	size_t hl;
	void *hdr;
	FILE *f;

	if (wsr_zsnap_create(64 << 10, len, &z))
		exit(1);
	snprintf(path, sizeof(path), "%s/seed-%d.z", dir, k);
	f = fopen(path, "wb");
	if (!f)
		exit(1);
	fseek(f, 0, SEEK_SET);
	for (i = 0; i < n; i++) {
		uint32_t codec = 1 + (first + i) % 4;
		uint32_t raw = i == n - 1 ? (64 << 10) - tail : 64 << 10;
		uint32_t l = codec == WSR_ZSNAP_ZERO ? 0 :
			     codec == WSR_ZSNAP_RAW ? raw : 100 + (uint32_t)i;

		if (wsr_zsnap_add_chunk(z, i, codec, l ? fill : NULL, l))
			exit(1);
	}
	if (wsr_zsnap_encode(z, &hdr, &hl) || fwrite(hdr, 1, hl, f) != hl)
		exit(1);
	for (i = 0; i < n; i++) {
		struct wsr_zsnap_chunk c;

		wsr_zsnap_chunk(z, i, &c);
		if (c.length && fwrite(fill, 1, c.length, f) != c.length)
			exit(1);
	}
	free(hdr);
	wsr_zsnap_free(z);
	if (fclose(f))
		exit(1);
}

int main(int argc, char **argv)
{
	static const uint64_t a[] = { 5, 1, 9 }, b[] = { 1, 7 },
			      c[] = { 9, 1, 5, 2 }, d[] = { 0, 63, 31, 32 };
	struct wsr_ws *in[3], *m;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: mkseeds DIR [ZDIR]\n");
		return 2;
	}
	if (argc == 3) {
		/* compressed snapshots, for zsnap_parse_fuzz */
		zsave(argv[2], 0, 1, 0, 2);
		zsave(argv[2], 1, 4, 4096, 0);
		zsave(argv[2], 2, 9, 0, 1);
		zsave(argv[2], 3, 3, 61440, 3);
	}
	in[0] = one(16, a, 3);
	in[1] = one(16, b, 2);
	in[2] = one(16, c, 4);
	save(in[0], argv[1], 0);
	save(in[2], argv[1], 1);
	if (wsr_ws_merge(in, 3, 0, &m))
		return 1;
	save(m, argv[1], 2);
	wsr_ws_free(m);
	if (wsr_ws_merge(in, 3, 2, &m))
		return 1;
	save(m, argv[1], 3);
	wsr_ws_free(m);
	m = one(64, d, 4);
	save(m, argv[1], 4);
	wsr_ws_free(m);
	m = one(1, NULL, 0);
	save(m, argv[1], 5);
	wsr_ws_free(m);
	wsr_ws_free(in[0]);
	wsr_ws_free(in[1]);
	wsr_ws_free(in[2]);
	return 0;
}
