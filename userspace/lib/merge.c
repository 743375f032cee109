// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Merging working sets and statistics between them.
 *
 * Merge: the union of the inputs' pages.  A page's frequency is the sum of
 * its frequencies in the inputs (the number of recordings that touched it)
 * and its rank the mean of the inputs' ranks weighted by those frequencies,
 * i.e. the mean normalised first-touch rank over all recordings that touched
 * it.  Merging merged sets therefore gives the same result (up to rounding)
 * as merging all recordings at once.
 */
#include <errno.h>
#include <stdlib.h>
#include "wsr-private.h"

struct tagged {
	uint64_t index;
	uint32_t rank;
	uint32_t freq;
	uint32_t input;
};

static int tagged_cmp(const void *a, const void *b)
{
	const struct tagged *x = a, *y = b;

	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return x->input < y->input ? -1 : x->input > y->input;
}

/* All inputs' entries, tagged with the input number, sorted by index. */
static int gather(struct wsr_ws *const *in, size_t n, struct tagged **out,
		  size_t *total)
{
	struct tagged *t;
	size_t i, j, k, sum = 0;

	for (i = 0; i < n; i++) {
		if (!in[i])
			return -EINVAL;
		if (!wsr__snapshot_id_same(&in[i]->snap, &in[0]->snap))
			return -ESTALE;
		sum += in[i]->count;
		if (sum > (SIZE_MAX / sizeof(*t)) - 1)
			return -EOVERFLOW;
	}
	t = malloc((sum ? sum : 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0, k = 0; i < n; i++)
		for (j = 0; j < in[i]->count; j++, k++) {
			t[k].index = in[i]->entries[j].index;
			t[k].rank = in[i]->entries[j].rank;
			t[k].freq = in[i]->entries[j].freq;
			t[k].input = (uint32_t)i;
		}
	qsort(t, sum, sizeof(*t), tagged_cmp);
	*out = t;
	*total = sum;
	return 0;
}

WSR_EXPORT int wsr_ws_merge(struct wsr_ws *const *in, size_t n,
			    unsigned int min_count, struct wsr_ws **out)
{
	struct tagged *t;
	struct wsr_ws *ws;
	uint64_t recordings = 0, dropped = 0, wsum;
	size_t total, i, j, m;
	uint32_t freq;
	int ret;

	if (!in || !n || !out)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!in[i])
			return -EINVAL;
		recordings += in[i]->recordings;
		dropped = dropped + in[i]->dropped < dropped ?
			  UINT64_MAX : dropped + in[i]->dropped;
	}
	if (recordings > WSR_WS_MAX_RECORDINGS)
		return -EOVERFLOW;
	if (min_count > recordings)
		return -EINVAL;
	ret = gather(in, n, &t, &total);
	if (ret)
		return ret;

	/* Count the distinct pages that pass the threshold. */
	for (i = 0, m = 0; i < total; i = j) {
		freq = 0;
		for (j = i; j < total && t[j].index == t[i].index; j++)
			freq += t[j].freq;
		if (freq >= min_count)
			m++;
	}
	ws = wsr__ws_alloc(m);
	if (!ws) {
		free(t);
		return m > WSR_WS_MAX_ENTRIES ? -EOVERFLOW : -ENOMEM;
	}
	ws->snap = in[0]->snap;
	ws->recordings = (uint32_t)recordings;
	ws->dropped = dropped;
	for (i = 0, m = 0; i < total; i = j) {
		freq = 0;
		wsum = 0;
		/* rank < 2^32 and freq <= 2^20 in total: wsum < 2^52. */
		for (j = i; j < total && t[j].index == t[i].index; j++) {
			freq += t[j].freq;
			wsum += (uint64_t)t[j].rank * t[j].freq;
		}
		if (freq < min_count)
			continue;
		ws->entries[m].index = t[i].index;
		ws->entries[m].freq = freq;
		ws->entries[m].rank = (uint32_t)((wsum + freq / 2) / freq);
		m++;
	}
	free(t);
	wsr__ws_finish(ws);
	*out = ws;
	return 0;
}

WSR_EXPORT void wsr_ws_overlap_free(struct wsr_ws_overlap *o)
{
	if (!o)
		return;
	free(o->size);
	free(o->unique);
	free(o->intersect);
	free(o);
}

WSR_EXPORT int wsr_ws_overlap(struct wsr_ws *const *in, size_t n,
			      struct wsr_ws_overlap **out)
{
	struct wsr_ws_overlap *o;
	struct tagged *t;
	size_t total, i, j, a, b;
	int ret;

	if (!in || !n || !out)
		return -EINVAL;
	if (n > WSR_WS_OVERLAP_MAX)
		return -E2BIG;
	ret = gather(in, n, &t, &total);
	if (ret)
		return ret;
	o = calloc(1, sizeof(*o));
	if (!o) {
		free(t);
		return -ENOMEM;
	}
	o->n = n;
	o->size = calloc(n, sizeof(*o->size));
	o->unique = calloc(n, sizeof(*o->unique));
	o->intersect = calloc(n * n, sizeof(*o->intersect));
	if (!o->size || !o->unique || !o->intersect) {
		wsr_ws_overlap_free(o);
		free(t);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		o->size[i] = in[i]->count;
	/* A working set holds a page once, so a group has distinct inputs. */
	for (i = 0; i < total; i = j) {
		for (j = i; j < total && t[j].index == t[i].index; j++)
			;
		o->union_pages++;
		if (j - i == n)
			o->common_pages++;
		if (j - i == 1)
			o->unique[t[i].input]++;
		for (a = i; a < j; a++)
			for (b = i; b < j; b++)
				o->intersect[t[a].input * n + t[b].input]++;
	}
	free(t);
	*out = o;
	return 0;
}

WSR_EXPORT double wsr_ws_jaccard(const struct wsr_ws_overlap *o, size_t i,
				 size_t j)
{
	uint64_t inter, uni;

	if (!o || i >= o->n || j >= o->n)
		return -1.0;
	inter = o->intersect[i * o->n + j];
	uni = o->size[i] + o->size[j] - inter;
	return uni ? (double)inter / (double)uni : 1.0;
}
