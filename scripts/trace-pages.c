// SPDX-License-Identifier: GPL-2.0
/*
 * trace-pages - reduce valgrind lackey's --trace-mem output (stdin) to
 * pages, for capture-trace.sh.
 *
 * usage: trace-pages MARKER_HEX INPUTS
 *
 * MARKER_HEX is the address of marker page 0 (trace-workload.py).
 * Accesses before the first access to page 0 are init; those between the
 * first accesses to pages 1 + 2k and 2 + 2k are invocation k's (k <
 * INPUTS); the others (fork and wait in the parent) are left out.  Prints
 *
 *	init N		then the N init-touched pages, ascending, one a line
 *	run K N		then invocation K's N pages in first-touch order,
 *			with " w" after a page the invocation stored to
 *
 * Pages are hex page numbers (address >> 12).  The marker pages are left
 * out.  Lines that are not accesses (valgrind's own) are skipped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS		(1u << 21)	/* hash slots, power of two */
#define MAX_INPUTS	8

/* One open-addressing set per phase: page + 1 (0 = empty). */
struct pageset {
	uint64_t *key;
	uint32_t *idx;		/* first-touch index of the page */
	uint8_t *stored;
	uint64_t *order;	/* pages in first-touch order */
	uint32_t n;
};

static void set_init(struct pageset *s)
{
	s->key = calloc(SLOTS, sizeof(*s->key));
	s->idx = calloc(SLOTS, sizeof(*s->idx));
	s->stored = calloc(SLOTS, 1);
	s->order = calloc(SLOTS / 2, sizeof(*s->order));
	if (!s->key || !s->idx || !s->stored || !s->order) {
		fprintf(stderr, "trace-pages: out of memory\n");
		exit(1);
	}
}

/* Add @page (if new) and return its first-touch index. */
static uint32_t set_add(struct pageset *s, uint64_t page)
{
	uint64_t h = page * 0x9e3779b97f4a7c15ULL;
	uint32_t i = (uint32_t)(h >> 40) & (SLOTS - 1);

	while (s->key[i] && s->key[i] != page + 1)
		i = (i + 1) & (SLOTS - 1);
	if (!s->key[i]) {
		if (s->n >= SLOTS / 2) {
			fprintf(stderr, "trace-pages: too many pages\n");
			exit(1);
		}
		s->key[i] = page + 1;
		s->order[s->n] = page;
		s->idx[s->n] = i;
		s->n++;
	}
	return i;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Parse " L 1ffefffe18,8" or "I  04016b0,3"; 0 if not an access. */
static int parse(const char *l, char *op, uint64_t *addr, uint64_t *size)
{
	char *end;

	while (*l == ' ')
		l++;
	if (!strchr("ILSM", *l) || l[1] != ' ')
		return 0;
	*op = *l++;
	*addr = strtoull(l, &end, 16);
	if (*end != ',')
		return 0;
	*size = strtoull(end + 1, NULL, 10);
	return *size > 0;
}

static void print_run(const struct pageset *s, int k)
{
	uint32_t i;

	printf("run %d %u\n", k, s->n);
	for (i = 0; i < s->n; i++)
		printf("%llx%s\n", (unsigned long long)s->order[i],
		       s->stored[s->idx[i]] ? " w" : "");
}

int main(int argc, char **argv)
{
	struct pageset init = { 0 }, run[MAX_INPUTS] = { 0 }, *cur = &init;
	uint64_t marker, addr, size, p;
	int inputs, k, ended = 0;
	uint32_t seen = 0;	/* marker pages accessed */
	char line[256], op;
	uint32_t i;

	if (argc != 3 || atoi(argv[2]) < 1 || atoi(argv[2]) > MAX_INPUTS) {
		fprintf(stderr, "usage: trace-pages MARKER_HEX INPUTS < lackey-output\n");
		return 2;
	}
	marker = strtoull(argv[1], NULL, 16) >> 12;
	inputs = atoi(argv[2]);
	set_init(&init);
	for (k = 0; k < inputs; k++)
		set_init(&run[k]);
	while (ended < inputs && fgets(line, sizeof(line), stdin)) {
		if (!parse(line, &op, &addr, &size))
			continue;
		for (p = addr >> 12; p <= (addr + size - 1) >> 12; p++) {
			if (p >= marker && p <= marker + 2 * inputs) {
				k = (int)(p - marker);
				cur = k && k % 2 ? &run[k / 2] : NULL;
				ended += k && !(k % 2) && !(seen & 1u << k);
				seen |= 1u << k;
				continue;
			}
			if (!cur)
				continue;
			i = set_add(cur, p);
			if (op == 'S' || op == 'M')
				cur->stored[i] = 1;
		}
	}
	if (ended < inputs) {
		fprintf(stderr, "trace-pages: %d of %d invocations ended\n",
			ended, inputs);
		return 1;
	}
	qsort(init.order, init.n, sizeof(*init.order), cmp_u64);
	printf("init %u\n", init.n);
	for (i = 0; i < init.n; i++)
		printf("%llx\n", (unsigned long long)init.order[i]);
	for (k = 0; k < inputs; k++)
		print_run(&run[k], k);
	return 0;
}
