// SPDX-License-Identifier: GPL-2.0
/*
 * scan - mostly sequential access: an interpreter walking its heap.
 *
 * Init lays out variable-size objects back to back, records the offset of
 * every SCAN_CHUNK-th object in a directory and fills a symbol table.  An
 * invocation walks SCAN_CHUNKS * SCAN_CHUNK consecutive objects from an
 * input-dependent start (a sequential sweep of a few MiB) and resolves
 * the symbol of every "ref" object (random reads in a 1 MiB table).
 */
#include "guest.h"

WSR_PAYLOAD(WSR_PAYLOAD_SCAN, "scan");

static struct scan_layout sl;
static uint64_t scan_chunks;

void payload_init(const struct wsr_boot_info *boot)
{
	uint64_t *syms, *dir, *objs, i, off = 0, s;

	scan_layout(boot->heap_start, boot->heap_end - boot->heap_start, &sl);
	syms = (uint64_t *)sl.syms;
	dir = (uint64_t *)sl.dir;
	objs = (uint64_t *)sl.objs;
	for (s = 0; s < SCAN_SYMS; s++) {
		syms[2 * s] = scan_sym_word(s, 0);
		syms[2 * s + 1] = scan_sym_word(s, 1);
	}
	for (i = 0;; i++) {
		uint64_t hdr = scan_header(i), w = scan_obj_words(hdr), k;

		if (i % SCAN_CHUNK == 0) {
			/* Only whole chunks count. */
			if (off + SCAN_CHUNK * 33 > sl.words ||
			    i / SCAN_CHUNK >= SCAN_DIR_MAX)
				break;
			dir[i / SCAN_CHUNK] = off;
		}
		objs[off] = hdr;
		for (k = 1; k < w; k++)
			objs[off + k] = scan_obj_word(hdr, k);
		off += w;
	}
	scan_chunks = i / SCAN_CHUNK;
	if (scan_chunks <= SCAN_CHUNKS)
		guest_panic(3);
}

uint64_t payload_invoke(uint32_t input)
{
	const uint64_t *syms = (const uint64_t *)sl.syms;
	const uint64_t *dir = (const uint64_t *)sl.dir;
	const uint64_t *objs = (const uint64_t *)sl.objs;
	uint64_t c = scan_start(input, scan_chunks);
	uint64_t off = dir[c], acc = input, n, k;

	for (n = 0; n < SCAN_CHUNKS * SCAN_CHUNK; n++) {
		uint64_t hdr = objs[off], w = scan_obj_words(hdr);

		if (w < 2 || off + w > sl.words) {
			/* A corrupt header: stop, the result shows it. */
			return wsr_fold(acc, WSR_BAD);
		}
		for (k = 0; k < w; k++)
			acc = wsr_fold(acc, objs[off + k]);
		if (scan_obj_kind(hdr) == SCAN_KIND_REF) {
			uint64_t s = scan_obj_sym(hdr);

			acc = wsr_fold(acc, syms[2 * s]);
			acc = wsr_fold(acc, syms[2 * s + 1]);
		}
		off += w;
	}
	return acc;
}
