/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The payloads' specification, shared by the guest code (which computes a
 * result by reading the state it built in guest memory) and by the VMM's
 * reference (which recomputes the same result from the generators alone,
 * without any guest memory).  A restore that loads one wrong byte of the
 * working set therefore gives a result the reference does not.
 *
 * Every piece of state is a pure function of its index, so the reference
 * needs no state of its own.
 */
#ifndef WSR_PAYLOAD_H
#define WSR_PAYLOAD_H

#include <stdint.h>

/* splitmix64's finaliser: a bijection with good avalanche. */
static inline uint64_t wsr_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Order-sensitive fold of one word into a checksum. */
static inline uint64_t wsr_fold(uint64_t acc, uint64_t w)
{
	acc = (acc << 7 | acc >> 57) ^ w;
	return acc * 0x9e3779b97f4a7c15ULL;
}

/* A value no correct run produces on the way, folded in on errors. */
#define WSR_BAD			0xbad0bad0bad0bad0ULL

/* ---------------------------------------------------------------------
 * kv: sparse random.  A corpus of R 64-byte records and an open-addressing
 * hash index of 2R slots (key, record index + 1).  An invocation looks up
 * Q keys: half from a hot set shared by all inputs, half uniform, so the
 * working sets of two inputs overlap but differ.
 */
#define KV_SEED			0x6b76c0ffee000001ULL
#define KV_REC_WORDS		8	/* key + 7 value words */

struct kv_layout {
	uint64_t records;	/* R, a power of two */
	uint64_t slots;		/* 2R */
	uint64_t table;		/* guest address of the slot array */
	uint64_t corpus;	/* guest address of the records */
	uint64_t lookups;	/* Q per invocation */
};

static inline void kv_layout(uint64_t heap, uint64_t heap_size,
			     struct kv_layout *l)
{
	uint64_t r = 1;

	/* 64 bytes of record + 2 * 16 bytes of slots per record. */
	while ((r * 2) * 96 <= heap_size)
		r *= 2;
	l->records = r;
	l->slots = 2 * r;
	l->table = heap;
	l->corpus = heap + l->slots * 16;
	l->lookups = r / 512;
}

static inline uint64_t kv_key(uint64_t i)
{
	return wsr_mix64(KV_SEED + i);
}

static inline uint64_t kv_word(uint64_t i, unsigned int k)
{
	return k ? wsr_mix64(kv_key(i) ^ (uint64_t)k << 56) : kv_key(i);
}

/* Record looked up by step @t of invocation @input, and the word used. */
static inline uint64_t kv_pick(const struct kv_layout *l, uint32_t input,
			       uint64_t t, unsigned int *word)
{
	uint64_t h = wsr_mix64((uint64_t)input << 32 ^ t ^ 0x51ULL << 24);

	*word = 1 + (h >> 3) % (KV_REC_WORDS - 1);
	if (h & 1)
		return (h >> 8) % (l->records / 16);	/* hot set */
	return (h >> 8) % l->records;
}

/* ---------------------------------------------------------------------
 * dict: clustered.  A dictionary of 1 MiB segments; segments 0-1 are a
 * common base, the rest are split into DICT_LANGS groups.  An invocation
 * (an LZ-style decode of an input-generated token stream) copies runs
 * from the base and from two segments of its input's group, so it touches
 * dense clusters.
 */
#define DICT_SEED		0xd1c7d1c7d1c70002ULL
#define DICT_SEG		(1ULL << 20)
#define DICT_SEG_WORDS		(DICT_SEG / 8)
#define DICT_BASE_SEGS		2
#define DICT_LANGS		8
#define DICT_TOKENS		2048
#define DICT_RING		(64 << 10)	/* output ring, bytes */

struct dict_layout {
	uint64_t segs;		/* segments in the dictionary */
	uint64_t dict;		/* guest address of the dictionary */
	uint64_t ring;		/* guest address of the output ring */
};

static inline void dict_layout(uint64_t heap, uint64_t heap_size,
			       struct dict_layout *l)
{
	uint64_t avail = heap_size - DICT_RING;

	/* Leave about an eighth of the heap untouched (zero pages). */
	l->segs = avail / DICT_SEG * 7 / 8;
	l->ring = heap;
	l->dict = heap + DICT_RING;
}

static inline uint64_t dict_word(uint64_t p)
{
	return wsr_mix64(DICT_SEED ^ p);
}

/*
 * Token @t of invocation @input: copy @len words from word @src of the
 * dictionary.
 */
static inline void dict_token(const struct dict_layout *l, uint32_t input,
			      uint64_t t, uint64_t *src, uint64_t *len)
{
	uint64_t per = (l->segs - DICT_BASE_SEGS) / DICT_LANGS;
	uint64_t lang = wsr_mix64(input ^ 0x1a9ULL) % DICT_LANGS;
	uint64_t h = wsr_mix64((uint64_t)input << 32 ^ t ^ 0xd1ULL << 24);
	uint64_t seg, sel = h & 7;

	if (sel < 2)
		seg = sel;				/* base */
	else
		seg = DICT_BASE_SEGS + lang * per +
		      wsr_mix64(input ^ sel >> 1 << 40) % per;
	*len = 8 + (h >> 8) % 120;
	*src = seg * DICT_SEG_WORDS + (h >> 16) % (DICT_SEG_WORDS - *len);
}

/* ---------------------------------------------------------------------
 * scan: mostly sequential.  An interpreter heap of variable-size objects
 * after a symbol table and a directory (word offset of every 1024th
 * object).  An invocation walks SCAN_CHUNKS * 1024 consecutive objects
 * from an input-dependent start, and each "ref" object also reads its
 * symbol (random reads in the 1 MiB symbol table).
 */
#define SCAN_SEED		0x5ca75ca75ca70003ULL
#define SCAN_SYMS		65536		/* 16 bytes each */
#define SCAN_CHUNK		1024		/* objects per directory entry */
#define SCAN_CHUNKS		32		/* chunks walked per invocation */
#define SCAN_KIND_REF		0
#define SCAN_DIR_MAX		65536

struct scan_layout {
	uint64_t syms;		/* guest address of the symbol table */
	uint64_t dir;		/* guest address of the directory */
	uint64_t objs;		/* guest address of the first object */
	uint64_t words;		/* capacity of the object area, words */
};

static inline void scan_layout(uint64_t heap, uint64_t heap_size,
			       struct scan_layout *l)
{
	l->syms = heap;
	l->dir = heap + SCAN_SYMS * 16;
	l->objs = l->dir + SCAN_DIR_MAX * 8;
	/* Fill about 7/8 of the heap, leave the rest zero. */
	l->words = (heap_size - (l->objs - heap)) / 8 * 7 / 8;
}

/* Object @i: header word (size in words incl. header, kind, symbol). */
static inline uint64_t scan_header(uint64_t i)
{
	uint64_t h = wsr_mix64(SCAN_SEED + i);
	uint64_t words = 2 + (h & 31);
	uint64_t kind = (h >> 5) & 7;
	uint64_t sym = (h >> 8) % SCAN_SYMS;

	return words | kind << 8 | sym << 16 | (h >> 40) << 40;
}

static inline uint64_t scan_obj_words(uint64_t hdr)
{
	return hdr & 0xff;
}

static inline uint64_t scan_obj_kind(uint64_t hdr)
{
	return (hdr >> 8) & 0xff;
}

static inline uint64_t scan_obj_sym(uint64_t hdr)
{
	return (hdr >> 16) & 0xffffff;
}

/* Payload word @k (1..words-1) of the object with header @hdr. */
static inline uint64_t scan_obj_word(uint64_t hdr, uint64_t k)
{
	return hdr + k * 0x9e3779b97f4a7c15ULL;
}

/* Symbol @s: two words. */
static inline uint64_t scan_sym_word(uint64_t s, unsigned int k)
{
	return k ? s : wsr_mix64(SCAN_SEED ^ 0x5151ULL << 32 ^ s);
}

/* First chunk walked by invocation @input, given @chunks chunks built. */
static inline uint64_t scan_start(uint32_t input, uint64_t chunks)
{
	return wsr_mix64(input ^ 0x5cULL << 32) % (chunks - SCAN_CHUNKS);
}

/* ---------------------------------------------------------------------
 * trace: replay of a real program's page touches (traces/<name>.trace,
 * captured by scripts/capture-trace.sh).  The build turns a trace into a
 * struct trace_spec (guests/trace2c.awk): the guest heap pages the traced
 * process had resident at the split, as runs, and per input the heap pages
 * its invocation touched, in first-touch order.  Init fills every resident
 * page with generated words of the measured compressibility; an
 * invocation reads word 1 and one picked word of the first half of each
 * touched page in order and, where the process stored, writes a word of
 * the second half (so that no invocation reads what another wrote).
 */
#define TRACE_SEED		0x7ace7ace7ace0004ULL
#define TRACE_PAGE_WORDS	512
#define TRACE_READ_WORDS	256	/* reads below, writes above */
#define TRACE_STORED		1u	/* flag in a touched page's entry */

struct trace_input {
	uint32_t input;
	uint32_t count;
	const uint32_t *pages;	/* heap page << 1 | TRACE_STORED */
};

struct trace_spec {
	const char *name;
	uint32_t random;	/* random words per 256 (compressibility) */
	uint32_t span;		/* heap pages the layout spans */
	uint32_t nruns;
	const uint32_t (*runs)[2];	/* resident: first heap page, count */
	uint32_t ninputs;
	const struct trace_input *inputs;
};

/* Generated from traces/<name>.trace by guests/trace2c.awk. */
extern const struct trace_spec trace_spec_py, trace_spec_sqlite,
	trace_spec_zlib;

/*
 * Word @k of resident heap page @page: a random word with probability
 * @random / 256, else zero or a one-byte value (about half each), as in
 * real memory: pointers and data among zeroed fields and small integers.
 */
static inline uint64_t trace_word(uint64_t page, unsigned int k,
				  unsigned int random)
{
	uint64_t h = wsr_mix64(TRACE_SEED ^ page << 9 ^ k);
	unsigned int b = h & 0xff;

	if (b < random)
		return h;
	if (b < random + (256 - random) / 2)
		return 0;
	return h >> 56;
}

/* The first-half word step @t of invocation @input reads besides word 1. */
static inline unsigned int trace_pick(uint32_t input, uint64_t t)
{
	return wsr_mix64((uint64_t)input << 32 ^ t ^ TRACE_SEED) %
	       TRACE_READ_WORDS;
}

static inline const struct trace_input *
trace_find_input(const struct trace_spec *s, uint32_t input)
{
	uint32_t i;

	for (i = 0; i < s->ninputs; i++)
		if (s->inputs[i].input == input)
			return &s->inputs[i];
	return 0;
}

#endif /* WSR_PAYLOAD_H */
