// SPDX-License-Identifier: GPL-2.0
/*
 * Compressed snapshots (WSR_CREATE_COMPRESSED, wsr-zsnap(5)).  A 16 MiB
 * snapshot with compressible, incompressible (raw) and all-zero chunks is
 * compressed by /usr/bin/wsrctl, and a region over the compressed file
 * must give exactly the bytes of the plain one:
 *  - sync and async restores, faults, 4 KiB and 2 MiB units (variants
 *    with LZ4 and zstd, 64 KiB to 2 MiB chunks);
 *  - a load reads exactly the stored bytes of the chunks it needs, once,
 *    and nothing for zero chunks: counters checked against the index;
 *  - chunks in the compressed file's page cache are not read again;
 *  - decompress_ns and chunks_decompressed count every decompression of
 *    an LZ4 or zstd chunk, by a restore and by the faults after it, and
 *    stay 0 over the plain snapshot;
 *  - the tracker records guest page indices in first-touch order;
 *  - one corrupt byte in a chunk: SIGBUS for the fault, -EIO for the
 *    restore, the other chunks still right;
 *  - a truncated, extended or garbled file: WSR_IOC_CREATE fails with the
 *    documented -errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define WSRCTL		"/usr/bin/wsrctl"
#define DIR		"/data/zsnap-test"
#define PLAIN		DIR "/plain"
#define LEN		(16ULL << 20)
#define NPAGES		(LEN / WSR_PAGE)
#define ZERO_UNIT	4	/* 2 MiB unit 4 (pages 2048..2559) is zero */

/* Format constants (wsr-zsnap(5)). */
#define ZS_HDR		64
#define ZS_ENT		24
#define ZS_ZERO		1
#define ZS_RAW		2

struct zchunk {
	uint64_t offset;
	uint32_t length;
	uint32_t codec;
};

static uint64_t rnd(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/*
 * Page @p of the plain snapshot: zero in unit ZERO_UNIT and in every
 * fourth 256 KiB group, random in every other fourth, else lines of text
 * with a random hex number each (compressible by LZ4 and zstd, but not so
 * much that a stored chunk fits in one page).
 */
static void fill_page(uint64_t p, unsigned char *buf)
{
	uint64_t g = p / 64, i;

	if (p / WSR_HUGE_PAGES == ZERO_UNIT || (p < 2048 && g % 4 == 3)) {
		memset(buf, 0, WSR_PAGE);
	} else if (p < 2048 && g % 4 == 2) {
		for (i = 0; i < WSR_PAGE / 8; i++)
			wsr_store64(buf + 8 * i, rnd(p * 4096 + i));
	} else {
		char line[40];

		for (i = 0; i < WSR_PAGE / 32; i++) {
			snprintf(line, sizeof(line), "pg%06llx ln%03llx v=%016llx\n",
				 (unsigned long long)p, (unsigned long long)i,
				 (unsigned long long)rnd(p * 512 + i));
			memcpy(buf + 32 * i, line, 32);
		}
	}
}

static int make_plain(void)
{
	unsigned char buf[WSR_PAGE];
	uint64_t p;
	int fd;

	/* Made once per boot (/tmp is the initramfs): /data may be older. */
	if (!access("/tmp/zsnap-plain.done", F_OK))
		return 0;
	fd = open(PLAIN ".tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	for (p = 0; p < NPAGES; p++) {
		fill_page(p, buf);
		if (pwrite(fd, buf, WSR_PAGE, p * WSR_PAGE) != WSR_PAGE) {
			close(fd);
			return -EIO;
		}
	}
	if (fsync(fd) || close(fd))
		return -errno;
	if (rename(PLAIN ".tmp", PLAIN))
		return -errno;
	fd = open("/tmp/zsnap-plain.done", O_WRONLY | O_CREAT, 0644);
	return fd < 0 ? -errno : close(fd);
}

/* Run wsrctl with @argv (NULL-terminated, without argv[0]); its status. */
static int run_wsrctl(const char *const *argv)
{
	const char *args[16];
	int i, status;
	pid_t pid;

	args[0] = WSRCTL;
	for (i = 0; argv[i] && i < 14; i++)
		args[i + 1] = argv[i];
	args[i + 1] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		/* No progress bar on the console's terminal. */
		dup2(null, 1);
		dup2(null, 2);
		execv(WSRCTL, (char **)args);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int copy_file(const char *from, const char *to)
{
	static char buf[1 << 16];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		close(in);
		return -errno;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			n = -1;
			break;
		}
	close(in);
	if (fsync(out) || close(out) || n < 0)
		return -EIO;
	return 0;
}

static uint32_t crc32c(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t crc = ~0U;
	int k;

	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (crc & 1 ? 0x82f63b78U : 0);
	}
	return ~crc;
}

FIXTURE(zsnap)
{
	char zpath[128];
	int plain;
	int zfd;
	uint32_t chunk;		/* bytes */
	uint64_t nchunks;
	uint64_t data_offset;
	uint64_t zsize;
	struct zchunk *c;
	uint64_t stored;	/* sum of stored bytes */
	struct wsr_knob_save batch;
};

FIXTURE_VARIANT(zsnap)
{
	const char *codec;
	const char *chunk;
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(zsnap, lz4_64k_small)
{
	.codec = "lz4", .chunk = "64K", .flags = WSR_CREATE_NO_HUGE,
};

FIXTURE_VARIANT_ADD(zsnap, lz4_128k_huge)
{
	.codec = "lz4", .chunk = "128K", .flags = 0,
};

FIXTURE_VARIANT_ADD(zsnap, zstd_256k_small)
{
	.codec = "zstd", .chunk = "256K", .flags = WSR_CREATE_NO_HUGE,
};

FIXTURE_VARIANT_ADD(zsnap, zstd_2m_huge)
{
	.codec = "zstd", .chunk = "2M", .flags = 0,
};

/* Read the index of the compressed file (trusting it: wsrctl wrote it). */
static int read_index(FIXTURE_DATA(zsnap) *self)
{
	unsigned char hdr[ZS_HDR], ent[ZS_ENT];
	struct stat st;
	uint64_t i;

	if (wsr_pread_full(self->zfd, hdr, sizeof(hdr), 0) ||
	    fstat(self->zfd, &st))
		return -EIO;
	self->zsize = st.st_size;
	self->chunk = (uint32_t)wsr_load64(hdr + 16);
	self->nchunks = wsr_load64(hdr + 32);
	self->data_offset = wsr_load64(hdr + 40);
	self->c = calloc(self->nchunks, sizeof(*self->c));
	if (!self->c)
		return -ENOMEM;
	for (i = 0; i < self->nchunks; i++) {
		if (wsr_pread_full(self->zfd, ent, sizeof(ent),
				   ZS_HDR + i * ZS_ENT))
			return -EIO;
		self->c[i].offset = wsr_load64(ent);
		self->c[i].length = (uint32_t)wsr_load64(ent + 8);
		self->c[i].codec = ent[16] | ent[17] << 8;
		self->stored += self->c[i].length;
	}
	return 0;
}

FIXTURE_SETUP(zsnap)
{
	struct wsr_api api;
	char done[160];
	int ret;

	self->plain = -1;
	self->zfd = -1;
	ret = wsr_probe(&api);
	if (ret == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_EQ(0, ret);
	if (!(api.features & WSR_FEATURE_COMPRESSED))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_COMPRESSED");
	if (!variant->flags && !(api.features & WSR_FEATURE_HUGE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_HUGE");
	if (access(WSRCTL, X_OK))
		WSR_SETUP_SKIP("%s not in the image", WSRCTL);
	mkdir(DIR, 0755);
	ASSERT_EQ(0, make_plain());
	snprintf(self->zpath, sizeof(self->zpath), DIR "/%s-%s.z",
		 variant->codec, variant->chunk);
	snprintf(done, sizeof(done), "/tmp/zsnap-%s-%s.done", variant->codec,
		 variant->chunk);
	if (access(done, F_OK)) {
		const char *argv[] = { "snapshot", "compress", "--codec",
				       variant->codec, "--chunk",
				       variant->chunk, PLAIN, self->zpath,
				       NULL };

		ASSERT_EQ(0, run_wsrctl(argv));
		ret = open(done, O_WRONLY | O_CREAT, 0644);
		ASSERT_LE(0, ret);
		close(ret);
	}
	self->plain = open(PLAIN, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->plain);
	self->zfd = open(self->zpath, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->zfd);
	ASSERT_EQ(0, read_index(self));
	ASSERT_EQ(LEN / self->chunk, self->nchunks);
	/* The content has every kind of chunk, and compresses. */
	ASSERT_LT(self->stored, LEN * 3 / 4);
	ASSERT_EQ(self->zsize, self->data_offset + self->stored);
	ASSERT_EQ(0, wsr_drop_caches());
}

FIXTURE_TEARDOWN(zsnap)
{
	EXPECT_EQ(0, wsr_knob_restore(&self->batch));
	free(self->c);
	if (self->plain >= 0)
		close(self->plain);
	if (self->zfd >= 0)
		close(self->zfd);
}

static uint64_t chunk_of(FIXTURE_DATA(zsnap) *self, uint64_t page)
{
	return page * WSR_PAGE / self->chunk;
}

/*
 * The working set: all of 2 MiB unit 1 (dense: a 2 MiB folio where
 * allowed), the first page of every third 256 KiB group elsewhere, and
 * three pages of the zero unit.
 */
static uint64_t build_ws(uint64_t *ws)
{
	uint64_t n = 0, p;

	for (p = 512; p < 1024; p++)
		ws[n++] = p;
	for (p = 0; p < NPAGES; p += 64 * 3)
		if (p / WSR_HUGE_PAGES != 1 && p / WSR_HUGE_PAGES != ZERO_UNIT)
			ws[n++] = p;
	ws[n++] = ZERO_UNIT * WSR_HUGE_PAGES + 5;
	ws[n++] = ZERO_UNIT * WSR_HUGE_PAGES + 300;
	ws[n++] = ZERO_UNIT * WSR_HUGE_PAGES + 301;
	return n;
}

/* Stored bytes of the chunks of @ws, each once, and its zero pages. */
static uint64_t ws_bytes(FIXTURE_DATA(zsnap) *self, const uint64_t *ws,
			 uint64_t n, uint64_t *zero_pages)
{
	char *seen = calloc(self->nchunks, 1);
	uint64_t i, bytes = 0;

	*zero_pages = 0;
	for (i = 0; seen && i < n; i++) {
		uint64_t ci = chunk_of(self, ws[i]);

		*zero_pages += self->c[ci].codec == ZS_ZERO;
		if (!seen[ci])
			bytes += self->c[ci].length;
		seen[ci] = 1;
	}
	free(seen);
	return bytes;
}

/* Does a load of chunk @c decompress it (LZ4 or zstd)? */
static bool zdecompressed(const struct zchunk *c)
{
	return c->codec != ZS_ZERO && c->codec != ZS_RAW;
}

/*
 * Decompressions a restore of @ws makes when it is one load: one per
 * chunk of @ws; and those the faults reading the rest of the region make
 * then: one per run of pages missing in a chunk (a 4 KiB fault loads the
 * pages missing around it in its chunk).
 */
static void ws_decompressions(FIXTURE_DATA(zsnap) *self, const uint64_t *ws,
			      uint64_t n, uint64_t *restore, uint64_t *faults)
{
	uint64_t i, ci, p, per = self->chunk / WSR_PAGE;
	static char in_ws[NPAGES];

	memset(in_ws, 0, sizeof(in_ws));
	for (i = 0; i < n; i++)
		in_ws[ws[i]] = 1;
	*restore = 0;
	*faults = 0;
	for (ci = 0; ci < self->nchunks; ci++) {
		bool any = false;

		if (!zdecompressed(&self->c[ci]))
			continue;
		for (p = ci * per; p < (ci + 1) * per; p++) {
			any |= in_ws[p];
			*faults += !in_ws[p] && (p == ci * per || in_ws[p - 1]);
		}
		*restore += any;
	}
}

static void check_ws_pages(struct __test_metadata *_metadata,
			   FIXTURE_DATA(zsnap) *self, const char *mem,
			   const uint64_t *ws, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		ASSERT_TRUE(wsr_page_equal(mem + ws[i] * WSR_PAGE, self->plain,
					   ws[i] * WSR_PAGE))
			TH_LOG("page %llu differs", (unsigned long long)ws[i]);
}

/* The whole region reads right, and reading it read every chunk once. */
static void check_all(struct __test_metadata *_metadata,
		      FIXTURE_DATA(zsnap) *self, int dev, const char *mem)
{
	struct wsr_stats st;

	ASSERT_EQ(-1, wsr_cmp_file(mem, self->plain, 0, LEN));
	ASSERT_EQ(0, wsr_get_stats(dev, &st));
	EXPECT_EQ(self->stored, st.bytes_read);
	EXPECT_EQ(0, st.bytes_gap);
}

static void restore_test(struct __test_metadata *_metadata,
			 FIXTURE_DATA(zsnap) *self,
			 const FIXTURE_VARIANT(zsnap) *variant, uint32_t rflags)
{
	uint64_t ws[1100], n = build_ws(ws), zero, bytes, dz_restore, dz_faults;
	struct wsr_restore r;
	struct wsr_stats st, st1;
	char *mem = NULL;
	int dev;

	bytes = ws_bytes(self, ws, n, &zero);
	ASSERT_LT(0, zero);
	ws_decompressions(self, ws, n, &dz_restore, &dz_faults);
	ASSERT_LT(0, dz_restore);
	ASSERT_LT(0, dz_faults);
	/* One load: no chunk is split between two (64 MiB > the set). */
	ASSERT_EQ(0, wsr_knob_override(&self->batch, "read_batch_kb",
				       64 * 1024));
	dev = wsr_open_region(self->zfd, variant->flags | WSR_CREATE_COMPRESSED,
			      0, LEN, &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_restore(dev, ws, n, rflags, &r));
	if (rflags & WSR_RESTORE_ASYNC) {
		ASSERT_EQ(0, wsr_wait(dev, 0));
	} else {
		/* Zero chunks are read from nowhere: page-cache pages. */
		EXPECT_EQ(n - zero, r.from_device);
		EXPECT_EQ(zero, r.from_cache);
		EXPECT_EQ(bytes, r.bytes_read);
	}
	ASSERT_EQ(0, wsr_get_stats(dev, &st));
	EXPECT_EQ(bytes, st.bytes_read);
	EXPECT_EQ(n - zero, st.pages_device);
	EXPECT_EQ(zero, st.pages_cache);
	/* Each LZ4 or zstd chunk of the set once, wherever it ran. */
	EXPECT_EQ(dz_restore, st.chunks_decompressed);
	EXPECT_LT(0, st.decompress_ns);
	check_ws_pages(_metadata, self, mem, ws, n);
	check_all(_metadata, self, dev, mem);
	/* The faults decompressed the chunks again for the pages left out. */
	ASSERT_EQ(0, wsr_get_stats(dev, &st1));
	EXPECT_EQ(dz_restore + dz_faults, st1.chunks_decompressed);
	EXPECT_LT(st.decompress_ns, st1.decompress_ns);
	munmap(mem, LEN);
	close(dev);
}

TEST_F_TIMEOUT(zsnap, restore_sync, 300)
{
	restore_test(_metadata, self, variant, 0);
}

TEST_F_TIMEOUT(zsnap, restore_async, 300)
{
	struct wsr_api api;

	ASSERT_EQ(0, wsr_probe(&api));
	if (!(api.features & WSR_FEATURE_ASYNC))
		SKIP(return, "module lacks WSR_FEATURE_ASYNC");
	restore_test(_metadata, self, variant, WSR_RESTORE_ASYNC);
}

/*
 * Faults alone: the first touch of a chunk reads its stored bytes and, with
 * 4 KiB units, loads every page of the chunk; a zero chunk reads nothing.
 */
TEST_F_TIMEOUT(zsnap, faults, 300)
{
	uint64_t ci, nonzero = 0, zero = 0, zero_pages = 0, dz = 0;
	struct wsr_stats st;
	char *mem = NULL;
	int dev;

	dev = wsr_open_region(self->zfd, variant->flags | WSR_CREATE_COMPRESSED,
			      0, LEN, &mem);
	ASSERT_LE(0, dev);
	for (ci = 0; ci < self->nchunks; ci++) {
		nonzero += self->c[ci].codec != ZS_ZERO;
		zero += self->c[ci].codec == ZS_ZERO;
		dz += zdecompressed(&self->c[ci]);
	}
	ASSERT_LT(0, dz);
	zero_pages = zero * (self->chunk / WSR_PAGE);
	/* A page of the zero unit reads nothing. */
	ASSERT_EQ(0, wsr_touch(mem, ZERO_UNIT * WSR_HUGE_PAGES + 7));
	ASSERT_EQ(0, wsr_get_stats(dev, &st));
	EXPECT_EQ(0, st.bytes_read);
	EXPECT_EQ(0, st.faults_device);
	EXPECT_EQ(1, st.faults);
	EXPECT_EQ(0, st.chunks_decompressed);
	EXPECT_EQ(0, st.decompress_ns);
	check_all(_metadata, self, dev, mem);
	ASSERT_EQ(0, wsr_get_stats(dev, &st));
	/* Every LZ4 or zstd chunk once: each load takes a whole chunk. */
	EXPECT_EQ(dz, st.chunks_decompressed);
	EXPECT_LT(0, st.decompress_ns);
	if (variant->flags & WSR_CREATE_NO_HUGE) {
		/* The first touch of a chunk loads all of it. */
		EXPECT_EQ(nonzero, st.faults_device);
		EXPECT_EQ(zero, st.faults_cache);
		EXPECT_EQ(NPAGES - zero_pages, st.pages_device);
		EXPECT_EQ(zero_pages, st.pages_cache);
		EXPECT_EQ(0, st.faults_huge);
		EXPECT_EQ(NPAGES, st.resident_small);
	} else {
		/* One fault per 2 MiB unit, each decompressing its chunks. */
		EXPECT_EQ(LEN / WSR_HUGE, st.faults);
		EXPECT_EQ(LEN / WSR_HUGE, st.faults_huge);
		EXPECT_EQ(LEN / WSR_HUGE, st.resident_huge);
	}
	munmap(mem, LEN);
	close(dev);
}

/* The plain snapshot decompresses nothing: both counters stay 0. */
TEST_F_TIMEOUT(zsnap, plain_no_decompression, 300)
{
	uint64_t ws[1100], n = build_ws(ws);
	struct wsr_restore r;
	struct wsr_stats st;
	char *mem = NULL;
	int dev;

	dev = wsr_open_region(self->plain, variant->flags, 0, LEN, &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_restore(dev, ws, n, 0, &r));
	EXPECT_LT(0, r.from_device);
	ASSERT_EQ(-1, wsr_cmp_file(mem, self->plain, 0, LEN));
	ASSERT_EQ(0, wsr_get_stats(dev, &st));
	EXPECT_LT(0, st.faults);
	EXPECT_EQ(0, st.decompress_ns);
	EXPECT_EQ(0, st.chunks_decompressed);
	munmap(mem, LEN);
	close(dev);
}

/*
 * The tracker over a compressed snapshot records guest page indices in
 * first-touch order, though a fault loads its whole chunk: every first
 * touch still faults while recording.  The recorded set then restores.
 */
TEST_F_TIMEOUT(zsnap, tracker, 300)
{
	static const uint64_t order[] = { 1000, 3, 2, 2050, 4095, 4, 1001,
					  600, 3, 2051 };
	uint64_t ws[16], n = 0, i, k;
	struct wsr_ws_entry e[16];
	struct wsr_restore r;
	struct wsr_get_ws g;
	char *mem = NULL;
	int dev;

	dev = wsr_open_region(self->zfd, variant->flags | WSR_CREATE_COMPRESSED |
			      WSR_CREATE_TRACK, 0, LEN, &mem);
	ASSERT_LE(0, dev);
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		ASSERT_TRUE(wsr_page_equal(mem + order[i] * WSR_PAGE,
					   self->plain, order[i] * WSR_PAGE));
		for (k = 0; k < n && ws[k] != order[i]; k++)
			;
		if (k == n)
			ws[n++] = order[i];
	}
	ASSERT_EQ(0, wsr_track(dev, WSR_TRACK_STOP));
	memset(e, 0xff, sizeof(e));
	memset(&g, 0, sizeof(g));
	g.entries = (uintptr_t)e;
	g.count = ARRAY_SIZE(e);
	ASSERT_EQ(0, wsr_ioctl(dev, WSR_IOC_GET_WS, &g));
	ASSERT_EQ(n, g.count);
	EXPECT_EQ(0, g.dropped);
	for (i = 0; i < n; i++)
		EXPECT_EQ(ws[i], e[i].index);
	munmap(mem, LEN);
	close(dev);

	/* A new region restores the recorded set from the shared base. */
	dev = wsr_open_region(self->zfd, variant->flags | WSR_CREATE_COMPRESSED,
			      0, LEN, &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_restore(dev, ws, n, 0, &r));
	EXPECT_EQ(n, r.present);
	EXPECT_EQ(0, r.bytes_read);
	check_ws_pages(_metadata, self, mem, ws, n);
	munmap(mem, LEN);
	close(dev);
}

/* Chunks whose stored bytes are in the page cache are not read again. */
TEST_F_TIMEOUT(zsnap, page_cache, 300)
{
	uint64_t ws[1100], n = build_ws(ws);
	static char buf[1 << 16];
	struct wsr_restore r;
	struct wsr_stats st;
	uint64_t off;
	char *mem = NULL;
	int dev;

	for (off = 0; off < self->zsize; off += sizeof(buf))
		ASSERT_LT(0, pread(self->zfd, buf, sizeof(buf), off));
	dev = wsr_open_region(self->zfd, variant->flags | WSR_CREATE_COMPRESSED,
			      0, LEN, &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_restore(dev, ws, n, 0, &r));
	EXPECT_EQ(0, r.from_device);
	EXPECT_EQ(n, r.from_cache);
	EXPECT_EQ(0, r.bytes_read);
	check_ws_pages(_metadata, self, mem, ws, n);
	ASSERT_EQ(-1, wsr_cmp_file(mem, self->plain, 0, LEN));
	ASSERT_EQ(0, wsr_get_stats(dev, &st));
	EXPECT_EQ(0, st.bytes_read);
	EXPECT_EQ(0, st.faults_device);
	munmap(mem, LEN);
	close(dev);
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, 1);
}

/* Read a byte of page @p; 1 when that raised SIGBUS. */
static int touch_bus(const char *mem, uint64_t p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int bus = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1))
		bus = 1;
	else
		(void)*(volatile const char *)(mem + p * WSR_PAGE);
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

/* The chunk to corrupt: the first compressed (or raw) one of unit @u. */
static uint64_t pick_chunk(FIXTURE_DATA(zsnap) *self, uint64_t u)
{
	uint64_t ci = u * WSR_HUGE / self->chunk;

	while (self->c[ci].codec == ZS_ZERO)
		ci++;
	return ci;
}

/* One flipped byte: the chunk's pages never read, everything else does. */
TEST_F_TIMEOUT(zsnap, corrupt_chunk, 300)
{
	char path[160];
	uint64_t ci, p, q, u;
	struct wsr_restore r;
	unsigned char b;
	char *mem = NULL;
	int fd, dev;

	snprintf(path, sizeof(path), "%s.bad", self->zpath);
	ASSERT_EQ(0, copy_file(self->zpath, path));
	ci = pick_chunk(self, 2);
	p = ci * self->chunk / WSR_PAGE + 1;	/* a page of it */
	fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	off_t at = self->c[ci].offset + self->c[ci].length / 2;

	ASSERT_EQ(1, pread(fd, &b, 1, at));
	b ^= 0x40;
	ASSERT_EQ(1, pwrite(fd, &b, 1, at));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, wsr_drop_caches());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);

	dev = wsr_open_region(fd, variant->flags | WSR_CREATE_COMPRESSED, 0,
			      LEN, &mem);
	ASSERT_LE(0, dev);
	/* A fault (a 2 MiB unit where allowed: no working set yet). */
	EXPECT_EQ(1, touch_bus(mem, p));
	/* The restore of a working set with a page of it fails whole. */
	q = 3 * WSR_HUGE_PAGES + 10;
	{
		uint64_t ws[2] = { q, p };

		EXPECT_EQ(-EIO, wsr_restore(dev, ws, 2, 0, &r));
	}
	/* Again: a failed load leaves nothing behind to map. */
	EXPECT_EQ(1, touch_bus(mem, p));
	/* Every page outside the unit that holds the chunk reads right. */
	for (u = 0; u < LEN / WSR_HUGE; u++) {
		uint64_t first = u * WSR_HUGE_PAGES;

		if (first <= p && p < first + WSR_HUGE_PAGES) {
			if (variant->flags & WSR_CREATE_NO_HUGE)
				/* 4 KiB units: the chunks beside it too */
				for (q = first; q < first + WSR_HUGE_PAGES; q++)
					if (chunk_of(self, q) != ci)
						ASSERT_TRUE(wsr_page_equal(mem + q * WSR_PAGE,
									   self->plain,
									   q * WSR_PAGE));
			continue;
		}
		ASSERT_EQ(-1, wsr_cmp_file(mem + first * WSR_PAGE, self->plain,
					   first * WSR_PAGE, WSR_HUGE));
	}
	munmap(mem, LEN);
	close(dev);
	close(fd);
	unlink(path);
}

/* Write @len bytes at @off of a copy of the compressed file at @path. */
static int patch(const char *path, off_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (pwrite(fd, buf, len, off) != (ssize_t)len)
		ret = -EIO;
	close(fd);
	return ret;
}

/* WSR_IOC_CREATE of a region over @path, compressed: 0 or -errno. */
static int try_create(const char *path, uint32_t flags, uint64_t off,
		      uint64_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), dev, ret;

	if (fd < 0)
		return -errno;
	dev = wsr_open_api();
	if (dev < 0) {
		close(fd);
		return dev;
	}
	ret = wsr_create(dev, fd, flags, off, len);
	close(dev);
	close(fd);
	return ret;
}

TEST_F_TIMEOUT(zsnap, bad_index, 300)
{
	uint32_t flags = variant->flags | WSR_CREATE_COMPRESSED;
	unsigned char hdr[ZS_HDR], ent[ZS_ENT], *idx;
	size_t idxlen = self->nchunks * ZS_ENT;
	char path[160];
	uint32_t crc;

	snprintf(path, sizeof(path), "%s.bad", self->zpath);
	ASSERT_EQ(0, wsr_pread_full(self->zfd, hdr, sizeof(hdr), 0));
	ASSERT_EQ(0, wsr_pread_full(self->zfd, ent, sizeof(ent), ZS_HDR));

	/* The intact file, and what the ioctl itself refuses. */
	ASSERT_EQ(0, try_create(self->zpath, flags, 0, LEN));
	ASSERT_EQ(0, try_create(self->zpath, flags, 0, LEN / 2));
	EXPECT_EQ(-EINVAL, try_create(self->zpath, flags, 0, LEN + WSR_PAGE));
	EXPECT_EQ(-EINVAL, try_create(self->zpath, flags, WSR_PAGE,
				      LEN - WSR_PAGE));
	/* An uncompressed snapshot is not taken for a compressed one. */
	EXPECT_EQ(-EINVAL, try_create(PLAIN, flags, 0, LEN));

	/* Truncated in the data, and one byte too long. */
	ASSERT_EQ(0, copy_file(self->zpath, path));
	ASSERT_EQ(0, truncate(path, self->zsize - 1));
	EXPECT_EQ(-ENODATA, try_create(path, flags, 0, LEN));
	ASSERT_EQ(0, truncate(path, self->zsize + 1));
	EXPECT_EQ(-EFBIG, try_create(path, flags, 0, LEN));
	/* Header only, and nothing at all. */
	ASSERT_EQ(0, truncate(path, ZS_HDR));
	EXPECT_EQ(-ENODATA, try_create(path, flags, 0, LEN));
	ASSERT_EQ(0, truncate(path, 0));
	EXPECT_EQ(-ENODATA, try_create(path, flags, 0, LEN));

	/* Bad magic; a flipped header byte; a flipped index byte. */
	ASSERT_EQ(0, copy_file(self->zpath, path));
	ASSERT_EQ(0, patch(path, 0, "GARBAGE!", 8));
	EXPECT_EQ(-EINVAL, try_create(path, flags, 0, LEN));
	ASSERT_EQ(0, copy_file(self->zpath, path));
	hdr[24] ^= 0x10;			/* length */
	ASSERT_EQ(0, patch(path, 0, hdr, sizeof(hdr)));
	EXPECT_EQ(-EBADMSG, try_create(path, flags, 0, LEN));
	hdr[24] ^= 0x10;
	ASSERT_EQ(0, copy_file(self->zpath, path));
	ent[8] ^= 0x01;				/* chunk 0's length */
	ASSERT_EQ(0, patch(path, ZS_HDR, ent, sizeof(ent)));
	EXPECT_EQ(-EBADMSG, try_create(path, flags, 0, LEN));
	ent[8] ^= 0x01;

	/* Checksums right, contents wrong: a reserved field, the codec. */
	idx = malloc(idxlen);
	ASSERT_NE(NULL, idx);
	ASSERT_EQ(0, wsr_pread_full(self->zfd, idx, idxlen, ZS_HDR));
	idx[20] = 1;				/* chunk 0 reserved */
	crc = crc32c(idx, idxlen);
	memcpy(hdr + 56, &crc, 4);
	crc = crc32c(hdr, 60);
	memcpy(hdr + 60, &crc, 4);
	ASSERT_EQ(0, copy_file(self->zpath, path));
	ASSERT_EQ(0, patch(path, ZS_HDR, idx, idxlen));
	ASSERT_EQ(0, patch(path, 0, hdr, sizeof(hdr)));
	EXPECT_EQ(-EINVAL, try_create(path, flags, 0, LEN));
	idx[20] = 0;
	idx[16] = 9;				/* chunk 0 codec */
	crc = crc32c(idx, idxlen);
	memcpy(hdr + 56, &crc, 4);
	crc = crc32c(hdr, 60);
	memcpy(hdr + 60, &crc, 4);
	ASSERT_EQ(0, patch(path, ZS_HDR, idx, idxlen));
	ASSERT_EQ(0, patch(path, 0, hdr, sizeof(hdr)));
	EXPECT_EQ(-EINVAL, try_create(path, flags, 0, LEN));
	free(idx);
	unlink(path);
}

WSR_HARNESS_MAIN
