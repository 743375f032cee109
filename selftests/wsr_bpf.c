// SPDX-License-Identifier: GPL-2.0
/*
 * BPF suite: wsrtop (userspace/bpf/), attached to wsr.ko's tracepoints
 * through raw_tp programs, must count exactly what the module counts.
 *
 * Each test starts `wsrtop --json`, waits for its "ready" line, runs a
 * scripted restore on a fresh region over /data/snap-64M (faults before,
 * a restore of a working set whose pages are partly in the page cache,
 * already in the region or cold, faults after, copy-on-write faults
 * through a second mapping), reads WSR_IOC_STATS,
 * destroys the region, stops the tool with SIGINT and compares the tool's
 * JSON summary with the module's counters, field by field.
 *
 * SKIP when the module, BPF (bpf() syscall) or the wsr tracepoints are
 * missing; a missing or failing wsrtop is a FAIL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define WSRTOP_DEFAULT	"/usr/bin/wsrtop"
#define READY_LINE	"wsrtop: ready"
#define READY_MS	120000	/* BPF load under TCG + KASAN is slow */
#define EXIT_MS		60000

#define REGION_OFF	(20 * WSR_HUGE)
#define REGION_LEN	(8ULL << 20)	/* 4 chunks of 512 pages */

/*
 * The script, in page indices of the region.  Pages 1024..1279 (chunk 2)
 * and 1600..1679 (chunk 3) are read into the page cache first; everything
 * else of the region is cold.
 */
static const uint64_t warm_ranges[][2] = { { 1024, 1280 }, { 1600, 1680 } };
static const uint64_t touch_before[] = { 5, 6, 7, 1030 };
/* Restore: chunk 1 whole (dense), warm, cold and present pages. */
static const uint64_t ws_extra[] = { 5, 6, 1800, 1802, 1804 };
#define WS_WARM_A	1100	/* 1100..1199: warm, chunk 2 */
#define WS_WARM_B	1600	/* 1600..1663: warm, chunk 3 */
#define WS_COLD		1700	/* 1700..1739: cold, chunk 3 */
/*
 * After: restored pages (mapped by the restore, or by fault-around once
 * a background restore loaded them: no ->fault), a warm page and a cold
 * one.
 */
static const uint64_t touch_after[] = {
	512, 576, 640, 1000, 1023, 1100, 1150, 1600, 1650, 1700, 1802,
	1670, 1900,
};
/*
 * Restored pages written first through a mapping made after the restore:
 * a copy-on-write fault calls ->fault, which finds them in the base
 * (faults_present); a read would be mapped by fault-around without it.
 */
static const uint64_t write_after[] = { 512, 1100, 1802 };

/* Fields of the tool's region object that must equal struct wsr_stats. */
#define STAT_FIELD(f)	{ #f, offsetof(struct wsr_stats, f) }
static const struct {
	const char *name;
	size_t off;
} stat_fields[] = {
	STAT_FIELD(faults),
	STAT_FIELD(faults_huge),
	STAT_FIELD(faults_present),
	STAT_FIELD(faults_cache),
	STAT_FIELD(faults_device),
	STAT_FIELD(pages_cache),
	STAT_FIELD(pages_device),
	STAT_FIELD(bytes_read),
};

FIXTURE(bpf)
{
	int dev;
	int snap;
	struct wsr_api api;
	char *mem;
	pid_t tool;
	int tool_out;
	int tool_err;
	char *out;
	char err[4096];
	size_t err_len;
	struct wsr_knob_save knobs[2];
};

FIXTURE_VARIANT(bpf)
{
	uint32_t create_flags;
	uint32_t restore_flags;
};

FIXTURE_VARIANT_ADD(bpf, small)
{
	.create_flags = WSR_CREATE_NO_HUGE,
	.restore_flags = 0,
};

FIXTURE_VARIANT_ADD(bpf, huge)
{
	.create_flags = 0,
	.restore_flags = 0,
};

FIXTURE_VARIANT_ADD(bpf, small_async)
{
	.create_flags = WSR_CREATE_NO_HUGE,
	.restore_flags = WSR_RESTORE_ASYNC,
};

FIXTURE_VARIANT_ADD(bpf, huge_async)
{
	.create_flags = 0,
	.restore_flags = WSR_RESTORE_ASYNC,
};

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/*
 * Can a raw_tp program attach to tracepoint @name?  0, or -ENOSYS (no
 * BPF), -EPERM, -ENOENT (no such tracepoint).
 */
static int probe_raw_tp(const char *name)
{
	struct bpf_insn insns[2];
	union bpf_attr attr;
	int prog, link, ret = 0;

	memset(insns, 0, sizeof(insns));
	insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;	/* r0 = 0 */
	insns[0].dst_reg = BPF_REG_0;
	insns[1].code = BPF_JMP | BPF_EXIT;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uintptr_t)"GPL";
	prog = sys_bpf(BPF_PROG_LOAD, &attr);
	if (prog < 0)
		return -errno;
	memset(&attr, 0, sizeof(attr));
	attr.raw_tracepoint.name = (uintptr_t)name;
	attr.raw_tracepoint.prog_fd = prog;
	link = sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &attr);
	if (link < 0)
		ret = -errno;
	else
		close(link);
	close(prog);
	return ret;
}

static const char *wsrtop_path(void)
{
	const char *p = getenv("WSRTOP");

	return p && *p ? p : WSRTOP_DEFAULT;
}

/* Append what the tool wrote on stderr, without blocking. */
static void drain_err(FIXTURE_DATA(bpf) *self)
{
	ssize_t n;

	while (self->err_len < sizeof(self->err) - 1) {
		n = read(self->tool_err, self->err + self->err_len,
			 sizeof(self->err) - 1 - self->err_len);
		if (n <= 0)
			break;
		self->err_len += n;
	}
	self->err[self->err_len] = '\0';
}

/*
 * Start wsrtop with @argv, its stdout into a temporary file (a pipe could
 * fill up with the live view while the test is busy), and wait until it
 * has attached.  0, or -errno; -ECHILD when the tool exited first (its
 * stderr is in self->err).
 */
static int tool_start(FIXTURE_DATA(bpf) *self, char *const argv[])
{
	uint64_t deadline = wsr_now_ns() + READY_MS * 1000000ULL;
	struct pollfd pfd;
	int err[2];

	self->tool_out = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (self->tool_out < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC))
		return -errno;
	self->tool = fork();
	if (self->tool < 0)
		return -errno;
	if (!self->tool) {
		dup2(self->tool_out, STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(wsrtop_path(), argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", wsrtop_path(),
			strerror(errno));
		_exit(127);
	}
	close(err[1]);
	self->tool_err = err[0];
	fcntl(self->tool_err, F_SETFL, O_NONBLOCK);

	pfd.fd = self->tool_err;
	pfd.events = POLLIN;
	while (!strstr(self->err, READY_LINE)) {
		uint64_t now = wsr_now_ns();
		size_t before = self->err_len;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (deadline - now) / 1000000 + 1) < 0 &&
		    errno != EINTR)
			return -errno;
		drain_err(self);
		if (self->err_len == before && (pfd.revents & POLLHUP))
			return -ECHILD;
	}
	return 0;
}

/*
 * SIGINT the tool, wait for it, read its stdout into self->out.  Returns
 * its wait status or -errno.
 */
static int tool_stop(FIXTURE_DATA(bpf) *self)
{
	uint64_t deadline = wsr_now_ns() + EXIT_MS * 1000000ULL;
	struct stat sb;
	pid_t pid;
	int status;

	if (kill(self->tool, SIGINT))
		return -errno;
	while ((pid = waitpid(self->tool, &status, WNOHANG)) == 0) {
		if (wsr_now_ns() >= deadline)
			return -ETIMEDOUT;
		usleep(10000);
	}
	if (pid != self->tool)
		return -errno;
	self->tool = 0;
	drain_err(self);
	if (fstat(self->tool_out, &sb))
		return -errno;
	self->out = calloc(1, sb.st_size + 1);
	if (!self->out)
		return -ENOMEM;
	if (sb.st_size &&
	    wsr_pread_full(self->tool_out, self->out, sb.st_size, 0))
		return -EIO;
	return status;
}

static bool json_true(const char *obj, const char *key)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "\"%s\": true", key);
	return strstr(obj, pat);
}

/*
 * Find the region object (one line) created by this test: offset and
 * length match and the tool saw its creation.  Returns a malloc'ed copy
 * of the line, NULL when there is not exactly one.
 */
static char *find_region(const char *out, int *matches)
{
	const char *line = out, *nl;
	char *found = NULL, *copy;
	uint64_t off, len;

	*matches = 0;
	for (; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line);
		copy = strndup(line, nl - line);
		if (copy && strstr(copy, "{\"region\": ") &&
		    !wsr_json_u64(copy, "offset", &off) && off == REGION_OFF &&
		    !wsr_json_u64(copy, "length", &len) && len == REGION_LEN &&
		    json_true(copy, "created")) {
			(*matches)++;
			free(found);
			found = copy;
			copy = NULL;
		}
		free(copy);
		if (!*nl)
			break;
	}
	if (*matches != 1) {
		free(found);
		return NULL;
	}
	return found;
}

/* Sum of the "count"s of the histograms in the "@name": {...} object. */
static int hist_total(const char *out, const char *name, uint64_t *total)
{
	char pat[64];
	const char *p, *end;
	uint64_t v;
	char *e;

	snprintf(pat, sizeof(pat), "\"%s\": {", name);
	p = strstr(out, pat);
	if (!p)
		return -ENOENT;
	/* The buckets are objects too: the object closes with "\n  }". */
	end = strstr(p, "\n  }");
	if (!end)
		return -EINVAL;
	*total = 0;
	while ((p = strstr(p, "\"count\": ")) && p < end) {
		p += strlen("\"count\": ");
		v = strtoull(p, &e, 10);
		if (e == p)
			return -EINVAL;
		*total += v;
	}
	return 0;
}

FIXTURE_SETUP(bpf)
{
	int ret;

	ASSERT_EQ(0, wsr_drop_caches());
	self->dev = -1;
	self->snap = -1;
	self->tool_out = -1;
	self->tool_err = -1;
	ret = wsr_probe(&self->api);
	if (ret == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_EQ(0, ret);
	if (!(self->api.features & WSR_FEATURE_RESTORE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_RESTORE");
	if ((variant->restore_flags & WSR_RESTORE_ASYNC) &&
	    !(self->api.features & WSR_FEATURE_ASYNC))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_ASYNC");
	if (!(variant->create_flags & WSR_CREATE_NO_HUGE) &&
	    !(self->api.features & WSR_FEATURE_HUGE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_HUGE");

	ret = probe_raw_tp("wsr_fault");
	if (ret == -ENOSYS || ret == -EPERM)
		WSR_SETUP_SKIP("cannot load BPF programs: %s", strerror(-ret));
	if (ret == -ENOENT)
		WSR_SETUP_SKIP("no wsr_fault tracepoint for raw_tp");
	ASSERT_EQ(0, ret) TH_LOG("raw_tp probe: %s", strerror(-ret));
	ASSERT_EQ(0, access(wsrtop_path(), X_OK))
		TH_LOG("%s: %s", wsrtop_path(), strerror(errno));

	/* The policy the script relies on to get 2 MiB chunks. */
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[0], "huge_enabled", 1));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[1], "huge_threshold",
				       WSR_HUGE_PAGES / 2));

	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " WSR_SNAP);
	self->dev = wsr_open();
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, wsr_handshake(self->dev, &self->api));
}

FIXTURE_TEARDOWN(bpf)
{
	if (self->tool > 0) {
		kill(self->tool, SIGKILL);
		waitpid(self->tool, NULL, 0);
	}
	if (self->mem)
		munmap(self->mem, REGION_LEN);
	if (self->dev >= 0)
		close(self->dev);
	if (self->snap >= 0)
		close(self->snap);
	if (self->tool_out >= 0)
		close(self->tool_out);
	if (self->tool_err >= 0)
		close(self->tool_err);
	free(self->out);
	EXPECT_EQ(0, wsr_knob_restore(&self->knobs[0]));
	EXPECT_EQ(0, wsr_knob_restore(&self->knobs[1]));
}

/* Read [first, end) pages of the region's file range into page cache. */
static int warm(int snap, uint64_t first, uint64_t end)
{
	char *buf = malloc(WSR_PAGE);
	uint64_t i;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (i = first; i < end && !ret; i++)
		ret = wsr_pread_full(snap, buf, WSR_PAGE,
				     REGION_OFF + i * WSR_PAGE);
	free(buf);
	return ret;
}

static uint64_t *build_ws(uint64_t *count)
{
	uint64_t *ws = malloc(1024 * sizeof(*ws));
	uint64_t i, n = 0;

	if (!ws)
		return NULL;
	for (i = 0; i < 512; i++)
		ws[n++] = 1023 - i;
	for (i = 0; i < 100; i++)
		ws[n++] = WS_WARM_A + i;
	for (i = 0; i < 64; i++)
		ws[n++] = WS_WARM_B + i;
	for (i = 0; i < 40; i++)
		ws[n++] = WS_COLD + i;
	for (i = 0; i < ARRAY_SIZE(ws_extra); i++)
		ws[n++] = ws_extra[i];
	*count = n;
	return ws;
}

/*
 * With wsrtop @argv running: warm part of the page cache, create a region,
 * fault, restore, fault again, read the region's statistics into @st,
 * destroy the region, after @linger_ms stop the tool (its stdout in
 * self->out).
 */
static void run_script(struct __test_metadata *_metadata,
		       FIXTURE_DATA(bpf) *self,
		       const FIXTURE_VARIANT(bpf) *variant,
		       char *const argv[], unsigned int linger_ms,
		       struct wsr_stats *st, struct wsr_restore *rs)
{
	uint64_t nws, i, regions0;
	int64_t left;
	int ret, status;
	uint64_t *ws;
	void *p;

	ASSERT_EQ(0, wsr_knob_get("regions", &regions0));
	ret = tool_start(self, argv);
	ASSERT_EQ(0, ret) TH_LOG("wsrtop did not start (%s), stderr:\n%s",
				 strerror(-ret), self->err);

	/* Page cache: only the warm ranges of the region are resident. */
	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
	for (i = 0; i < ARRAY_SIZE(warm_ranges); i++)
		ASSERT_EQ(0, warm(self->snap, warm_ranges[i][0],
				  warm_ranges[i][1]));

	ASSERT_EQ(0, wsr_create(self->dev, self->snap, variant->create_flags,
				REGION_OFF, REGION_LEN));
	p = mmap(NULL, REGION_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->dev, 0);
	ASSERT_NE(MAP_FAILED, p);
	self->mem = p;

	for (i = 0; i < ARRAY_SIZE(touch_before); i++)
		wsr_touch(self->mem, touch_before[i]);

	ws = build_ws(&nws);
	ASSERT_NE(NULL, ws);
	ret = wsr_restore(self->dev, ws, nws, variant->restore_flags, rs);
	free(ws);
	ASSERT_EQ(0, ret);
	if (variant->restore_flags & WSR_RESTORE_ASYNC) {
		/* Faults while the background part runs, then the rest. */
		wsr_touch(self->mem, 1804);
		wsr_touch(self->mem, 1739);
		ASSERT_EQ(0, wsr_wait(self->dev, 0));
	}
	for (i = 0; i < ARRAY_SIZE(touch_after); i++)
		wsr_touch(self->mem, touch_after[i]);
	p = mmap(NULL, REGION_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->dev, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < ARRAY_SIZE(write_after); i++)
		wsr_store64((char *)p + write_after[i] * WSR_PAGE, i + 1);
	ASSERT_EQ(0, munmap(p, REGION_LEN));
	ASSERT_EQ(0, wsr_get_stats(self->dev, st));

	/* The script exercised every source. */
	ASSERT_LT(0, st->faults_present);
	ASSERT_LT(0, st->faults_cache);
	ASSERT_LT(0, st->faults_device);
	ASSERT_LT(0, st->pages_cache);
	ASSERT_LT(0, st->pages_device);
	if (!(variant->create_flags & WSR_CREATE_NO_HUGE))
		ASSERT_LT(0, st->faults_huge);

	/* Destroy the region so that wsr_region_destroy is traced too. */
	ASSERT_EQ(0, munmap(self->mem, REGION_LEN));
	self->mem = NULL;
	close(self->dev);
	self->dev = -1;
	left = wsr_wait_regions(regions0, 10000);
	ASSERT_EQ((int64_t)regions0, left);

	usleep(linger_ms * 1000);
	status = tool_stop(self);
	ASSERT_LE(0, status) TH_LOG("stopping wsrtop: %s", strerror(-status));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("wsrtop status 0x%x, stderr:\n%s", status, self->err);
}

/* The JSON summary: every counter, the attribution, the histograms. */
TEST_F_TIMEOUT(bpf, json_counts_match_stats, 600)
{
	char *const argv[] = { "wsrtop", "--json", NULL };
	uint64_t i, v, want, total;
	struct wsr_restore rs;
	struct wsr_stats st;
	int matches;
	char *obj;

	run_script(_metadata, self, variant, argv, 0, &st, &rs);
	obj = find_region(self->out, &matches);
	ASSERT_NE(NULL, obj) TH_LOG("%d matching regions in:\n%s", matches,
				    self->out);

	for (i = 0; i < ARRAY_SIZE(stat_fields); i++) {
		want = *(const __u64 *)((const char *)&st + stat_fields[i].off);
		ASSERT_EQ(0, wsr_json_u64(obj, stat_fields[i].name, &v))
			TH_LOG("no %s in %s", stat_fields[i].name, obj);
		EXPECT_EQ(want, v) TH_LOG("%s: wsrtop %llu, module %llu",
					  stat_fields[i].name,
					  (unsigned long long)v,
					  (unsigned long long)want);
	}

	/* No event the tool could not classify. */
	ASSERT_EQ(0, wsr_json_u64(obj, "faults_unknown", &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, wsr_json_u64(obj, "runs_unknown", &v));
	EXPECT_EQ(0, v);

	/* One restore; its runs, attributed by task, match its totals. */
	ASSERT_EQ(0, wsr_json_u64(obj, "restores", &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, wsr_json_u64(obj, "restores_pages_cache", &want));
	ASSERT_EQ(0, wsr_json_u64(obj, "restore_pages_cache", &v));
	EXPECT_EQ(want, v);
	ASSERT_EQ(0, wsr_json_u64(obj, "restores_pages_device", &want));
	ASSERT_EQ(0, wsr_json_u64(obj, "restore_pages_device", &v));
	EXPECT_EQ(want, v);
	EXPECT_LT(0, want);
	ASSERT_EQ(0, wsr_json_u64(obj, "inflight_runs", &v));
	EXPECT_EQ(0, v);
	if (!(variant->restore_flags & WSR_RESTORE_ASYNC)) {
		ASSERT_EQ(0, wsr_json_u64(obj, "restores_pages_cache", &v));
		EXPECT_EQ(rs.from_cache, v);
		ASSERT_EQ(0, wsr_json_u64(obj, "restores_pages_device", &v));
		EXPECT_EQ(rs.from_device, v);
	}

	/* Every loaded page is a 4 KiB fault, a chunk load or a restore. */
	ASSERT_EQ(0, wsr_json_u64(obj, "fault_pages_device", &total));
	ASSERT_EQ(0, wsr_json_u64(obj, "chunk_pages_device", &v));
	total += v;
	ASSERT_EQ(0, wsr_json_u64(obj, "restore_pages_device", &v));
	EXPECT_EQ(st.pages_device, total + v);

	/* The module's own totals at destruction. */
	ASSERT_TRUE(json_true(obj, "destroyed"));
	ASSERT_EQ(0, wsr_json_u64(obj, "destroy_faults", &v));
	EXPECT_EQ(st.faults, v);
	ASSERT_EQ(0, wsr_json_u64(obj, "destroy_bytes_read", &v));
	EXPECT_EQ(st.bytes_read, v);

	/* The fault histograms hold exactly this region's faults. */
	ASSERT_EQ(0, hist_total(self->out, "fault_latency_ns", &total));
	EXPECT_EQ(st.faults, total);
	free(obj);
}

/*
 * Find the text summary's row of this test's region (offset 40.0M, length
 * 8.0M, destroyed) and read its counters.  -ENOENT when there is none.
 */
static int text_row(const char *out, struct wsr_stats *t)
{
	unsigned long long f, h, pool, c, d, pc, pd, b, runs, rst;
	char off[16], len[16], state[16];
	const char *line;
	unsigned int id;

	line = strstr(out, "\nREGION  OFFSET");
	if (!line)
		return -ENOENT;
	while ((line = strchr(line + 1, '\n'))) {
		if (sscanf(line + 1,
			   "%u %15s %15s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %15s",
			   &id, off, len, &f, &h, &pool, &c, &d, &pc, &pd, &b,
			   &runs, &rst, state) != 14)
			break;
		if (strcmp(off, "40.0M") || strcmp(len, "8.0M") ||
		    strcmp(state, "destroyed"))
			continue;
		memset(t, 0, sizeof(*t));
		t->faults = f;
		t->faults_huge = h;
		t->faults_present = pool;
		t->faults_cache = c;
		t->faults_device = d;
		t->pages_cache = pc;
		t->pages_device = pd;
		t->bytes_read = b;
		return 0;
	}
	return -ENOENT;
}

/* The live view and the text summary, with its table and histograms. */
TEST_F_TIMEOUT(bpf, text_counts_match_stats, 600)
{
	char *const argv[] = { "wsrtop", "--interval", "0.1", NULL };
	struct wsr_stats st, t;
	struct wsr_restore rs;
	uint64_t want, v;
	size_t i;

	run_script(_metadata, self, variant, argv, 500, &st, &rs);
	ASSERT_NE(NULL, strstr(self->out, "FAULTS/s"))
		TH_LOG("no live view in:\n%s", self->out);
	ASSERT_EQ(0, text_row(self->out, &t))
		TH_LOG("no summary row for the region in:\n%s", self->out);
	for (i = 0; i < ARRAY_SIZE(stat_fields); i++) {
		want = *(const __u64 *)((const char *)&st + stat_fields[i].off);
		v = *(const __u64 *)((const char *)&t + stat_fields[i].off);
		EXPECT_EQ(want, v) TH_LOG("%s: wsrtop %llu, module %llu",
					  stat_fields[i].name,
					  (unsigned long long)v,
					  (unsigned long long)want);
	}
	EXPECT_NE(NULL, strstr(self->out, "fault latency, source device"));
	EXPECT_NE(NULL, strstr(self->out, "restore latency (whole restores)"));
}

WSR_HARNESS_MAIN
