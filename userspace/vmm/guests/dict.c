// SPDX-License-Identifier: GPL-2.0
/*
 * dict - clustered access: an LZ-style decoder over a large dictionary.
 *
 * Init fills the dictionary segments.  An invocation decodes an
 * input-generated token stream: every token copies a run of dictionary
 * words into a 64 KiB output ring and the result is a checksum of the
 * decoded output.  The copies come from two base segments and a few
 * segments of the input's "language", i.e. dense 1 MiB clusters.
 */
#include "guest.h"

WSR_PAYLOAD(WSR_PAYLOAD_DICT, "dict");

static struct dict_layout dl;

void payload_init(const struct wsr_boot_info *boot)
{
	uint64_t *dict, p, n;

	dict_layout(boot->heap_start, boot->heap_end - boot->heap_start, &dl);
	if (dl.segs < DICT_BASE_SEGS + DICT_LANGS)
		guest_panic(2);
	dict = (uint64_t *)dl.dict;
	n = dl.segs * DICT_SEG_WORDS;
	for (p = 0; p < n; p++)
		dict[p] = dict_word(p);
}

uint64_t payload_invoke(uint32_t input)
{
	const uint64_t *dict = (const uint64_t *)dl.dict;
	uint64_t *ring = (uint64_t *)dl.ring;
	const uint64_t ring_words = DICT_RING / 8;
	uint64_t acc = input, pos = 0, t, i;

	for (t = 0; t < DICT_TOKENS; t++) {
		uint64_t src, len;

		dict_token(&dl, input, t, &src, &len);
		for (i = 0; i < len; i++) {
			ring[pos] = dict[src + i];
			pos = (pos + 1) & (ring_words - 1);
		}
		/* Checksum the decoded run as it sits in the ring. */
		for (i = len; i > 0; i--)
			acc = wsr_fold(acc, ring[(pos - i) & (ring_words - 1)]);
	}
	return acc;
}
