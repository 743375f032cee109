// SPDX-License-Identifier: GPL-2.0-or-later
/* Page lists for record, restore, touch and ws import: files and patterns. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "wsrctl.h"

int page_list_add(struct page_list *l, uint64_t v)
{
	uint64_t *nv;
	size_t ncap;

	if (l->n == l->cap) {
		if (l->n >= WSR_WS_MAX_ENTRIES)
			return -EOVERFLOW;
		ncap = l->cap ? l->cap * 2 : 256;
		nv = realloc(l->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = v;
	return 0;
}

void page_list_free(struct page_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
			 e[-1] == '\t'))
		*--e = 0;
	return s;
}

int page_list_read(struct page_list *l, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char line[256], *s, *dash, *hash;
	uint64_t a, b, v;
	unsigned long lineno = 0;
	int ret = EXIT_OK, err;

	if (!f)
		return fail(path, "%s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		s = trim(line);
		if (!*s)
			continue;
		dash = strchr(s, '-');
		if (dash)
			*dash = 0;
		if (parse_u64(trim(s), &a) ||
		    (dash && parse_u64(trim(dash + 1), &b)) ||
		    (dash && b < a)) {
			ret = fail(path, "line %lu: expected a page index or a range A-B",
				   lineno);
			break;
		}
		if (!dash)
			b = a;
		for (v = a, err = 0; !err; v++) {
			err = page_list_add(l, v);
			if (v == b)
				break;
		}
		if (err) {
			ret = fail(path, "line %lu: %s", lineno,
				   err == -EOVERFLOW ? "too many pages" :
				   strerror(-err));
			break;
		}
	}
	if (ret == EXIT_OK && ferror(f))
		ret = fail(path, "read error");
	if (f != stdin)
		fclose(f);
	return ret;
}

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* @count distinct pages below @npages in a random order fixed by @seed. */
static int random_pages(struct page_list *l, uint64_t count, uint64_t npages,
			uint64_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1, i, j, t, *perm;
	unsigned char *seen;
	int ret = 0;

	if (count * 2 > npages) {
		perm = malloc(npages * sizeof(*perm));
		if (!perm)
			return -ENOMEM;
		for (i = 0; i < npages; i++)
			perm[i] = i;
		for (i = 0; i < count && !ret; i++) {
			j = i + xorshift64(&s) % (npages - i);
			t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
			ret = page_list_add(l, perm[i]);
		}
		free(perm);
		return ret;
	}
	seen = calloc(npages / 8 + 1, 1);
	if (!seen)
		return -ENOMEM;
	for (i = 0; i < count && !ret; ) {
		j = xorshift64(&s) % npages;
		if (seen[j / 8] & (1u << (j % 8)))
			continue;
		seen[j / 8] |= 1u << (j % 8);
		ret = page_list_add(l, j);
		i++;
	}
	free(seen);
	return ret;
}

int page_list_pattern(struct page_list *l, const char *spec, uint64_t npages)
{
	char buf[128], *f[5], *save = NULL, *tok;
	uint64_t v[4] = { 0, 0, 1, 1 }, i;
	int nf = 0, ret = 0, k;

	if (strlen(spec) >= sizeof(buf))
		return fail(spec, "pattern too long");
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ":", &save); tok && nf < 5;
	     tok = strtok_r(NULL, ":", &save))
		f[nf++] = tok;
	if (nf >= 2 && !strcmp(f[0], "seq") && nf <= 4) {
		for (k = 1; k < nf; k++)
			if (parse_u64(f[k], &v[k - 1]))
				goto bad;
		if (nf < 4)
			v[2] = 1;
		/* v[0] start, v[1] count, v[2] stride */
		if (!v[2])
			goto bad;
		if (v[1] && (v[0] >= npages ||
			     v[1] - 1 > (npages - 1 - v[0]) / v[2]))
			return fail(spec, "pattern runs beyond the region (%" PRIu64
				    " pages)", npages);
		for (i = 0; i < v[1] && !ret; i++)
			ret = page_list_add(l, v[0] + i * v[2]);
	} else if (nf >= 2 && nf <= 3 && !strcmp(f[0], "random")) {
		if (parse_u64(f[1], &v[0]) || (nf == 3 && parse_u64(f[2], &v[1])))
			goto bad;
		if (nf < 3)
			v[1] = 1;
		if (v[0] > npages)
			return fail(spec, "more pages than the region has (%" PRIu64
				    ")", npages);
		ret = random_pages(l, v[0], npages, v[1]);
	} else {
		goto bad;
	}
	if (ret)
		return fail(spec, "%s", ret == -EOVERFLOW ? "too many pages" :
			    strerror(-ret));
	return EXIT_OK;
bad:
	return fail(spec, "bad pattern, expected seq:START:COUNT[:STRIDE] or random:COUNT[:SEED]");
}
