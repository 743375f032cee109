/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wsr-fuzz: a syscall fuzzer for /dev/wsr, run inside the test VM.
 *
 * A program is a short list of ops; an op is a kind and four random words
 * that the op's executor turns into arguments (fd, sizes, flags, pointers).
 * Programs that reach new wsr.ko PCs (KCOV) are kept and mutated.
 *
 * Shared state (fds, mappings, snapshot files) lives in struct fz_state
 * under fz.lock.  Ioctls and racy reads run without the lock, on fd numbers
 * and addresses that may be stale: that is part of the fuzzing.  Anything
 * that changes which fd or address means what (open, close, mmap, munmap,
 * mremap, file writes) and every checked access holds the lock, so the
 * oracle's view of the world is exact.
 */
#ifndef WSR_FUZZ_FUZZ_H
#define WSR_FUZZ_FUZZ_H

#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#define FZ_PAGE		4096ULL
#define FZ_HUGE		(2ULL << 20)
#define FZ_SLOTS	8		/* /dev/wsr fds */
#define FZ_MAPS		24		/* live mappings */
#define FZ_ARENA_SLOTS	32		/* arena slots, one mapping each */
#define FZ_SLOT_SIZE	(8ULL << 20)
#define FZ_SNAPS	4
#define FZ_ODD		8		/* fds of the wrong type */
#define FZ_PROG_MAX	16
#define FZ_RING		48		/* last ops of a thread, for reports */
#define FZ_WS_MAX	(64ULL << 20 >> 12)	/* largest region, pages */
#define FZ_IDX_MAX	4096		/* restore indices per call */
#define FZ_ERRNO_MAX	600
#define FZ_FILE_MAX	(8ULL << 20)	/* writable snapshots stay below */

enum fz_kind {
	FZ_OPEN, FZ_API, FZ_CREATE, FZ_TRACK, FZ_GET_WS, FZ_RESTORE,
	FZ_STATS, FZ_WAIT, FZ_TRACK_FILE, FZ_BAD_IOCTL, FZ_CLOSE,
	FZ_MMAP, FZ_MUNMAP, FZ_MREMAP, FZ_MADVISE, FZ_READ, FZ_WRITE,
	FZ_RACY, FZ_FORK, FZ_FWRITE, FZ_FTRUNCATE, FZ_FADVISE,
	FZ_KNOB_READ, FZ_KNOB_WRITE, FZ_NR_KINDS
};

/* Returned by an op that found nothing to work on: not a call. */
#define FZ_SKIP		(-100000)

struct fz_op {
	uint32_t kind;
	uint64_t a[4];
};

struct fz_prog {
	uint32_t n;
	struct fz_op op[FZ_PROG_MAX];
};

/* A snapshot file; @gen counts the fuzzer's writes and truncations. */
struct fz_snap {
	const char *path;
	int fd;
	uint64_t size;
	uint64_t orig;
	bool writable;
	uint64_t gen;
	uint64_t mod_ns;
};

/* A /dev/wsr fd and, once created, its region. */
struct fz_slot {
	int fd;
	bool region;
	int snap;
	uint64_t off;
	uint64_t len;
	uint64_t gen;
};

/* Page states of a mapping, for the oracle. */
enum { FZ_CLEAN, FZ_DIRTY, FZ_GONE };

/*
 * A mapping in the arena.  @oracle: a wsr mapping whose region we know;
 * its clean pages must read as the snapshot at @foff while the snapshot's
 * generation is still @gen.
 */
struct fz_map {
	bool used;
	bool oracle;
	int arena;
	char *addr;
	uint64_t len;
	int prot;
	int snap;
	uint64_t foff;
	uint64_t gen;
	uint8_t state[FZ_SLOT_SIZE / FZ_PAGE];
};

struct fz_ring_ent {
	struct fz_op op;
	int ret;
};

struct fz_thread {
	int id;
	uint64_t rng;
	pthread_t tid;
	uint64_t *cover;		/* KCOV area, NULL without KCOV */
	int kcov_fd;
	struct { uint64_t index, ns; } *ws;	/* GET_WS buffer */
	uint64_t *idx;			/* RESTORE indices */
	char *arg;			/* a page that ends at a guard page */
	char *arg_end;
	uint64_t calls;
	unsigned int arena_locks;	/* fz.lock taken by fz_uptr() */
	bool arg_back;			/* the last ioctl's struct came back */
	int sys_tid;
	struct fz_op cur;		/* the op running now */
	uint64_t cur_ns;		/* since when, 0 between ops */
	bool done;
	struct fz_ring_ent ring[FZ_RING];
	unsigned int ring_pos;
};

struct fz_state {
	pthread_mutex_t lock;
	pthread_mutexattr_t lock_attr;
	struct fz_snap snap[FZ_SNAPS];
	struct fz_slot slot[FZ_SLOTS];
	struct fz_map map[FZ_MAPS];
	int arena_owner[FZ_ARENA_SLOTS];	/* map index, -1 free, -2 dead */
	char *arena;
	int odd[FZ_ODD];
	int nodd;
	char *ro_page;
	const char *dev;			/* /dev/wsr */
	bool in_child;
	bool kcov;
	uint64_t seed;
	uint64_t deadline_ns;
	uint64_t errors;			/* atomic */
	uint64_t children;			/* atomic */
	uint64_t hist[FZ_NR_KINDS][FZ_ERRNO_MAX + 1];	/* atomic */
	uint64_t ns[FZ_NR_KINDS];			/* atomic */
};

extern struct fz_state fz;
extern const char *const fz_kind_name[FZ_NR_KINDS];
/* Where SIGSEGV/SIGBUS go back to during a guarded access. */
extern __thread sigjmp_buf *volatile fz_jmp;

/* wsr_fuzz.c */
uint64_t fz_rand(uint64_t *s);
uint64_t fz_now_ns(void);
void fz_error(struct fz_thread *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int fz_exec(struct fz_thread *t, const struct fz_op *op);
void fz_child_run(struct fz_thread *t, uint64_t seed);

/* fuzz_env.c */
int fz_env_init(void);
void fz_env_exit(void);
uint64_t fz_edge(uint64_t r);
uint64_t fz_size(uint64_t *s, uint64_t limit);
int fz_pick_fd(uint64_t *s);
int fz_pick_wsr_fd(uint64_t *s);
int fz_pick_snap(uint64_t *s, bool writable);
void *fz_uptr(struct fz_thread *t, uint64_t *s, void *buf, uint64_t len,
	      bool kernel_writes);
void fz_uptr_done(struct fz_thread *t);
void fz_mark_dirty(const void *addr, uint64_t len);
char *fz_arena_addr(int slot);
void fz_arena_reserve(int slot, uint64_t off, uint64_t len);
int fz_guarded_read(const volatile char *p, char *out, uint64_t len);
int fz_guarded_write(volatile char *p, uint64_t len, uint8_t v);
int fz_knob_read(uint64_t *s);
int fz_knob_write(uint64_t *s);

/* fuzz_ioctl.c */
int fz_op_open(struct fz_thread *t, const struct fz_op *op);
int fz_op_close(struct fz_thread *t, const struct fz_op *op);
int fz_op_api(struct fz_thread *t, const struct fz_op *op);
int fz_op_create(struct fz_thread *t, const struct fz_op *op);
int fz_op_track(struct fz_thread *t, const struct fz_op *op);
int fz_op_get_ws(struct fz_thread *t, const struct fz_op *op);
int fz_op_restore(struct fz_thread *t, const struct fz_op *op);
int fz_op_stats(struct fz_thread *t, const struct fz_op *op);
int fz_op_wait(struct fz_thread *t, const struct fz_op *op);
int fz_op_track_file(struct fz_thread *t, const struct fz_op *op);
int fz_op_bad_ioctl(struct fz_thread *t, const struct fz_op *op);

/* fuzz_mm.c */
int fz_op_mmap(struct fz_thread *t, const struct fz_op *op);
int fz_op_munmap(struct fz_thread *t, const struct fz_op *op);
int fz_op_mremap(struct fz_thread *t, const struct fz_op *op);
int fz_op_madvise(struct fz_thread *t, const struct fz_op *op);
int fz_op_read(struct fz_thread *t, const struct fz_op *op);
int fz_op_write(struct fz_thread *t, const struct fz_op *op);
int fz_op_racy(struct fz_thread *t, const struct fz_op *op);
int fz_op_fork(struct fz_thread *t, const struct fz_op *op);
int fz_op_fwrite(struct fz_thread *t, const struct fz_op *op);
int fz_op_ftruncate(struct fz_thread *t, const struct fz_op *op);
int fz_op_fadvise(struct fz_thread *t, const struct fz_op *op);

/* fuzz_cov.c */
int fz_kcov_open(struct fz_thread *t);
void fz_kcov_close(struct fz_thread *t);
void fz_cov_begin(struct fz_thread *t);
uint64_t fz_cov_end(struct fz_thread *t);
uint64_t fz_pcs(void);
uint64_t fz_corpus_size(void);
void fz_corpus_add(const struct fz_prog *p);
void fz_prog_next(struct fz_thread *t, struct fz_prog *p);

#endif /* WSR_FUZZ_FUZZ_H */
