// SPDX-License-Identifier: GPL-2.0
/*
 * Base suite: one page store per snapshot, shared copy-on-write by every
 * region over it (WSR_FEATURE_SHARED_BASE).  Checked here:
 *  - isolation: a region's writes are invisible to another region, to a
 *    new region and to the file, after fork too; a write into a PMD-mapped
 *    2 MiB folio splits only the writer's PMD;
 *  - concurrency: 16 restores of one snapshot at once read every unit
 *    once (module counters and the disk's read sectors), every byte right,
 *    and the 16 instances hold one base;
 *  - template: a region over a resident base restores with no I/O;
 *  - lifetime: drop_caches drops unmapped base pages only; base_max_kb
 *    holds;
 *  - change: a changed snapshot gets a new base for new regions, existing
 *    regions keep the pages they loaded;
 *  - memory cgroup: base pages are charged to the loader's cgroup;
 *  - kill: a task waiting for a unit another restore loads dies promptly;
 *  - knobs: changing read_batch_kb while restores load changes no request
 *    in flight (it used to overrun a bio_vec array); restore_map decides
 *    what a restore maps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define REGION_OFF	(8 * WSR_HUGE)
#define REGION_LEN	(8 * WSR_HUGE)
#define REGION_PAGES	(REGION_LEN / WSR_PAGE)
#define NR_INSTANCES	16

/*
 * Working set: chunk 1 whole (dense: a 2 MiB unit where allowed) and 40
 * scattered pages in chunks 4..6 (4 KiB units).
 */
static uint64_t build_ws(uint64_t *ws)
{
	uint64_t n = 0, i;

	for (i = 0; i < WSR_HUGE_PAGES; i++)
		ws[n++] = WSR_HUGE_PAGES + i;
	for (i = 0; i < 40; i++)
		ws[n++] = 4 * WSR_HUGE_PAGES + 37 * i;
	return n;
}

/* Pages a restore of that working set loads: units, not pages. */
static uint64_t ws_unit_pages(uint32_t flags)
{
	return WSR_HUGE_PAGES + 40;
}

FIXTURE(base)
{
	int snap;
	struct wsr_api api;
	struct wsr_knob_save knobs[4];
	uint64_t ws[WSR_HUGE_PAGES + 64];
	uint64_t nws;
};

FIXTURE_VARIANT(base)
{
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(base, huge)
{
	.flags = 0,
};

FIXTURE_VARIANT_ADD(base, small)
{
	.flags = WSR_CREATE_NO_HUGE,
};

FIXTURE_SETUP(base)
{
	int dev;

	ASSERT_EQ(0, wsr_drop_caches());
	self->snap = -1;
	dev = wsr_open();
	if (dev == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_handshake(dev, &self->api));
	close(dev);
	if (!(self->api.features & WSR_FEATURE_SHARED_BASE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_SHARED_BASE");
	if (!(variant->flags & WSR_CREATE_NO_HUGE) &&
	    !(self->api.features & WSR_FEATURE_HUGE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_HUGE");
	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " WSR_SNAP);
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[0], "huge_enabled", 1));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[1], "huge_threshold",
				       WSR_HUGE_PAGES / 2));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[2], "read_gap_kb", 0));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[3], "base_max_kb", 0));
	self->nws = build_ws(self->ws);
}

FIXTURE_TEARDOWN(base)
{
	int i;

	if (self->snap >= 0)
		close(self->snap);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, wsr_knob_restore(&self->knobs[i]));
}

/*
 * From dropped caches: a mapped region over the standard range, restored
 * with the fixture's working set.  Returns the fd or -errno.
 */
static int cold_restore(int snap, uint32_t flags, const uint64_t *ws,
			uint64_t nws, char **mem, struct wsr_restore *r)
{
	int dev, ret;

	ret = wsr_drop_caches();
	if (ret)
		return ret;
	dev = wsr_open_region(snap, flags, REGION_OFF, REGION_LEN, mem);
	if (dev < 0)
		return dev;
	ret = wsr_restore(dev, ws, nws, 0, r);
	if (ret) {
		munmap(*mem, REGION_LEN);
		close(dev);
		return ret;
	}
	return dev;
}

static uint64_t knob(const char *name)
{
	uint64_t v = ~0ULL;

	wsr_knob_get(name, &v);
	return v;
}

/* Working-set pages of @mem that differ from the file. */
static uint64_t ws_bad(const char *mem, int snap, const uint64_t *ws,
		       uint64_t n, uint64_t off)
{
	uint64_t i, bad = 0;

	for (i = 0; i < n; i++)
		bad += !wsr_page_equal(mem + ws[i] * WSR_PAGE, snap,
				       off + ws[i] * WSR_PAGE);
	return bad;
}

/*
 * Writes stay with the mapping that made them: another region, a new
 * region, the file and a forked child never see them; a write into a
 * PMD-mapped 2 MiB folio splits the writer's PMD only.
 */
TEST_F_TIMEOUT(base, isolation, 150)
{
	const uint64_t hp = WSR_HUGE_PAGES;
	struct wsr_restore r;
	char *a, *b, *c;
	int da, db, dc, status;
	uint64_t i;
	pid_t pid;

	da = wsr_open_region(self->snap, variant->flags, REGION_OFF, REGION_LEN,
			 &a);
	ASSERT_LE(0, da);
	db = wsr_open_region(self->snap, variant->flags, REGION_OFF, REGION_LEN,
			 &b);
	ASSERT_LE(0, db);
	ASSERT_EQ(0, wsr_restore(da, self->ws, self->nws, 0, &r));
	EXPECT_EQ(ws_unit_pages(variant->flags), r.from_device);
	EXPECT_EQ(0ULL, r.present);
	ASSERT_EQ(0, wsr_restore(db, self->ws, self->nws, 0, &r));
	EXPECT_EQ(0ULL, r.from_device + r.from_cache);
	EXPECT_EQ(self->nws, r.present);
	if (!(variant->flags & WSR_CREATE_NO_HUGE)) {
		/* Both map the dense chunk by one PMD, one copy in memory. */
		EXPECT_EQ(2048, wsr_smaps_kb(a, "FilePmdMapped"));
		EXPECT_EQ(2048, wsr_smaps_kb(b, "FilePmdMapped"));
	}
	EXPECT_EQ(hp + 40, knob("base_pages"));

	/* Writes through A: a dense-chunk page and a 4 KiB-unit page. */
	a[(hp + 5) * WSR_PAGE + 9] ^= 0x5a;
	a[(4 * hp + 37) * WSR_PAGE] ^= 0xa5;
	if (!(variant->flags & WSR_CREATE_NO_HUGE)) {
		EXPECT_EQ(0, wsr_smaps_kb(a, "FilePmdMapped"));
		EXPECT_EQ(2048, wsr_smaps_kb(b, "FilePmdMapped"));
	}
	EXPECT_EQ(0ULL, ws_bad(b, self->snap, self->ws, self->nws,
			       REGION_OFF));
	EXPECT_EQ(2ULL, ws_bad(a, self->snap, self->ws, self->nws,
			       REGION_OFF));
	dc = wsr_open_region(self->snap, variant->flags, REGION_OFF, REGION_LEN,
			 &c);
	ASSERT_LE(0, dc);
	EXPECT_EQ(-1, wsr_cmp_file(c, self->snap, REGION_OFF, REGION_LEN));

	/* Fork: copy-on-write both ways. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (!((a[(hp + 5) * WSR_PAGE + 9] ^ 0x5a) ==
		      c[(hp + 5) * WSR_PAGE + 9]))
			_exit(1);
		a[(hp + 7) * WSR_PAGE] ^= 0x11;
		usleep(200000);
		/* The parent's write after the fork is not here. */
		_exit(a[(hp + 9) * WSR_PAGE] == c[(hp + 9) * WSR_PAGE] ? 0 : 2);
	}
	a[(hp + 9) * WSR_PAGE] ^= 0x22;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(a[(hp + 7) * WSR_PAGE], c[(hp + 7) * WSR_PAGE]);

	/* The base and the file never changed. */
	EXPECT_EQ(-1, wsr_cmp_file(b, self->snap, REGION_OFF, REGION_LEN));
	EXPECT_EQ(-1, wsr_cmp_file(c, self->snap, REGION_OFF, REGION_LEN));
	for (i = 0; i < 3; i++)
		munmap(i == 0 ? a : i == 1 ? b : c, REGION_LEN);
	close(da);
	close(db);
	close(dc);
}

struct instance_result {
	struct wsr_restore r;
	int err;
};

/*
 * One instance: region, mmap, wait for the start, restore, report; then,
 * once the parent has counted the disk's reads, check every byte against
 * the file (reading the file reads the disk) and report that.
 */
static void instance(int snap, uint32_t flags, const uint64_t *ws,
		     uint64_t nws, int go, int out, int hold)
{
	struct instance_result res = { 0 };
	uint64_t bad = ~0ULL;
	char *mem = NULL, c;
	int dev;

	dev = wsr_open_region(snap, flags, REGION_OFF, REGION_LEN, &mem);
	if (dev < 0) {
		res.err = dev;
		goto out;
	}
	if (read(go, &c, 1) != 1) {
		res.err = -EPIPE;
		goto out;
	}
	res.err = wsr_restore(dev, ws, nws, 0, &res.r);
out:
	if (write(out, &res, sizeof(res)) != sizeof(res))
		_exit(3);
	/* Stay mapped until the parent has looked at the bases. */
	if (read(hold, &c, 1) < 0)
		_exit(4);
	if (!res.err)
		bad = ws_bad(mem, snap, ws, nws, REGION_OFF);
	_exit(bad ? 5 : 0);
}

/*
 * 16 concurrent restores of one snapshot from a cold cache read what one
 * restore reads, once: module counters and disk sectors agree, every
 * byte is right, and the 16 mapped instances hold one base.
 */
TEST_F_TIMEOUT(base, concurrent_restores_read_once, 170)
{
	uint64_t s0, s1, one_dev, one_bytes, disk_one, disk_all;
	uint64_t dev_sum = 0, bytes_sum = 0, present_sum = 0, gap_sum = 0;
	int go[2], out[2], hold[2], i, status;
	struct instance_result res;
	pid_t pids[NR_INSTANCES];
	struct wsr_restore r;
	char *mem;
	int dev;

	/* One restore alone, for reference. */
	ASSERT_EQ(0, wsr_disk_sectors_read(&s0));
	dev = wsr_open_region(self->snap, variant->flags, REGION_OFF, REGION_LEN,
			  &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_restore(dev, self->ws, self->nws, 0, &r));
	ASSERT_EQ(0, wsr_disk_sectors_read(&s1));
	one_dev = r.from_device;
	one_bytes = r.bytes_read;
	disk_one = (s1 - s0) * 512;
	EXPECT_EQ(ws_unit_pages(variant->flags), one_dev);
	TH_LOG("one restore: %llu pages, %llu bytes, disk %llu bytes",
	       (unsigned long long)one_dev, (unsigned long long)one_bytes,
	       (unsigned long long)disk_one);
	munmap(mem, REGION_LEN);
	close(dev);
	ASSERT_EQ(0, wsr_drop_caches());
	EXPECT_EQ(0ULL, knob("base_pages"));

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(out));
	ASSERT_EQ(0, pipe(hold));
	for (i = 0; i < NR_INSTANCES; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i]) {
			close(go[1]);
			close(out[0]);
			close(hold[1]);
			instance(self->snap, variant->flags, self->ws,
				 self->nws, go[0], out[1], hold[0]);
		}
	}
	close(go[0]);
	close(out[1]);
	close(hold[0]);
	usleep(300000);
	ASSERT_EQ(0, wsr_disk_sectors_read(&s0));
	for (i = 0; i < NR_INSTANCES; i++)
		ASSERT_EQ(1, write(go[1], "g", 1));
	for (i = 0; i < NR_INSTANCES; i++) {
		ASSERT_EQ(sizeof(res), read(out[0], &res, sizeof(res)));
		EXPECT_EQ(0, res.err);
		dev_sum += res.r.from_device;
		bytes_sum += res.r.bytes_read;
		gap_sum += res.r.bytes_gap;
		present_sum += res.r.present;
	}
	ASSERT_EQ(0, wsr_disk_sectors_read(&s1));
	disk_all = (s1 - s0) * 512;
	TH_LOG("%d restores: %llu pages, %llu bytes, disk %llu bytes, present %llu",
	       NR_INSTANCES, (unsigned long long)dev_sum,
	       (unsigned long long)bytes_sum, (unsigned long long)disk_all,
	       (unsigned long long)present_sum);
	/* Every unit once, by one of them; the others found it. */
	EXPECT_EQ(one_dev, dev_sum);
	EXPECT_EQ(one_bytes, bytes_sum);
	EXPECT_GE(disk_all, bytes_sum + gap_sum);
	EXPECT_LE(disk_all, bytes_sum + gap_sum + WSR_METADATA_SLACK);
	EXPECT_LE(disk_all, disk_one + disk_one / 10 + WSR_METADATA_SLACK);
	/* 16 mapped instances, one base holding one copy. */
	EXPECT_EQ(one_dev, knob("base_pages"));

	/* Now every instance checks its bytes: exit 0 when all are right. */
	close(hold[1]);
	for (i = 0; i < NR_INSTANCES; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	close(go[1]);
	close(out[0]);
}

/*
 * A region over a snapshot whose base is resident (its first region
 * closed) restores with no I/O at all, and maps the working set: touching
 * it takes no fault.
 */
TEST_F_TIMEOUT(base, template_restore_reads_nothing, 120)
{
	struct wsr_restore r;
	struct wsr_stats st;
	uint64_t s0, s1, i;
	char *mem;
	int dev;

	dev = wsr_open_region(self->snap, variant->flags, REGION_OFF, REGION_LEN,
			  &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_restore(dev, self->ws, self->nws, 0, &r));
	EXPECT_EQ(ws_unit_pages(variant->flags), r.from_device);
	munmap(mem, REGION_LEN);
	close(dev);
	EXPECT_EQ(0, wsr_wait_regions(0, 2000));

	ASSERT_EQ(0, wsr_disk_sectors_read(&s0));
	dev = wsr_open_region(self->snap, variant->flags, REGION_OFF, REGION_LEN,
			  &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_restore(dev, self->ws, self->nws, 0, &r));
	EXPECT_EQ(0ULL, r.from_device);
	EXPECT_EQ(0ULL, r.from_cache);
	EXPECT_EQ(0ULL, r.bytes_read);
	EXPECT_EQ(self->nws, r.present);
	for (i = 0; i < self->nws; i++)
		wsr_touch(mem, self->ws[i]);
	ASSERT_EQ(0, wsr_disk_sectors_read(&s1));
	EXPECT_EQ(0ULL, s1 - s0);
	ASSERT_EQ(0, wsr_get_stats(dev, &st));
	EXPECT_EQ(0ULL, st.faults);
	EXPECT_EQ(0ULL, st.pages_device + st.pages_cache);
	EXPECT_EQ(0ULL, ws_bad(mem, self->snap, self->ws, self->nws,
			       REGION_OFF));
	munmap(mem, REGION_LEN);
	close(dev);
}

/*
 * drop_caches drops a base's unmapped pages and never its mapped ones;
 * base_max_kb drops the pages of unused bases to hold the cap.
 */
TEST_F_TIMEOUT(base, reclaim_and_cap, 150)
{
	uint64_t loaded = ws_unit_pages(variant->flags), trimmed, small[100];
	struct wsr_restore r;
	char *mem, *mem2;
	int dev, dev2;
	uint64_t i;

	dev = wsr_open_region(self->snap, variant->flags, REGION_OFF, REGION_LEN,
			  &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_restore(dev, self->ws, self->nws, 0, &r));
	EXPECT_EQ(loaded, knob("base_pages"));
	/* Mapped (the restore mapped the working set): kept. */
	ASSERT_EQ(0, wsr_drop_caches());
	EXPECT_EQ(loaded, knob("base_pages"));
	EXPECT_EQ(0ULL, ws_bad(mem, self->snap, self->ws, self->nws,
			       REGION_OFF));
	/* Unmapped, region still open: dropped. */
	munmap(mem, REGION_LEN);
	ASSERT_EQ(0, wsr_drop_caches());
	EXPECT_EQ(0ULL, knob("base_pages"));
	close(dev);

	/* Cap: an unused base gives way to a region being restored. */
	dev = wsr_open_region(self->snap, variant->flags, REGION_OFF, REGION_LEN,
			  &mem);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_restore(dev, self->ws, self->nws, 0, &r));
	EXPECT_EQ(loaded, r.from_device);
	munmap(mem, REGION_LEN);
	close(dev);
	EXPECT_EQ(0, wsr_wait_regions(0, 2000));
	EXPECT_EQ(loaded, knob("base_pages"));
	trimmed = knob("base_trimmed");
	wsr_lru_drain();
	ASSERT_EQ(0, wsr_knob_set("base_max_kb", 100 * WSR_PAGE / 1024));
	/* Setting the cap trims at once. */
	EXPECT_EQ(0ULL, knob("base_pages"));
	EXPECT_EQ(trimmed + loaded, knob("base_trimmed"));

	for (i = 0; i < 100; i++)
		small[i] = 3 * i;
	dev2 = wsr_open_region(self->snap, variant->flags, 0, WSR_HUGE, &mem2);
	ASSERT_LE(0, dev2);
	ASSERT_EQ(0, wsr_restore(dev2, small, 100, 0, &r));
	EXPECT_EQ(100ULL, r.from_device);
	EXPECT_EQ(100ULL, knob("base_pages"));
	EXPECT_EQ(0ULL, ws_bad(mem2, self->snap, small, 100, 0));
	munmap(mem2, WSR_HUGE);
	close(dev2);
}

/*
 * A snapshot changed after its base was made: a new region gets a new
 * base with the new bytes; a region made before keeps the pages it had
 * loaded.
 */
TEST_F_TIMEOUT(base, changed_snapshot_gets_new_base, 120)
{
	const char *path = "/data/wsr-base-change";
	const uint64_t len = 64 * WSR_PAGE;
	uint64_t ws[64], i, bases;
	struct wsr_restore r;
	char *buf, *m1, *m2;
	int fd, d1, d2;

	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	memset(buf, 'A', len);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, pwrite(fd, buf, len, 0));
	ASSERT_EQ(0, fsync(fd));
	for (i = 0; i < 64; i++)
		ws[i] = i;

	d1 = wsr_open_region(fd, variant->flags, 0, len, &m1);
	ASSERT_LE(0, d1);
	ASSERT_EQ(0, wsr_restore(d1, ws, 64, 0, &r));
	EXPECT_EQ(64ULL, r.from_cache + r.from_device);
	bases = knob("bases");

	/* A later write: the change time moves on. */
	usleep(20000);
	memset(buf, 'B', len);
	ASSERT_EQ((ssize_t)len, pwrite(fd, buf, len, 0));
	ASSERT_EQ(0, fsync(fd));

	d2 = wsr_open_region(fd, variant->flags, 0, len, &m2);
	ASSERT_LE(0, d2);
	/* The stale base left the table; the region made before keeps it. */
	EXPECT_EQ(bases, knob("bases"));
	ASSERT_EQ(0, wsr_restore(d2, ws, 64, 0, &r));
	EXPECT_EQ(0ULL, r.present);
	EXPECT_EQ(64ULL, r.from_cache + r.from_device);
	for (i = 0; i < len; i += WSR_PAGE) {
		EXPECT_EQ('B', m2[i]);
		EXPECT_EQ('A', m1[i]);
	}
	munmap(m1, len);
	munmap(m2, len);
	close(d1);
	close(d2);
	close(fd);
	unlink(path);
	free(buf);
}

/* A cgroup's memory.current (exact, unlike memory.stat), -1 if absent. */
static long long cg_current(const char *cg)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	if (wsr_read_text(path, buf, sizeof(buf)))
		return -1;
	return atoll(buf);
}

/* Base pages count as page cache of the memory cgroup that loaded them. */
TEST_F_TIMEOUT(base, charged_to_loader_cgroup, 120)
{
	const char *root = "/tmp/wsr-cg", *cg = "/tmp/wsr-cg/wsr-base-test";
	uint64_t loaded = ws_unit_pages(variant->flags);
	long long file0, file1;
	char path[256], pid[32];
	struct wsr_restore r;
	int status, dev;
	char *mem;
	pid_t child;

	mkdir(root, 0755);
	if (mount("none", root, "cgroup2", 0, NULL) && errno != EBUSY)
		SKIP(return, "no cgroup2 (%s)", strerror(errno));
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", root);
	if (wsr_write_text(path, "+memory"))
		SKIP(goto out_umount, "no memory controller");
	mkdir(cg, 0755);
	file0 = cg_current(cg);
	ASSERT_LE(0, file0);

	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		snprintf(pid, sizeof(pid), "%d", getpid());
		if (wsr_write_text(path, pid))
			_exit(1);
		dev = wsr_open_region(self->snap, variant->flags, REGION_OFF,
				  REGION_LEN, &mem);
		if (dev < 0 || wsr_restore(dev, self->ws, self->nws, 0, &r))
			_exit(2);
		if (r.from_device != loaded)
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* The region is gone with the child; its base pages stay charged. */
	file1 = cg_current(cg);
	TH_LOG("cgroup memory.current %lld -> %lld (loaded %llu pages)",
	       file0, file1, (unsigned long long)loaded);
	EXPECT_GE((uint64_t)(file1 - file0), loaded * WSR_PAGE);
	ASSERT_EQ(0, wsr_drop_caches());
	EXPECT_GT(loaded * WSR_PAGE, (uint64_t)cg_current(cg));
	rmdir(cg);
out_umount:
	umount(root);
}

/*
 * A task that waits for a unit another restore is loading dies at once
 * on SIGKILL, long before that load ends.
 */
TEST_F_TIMEOUT(base, kill_while_waiting_for_load, 150)
{
	const uint64_t len = WSR_SNAP_SIZE, pages = len / WSR_PAGE;
	struct wsr_knob_save batch = {}, direct = {};
	int go[2], touched[2], done[2], status, dev;
	uint64_t *ws, i, t_kill, t_dead, t_done;
	struct wsr_restore r;
	pid_t loader, waiter;
	char *mem, c;

	/* One batch of buffered reads: every unit stays locked a while. */
	ASSERT_EQ(0, wsr_knob_override(&batch, "read_batch_kb", 64 * 1024));
	ASSERT_EQ(0, wsr_knob_override(&direct, "restore_direct", 0));
	ws = malloc(pages * sizeof(*ws));
	ASSERT_NE(NULL, ws);
	for (i = 0; i < pages; i++)
		ws[i] = i;
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(touched));
	ASSERT_EQ(0, pipe(done));

	/* The loader claims every unit of the snapshot, then reads 64 MiB. */
	loader = fork();
	ASSERT_LE(0, loader);
	if (!loader) {
		uint64_t t;

		dev = wsr_open_region(self->snap, variant->flags, 0, len, &mem);
		if (dev < 0 || write(go[1], "s", 1) != 1)
			_exit(1);
		if (wsr_restore(dev, ws, pages, 0, &r))
			_exit(2);
		t = wsr_now_ns();
		_exit(write(done[1], &t, sizeof(t)) == sizeof(t) ? 0 : 3);
	}
	ASSERT_EQ(1, read(go[0], &c, 1));
	usleep(100000);

	waiter = fork();
	ASSERT_LE(0, waiter);
	if (!waiter) {
		dev = wsr_open_region(self->snap, variant->flags, 0, len, &mem);
		if (dev < 0)
			_exit(1);
		/* The loader claims in index order: page 1 early. */
		wsr_touch(mem, 1);
		if (write(touched[1], "t", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	close(touched[1]);
	usleep(200000);
	/* Still in its fault: the load is not done. */
	{
		struct pollfd p = { .fd = touched[0], .events = POLLIN };

		EXPECT_EQ(0, poll(&p, 1, 0));
	}
	t_kill = wsr_now_ns();
	ASSERT_EQ(0, kill(waiter, SIGKILL));
	ASSERT_EQ(waiter, waitpid(waiter, &status, 0));
	t_dead = wsr_now_ns();
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT_EQ(sizeof(t_done), read(done[0], &t_done, sizeof(t_done)));
	TH_LOG("waiter dead %llu ms after SIGKILL, load done %lld ms after that",
	       (unsigned long long)(t_dead - t_kill) / 1000000,
	       (long long)(t_done - t_dead) / 1000000);
	EXPECT_LT(t_dead, t_done);
	ASSERT_EQ(loader, waitpid(loader, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(0, wsr_knob_restore(&batch));
	EXPECT_EQ(0, wsr_knob_restore(&direct));
	free(ws);
}

struct knob_flipper {
	volatile int stop;
	uint64_t flips;
};

static void *flip_batch(void *arg)
{
	struct knob_flipper *f = arg;

	while (!f->stop) {
		wsr_knob_set("read_batch_kb", (f->flips & 1) ? 4 : 64 * 1024);
		f->flips++;
	}
	return NULL;
}

/*
 * read_batch_kb flips between its extremes while cold restores load:
 * every restore still reads each unit once and every byte is right.
 */
TEST_F_TIMEOUT(base, batch_knob_flips_during_restores, 150)
{
	struct knob_flipper f = { 0 };
	struct wsr_knob_save batch = {};
	struct wsr_restore r;
	pthread_t t;
	uint64_t i, start;
	char *mem;
	int dev;

	ASSERT_EQ(0, wsr_knob_override(&batch, "read_batch_kb", 1024));
	ASSERT_EQ(0, pthread_create(&t, NULL, flip_batch, &f));
	start = wsr_now_ns();
	for (i = 0; wsr_now_ns() - start < 3000000000ULL; i++) {
		dev = cold_restore(self->snap, variant->flags, self->ws,
				   self->nws, &mem, &r);
		ASSERT_LE(0, dev);
		EXPECT_EQ(ws_unit_pages(variant->flags), r.from_device);
		EXPECT_EQ(0ULL, ws_bad(mem, self->snap, self->ws, self->nws,
				       REGION_OFF));
		munmap(mem, REGION_LEN);
		close(dev);
	}
	f.stop = 1;
	pthread_join(t, NULL);
	TH_LOG("%llu restores, %llu knob writes", (unsigned long long)i,
	       (unsigned long long)f.flips);
	EXPECT_LT(1ULL, f.flips);
	EXPECT_EQ(0, wsr_knob_restore(&batch));
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * restore_map: 2 maps the whole working set (touching it takes no
 * fault), 1 only its 2 MiB units (one PMD), 0 nothing; what is not mapped
 * takes one fault per 2 MiB folio and per 64 KiB fault-around window.
 */
TEST_F_TIMEOUT(base, restore_map_knob, 150)
{
	const bool huge = !(variant->flags & WSR_CREATE_NO_HUGE);
	/* 40 sparse pages, 37 apart: a fault-around window each. */
	const long sparse = 40, dense = huge ? 1 : WSR_HUGE_PAGES / 16;
	const long want[3] = { dense + sparse, huge ? sparse : dense + sparse,
			       0 };
	struct wsr_knob_save map = {};
	struct wsr_restore r;
	struct wsr_stats st;
	uint64_t how, i;
	long f0, f1;
	char *mem;
	int dev;

	ASSERT_EQ(0, wsr_knob_override(&map, "restore_map", 2));
	for (how = 0; how < 3; how++) {
		ASSERT_EQ(0, wsr_knob_set("restore_map", how));
		dev = cold_restore(self->snap, variant->flags, self->ws,
				   self->nws, &mem, &r);
		ASSERT_LE(0, dev);
		EXPECT_EQ(ws_unit_pages(variant->flags), r.from_device);
		f0 = minflt();
		for (i = 0; i < self->nws; i++)
			wsr_touch(mem, self->ws[i]);
		f1 = minflt();
		TH_LOG("restore_map %llu: %ld faults touching the working set",
		       (unsigned long long)how, f1 - f0);
		EXPECT_EQ(want[how], f1 - f0);
		ASSERT_EQ(0, wsr_get_stats(dev, &st));
		/* Nothing was loaded by those faults. */
		EXPECT_EQ(r.from_device, st.pages_device);
		EXPECT_EQ(0ULL, ws_bad(mem, self->snap, self->ws, self->nws,
				       REGION_OFF));
		munmap(mem, REGION_LEN);
		close(dev);
	}
	/* Out of range: refused. */
	EXPECT_NE(0, wsr_knob_set("restore_map", 3));
	EXPECT_EQ(0, wsr_knob_restore(&map));
}

TEST_HARNESS_MAIN
