// SPDX-License-Identifier: GPL-2.0
/*
 * kv - sparse random access: a key-value store's hash index.
 *
 * Init generates R records and inserts them into an open-addressing index
 * (linear probing).  An invocation looks up input-dependent keys through
 * the index and folds one value word of each record into the result.
 * Every lookup touches a random index page and a random record page.
 */
#include "guest.h"

WSR_PAYLOAD(WSR_PAYLOAD_KV, "kv");

struct kv_slot {
	uint64_t key;
	uint64_t rec;		/* record index + 1, 0 = empty */
};

static struct kv_layout kv;

void payload_init(const struct wsr_boot_info *boot)
{
	struct kv_slot *table;
	uint64_t *corpus, i;
	unsigned int k;

	kv_layout(boot->heap_start, boot->heap_end - boot->heap_start, &kv);
	table = (struct kv_slot *)kv.table;
	corpus = (uint64_t *)kv.corpus;
	for (i = 0; i < kv.records; i++) {
		uint64_t key = kv_key(i);
		uint64_t s = key & (kv.slots - 1);

		for (k = 0; k < KV_REC_WORDS; k++)
			corpus[i * KV_REC_WORDS + k] = kv_word(i, k);
		while (table[s].rec)
			s = (s + 1) & (kv.slots - 1);
		table[s].key = key;
		table[s].rec = i + 1;
	}
}

uint64_t payload_invoke(uint32_t input)
{
	const struct kv_slot *table = (const struct kv_slot *)kv.table;
	const uint64_t *corpus = (const uint64_t *)kv.corpus;
	uint64_t acc = input, t;

	for (t = 0; t < kv.lookups; t++) {
		unsigned int word;
		uint64_t j = kv_pick(&kv, input, t, &word);
		uint64_t key = kv_key(j);
		uint64_t s = key & (kv.slots - 1), n;
		const uint64_t *rec = 0;

		for (n = 0; n < kv.slots && table[s].rec; n++) {
			if (table[s].key == key) {
				rec = corpus + (table[s].rec - 1) * KV_REC_WORDS;
				break;
			}
			s = (s + 1) & (kv.slots - 1);
		}
		if (!rec || table[s].rec - 1 >= kv.records || rec[0] != key) {
			acc = wsr_fold(acc, WSR_BAD);
			continue;
		}
		acc = wsr_fold(acc, rec[word]);
	}
	return acc;
}
