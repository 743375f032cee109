// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-fuzz coverage: per-thread KCOV (only wsr.ko is instrumented, so
 * every PC is one of the module's), the set of PCs seen, and the corpus of
 * programs that found new ones, which new programs are mutated from.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "fuzz.h"

#define KCOV_INIT_TRACE	_IOR('c', 1, unsigned long)
#define KCOV_ENABLE	_IO('c', 100)
#define KCOV_DISABLE	_IO('c', 101)
#define KCOV_TRACE_PC	0

#define FZ_COVER_WORDS	(256 << 10)
#define FZ_PCSET_SIZE	(1 << 18)
#define FZ_CORPUS_MAX	4096

/* Open addressing, lock free: 0 is an empty slot, a PC never is. */
static uint64_t fz_pcset[FZ_PCSET_SIZE];
static uint64_t fz_npcs;

static struct {
	pthread_mutex_t lock;
	struct fz_prog prog[FZ_CORPUS_MAX];
	uint64_t n;
} fz_corpus = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Relative weights of the op kinds in a random program. */
static const unsigned int fz_weight[FZ_NR_KINDS] = {
	[FZ_OPEN] = 25, [FZ_API] = 35, [FZ_CREATE] = 50, [FZ_TRACK] = 40,
	[FZ_GET_WS] = 35, [FZ_RESTORE] = 70, [FZ_STATS] = 30,
	[FZ_WAIT] = 25, [FZ_TRACK_FILE] = 35, [FZ_BAD_IOCTL] = 10,
	[FZ_CLOSE] = 15, [FZ_MMAP] = 50, [FZ_MUNMAP] = 25,
	[FZ_MREMAP] = 20, [FZ_MADVISE] = 50, [FZ_READ] = 100,
	[FZ_WRITE] = 40, [FZ_RACY] = 40, [FZ_FORK] = 1, [FZ_FWRITE] = 8,
	[FZ_FTRUNCATE] = 4, [FZ_FADVISE] = 10, [FZ_KNOB_READ] = 12,
	[FZ_KNOB_WRITE] = 6,
};

int fz_kcov_open(struct fz_thread *t)
{
	int fd = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
	void *p;
	int ret;

	t->cover = NULL;
	if (fd < 0)
		return -errno;
	if (ioctl(fd, KCOV_INIT_TRACE, FZ_COVER_WORDS))
		goto err;
	p = mmap(NULL, FZ_COVER_WORDS * sizeof(uint64_t),
		 PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto err;
	if (ioctl(fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		munmap(p, FZ_COVER_WORDS * sizeof(uint64_t));
		goto err;
	}
	t->cover = p;
	t->kcov_fd = fd;
	return 0;
err:
	ret = -errno;
	close(fd);
	return ret;
}

void fz_kcov_close(struct fz_thread *t)
{
	if (!t->cover)
		return;
	ioctl(t->kcov_fd, KCOV_DISABLE, 0);
	munmap(t->cover, FZ_COVER_WORDS * sizeof(uint64_t));
	close(t->kcov_fd);
	t->cover = NULL;
}

void fz_cov_begin(struct fz_thread *t)
{
	if (t->cover)
		__atomic_store_n(&t->cover[0], 0, __ATOMIC_RELAXED);
}

static bool fz_pc_add(uint64_t pc)
{
	uint64_t h = (pc * 0x9e3779b97f4a7c15ULL) >> 46, cur;
	unsigned int i;

	for (i = 0; i < FZ_PCSET_SIZE; i++, h++) {
		uint64_t *slot = &fz_pcset[h % FZ_PCSET_SIZE];

		cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
		if (cur == pc)
			return false;
		if (!cur && __atomic_compare_exchange_n(slot, &cur, pc, false,
							__ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
			break;
		if (cur == pc)
			return false;
	}
	__atomic_add_fetch(&fz_npcs, 1, __ATOMIC_RELAXED);
	return true;
}

/* PCs of the call since fz_cov_begin(); returns how many were new. */
uint64_t fz_cov_end(struct fz_thread *t)
{
	uint64_t n, i, fresh = 0;

	if (!t->cover)
		return 0;
	n = __atomic_load_n(&t->cover[0], __ATOMIC_RELAXED);
	if (n >= FZ_COVER_WORDS)
		n = FZ_COVER_WORDS - 1;
	for (i = 1; i <= n; i++)
		fresh += fz_pc_add(t->cover[i]);
	return fresh;
}

uint64_t fz_pcs(void)
{
	return __atomic_load_n(&fz_npcs, __ATOMIC_RELAXED);
}

uint64_t fz_corpus_size(void)
{
	uint64_t n;

	pthread_mutex_lock(&fz_corpus.lock);
	n = fz_corpus.n;
	pthread_mutex_unlock(&fz_corpus.lock);
	return n;
}

void fz_corpus_add(const struct fz_prog *p)
{
	static uint64_t evict = 1;

	pthread_mutex_lock(&fz_corpus.lock);
	if (fz_corpus.n < FZ_CORPUS_MAX)
		fz_corpus.prog[fz_corpus.n++] = *p;
	else
		fz_corpus.prog[fz_rand(&evict) % FZ_CORPUS_MAX] = *p;
	pthread_mutex_unlock(&fz_corpus.lock);
}

static uint32_t fz_random_kind(uint64_t r)
{
	unsigned int k, total = 0;

	for (k = 0; k < FZ_NR_KINDS; k++)
		total += fz_weight[k];
	r %= total;
	for (k = 0; k < FZ_NR_KINDS - 1 && r >= fz_weight[k]; k++)
		r -= fz_weight[k];
	return k;
}

static void fz_random_op(struct fz_thread *t, struct fz_op *op)
{
	int i;

	op->kind = fz_random_kind(fz_rand(&t->rng));
	for (i = 0; i < 4; i++)
		op->a[i] = fz_rand(&t->rng);
}

/* One change: a word, a kind, an op more or less, a splice. */
static void fz_mutate_one(struct fz_thread *t, struct fz_prog *p)
{
	uint64_t r = fz_rand(&t->rng), i = (r >> 8) % p->n;
	struct fz_op *op = &p->op[i];
	uint64_t *w = &op->a[(r >> 16) % 4];

	switch (r % 8) {
	case 0:
		*w = fz_edge(r >> 24);
		break;
	case 1:
		*w += (r >> 24) % 2 ? 1 : -1;
		break;
	case 2:
		*w ^= 1ULL << (r >> 24) % 64;
		break;
	case 3:
		op->kind = fz_random_kind(r >> 24);
		break;
	case 4:
		if (p->n < FZ_PROG_MAX) {
			memmove(op + 1, op, (p->n - i) * sizeof(*op));
			fz_random_op(t, op);
			p->n++;
		}
		break;
	case 5:
		if (p->n > 1) {
			memmove(op, op + 1, (p->n - i - 1) * sizeof(*op));
			p->n--;
		}
		break;
	case 6:
		if (p->n < FZ_PROG_MAX)
			p->op[p->n++] = *op;
		break;
	default:
		*w = fz_rand(&t->rng);
		break;
	}
}

/*
 * The next program: a mutated corpus entry or, often, a random one.  A
 * forked child only makes random ones: the corpus lock may have been held
 * by another thread at the fork.
 */
void fz_prog_next(struct fz_thread *t, struct fz_prog *p)
{
	uint64_t r = fz_rand(&t->rng), n = 0, i;

	if (!fz.in_child)
		pthread_mutex_lock(&fz_corpus.lock);
	if (!fz.in_child)
		n = fz_corpus.n;
	if (n && r % 4) {
		*p = fz_corpus.prog[(r >> 8) % n];
		/* Splice: the tail of another entry. */
		if ((r >> 40) % 8 == 0) {
			const struct fz_prog *o =
				&fz_corpus.prog[(r >> 24) % n];

			for (i = 0; i < o->n && p->n < FZ_PROG_MAX; i++)
				p->op[p->n++] = o->op[i];
		}
	}
	if (!fz.in_child)
		pthread_mutex_unlock(&fz_corpus.lock);
	if (n && r % 4) {
		for (i = 0; i < 1 + (r >> 48) % 4; i++)
			fz_mutate_one(t, p);
		return;
	}
	p->n = 1 + (r >> 8) % FZ_PROG_MAX;
	for (i = 0; i < p->n; i++)
		fz_random_op(t, &p->op[i]);
}
