// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-devcheck - measure a storage device model the way a datasheet
 * states it: 4 KiB random reads at queue depth 1 and 32, and 1 MiB
 * sequential reads, all O_DIRECT so that the page cache stays out.
 *
 *   wsr-devcheck [-c SIZE] [-n COUNT] [-q DEPTH] [-s BYTES] [-r SEED] PATH
 *   wsr-devcheck -S          spin at SCHED_IDLE until killed (see spin())
 *
 * PATH is a block device or a file.  -c SIZE first makes the file SIZE
 * bytes of non-zero data (memory-backed null_blk answers never-written
 * sectors with zeroes without a copy, which would flatter it).  Prints one
 * JSON line, then one line for people.
 *
 * The deep queue is DEPTH threads each doing one pread() at a time: no
 * libaio or io_uring needed, and the block layer sees DEPTH requests in
 * flight as long as the CPU keeps up (say so if it does not: the JSON
 * reports the depth asked for, and the IOPS are what came out).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"

#define SMALL_IO	4096ULL
#define LARGE_IO	(1ULL << 20)
#define MAX_DEPTH	256

struct opts {
	const char *path;
	uint64_t create_bytes;	/* -c: make the file this big first */
	uint64_t count;		/* -n: random reads per depth */
	uint64_t seq_bytes;	/* -s: sequential bytes (0: all) */
	unsigned int depth;	/* -q */
	unsigned int seed;	/* -r */
};

/* One measurement: per-request latencies and the wall time of the lot. */
struct run {
	uint64_t io_bytes;
	uint64_t nr;
	uint64_t *lat_ns;
	uint64_t elapsed_ns;
};

/* What every thread of a random run shares. */
struct rand_job {
	int fd;
	uint64_t blocks;	/* 4 KiB blocks to choose from */
	uint64_t next;		/* next request index, taken atomically */
	struct run *run;
	unsigned int seed;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void *alloc_io_buf(size_t len)
{
	void *buf;

	if (posix_memalign(&buf, 4096, len))
		return NULL;
	memset(buf, 0, len);
	return buf;
}

/* Fill the file with a non-zero pattern up to @bytes and sync it. */
static int create_file(const char *path, uint64_t bytes)
{
	unsigned char *buf = alloc_io_buf(LARGE_IO);
	uint64_t off;
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	for (off = 0; off < bytes && !ret; off += LARGE_IO) {
		size_t len = bytes - off < LARGE_IO ? bytes - off : LARGE_IO;
		size_t i;

		for (i = 0; i < len; i += 8)
			memcpy(buf + i, &(uint64_t){ off + i + 1 }, 8);
		if (pwrite(fd, buf, len, off) != (ssize_t)len)
			ret = -EIO;
	}
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	free(buf);
	return ret;
}

static int device_bytes(int fd, uint64_t *bytes)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, bytes) ? -errno : 0;
	*bytes = st.st_size;
	return 0;
}

static int run_alloc(struct run *run, uint64_t nr, uint64_t io_bytes)
{
	run->io_bytes = io_bytes;
	run->nr = nr;
	run->elapsed_ns = 0;
	run->lat_ns = calloc(nr ? nr : 1, sizeof(*run->lat_ns));
	return run->lat_ns ? 0 : -ENOMEM;
}

/* xorshift64: cheap, and each thread gets its own stream. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static void *rand_worker(void *arg)
{
	struct rand_job *job = arg;
	uint64_t state = job->seed * 0x9e3779b97f4a7c15ULL + pthread_self();
	void *buf = alloc_io_buf(SMALL_IO);
	uint64_t i;

	if (!buf)
		return (void *)(long)-ENOMEM;
	while ((i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED)) <
	       job->run->nr) {
		uint64_t off = next_random(&state) % job->blocks * SMALL_IO;
		uint64_t t0 = now_ns();

		if (pread(job->fd, buf, SMALL_IO, off) != (ssize_t)SMALL_IO) {
			free(buf);
			return (void *)(long)-EIO;
		}
		job->run->lat_ns[i] = now_ns() - t0;
	}
	free(buf);
	return NULL;
}

/* @count random 4 KiB reads, @depth at a time. */
static int measure_random(int fd, uint64_t bytes, const struct opts *o,
			  unsigned int depth, struct run *run)
{
	struct rand_job job = { .fd = fd, .blocks = bytes / SMALL_IO,
				.run = run, .seed = o->seed + depth };
	pthread_t tid[MAX_DEPTH];
	unsigned int t, started = 0;
	uint64_t t0;
	int ret = 0;

	if (run_alloc(run, o->count, SMALL_IO))
		return -ENOMEM;
	t0 = now_ns();
	for (t = 0; t < depth; t++, started++)
		if (pthread_create(&tid[t], NULL, rand_worker, &job))
			break;
	for (t = 0; t < started; t++) {
		void *res;

		pthread_join(tid[t], &res);
		if (res)
			ret = (int)(long)res;
	}
	run->elapsed_ns = now_ns() - t0;
	return started ? ret : -EAGAIN;
}

/* 1 MiB reads from offset 0, one at a time. */
static int measure_sequential(int fd, uint64_t bytes, struct run *run)
{
	void *buf = alloc_io_buf(LARGE_IO);
	uint64_t i, t0;

	if (!buf || run_alloc(run, bytes / LARGE_IO, LARGE_IO)) {
		free(buf);
		return -ENOMEM;
	}
	t0 = now_ns();
	for (i = 0; i < run->nr; i++) {
		uint64_t t = now_ns();

		if (pread(fd, buf, LARGE_IO, i * LARGE_IO) != (ssize_t)LARGE_IO) {
			free(buf);
			return -EIO;
		}
		run->lat_ns[i] = now_ns() - t;
	}
	run->elapsed_ns = now_ns() - t0;
	free(buf);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted latencies, in microseconds. */
static double percentile_us(const struct run *run, unsigned int pct)
{
	uint64_t rank = (run->nr * pct + 99) / 100;

	return run->lat_ns[rank ? rank - 1 : 0] / 1000.0;
}

static double mean_us(const struct run *run)
{
	uint64_t i, sum = 0;

	for (i = 0; i < run->nr; i++)
		sum += run->lat_ns[i];
	return run->nr ? sum / 1000.0 / run->nr : 0;
}

static double run_iops(const struct run *run)
{
	return run->elapsed_ns ? run->nr * 1e9 / run->elapsed_ns : 0;
}

/* Decimal MB/s, as datasheets count. */
static double run_mb_s(const struct run *run)
{
	return run_iops(run) * run->io_bytes / 1e6;
}

static void emit_run(struct json *j, const char *key, const struct run *run,
		     unsigned int depth)
{
	qsort(run->lat_ns, run->nr, sizeof(*run->lat_ns), cmp_u64);
	json_key(j, key);
	json_begin_object_inline(j);
	json_ku64(j, "io_bytes", run->io_bytes);
	json_ku64(j, "depth", depth);
	json_ku64(j, "ios", run->nr);
	json_kfixed(j, "iops", run_iops(run), 0);
	json_kfixed(j, "mean_us", mean_us(run), 1);
	json_kfixed(j, "p50_us", percentile_us(run, 50), 1);
	json_kfixed(j, "p99_us", percentile_us(run, 99), 1);
	json_kfixed(j, "mb_s", run_mb_s(run), 1);
	json_end_object(j);
}

static void print_human(const struct run *qd1, const struct run *qdn,
			unsigned int depth, const struct run *seq)
{
	printf("4k rand QD1 %.0f IOPS (p50 %.1f us, p99 %.1f us), "
	       "QD%u %.0f IOPS (p50 %.1f us), 1M seq %.1f MB/s\n",
	       run_iops(qd1), percentile_us(qd1, 50), percentile_us(qd1, 99),
	       depth, run_iops(qdn), percentile_us(qdn, 50), run_mb_s(seq));
}

static int report(const struct opts *o, uint64_t bytes, struct run *qd1,
		  struct run *qdn, struct run *seq)
{
	struct json j;

	json_init_line(&j, stdout);
	json_begin_object(&j);
	json_kstr(&j, "path", o->path);
	json_ku64(&j, "bytes", bytes);
	emit_run(&j, "rand4k_qd1", qd1, 1);
	emit_run(&j, "rand4k_qdn", qdn, o->depth);
	emit_run(&j, "seq1m", seq, 1);
	json_end_object(&j);
	json_finish(&j);
	print_human(qd1, qdn, o->depth, seq);
	return fflush(stdout) ? -EIO : 0;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G':
	case 'g':
		return v << 30;
	case 'M':
	case 'm':
		return v << 20;
	case 'K':
	case 'k':
		return v << 10;
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: wsr-devcheck [-c SIZE] [-n COUNT] [-q DEPTH] [-s BYTES] [-r SEED] PATH\n"
		"  -c SIZE   first fill PATH (a file) with SIZE bytes (K/M/G)\n"
		"  -n COUNT  4 KiB random reads per queue depth (2000)\n"
		"  -q DEPTH  the deep queue depth (32, at most %d)\n"
		"  -s BYTES  bytes of 1 MiB sequential reads (all of PATH)\n"
		"  -r SEED   random offsets seed (1)\n"
		"       wsr-devcheck -S   spin at SCHED_IDLE until killed\n",
		MAX_DEPTH);
	exit(2);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .count = 2000, .depth = 32, .seed = 1 };
	while ((c = getopt(argc, argv, "c:n:q:s:r:h")) != -1) {
		switch (c) {
		case 'c':
			o->create_bytes = parse_size(optarg);
			break;
		case 'n':
			o->count = strtoull(optarg, NULL, 0);
			break;
		case 'q':
			o->depth = strtoul(optarg, NULL, 0);
			break;
		case 's':
			o->seq_bytes = parse_size(optarg);
			break;
		case 'r':
			o->seed = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || !o->count || !o->depth ||
	    o->depth > MAX_DEPTH)
		usage();
	o->path = argv[optind];
}

static int measure_all(const struct opts *o, int fd, uint64_t bytes)
{
	struct run qd1 = { 0 }, qdn = { 0 }, seq = { 0 };
	uint64_t seq_bytes = o->seq_bytes && o->seq_bytes < bytes ?
			     o->seq_bytes : bytes;
	int ret;

	ret = measure_random(fd, bytes, o, 1, &qd1);
	if (!ret)
		ret = measure_random(fd, bytes, o, o->depth, &qdn);
	if (!ret)
		ret = measure_sequential(fd, seq_bytes, &seq);
	if (!ret)
		ret = report(o, bytes, &qd1, &qdn, &seq);
	free(qd1.lat_ns);
	free(qdn.lat_ns);
	free(seq.lat_ns);
	return ret;
}

/*
 * -S: keep the vCPU from halting, for wsr-devmodel.  Under -icount with
 * sleep=on, guest time runs with the host's clock while the vCPU halts,
 * so a null_blk timer would fire when the host gets round to it (35-45
 * us late, more when the host is busy).  A SCHED_IDLE spinner keeps guest
 * time counting instructions, and any other task preempts it at once.
 */
static int spin(void)
{
	struct sched_param sp = { 0 };

	if (sched_setscheduler(0, SCHED_IDLE, &sp)) {
		perror("wsr-devcheck: SCHED_IDLE");
		return 1;
	}
	for (;;)	/* a constant condition: C11 keeps the loop */
		;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	uint64_t bytes;
	int fd, ret;

	if (argc == 2 && !strcmp(argv[1], "-S"))
		return spin();
	parse_opts(argc, argv, &o);
	if (o.create_bytes) {
		ret = create_file(o.path, o.create_bytes);
		if (ret) {
			fprintf(stderr, "wsr-devcheck: fill %s: %s\n", o.path,
				strerror(-ret));
			return 1;
		}
	}
	fd = open(o.path, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "wsr-devcheck: %s: %s\n", o.path, strerror(errno));
		return 1;
	}
	ret = device_bytes(fd, &bytes);
	if (!ret && bytes < LARGE_IO)
		ret = -EINVAL;
	if (!ret)
		ret = measure_all(&o, fd, bytes);
	close(fd);
	if (ret) {
		fprintf(stderr, "wsr-devcheck: %s: %s\n", o.path, strerror(-ret));
		return 1;
	}
	return 0;
}
