// SPDX-License-Identifier: GPL-2.0
/*
 * wsrtop - watch wsr restores live through the module's tracepoints.
 *
 * Loads wsrtop.bpf.o (embedded through the bpftool skeleton), attaches it
 * to wsr.ko's raw tracepoints and polls the per-region counters once per
 * interval: a live table of faults per second by source and restore
 * progress, then on exit a summary with log2 latency histograms, as text or
 * as JSON (--json).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <linux/wsr.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "json.h"
#include "wsrtop.h"
#include "wsrtop.skel.h"

static const char usage[] =
"Usage: wsrtop [OPTION]...\n"
"Show wsr.ko's page faults and restores per region, live.\n"
"\n"
"  -i, --interval SEC   refresh the live view every SEC seconds (default 1)\n"
"  -d, --duration SEC   stop after SEC seconds (fractions allowed)\n"
"  -o, --once           no live view: summary after one interval\n"
"  -r, --region ID      trace only the region with this trace id\n"
"  -j, --json           no live view: summary as JSON on stdout\n"
"  -v, --verbose        show libbpf's debug messages\n"
"  -h, --help           show this help\n"
"\n"
"Stops on SIGINT/SIGTERM (or --duration/--once) and prints a summary.\n"
"Prints \"wsrtop: ready\" on stderr once attached.  Needs wsr.ko loaded.\n";

static const char *const src_name[WSRTOP_NR_SRC] = {
	[0] = "unknown",
	[WSR_SRC_POOL] = "pool",
	[WSR_SRC_CACHE] = "cache",
	[WSR_SRC_DEVICE] = "device",
};

struct wsrtop_opts {
	double interval;	/* seconds */
	double duration;	/* seconds, 0: until a signal */
	bool once;
	bool json;
	bool verbose;
	bool filter;
	__u32 region;
};

/* One region as userspace keeps it, also after the module destroyed it. */
struct wsrtop_row {
	struct wsrtop_key key;
	bool gone;		/* destroyed and removed from the BPF map */
	bool shown_gone;	/* the live view showed its last interval */
	struct wsrtop_region cur;
	struct wsrtop_region prev;	/* at the previous live refresh */
	__u64 inflight_runs;	/* runs of a load not ended yet */
	__u64 inflight_pages;
};

struct wsrtop_table {
	struct wsrtop_row *rows;
	size_t nr;
	size_t cap;
};

/* A copy of the "hists" and "misc" maps. */
struct wsrtop_hists {
	__u64 fault[WSRTOP_NR_SRC][WSRTOP_HIST_SLOTS];
	__u64 run[WSRTOP_NR_SRC][WSRTOP_HIST_SLOTS];
	__u64 restore[WSRTOP_HIST_SLOTS];
	__u64 lost;
	__u64 ka[WSRTOP_KA_ENTRIES];
};

static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	exiting = 1;
}

static bool verbose;

static int libbpf_print_fn(enum libbpf_print_level level, const char *format,
			   va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep up to @sec seconds; a signal cuts it short. */
static void nap(double sec)
{
	struct timespec ts;

	if (sec <= 0)
		return;
	ts.tv_sec = (time_t)sec;
	ts.tv_nsec = (long)((sec - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static int parse_seconds(const char *arg, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v <= 0 ||
	    v > 1e7)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct wsrtop_opts *o)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "once", no_argument, NULL, 'o' },
		{ "region", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	char *end;
	int c;

	o->interval = 1;
	while ((c = getopt_long(argc, argv, "i:d:or:jvh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_seconds(optarg, &o->interval)) {
				fprintf(stderr, "wsrtop: bad interval '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'd':
			if (parse_seconds(optarg, &o->duration)) {
				fprintf(stderr, "wsrtop: bad duration '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'o':
			o->once = true;
			break;
		case 'r':
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || end == optarg || *end || v > UINT32_MAX) {
				fprintf(stderr, "wsrtop: bad region id '%s'\n",
					optarg);
				return -EINVAL;
			}
			o->filter = true;
			o->region = v;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs("Try 'wsrtop --help'.\n", stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wsrtop: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static struct wsrtop_row *row_get(struct wsrtop_table *t,
				  const struct wsrtop_key *key)
{
	struct wsrtop_row *rows;
	size_t i;

	for (i = 0; i < t->nr; i++)
		if (t->rows[i].key.region == key->region &&
		    t->rows[i].key.gen == key->gen)
			return &t->rows[i];
	if (t->nr == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		rows = realloc(t->rows, t->cap * sizeof(*rows));
		if (!rows)
			return NULL;
		t->rows = rows;
	}
	memset(&t->rows[t->nr], 0, sizeof(t->rows[t->nr]));
	t->rows[t->nr].key = *key;
	return &t->rows[t->nr++];
}

/*
 * Copy every region out of the BPF map.  Destroyed regions get no more
 * events: they are kept in the table only and removed from the map.
 */
static int poll_regions(struct wsrtop_table *t, int map_fd)
{
	struct wsrtop_key key, next, *prev = NULL, *dead = NULL, *tmp;
	struct wsrtop_region val;
	struct wsrtop_row *row;
	size_t ndead = 0, i;
	int err = 0;

	while (!bpf_map_get_next_key(map_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(map_fd, &key, &val))
			continue;	/* deleted meanwhile */
		row = row_get(t, &key);
		if (!row) {
			err = -ENOMEM;
			break;
		}
		row->cur = val;
		if (!(val.seen & WSRTOP_SEEN_DESTROY))
			continue;
		tmp = realloc(dead, (ndead + 1) * sizeof(*dead));
		if (!tmp) {
			err = -ENOMEM;
			break;
		}
		dead = tmp;
		dead[ndead++] = key;
	}
	for (i = 0; i < ndead; i++) {
		row = row_get(t, &dead[i]);
		if (row)
			row->gone = true;
		bpf_map_delete_elem(map_fd, &dead[i]);
	}
	free(dead);
	return err;
}

/* Sum the loads still in flight (restores running) per live region. */
static void poll_pending(struct wsrtop_table *t, int map_fd)
{
	struct wsrtop_pending val;
	__u32 key, next, *prev = NULL;
	size_t i;
	int s;

	for (i = 0; i < t->nr; i++) {
		t->rows[i].inflight_runs = 0;
		t->rows[i].inflight_pages = 0;
	}
	while (!bpf_map_get_next_key(map_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(map_fd, &key, &val))
			continue;
		for (i = 0; i < t->nr; i++) {
			if (t->rows[i].gone ||
			    t->rows[i].key.region != val.region)
				continue;
			t->rows[i].inflight_runs += val.runs;
			for (s = 0; s < WSRTOP_NR_SRC; s++)
				t->rows[i].inflight_pages += val.pages[s];
		}
	}
}

static __u64 sum_src(const __u64 *v)
{
	__u64 s = 0;
	int i;

	for (i = 0; i < WSRTOP_NR_SRC; i++)
		s += v[i];
	return s;
}

/* The module's wsr_stats view of a region, derived from the events. */
static __u64 pages_from(const struct wsrtop_region *r, int src)
{
	return r->fault_pages[src] + r->run_pages[src];
}

static __u64 bytes_read(const struct wsrtop_region *r)
{
	return pages_from(r, WSR_SRC_DEVICE) * WSRTOP_PAGE_SIZE;
}

static bool restore_running(const struct wsrtop_row *row)
{
	return !row->gone && row->inflight_runs;
}

static const char *fmt_size(char *buf, size_t len, __u64 bytes)
{
	static const char unit[] = "KMGTP";
	double v = bytes;
	int u = -1;

	while (v >= 1024 && u < (int)sizeof(unit) - 2) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f%c", v, unit[u]);
	return buf;
}

static __u64 read_lost(struct wsrtop_bpf *skel)
{
	__u32 key = WSRTOP_MISC_LOST;
	__u64 v = 0;

	bpf_map__lookup_elem(skel->maps.misc, &key, sizeof(key), &v,
			     sizeof(v), 0);
	return v;
}

static void read_ka(struct wsrtop_bpf *skel, __u64 *ka)
{
	__u32 key;

	for (key = 0; key < WSRTOP_KA_ENTRIES; key++) {
		ka[key] = 0;
		bpf_map__lookup_elem(skel->maps.ka, &key, sizeof(key),
				     &ka[key], sizeof(ka[key]), 0);
	}
}

/* One line: the keep-alive of the bases since the tool started. */
static void print_ka(const __u64 *ka)
{
	char rbuf[16], ebuf[16];

	printf("keep-alive: %llu base restores (%llu hits, %llu misses, %s read), %llu bases dropped (%llu budget, %llu ttl, %llu reclaim, %s)\n",
	       (unsigned long long)ka[WSRTOP_KA_LOADS],
	       (unsigned long long)ka[WSRTOP_KA_HITS],
	       (unsigned long long)ka[WSRTOP_KA_MISSES],
	       fmt_size(rbuf, sizeof(rbuf), ka[WSRTOP_KA_READ]),
	       (unsigned long long)(ka[WSRTOP_KA_EVICT_BUDGET] +
				    ka[WSRTOP_KA_EVICT_TTL] +
				    ka[WSRTOP_KA_EVICT_RECLAIM]),
	       (unsigned long long)ka[WSRTOP_KA_EVICT_BUDGET],
	       (unsigned long long)ka[WSRTOP_KA_EVICT_TTL],
	       (unsigned long long)ka[WSRTOP_KA_EVICT_RECLAIM],
	       fmt_size(ebuf, sizeof(ebuf), ka[WSRTOP_KA_EVICT_BYTES]));
}

static int read_hists(struct wsrtop_bpf *skel, struct wsrtop_hists *h)
{
	__u32 key;
	__u64 v;
	int s, i, err;

	memset(h, 0, sizeof(*h));
	for (key = 0; key < WSRTOP_HIST_ENTRIES; key++) {
		err = bpf_map__lookup_elem(skel->maps.hists, &key, sizeof(key),
					   &v, sizeof(v), 0);
		if (err)
			return err;
		i = key % WSRTOP_HIST_SLOTS;
		s = key / WSRTOP_HIST_SLOTS;
		if (key >= WSRTOP_HIST_RESTORE)
			h->restore[i] = v;
		else if (key >= WSRTOP_HIST_RUN(0))
			h->run[s - WSRTOP_NR_SRC][i] = v;
		else
			h->fault[s][i] = v;
	}
	h->lost = read_lost(skel);
	read_ka(skel, h->ka);
	return 0;
}

static void print_live(struct wsrtop_table *t, double dt,
		       unsigned long long lost, const __u64 *ka)
{
	const struct wsrtop_region *c, *p;
	struct wsrtop_row *row;
	char tbuf[16], sbuf[16], rbuf[64];
	time_t now = time(NULL);
	size_t i, live = 0;
	double rate;
	__u64 pages;

	for (i = 0; i < t->nr; i++)
		live += !t->rows[i].gone;
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&now));
	printf("\n%s  regions: %zu live  lost events: %llu\n", tbuf, live,
	       lost);
	print_ka(ka);
	for (i = 0; i < t->nr && t->rows[i].shown_gone; i++)
		;
	if (i == t->nr) {
		fflush(stdout);
		return;
	}
	printf("%8s %8s %9s %8s %8s %8s %7s %9s  %s\n", "REGION", "LENGTH",
	       "FAULTS/s", "POOL/s", "CACHE/s", "DEV/s", "HUGE/s", "READ-MB/s",
	       "RESTORE");
	for (i = 0; i < t->nr; i++) {
		row = &t->rows[i];
		c = &row->cur;
		p = &row->prev;
		if (row->shown_gone)
			continue;
		pages = sum_src(c->run_pages) - sum_src(p->run_pages);
		if (restore_running(row))
			snprintf(rbuf, sizeof(rbuf),
				 "loading: %llu pages so far, %.0f pages/s",
				 (unsigned long long)row->inflight_pages,
				 pages / dt);
		else if (c->restores)
			snprintf(rbuf, sizeof(rbuf),
				 "done x%llu: %llu cache + %llu device pages",
				 (unsigned long long)c->restores,
				 (unsigned long long)c->done_cache,
				 (unsigned long long)c->done_device);
		else
			snprintf(rbuf, sizeof(rbuf), "-");
		rate = (bytes_read(c) - bytes_read(p)) / 1e6 / dt;
		printf("%8u %8s %9.0f %8.0f %8.0f %8.0f %7.0f %9.1f  %s%s\n",
		       row->key.region, fmt_size(sbuf, sizeof(sbuf), c->length),
		       (c->faults - p->faults) / dt,
		       (c->faults_src[WSR_SRC_POOL] -
			p->faults_src[WSR_SRC_POOL]) / dt,
		       (c->faults_src[WSR_SRC_CACHE] -
			p->faults_src[WSR_SRC_CACHE]) / dt,
		       (c->faults_src[WSR_SRC_DEVICE] -
			p->faults_src[WSR_SRC_DEVICE]) / dt,
		       (c->faults_huge - p->faults_huge) / dt, rate, rbuf,
		       row->gone ? " (destroyed)" : "");
		row->prev = row->cur;
		if (row->gone)
			row->shown_gone = true;
	}
	fflush(stdout);
}

static void print_stars(unsigned long long val, unsigned long long max,
			int width)
{
	int n = max ? (int)(val * width / max) : 0;
	int i;

	for (i = 0; i < width; i++)
		putchar(i < n ? '*' : ' ');
}

static void print_hist(const char *title, const __u64 *slots)
{
	unsigned long long lo, hi, max = 0;
	int i, first = -1, last = -1;

	for (i = 0; i < WSRTOP_HIST_SLOTS; i++) {
		if (!slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	if (first < 0)
		return;
	printf("\n%s\n%24s : %-8s %s\n", title, "nsecs", "count",
	       "distribution");
	for (i = first; i <= last; i++) {
		lo = i ? 1ULL << i : 0;
		hi = i < 63 ? (1ULL << (i + 1)) - 1 : ~0ULL;
		printf("%11llu -> %-10llu : %-8llu |", lo, hi,
		       (unsigned long long)slots[i]);
		print_stars(slots[i], max, 40);
		printf("|\n");
	}
}

static void print_summary(const struct wsrtop_table *t,
			  const struct wsrtop_hists *h, double elapsed)
{
	const struct wsrtop_region *c;
	char title[64], obuf[16], lbuf[16];
	size_t i;
	int s;

	printf("\nwsrtop: %.1f s, %zu regions, %llu lost events\n", elapsed,
	       t->nr, (unsigned long long)h->lost);
	print_ka(h->ka);
	printf("%6s %7s %7s %7s %6s %7s %7s %7s %8s %8s %9s %5s %4s %s\n",
	       "REGION", "OFFSET", "LENGTH", "FAULTS", "HUGE", "POOL", "CACHE",
	       "DEVICE", "PG-CACHE", "PG-DEV", "READ-B", "RUNS", "RST",
	       "STATE");
	for (i = 0; i < t->nr; i++) {
		c = &t->rows[i].cur;
		printf("%6u %7s %7s %7llu %6llu %7llu %7llu %7llu %8llu %8llu %9llu %5llu %4llu %s\n",
		       t->rows[i].key.region,
		       fmt_size(obuf, sizeof(obuf), c->offset),
		       fmt_size(lbuf, sizeof(lbuf), c->length),
		       (unsigned long long)c->faults,
		       (unsigned long long)c->faults_huge,
		       (unsigned long long)c->faults_src[WSR_SRC_POOL],
		       (unsigned long long)c->faults_src[WSR_SRC_CACHE],
		       (unsigned long long)c->faults_src[WSR_SRC_DEVICE],
		       (unsigned long long)pages_from(c, WSR_SRC_CACHE),
		       (unsigned long long)pages_from(c, WSR_SRC_DEVICE),
		       (unsigned long long)bytes_read(c),
		       (unsigned long long)c->restore_runs,
		       (unsigned long long)c->restores,
		       t->rows[i].gone ? "destroyed" :
		       restore_running(&t->rows[i]) ? "restoring" : "live");
	}
	for (s = 0; s < WSRTOP_NR_SRC; s++) {
		snprintf(title, sizeof(title), "fault latency, source %s",
			 src_name[s]);
		print_hist(title, h->fault[s]);
	}
	for (s = 0; s < WSRTOP_NR_SRC; s++) {
		snprintf(title, sizeof(title),
			 "load run latency (restores, 2 MiB faults), source %s",
			 src_name[s]);
		print_hist(title, h->run[s]);
	}
	print_hist("restore latency (whole restores)", h->restore);
}

/* A histogram: the non-empty buckets, on one line. */
static void json_hist(struct json *j, const char *key, const __u64 *slots)
{
	int i;

	json_key(j, key);
	json_begin_array_inline(j);
	for (i = 0; i < WSRTOP_HIST_SLOTS; i++) {
		if (!slots[i])
			continue;
		json_begin_object(j);
		json_ku64(j, "lo", i ? 1ULL << i : 0ULL);
		json_ku64(j, "hi", i < 63 ? (1ULL << (i + 1)) - 1 : ~0ULL);
		json_ku64(j, "count", slots[i]);
		json_end_object(j);
	}
	json_end_array(j);
}

/* One region object per line, flat, with the names of struct wsr_stats. */
static void json_region(struct json *j, const struct wsrtop_row *row)
{
	const struct wsrtop_region *c = &row->cur;

	json_begin_object_inline(j);
	json_ku64(j, "region", row->key.region);
	json_ku64(j, "offset", c->offset);
	json_ku64(j, "length", c->length);
	json_ku64(j, "flags", c->flags);
	json_kbool(j, "created", c->seen & WSRTOP_SEEN_CREATE);
	json_kbool(j, "destroyed", c->seen & WSRTOP_SEEN_DESTROY);
	json_ku64(j, "faults", c->faults);
	json_ku64(j, "faults_huge", c->faults_huge);
	json_ku64(j, "faults_present", c->faults_src[WSR_SRC_POOL]);
	json_ku64(j, "faults_cache", c->faults_src[WSR_SRC_CACHE]);
	json_ku64(j, "faults_device", c->faults_src[WSR_SRC_DEVICE]);
	json_ku64(j, "faults_unknown", c->faults_src[0]);
	json_ku64(j, "pages_cache", pages_from(c, WSR_SRC_CACHE));
	json_ku64(j, "pages_device", pages_from(c, WSR_SRC_DEVICE));
	json_ku64(j, "bytes_read", bytes_read(c));
	json_ku64(j, "fault_pages_cache", c->fault_pages[WSR_SRC_CACHE]);
	json_ku64(j, "fault_pages_device", c->fault_pages[WSR_SRC_DEVICE]);
	json_ku64(j, "runs", sum_src(c->runs_src));
	json_ku64(j, "runs_cache", c->runs_src[WSR_SRC_CACHE]);
	json_ku64(j, "runs_device", c->runs_src[WSR_SRC_DEVICE]);
	json_ku64(j, "runs_unknown", c->runs_src[0] + c->runs_src[WSR_SRC_POOL]);
	json_ku64(j, "chunk_runs", c->chunk_runs);
	json_ku64(j, "chunk_pages_cache", c->chunk_pages[WSR_SRC_CACHE]);
	json_ku64(j, "chunk_pages_device", c->chunk_pages[WSR_SRC_DEVICE]);
	json_ku64(j, "restores", c->restores);
	json_ku64(j, "restore_runs", c->restore_runs);
	json_ku64(j, "restore_pages_cache", c->restore_pages[WSR_SRC_CACHE]);
	json_ku64(j, "restore_pages_device", c->restore_pages[WSR_SRC_DEVICE]);
	json_ku64(j, "restores_pages_cache", c->done_cache);
	json_ku64(j, "restores_pages_device", c->done_device);
	json_ku64(j, "restores_bytes_read", c->done_bytes);
	json_ku64(j, "inflight_runs", row->inflight_runs);
	json_ku64(j, "inflight_pages", row->inflight_pages);
	json_ku64(j, "fault_ns_total", c->fault_ns);
	json_ku64(j, "run_ns_total", c->run_ns);
	if (c->seen & WSRTOP_SEEN_DESTROY) {
		json_ku64(j, "destroy_faults", c->end_faults);
		json_ku64(j, "destroy_bytes_read", c->end_bytes);
	}
	json_end_object(j);
}

static void print_json(const struct wsrtop_table *t,
		       const struct wsrtop_hists *h, double elapsed)
{
	struct json j;
	size_t i;
	int s;

	json_init(&j, stdout);
	json_begin_object(&j);
	json_ku64(&j, "version", 1);
	json_ku64(&j, "duration_ms", (__u64)(elapsed * 1000));
	json_ku64(&j, "lost", h->lost);
	json_key(&j, "keepalive");
	json_begin_object_inline(&j);
	json_ku64(&j, "ka_restores", h->ka[WSRTOP_KA_LOADS]);
	json_ku64(&j, "ka_hits", h->ka[WSRTOP_KA_HITS]);
	json_ku64(&j, "ka_misses", h->ka[WSRTOP_KA_MISSES]);
	json_ku64(&j, "ka_read_bytes", h->ka[WSRTOP_KA_READ]);
	json_ku64(&j, "ka_evict_budget", h->ka[WSRTOP_KA_EVICT_BUDGET]);
	json_ku64(&j, "ka_evict_ttl", h->ka[WSRTOP_KA_EVICT_TTL]);
	json_ku64(&j, "ka_evict_reclaim", h->ka[WSRTOP_KA_EVICT_RECLAIM]);
	json_ku64(&j, "ka_evict_bytes", h->ka[WSRTOP_KA_EVICT_BYTES]);
	json_end_object(&j);
	json_key(&j, "regions");
	json_begin_array(&j);
	for (i = 0; i < t->nr; i++)
		json_region(&j, &t->rows[i]);
	json_end_array(&j);
	json_key(&j, "fault_latency_ns");
	json_begin_object(&j);
	for (s = 0; s < WSRTOP_NR_SRC; s++)
		json_hist(&j, src_name[s], h->fault[s]);
	json_end_object(&j);
	json_key(&j, "run_latency_ns");
	json_begin_object(&j);
	for (s = 0; s < WSRTOP_NR_SRC; s++)
		json_hist(&j, src_name[s], h->run[s]);
	json_end_object(&j);
	json_hist(&j, "restore_latency_ns", h->restore);
	json_end_object(&j);
	json_finish(&j);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct wsrtop_opts opts = { 0 };
	struct wsrtop_table table = { 0 };
	struct wsrtop_config cfg = { 0 };
	struct wsrtop_hists hists;
	__u32 key = 0;
	struct sigaction sa = { .sa_handler = sig_handler };
	struct wsrtop_bpf *skel;
	double start, last, now, deadline;
	bool live;
	int err, map_fd, pending_fd;

	if (parse_opts(argc, argv, &opts))
		return 1;
	verbose = opts.verbose;
	live = !opts.json && !opts.once;
	libbpf_set_print(libbpf_print_fn);

	skel = wsrtop_bpf__open();
	if (!skel) {
		fprintf(stderr, "wsrtop: open BPF object: %s\n",
			strerror(errno));
		return 1;
	}
	err = wsrtop_bpf__load(skel);
	if (err) {
		fprintf(stderr, "wsrtop: load BPF programs: %s\n",
			strerror(-err));
		goto cleanup;
	}
	cfg.filter = opts.filter;
	cfg.region = opts.region;
	err = bpf_map__update_elem(skel->maps.config, &key, sizeof(key), &cfg,
				   sizeof(cfg), BPF_ANY);
	if (err) {
		fprintf(stderr, "wsrtop: set up BPF maps: %s\n",
			strerror(-err));
		goto cleanup;
	}
	err = wsrtop_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "wsrtop: attach to wsr tracepoints: %s%s\n",
			strerror(-err),
			err == -ENOENT ? " (is wsr.ko loaded?)" : "");
		goto cleanup;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	map_fd = bpf_map__fd(skel->maps.regions);
	pending_fd = bpf_map__fd(skel->maps.pending);

	fprintf(stderr, "wsrtop: ready, tracing wsr regions%s\n",
		opts.duration ? "" : "; Ctrl-C to stop");
	start = now_s();
	last = start;
	for (;;) {
		deadline = last + opts.interval;
		if (opts.duration && start + opts.duration < deadline)
			deadline = start + opts.duration;
		nap(deadline - now_s());
		if (exiting)
			break;
		now = now_s();
		if (now < deadline)
			continue;
		err = poll_regions(&table, map_fd);
		if (err)
			break;
		poll_pending(&table, pending_fd);
		if (live) {
			__u64 ka[WSRTOP_KA_ENTRIES];

			read_ka(skel, ka);
			print_live(&table, now - last, read_lost(skel), ka);
		}
		last = now;
		if (opts.once || (opts.duration &&
				  now - start >= opts.duration))
			break;
	}
	if (!err)
		err = poll_regions(&table, map_fd);
	if (!err)
		poll_pending(&table, pending_fd);
	if (!err)
		err = read_hists(skel, &hists);
	if (err) {
		fprintf(stderr, "wsrtop: read BPF maps: %s\n", strerror(-err));
		goto cleanup;
	}
	if (opts.json)
		print_json(&table, &hists, now_s() - start);
	else
		print_summary(&table, &hists, now_s() - start);

cleanup:
	wsrtop_bpf__destroy(skel);
	free(table.rows);
	return err ? 1 : 0;
}
