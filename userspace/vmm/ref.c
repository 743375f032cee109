// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side recomputation of a payload's result (see guests/payload.h):
 * the same plan as the guest, but every word comes from the generators
 * instead of guest memory.  A restore that loaded a wrong byte of the
 * working set gives a different result.
 */
#include <errno.h>
#include <string.h>
#include "vmm.h"
#include "guests/payload.h"

static uint64_t ref_kv(uint64_t heap_size, uint32_t input)
{
	struct kv_layout l;
	uint64_t acc = input, t;

	kv_layout(WSR_GPA_HEAP, heap_size, &l);
	for (t = 0; t < l.lookups; t++) {
		unsigned int word;
		uint64_t j = kv_pick(&l, input, t, &word);

		acc = wsr_fold(acc, kv_word(j, word));
	}
	return acc;
}

static uint64_t ref_dict(uint64_t heap_size, uint32_t input)
{
	struct dict_layout l;
	uint64_t acc = input, t, i;

	dict_layout(WSR_GPA_HEAP, heap_size, &l);
	for (t = 0; t < DICT_TOKENS; t++) {
		uint64_t src, len;

		dict_token(&l, input, t, &src, &len);
		for (i = 0; i < len; i++)
			acc = wsr_fold(acc, dict_word(src + i));
	}
	return acc;
}

static uint64_t ref_scan(uint64_t heap_size, uint32_t input)
{
	struct scan_layout l;
	uint64_t i, off = 0, chunks, first, acc = input, n, k;

	scan_layout(WSR_GPA_HEAP, heap_size, &l);
	/* Replay the layout to learn how many chunks init built. */
	for (i = 0;; i++) {
		if (i % SCAN_CHUNK == 0 &&
		    (off + SCAN_CHUNK * 33 > l.words ||
		     i / SCAN_CHUNK >= SCAN_DIR_MAX))
			break;
		off += scan_obj_words(scan_header(i));
	}
	chunks = i / SCAN_CHUNK;
	first = scan_start(input, chunks) * SCAN_CHUNK;
	for (n = 0; n < SCAN_CHUNKS * SCAN_CHUNK; n++) {
		uint64_t hdr = scan_header(first + n);

		acc = wsr_fold(acc, hdr);
		for (k = 1; k < scan_obj_words(hdr); k++)
			acc = wsr_fold(acc, scan_obj_word(hdr, k));
		if (scan_obj_kind(hdr) == SCAN_KIND_REF) {
			acc = wsr_fold(acc, scan_sym_word(scan_obj_sym(hdr), 0));
			acc = wsr_fold(acc, scan_sym_word(scan_obj_sym(hdr), 1));
		}
	}
	return acc;
}

int ref_result(uint32_t payload, uint64_t mem_size, uint32_t input,
	       uint64_t *result)
{
	uint64_t heap_size = mem_size - WSR_GPA_HEAP;

	switch (payload) {
	case WSR_PAYLOAD_KV:
		*result = ref_kv(heap_size, input);
		return 0;
	case WSR_PAYLOAD_DICT:
		*result = ref_dict(heap_size, input);
		return 0;
	case WSR_PAYLOAD_SCAN:
		*result = ref_scan(heap_size, input);
		return 0;
	}
	return -EINVAL;
}

int payload_by_name(const char *name)
{
	if (!strcmp(name, "kv"))
		return WSR_PAYLOAD_KV;
	if (!strcmp(name, "dict"))
		return WSR_PAYLOAD_DICT;
	if (!strcmp(name, "scan"))
		return WSR_PAYLOAD_SCAN;
	return -EINVAL;
}
