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

/* Is heap page @page one init fills (resident in the traced process)? */
static int trace_resident(const struct trace_spec *s, uint32_t page)
{
	uint32_t lo = 0, hi = s->nruns;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (page < s->runs[mid][0])
			hi = mid;
		else if (page - s->runs[mid][0] >= s->runs[mid][1])
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

static uint64_t trace_ref_word(const struct trace_spec *s, uint32_t page,
			       unsigned int k)
{
	return trace_resident(s, page) ? trace_word(page, k, s->random) : 0;
}

/* Every page appears once in an invocation: no read sees its writes. */
static uint64_t ref_trace(const struct trace_spec *s, uint32_t input)
{
	const struct trace_input *in = trace_find_input(s, input);
	uint64_t acc = input, t;

	if (!in)
		return wsr_fold(acc, WSR_BAD);
	for (t = 0; t < in->count; t++) {
		uint32_t page = in->pages[t] >> 1;

		acc = wsr_fold(acc, trace_ref_word(s, page, 1));
		acc = wsr_fold(acc, trace_ref_word(s, page,
						   trace_pick(input, t)));
	}
	return acc;
}

static const struct trace_spec *trace_spec_of(uint32_t payload)
{
	switch (payload) {
	case WSR_PAYLOAD_TRACE_PY:
		return &trace_spec_py;
	case WSR_PAYLOAD_TRACE_SQLITE:
		return &trace_spec_sqlite;
	case WSR_PAYLOAD_TRACE_ZLIB:
		return &trace_spec_zlib;
	}
	return NULL;
}

int ref_result(uint32_t payload, uint64_t mem_size, uint32_t input,
	       uint64_t *result)
{
	const struct trace_spec *spec = trace_spec_of(payload);
	uint64_t heap_size = mem_size - WSR_GPA_HEAP;

	if (spec) {
		*result = ref_trace(spec, input);
		return 0;
	}
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

int ref_trace_pages(uint32_t payload, uint32_t input, const uint32_t **pages,
		    uint32_t *count)
{
	const struct trace_spec *spec = trace_spec_of(payload);
	const struct trace_input *in;

	if (!spec)
		return -EINVAL;
	in = trace_find_input(spec, input);
	if (!in)
		return -ENOENT;
	*pages = in->pages;
	*count = in->count;
	return 0;
}

int payload_by_name(const char *name)
{
	if (!strcmp(name, "kv"))
		return WSR_PAYLOAD_KV;
	if (!strcmp(name, "dict"))
		return WSR_PAYLOAD_DICT;
	if (!strcmp(name, "scan"))
		return WSR_PAYLOAD_SCAN;
	if (!strcmp(name, "trace-py"))
		return WSR_PAYLOAD_TRACE_PY;
	if (!strcmp(name, "trace-sqlite"))
		return WSR_PAYLOAD_TRACE_SQLITE;
	if (!strcmp(name, "trace-zlib"))
		return WSR_PAYLOAD_TRACE_ZLIB;
	return -EINVAL;
}
