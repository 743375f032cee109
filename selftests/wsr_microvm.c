// SPDX-License-Identifier: GPL-2.0
/*
 * microvm suite: stock QEMU (Debian's qemu-system-x86_64, unmodified)
 * restores a Linux microVM through a wsr base, by path.
 *
 * The guest is the perf kernel with fn-sqlite as /init (an in-memory
 * SQLite database answering queries on the serial console), staged on
 * the stock-QEMU disk at /opt/microvm (scripts/mkmicrovm.sh).  The first
 * test snapshots it the way Kata's VM templating does: RAM in a file
 * (share=on), device state saved by migration with x-ignore-shared.
 * Every restore is `-incoming` with its RAM mapped MAP_PRIVATE from a
 * path, and wsr-microvm checks each answer against fn-sqlite --local.
 *
 * The tests assert the answers, that no restore writes the memory file,
 * and the base's counters: pages the guests touched were loaded into one
 * shared base, and a working set recorded through the path and
 * prefetched with `wsrctl base restore` is resident before QEMU starts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define MICROVM		"/usr/bin/wsr-microvm"
#define WSRCTL		"/usr/bin/wsrctl"
#define QEMU		"/opt/microvm/qemu"
#define DIR		"/data/microvm"
#define MEMFILE		DIR "/fn.mem"
#define WSRFS		"/run/wsr"
/* Nested KVM under TCG: a snapshot takes minutes of real time. */
#define MICROVM_TIMEOUT	1200

static struct wsr_cmd_out res;
static const char *out = res.out;

/* Run argv; its stdout and stderr land in res.  Exit status. */
static int run(const char *const argv[])
{
	if (wsr_run(&res, argv))
		return -errno;
	if (res.status)
		fprintf(stderr, "# %s failed:\n%s%s", argv[0], res.out, res.err);
	return res.status;
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;

	for (; (s = strstr(s, needle)); s += strlen(needle))
		n++;
	return n;
}

/* FNV-1a over the memory file: restores must leave it as it was. */
static uint64_t file_hash(const char *path)
{
	static char buf[1 << 20];
	uint64_t h = 1469598103934665603ULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, i;

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i += 8)
			h = (h ^ wsr_load64(buf + i)) * 1099511628211ULL;
	close(fd);
	return h;
}

/* Snapshot the guest once; later tests restore it. */
static void prepare(struct __test_metadata *_metadata)
{
	const char *snap[] = { MICROVM, "snapshot", "--dir", DIR, NULL };

	if (access(QEMU, X_OK))
		SKIP(_exit(255), "no stock QEMU staged at " QEMU);
	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(_exit(255), "no /dev/kvm");
	mkdir(DIR, 0755);
	if (access(DIR "/fn.state", R_OK)) {
		ASSERT_EQ(0, run(snap));
		fprintf(stderr, "# %s", out);
	}
}

static void mount_wsrfs(struct __test_metadata *_metadata)
{
	mkdir("/run", 0755);
	mkdir(WSRFS, 0755);
	if (mount("wsr", WSRFS, "wsrfs", 0, NULL) && errno != EBUSY)
		ASSERT_EQ(0, -errno);
}

/* Resident pages and faults of base @name, from wsrctl base list --json. */
static void base_counters(struct __test_metadata *_metadata, const char *name,
			  uint64_t *pages, uint64_t *faults)
{
	const char *list[] = { WSRCTL, "base", "list", "--json", NULL };
	uint64_t huge, small;
	char key[80];
	const char *p;

	ASSERT_EQ(0, run(list));
	snprintf(key, sizeof(key), "\"%s\"", name);
	p = strstr(out, key);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, wsr_json_u64(p, "resident_huge", &huge));
	ASSERT_EQ(0, wsr_json_u64(p, "resident_small", &small));
	ASSERT_EQ(0, wsr_json_u64(p, "faults", faults));
	*pages = huge * WSR_HUGE_PAGES + small;
}

FIXTURE(microvm) {
	int unused;
};

FIXTURE_SETUP(microvm)
{
	prepare(_metadata);
}

/* A wsrfs mount holds the module: the rig's rmmod needs it gone. */
FIXTURE_TEARDOWN(microvm)
{
	static const char *const names[] = { "fn-share", "fn-ws" };
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *drop[] = { WSRCTL, "base", "drop", names[i], NULL };
		char path[64];

		snprintf(path, sizeof(path), WSRFS "/%s", names[i]);
		if (!access(path, F_OK))
			run(drop);
	}
	umount(WSRFS);
}

TEST_F_TIMEOUT(microvm, raw_file_restore_answers, MICROVM_TIMEOUT)
{
	const char *restore[] = { MICROVM, "restore", "--dir", DIR, "--mem",
				  MEMFILE, "--request", "3", NULL };
	uint64_t before;

	before = file_hash(MEMFILE);
	ASSERT_EQ(0, wsr_drop_caches());
	ASSERT_EQ(0, run(restore));
	fprintf(stderr, "# %s", out);
	EXPECT_EQ(1, count_lines(out, "answer=ok"));
	EXPECT_EQ(before, file_hash(MEMFILE));
}

TEST_F_TIMEOUT(microvm, two_guests_share_one_base, MICROVM_TIMEOUT)
{
	const char *create[] = { WSRCTL, "base", "create", "fn-share",
				 "--snapshot", MEMFILE, NULL };
	const char *restore[] = { MICROVM, "restore", "--dir", DIR, "--mem",
				  WSRFS "/fn-share", "--request", "11", NULL };
	const char *drop[] = { WSRCTL, "base", "drop", "fn-share", NULL };
	uint64_t before, pages, second, faults;

	mount_wsrfs(_metadata);
	before = file_hash(MEMFILE);
	ASSERT_EQ(0, wsr_drop_caches());
	ASSERT_EQ(0, run(create));
	base_counters(_metadata, "fn-share", &pages, &faults);
	EXPECT_EQ(0, pages);
	ASSERT_EQ(0, run(restore));
	fprintf(stderr, "# %s", out);
	EXPECT_EQ(1, count_lines(out, "answer=ok"));
	base_counters(_metadata, "fn-share", &pages, &faults);
	/* The guest's kernel, SQLite and database came from the base. */
	EXPECT_GT(pages, 1024);
	EXPECT_GT(faults, 0);
	/*
	 * A second QEMU, one at a time (several at once sometimes stall
	 * under nested KVM in this TCG VM): it finds the pages in the base.
	 */
	ASSERT_EQ(0, run(restore));
	EXPECT_EQ(1, count_lines(out, "answer=ok"));
	base_counters(_metadata, "fn-share", &second, &faults);
	fprintf(stderr, "# base after one guest: %llu pages, after two: %llu\n",
		(unsigned long long)pages, (unsigned long long)second);
	EXPECT_LT(second, pages + pages / 4);
	EXPECT_EQ(0, run(drop));
	EXPECT_EQ(before, file_hash(MEMFILE));
}

TEST_F_TIMEOUT(microvm, recorded_working_set_prefetched_into_base,
	       MICROVM_TIMEOUT)
{
	const char *create[] = { WSRCTL, "base", "create", "fn-ws",
				 "--snapshot", MEMFILE, NULL };
	const char *record[] = { WSRCTL, "base", "record", "fn-ws", "-o",
				 DIR "/fn.ws", "--", MICROVM, "restore",
				 "--dir", DIR, "--mem", WSRFS "/fn-ws",
				 "--request", "7", NULL };
	const char *prefetch[] = { WSRCTL, "base", "restore", "fn-ws", "--ws",
				   DIR "/fn.ws", NULL };
	const char *restore[] = { MICROVM, "restore", "--dir", DIR, "--mem",
				  WSRFS "/fn-ws", "--request", "21", NULL };
	const char *drop[] = { WSRCTL, "base", "drop", "fn-ws", NULL };
	uint64_t recorded = 0, pages, faults, faults_before;
	const char *p;

	mount_wsrfs(_metadata);
	ASSERT_EQ(0, wsr_drop_caches());
	ASSERT_EQ(0, run(create));
	ASSERT_EQ(0, run(record));
	p = strstr(out, "recorded ");
	ASSERT_NE(NULL, p);
	recorded = strtoull(p + strlen("recorded "), NULL, 10);
	fprintf(stderr, "# recorded %llu pages through %s\n",
		(unsigned long long)recorded, WSRFS "/fn-ws");
	EXPECT_GT(recorded, 256);
	EXPECT_EQ(1, count_lines(out, "answer=ok"));
	ASSERT_EQ(0, run(drop));

	/* A new base, cold: the prefetch makes the working set resident. */
	ASSERT_EQ(0, wsr_drop_caches());
	ASSERT_EQ(0, run(create));
	ASSERT_EQ(0, run(prefetch));
	base_counters(_metadata, "fn-ws", &pages, &faults_before);
	EXPECT_GE(pages, recorded);
	ASSERT_EQ(0, run(restore));
	fprintf(stderr, "# %s", out);
	EXPECT_EQ(1, count_lines(out, "answer=ok"));
	base_counters(_metadata, "fn-ws", &pages, &faults);
	fprintf(stderr, "# another request after the prefetch: %llu base faults for %llu recorded pages\n",
		(unsigned long long)(faults - faults_before),
		(unsigned long long)recorded);
	/* Most of what the guest touched was already in the base. */
	EXPECT_LT(faults - faults_before, recorded / 2);
	EXPECT_EQ(0, run(drop));
}

TEST_HARNESS_MAIN
