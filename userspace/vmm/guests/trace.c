// SPDX-License-Identifier: GPL-2.0
/*
 * trace - replay of a real program's page touches (see payload.h).
 *
 * Built once per trace: TRACE_SPEC names the struct trace_spec (declared
 * in payload.h) that guests/trace2c.awk generated from
 * traces/<name>.trace; TRACE_ID and TRACE_NAME are the image header's
 * payload id and name.  The heap holds the traced process's pages where
 * the trace's layout puts them: init fills the pages the process had
 * resident at the split, an invocation touches its input's pages in the
 * process's first-touch order.
 */
#include "guest.h"

WSR_PAYLOAD(TRACE_ID, TRACE_NAME);

static uint64_t *heap;

void payload_init(const struct wsr_boot_info *boot)
{
	const struct trace_spec *s = &TRACE_SPEC;
	uint64_t page, end, k;
	uint32_t r;

	heap = (uint64_t *)boot->heap_start;
	if ((uint64_t)s->span * 4096 > boot->heap_end - boot->heap_start)
		guest_panic(3);
	for (r = 0; r < s->nruns; r++) {
		end = (uint64_t)s->runs[r][0] + s->runs[r][1];
		for (page = s->runs[r][0]; page < end; page++)
			for (k = 0; k < TRACE_PAGE_WORDS; k++)
				heap[page * TRACE_PAGE_WORDS + k] =
					trace_word(page, k, s->random);
	}
}

uint64_t payload_invoke(uint32_t input)
{
	const struct trace_input *in = trace_find_input(&TRACE_SPEC, input);
	uint64_t acc = input, t;

	if (!in)
		return wsr_fold(acc, WSR_BAD);	/* not a traced input */
	for (t = 0; t < in->count; t++) {
		uint64_t *p = heap + (uint64_t)(in->pages[t] >> 1) *
				     TRACE_PAGE_WORDS;
		unsigned int k = trace_pick(input, t);

		acc = wsr_fold(acc, p[1]);
		acc = wsr_fold(acc, p[k]);
		if (in->pages[t] & TRACE_STORED)
			p[TRACE_READ_WORDS + k] = acc;
	}
	return acc;
}
