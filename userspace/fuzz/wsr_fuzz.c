// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-fuzz: coverage-guided syscall fuzzer of /dev/wsr, for the test VM.
 *
 *	wsr-fuzz [--seed N] [--duration SECONDS] [--threads N] [--calls N]
 *
 * Several threads run programs of /dev/wsr ioctls, mmap/munmap/mremap/
 * madvise, touches of the mappings, forks, writes and truncations of the
 * snapshot files and sysfs knob flips (see fuzz.h).  Each thread draws
 * its programs from its own generator, seeded from --seed and its number,
 * so a seed names the same programs; the coverage feedback and the
 * threads' interleaving are not deterministic.  Without
 * /sys/kernel/debug/kcov (perf kernel) programs are purely random.
 *
 * Environment, for trying the fuzzer outside the test VM: WSR_FUZZ_DIR
 * (snapshot files, default /data), WSR_FUZZ_TMP (the tmpfs one, default
 * /tmp), WSR_FUZZ_DEV (default /dev/wsr).
 *
 * The last line is "wsr-fuzz: calls=N pcs=M errors=E"; the exit status is
 * 0 without errors, 1 with, 2 when the fuzzer could not start.  An error is
 * an oracle mismatch, an answer the UAPI rules out, or a forked child
 * killed by a signal; each is printed with the thread's last ops.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "fuzz.h"

/* No call ends for this long: the run is stuck (see fz_join()). */
#define FZ_STUCK_NS	(120ULL * 1000 * 1000 * 1000)
#define FZ_PROGRESS_NS	(60ULL * 1000 * 1000 * 1000)

static __thread struct fz_thread *fz_self;
static uint64_t fz_total_calls;		/* atomic */
static uint64_t fz_max_calls;

const char *const fz_kind_name[FZ_NR_KINDS] = {
	[FZ_OPEN] = "open", [FZ_API] = "API", [FZ_CREATE] = "CREATE",
	[FZ_TRACK] = "TRACK", [FZ_GET_WS] = "GET_WS",
	[FZ_RESTORE] = "RESTORE", [FZ_STATS] = "STATS", [FZ_WAIT] = "WAIT",
	[FZ_TRACK_FILE] = "TRACK_FILE", [FZ_BAD_IOCTL] = "bad-ioctl",
	[FZ_CLOSE] = "close", [FZ_MMAP] = "mmap", [FZ_MUNMAP] = "munmap",
	[FZ_MREMAP] = "mremap", [FZ_MADVISE] = "madvise",
	[FZ_READ] = "read-check", [FZ_WRITE] = "write-mem",
	[FZ_RACY] = "read-racy", [FZ_FORK] = "fork", [FZ_FWRITE] = "write",
	[FZ_FTRUNCATE] = "ftruncate", [FZ_FADVISE] = "fadvise",
	[FZ_KNOB_READ] = "knob-read", [FZ_KNOB_WRITE] = "knob-write",
};

static int fz_op_knob_read(struct fz_thread *t, const struct fz_op *op)
{
	uint64_t s = op->a[0] | 1;

	return fz_knob_read(&s);
}

static int fz_op_knob_write(struct fz_thread *t, const struct fz_op *op)
{
	uint64_t s = op->a[0] | 1;

	return fz_knob_write(&s);
}

static int (*const fz_ops[FZ_NR_KINDS])(struct fz_thread *,
					const struct fz_op *) = {
	[FZ_OPEN] = fz_op_open, [FZ_API] = fz_op_api,
	[FZ_CREATE] = fz_op_create, [FZ_TRACK] = fz_op_track,
	[FZ_GET_WS] = fz_op_get_ws, [FZ_RESTORE] = fz_op_restore,
	[FZ_STATS] = fz_op_stats, [FZ_WAIT] = fz_op_wait,
	[FZ_TRACK_FILE] = fz_op_track_file,
	[FZ_BAD_IOCTL] = fz_op_bad_ioctl, [FZ_CLOSE] = fz_op_close,
	[FZ_MMAP] = fz_op_mmap, [FZ_MUNMAP] = fz_op_munmap,
	[FZ_MREMAP] = fz_op_mremap, [FZ_MADVISE] = fz_op_madvise,
	[FZ_READ] = fz_op_read, [FZ_WRITE] = fz_op_write,
	[FZ_RACY] = fz_op_racy, [FZ_FORK] = fz_op_fork,
	[FZ_FWRITE] = fz_op_fwrite, [FZ_FTRUNCATE] = fz_op_ftruncate,
	[FZ_FADVISE] = fz_op_fadvise, [FZ_KNOB_READ] = fz_op_knob_read,
	[FZ_KNOB_WRITE] = fz_op_knob_write,
};

/* Histogram bucket and name of a result (signals at the top end). */
static unsigned int fz_bucket(int ret)
{
	if (ret >= 0)
		return 0;
	return -ret <= FZ_ERRNO_MAX ? -ret : FZ_ERRNO_MAX;
}

static void fz_bucket_name(unsigned int b, char *buf, size_t len)
{
	const char *name = NULL;

	if (b == FZ_ERRNO_MAX - SIGSEGV)
		name = "SIGSEGV";
	else if (b == FZ_ERRNO_MAX - SIGBUS)
		name = "SIGBUS";
	else if (b && b < 512)
		name = strerrorname_np(b);
	if (!b)
		name = "ok";
	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "errno%u", b);
}

static void fz_ring_dump(const struct fz_thread *t)
{
	unsigned int i, k;
	char name[32];

	printf("wsr-fuzz: last ops of thread %d (seed %llu):\n", t->id,
	       (unsigned long long)fz.seed);
	for (i = 0; i < FZ_RING; i++) {
		const struct fz_ring_ent *e =
			&t->ring[(t->ring_pos + i) % FZ_RING];

		if (!e->op.a[3] && !e->op.a[0])
			continue;
		k = e->op.kind < FZ_NR_KINDS ? e->op.kind : 0;
		if (e->ret == FZ_SKIP)
			snprintf(name, sizeof(name), "skipped");
		else
			fz_bucket_name(fz_bucket(e->ret), name, sizeof(name));
		printf("  %-10s %#llx %#llx %#llx %#llx -> %s\n",
		       fz_kind_name[k], (unsigned long long)e->op.a[0],
		       (unsigned long long)e->op.a[1],
		       (unsigned long long)e->op.a[2],
		       (unsigned long long)e->op.a[3], name);
	}
}

/* Print an error; the first few with the ops that led to them. */
void fz_error(struct fz_thread *t, const char *fmt, ...)
{
	va_list ap;
	uint64_t n;

	n = __atomic_add_fetch(&fz.errors, 1, __ATOMIC_RELAXED);
	flockfile(stdout);
	printf("wsr-fuzz: ERROR (thread %d%s): ", t->id,
	       fz.in_child ? ", forked child" : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (n <= 8)
		fz_ring_dump(t);
	funlockfile(stdout);
	fflush(stdout);
}

/* SIGSEGV/SIGBUS: back to the guarded access, or a real crash. */
static void fz_fault(int sig, siginfo_t *si, void *uc)
{
	if (fz_jmp)
		siglongjmp(*fz_jmp, sig);
	printf("wsr-fuzz: CRASH: signal %d at %p (arena %p)\n", sig,
	       si->si_addr, fz.arena);
	if (fz_self)
		fz_ring_dump(fz_self);
	fflush(stdout);
	signal(sig, SIG_DFL);
}

static void fz_stop(int sig)
{
	fz.deadline_ns = 0;
}

/* Run and account one op: coverage, histogram, ring. */
static uint64_t fz_exec_one(struct fz_thread *t, const struct fz_op *op)
{
	struct fz_ring_ent *e = &t->ring[t->ring_pos++ % FZ_RING];
	uint64_t fresh, t0 = fz_now_ns();
	int ret;

	t->cur = *op;
	__atomic_store_n(&t->cur_ns, t0, __ATOMIC_RELAXED);
	fz_cov_begin(t);
	ret = fz_ops[op->kind](t, op);
	fresh = fz_cov_end(t);
	__atomic_store_n(&t->cur_ns, 0, __ATOMIC_RELAXED);
	__atomic_add_fetch(&fz.ns[op->kind], fz_now_ns() - t0,
			   __ATOMIC_RELAXED);
	e->op = *op;
	e->ret = ret;
	if (ret == FZ_SKIP)
		return fresh;
	t->calls++;
	__atomic_add_fetch(&fz_total_calls, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&fz.hist[op->kind][fz_bucket(ret)], 1,
			   __ATOMIC_RELAXED);
	/* Kernel-internal codes (ERESTARTSYS, ENOTSUPP...) must not leak. */
	if (ret <= -512 && ret > -(FZ_ERRNO_MAX - 64))
		fz_error(t, "%s returned errno %d", fz_kind_name[op->kind],
			 -ret);
	return fresh;
}

static bool fz_done(void)
{
	return fz_now_ns() >= fz.deadline_ns ||
	       (fz_max_calls && __atomic_load_n(&fz_total_calls,
						__ATOMIC_RELAXED) >= fz_max_calls);
}

/* A forked child: a short random run on a copy of everything, no oracle. */
void fz_child_run(struct fz_thread *t, uint64_t seed)
{
	uint64_t end = fz_now_ns() + 100ULL * 1000 * 1000, errors = fz.errors;
	struct fz_prog p;
	uint32_t i;

	t->cover = NULL;	/* the parent thread's KCOV area */
	t->rng = seed | 1;
	t->ring_pos = 0;
	memset(t->ring, 0, sizeof(t->ring));
	while (fz_now_ns() < end && fz.deadline_ns) {
		fz_prog_next(t, &p);
		for (i = 0; i < p.n; i++)
			if (p.op[i].kind != FZ_FORK)
				fz_exec_one(t, &p.op[i]);
	}
	fflush(stdout);
	_exit(fz.errors != errors);
}

static void *fz_thread_main(void *arg)
{
	struct fz_thread *t = arg;
	struct fz_prog p;
	uint64_t fresh;
	uint32_t i;

	fz_self = t;
	t->sys_tid = gettid();
	if (fz.kcov && fz_kcov_open(t))
		fprintf(stderr, "wsr-fuzz: thread %d: no KCOV: %m\n", t->id);
	while (!fz_done()) {
		fz_prog_next(t, &p);
		fresh = 0;
		for (i = 0; i < p.n && !fz_done(); i++)
			fresh += fz_exec_one(t, &p.op[i]);
		if (fresh)
			fz_corpus_add(&p);
	}
	fz_kcov_close(t);
	__atomic_store_n(&t->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Print where a stuck thread is: its op, its last ops, its kernel stack.
 * With write(2): the thread may be stuck holding stdout's lock.
 */
static void fz_stuck(struct fz_thread *t)
{
	uint64_t since = __atomic_load_n(&t->cur_ns, __ATOMIC_RELAXED);
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	__atomic_add_fetch(&fz.errors, 1, __ATOMIC_RELAXED);
	dprintf(STDOUT_FILENO,
		"wsr-fuzz: ERROR (thread %d, tid %d): stuck for %llus in %s %#llx %#llx %#llx %#llx; fz.lock owner tid %d\n",
		t->id, t->sys_tid,
		(unsigned long long)(since ? (fz_now_ns() - since) / 1000000000 : 0),
		fz_kind_name[t->cur.kind % FZ_NR_KINDS],
		(unsigned long long)t->cur.a[0],
		(unsigned long long)t->cur.a[1],
		(unsigned long long)t->cur.a[2],
		(unsigned long long)t->cur.a[3], fz.lock.__data.__owner);
	if (!ftrylockfile(stdout)) {
		fz_ring_dump(t);
		fflush(stdout);
		funlockfile(stdout);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", t->sys_tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0)
		dprintf(STDOUT_FILENO, "wsr-fuzz: kernel stack of thread %d:\n%.*s",
			t->id, (int)n, buf);
}

/*
 * Join the threads.  Every FZ_PROGRESS_NS print how far the run is; when no
 * call ends for FZ_STUCK_NS (a thread stuck in the kernel, or the fuzzer
 * deadlocked on its own locks), or a thread is still in an op FZ_STUCK_NS
 * after the deadline, report every unfinished thread and let the caller
 * exit without them.
 */
static bool fz_join(struct fz_thread *th, int n, uint64_t start)
{
	uint64_t last_calls = 0, moved = fz_now_ns(), shown = moved, now;
	uint64_t calls;
	bool stalled = false;
	int i, left;

	do {
		usleep(100000);
		now = fz_now_ns();
		calls = __atomic_load_n(&fz_total_calls, __ATOMIC_RELAXED);
		if (calls != last_calls) {
			last_calls = calls;
			moved = now;
		}
		if (now - shown >= FZ_PROGRESS_NS) {
			shown = now;
			printf("wsr-fuzz: %llus: calls=%llu errors=%llu\n",
			       (unsigned long long)((now - start) / 1000000000),
			       (unsigned long long)calls,
			       (unsigned long long)fz.errors);
		}
		for (i = 0, left = 0; i < n; i++)
			left += !__atomic_load_n(&th[i].done, __ATOMIC_ACQUIRE);
		stalled = now - moved >= FZ_STUCK_NS ||
			  (fz.deadline_ns && now >= fz.deadline_ns + FZ_STUCK_NS);
	} while (left && !stalled);
	for (i = 0; i < n; i++) {
		if (th[i].done)
			pthread_join(th[i].tid, NULL);
		else
			fz_stuck(&th[i]);
	}
	return stalled;
}

/* @size bytes that end right before a PROT_NONE page. */
static void *fz_guarded_alloc(uint64_t size)
{
	uint64_t len = (size + FZ_PAGE - 1) / FZ_PAGE * FZ_PAGE;
	char *p = mmap(NULL, len + FZ_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + len, FZ_PAGE, PROT_NONE))
		return NULL;
	return p + len - size;
}

static int fz_thread_init(struct fz_thread *t, int id)
{
	t->id = id;
	t->rng = (fz.seed + 1) * 0x9e3779b97f4a7c15ULL + id * 7919 + 1;
	t->ws = fz_guarded_alloc(FZ_WS_MAX * sizeof(*t->ws));
	t->idx = fz_guarded_alloc(FZ_IDX_MAX * sizeof(*t->idx));
	t->arg = fz_guarded_alloc(FZ_PAGE);
	t->arg_end = t->arg + FZ_PAGE;
	return t->ws && t->idx && t->arg ? 0 : -1;
}

static void fz_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fz_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGINT, fz_stop);
	signal(SIGTERM, fz_stop);
	signal(SIGPIPE, SIG_IGN);
}

static void fz_report(uint64_t elapsed_ns, int threads)
{
	uint64_t calls = __atomic_load_n(&fz_total_calls, __ATOMIC_RELAXED);
	double secs = elapsed_ns / 1e9;
	unsigned int k, b;
	char name[32];

	printf("wsr-fuzz: results per op (calls, mean time, ok and each errno):\n");
	for (k = 0; k < FZ_NR_KINDS; k++) {
		uint64_t sum = 0;

		for (b = 0; b <= FZ_ERRNO_MAX; b++)
			sum += fz.hist[k][b];
		printf("  %-10s %9llu %7.0fus", fz_kind_name[k],
		       (unsigned long long)sum, sum ? fz.ns[k] / 1e3 / sum : 0.0);
		for (b = 0; b <= FZ_ERRNO_MAX; b++) {
			if (!fz.hist[k][b])
				continue;
			fz_bucket_name(b, name, sizeof(name));
			printf(" %s=%llu", name,
			       (unsigned long long)fz.hist[k][b]);
		}
		printf("\n");
	}
	printf("wsr-fuzz: seed=%llu threads=%d seconds=%.1f calls/s=%.0f "
	       "corpus=%llu kcov=%s\n", (unsigned long long)fz.seed, threads,
	       secs, secs > 0 ? calls / secs : 0.0,
	       (unsigned long long)fz_corpus_size(),
	       fz.kcov ? "yes" : "no (pure random)");
	printf("wsr-fuzz: calls=%llu pcs=%llu errors=%llu\n",
	       (unsigned long long)calls, (unsigned long long)fz_pcs(),
	       (unsigned long long)fz.errors);
}

static int fz_usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--seed N] [--duration SECONDS] "
		"[--threads N] [--calls N]\n", prog);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "calls", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t duration = 60, start;
	struct fz_thread *th;
	int threads = 4, c, i;
	bool stuck;

	while ((c = getopt_long(argc, argv, "s:d:t:c:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			fz.seed = strtoull(optarg, NULL, 0);
			break;
		case 'd':
			duration = strtoull(optarg, NULL, 0);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'c':
			fz_max_calls = strtoull(optarg, NULL, 0);
			break;
		default:
			return fz_usage(argv[0]);
		}
	}
	if (threads < 1 || threads > 64)
		return fz_usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Recursive: fz_uptr() may mark pages dirty under the lock. */
	pthread_mutexattr_init(&fz.lock_attr);
	pthread_mutexattr_settype(&fz.lock_attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&fz.lock, &fz.lock_attr);
	fz.dev = getenv("WSR_FUZZ_DEV") ?: "/dev/wsr";
	if (access(fz.dev, R_OK | W_OK)) {
		printf("wsr-fuzz: no %s: %m\n", fz.dev);
		return 2;
	}
	if (fz_env_init()) {
		printf("wsr-fuzz: cannot set up the snapshot files\n");
		return 2;
	}
	fz.kcov = !access("/sys/kernel/debug/kcov", R_OK | W_OK);
	printf("wsr-fuzz: seed=%llu threads=%d duration=%llus kcov=%s\n",
	       (unsigned long long)fz.seed, threads,
	       (unsigned long long)duration,
	       fz.kcov ? "yes" : "no, /sys/kernel/debug/kcov absent: pure random");
	fz_signals();
	th = calloc(threads, sizeof(*th));
	start = fz_now_ns();
	fz.deadline_ns = start + duration * 1000000000ULL;
	for (i = 0; th && i < threads; i++)
		if (fz_thread_init(&th[i], i) ||
		    pthread_create(&th[i].tid, NULL, fz_thread_main, &th[i]))
			break;
	if (!th || i < threads) {
		printf("wsr-fuzz: cannot start thread %d\n", i);
		fz.deadline_ns = 0;
		__atomic_add_fetch(&fz.errors, 1, __ATOMIC_RELAXED);
	}
	stuck = th && fz_join(th, i, start);
	/* A thread stuck holding stdout's lock: no report, no last line. */
	if (stuck && ftrylockfile(stdout)) {
		dprintf(STDOUT_FILENO, "wsr-fuzz: stdout is locked by a stuck thread\n");
		_exit(1);
	}
	fz_report(fz_now_ns() - start, threads);
	if (stuck) {
		fflush(stdout);
		_exit(1);
	}
	fz_env_exit();
	return fz.errors ? 1 : 0;
}
