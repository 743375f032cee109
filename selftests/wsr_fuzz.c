// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz suite: run wsr-fuzz (userspace/fuzz/), the coverage-guided syscall
 * fuzzer of /dev/wsr, for WSR_FUZZ_SECONDS (default 120) with
 * WSR_FUZZ_SEED (default 1) and WSR_FUZZ_THREADS (default 4), echo its
 * report as TAP comments, and pass when it exits 0 and its last line says
 * it made enough calls, found no error and, with KCOV, reached wsr.ko.
 * Kernel reports (KASAN, lockdep, WARNING...) the fuzzing provokes fail
 * the run through the rig's dmesg check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define WSR_FUZZ_BIN		"/usr/bin/wsr-fuzz"
#define WSR_KCOV		"/sys/kernel/debug/kcov"
/* Far below what the slowest debug VM does (hundreds of calls/s). */
#define WSR_FUZZ_MIN_RATE	20

struct wsr_fuzz_result {
	unsigned long long calls, pcs, errors;
	bool final;
};

static unsigned long wsr_fuzz_env(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : dflt;
}

/* Echo the fuzzer's output as TAP comments; parse its last line. */
static void wsr_fuzz_read(FILE *f, struct wsr_fuzz_result *res)
{
	char line[512];

	while (fgets(line, sizeof(line), f)) {
		printf("# %s", line);
		if (sscanf(line, "wsr-fuzz: calls=%llu pcs=%llu errors=%llu",
			   &res->calls, &res->pcs, &res->errors) == 3)
			res->final = true;
	}
	fflush(stdout);
}

static pid_t wsr_fuzz_start(int *fd, unsigned long secs, unsigned long seed,
			    unsigned long threads)
{
	char s[32], d[32], t[32];
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	snprintf(s, sizeof(s), "%lu", seed);
	snprintf(d, sizeof(d), "%lu", secs);
	snprintf(t, sizeof(t), "%lu", threads);
	pid = fork();
	if (!pid) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execl(WSR_FUZZ_BIN, WSR_FUZZ_BIN, "--seed", s, "--duration",
		      d, "--threads", t, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

FIXTURE(fuzz) {
};

FIXTURE_SETUP(fuzz)
{
	int fd = wsr_open();

	if (fd == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, fd);
	close(fd);
}

FIXTURE_TEARDOWN(fuzz)
{
}

/* The timeout is set from WSR_FUZZ_SECONDS in main() below. */
TEST_F_TIMEOUT(fuzz, run, 300)
{
	unsigned long secs = wsr_fuzz_env("WSR_FUZZ_SECONDS", 120);
	struct wsr_fuzz_result res = { 0 };
	int fd, status;
	FILE *f;
	pid_t pid;

	ASSERT_EQ(0, access(WSR_FUZZ_BIN, X_OK))
		TH_LOG(WSR_FUZZ_BIN " missing from the image");
	pid = wsr_fuzz_start(&fd, secs, wsr_fuzz_env("WSR_FUZZ_SEED", 1),
			     wsr_fuzz_env("WSR_FUZZ_THREADS", 4));
	ASSERT_LT(0, pid);
	f = fdopen(fd, "r");
	ASSERT_NE(NULL, f);
	wsr_fuzz_read(f, &res);
	fclose(f);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_TRUE(res.final) TH_LOG("no final wsr-fuzz: line");
	EXPECT_EQ(0ULL, res.errors);
	EXPECT_LE((unsigned long long)secs * WSR_FUZZ_MIN_RATE, res.calls);
	if (!access(WSR_KCOV, R_OK))
		EXPECT_LT(0ULL, res.pcs) TH_LOG("KCOV saw no wsr.ko PC");
}

/* Give the test its duration and five minutes for setup and the rest. */
static void wsr_fuzz_set_timeout(void)
{
	unsigned long secs = wsr_fuzz_env("WSR_FUZZ_SECONDS", 120);
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			if (!strcmp(t->name, "run"))
				t->timeout = secs + 300;
}

int main(int argc, char **argv)
{
	wsr_filter_tests();
	wsr_fuzz_set_timeout();
	return test_harness_run(argc, argv);
}
