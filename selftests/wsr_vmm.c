// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-vmm suite: every memory backend restores every guest payload and the
 * guest computes the right result.
 *
 * Each test drives /usr/bin/wsr-vmm, a real KVM guest (nested KVM in the
 * test VM), on a 64 MiB snapshot kept in /data/vmm-selftest/<payload>
 * (written by the first test that needs it).  A restore prints one JSON
 * line; the test asserts the exit status, "ok":true, and that the
 * reported result equals "wsr-vmm expect" (the host-side recomputation).
 * The corrupt_* tests flip bytes in a snapshot or a working-set file and
 * assert that the restore fails loudly with a result mismatch.
 * wsr_zsnap restores from a compressed copy of the snapshot.
 * vmm_trace: the trace replays of real programs restore right, and the
 * wsr tracker records exactly the pages (and order) their trace gives.
 *
 * Baseline fidelity: REAP on its recorded input serves no fault from
 * userfaultfd after installing the working set, and has freed its
 * staging buffer; FaaSnap maps its working-set regions from the
 * loading-set file (and a corrupted loading-set file corrupts the guest,
 * while the mincore variant, which reads the memory file, does not
 * care).  The twice counter: chosen O_DIRECT reads, some of the same
 * pages, must be counted exactly ("wsr-vmm devreads"), and every backend
 * reports the count ("read_twice" >= 0, not "not counted").
 * bench_driver runs make bench's wsr-bench on a small grid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define VMM		"/usr/bin/wsr-vmm"
#define WSRCTL		"/usr/bin/wsrctl"
#define TOP		"/data/vmm-selftest"
#define MEM		"64M"
#define VMM_TIMEOUT	600

static long long json_num(const char *line, const char *key)
{
	char buf[32];

	return wsr_json_get(line, key, buf, sizeof(buf)) ? atoll(buf) : -1;
}

static const char *guest_image(const char *payload)
{
	static char path[128];

	snprintf(path, sizeof(path), "/usr/share/wsr/guests/%s.bin",
		 payload);
	if (!access(path, R_OK))
		return path;
	snprintf(path, sizeof(path), "/usr/share/wsr/%s.bin", payload);
	return path;
}

/*
 * Create (once) the snapshot of @payload in @dir, a work directory of
 * this test in @work.
 */
static void vmm_prepare(struct __test_metadata *_metadata,
			const char *payload, char *dir, size_t dlen,
			char *work, size_t wlen, struct wsr_cmd_out *o)
{
	char state[128];

	ASSERT_EQ(0, wsr_drop_caches());
	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(_exit(255), "no /dev/kvm");
	if (access(VMM, X_OK))
		SKIP(_exit(255), "no " VMM);
	mkdir(TOP, 0755);
	snprintf(dir, dlen, TOP "/%s", payload);
	snprintf(work, wlen, TOP "/%s-%d", payload, getpid());
	ASSERT_EQ(0, mkdir(work, 0755));
	snprintf(state, sizeof(state), "%s/state", dir);
	if (access(state, R_OK)) {
		/* Snapshot, then run input 1 on the live VM as a check. */
		const char *argv[] = { VMM, "run", "--payload",
			guest_image(payload), "--mem", MEM, "--snapshot", dir,
			"--input", "1", "--quiet", NULL };

		ASSERT_EQ(0, wsr_run(o, argv));
		ASSERT_EQ(0, o->status) {
			TH_LOG("snapshot: %s%s", o->out, o->err);
		}
		ASSERT_NE(NULL, strstr(o->out, " ok"));
	}
}

static void vmm_cleanup(struct __test_metadata *_metadata, const char *work)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
	if (system(cmd))
		TH_LOG("cannot remove %s", work);
}

/* Every payload: each backend restores it right. */
FIXTURE(vmm) {
	char dir[96];		/* the snapshot */
	char work[96];		/* recordings of this test */
	struct wsr_cmd_out o;
};

FIXTURE_VARIANT(vmm) {
	const char *payload;
};

FIXTURE_VARIANT_ADD(vmm, kv) { .payload = "kv" };
FIXTURE_VARIANT_ADD(vmm, dict) { .payload = "dict" };
FIXTURE_VARIANT_ADD(vmm, scan) { .payload = "scan" };

FIXTURE_SETUP(vmm)
{
	vmm_prepare(_metadata, variant->payload, self->dir, sizeof(self->dir),
		  self->work, sizeof(self->work), &self->o);
}

FIXTURE_TEARDOWN(vmm)
{
	vmm_cleanup(_metadata, self->work);
}

/*
 * The kv payload only: tests of tools whose logic does not depend on the
 * payload (unions of recordings, the loading-set file, the twice counter).
 */
FIXTURE(vmm_kv) {
	char dir[96];
	char work[96];
	struct wsr_cmd_out o;
};

FIXTURE_SETUP(vmm_kv)
{
	vmm_prepare(_metadata, "kv", self->dir, sizeof(self->dir), self->work,
		  sizeof(self->work), &self->o);
}

FIXTURE_TEARDOWN(vmm_kv)
{
	vmm_cleanup(_metadata, self->work);
}

/* Expected result of @input by the host-side recomputation. */
static unsigned long long expected(struct __test_metadata *_metadata,
				   const char *dir, const char *input)
{
	const char *argv[] = { VMM, "expect", "--snapshot", dir, "--input",
			       input, NULL };
	struct wsr_cmd_out o;

	ASSERT_EQ(0, wsr_run(&o, argv));
	ASSERT_EQ(0, o.status);
	return strtoull(o.out, NULL, 0);
}

/*
 * Restore @dir through @backend with @input and the extra arguments;
 * assert success and the exact result.  Returns the JSON line in o->out.
 */
static void restore_okv(struct __test_metadata *_metadata,
			struct wsr_cmd_out *o, const char *dir, const char *backend,
			const char *input, const char *const *extra)
{
	const char *argv[20] = { VMM, "restore", "--snapshot", dir,
				 "--backend", backend, "--input", input,
				 "--json" };
	unsigned long long want = expected(_metadata, dir, input);
	char buf[32];
	int i;

	for (i = 0; extra[i] && i < 10; i++)
		argv[9 + i] = extra[i];

	ASSERT_EQ(0, wsr_run(o, argv));
	ASSERT_EQ(0, o->status) {
		TH_LOG("%s input %s: status %d: %s%s", backend, input,
		       o->status, o->out, o->err);
	}
	ASSERT_NE(NULL, wsr_json_get(o->out, "ok", buf, sizeof(buf)));
	ASSERT_STREQ("true", buf);
	ASSERT_NE(NULL, wsr_json_get(o->out, "result", buf, sizeof(buf)));
	ASSERT_EQ(want, strtoull(buf, NULL, 0)) {
		TH_LOG("%s", o->out);
	}
	/* The guest did run through faults on this memory. */
	ASSERT_LT(0, json_num(o->out, "majflt") + json_num(o->out, "minflt"));
	/* The device's reads were counted, none lost. */
	ASSERT_LE(0, json_num(o->out, "read_twice")) {
		TH_LOG("%s: %s", backend, o->err);
	}
	ASSERT_EQ(0, json_num(o->out, "dev_lost"));
}

static void restore_ok(struct __test_metadata *_metadata, struct wsr_cmd_out *o,
		       const char *dir, const char *backend, const char *input,
		       const char *a1, const char *a2, const char *a3)
{
	const char *const extra[] = { a1, a2, a3, NULL };

	restore_okv(_metadata, o, dir, backend, input, extra);
}

/* The same, with the wsr backend over compressed snapshot @zsnap. */
static void restore_zok(struct __test_metadata *_metadata, struct wsr_cmd_out *o,
			const char *dir, const char *backend,
			const char *input, const char *zsnap, const char *a1,
			const char *a2, const char *a3)
{
	const char *const extra[] = { "--zsnap", zsnap, a1, a2, a3, NULL };

	restore_okv(_metadata, o, dir, backend, input, extra);
}

static void path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

TEST_F_TIMEOUT(vmm, file, VMM_TIMEOUT)
{
	restore_ok(_metadata, &self->o, self->dir, "file", "3", NULL, NULL,
		   NULL);
	restore_ok(_metadata, &self->o, self->dir, "file", "4", "--cold",
		   NULL, NULL);
	/* A cold MAP_PRIVATE restore reads from the disk. */
	EXPECT_LT(0, json_num(self->o.out, "read_bytes"));
	EXPECT_LT(0, json_num(self->o.out, "majflt"));
}

/* The named base's entry of WSR_IOC_BASE_LIST; -errno without one. */
static int base_info(const char *name, struct wsr_base_info *out)
{
	struct wsr_base_info v[WSR_BASE_MAX];
	struct wsr_base_list bl = { .entries = (uintptr_t)v,
				    .count = WSR_BASE_MAX };
	int dev = wsr_open_api(), ret;
	uint64_t i;

	if (dev < 0)
		return dev;
	ret = wsr_ioctl(dev, WSR_IOC_BASE_LIST, &bl);
	close(dev);
	for (i = 0; !ret && i < bl.count; i++)
		if (!strcmp(v[i].name, name)) {
			*out = v[i];
			return 0;
		}
	return ret ? ret : -ENOENT;
}

/*
 * Firecracker's File backend, unchanged, pointed at a wsr base's file
 * (wsrfs) instead of the snapshot: the right result cold and warm, guest
 * memory served by the base (its faults and pages), and with a working
 * set prefetched into the base (asynchronously, as an orchestrator beside
 * a stock VMM would).
 */
TEST_F_TIMEOUT(vmm, file_at_base, VMM_TIMEOUT)
{
	char mnt[128], name[48], bpath[192], mem[128], ws[128];
	const char *cargv[] = { WSRCTL, "base", "create", name, "--snapshot",
				mem, NULL };
	const char *dargv[] = { WSRCTL, "base", "drop", name, NULL };
	const char *cold[] = { "--mem-file", bpath, "--cold", NULL };
	const char *warm[] = { "--mem-file", bpath, NULL };
	const char *pre[] = { "--mem-file", bpath, "--ws", ws, "--cold",
			      "--recorded", "1", NULL };
	struct wsr_base_info info;
	struct wsr_api api;
	char buf[32];

	if (wsr_probe(&api) || !(api.features & WSR_FEATURE_NAMED_BASE))
		SKIP(return, "no /dev/wsr with WSR_FEATURE_NAMED_BASE");
	snprintf(mnt, sizeof(mnt), "%s/wsrfs", self->work);
	snprintf(name, sizeof(name), "vmm-%s-%d", variant->payload, getpid());
	snprintf(bpath, sizeof(bpath), "%s/%s", mnt, name);
	path(mem, sizeof(mem), self->dir, "mem");
	path(ws, sizeof(ws), self->work, "wsr-1.ws");
	ASSERT_EQ(0, mkdir(mnt, 0755));
	ASSERT_EQ(0, mount("wsrfs", mnt, "wsrfs", 0, NULL));
	ASSERT_EQ(0, wsr_run(&self->o, cargv));
	ASSERT_EQ(0, self->o.status) {
		TH_LOG("base create: %s", self->o.err);
	}

	restore_okv(_metadata, &self->o, self->dir, "file", "4", cold);
	ASSERT_NE(NULL, wsr_json_get(self->o.out, "backend", buf, sizeof(buf)));
	EXPECT_STREQ("file@base", buf);
	/* The disk was read, by the base (the path has no page cache). */
	EXPECT_LT(0, json_num(self->o.out, "read_bytes"));
	ASSERT_EQ(0, base_info(name, &info));
	EXPECT_LT(0ULL, info.faults);
	EXPECT_LT(0ULL, info.resident_huge + info.resident_small);
	/* Warm: what the base holds is mapped again. */
	restore_okv(_metadata, &self->o, self->dir, "file", "3", warm);

	/* A working set recorded by the wsr backend, prefetched into it. */
	restore_ok(_metadata, &self->o, self->dir, "wsr", "1", "--record", ws,
		   NULL);
	restore_okv(_metadata, &self->o, self->dir, "file", "1", pre);
	ASSERT_NE(NULL, wsr_json_get(self->o.out, "backend", buf, sizeof(buf)));
	EXPECT_STREQ("file@base-async", buf);

	ASSERT_EQ(0, wsr_run(&self->o, dargv));
	EXPECT_EQ(0, self->o.status);
	EXPECT_EQ(-ENOENT, base_info(name, &info));
	EXPECT_EQ(0, umount(mnt));
}

TEST_F_TIMEOUT(vmm, eager, VMM_TIMEOUT)
{
	restore_ok(_metadata, &self->o, self->dir, "eager", "3", "--cold",
		   NULL, NULL);
	/* Everything was read: at least the whole 64 MiB file. */
	EXPECT_LE(64LL << 20, json_num(self->o.out, "read_bytes"));
}

TEST_F_TIMEOUT(vmm, reap, VMM_TIMEOUT)
{
	char ws[128];

	path(ws, sizeof(ws), self->work, "reap.ws");
	restore_ok(_metadata, &self->o, self->dir, "reap", "1", "--record",
		   ws, NULL);
	ASSERT_LT(0, json_num(self->o.out, "reap_recorded_pages"));
	/*
	 * The recorded input: the first fault installs the WS, and no fault
	 * after it reaches the handler's copy path: no page is served from
	 * the memory file, not even the faulting one.
	 */
	restore_ok(_metadata, &self->o, self->dir, "reap", "1", "--ws", ws,
		   "--cold");
	EXPECT_LT(0, json_num(self->o.out, "reap_ws_pages"));
	EXPECT_EQ(0, json_num(self->o.out, "uffd_served")) {
		TH_LOG("%s", self->o.out);
	}
	EXPECT_EQ(1, json_num(self->o.out, "uffd_faults"));
	EXPECT_EQ(0, json_num(self->o.out, "uffd_woken"));
	/* The staging buffer is gone before memory is measured. */
	EXPECT_EQ(0, json_num(self->o.out, "reap_staging_kb"));
	/*
	 * Cold: the device delivered exactly the WS file's pages, each
	 * standing for its guest page, once.
	 */
	EXPECT_EQ(json_num(self->o.out, "reap_ws_pages"),
		  json_num(self->o.out, "dev_pages")) {
		TH_LOG("%s", self->o.out);
	}
	EXPECT_EQ(0, json_num(self->o.out, "read_twice"));
	/* A different input: misses are served by the handler. */
	restore_ok(_metadata, &self->o, self->dir, "reap", "2", "--ws", ws,
		   NULL);
}

TEST_F_TIMEOUT(vmm_kv, reap_union, VMM_TIMEOUT)
{
	char ws1[128], ws2[128], u[128];
	const char *uargv[] = { VMM, "union", "--snapshot", self->dir,
				"--backend", "reap", "-o", u, ws1, ws2, NULL };
	long long p1, p2, pu;

	path(ws1, sizeof(ws1), self->work, "reap-1.ws");
	path(ws2, sizeof(ws2), self->work, "reap-2.ws");
	path(u, sizeof(u), self->work, "reap-u.ws");
	restore_ok(_metadata, &self->o, self->dir, "reap", "1", "--record",
		   ws1, NULL);
	p1 = json_num(self->o.out, "reap_recorded_pages");
	restore_ok(_metadata, &self->o, self->dir, "reap", "2", "--record",
		   ws2, NULL);
	p2 = json_num(self->o.out, "reap_recorded_pages");
	ASSERT_EQ(0, wsr_run(&self->o, uargv));
	ASSERT_EQ(0, self->o.status) {
		TH_LOG("union: %s", self->o.err);
	}
	/* Both recorded inputs are served from the union alone. */
	restore_ok(_metadata, &self->o, self->dir, "reap", "2", "--ws", u,
		   "--cold");
	pu = json_num(self->o.out, "reap_ws_pages");
	EXPECT_LE(p1 > p2 ? p1 : p2, pu);
	EXPECT_GE(p1 + p2, pu);
	EXPECT_EQ(0, json_num(self->o.out, "uffd_served"));
	restore_ok(_metadata, &self->o, self->dir, "reap", "1", "--ws", u,
		   "--cold");
	EXPECT_EQ(pu, json_num(self->o.out, "reap_ws_pages"));
	EXPECT_EQ(0, json_num(self->o.out, "uffd_served"));
}

TEST_F_TIMEOUT(vmm, faasnap, VMM_TIMEOUT)
{
	char ls[128];
	long long ws_pages;

	path(ls, sizeof(ls), self->work, "faasnap.ls");
	restore_ok(_metadata, &self->o, self->dir, "faasnap", "1", "--record",
		   ls, "--cold");
	restore_ok(_metadata, &self->o, self->dir, "faasnap", "1", "--ws", ls,
		   "--cold");
	EXPECT_LT(0, json_num(self->o.out, "faasnap_ls_pages"));
	EXPECT_LT(0, json_num(self->o.out, "faasnap_zero_pages"));
	/*
	 * The working-set regions hold every loading-set page (and the
	 * gaps they were merged across), and guest memory there is mapped
	 * from the loading-set file, all of it.
	 */
	ws_pages = json_num(self->o.out, "faasnap_ws_pages");
	EXPECT_LE(json_num(self->o.out, "faasnap_ls_pages"), ws_pages);
	EXPECT_LT(0, json_num(self->o.out, "faasnap_ws_regions"));
	EXPECT_EQ(ws_pages, json_num(self->o.out, "faasnap_ls_mapped_pages")) {
		TH_LOG("%s", self->o.out);
	}
	EXPECT_LT(0, json_num(self->o.out, "faasnap_mem_mapped_pages"));
	/* The thread read the whole file's data, sequentially. */
	EXPECT_EQ(ws_pages, json_num(self->o.out, "faasnap_prefetched"));
	restore_ok(_metadata, &self->o, self->dir, "faasnap", "2", "--ws", ls,
		   NULL);
	/* The mincore variant: nothing mapped from the loading-set file. */
	restore_ok(_metadata, &self->o, self->dir, "faasnap-mincore", "1",
		   "--ws", ls, "--cold");
	EXPECT_EQ(-1, json_num(self->o.out, "faasnap_ls_mapped_pages"));
	EXPECT_LT(0, json_num(self->o.out, "faasnap_prefetched"));
}

TEST_F_TIMEOUT(vmm_kv, faasnap_union, VMM_TIMEOUT)
{
	char ls1[128], ls2[128], u[128];
	const char *uargv[] = { VMM, "union", "--snapshot", self->dir,
				"--backend", "faasnap", "-o", u, ls1, ls2,
				NULL };
	long long p1, p2, pu;

	path(ls1, sizeof(ls1), self->work, "faasnap-1.ls");
	path(ls2, sizeof(ls2), self->work, "faasnap-2.ls");
	path(u, sizeof(u), self->work, "faasnap-u.ls");
	restore_ok(_metadata, &self->o, self->dir, "faasnap", "1", "--record",
		   ls1, "--cold");
	restore_ok(_metadata, &self->o, self->dir, "faasnap", "1", "--ws", ls1,
		   NULL);
	p1 = json_num(self->o.out, "faasnap_ls_pages");
	restore_ok(_metadata, &self->o, self->dir, "faasnap", "2", "--record",
		   ls2, "--cold");
	restore_ok(_metadata, &self->o, self->dir, "faasnap", "2", "--ws", ls2,
		   NULL);
	p2 = json_num(self->o.out, "faasnap_ls_pages");
	ASSERT_EQ(0, wsr_run(&self->o, uargv));
	ASSERT_EQ(0, self->o.status) {
		TH_LOG("union: %s", self->o.err);
	}
	restore_ok(_metadata, &self->o, self->dir, "faasnap", "3", "--ws", u,
		   "--cold");
	pu = json_num(self->o.out, "faasnap_ls_pages");
	EXPECT_LE(p1 > p2 ? p1 : p2, pu);
	EXPECT_GE(p1 + p2, pu);
	EXPECT_EQ(json_num(self->o.out, "faasnap_ws_pages"),
		  json_num(self->o.out, "faasnap_ls_mapped_pages"));
}

TEST_F_TIMEOUT(vmm, wsr, VMM_TIMEOUT)
{
	char ws1[128], ws2[128], merged[128];
	const char *margv[] = { WSRCTL, "ws", "merge", "-o", merged, ws1, ws2,
				NULL };

	if (access("/dev/wsr", R_OK | W_OK))
		SKIP(return, "no /dev/wsr");
	ASSERT_EQ(0, access(WSRCTL, X_OK));
	path(ws1, sizeof(ws1), self->work, "wsr-1.ws");
	path(ws2, sizeof(ws2), self->work, "wsr-2.ws");
	path(merged, sizeof(merged), self->work, "wsr.ws");
	restore_ok(_metadata, &self->o, self->dir, "wsr", "1", "--record",
		   ws1, NULL);
	EXPECT_LT(0, json_num(self->o.out, "wsr_tracked"));
	restore_ok(_metadata, &self->o, self->dir, "wsr", "2", "--record",
		   ws2, NULL);
	ASSERT_EQ(0, wsr_run(&self->o, margv));
	ASSERT_EQ(0, self->o.status) {
		TH_LOG("merge: %s", self->o.err);
	}
	restore_ok(_metadata, &self->o, self->dir, "wsr", "1", "--ws", merged,
		   "--cold");
	EXPECT_LT(0, json_num(self->o.out, "wsr_ws_pages"));
	restore_ok(_metadata, &self->o, self->dir, "wsr", "3", "--ws", merged,
		   "--async");
	restore_ok(_metadata, &self->o, self->dir, "wsr", "2", "--ws", merged,
		   "--async");
	/*
	 * Input 1's pages in the page cache (a cold File-backend run, whose
	 * cache drop also empties the snapshot's unused wsr base), then a
	 * lazy restore: those are left to the guest's faults, and it still
	 * gets the right result.
	 */
	restore_ok(_metadata, &self->o, self->dir, "file", "1", "--cold",
		   NULL, NULL);
	restore_ok(_metadata, &self->o, self->dir, "wsr", "1", "--ws", merged,
		   "--lazy");
	EXPECT_LT(0, json_num(self->o.out, "wsr_restore_left_cached"));
}

/*
 * The trace replays (guests/trace.c, real programs' page touches): the
 * file and wsr backends restore them right, and the wsr tracker's
 * recording of input 1 holds exactly the heap pages the trace says that
 * invocation touches, in the trace's first-touch order.
 */
FIXTURE(vmm_trace) {
	char dir[96];
	char work[96];
	struct wsr_cmd_out o;
};

FIXTURE_VARIANT(vmm_trace) {
	const char *payload;
};

FIXTURE_VARIANT_ADD(vmm_trace, py) { .payload = "trace-py" };
FIXTURE_VARIANT_ADD(vmm_trace, sqlite) { .payload = "trace-sqlite" };
FIXTURE_VARIANT_ADD(vmm_trace, zlib) { .payload = "trace-zlib" };

FIXTURE_SETUP(vmm_trace)
{
	vmm_prepare(_metadata, variant->payload, self->dir, sizeof(self->dir),
		    self->work, sizeof(self->work), &self->o);
}

FIXTURE_TEARDOWN(vmm_trace)
{
	vmm_cleanup(_metadata, self->work);
}

#define TRACE_MAX_PAGES	65536
#define HEAP_PAGE	0x200	/* WSR_GPA_HEAP >> 12 */

/*
 * Run shell command @cmd; read the numbers of its output into @pages: the
 * first field of each line, or with @ws_show the index column of "wsrctl
 * ws show --all" (restore order), heap pages only.  Returns the count.
 */
static long read_pages(struct __test_metadata *_metadata, const char *cmd,
		       const char *file, bool ws_show, unsigned long long *pages)
{
	unsigned long long i, idx;
	char line[256];
	long n = 0;
	double rank;
	FILE *f;

	ASSERT_EQ(0, system(cmd)) {
		TH_LOG("%s failed", cmd);
	}
	f = fopen(file, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f) && n < TRACE_MAX_PAGES) {
		if (ws_show ? sscanf(line, "%llu %llu %lf", &i, &idx,
				     &rank) != 3 :
			      sscanf(line, "%llu", &idx) != 1)
			continue;
		if (idx >= HEAP_PAGE)
			pages[n++] = idx;
	}
	fclose(f);
	return n;
}

TEST_F_TIMEOUT(vmm_trace, restore, VMM_TIMEOUT)
{
	restore_ok(_metadata, &self->o, self->dir, "file", "1", NULL, NULL,
		   NULL);
	restore_ok(_metadata, &self->o, self->dir, "file", "9", NULL, NULL,
		   NULL);
	if (access("/dev/wsr", R_OK | W_OK))
		SKIP(return, "no /dev/wsr");
	restore_ok(_metadata, &self->o, self->dir, "wsr", "2", NULL, NULL,
		   NULL);
	/* An input the trace does not have: the payload's error result. */
	restore_ok(_metadata, &self->o, self->dir, "wsr", "5", NULL, NULL,
		   NULL);
}

TEST_F_TIMEOUT(vmm_trace, recorded_is_trace, VMM_TIMEOUT)
{
	static unsigned long long rec[TRACE_MAX_PAGES], want[TRACE_MAX_PAGES];
	char ws[128], recf[128], wantf[128], cmd[512];
	long nrec, nwant, i;

	if (access("/dev/wsr", R_OK | W_OK))
		SKIP(return, "no /dev/wsr");
	path(ws, sizeof(ws), self->work, "wsr-1.ws");
	path(recf, sizeof(recf), self->work, "recorded.txt");
	path(wantf, sizeof(wantf), self->work, "trace.txt");
	restore_ok(_metadata, &self->o, self->dir, "wsr", "1", "--record",
		   ws, NULL);
	snprintf(cmd, sizeof(cmd), WSRCTL " ws show --all %s > %s", ws, recf);
	nrec = read_pages(_metadata, cmd, recf, true, rec);
	snprintf(cmd, sizeof(cmd), VMM " expect --snapshot %s --input 1 --pages > %s",
		 self->dir, wantf);
	nwant = read_pages(_metadata, cmd, wantf, false, want);
	ASSERT_LT(0, nwant);
	ASSERT_EQ(nwant, nrec);
	for (i = 0; i < nwant; i++)
		ASSERT_EQ(want[i], rec[i]) {
			TH_LOG("touch %ld: trace page %llu, recorded %llu", i,
			       want[i], rec[i]);
		}
	/* And the recording restores the guest right. */
	restore_ok(_metadata, &self->o, self->dir, "wsr", "1", "--ws", ws,
		   "--cold");
}

/*
 * A compressed snapshot (wsrctl snapshot compress, wsr-vmm --zsnap): the
 * guest gets its result through faults alone, through a restore of a
 * working set recorded on the plain snapshot, sync and async; what the
 * module read is compressed bytes.
 */
TEST_F_TIMEOUT(vmm, wsr_zsnap, VMM_TIMEOUT)
{
	const char *codec = strcmp(variant->payload, "dict") ? "lz4" : "zstd";
	const char *chunk = strcmp(variant->payload, "scan") ? "128K" : "2M";
	char mem[128], z[128], ws[128];
	const char *cargv[] = { WSRCTL, "snapshot", "compress", "--codec",
				codec, "--chunk", chunk, mem, z, NULL };
	struct wsr_api api;
	struct stat st;

	if (access("/dev/wsr", R_OK | W_OK))
		SKIP(return, "no /dev/wsr");
	ASSERT_EQ(0, wsr_probe(&api));
	if (!(api.features & WSR_FEATURE_COMPRESSED))
		SKIP(return, "module lacks WSR_FEATURE_COMPRESSED");
	ASSERT_EQ(0, access(WSRCTL, X_OK));
	path(mem, sizeof(mem), self->dir, "mem");
	path(z, sizeof(z), self->work, "mem.zsnap");
	path(ws, sizeof(ws), self->work, "wsr-1.ws");
	ASSERT_EQ(0, wsr_run(&self->o, cargv));
	ASSERT_EQ(0, self->o.status) {
		TH_LOG("compress: %s", self->o.err);
	}
	ASSERT_EQ(0, stat(z, &st));

	restore_zok(_metadata, &self->o, self->dir, "wsr", "1", z, "--cold",
		    NULL, NULL);
	EXPECT_LT(0, json_num(self->o.out, "wsr_bytes_read"));
	EXPECT_GE(st.st_size, json_num(self->o.out, "wsr_bytes_read"));
	EXPECT_LT(0, json_num(self->o.out, "wsr_faults_device"));
	EXPECT_LE(0, json_num(self->o.out, "wsr_decompress_us"));
	EXPECT_LE(0, json_num(self->o.out, "wsr_chunks_decompressed"));

	/* The plain snapshot decompresses nothing. */
	restore_ok(_metadata, &self->o, self->dir, "wsr", "1", "--record", ws,
		   NULL);
	EXPECT_EQ(0, json_num(self->o.out, "wsr_decompress_us"));
	EXPECT_EQ(0, json_num(self->o.out, "wsr_chunks_decompressed"));
	restore_zok(_metadata, &self->o, self->dir, "wsr", "1", z, "--ws", ws,
		    "--cold");
	EXPECT_LT(0, json_num(self->o.out, "wsr_restore_from_device"));
	EXPECT_GE(st.st_size, json_num(self->o.out, "wsr_bytes_read"));
	restore_zok(_metadata, &self->o, self->dir, "wsr", "2", z, "--ws", ws,
		    "--async");
}

/*
 * The twice counter itself: O_DIRECT reads of the snapshot's memory file,
 * pages 0-15, 8-23, 256 and 256 again: 25 pages delivered, 9 of them
 * twice (8-15 and 256).
 */
TEST_F_TIMEOUT(vmm_kv, twice_counter, VMM_TIMEOUT)
{
	char mem[128];
	const char *argv[] = { VMM, "devreads", mem, "0:64K", "32K:64K",
			       "1M:4K", "1M:4K", NULL };
	const char *once[] = { VMM, "devreads", mem, "0:64K", "64K:64K",
			       NULL };

	path(mem, sizeof(mem), self->dir, "mem");
	ASSERT_EQ(0, wsr_run(&self->o, argv));
	ASSERT_EQ(0, self->o.status) {
		TH_LOG("devreads: %s%s", self->o.out, self->o.err);
	}
	EXPECT_EQ(25, json_num(self->o.out, "dev_pages")) {
		TH_LOG("%s", self->o.out);
	}
	EXPECT_EQ(9, json_num(self->o.out, "read_twice"));
	EXPECT_LE(4, json_num(self->o.out, "dev_reads"));
	/* Adjacent reads: nothing twice. */
	ASSERT_EQ(0, wsr_run(&self->o, once));
	ASSERT_EQ(0, self->o.status);
	EXPECT_EQ(32, json_num(self->o.out, "dev_pages"));
	EXPECT_EQ(0, json_num(self->o.out, "read_twice"));
}

/*
 * Flip one byte in every 64 from @from on: every record, slot, object and
 * dictionary run a payload reads then holds a wrong byte.
 */
static int corrupt_file(const char *file, unsigned long long from)
{
	const size_t chunk = 1 << 20;
	unsigned char *buf = malloc(chunk);
	int fd = open(file, O_RDWR | O_CLOEXEC), ret = 0;
	unsigned long long off;
	ssize_t n;
	size_t i;

	if (fd < 0 || !buf) {
		free(buf);
		return -EIO;
	}
	for (off = from; ; off += n) {
		n = pread(fd, buf, chunk, off);
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		for (i = 59; i < (size_t)n; i += 64)
			buf[i] ^= 0x5a;
		if (pwrite(fd, buf, n, off) != n) {
			ret = -EIO;
			break;
		}
	}
	close(fd);
	free(buf);
	return ret;
}

static void restore_fails(struct __test_metadata *_metadata,
			  struct wsr_cmd_out *o, const char *dir,
			  const char *backend, const char *a1, const char *a2)
{
	const char *argv[] = { VMM, "restore", "--snapshot", dir,
			       "--backend", backend, "--input", "5", "--json",
			       a1, a2, NULL };

	ASSERT_EQ(0, wsr_run(o, argv));
	EXPECT_EQ(1, o->status);
	/*
	 * Wrong bytes either reach the result (a mismatch) or break the guest
	 * itself (corrupted code or page tables end in a shutdown exit): both
	 * must be reported, never a passing run.
	 */
	if (strstr(o->err, "restored guest failed")) {
		EXPECT_EQ(NULL, strstr(o->out, "\"ok\":true"));
		return;
	}
	EXPECT_NE(NULL, strstr(o->out, "\"ok\":false")) {
		TH_LOG("%s", o->out);
	}
	EXPECT_NE(NULL, strstr(o->err, "MISMATCH")) {
		TH_LOG("%s", o->err);
	}
}

TEST_F_TIMEOUT(vmm, corrupt_snapshot, VMM_TIMEOUT)
{
	char copy[128], cmd[512], file[160];

	path(copy, sizeof(copy), self->work, "snap");
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp %s/mem %s/state %s/",
		 copy, self->dir, self->dir, copy);
	ASSERT_EQ(0, system(cmd));
	path(file, sizeof(file), copy, "mem");
	ASSERT_EQ(0, corrupt_file(file, 2 << 20));
	restore_fails(_metadata, &self->o, copy, "file", NULL, NULL);
	restore_fails(_metadata, &self->o, copy, "eager", NULL, NULL);
}

/*
 * Corrupt the data of the loading-set file: the faasnap restore reads its
 * working-set regions from there and must fail; faasnap-mincore, which
 * maps the memory file only, still computes the right result.
 */
TEST_F_TIMEOUT(vmm_kv, corrupt_faasnap_ls, VMM_TIMEOUT)
{
	char ls[128];
	long long data_off;

	path(ls, sizeof(ls), self->work, "faasnap.ls");
	restore_ok(_metadata, &self->o, self->dir, "faasnap", "5", "--record",
		   ls, "--cold");
	restore_ok(_metadata, &self->o, self->dir, "faasnap", "5", "--ws", ls,
		   NULL);
	data_off = json_num(self->o.out, "faasnap_ls_data_off");
	ASSERT_LT(0, data_off);
	ASSERT_EQ(0, corrupt_file(ls, data_off));
	restore_ok(_metadata, &self->o, self->dir, "faasnap-mincore", "5",
		   "--ws", ls, NULL);
	restore_fails(_metadata, &self->o, self->dir, "faasnap", "--ws", ls);
}

TEST_F_TIMEOUT(vmm, corrupt_reap_ws, VMM_TIMEOUT)
{
	char ws[128];

	path(ws, sizeof(ws), self->work, "reap.ws");
	restore_ok(_metadata, &self->o, self->dir, "reap", "5", "--record",
		   ws, NULL);
	ASSERT_EQ(0, corrupt_file(ws, 0));
	restore_fails(_metadata, &self->o, self->dir, "reap", "--ws", ws);
}

/* Lines of @file, each handed to @fn; -errno if it cannot be read. */
static int for_lines(const char *file, void (*fn)(const char *, void *),
		     void *arg)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t len = 0;

	if (!f)
		return -errno;
	while (getline(&line, &len, f) > 0)
		fn(line, arg);
	free(line);
	fclose(f);
	return 0;
}

#define BENCH_ROWS	4
#define BENCH_CELLS	(BENCH_ROWS * 2 * 2)	/* rows x inputs x caches */

/* What the bench smoke test counts in wsr-bench's runs.jsonl. */
struct bench_count {
	const char *rows[BENCH_ROWS];
	int lines, bad, cell[BENCH_CELLS];
	char order[2][BENCH_CELLS / 2][24];	/* cold rows per repeat */
	int norder[2];
	long long nohuge_huge;	/* wsr-nohuge's 2 MiB folios, cold */
};

static void bench_count_run(const char *line, void *arg)
{
	struct bench_count *c = arg;
	char row[24], cache[8], buf[24];
	long long in = json_num(line, "input"), rep = json_num(line, "rep");
	int r, cold;

	c->lines++;
	if (!strstr(line, "\"ok\":true") || rep < 1 || rep > 2 ||
	    !wsr_json_get(line, "row", row, sizeof(row)) ||
	    !wsr_json_get(line, "cache", cache, sizeof(cache)) ||
	    !wsr_json_get(line, "model", buf, sizeof(buf)) ||
	    strcmp(buf, "host")) {
		c->bad++;
		return;
	}
	for (r = 0; r < BENCH_ROWS && strcmp(c->rows[r], row); r++)
		;
	cold = !strcmp(cache, "cold");
	if (r == BENCH_ROWS || (in != 1 && in != 9)) {
		c->bad++;
		return;
	}
	c->cell[(r * 2 + (in == 9)) * 2 + cold]++;
	if (cold && c->norder[rep - 1] < BENCH_CELLS / 2)
		snprintf(c->order[rep - 1][c->norder[rep - 1]++], 24,
			 "%s/%lld", row, in);
	if (cold && !strcmp(row, "wsr-nohuge:U"))
		c->nohuge_huge += json_num(line, "wsr_resident_huge") +
				  json_num(line, "wsr_faults_huge");
}

static void count_line(const char *line, void *arg)
{
	(*(int *)arg)++;
	if (strstr(line, "\"batch\":true") &&
	    json_num(line, "failed") != 0)
		(*(int *)arg) += 1000;
}

/*
 * make bench's driver on a small grid: the host model, kv, four rows (an
 * ablation and a compressed copy among them), two repeats, cold and warm,
 * batches of two.  Every run is there once per repeat with a right
 * result, the repeats ran in different orders, the ablation's knob
 * applied to its run (no 2 MiB folio in a cold run without them: no chunk
 * mode carried over from another run) and was put back, and the batches
 * and recordings were written.
 */
TEST_F_TIMEOUT(vmm_kv, bench_driver, VMM_TIMEOUT)
{
	struct bench_count c = {
		.rows = { "file", "wsr:U", "wsr-nohuge:U", "wsr-lz4:U" },
	};
	const char *argv[] = { "/usr/bin/wsr-bench", NULL };
	char dir[128], file[160], huge[16], huge_after[16];
	int i, conc = 0, recs = 0;

	if (access("/usr/bin/wsr-devmodel", X_OK))
		SKIP(return, "no wsr-devmodel");
	path(dir, sizeof(dir), self->work, "bench");
	wsr_slurp("/sys/kernel/mm/wsr/huge_enabled", huge, sizeof(huge));
	setenv("WSR_BENCH_DIR", dir, 1);
	setenv("WSR_BENCH_MODELS", "host", 1);
	setenv("WSR_BENCH_WORKLOADS", "kv", 1);
	setenv("WSR_BENCH_REPEATS", "2", 1);
	setenv("WSR_BENCH_MEM", MEM, 1);
	setenv("WSR_BENCH_CONC", "2", 1);
	setenv("WSR_BENCH_CONC_REPEATS", "2", 1);
	setenv("WSR_BENCH_CONC_BACKENDS", "wsr:U", 1);
	setenv("WSR_BENCH_ROWS",
	       "file wsr:U wsr-nohuge:U:huge_enabled=0 wsr-lz4:U", 1);
	ASSERT_EQ(0, wsr_run(&self->o, argv));
	ASSERT_EQ(0, self->o.status) {
		TH_LOG("wsr-bench: %s%s", self->o.out, self->o.err);
	}
	path(file, sizeof(file), dir, "runs.jsonl");
	ASSERT_EQ(0, for_lines(file, bench_count_run, &c));
	EXPECT_EQ(0, c.bad);
	EXPECT_EQ(2 * BENCH_CELLS, c.lines);
	for (i = 0; i < BENCH_CELLS; i++)
		EXPECT_EQ(2, c.cell[i]) {
			TH_LOG("cell %d (row %s, input %d, %s)", i,
			       c.rows[i / 4], i & 2 ? 9 : 1,
			       i & 1 ? "cold" : "warm");
		}
	ASSERT_EQ(BENCH_CELLS / 2, c.norder[0]);
	ASSERT_EQ(BENCH_CELLS / 2, c.norder[1]);
	EXPECT_NE(0, memcmp(c.order[0], c.order[1], sizeof(c.order[0])));
	EXPECT_EQ(0, c.nohuge_huge);
	wsr_slurp("/sys/kernel/mm/wsr/huge_enabled", huge_after,
		  sizeof(huge_after));
	EXPECT_STREQ(huge, huge_after);
	/* 2 repeats x (2 instances + the batch's summary) */
	path(file, sizeof(file), dir, "conc.jsonl");
	ASSERT_EQ(0, for_lines(file, count_line, &conc));
	EXPECT_EQ(6, conc);
	/* reap and faasnap on 1 2 3, wsr also on 9 (the limit row) */
	path(file, sizeof(file), dir, "recordings.jsonl");
	ASSERT_EQ(0, for_lines(file, count_line, &recs));
	EXPECT_EQ(10, recs);
}

WSR_HARNESS_MAIN
