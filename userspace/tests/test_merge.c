// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Merge and overlap statistics, on hand-checked examples and on random
 * recordings checked against a brute-force model.
 *
 * The hand example, 3 recordings of a 16-page snapshot (first-touch order):
 *   R1 = 5 1 9      ranks (2r+1)/2n: 5 1/6, 1 3/6, 9 5/6
 *   R2 = 1 7                         1 1/4, 7 3/4
 *   R3 = 9 1 5 2                     9 1/8, 1 3/8, 5 5/8, 2 7/8
 * merged (freq, mean rank):
 *   1 (3, 0.375)  5 (2, 0.395833)  9 (2, 0.479167)  7 (1, 0.75)  2 (1, 0.875)
 * overlap: union 5, common {1}, unique R1 none, R2 {7}, R3 {2};
 *   |R1^R2| = 1 -> J 1/4;  |R1^R3| = 3 -> J 3/4;  |R2^R3| = 1 -> J 1/5
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "wsr-private.h"

static const uint64_t R1[] = { 5, 1, 9 }, R2[] = { 1, 7 },
		      R3[] = { 9, 1, 5, 2 };

static void hand_inputs(struct wsr_ws *in[3])
{
	struct wsr_snapshot_id id = test_id(16);

	in[0] = test_ws(&id, R1, 3);
	in[1] = test_ws(&id, R2, 2);
	in[2] = test_ws(&id, R3, 4);
}

static void free_n(struct wsr_ws **ws, size_t n)
{
	while (n--)
		wsr_ws_free(ws[n]);
}

/* |rank - want * 2^32| within rounding */
static int rank_is(uint32_t rank, double want)
{
	return fabs((double)rank - want * 4294967296.0) <= 2.0;
}

TEST(create_ranks_and_duplicates)
{
	static const uint64_t pages[] = { 7, 3, 7, 9, 3 };
	struct wsr_snapshot_id id = test_id(16);
	const struct wsr_ws_page *e;
	struct wsr_ws *ws;
	size_t n;

	ws = test_ws(&id, pages, 5);
	CHECK_EQ(wsr_ws_entries(ws, &e, &n), 0);
	CHECK_EQ(n, 3);
	CHECK(e[0].index == 7 && e[1].index == 3 && e[2].index == 9);
	CHECK(rank_is(e[0].rank, 1.0 / 6) && rank_is(e[1].rank, 3.0 / 6) &&
	      rank_is(e[2].rank, 5.0 / 6));
	CHECK(e[0].freq == 1 && e[1].freq == 1 && e[2].freq == 1);
	wsr_ws_free(ws);
}

TEST(create_rejects_bad_input)
{
	static const uint64_t pages[] = { 1, 16 };
	struct wsr_snapshot_id id = test_id(16), bad;
	struct wsr_ws *ws = NULL;

	CHECK_EQ(wsr_ws_create(&id, pages, 2, 0, &ws), -ERANGE);
	bad = id;
	bad.length = 4095;
	CHECK_EQ(wsr_ws_create(&bad, pages, 1, 0, &ws), -EINVAL);
	bad = id;
	bad.method = 0;
	CHECK_EQ(wsr_ws_create(&bad, pages, 1, 0, &ws), -EINVAL);
	CHECK_EQ(wsr_ws_create(NULL, pages, 1, 0, &ws), -EINVAL);
	CHECK_EQ(wsr_ws_create(&id, NULL, 1, 0, &ws), -EINVAL);
	CHECK(!ws);
}

TEST(merge_hand_example)
{
	static const struct {
		uint64_t index;
		uint32_t freq;
		double rank;
	} want[] = {
		{ 1, 3, 0.375 }, { 5, 2, (1.0 / 6 + 5.0 / 8) / 2 },
		{ 9, 2, (5.0 / 6 + 1.0 / 8) / 2 }, { 7, 1, 0.75 },
		{ 2, 1, 0.875 },
	};
	struct wsr_ws *in[3], *m;
	const struct wsr_ws_page *e;
	const uint64_t *pages;
	struct wsr_ws_info info;
	size_t n, i;

	hand_inputs(in);
	CHECK_EQ(wsr_ws_merge(in, 3, 0, &m), 0);
	CHECK_EQ(wsr_ws_entries(m, &e, &n), 0);
	CHECK_EQ(n, 5);
	for (i = 0; i < n && i < 5; i++) {
		CHECKF(e[i].index == want[i].index, "entry %zu index %llu",
		       i, (unsigned long long)e[i].index);
		CHECK_EQ(e[i].freq, want[i].freq);
		CHECKF(rank_is(e[i].rank, want[i].rank), "entry %zu rank %u",
		       i, e[i].rank);
	}
	CHECK_EQ(wsr_ws_pages(m, &pages, &n), 0);
	CHECK(n == 5 && pages[0] == 1 && pages[1] == 5 && pages[2] == 9 &&
	      pages[3] == 7 && pages[4] == 2);
	CHECK_EQ(wsr_ws_info(m, &info), 0);
	CHECK_EQ(info.recordings, 3);
	CHECK_EQ(info.pages, 5);
	wsr_ws_free(m);
	free_n(in, 3);
}

TEST(merge_min_count)
{
	struct wsr_ws *in[3], *m;
	const uint64_t *pages;
	size_t n;

	hand_inputs(in);
	CHECK_EQ(wsr_ws_merge(in, 3, 2, &m), 0);
	wsr_ws_pages(m, &pages, &n);
	CHECK(n == 3 && pages[0] == 1 && pages[1] == 5 && pages[2] == 9);
	CHECK_EQ(m->recordings, 3);
	wsr_ws_free(m);
	CHECK_EQ(wsr_ws_merge(in, 3, 3, &m), 0);
	wsr_ws_pages(m, &pages, &n);
	CHECK(n == 1 && pages[0] == 1);
	wsr_ws_free(m);
	/* k = 0 and k = 1 keep everything */
	CHECK_EQ(wsr_ws_merge(in, 3, 1, &m), 0);
	CHECK_EQ(m->count, 5);
	wsr_ws_free(m);
	m = NULL;
	CHECK_EQ(wsr_ws_merge(in, 3, 4, &m), -EINVAL);
	CHECK(!m);
	free_n(in, 3);
}

TEST(merge_of_merges_is_associative)
{
	struct wsr_ws *in[3], *ab, *abc, *all, *pair[2];
	size_t i;

	hand_inputs(in);
	CHECK_EQ(wsr_ws_merge(in, 2, 0, &ab), 0);
	pair[0] = ab;
	pair[1] = in[2];
	CHECK_EQ(wsr_ws_merge(pair, 2, 0, &abc), 0);
	CHECK_EQ(wsr_ws_merge(in, 3, 0, &all), 0);
	CHECK_EQ(abc->count, all->count);
	CHECK_EQ(abc->recordings, 3);
	for (i = 0; i < all->count && i < abc->count; i++) {
		CHECK_EQ(abc->entries[i].index, all->entries[i].index);
		CHECK_EQ(abc->entries[i].freq, all->entries[i].freq);
		CHECK(abs((int)(abc->entries[i].rank - all->entries[i].rank)) <= 2);
	}
	wsr_ws_free(ab);
	wsr_ws_free(abc);
	wsr_ws_free(all);
	free_n(in, 3);
}

TEST(merge_tie_break_frequency_then_index)
{
	/* Two pages end with the same mean rank 0.5: the more frequent first. */
	static const uint64_t a[] = { 4 }, b[] = { 4 }, c[] = { 2 };
	struct wsr_snapshot_id id = test_id(8);
	struct wsr_ws *in[3], *m;

	in[0] = test_ws(&id, c, 1);
	in[1] = test_ws(&id, a, 1);
	in[2] = test_ws(&id, b, 1);
	CHECK_EQ(wsr_ws_merge(in, 3, 0, &m), 0);
	CHECK(m->count == 2 && m->pages[0] == 4 && m->pages[1] == 2);
	CHECK(m->entries[0].rank == m->entries[1].rank);
	wsr_ws_free(m);
	free_n(in, 3);
}

TEST(merge_rejects_other_snapshot)
{
	struct wsr_snapshot_id id = test_id(16), other = test_id(16);
	struct wsr_ws *in[2], *m = NULL;
	struct wsr_ws_overlap *o = NULL;

	other.fingerprint ^= 1;
	in[0] = test_ws(&id, R1, 3);
	in[1] = test_ws(&other, R2, 2);
	CHECK_EQ(wsr_ws_merge(in, 2, 0, &m), -ESTALE);
	CHECK_EQ(wsr_ws_overlap(in, 2, &o), -ESTALE);
	CHECK(!m && !o);
	CHECK_EQ(wsr_ws_check_snapshot(in[0], &id), 0);
	CHECK_EQ(wsr_ws_check_snapshot(in[0], &other), -ESTALE);
	/* offset is informative only */
	other = id;
	other.offset = 1 << 20;
	CHECK_EQ(wsr_ws_check_snapshot(in[0], &other), 0);
	free_n(in, 2);
	CHECK_EQ(wsr_ws_merge(NULL, 1, 0, &m), -EINVAL);
	CHECK_EQ(wsr_ws_merge(in, 0, 0, &m), -EINVAL);
}

TEST(overlap_hand_example)
{
	struct wsr_ws *in[3];
	struct wsr_ws_overlap *o;

	hand_inputs(in);
	CHECK_EQ(wsr_ws_overlap(in, 3, &o), 0);
	CHECK_EQ(o->n, 3);
	CHECK_EQ(o->union_pages, 5);
	CHECK_EQ(o->common_pages, 1);
	CHECK(o->size[0] == 3 && o->size[1] == 2 && o->size[2] == 4);
	CHECK(o->unique[0] == 0 && o->unique[1] == 1 && o->unique[2] == 1);
	CHECK(fabs(wsr_ws_jaccard(o, 0, 1) - 0.25) < 1e-12);
	CHECK(fabs(wsr_ws_jaccard(o, 0, 2) - 0.75) < 1e-12);
	CHECK(fabs(wsr_ws_jaccard(o, 1, 2) - 0.2) < 1e-12);
	CHECK(wsr_ws_jaccard(o, 2, 1) == wsr_ws_jaccard(o, 1, 2));
	CHECK(wsr_ws_jaccard(o, 1, 1) == 1.0);
	CHECK(wsr_ws_jaccard(o, 3, 0) < 0);
	wsr_ws_overlap_free(o);
	free_n(in, 3);
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

/* Random recordings vs. a brute-force model of union, freq, k and order. */
TEST(merge_random_vs_model)
{
	enum { NPAGES = 512, NREC = 7, ROUNDS = 40 };
	struct wsr_snapshot_id id = test_id(NPAGES);
	static uint64_t pages[NREC][NPAGES];
	static uint32_t freq[NPAGES];
	static double rank_sum[NPAGES];
	struct wsr_ws *in[NREC], *m;
	struct wsr_ws_overlap *o;
	size_t len[NREC], i, j, r, round, want, common, uniq[NREC];
	unsigned int k;

	for (round = 0; round < ROUNDS; round++) {
		memset(freq, 0, sizeof(freq));
		memset(rank_sum, 0, sizeof(rank_sum));
		for (r = 0; r < NREC; r++) {
			static unsigned char seen[NPAGES];

			memset(seen, 0, sizeof(seen));
			len[r] = rnd(NPAGES / 2);
			for (i = 0, j = 0; i < len[r]; i++) {
				uint64_t p = rnd(NPAGES / 3 + round * 8);

				pages[r][i] = p;	/* repeats allowed */
				if (!seen[p]) {
					seen[p] = 1;
					j++;
				}
			}
			/* model ranks over the distinct pages */
			memset(seen, 0, sizeof(seen));
			for (i = 0, want = 0; i < len[r]; i++) {
				uint64_t p = pages[r][i];

				if (seen[p])
					continue;
				seen[p] = 1;
				freq[p]++;
				rank_sum[p] += (2.0 * want + 1) / (2.0 * j);
				want++;
			}
			in[r] = test_ws(&id, pages[r], len[r]);
		}
		k = (unsigned int)rnd(NREC + 1);
		CHECK_EQ(wsr_ws_merge(in, NREC, k, &m), 0);
		for (i = 0, want = 0; i < NPAGES; i++)
			want += freq[i] && freq[i] >= k;
		CHECK_EQ(m->count, want);
		for (i = 0; i < m->count; i++) {
			const struct wsr_ws_page *e = &m->entries[i];

			CHECK_EQ(e->freq, freq[e->index]);
			CHECK(e->freq >= k);
			CHECK(rank_is(e->rank, rank_sum[e->index] / freq[e->index]));
			if (i)
				CHECK(wsr__page_cmp(e - 1, e) < 0);
		}
		CHECK_EQ(wsr_ws_overlap(in, NREC, &o), 0);
		for (i = 0, want = 0, common = 0; i < NPAGES; i++) {
			want += !!freq[i];
			common += freq[i] == NREC;
		}
		CHECK_EQ(o->union_pages, want);
		CHECK_EQ(o->common_pages, common);
		memset(uniq, 0, sizeof(uniq));
		for (r = 0; r < NREC; r++)
			for (i = 0; i < in[r]->count; i++)
				uniq[r] += freq[in[r]->pages[i]] == 1;
		for (r = 0; r < NREC; r++) {
			CHECK_EQ(o->unique[r], uniq[r]);
			CHECK_EQ(o->intersect[r * NREC + r], in[r]->count);
		}
		wsr_ws_overlap_free(o);
		wsr_ws_free(m);
		free_n(in, NREC);
	}
}

TEST(overlap_limits)
{
	struct wsr_snapshot_id id = test_id(4);
	struct wsr_ws *in[WSR_WS_OVERLAP_MAX + 1];
	struct wsr_ws_overlap *o = NULL;
	size_t i;

	for (i = 0; i <= WSR_WS_OVERLAP_MAX; i++)
		CHECK_EQ(wsr_ws_create(&id, NULL, 0, 0, &in[i]), 0);
	CHECK_EQ(wsr_ws_overlap(in, WSR_WS_OVERLAP_MAX + 1, &o), -E2BIG);
	CHECK_EQ(wsr_ws_overlap(in, WSR_WS_OVERLAP_MAX, &o), 0);
	CHECK(o && o->union_pages == 0 && wsr_ws_jaccard(o, 0, 1) == 1.0);
	wsr_ws_overlap_free(o);
	free_n(in, WSR_WS_OVERLAP_MAX + 1);
}
