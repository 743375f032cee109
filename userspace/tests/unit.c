// SPDX-License-Identifier: GPL-2.0-or-later
/* Runner of the host unit tests: TAP on stdout, exit 1 if any failed. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"

#define MAX_TESTS 256

static struct tap_test tests[MAX_TESTS];
static int ntests;
int tap_failed;
const char *tap_skip;

void tap_register(const char *name, void (*fn)(void))
{
	if (ntests < MAX_TESTS) {
		tests[ntests].name = name;
		tests[ntests].fn = fn;
	}
	ntests++;
}

static char tmpdir[256];

static void remove_tmpdir(void)
{
	char cmd[300];

	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			fprintf(stderr, "# could not remove %s\n", tmpdir);
	}
}

const char *test_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/wsr-unit.XXXXXX",
			 base && *base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
		atexit(remove_tmpdir);
	}
	return tmpdir;
}

int test_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	close(fd);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

struct wsr_snapshot_id test_id(uint64_t npages)
{
	struct wsr_snapshot_id id = {
		.offset = 0,
		.length = npages * WSR_PAGE_SIZE,
		.fingerprint = 0x0123456789abcdefull ^ npages,
		.method = WSR_FP_SAMPLED64,
		.samples = npages < 64 ? (uint32_t)npages : 64,
	};
	return id;
}

struct wsr_ws *test_ws(const struct wsr_snapshot_id *id,
		       const uint64_t *pages, size_t n)
{
	struct wsr_ws *ws;
	int ret = wsr_ws_create(id, pages, n, 0, &ws);

	if (ret) {
		printf("Bail out! wsr_ws_create: %s\n", wsr_strerror(ret));
		exit(2);
	}
	return ws;
}

int main(int argc, char **argv)
{
	int i, failed = 0, n = 0;

	if (ntests > MAX_TESTS) {
		printf("Bail out! too many tests\n");
		return 2;
	}
	for (i = 0; i < ntests; i++)
		if (argc < 2 || !strcmp(argv[1], tests[i].name))
			n++;
	printf("1..%d\n", n);
	for (i = 0, n = 0; i < ntests; i++) {
		if (argc >= 2 && strcmp(argv[1], tests[i].name))
			continue;
		tap_failed = 0;
		tap_skip = NULL;
		fflush(stdout);
		tests[i].fn();
		n++;
		if (tap_skip && !tap_failed)
			printf("ok %d - %s # SKIP %s\n", n, tests[i].name, tap_skip);
		else if (tap_failed)
			printf("not ok %d - %s\n", n, tests[i].name);
		else
			printf("ok %d - %s\n", n, tests[i].name);
		failed += !!tap_failed;
	}
	return failed ? 1 : 0;
}
