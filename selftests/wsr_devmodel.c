// SPDX-License-Identifier: GPL-2.0
/*
 * devmodel suite: the storage device models of the benchmarks
 * (userspace/vmm/wsr-devmodel) and their check (wsr-devcheck).
 *
 * "wsr-devmodel up sata DIR" must make a null_blk disk with exactly the
 * profile's parameters (read back from configfs and sysfs), hold a file
 * that reads back byte for byte after the page cache is dropped, count an
 * O_DIRECT read in the disk's stat by its exact sectors, and "down" must
 * remove the mount, the disk and its configfs directory.  wsr-devcheck
 * must print well-formed numbers.  No timing is asserted: how close the
 * models come to their datasheets is measured, not unit-tested
 * (userspace/vmm/README.md).  Without configfs or null_blk: SKIP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define DEVMODEL	"/usr/bin/wsr-devmodel"
#define DEVCHECK	"/usr/bin/wsr-devcheck"
#define MNT		"/tmp/devmodel-test"
#define DISK		"wsrsata"
#define CONFIG_DIR	"/sys/kernel/config/nullb/" DISK
#define SYS_DIR		"/sys/block/" DISK
#define DEV_PATH	"/dev/" DISK
/* mke2fs of 1 GiB at SATA speed on the debug kernel, under TCG */
#define DEVMODEL_TIMEOUT	300
#define SPIN_PIDFILE	"/tmp/wsr-devmodel-" DISK ".spin"

/* The kernel side the models need: configfs and null_blk (built in). */
static bool devmodel_supported(void)
{
	FILE *f = fopen("/proc/filesystems", "re");
	char line[128];
	bool configfs = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "\tconfigfs"))
			configfs = true;
	fclose(f);
	return configfs && !access("/sys/module/null_blk", F_OK) &&
	       !access(DEVMODEL, X_OK) && !access(DEVCHECK, X_OK);
}

static int devmodel(struct wsr_cmd_out *o, const char *verb, const char *model)
{
	const char *argv[] = { DEVMODEL, verb, model, MNT, NULL };

	if (!strcmp(verb, "params"))
		argv[3] = NULL;
	return wsr_run(o, argv);
}

/* A sysfs or configfs file as a number; -1 when unreadable. */
static long long read_num(const char *dir, const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (wsr_read_text(path, buf, sizeof(buf)) || !buf[0])
		return -1;
	return atoll(buf);
}

/* A zombie still answers kill(pid, 0): look at its state instead. */
static bool pid_running(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (wsr_read_text(path, buf, sizeof(buf)))
		return false;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z';
}

/* Field @idx (0-based) of /sys/block/DISK/stat. */
static long long stat_field(int idx)
{
	char buf[512], *p = buf;
	int i;

	if (wsr_read_text(SYS_DIR "/stat", buf, sizeof(buf)))
		return -1;
	for (i = 0; i < idx; i++) {
		p += strspn(p, " ");
		p += strcspn(p, " ");
	}
	return atoll(p);
}

static bool mounted(const char *dir)
{
	char buf[8192], pat[128];

	if (wsr_read_text("/proc/mounts", buf, sizeof(buf)))
		return false;
	snprintf(pat, sizeof(pat), " %s ", dir);
	return strstr(buf, pat);
}

/* Number @key inside the JSON object @obj of @line; -1 if missing. */
static double json_sub(const char *line, const char *obj, const char *key)
{
	char pat[64], buf[32];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":{", obj);
	p = obj[0] ? strstr(line, pat) : line;
	if (!p || !wsr_json_get(p, key, buf, sizeof(buf)))
		return -1;
	return atof(buf);
}

FIXTURE(sata) {
	bool up;
	char sysdir[256];
};

FIXTURE_SETUP(sata)
{
	struct wsr_cmd_out o;

	self->up = false;
	if (!devmodel_supported())
		SKIP(return, "no configfs, null_blk or wsr-devmodel");
	/* a test killed by its timeout leaves its disk behind */
	devmodel(&o, "down", "sata");
	ASSERT_EQ(0, devmodel(&o, "up", "sata"));
	ASSERT_EQ(0, o.status) TH_LOG("up: %s", o.err);
	self->up = true;
	snprintf(self->sysdir, sizeof(self->sysdir), "%.255s", o.out);
	self->sysdir[strcspn(self->sysdir, "\n")] = 0;
}

FIXTURE_TEARDOWN(sata)
{
	struct wsr_cmd_out o;

	if (self->up)
		devmodel(&o, "down", "sata");
}

/* Every null_blk parameter of the profile is what the disk has. */
TEST_F_TIMEOUT(sata, params_applied, DEVMODEL_TIMEOUT)
{
	static const char *const keys[] = {
		"completion_nsec", "mbps", "hw_queue_depth", "submit_queues",
		"irqmode", "memory_backed", "blocksize", "max_sectors",
	};
	struct wsr_cmd_out p;
	unsigned int i;

	ASSERT_STREQ(SYS_DIR, self->sysdir);
	ASSERT_EQ(0, devmodel(&p, "params", "sata"));
	ASSERT_EQ(0, p.status);
	ASSERT_NE(NULL, strstr(p.out, "\"url\":\"https://"));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		double want = json_sub(p.out, "null_blk", keys[i]);

		ASSERT_LT(0, want) TH_LOG("%s missing: %s", keys[i], p.out);
		EXPECT_EQ((long long)want, read_num(CONFIG_DIR, keys[i]))
			TH_LOG("%s", keys[i]);
	}
	EXPECT_EQ(1, read_num(CONFIG_DIR, "power"));
	EXPECT_EQ(1024, read_num(CONFIG_DIR, "size"));
	EXPECT_EQ(4096, read_num(SYS_DIR "/queue", "logical_block_size"));
	/* size in 512-byte sectors: 1 GiB */
	EXPECT_EQ(2097152, read_num(SYS_DIR, "size"));
	EXPECT_TRUE(mounted(MNT));
}

/* A file written on the model reads back identically from the device. */
TEST_F_TIMEOUT(sata, file_roundtrip, DEVMODEL_TIMEOUT)
{
	const size_t len = 3 << 20;
	unsigned char *w = malloc(len), *r = malloc(len);
	size_t i;
	int fd;

	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, r);
	for (i = 0; i < len; i++)
		w[i] = (i * 2654435761u) >> 13;
	fd = open(MNT "/roundtrip", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, pwrite(fd, w, len, 0));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, wsr_drop_caches());
	fd = open(MNT "/roundtrip", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, pread(fd, r, len, 0));
	close(fd);
	for (i = 0; i < len && w[i] == r[i]; i++)
		;
	EXPECT_EQ(len, i) TH_LOG("first difference at byte %zu", i);
	free(w);
	free(r);
}

/* One 64 KiB O_DIRECT read is one request of 128 sectors in the stat. */
TEST_F_TIMEOUT(sata, stat_counts_sectors, DEVMODEL_TIMEOUT)
{
	long long ios, sectors;
	void *buf;
	int fd;

	ASSERT_EQ(0, posix_memalign(&buf, 4096, 65536));
	fd = open(DEV_PATH, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	ios = stat_field(0);
	sectors = stat_field(2);
	ASSERT_EQ(65536, pread(fd, buf, 65536, 1 << 20));
	EXPECT_EQ(ios + 1, stat_field(0));
	EXPECT_EQ(sectors + 128, stat_field(2));
	close(fd);
	free(buf);
}

/* wsr-devcheck: exit 0, every number there and consistent. */
TEST_F_TIMEOUT(sata, devcheck_output, DEVMODEL_TIMEOUT)
{
	const char *argv[] = { DEVCHECK, "-c", "16M", "-n", "200", "-s", "8M",
			       MNT "/devcheck", NULL };
	static const char *const runs[] = { "rand4k_qd1", "rand4k_qdn",
					    "seq1m" };
	static const int ios[] = { 200, 200, 8 }, depth[] = { 1, 32, 1 };
	struct wsr_cmd_out o;
	unsigned int i;

	ASSERT_EQ(0, wsr_run(&o, argv));
	ASSERT_EQ(0, o.status) TH_LOG("%s", o.err);
	ASSERT_EQ('{', o.out[0]);
	EXPECT_EQ(16 << 20, json_sub(o.out, "", "bytes"));
	for (i = 0; i < 3; i++) {
		const char *r = runs[i];

		EXPECT_EQ(ios[i], json_sub(o.out, r, "ios")) TH_LOG("%s", r);
		EXPECT_EQ(depth[i], json_sub(o.out, r, "depth")) TH_LOG("%s", r);
		EXPECT_LT(0, json_sub(o.out, r, "iops")) TH_LOG("%s", r);
		EXPECT_LT(0, json_sub(o.out, r, "mb_s")) TH_LOG("%s", r);
		EXPECT_LT(0, json_sub(o.out, r, "mean_us")) TH_LOG("%s", r);
		EXPECT_LT(0, json_sub(o.out, r, "p50_us")) TH_LOG("%s", r);
		EXPECT_LE(json_sub(o.out, r, "p50_us"),
			  json_sub(o.out, r, "p99_us")) TH_LOG("%s", r);
	}
	/* the human line follows the JSON line */
	EXPECT_NE(NULL, strstr(o.out, "}\n4k rand QD1 "));
}

/* check: the profile and the measured numbers in one line, no file left. */
TEST_F_TIMEOUT(sata, check_verb, DEVMODEL_TIMEOUT)
{
	static const char head[] = "{\"model\":\"sata\",\"datasheet\":{";
	struct wsr_cmd_out o;

	ASSERT_EQ(0, setenv("WSR_DEVMODEL_CHECK_MB", "16", 1));
	ASSERT_EQ(0, devmodel(&o, "check", "sata"));
	ASSERT_EQ(0, o.status) TH_LOG("%s", o.err);
	EXPECT_EQ(0, strncmp(o.out, head, strlen(head))) TH_LOG("%s", o.out);
	EXPECT_EQ(16 << 20, json_sub(o.out, "measured", "bytes"));
	EXPECT_EQ(560, json_sub(o.out, "datasheet", "seq_read_mb_s"));
	EXPECT_LT(0, json_sub(o.out, "seq1m", "mb_s"));
	EXPECT_NE(0, access(MNT "/.wsr-devcheck", F_OK));
}

/*
 * Without idle=poll, a SCHED_IDLE spinner keeps the vCPU from halting
 * while the disk is up (guest time must follow instructions), and down
 * stops it.  Asked for explicitly: by default it runs on one vCPU only.
 */
TEST_F_TIMEOUT(sata, spinner_while_up, DEVMODEL_TIMEOUT)
{
	struct wsr_cmd_out o;
	char cmdline[4096], buf[32];
	pid_t pid;
	int i;

	ASSERT_EQ(0, wsr_read_text("/proc/cmdline", cmdline, sizeof(cmdline)));
	if (strstr(cmdline, "idle=poll")) {
		EXPECT_NE(0, access(SPIN_PIDFILE, F_OK));
		return;
	}
	ASSERT_EQ(0, devmodel(&o, "down", "sata"));
	ASSERT_EQ(0, setenv("WSR_DEVMODEL_SPIN", "1", 1));
	ASSERT_EQ(0, devmodel(&o, "up", "sata"));
	ASSERT_EQ(0, o.status) TH_LOG("up: %s", o.err);
	ASSERT_EQ(0, wsr_read_text(SPIN_PIDFILE, buf, sizeof(buf)));
	pid = atoi(buf);
	ASSERT_LT(1, pid);
	EXPECT_TRUE(pid_running(pid));
	/* it switches itself to SCHED_IDLE once it runs */
	for (i = 0; i < 50 && sched_getscheduler(pid) != SCHED_IDLE; i++)
		usleep(100000);
	EXPECT_EQ(SCHED_IDLE, sched_getscheduler(pid));
	ASSERT_EQ(0, devmodel(&o, "down", "sata"));
	ASSERT_EQ(0, o.status);
	self->up = false;
	EXPECT_NE(0, access(SPIN_PIDFILE, F_OK));
	usleep(100000);
	EXPECT_FALSE(pid_running(pid));
}

/* down: no mount, no disk, no configfs item; a second down is a no-op. */
TEST_F_TIMEOUT(sata, down_removes, DEVMODEL_TIMEOUT)
{
	struct wsr_cmd_out o;

	ASSERT_EQ(0, devmodel(&o, "down", "sata"));
	ASSERT_EQ(0, o.status) TH_LOG("%s", o.err);
	self->up = false;
	EXPECT_FALSE(mounted(MNT));
	EXPECT_NE(0, access(CONFIG_DIR, F_OK));
	EXPECT_NE(0, access(SYS_DIR, F_OK));
	EXPECT_NE(0, access(DEV_PATH, F_OK));
	ASSERT_EQ(0, devmodel(&o, "down", "sata"));
	EXPECT_EQ(0, o.status);
}

/* Each model's parameters come with their source. */
TEST(params_all_models)
{
	static const char *const models[] = { "host", "sata", "nvme" };
	struct wsr_cmd_out o;
	unsigned int i;

	if (access(DEVMODEL, X_OK))
		SKIP(return, "no " DEVMODEL);
	for (i = 0; i < 3; i++) {
		char want[32];

		ASSERT_EQ(0, devmodel(&o, "params", models[i]));
		ASSERT_EQ(0, o.status) TH_LOG("%s", o.err);
		snprintf(want, sizeof(want), "{\"model\":\"%s\"", models[i]);
		EXPECT_EQ(0, strncmp(o.out, want, strlen(want))) TH_LOG("%s", o.out);
		EXPECT_NE(NULL, strstr(o.out, "\"source\":\""));
	}
	EXPECT_EQ(0, devmodel(&o, "params", "floppy"));
	EXPECT_EQ(1, o.status);
}

/* host: the data disk bind-mounted on DIR, reported with its block device. */
TEST(host_model)
{
	const char *up[] = { DEVMODEL, "up", "host", MNT "-host", NULL };
	const char *down[] = { DEVMODEL, "down", "host", MNT "-host", NULL };
	struct wsr_cmd_out o;
	struct stat st;
	int fd;

	if (access(DEVMODEL, X_OK))
		SKIP(return, "no " DEVMODEL);
	ASSERT_EQ(0, wsr_run(&o, up));
	ASSERT_EQ(0, o.status) TH_LOG("%s", o.err);
	EXPECT_STREQ("/sys/block/vda\n", o.out);
	EXPECT_TRUE(mounted(MNT "-host"));
	fd = open(MNT "-host/f", O_WRONLY | O_CREAT, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(0, stat("/data/.wsr-devmodel-host/f", &st));
	ASSERT_EQ(0, wsr_run(&o, down));
	EXPECT_EQ(0, o.status) TH_LOG("%s", o.err);
	EXPECT_FALSE(mounted(MNT "-host"));
	EXPECT_NE(0, stat("/data/.wsr-devmodel-host", &st));
	rmdir(MNT "-host");
}

/* down removes the tool's own files only, never DIR's. */
TEST(host_down_keeps_dir)
{
	const char *down[] = { DEVMODEL, "down", "host", MNT "-guard", NULL };
	struct wsr_cmd_out o;
	int fd;

	if (access(DEVMODEL, X_OK))
		SKIP(return, "no " DEVMODEL);
	ASSERT_EQ(0, mkdir(MNT "-guard", 0755));
	fd = open(MNT "-guard/keep", O_WRONLY | O_CREAT, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, wsr_run(&o, down));
	EXPECT_EQ(0, o.status) TH_LOG("%s", o.err);
	EXPECT_EQ(0, access(MNT "-guard/keep", F_OK));
	EXPECT_EQ(0, access("/data", F_OK));
	unlink(MNT "-guard/keep");
	rmdir(MNT "-guard");
}

WSR_HARNESS_MAIN
