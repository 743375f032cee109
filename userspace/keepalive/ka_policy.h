/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace port of wsr's keep-alive policy: module/wsr_keepalive.c and
 * the eviction loop of wsr_base_trim() (module/wsr_base.c), for the
 * simulator.  Same integer arithmetic, same order of operations, same
 * tie-breaks; a base's resident size is counted in bytes where the module
 * counts pages (the same thing for page-multiple sizes).  Keep it in step
 * with the module: selftests/wsr_keepalive.c replays a crafted sequence on
 * both and compares what they evict and every priority.
 */
#ifndef KA_POLICY_H
#define KA_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum ka_policy { KA_GDSF, KA_LRU, KA_TTL };
enum ka_reason { KA_BUDGET = 1, KA_EXPIRED };

#define KA_FREQ_MAX	(1ULL << 20)
#define KA_COST_MAX	0xffffffffULL
#define KA_NSEC		1000000000ULL

/* struct wsr_ka, plus what the module keeps in struct wsr_base. */
struct ka_base {
	uint32_t id;
	uint64_t hits, misses, freq, cost_us, cost_bytes, size, prio;
	uint64_t last_ns, evictions, pass;
	/* struct wsr_base: regions using it, bytes it holds */
	uint64_t users;
	uint64_t resident;
	void *priv;		/* the simulator's */
	struct ka_base *next;	/* wsr_bases: newest first */
};

typedef void ka_evict_fn(void *arg, struct ka_base *b, int reason,
			 uint64_t bytes);

struct ka_cache {
	int policy;
	uint64_t ttl_s;
	uint64_t cap;		/* bytes, 0: no cap (base_max_kb) */
	uint64_t clock;
	uint64_t pass;
	uint64_t total;		/* bytes all bases hold */
	struct ka_base *head;
	ka_evict_fn *on_evict;	/* before the base is freed */
	void (*on_free)(void *arg, struct ka_base *b);
	void *arg;
};

static inline const char *ka_policy_name(int p)
{
	static const char *const names[] = { "gdsf", "lru", "ttl" };

	return p >= 0 && p <= KA_TTL ? names[p] : "?";
}

static inline int ka_policy_parse(const char *s)
{
	int p;

	for (p = KA_GDSF; p <= KA_TTL; p++)
		if (!strcmp(s, ka_policy_name(p)))
			return p;
	return -1;
}

/* wsr_ka_priority() */
static inline uint64_t ka_priority(uint64_t clock, uint64_t freq,
				   uint64_t cost_us, uint64_t size)
{
	uint64_t kb = size >> 10 ? size >> 10 : 1;

	if (freq > KA_FREQ_MAX)
		freq = KA_FREQ_MAX;
	if (cost_us > KA_COST_MAX)
		cost_us = KA_COST_MAX;
	return clock + freq * cost_us * 1024 / kb;
}

/* wsr_ka_init() + the base's entry in wsr_bases (list_add: at the head) */
static inline struct ka_base *ka_base_new(struct ka_cache *c, uint32_t id,
					  uint64_t now)
{
	struct ka_base *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->id = id;
	b->last_ns = now;
	b->next = c->head;
	c->head = b;
	return b;
}

/* wsr_ka_restored(); @size: bytes the base holds after the restore */
static inline void ka_restored(struct ka_cache *c, struct ka_base *b,
			       bool hit, bool cold, uint64_t bytes,
			       uint64_t ns, uint64_t size, uint64_t now)
{
	if (hit)
		b->hits++;
	else
		b->misses++;
	if (!hit && (cold || !b->cost_us)) {
		b->cost_us = ns / 1000 ? ns / 1000 : 1;
		b->cost_bytes = bytes;
	}
	b->freq++;
	b->size = size;
	b->prio = ka_priority(c->clock, b->freq, b->cost_us, size);
	b->last_ns = now;
}

/* wsr_ka_released(): wsr_base_put() of the last region */
static inline void ka_released(struct ka_base *b, uint64_t now)
{
	b->last_ns = now;
}

static inline bool ka_expired(const struct ka_cache *c,
			      const struct ka_base *b, uint64_t now)
{
	return c->policy == KA_TTL && now - b->last_ns >= c->ttl_s * KA_NSEC;
}

/* wsr_ka_before() */
static inline bool ka_before(const struct ka_cache *c,
			     const struct ka_base *a, const struct ka_base *b)
{
	if (c->policy == KA_GDSF && a->prio != b->prio)
		return a->prio < b->prio;
	if (a->last_ns != b->last_ns)
		return a->last_ns < b->last_ns;
	return a->id < b->id;
}

/* wsr_base_evict() + wsr_ka_evicted(): an unused base loses every page */
static inline uint64_t ka_evict(struct ka_cache *c, struct ka_base *b,
				int reason)
{
	uint64_t bytes = b->resident;

	if (reason != KA_EXPIRED && c->policy == KA_GDSF && b->prio > c->clock)
		c->clock = b->prio;
	if (c->on_evict)
		c->on_evict(c->arg, b, reason, bytes);
	b->evictions++;
	b->freq = 0;
	b->resident = 0;
	c->total -= bytes;
	return bytes;
}

/* wsr_base_sweep(): unused bases that hold nothing go */
static inline void ka_sweep(struct ka_cache *c)
{
	struct ka_base **pp = &c->head, *b;

	while ((b = *pp)) {
		if (!b->users && !b->resident) {
			*pp = b->next;
			if (c->on_free)
				c->on_free(c->arg, b);
			free(b);
			continue;
		}
		pp = &b->next;
	}
}

/*
 * wsr_base_trim().  Bases in use are fully mapped in the simulator, so
 * the module's last pass (unmapped pages of bases in use) drops nothing.
 */
static inline void ka_trim(struct ka_cache *c, uint64_t now)
{
	struct ka_base *b, *victim;
	uint64_t total = 0, pass;

	if (!c->cap && c->policy != KA_TTL)
		return;
	pass = ++c->pass;
	for (b = c->head; b; b = b->next) {
		if (!b->users && b->resident && ka_expired(c, b, now))
			ka_evict(c, b, KA_EXPIRED);
		total += b->resident;
	}
	while (c->cap && total > c->cap) {
		victim = NULL;
		for (b = c->head; b; b = b->next) {
			if (b->users || b->pass == pass || !b->resident)
				continue;
			if (!victim || ka_before(c, b, victim))
				victim = b;
		}
		if (!victim)
			break;
		victim->pass = pass;
		total -= ka_evict(c, victim, KA_BUDGET);
	}
	ka_sweep(c);
}

#endif /* KA_POLICY_H */
