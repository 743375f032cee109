// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * wsrctl - command-line front end of libwsr: working-set files, the wsr
 * module's sysfs knobs and statistics, and record/restore of a snapshot
 * region without a VMM.  See wsrctl(1).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "wsrctl.h"

int opt_json;

struct verb_help {
	const char *verb;
	const char *text;
};

static const struct verb_help helps[] = {
	{ "", "usage: wsrctl [--json] VERB [ARGS...]\n"
	  "\n"
	  "Working-set files:\n"
	  "  ws show FILE              summary and first pages of a working set\n"
	  "  ws merge -o OUT IN...     merge recordings into one working set\n"
	  "  ws diff A B               pages only in A, only in B, in both\n"
	  "  ws stats IN...            sizes, overlap and Jaccard between sets\n"
	  "  ws check --snapshot F WS  does WS belong to snapshot F?\n"
	  "  ws import --snapshot F --pages LIST -o OUT\n"
	  "                            a working set from a page list\n"
	  "Compressed snapshots:\n"
	  "  snapshot compress [--codec lz4|zstd] [--chunk SIZE] IN OUT\n"
	  "  snapshot info FILE        ratio per codec, zero-chunk share\n"
	  "  snapshot decompress IN OUT\n"
	  "Module (needs wsr.ko):\n"
	  "  base create NAME --snapshot F [--offset O] [--length L]\n"
	  "                            a named base, a file of wsrfs for VMMs\n"
	  "  base restore NAME --ws WS [--async]   prefetch into a base\n"
	  "  base record NAME -o OUT -- CMD...     record who maps a base\n"
	  "  base list | base drop NAME\n"
	  "  record --snapshot F -o OUT (--touch LIST|--pattern P|-- CMD...)\n"
	  "  restore --snapshot F --ws WS [--async]\n"
	  "  stats                     all files under /sys/kernel/mm/wsr\n"
	  "  knob get [NAME] | knob set NAME VALUE\n"
	  "Helpers:\n"
	  "  id --snapshot F           snapshot identity (size + fingerprint)\n"
	  "  touch --fd N (--touch LIST|--pattern P)\n"
	  "                            touch an inherited region (record -- CMD)\n"
	  "\n"
	  "--json gives machine-readable output.  'wsrctl VERB --help' for\n"
	  "details; exit status 0 ok, 1 failure, 2 usage error.\n" },
	{ "ws", "usage: wsrctl ws show|merge|diff|stats|check|import ...\n"
	  "'wsrctl ws SUBVERB --help' for details.\n" },
	{ "ws show", "usage: wsrctl ws show [--json] [--limit N | --all] FILE\n"
	  "\n"
	  "Print a working set's header, its frequency histogram and its first\n"
	  "N pages (default 16) in restore order, with their mean normalised\n"
	  "first-touch rank (0 = first, 1 = last) and frequency.\n" },
	{ "ws merge", "usage: wsrctl ws merge [--json] [--min-count K] -o OUT IN...\n"
	  "\n"
	  "Merge working sets of the same snapshot into OUT: the union of their\n"
	  "pages, each with the number of recordings that touched it, ordered\n"
	  "by mean normalised first-touch rank.  --min-count K keeps only pages\n"
	  "touched by at least K recordings.\n" },
	{ "ws diff", "usage: wsrctl ws diff [--json] [--list] A B\n"
	  "\n"
	  "Count the pages only in A, only in B and in both, and their Jaccard\n"
	  "overlap.  --list also prints the page indices that differ.\n" },
	{ "ws stats", "usage: wsrctl ws stats [--json] IN...\n"
	  "\n"
	  "Statistics between working sets: sizes, union, pages common to all,\n"
	  "pages unique to one, pairwise Jaccard overlap; and for each set the\n"
	  "histogram of page frequencies.\n" },
	{ "ws check", "usage: wsrctl ws check [--json] --snapshot F [--offset O]\n"
	  "                       [--length L] WS\n"
	  "\n"
	  "Compute the identity of the snapshot range and compare it with the\n"
	  "one recorded in WS.  Exit status 1 if WS belongs to another snapshot.\n" },
	{ "ws import", "usage: wsrctl ws import [--json] --snapshot F [--offset O]\n"
	  "                        [--length L] [--dropped N]\n"
	  "                        (--pages LIST | --pattern P)... -o OUT\n"
	  "\n"
	  "Make a one-recording working set from page indices in first-touch\n"
	  "order (a page listed twice keeps its first position).  For working\n"
	  "sets recorded by other means, e.g. a userfaultfd or mincore tracer.\n"
	  "LIST: a file ('-' = stdin), one page index or range A-B per line,\n"
	  "'#' starts a comment.  P: seq:START:COUNT[:STRIDE] or\n"
	  "random:COUNT[:SEED].\n" },
	{ "snapshot", "usage: wsrctl snapshot compress|decompress|info ...\n"
	  "'wsrctl snapshot SUBVERB --help' for details.\n" },
	{ "snapshot compress", "usage: wsrctl snapshot compress [--codec lz4|zstd] [--chunk SIZE]\n"
	  "                                IN OUT\n"
	  "\n"
	  "Write OUT, a compressed snapshot of the snapshot file IN (see\n"
	  "wsr-zsnap(5)): IN cut into chunks of SIZE (a power of two from 64K\n"
	  "to 2M, default 128K), each stored with the codec (default lz4), raw\n"
	  "when that does not make it shorter, or not at all when it is all\n"
	  "zero.  A progress bar on stderr when it is a terminal.\n" },
	{ "snapshot decompress", "usage: wsrctl snapshot decompress IN OUT\n"
	  "\n"
	  "Write OUT, the uncompressed snapshot of the compressed snapshot IN,\n"
	  "checking every chunk's checksum and size (zero chunks stay holes).\n" },
	{ "snapshot info", "usage: wsrctl snapshot info [--json] FILE\n"
	  "\n"
	  "Check the index of a compressed snapshot and print its geometry,\n"
	  "its compression ratio (uncompressed length / file size), the share\n"
	  "of zero chunks, and per codec: chunks, raw and stored bytes, ratio.\n" },
	{ "record", "usage: wsrctl record [--json] --snapshot F [--offset O] [--length L]\n"
	  "                     [--dev DEV] [--no-huge] -o OUT\n"
	  "                     (--touch LIST | --pattern P)... | -- CMD [ARGS...]\n"
	  "\n"
	  "Create a wsr region over the snapshot range, start the in-kernel\n"
	  "first-touch tracker and generate accesses, then save the recorded\n"
	  "working set to OUT.  Accesses come either from wsrctl itself, which\n"
	  "maps the region and reads one byte of each page of LIST / P in order,\n"
	  "or from CMD: CMD inherits the region's file descriptor, named by\n"
	  "$WSR_FD (its length in $WSR_LENGTH), maps it MAP_SHARED and its page\n"
	  "faults are recorded.  CMD must exit with status 0.\n" },
	{ "restore", "usage: wsrctl restore [--json] --snapshot F --ws WS [--offset O]\n"
	  "                      [--dev DEV] [--no-huge] [--async] [--wait MS]\n"
	  "                      [--lazy] [--no-check] [--touch LIST | --pattern P]...\n"
	  "\n"
	  "Create a region over the snapshot range, prefault it from WS and\n"
	  "print the restore counters and the region's statistics.  --async\n"
	  "returns once the restore is under way; --wait MS then waits for it\n"
	  "(0 = no limit).  --lazy leaves pages the page cache holds to be\n"
	  "copied when touched.  --touch/--pattern read the pages afterwards, as a\n"
	  "guest would, and the statistics show how they were served.\n"
	  "--no-check skips the snapshot fingerprint check (not the length).\n" },
	{ "base", "usage: wsrctl base create|restore|record|list|drop ...\n"
	  "\n"
	  "Named bases: a snapshot range the module keeps under a name and\n"
	  "serves as the file NAME of every wsrfs mount (mount -t wsrfs wsr\n"
	  "DIR), for VMMs that map guest memory by path (MAP_PRIVATE).\n"
	  "'wsrctl base SUBVERB --help' for details.\n" },
	{ "base create", "usage: wsrctl [--json] base create NAME --snapshot F [--offset O]\n"
	  "                          [--length L] [--no-huge] [--dev DEV]\n"
	  "\n"
	  "Make the named base NAME over the snapshot range (default: from O to\n"
	  "the end of F).  NAME: 1-63 of [A-Za-z0-9._-], not starting with '.'.\n"
	  "Its file has F's owner, group and mode.\n" },
	{ "base restore", "usage: wsrctl [--json] base restore NAME --ws WS [--async] [--wait MS]\n"
	  "                           [--lazy] [--no-check] [--dev DEV]\n"
	  "\n"
	  "Load the working set WS into the base, before or while a VMM maps it.\n"
	  "--async returns once the load is under way (it goes on after wsrctl\n"
	  "exits); --wait MS waits for it (0 = no limit).  Only the base's\n"
	  "creator or root may.\n" },
	{ "base record", "usage: wsrctl [--json] base record NAME -o OUT [--dev DEV] -- CMD [ARGS...]\n"
	  "\n"
	  "Record the first touch of every page of the base by whoever maps it\n"
	  "while CMD runs (CMD maps the base's file, or starts the VMM that\n"
	  "does), and save the working set to OUT.  CMD must exit with status\n"
	  "0.  Only the base's creator or root may.\n" },
	{ "base list", "usage: wsrctl [--json] base list [--dev DEV]\n"
	  "\n"
	  "Every named base: range, owner, mode, resident 2 MiB and 4 KiB\n"
	  "folios, faults.\n" },
	{ "base drop", "usage: wsrctl base drop NAME [--dev DEV]\n"
	  "\n"
	  "Remove the name.  Open files and mappings of it keep working; the\n"
	  "base goes with the last of them.  Only its creator or root may.\n" },
	{ "stats", "usage: wsrctl stats [--json] [--sysfs DIR]\n"
	  "\n"
	  "Print every readable file under /sys/kernel/mm/wsr (or DIR, or\n"
	  "$WSR_SYSFS), one 'name value' per line.\n" },
	{ "knob", "usage: wsrctl knob get [--json] [--sysfs DIR] [NAME]\n"
	  "       wsrctl knob set [--sysfs DIR] NAME VALUE\n"
	  "\n"
	  "Read or write a file under /sys/kernel/mm/wsr.  Without NAME, 'get'\n"
	  "lists every writable file (the knobs) and its value.\n" },
	{ "id", "usage: wsrctl id [--json] --snapshot F [--offset O] [--length L]\n"
	  "\n"
	  "Print the identity libwsr gives the snapshot range: its length and a\n"
	  "fingerprint of 64 sampled pages (see wsr_snapshot_id(3)).\n" },
	{ "touch", "usage: wsrctl touch --fd N [--length L] [--json]\n"
	  "                   (--touch LIST | --pattern P)...\n"
	  "\n"
	  "Map the wsr region open on file descriptor N (default $WSR_FD) and\n"
	  "read one byte of each listed page, in order.  Meant to be the CMD of\n"
	  "'wsrctl record -- CMD'.\n" },
};

void print_help(FILE *f, const char *verb)
{
	size_t i;

	for (i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (!strcmp(helps[i].verb, verb)) {
			fputs(helps[i].text, f);
			return;
		}
	fputs(helps[0].text, f);
}

int fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "wsrctl: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int fail_err(const char *what, int err)
{
	return fail(what, "%s", wsr_strerror(err));
}

int usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "wsrctl %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'wsrctl %s --help')\n", verb);
	return EXIT_USAGE;
}

int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		shift = 20;
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

void print_snapshot_id(const struct wsr_snapshot_id *id)
{
	printf("snapshot:    length %" PRIu64 " (%.1f MiB), offset %" PRIu64
	       ", fingerprint %016" PRIx64 " (%u sampled pages)\n",
	       id->length, id->length / 1048576.0, id->offset,
	       id->fingerprint, id->samples);
}

void json_snapshot_id(struct json *j, const char *key,
		      const struct wsr_snapshot_id *id)
{
	char fp[32];

	snprintf(fp, sizeof(fp), "%016" PRIx64, id->fingerprint);
	json_key(j, key);
	json_begin_object(j);
	json_ku64(j, "offset", id->offset);
	json_ku64(j, "length", id->length);
	json_kstr(j, "fingerprint", fp);
	json_ku64(j, "method", id->method);
	json_ku64(j, "samples", id->samples);
	json_end_object(j);
}

#define STAT_FIELDS(X)				\
	X(faults) X(faults_huge) X(faults_present) X(faults_cache)	\
	X(faults_device) X(faults_waited) X(pages_cache) X(pages_device) \
	X(bytes_read) X(restore_pending) X(tracked) X(dropped)	\
	X(resident_huge) X(resident_small) X(bytes_gap) X(bytes_around)	\
	X(decompress_ns) X(chunks_decompressed)

void print_region_stats(const struct wsr_stats *st)
{
#define X(f) printf("  %-16s %" PRIu64 "\n", #f, (uint64_t)st->f);
	STAT_FIELDS(X)
#undef X
}

void json_region_stats(struct json *j, const char *key,
		       const struct wsr_stats *st)
{
	json_key(j, key);
	json_begin_object(j);
#define X(f) json_ku64(j, #f, st->f);
	STAT_FIELDS(X)
#undef X
	json_end_object(j);
}

int run_subverb(const char *verb, const struct subverb *sub, size_t n,
		int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return usage_error(verb, "missing subverb");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_help(stdout, verb);
		return EXIT_OK;
	}
	for (i = 0; i < n; i++)
		if (!strcmp(argv[1], sub[i].name))
			return sub[i].fn(argc - 1, argv + 1);
	return usage_error(verb, "unknown subverb '%s'", argv[1]);
}

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct verb verbs[] = {
	{ "ws", cmd_ws },
	{ "snapshot", cmd_snapshot },
	{ "stats", cmd_stats },
	{ "knob", cmd_knob },
	{ "record", cmd_record },
	{ "restore", cmd_restore },
	{ "touch", cmd_touch },
	{ "id", cmd_id },
	{ "base", cmd_base },
};

int main(int argc, char **argv)
{
	size_t i;
	int a = 1;

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--json")) {
			opt_json = 1;
		} else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			print_help(stdout, "");
			return EXIT_OK;
		} else if (!strcmp(argv[a], "--version")) {
			printf("wsrctl (libwsr %d.%d)\n", LIBWSR_VERSION_MAJOR,
			       LIBWSR_VERSION_MINOR);
			return EXIT_OK;
		} else {
			fprintf(stderr, "wsrctl: unknown option '%s' (see 'wsrctl --help')\n",
				argv[a]);
			return EXIT_USAGE;
		}
	}
	if (a == argc) {
		print_help(stderr, "");
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[a], verbs[i].name))
			return verbs[i].fn(argc - a, argv + a);
	if (!strcmp(argv[a], "help")) {
		print_help(stdout, a + 1 < argc ? argv[a + 1] : "");
		return EXIT_OK;
	}
	fprintf(stderr, "wsrctl: unknown verb '%s' (see 'wsrctl --help')\n",
		argv[a]);
	return EXIT_USAGE;
}
