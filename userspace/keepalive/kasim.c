// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-kasim: simulator of wsr's keep-alive policy (ka_policy.h, a port of
 * module/wsr_keepalive.c).
 *
 *   wsr-kasim replay FILE
 *	Runs a sequence of module events and prints every eviction
 *	("evict ID REASON") and, at the end, every base ("base ID freq F
 *	prio P").  selftests/wsr_keepalive.c writes such a file from what
 *	it did to the module and compares the output with the module's.
 *	Lines: "policy NAME", "ttl S", "cap BYTES", "clock C" (the GDSF
 *	clock the module started from), "get ID T" (a region
 *	over the base: found, or made with id ID), "restore ID T HIT COLD
 *	BYTES NS SIZE" (wsr_base_restored() then wsr_base_trim()), "put ID
 *	T" (the region closed), "trim T" (a knob write).  T in ns.
 *
 *   wsr-kasim trace FILE --policy gdsf|lru|ttl --budget-mb M [--ttl-s S]
 *	   [--cold-ms C] [--bw-mbs B] [--warm-ms W]
 *	Replays an invocation trace (gen-trace.py): each invocation gets
 *	its function's base, restores it (a miss when the base holds
 *	nothing: C ms + working set / B MB/s; a hit: W ms + 0.25 us a
 *	page, the cost of mapping it; the restore is stamped at the
 *	arrival), keeps it for its duration plus the restore and lets it
 *	go.  Prints one JSON line: invocations, cold starts, cold-start
 *	ratio, total restore seconds and those of cold restores (the
 *	cold-start overhead), time-averaged and peak resident MB of all
 *	bases, evictions.  --budget-mb 0: no budget.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ka_policy.h"

static void die(const char *msg, const char *arg)
{
	fprintf(stderr, "wsr-kasim: %s%s%s\n", msg, arg ? ": " : "",
		arg ? arg : "");
	exit(2);
}

static struct ka_base *find(struct ka_cache *c, uint32_t id)
{
	struct ka_base *b;

	for (b = c->head; b; b = b->next)
		if (b->id == id)
			return b;
	return NULL;
}

static void replay_evict(void *arg, struct ka_base *b, int reason,
			 uint64_t bytes)
{
	printf("evict %u %d\n", b->id, reason);
}

static int replay(const char *path)
{
	struct ka_cache c = { .policy = KA_GDSF, .ttl_s = 600,
			      .on_evict = replay_evict };
	unsigned long long t, bytes, ns, size, v;
	unsigned int id, hit, cold;
	char line[256], word[32];
	struct ka_base *b;
	FILE *f = fopen(path, "r");
	int lineno = 0;

	if (!f)
		die("cannot open", path);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "policy %31s", word) == 1) {
			c.policy = ka_policy_parse(word);
			if (c.policy < 0)
				die("bad policy", word);
		} else if (sscanf(line, "ttl %llu", &v) == 1) {
			c.ttl_s = v;
		} else if (sscanf(line, "cap %llu", &v) == 1) {
			c.cap = v;
		} else if (sscanf(line, "clock %llu", &v) == 1) {
			c.clock = v;
		} else if (sscanf(line, "get %u %llu", &id, &t) == 2) {
			b = find(&c, id);
			if (!b)
				b = ka_base_new(&c, id, t);
			if (!b)
				die("out of memory", NULL);
			b->users++;
		} else if (sscanf(line, "restore %u %llu %u %u %llu %llu %llu",
				  &id, &t, &hit, &cold, &bytes, &ns,
				  &size) == 7) {
			b = find(&c, id);
			if (!b || !b->users)
				die("restore of a base nobody uses", line);
			c.total += size - b->resident;
			b->resident = size;
			ka_restored(&c, b, hit, cold, bytes, ns, size, t);
			ka_trim(&c, t);
		} else if (sscanf(line, "put %u %llu", &id, &t) == 2) {
			b = find(&c, id);
			if (!b || !b->users)
				die("put of a base nobody uses", line);
			if (!--b->users) {
				/* wsr_base_put(): an empty base goes now */
				if (!b->resident)
					ka_sweep(&c);
				else
					ka_released(b, t);
			}
		} else if (sscanf(line, "trim %llu", &t) == 1) {
			ka_trim(&c, t);
		} else {
			fprintf(stderr, "wsr-kasim: %s:%d: bad line\n", path,
				lineno);
			exit(2);
		}
	}
	fclose(f);
	for (b = c.head; b; b = b->next)
		printf("base %u freq %" PRIu64 " prio %" PRIu64 "\n", b->id,
		       b->freq, b->prio);
	printf("clock %" PRIu64 "\n", c.clock);
	return 0;
}

/* --- trace mode ----------------------------------------------------- */

struct fn {
	uint64_t ws;		/* working-set bytes: the base's size */
	struct ka_base *base;	/* NULL when it holds nothing */
};

struct inv {
	uint64_t t_ns;
	uint32_t fn;
	uint64_t dur_ns;
};

/* Releases pending: a binary min-heap on time. */
struct rel {
	uint64_t t;
	uint32_t fn;
};

static struct rel *heap;
static size_t nheap, capheap;

static void heap_push(uint64_t t, uint32_t fn)
{
	size_t i = nheap++;

	if (nheap > capheap) {
		capheap = capheap ? 2 * capheap : 1024;
		heap = realloc(heap, capheap * sizeof(*heap));
		if (!heap)
			die("out of memory", NULL);
	}
	while (i && heap[(i - 1) / 2].t > t) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i].t = t;
	heap[i].fn = fn;
}

static struct rel heap_pop(void)
{
	struct rel top = heap[0], last = heap[--nheap];
	size_t i = 0, k;

	for (;;) {
		k = 2 * i + 1;
		if (k >= nheap)
			break;
		if (k + 1 < nheap && heap[k + 1].t < heap[k].t)
			k++;
		if (heap[k].t >= last.t)
			break;
		heap[i] = heap[k];
		i = k;
	}
	if (nheap)
		heap[i] = last;
	return top;
}

struct sim {
	struct ka_cache c;
	struct fn *fns;
	uint64_t evictions;
	uint64_t last_t;
	double area;		/* byte-nanoseconds of resident bases */
	uint64_t peak;
	uint32_t next_id;
};

static void sim_account(struct sim *s, uint64_t t)
{
	if (t > s->last_t) {
		s->area += (double)s->c.total * (double)(t - s->last_t);
		s->last_t = t;
	}
}

static void sim_evict(void *arg, struct ka_base *b, int reason,
		      uint64_t bytes)
{
	struct sim *s = arg;

	s->evictions++;
}

static void sim_free(void *arg, struct ka_base *b)
{
	struct sim *s = arg;

	s->fns[(uintptr_t)b->priv].base = NULL;
}

static void sim_release(struct sim *s, struct rel r)
{
	struct ka_base *b = s->fns[r.fn].base;

	sim_account(s, r.t);
	if (!--b->users)
		ka_released(b, r.t);
}

static int trace(const char *path, int argc, char **argv)
{
	double cold_ms = 20, bw_mbs = 400, warm_ms = 1, budget_mb = -1;
	uint64_t ninv = 0, ncold = 0, nfn = 0, capfn = 0;
	struct sim s = { .c = { .policy = -1, .ttl_s = 600 } };
	double restore_ns = 0, cold_ns = 0;
	char line[256], word[32];
	FILE *f;
	int i;

	for (i = 0; i < argc; i++) {
		if (i + 1 >= argc)
			die("option needs a value", argv[i]);
		if (!strcmp(argv[i], "--policy"))
			s.c.policy = ka_policy_parse(argv[++i]);
		else if (!strcmp(argv[i], "--budget-mb"))
			budget_mb = atof(argv[++i]);
		else if (!strcmp(argv[i], "--ttl-s"))
			s.c.ttl_s = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--cold-ms"))
			cold_ms = atof(argv[++i]);
		else if (!strcmp(argv[i], "--bw-mbs"))
			bw_mbs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--warm-ms"))
			warm_ms = atof(argv[++i]);
		else
			die("unknown option", argv[i]);
	}
	if (s.c.policy < 0 || budget_mb < 0 || !s.c.ttl_s || bw_mbs <= 0)
		die("need --policy gdsf|lru|ttl and --budget-mb M", NULL);
	/* base_max_kb holds whole pages */
	s.c.cap = (uint64_t)(budget_mb * 1024) / 4 * 4096;
	s.c.on_evict = sim_evict;
	s.c.on_free = sim_free;
	s.c.arg = &s;

	f = fopen(path, "r");
	if (!f)
		die("cannot open", path);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, d;
		struct ka_base *base;
		struct fn *fn;
		uint64_t t, rt;
		bool hit;

		if (line[0] == '#')
			continue;
		if (sscanf(line, "fn %llu %*s %llu", &a, &b) == 2) {
			if (a != nfn)
				die("functions out of order", line);
			if (nfn == capfn) {
				capfn = capfn ? 2 * capfn : 256;
				s.fns = realloc(s.fns, capfn * sizeof(*s.fns));
				if (!s.fns)
					die("out of memory", NULL);
			}
			s.fns[nfn].ws = b << 10;
			s.fns[nfn].base = NULL;
			nfn++;
			continue;
		}
		if (sscanf(line, "inv %llu %llu %llu", &a, &b, &d) != 3 ||
		    b >= nfn) {
			if (sscanf(line, "%31s", word) == 1)
				die("bad line", line);
			continue;
		}
		t = a * 1000000ULL;
		while (nheap && heap[0].t <= t)
			sim_release(&s, heap_pop());
		sim_account(&s, t);
		fn = &s.fns[b];
		base = fn->base;
		if (!base) {
			base = ka_base_new(&s.c, ++s.next_id, t);
			if (!base)
				die("out of memory", NULL);
			base->priv = (void *)(uintptr_t)b;
			fn->base = base;
		}
		base->users++;
		hit = base->resident != 0;
		if (hit)
			rt = warm_ms * 1e6 + (fn->ws >> 12) * 250;
		else
			rt = cold_ms * 1e6 + fn->ws / (bw_mbs * 1048576) * 1e9;
		ninv++;
		ncold += !hit;
		restore_ns += rt;
		if (!hit)
			cold_ns += rt;
		s.c.total += fn->ws - base->resident;
		base->resident = fn->ws;
		if (s.c.total > s.peak)
			s.peak = s.c.total;
		/*
		 * Stamped at the arrival: events then reach the policy in
		 * time order, as they reach the module in the VM run.
		 */
		ka_restored(&s.c, base, hit, !hit, hit ? 0 : fn->ws, rt,
			    fn->ws, t);
		ka_trim(&s.c, t);
		heap_push(t + rt + d * 1000000ULL, b);
	}
	fclose(f);
	while (nheap)
		sim_release(&s, heap_pop());
	printf("{\"policy\":\"%s\",\"budget_mb\":%.0f,\"ttl_s\":%" PRIu64
	       ",\"functions\":%" PRIu64 ",\"invocations\":%" PRIu64
	       ",\"cold\":%" PRIu64 ",\"cold_ratio\":%.5f,\"restore_s\":%.1f"
	       ",\"cold_s\":%.1f"
	       ",\"mem_avg_mb\":%.1f,\"mem_peak_mb\":%.1f,\"evictions\":%"
	       PRIu64 "}\n",
	       ka_policy_name(s.c.policy), budget_mb, s.c.ttl_s, nfn, ninv,
	       ncold, ninv ? (double)ncold / ninv : 0, restore_ns / 1e9,
	       cold_ns / 1e9,
	       s.last_t ? s.area / s.last_t / 1048576 : 0,
	       s.peak / 1048576.0, s.evictions);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "replay"))
		return replay(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "trace"))
		return trace(argv[2], argc - 3, argv + 3);
	fprintf(stderr, "usage: wsr-kasim replay FILE\n"
		"       wsr-kasim trace FILE --policy gdsf|lru|ttl --budget-mb M [--ttl-s S]\n"
		"                 [--cold-ms C] [--bw-mbs B] [--warm-ms W]\n");
	return 2;
}
