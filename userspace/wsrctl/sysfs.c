// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * wsrctl stats | knob get | knob set: generic over whatever files the module
 * puts under /sys/kernel/mm/wsr (one value per file, subdirectories shown as
 * "dir/name").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "wsrctl.h"

#define SYSFS_DIR	"/sys/kernel/mm/wsr"
#define MAX_DEPTH	3
#define MAX_VALUE	4096

struct entry {
	char *name;	/* relative to the root */
	char *value;
	int writable;
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static const char *sysfs_root(const char *opt)
{
	const char *env = getenv("WSR_SYSFS");

	if (opt)
		return opt;
	return env && *env ? env : SYSFS_DIR;
}

/* Read a sysfs value; trailing newlines dropped.  -errno on failure. */
static int read_value(const char *path, char **out)
{
	char *buf = malloc(MAX_VALUE + 1);
	ssize_t n;
	int fd;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	do {
		n = read(fd, buf, MAX_VALUE);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		n = -errno;
		close(fd);
		free(buf);
		return (int)n;
	}
	close(fd);
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	*out = buf;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
		      ((const struct entry *)b)->name);
}

static int collect(const char *root, const char *rel, int depth,
		   struct entries *es)
{
	char path[4096], name[1024];
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int ret = 0;

	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (!ret && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s%s%s", rel, *rel ? "/" : "",
			 d->d_name);
		snprintf(path, sizeof(path), "%s/%s", root, name);
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth < MAX_DEPTH)
				ret = collect(root, name, depth + 1, es);
			continue;
		}
		if (!S_ISREG(st.st_mode) || !(st.st_mode & 0444))
			continue;
		if (es->n == es->cap) {
			size_t ncap = es->cap ? es->cap * 2 : 32;
			struct entry *nv = realloc(es->v, ncap * sizeof(*nv));

			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			es->v = nv;
			es->cap = ncap;
		}
		es->v[es->n].name = strdup(name);
		es->v[es->n].writable = !!(st.st_mode & 0222);
		if (!es->v[es->n].name) {
			ret = -ENOMEM;
			break;
		}
		if (read_value(path, &es->v[es->n].value)) {
			/* unreadable (e.g. write-only for us): skip */
			free(es->v[es->n].name);
			continue;
		}
		es->n++;
	}
	closedir(dir);
	return ret;
}

static void entries_free(struct entries *es)
{
	size_t i;

	for (i = 0; i < es->n; i++) {
		free(es->v[i].name);
		free(es->v[i].value);
	}
	free(es->v);
}

/* A value as a JSON number if it is a plain decimal integer. */
static void json_value(struct json *j, const char *key, const char *v)
{
	uint64_t u;
	const char *p = v;

	for (; *p >= '0' && *p <= '9'; p++)
		;
	if (*v && !*p && (v[0] != '0' || !v[1]) && !parse_u64(v, &u))
		json_ku64(j, key, u);
	else
		json_kstr(j, key, v);
}

static int print_entries(const char *root, int only_writable)
{
	struct entries es = { 0 };
	size_t i, w = 0;
	int ret;

	ret = collect(root, "", 0, &es);
	if (ret) {
		entries_free(&es);
		if (ret == -ENOENT)
			return fail(root, "%s (is wsr.ko loaded?)", strerror(ENOENT));
		return fail(root, "%s", strerror(-ret));
	}
	qsort(es.v, es.n, sizeof(*es.v), entry_cmp);
	if (opt_json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		for (i = 0; i < es.n; i++)
			if (!only_writable || es.v[i].writable)
				json_value(&j, es.v[i].name, es.v[i].value);
		json_end_object(&j);
		json_finish(&j);
	} else {
		for (i = 0; i < es.n; i++)
			if (strlen(es.v[i].name) > w)
				w = strlen(es.v[i].name);
		for (i = 0; i < es.n; i++)
			if (!only_writable || es.v[i].writable)
				printf("%-*s %s\n", (int)w, es.v[i].name,
				       es.v[i].value);
	}
	entries_free(&es);
	return EXIT_OK;
}

struct sysfs_args {
	const char *dir;
};

static const struct opt sysfs_opts[] = {
	OPT_S("sysfs", 'S', struct sysfs_args, dir),
	OPT_END
};

/* --sysfs DIR; EXIT_OK, OPT_HELP or EXIT_USAGE. */
static int parse_sysfs_opts(int argc, char **argv, const char *verb,
			    const char **dir)
{
	struct sysfs_args a = { 0 };
	int ret = opts_parse(verb, sysfs_opts, &a, argc, argv, false);

	*dir = a.dir;
	return ret;
}

int cmd_stats(int argc, char **argv)
{
	const char *dir = NULL;
	int ret = parse_sysfs_opts(argc, argv, "stats", &dir);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	if (optind != argc)
		return usage_error("stats", "unexpected argument '%s'", argv[optind]);
	return print_entries(sysfs_root(dir), 0);
}

static int valid_name(const char *name)
{
	const char *p;

	if (!*name || name[0] == '/')
		return 0;
	for (p = name; *p; p++)
		if (p[0] == '.' && (p == name || p[-1] == '/'))
			return 0;	/* "..", ".x", "a/.." */
	return 1;
}

int cmd_knob(int argc, char **argv)
{
	const char *dir = NULL, *root, *sub;
	char path[4096], *value, *buf;
	size_t len;
	ssize_t n;
	int ret, fd, set;

	if (argc < 2)
		return usage_error("knob", "missing 'get' or 'set'");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_help(stdout, "knob");
		return EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "get") && strcmp(sub, "set"))
		return usage_error("knob", "unknown subverb '%s'", sub);
	set = !strcmp(sub, "set");
	ret = parse_sysfs_opts(argc - 1, argv + 1, "knob", &dir);
	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	argc -= 1;
	argv += 1;
	root = sysfs_root(dir);
	if (!set && optind == argc)
		return print_entries(root, 1);
	if (argc - optind != (set ? 2 : 1))
		return usage_error("knob", set ? "expected NAME VALUE" :
				   "expected NAME");
	if (!valid_name(argv[optind]))
		return usage_error("knob", "bad knob name '%s'", argv[optind]);
	snprintf(path, sizeof(path), "%s/%s", root, argv[optind]);
	if (!set) {
		ret = read_value(path, &value);
		if (ret == -ENOENT && access(root, F_OK))
			return fail(root, "%s (is wsr.ko loaded?)", strerror(ENOENT));
		if (ret)
			return fail(path, "%s", strerror(-ret));
		if (opt_json) {
			struct json j;

			json_init(&j, stdout);
			json_begin_object(&j);
			json_value(&j, argv[optind], value);
			json_end_object(&j);
			json_finish(&j);
		} else {
			printf("%s\n", value);
		}
		free(value);
		return EXIT_OK;
	}
	len = strlen(argv[optind + 1]);
	buf = malloc(len + 2);
	if (!buf)
		return fail(path, "out of memory");
	memcpy(buf, argv[optind + 1], len);
	buf[len++] = '\n';
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errno;
		free(buf);
		if (ret == ENOENT && access(root, F_OK))
			return fail(root, "%s (is wsr.ko loaded?)", strerror(ENOENT));
		return fail(path, "%s", strerror(ret));
	}
	do {
		n = write(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	ret = n < 0 ? errno : 0;
	free(buf);
	if (close(fd) < 0 && !ret)
		ret = errno;
	if (ret)
		return fail(path, "cannot set '%s': %s", argv[optind + 1],
			    strerror(ret));
	if (n >= 0 && (size_t)n != len)
		return fail(path, "short write");
	return EXIT_OK;
}
