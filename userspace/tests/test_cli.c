// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * wsrctl on the host: exit codes, one-line errors naming the file, --help
 * for every verb, --json output, and the sysfs verbs over a fake tree.
 * The binary is $WSRCTL (set by the Makefile); SKIP without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"

#define OUTMAX (1 << 20)

struct run {
	int status;		/* exit code, or 128 + signal */
	char out[OUTMAX];
	char err[OUTMAX];
};

static struct run R;

static void slurp(int fd, char *buf)
{
	size_t n = 0;
	ssize_t k;

	while (n < OUTMAX - 1 && (k = read(fd, buf + n, OUTMAX - 1 - n)) > 0)
		n += k;
	buf[n] = 0;
}

/* Run wsrctl with a NULL-terminated argument list; results in R. */
static int wsrctl(const char *arg, ...)
{
	const char *bin = getenv("WSRCTL"), *argv[64];
	char opath[600], epath[600];
	va_list ap;
	int n = 0, st, fo, fe;
	pid_t pid;

	argv[n++] = bin;
	va_start(ap, arg);
	for (; arg && n < 63; arg = va_arg(ap, const char *))
		argv[n++] = arg;
	va_end(ap);
	argv[n] = NULL;
	snprintf(opath, sizeof(opath), "%s/.out", test_tmpdir());
	snprintf(epath, sizeof(epath), "%s/.err", test_tmpdir());
	fflush(stdout);
	pid = fork();
	if (!pid) {
		fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		fe = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fo < 0 || fe < 0 || chdir(test_tmpdir()))
			_exit(126);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(bin, (char **)argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	R.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	fo = open(opath, O_RDONLY);
	fe = open(epath, O_RDONLY);
	slurp(fo, R.out);
	slurp(fe, R.err);
	close(fo);
	close(fe);
	return R.status;
}

static int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static int one_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl && !nl[1];
}

#define NEED_WSRCTL()							\
	do {								\
		if (!getenv("WSRCTL") || access(getenv("WSRCTL"), X_OK))	\
			SKIP("WSRCTL not set to the wsrctl binary");	\
	} while (0)

static void make_snapshot(const char *name, size_t pages)
{
	char path[600], *buf = malloc(pages * 4096);
	size_t i;

	for (i = 0; i < pages * 4096; i++)
		buf[i] = (char)(i * 2654435761u >> 13);
	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	test_write_file(path, buf, pages * 4096);
	free(buf);
}

static void make_file(const char *name, const char *text)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	test_write_file(path, text, strlen(text));
}

/* Recordings fabricated with 'ws import' (no kernel on the host). */
static void make_recordings(void)
{
	make_snapshot("snap", 64);
	make_file("r1.list", "5\n1\n9\n");
	make_file("r2.list", "1\n7\n");
	make_file("r3.list", "# comment\n9\n1\n5 # five\n2\n");
	wsrctl("ws", "import", "--snapshot", "snap", "--pages", "r1.list",
	       "-o", "r1.ws", NULL);
	wsrctl("ws", "import", "--snapshot", "snap", "--pages", "r2.list",
	       "-o", "r2.ws", NULL);
	wsrctl("ws", "import", "--snapshot", "snap", "--pages", "r3.list",
	       "-o", "r3.ws", NULL);
}

TEST(cli_help_for_every_verb)
{
	static const char *const verbs[][2] = {
		{ "ws", "show" }, { "ws", "merge" }, { "ws", "diff" },
		{ "ws", "stats" }, { "ws", "check" }, { "ws", "import" },
		{ "record", NULL }, { "restore", NULL }, { "stats", NULL },
		{ "knob", NULL }, { "id", NULL }, { "touch", NULL },
		{ "ws", NULL }, { "base", "create" }, { "base", "restore" },
		{ "base", "record" }, { "base", "list" }, { "base", "drop" },
		{ "base", NULL },
		{ "snapshot", "compress" },
		{ "snapshot", "decompress" }, { "snapshot", "info" },
		{ "snapshot", NULL },
	};
	size_t i;

	NEED_WSRCTL();
	CHECK_EQ(wsrctl("--help", NULL), 0);
	CHECK(strstr(R.out, "usage: wsrctl"));
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (verbs[i][1])
			wsrctl(verbs[i][0], verbs[i][1], "--help", NULL);
		else
			wsrctl(verbs[i][0], "--help", NULL);
		CHECKF(R.status == 0 && strstr(R.out, "usage: wsrctl") &&
		       !R.err[0], "%s %s --help", verbs[i][0],
		       verbs[i][1] ? verbs[i][1] : "");
	}
}

TEST(cli_usage_errors)
{
	NEED_WSRCTL();
	CHECK_EQ(wsrctl(NULL), 2);
	CHECK_EQ(wsrctl("frobnicate", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "unknown verb 'frobnicate'"));
	CHECK_EQ(wsrctl("ws", "merge", "r1.ws", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "missing -o OUT"));
	CHECK_EQ(wsrctl("ws", "show", NULL), 2);
	CHECK(one_line(R.err));
	CHECK_EQ(wsrctl("ws", "show", "--bogus", "x", NULL), 2);
	CHECK_EQ(wsrctl("knob", "set", "a", NULL), 2);
	CHECK_EQ(wsrctl("knob", "get", "../etc/passwd", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "bad knob name"));
	CHECK_EQ(wsrctl("record", "--snapshot", "snap", "-o", "x.ws", NULL), 2);
	CHECK(one_line(R.err));
}

TEST(cli_base_usage_errors)
{
	NEED_WSRCTL();
	CHECK_EQ(wsrctl("base", NULL), 2);
	CHECK_EQ(wsrctl("base", "frob", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "unknown verb 'frob'"));
	CHECK_EQ(wsrctl("base", "create", "--snapshot", "snap", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "need NAME"));
	CHECK_EQ(wsrctl("base", "create", "fn", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "--snapshot"));
	CHECK_EQ(wsrctl("base", "create", "a/b", "--snapshot", "snap", NULL),
		 2);
	CHECK(one_line(R.err) && strstr(R.err, "bad NAME 'a/b'"));
	CHECK_EQ(wsrctl("base", "drop", ".x", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "bad NAME '.x'"));
	CHECK_EQ(wsrctl("base", "restore", "fn", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "--ws"));
	CHECK_EQ(wsrctl("base", "record", "fn", "-o", "x.ws", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "CMD"));
	/* The option tables' own errors: one line naming the option. */
	CHECK_EQ(wsrctl("base", "restore", "fn", "--ws", "x.ws", "--wait",
			"abc", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "bad --wait 'abc'"));
	CHECK_EQ(wsrctl("base", "list", "--bogus", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "unknown option '--bogus'"));
	CHECK_EQ(wsrctl("ws", "merge", "r1.ws", "-o", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "missing value of option"));
	CHECK_EQ(wsrctl("ws", "show", "--limit", "-3", "r1.ws", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "bad --limit '-3'"));
	/* The snapshot is opened before the device: the file is named. */
	CHECK_EQ(wsrctl("base", "create", "fn", "--snapshot", "no-such-file",
			NULL), 1);
	CHECK(one_line(R.err) && strstr(R.err, "no-such-file"));
	/* The working set is loaded before the device. */
	CHECK_EQ(wsrctl("base", "restore", "fn", "--ws", "no-such.ws", NULL),
		 1);
	CHECK(one_line(R.err) && strstr(R.err, "no-such.ws"));
}

TEST(cli_import_show_roundtrip)
{
	NEED_WSRCTL();
	make_recordings();
	CHECK_EQ(wsrctl("--json", "ws", "show", "--all", "r3.ws", NULL), 0);
	CHECK(strstr(R.out, "\"pages\": 4,"));
	CHECK(strstr(R.out, "\"recordings\": 1,"));
	CHECK(strstr(R.out, "\"index\": 9,\n      \"rank\": 0.125,"));
	CHECK_EQ(wsrctl("ws", "show", "r3.ws", NULL), 0);
	CHECK(strstr(R.out, "pages:       4 (0.0 MiB)"));
	CHECK(strstr(R.out, "recordings:  1"));
}

TEST(cli_merge_and_stats)
{
	NEED_WSRCTL();
	make_recordings();
	CHECK_EQ(wsrctl("--json", "ws", "merge", "-o", "m.ws", "r1.ws",
			"r2.ws", "r3.ws", NULL), 0);
	CHECK(strstr(R.out, "\"pages\": 5,") && strstr(R.out, "\"recordings\": 3,"));
	CHECK_EQ(wsrctl("--json", "ws", "show", "--all", "m.ws", NULL), 0);
	/* order 1 5 9 7 2, frequencies 3 2 2 1 1 */
	CHECK(strstr(R.out, "\"frequency\": {\n    \"3\": 1,\n    \"2\": 2,\n    \"1\": 2\n  }"));
	{
		const char *p = R.out, *want[] = { "\"index\": 1,", "\"index\": 5,",
			"\"index\": 9,", "\"index\": 7,", "\"index\": 2," };
		size_t i;

		for (i = 0; i < 5 && p; i++) {
			p = strstr(p, want[i]);
			CHECKF(p, "%s in order", want[i]);
		}
	}
	CHECK_EQ(wsrctl("ws", "merge", "--min-count", "2", "-o", "m2.ws",
			"r1.ws", "r2.ws", "r3.ws", NULL), 0);
	CHECK(strstr(R.out, "m2.ws: 3 pages from 3 working sets (3 recordings)"));
	CHECK_EQ(wsrctl("ws", "merge", "--min-count", "4", "-o", "m4.ws",
			"r1.ws", "r2.ws", "r3.ws", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "exceeds the number of recordings"));
	CHECK_EQ(wsrctl("--json", "ws", "stats", "r1.ws", "r2.ws", "r3.ws", NULL), 0);
	CHECK(strstr(R.out, "\"union\": 5,") && strstr(R.out, "\"common\": 1,"));
	CHECK(strstr(R.out, "[\n      0.25,\n      1,\n      0.2\n    ]"));
	CHECK_EQ(wsrctl("ws", "stats", "r1.ws", "r2.ws", "r3.ws", NULL), 0);
	CHECK(strstr(R.out, "union:           5 pages"));
	CHECK(strstr(R.out, "common to all:   1 pages"));
	CHECK_EQ(wsrctl("--json", "ws", "diff", "--list", "r1.ws", "r2.ws", NULL), 0);
	CHECK(strstr(R.out, "\"only_a\": 2,") && strstr(R.out, "\"only_b\": 1,"));
	CHECK(strstr(R.out, "\"list_only_b\": [\n    7\n  ]"));
}

TEST(cli_errors_name_the_file)
{
	NEED_WSRCTL();
	make_recordings();
	CHECK_EQ(wsrctl("ws", "show", "missing.ws", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: missing.ws: No such file or directory\n"));
	make_file("text.ws", "not a working set\n");
	CHECK_EQ(wsrctl("ws", "show", "text.ws", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: text.ws: not a wsr working-set file (bad magic)\n"));
	{
		char cmd[1400];

		snprintf(cmd, sizeof(cmd), "cd %s && head -c 100 r3.ws > trunc.ws && cp r3.ws flip.ws && printf '\\377' | dd of=flip.ws bs=1 seek=120 conv=notrunc status=none && cp r3.ws long.ws && printf x >> long.ws",
			 test_tmpdir());
		CHECK_EQ(system(cmd), 0);
	}
	CHECK_EQ(wsrctl("ws", "show", "trunc.ws", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: trunc.ws: truncated working-set file\n"));
	CHECK_EQ(wsrctl("ws", "merge", "-o", "out.ws", "r1.ws", "flip.ws", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: flip.ws: checksum mismatch, the working-set file is corrupt\n"));
	CHECK(access("out.ws", F_OK));
	CHECK_EQ(wsrctl("ws", "stats", "long.ws", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: long.ws: working-set file is longer than its header says\n"));
	/* a working set of another snapshot */
	make_snapshot("other", 64);
	make_file("o.list", "1\n");
	wsrctl("ws", "import", "--snapshot", "snap", "--pattern", "seq:0:4",
	       "-o", "s.ws", NULL);
	CHECK_EQ(wsrctl("ws", "check", "--snapshot", "snap", "s.ws", NULL), 0);
	{
		char cmd[800];

		snprintf(cmd, sizeof(cmd), "cd %s && printf Z | dd of=other bs=1 seek=0 conv=notrunc status=none", test_tmpdir());
		CHECK_EQ(system(cmd), 0);
	}
	CHECK_EQ(wsrctl("ws", "check", "--snapshot", "other", "s.ws", NULL), 1);
	CHECK(one_line(R.err) && starts_with(R.err, "wsrctl: s.ws: belongs to a different snapshot than other ("));
	wsrctl("ws", "import", "--snapshot", "other", "--pages", "o.list",
	       "-o", "o.ws", NULL);
	CHECK_EQ(wsrctl("ws", "merge", "-o", "x.ws", "s.ws", "o.ws", NULL), 1);
	CHECK(one_line(R.err) && strstr(R.err, "wsrctl: o.ws: belongs to a different snapshot than s.ws"));
	/* import: page beyond the snapshot, bad list line */
	make_file("big.list", "64\n");
	CHECK_EQ(wsrctl("ws", "import", "--snapshot", "snap", "--pages",
			"big.list", "-o", "b.ws", NULL), 1);
	CHECK(one_line(R.err) && strstr(R.err, "wsrctl: big.list: page index beyond the snapshot range (64 pages)"));
	make_file("junk.list", "1\nabc\n");
	CHECK_EQ(wsrctl("ws", "import", "--snapshot", "snap", "--pages",
			"junk.list", "-o", "b.ws", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: junk.list: line 2: expected a page index or a range A-B\n"));
	/* record without the module */
	CHECK_EQ(wsrctl("record", "--dev", "nodev", "--snapshot", "snap",
			"--pattern", "seq:0:4", "-o", "rec.ws", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: nodev: No such file or directory (is wsr.ko loaded?)\n"));
	CHECK_EQ(wsrctl("restore", "--dev", "/dev/null", "--snapshot", "snap",
			"--ws", "s.ws", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: /dev/null: create: not a wsr device\n"));
}

TEST(cli_sysfs_knobs_and_stats)
{
	char root[600], cmd[8192];

	NEED_WSRCTL();
	snprintf(root, sizeof(root), "%s/sysfs", test_tmpdir());
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/stats && echo 512 > %s/restore_batch && echo 1 > %s/huge && echo 42 > %s/stats/faults && chmod 444 %s/stats/faults && echo 'a b' > %s/stats/mode && chmod 444 %s/stats/mode",
		 root, root, root, root, root, root, root);
	CHECK_EQ(system(cmd), 0);
	CHECK_EQ(wsrctl("stats", "--sysfs", root, NULL), 0);
	CHECK(strstr(R.out, "huge          1\n"));
	CHECK(strstr(R.out, "stats/faults  42\n"));
	CHECK_EQ(wsrctl("--json", "stats", "--sysfs", root, NULL), 0);
	CHECK(strstr(R.out, "\"stats/faults\": 42"));
	CHECK(strstr(R.out, "\"stats/mode\": \"a b\""));
	CHECK_EQ(wsrctl("knob", "set", "--sysfs", root, "restore_batch", "64", NULL), 0);
	CHECK_EQ(wsrctl("knob", "get", "--sysfs", root, "restore_batch", NULL), 0);
	CHECK(!strcmp(R.out, "64\n"));
	CHECK_EQ(wsrctl("--json", "knob", "get", "--sysfs", root, NULL), 0);
	if (geteuid()) {
		/* as root every file is writable; the list is exact otherwise */
		CHECK(!strstr(R.out, "stats/faults"));
	}
	CHECK(strstr(R.out, "\"restore_batch\": 64"));
	CHECK_EQ(wsrctl("knob", "get", "--sysfs", root, "nope", NULL), 1);
	CHECK(one_line(R.err) && strstr(R.err, "/sysfs/nope: No such file or directory"));
	CHECK_EQ(wsrctl("stats", "--sysfs", "/nonexistent/wsr", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: /nonexistent/wsr: No such file or directory (is wsr.ko loaded?)\n"));
}

TEST(cli_id_and_patterns)
{
	NEED_WSRCTL();
	make_snapshot("snap", 64);
	CHECK_EQ(wsrctl("--json", "id", "--snapshot", "snap", NULL), 0);
	CHECK(strstr(R.out, "\"length\": 262144,") && strstr(R.out, "\"samples\": 64"));
	CHECK_EQ(wsrctl("ws", "import", "--snapshot", "snap", "--pattern",
			"random:64:9", "-o", "all.ws", NULL), 0);
	CHECK(strstr(R.out, "all.ws: 64 pages (64 listed)"));
	CHECK_EQ(wsrctl("ws", "import", "--snapshot", "snap", "--pattern",
			"seq:60:5", "-o", "x.ws", NULL), 1);
	CHECK(one_line(R.err) && strstr(R.err, "seq:60:5: pattern runs beyond the region"));
	CHECK_EQ(wsrctl("ws", "import", "--snapshot", "snap", "--pattern",
			"seq:0:8:8", "--length", "32K", "-o", "x.ws", NULL), 1);
	CHECK_EQ(wsrctl("ws", "import", "--snapshot", "snap", "--pattern",
			"seq:0:4:2", "--offset", "8K", "--length", "32K",
			"-o", "x.ws", NULL), 0);
	CHECK_EQ(wsrctl("--json", "ws", "show", "--all", "x.ws", NULL), 0);
	CHECK(strstr(R.out, "\"offset\": 8192,") && strstr(R.out, "\"length\": 32768,"));
	CHECK(strstr(R.out, "\"index\": 6,"));
	CHECK_EQ(wsrctl("ws", "import", "--snapshot", "snap", "--pattern",
			"bogus:1", "-o", "x.ws", NULL), 1);
	CHECK(one_line(R.err));
}

/*
 * A 2 MiB "memory image": zero, random and text 64 KiB pieces.  Returns
 * the number of all-zero 64 KiB chunks.
 */
static int make_image(const char *name)
{
	size_t len = 2u << 20, i, k;
	char path[600], *buf = calloc(1, len);
	uint32_t x = 1;
	int zero = 0;

	for (k = 0; k < len / 65536; k++) {
		char *p = buf + k * 65536;

		if (k % 3 == 0) {
			zero++;
		} else if (k % 3 == 1) {
			for (i = 0; i < 65536; i++) {
				x = x * 1103515245u + 12345u;
				p[i] = (char)(x >> 16);
			}
		} else {
			for (i = 0; i + 32 <= 65536; i += 32)
				snprintf(p + i, 33, "line %08zu of chunk %04zu...\n",
					 i / 32, k);
		}
	}
	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	test_write_file(path, buf, len);
	free(buf);
	return zero;
}

static int same_files(const char *a, const char *b)
{
	char cmd[1400];

	snprintf(cmd, sizeof(cmd), "cd %s && cmp -s %s %s", test_tmpdir(), a, b);
	return system(cmd) == 0;
}

TEST(cli_snapshot_compress_roundtrip)
{
	static const char *const codecs[] = { "lz4", "zstd" };
	int zero, i;

	NEED_WSRCTL();
	zero = make_image("mem.img");
	for (i = 0; i < 2; i++) {
		CHECK_EQ(wsrctl("snapshot", "compress", "--codec", codecs[i],
				"--chunk", "64K", "mem.img", "mem.z", NULL), 0);
		/* stderr is no terminal: no progress bar */
		CHECK(!R.err[0]);
		CHECK_EQ(wsrctl("--json", "snapshot", "info", "mem.z", NULL), 0);
		CHECK(strstr(R.out, "\"chunk_size\": 65536"));
		CHECK(strstr(R.out, "\"length\": 2097152"));
		CHECK(strstr(R.out, "\"chunks\": 32"));
		{
			char want[128];

			snprintf(want, sizeof(want),
				 "\"zero\": {\n      \"chunks\": %d,\n      \"raw_bytes\": %d,\n      \"stored_bytes\": 0",
				 zero, zero * 65536);
			CHECKF(strstr(R.out, want), "%s in %s", want, R.out);
			CHECK(strstr(R.out, "\"zero_share\": 0.3438"));
		}
		CHECK_EQ(wsrctl("snapshot", "info", "mem.z", NULL), 0);
		CHECK(strstr(R.out, "zero chunks: 11 (34.4% of the chunks"));
		CHECK(strstr(R.out, codecs[i]));
		CHECK_EQ(wsrctl("snapshot", "decompress", "mem.z", "mem.out", NULL), 0);
		CHECK(same_files("mem.img", "mem.out"));
	}
	/* 2 MiB chunks, the default codec */
	CHECK_EQ(wsrctl("snapshot", "compress", "--chunk", "2M", "mem.img",
			"big.z", NULL), 0);
	CHECK_EQ(wsrctl("snapshot", "decompress", "big.z", "big.out", NULL), 0);
	CHECK(same_files("mem.img", "big.out"));
}

TEST(cli_snapshot_errors)
{
	char cmd[1400];

	NEED_WSRCTL();
	make_image("mem.img");
	make_file("odd.img", "not a multiple of 4096");
	CHECK_EQ(wsrctl("snapshot", "compress", "odd.img", "odd.z", NULL), 1);
	CHECK(one_line(R.err) && starts_with(R.err, "wsrctl: odd.img: size 22 is not"));
	CHECK_EQ(wsrctl("snapshot", "compress", "--codec", "gzip", "mem.img",
			"x.z", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "bad --codec 'gzip'"));
	CHECK_EQ(wsrctl("snapshot", "compress", "--chunk", "96K", "mem.img",
			"x.z", NULL), 2);
	CHECK(one_line(R.err) && strstr(R.err, "bad --chunk '96K'"));
	CHECK_EQ(wsrctl("snapshot", "compress", "mem.img", NULL), 2);
	CHECK_EQ(wsrctl("snapshot", "info", "mem.img", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: mem.img: not a wsr compressed snapshot (bad magic)\n"));
	CHECK_EQ(wsrctl("snapshot", "compress", "--chunk", "64K", "mem.img",
			"m.z", NULL), 0);
	/* chunk 1 is random: raw, at 4096 (chunk 0 is zero) */
	snprintf(cmd, sizeof(cmd), "cd %s && cp m.z flip.z && printf '\\377' | dd of=flip.z bs=1 seek=5000 conv=notrunc status=none && head -c 5000 m.z > trunc.z && cp m.z long.z && printf x >> long.z && cp m.z hdr.z && printf '\\377' | dd of=hdr.z bs=1 seek=30 conv=notrunc status=none",
		 test_tmpdir());
	CHECK_EQ(system(cmd), 0);
	CHECK_EQ(wsrctl("snapshot", "info", "flip.z", NULL), 0);
	CHECK_EQ(wsrctl("snapshot", "decompress", "flip.z", "flip.out", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: flip.z: chunk 1 (raw, offset 4096): checksum mismatch, the compressed snapshot is corrupt\n"));
	CHECK_EQ(wsrctl("snapshot", "info", "trunc.z", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: trunc.z: truncated compressed snapshot\n"));
	CHECK_EQ(wsrctl("snapshot", "info", "long.z", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: long.z: compressed snapshot is longer than its index says\n"));
	CHECK_EQ(wsrctl("snapshot", "info", "hdr.z", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: hdr.z: checksum mismatch, the compressed snapshot is corrupt\n"));
	CHECK_EQ(wsrctl("snapshot", "info", "missing.z", NULL), 1);
	CHECK(!strcmp(R.err, "wsrctl: missing.z: No such file or directory\n"));
}
