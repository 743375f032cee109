// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-vmm - a minimal KVM VMM that snapshots a guest payload after its
 * initialisation and restores it through a chosen memory backend.
 *
 *   wsr-vmm run --payload IMG --mem SIZE --snapshot DIR [--input N]
 *   wsr-vmm restore --snapshot DIR --backend B [--ws F] [--record F]
 *                   [--recorded LIST] [--input N] [--async] [--lazy]
 *                   [--cold] [--json] [--batch]
 *   wsr-vmm expect --snapshot DIR --input N [--pages]
 *   wsr-vmm union --snapshot DIR --backend reap|faasnap -o OUT IN...
 *   wsr-vmm devreads FILE OFFSET:LENGTH...
 *   wsr-vmm table [FILE]
 *   wsr-vmm conc-table [FILE]
 *
 * See README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <libwsr.h>
#include "json.h"
#include "vmm.h"

static const struct backend *const backends[] = {
	&backend_file, &backend_eager, &backend_reap, &backend_faasnap,
	&backend_faasnap_mincore, &backend_wsr,
};

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'G': case 'g':
		v <<= 10;
		/* fall through */
	case 'M': case 'm':
		v <<= 10;
		/* fall through */
	case 'K': case 'k':
		v <<= 10;
		end++;
		break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > UINT32_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage:\n"
	      "  wsr-vmm run --payload IMG --mem SIZE --snapshot DIR [--input N]\n"
	      "  wsr-vmm restore --snapshot DIR --backend file|eager|reap|faasnap|\n"
	      "                  faasnap-mincore|wsr [--ws FILE] [--record FILE]\n"
	      "                  [--recorded LIST] [--input N] [--async] [--lazy]\n"
	      "                  [--cold] [--json] [--verbose] [--batch]\n"
	      "                  [--mem-file PATH]   (file backend: map PATH, a\n"
	      "                  wsr base's file, instead of DIR/mem; with --ws,\n"
	      "                  prefetch it into the base, async)\n"
	      "                  [--zsnap FILE]\n"
	      "  wsr-vmm expect --snapshot DIR --input N [--pages]\n"
	      "                  (--pages: a trace payload's guest pages, in\n"
	      "                  the order the invocation touches them)\n"
	      "  wsr-vmm union --snapshot DIR --backend reap|faasnap -o OUT IN...\n"
	      "  wsr-vmm devreads FILE OFFSET:LENGTH...\n"
	      "  wsr-vmm table [FILE]\n"
	      "  wsr-vmm conc-table [FILE]\n", f);
}

/* ------------------------------------------------------------------ run */

/* Record the snapshot's libwsr identity in the state. */
static int snapshot_identify(const char *dir, struct vmm_state *st)
{
	struct wsr_snapshot_id id;
	char *path = path_join(dir, "mem");
	int fd, ret;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -errno;
	ret = wsr_snapshot_id(fd, 0, st->mem_size, &id);
	close(fd);
	if (ret)
		return ret;
	st->snap_fp = id.fingerprint;
	st->snap_fp_method = id.method;
	st->snap_fp_samples = id.samples;
	return 0;
}

static int load_image(const char *path, uint8_t *mem, struct wsr_image_hdr *h)
{
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb)) {
		close(fd);
		return -errno;
	}
	if (sb.st_size < (off_t)sizeof(*h) || sb.st_size > (off_t)WSR_IMAGE_MAX) {
		close(fd);
		return -EFBIG;
	}
	n = read(fd, mem + WSR_GPA_IMAGE, sb.st_size);
	close(fd);
	if (n != sb.st_size)
		return n < 0 ? -errno : -EIO;
	memcpy(h, mem + WSR_GPA_IMAGE, sizeof(*h));
	if (h->magic != WSR_IMAGE_MAGIC || ref_result(h->payload, 4ULL << 20,
						       0, &(uint64_t){0}) ||
	    h->entry < WSR_GPA_IMAGE || h->entry >= WSR_GPA_IMAGE + sb.st_size)
		return -ENOEXEC;
	h->name[sizeof(h->name) - 1] = 0;
	return 0;
}

/* What "run" was asked to do. */
struct run_opts {
	const char *payload, *dir;
	uint64_t mem_size;
	uint32_t input;
	bool have_input, quiet;
};

/* Returns 0, or the exit code (2 after a usage error). */
static int run_parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "payload", required_argument, NULL, 'p' },
		{ "mem", required_argument, NULL, 'm' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "input", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->mem_size = 128ULL << 20;
	while ((c = getopt_long(argc, argv, "p:m:s:i:q", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->payload = optarg;
			break;
		case 'm':
			if (parse_size(optarg, &o->mem_size)) {
				vmm_err("--mem '%s': not a size", optarg);
				return 2;
			}
			break;
		case 's':
			o->dir = optarg;
			break;
		case 'i':
			if (parse_u32(optarg, &o->input)) {
				vmm_err("--input '%s': not a number", optarg);
				return 2;
			}
			o->have_input = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o->payload || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (o->mem_size < (16ULL << 20) || o->mem_size > (4ULL << 30) ||
	    o->mem_size % (2ULL << 20)) {
		vmm_err("--mem must be a multiple of 2M in [16M, 4G]");
		return 2;
	}
	return 0;
}

/* Map guest memory, load the payload, run it to READY. */
static int run_boot(const struct run_opts *o, struct vm *vm, uint8_t **memp,
		    struct wsr_image_hdr *hdr)
{
	struct wsr_boot_info *boot;
	uint64_t t0 = now_ns();
	enum vm_event ev;
	uint8_t *mem;
	int ret;

	mem = mmap(NULL, o->mem_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		vmm_err("cannot map %" PRIu64 " bytes: %s", o->mem_size,
			strerror(errno));
		return -errno;
	}
	*memp = mem;
	/* The boot run is not measured: let it use 2 MiB pages. */
	madvise(mem, o->mem_size, MADV_HUGEPAGE);
	ret = load_image(o->payload, mem, hdr);
	if (ret) {
		vmm_err("%s: not a payload image: %s", o->payload,
			strerror(-ret));
		return ret;
	}
	boot = (struct wsr_boot_info *)(mem + WSR_GPA_BOOT);
	boot->magic = WSR_BOOT_MAGIC;
	boot->mem_size = o->mem_size;
	boot->heap_start = WSR_GPA_HEAP;
	boot->heap_end = o->mem_size;

	ret = vm_open(vm, mem, o->mem_size);
	if (ret) {
		vmm_err("cannot create a VM (/dev/kvm): %s", strerror(-ret));
		return ret;
	}
	vm->quiet = o->quiet;
	ret = vm_boot_setup(vm, hdr->entry);
	if (ret) {
		vmm_err("vCPU setup: %s", strerror(-ret));
		return ret;
	}
	ret = vm_run(vm, &ev);
	if (ret || ev != VM_EV_READY) {
		vmm_err("%s: init failed: %s", hdr->name,
			ret ? strerror(-ret) : "done before ready");
		return ret ? ret : -EPROTO;
	}
	if (!o->quiet)
		printf("%s: initialised %" PRIu64 " MiB guest in %.1f ms\n",
		       hdr->name, o->mem_size >> 20, (now_ns() - t0) / 1e6);
	return 0;
}

/* Write DIR/mem, then DIR/state: a state file means a whole snapshot. */
static int run_snapshot(const struct run_opts *o, struct vm *vm,
			const uint8_t *mem, const struct wsr_image_hdr *hdr)
{
	uint64_t t0 = now_ns();
	struct vmm_state st;
	int ret;

	ret = vm_complete_io(vm);
	if (!ret) {
		memset(&st, 0, sizeof(st));
		ret = vm_save_cpu(vm, &st);
	}
	if (ret) {
		vmm_err("cannot save the vCPU: %s", strerror(-ret));
		return ret;
	}
	st.payload = hdr->payload;
	st.mem_size = o->mem_size;
	memcpy(st.name, hdr->name, sizeof(st.name));
	if (mkdir(o->dir, 0755) && errno != EEXIST) {
		vmm_err("%s: %s", o->dir, strerror(errno));
		return -errno;
	}
	ret = mem_write(o->dir, mem, o->mem_size);
	if (!ret)
		ret = snapshot_identify(o->dir, &st);
	if (!ret)
		ret = state_write(o->dir, &st);
	if (ret) {
		vmm_err("%s: cannot write the snapshot: %s", o->dir,
			strerror(-ret));
		return ret;
	}
	if (!o->quiet)
		printf("%s: snapshot written to %s in %.1f ms\n",
		       hdr->name, o->dir, (now_ns() - t0) / 1e6);
	return 0;
}

/* Run one invocation on the live VM and check its result. */
static int run_invoke(const struct run_opts *o, struct vm *vm,
		      const struct wsr_image_hdr *hdr)
{
	enum vm_event ev;
	uint64_t expect;
	int ret;

	vm->input = o->input;
	ret = vm_run(vm, &ev);
	if (ret || ev != VM_EV_DONE) {
		vmm_err("%s: invocation failed", hdr->name);
		return ret ? ret : -EPROTO;
	}
	ref_result(hdr->payload, o->mem_size, o->input, &expect);
	printf("%s: input %u result %#" PRIx64 " expected %#" PRIx64 " %s\n",
	       hdr->name, o->input, vm->result, expect,
	       vm->result == expect ? "ok" : "MISMATCH");
	return vm->result == expect ? 0 : -EBADMSG;
}

static int cmd_run(int argc, char **argv)
{
	struct vm vm = { .kvm = -1, .fd = -1, .vcpu = -1 };
	struct run_opts o = { 0 };
	struct wsr_image_hdr hdr;
	uint8_t *mem = NULL;
	int ret, rc = 1;

	ret = run_parse(argc, argv, &o);
	if (ret)
		return ret;
	if (run_boot(&o, &vm, &mem, &hdr))
		goto out;
	if (o.dir && run_snapshot(&o, &vm, mem, &hdr))
		goto out;
	if (o.have_input && run_invoke(&o, &vm, &hdr))
		goto out;
	rc = 0;
out:
	vm_close(&vm);
	if (mem)
		munmap(mem, o.mem_size);
	return rc;
}

/* -------------------------------------------------------------- restore */

/*
 * --mem-file: the backend maps PATH (a wsr base's file, as a stock VMM
 * would) in place of DIR/mem, which stays open as r->dev_fd for the
 * measurements of the page cache and the disk.  Opened O_RDWR, as QEMU's
 * memory-backend-file opens mem-path.
 */
static int open_mem_file(struct restore *r)
{
	struct stat sb;
	int fd, ret;

	fd = open(r->mem_file, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		vmm_err("%s: %s", r->mem_file, strerror(errno));
		return ret;
	}
	if (fstat(fd, &sb) || (uint64_t)sb.st_size < r->st.mem_size) {
		vmm_err("%s: smaller than the guest's %" PRIu64 " bytes",
			r->mem_file, r->st.mem_size);
		close(fd);
		return -EBADMSG;
	}
	r->snap_fd = fd;
	return 0;
}

static int open_snapshot(struct restore *r)
{
	struct stat sb;
	int ret;

	ret = state_read(r->dir, &r->st);
	if (ret) {
		vmm_err("%s/state: %s", r->dir, ret == -EBADMSG ?
			"not a valid snapshot state" : strerror(-ret));
		return ret;
	}
	r->snap_path = path_join(r->dir, "mem");
	if (!r->snap_path)
		return -ENOMEM;
	r->snap_fd = open(r->snap_path, O_RDONLY | O_CLOEXEC);
	if (r->snap_fd < 0) {
		ret = -errno;
		vmm_err("%s: %s", r->snap_path, strerror(errno));
		return ret;
	}
	if (fstat(r->snap_fd, &sb))
		return -errno;
	if ((uint64_t)sb.st_size != r->st.mem_size) {
		vmm_err("%s: %lld bytes, the state says %" PRIu64,
			r->snap_path, (long long)sb.st_size, r->st.mem_size);
		return -EBADMSG;
	}
	r->dev_fd = r->snap_fd;
	return r->mem_file ? open_mem_file(r) : 0;
}

struct sample {
	struct rusage ru;
	struct io_stat io;
	bool io_ok;
};

/* What "restore" was asked to do, beside struct restore's options. */
struct restore_opts {
	const struct backend *b;
	uint32_t input;
	const char *recorded;	/* --recorded: inputs the WS was recorded on */
	bool cold, json, batch;
};

/* One measured restore: the samples around it and what it gave. */
struct restore_run {
	struct sample s0, s1;
	struct devreads dev;
	struct devreads_result devres;
	bool dev_ok;
	uint64_t expect, result;
};

static void sample(struct restore *r, struct sample *s)
{
	getrusage(RUSAGE_SELF, &s->ru);
	s->io_ok = !blk_stat(r->dev_fd, &s->io);
}

static void print_json(const struct restore *r, const struct restore_opts *o,
		       const struct restore_run *run, long majflt, long minflt,
		       int64_t rd_bytes, int64_t rd_ios, uint64_t anon_kb,
		       uint64_t file_kb, uint64_t cached, uint64_t private_kb,
		       uint64_t shared_kb)
{
	char backend[40], hex[24];
	struct json j;
	unsigned int i;

	snprintf(backend, sizeof(backend), "%s%s%s%s", o->b->name,
		 r->async ? "-async" : "", r->lazy ? "-lazy" : "",
		 !r->mem_file ? "" : r->ws_path ? "@base-async" : "@base");
	json_init_line(&j, stdout);
	json_begin_object(&j);
	json_kstr(&j, "payload", r->st.name);
	json_kstr(&j, "backend", backend);
	json_ku64(&j, "input", o->input);
	json_kstr(&j, "recorded", o->recorded ? o->recorded : "-");
	json_kstr(&j, "cache", o->cold ? "cold" : "warm");
	json_kbool(&j, "ok", run->result == run->expect);
	snprintf(hex, sizeof(hex), "%#" PRIx64, run->result);
	json_kstr(&j, "result", hex);
	snprintf(hex, sizeof(hex), "%#" PRIx64, run->expect);
	json_kstr(&j, "expected", hex);
	json_kfixed(&j, "latency_us", (r->t_done - r->t_start) / 1e3, 1);
	json_kfixed(&j, "setup_us", (r->t_setup - r->t_start) / 1e3, 1);
	json_kfixed(&j, "run_us", (r->t_done - r->t_resume) / 1e3, 1);
	json_ki64(&j, "majflt", majflt);
	json_ki64(&j, "minflt", minflt);
	json_ki64(&j, "read_bytes", rd_bytes);
	json_ki64(&j, "read_ios", rd_ios);
	json_ki64(&j, "read_twice", r->read_twice);
	json_ku64(&j, "rss_anon_kb", anon_kb);
	json_ku64(&j, "rss_file_kb", file_kb);
	json_ku64(&j, "cache_kb", cached * 4);
	json_ku64(&j, "mem_kb", private_kb + shared_kb);
	json_ku64(&j, "private_kb", private_kb);
	json_ku64(&j, "shared_kb", shared_kb);
	json_ku64(&j, "mem_size", r->st.mem_size);
	if (run->dev_ok) {
		json_ku64(&j, "dev_reads", run->devres.reads);
		json_ku64(&j, "dev_pages", run->devres.pages);
		json_ku64(&j, "dev_other_bytes", run->devres.other_bytes);
		json_ku64(&j, "dev_lost", run->devres.lost);
	}
	for (i = 0; i < r->nextra; i++)
		json_ki64(&j, r->extra[i].key, r->extra[i].val);
	json_end_object(&j);
	json_finish(&j);
}

static void print_result(struct restore *r, const struct restore_opts *o,
			 const struct restore_run *run)
{
	uint64_t anon_kb = 0, file_kb = 0, shmem_kb = 0, cached = 0, mem_kb;
	uint64_t private_kb, shared_kb, copy_cached = 0;
	long majflt = run->s1.ru.ru_majflt - run->s0.ru.ru_majflt;
	long minflt = run->s1.ru.ru_minflt - run->s0.ru.ru_minflt;
	int64_t rd_bytes = -1, rd_ios = -1;
	bool ok = run->result == run->expect;
	unsigned int i;

	if (run->s0.io_ok && run->s1.io_ok) {
		rd_bytes = (run->s1.io.read_sectors -
			    run->s0.io.read_sectors) * 512;
		rd_ios = run->s1.io.read_ios - run->s0.io.read_ios;
	}
	proc_rss(&anon_kb, &file_kb, &shmem_kb);
	cache_pages(r->dev_fd, r->st.mem_size, NULL, &cached);
	/* the page cache of the backend's copy (FaaSnap's loading set) */
	if (r->copy.npages &&
	    !cache_pages(r->copy.fd, r->copy.npages * VMM_PAGE, NULL,
			 &copy_cached))
		cached += copy_cached;
	/*
	 * RssFile of a file mapping is page cache, counted in cached (the
	 * snapshot's and the backend copy's: FaaSnap's loading-set file) (or,
	 * for a wsr mapping, base pages, counted in mem_extra_kb).  Private:
	 * this instance's own pages; shared: what every instance restoring
	 * the same snapshot on this host uses too (the snapshot's page
	 * cache, the wsr base), to be counted once for all of them.
	 */
	private_kb = anon_kb + shmem_kb;
	shared_kb = cached * 4 + r->mem_extra_kb;
	mem_kb = private_kb + shared_kb;

	if (o->json) {
		print_json(r, o, run, majflt, minflt, rd_bytes, rd_ios,
			   anon_kb, file_kb, cached, private_kb, shared_kb);
		fflush(stdout);
		return;
	}
	printf("%s via %s%s%s, input %u, %s cache: result %#" PRIx64
	       " %s (expected %#" PRIx64 ")\n",
	       r->st.name, o->b->name, r->async ? " (async)" : "",
	       r->lazy ? " (lazy)" : "", o->input,
	       o->cold ? "cold" : "warm", run->result,
	       ok ? "ok" : "MISMATCH", run->expect);
	printf("  restore-to-result %.3f ms (setup %.3f ms, run %.3f ms)\n",
	       (r->t_done - r->t_start) / 1e6,
	       (r->t_setup - r->t_start) / 1e6,
	       (r->t_done - r->t_resume) / 1e6);
	printf("  faults: %ld major, %ld minor; disk: %" PRId64
	       " bytes in %" PRId64 " reads; read twice: ",
	       majflt, minflt, rd_bytes, rd_ios);
	if (r->read_twice < 0)
		printf("not measured\n");
	else
		printf("%" PRId64 " of %" PRIu64 " guest pages read\n",
		       r->read_twice, run->devres.pages);
	printf("  memory: %" PRIu64 " KiB (private: anon %" PRIu64
	       "; shared: snapshot page cache %" PRIu64 ", wsr base %"
	       PRIu64 ")\n", mem_kb, private_kb, cached * 4,
	       r->mem_extra_kb);
	for (i = 0; i < r->nextra; i++)
		printf("  %s: %" PRId64 "\n", r->extra[i].key,
		       r->extra[i].val);
	fflush(stdout);
}

static const struct backend *backend_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < sizeof(backends) / sizeof(*backends); i++)
		if (!strcmp(name, backends[i]->name))
			return backends[i];
	return NULL;
}

/* Returns 0, or the exit code (2 after a usage error). */
static int restore_parse(int argc, char **argv, struct restore *r,
			 struct restore_opts *o)
{
	static const struct option opts[] = {
		{ "snapshot", required_argument, NULL, 's' },
		{ "backend", required_argument, NULL, 'b' },
		{ "ws", required_argument, NULL, 'w' },
		{ "record", required_argument, NULL, 'r' },
		{ "recorded", required_argument, NULL, 'R' },
		{ "input", required_argument, NULL, 'i' },
		{ "async", no_argument, NULL, 'a' },
		{ "lazy", no_argument, NULL, 'l' },
		{ "cold", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "batch", no_argument, NULL, 'B' },
		{ "mem-file", required_argument, NULL, 'm' },
		{ "zsnap", required_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:b:w:r:R:i:alcjvBm:z:", opts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			r->dir = optarg;
			break;
		case 'b':
			o->b = backend_by_name(optarg);
			if (!o->b) {
				vmm_err("unknown backend '%s'", optarg);
				return 2;
			}
			break;
		case 'w':
			r->ws_path = optarg;
			break;
		case 'r':
			r->record_path = optarg;
			r->recording = true;
			break;
		case 'R':
			if (!*optarg || strpbrk(optarg, "\"\\")) {
				vmm_err("--recorded '%s': not a list of inputs",
					optarg);
				return 2;
			}
			o->recorded = optarg;
			break;
		case 'i':
			if (parse_u32(optarg, &o->input)) {
				vmm_err("--input '%s': not a number", optarg);
				return 2;
			}
			break;
		case 'a':
			r->async = true;
			break;
		case 'l':
			r->lazy = true;
			break;
		case 'c':
			o->cold = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			r->verbose = true;
			break;
		case 'B':
			o->batch = true;
			break;
		case 'm':
			r->mem_file = optarg;
			break;
		case 'z':
			r->zsnap_path = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!r->dir || !o->b || optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((r->async || r->lazy || r->zsnap_path) &&
	    strcmp(o->b->name, "wsr")) {
		vmm_err("--async, --lazy and --zsnap are options of the wsr backend");
		return 2;
	}
	if (r->mem_file && strcmp(o->b->name, "file")) {
		vmm_err("--mem-file is an option of the file backend");
		return 2;
	}
	return 0;
}

/* Open the snapshot, compute the expected result, set the cache state. */
static int restore_prepare(struct restore *r, const struct restore_opts *o,
			   struct restore_run *run)
{
	uint64_t cached;
	int ret;

	if (open_snapshot(r))
		return -EINVAL;
	/* Computed first: the reference must not disturb the measurement. */
	ret = ref_result(r->st.payload, r->st.mem_size, o->input, &run->expect);
	if (ret) {
		vmm_err("unknown payload %u in the snapshot", r->st.payload);
		return ret;
	}
	if (o->cold) {
		ret = drop_caches();
		if (ret) {
			vmm_err("cannot drop the page cache: %s",
				strerror(-ret));
			return ret;
		}
	}
	if (cache_pages(r->dev_fd, r->st.mem_size, &r->cache_before, &cached))
		r->cache_before = NULL;
	return 0;
}

/* The device reads of the restore: pages delivered twice. */
static void restore_count_reads(struct restore *r, struct restore_run *run)
{
	struct page_copy files[2] = {
		{ .fd = r->dev_fd, .npages = r->st.mem_size / VMM_PAGE },
		r->copy,
	};
	int ret;

	ret = devreads_stop(&run->dev);
	if (!ret)
		ret = devreads_count(&run->dev, r->st.mem_size / VMM_PAGE,
				     files, r->copy.npages ? 2 : 1,
				     &run->devres);
	if (ret) {
		vmm_err("pages read twice not counted: %s", strerror(-ret));
		return;
	}
	if (run->devres.lost) {
		vmm_err("pages read twice not counted: %" PRIu64
			" device reads lost by the trace buffer",
			run->devres.lost);
		return;
	}
	run->dev_ok = true;
	r->read_twice = run->devres.twice;
}

/* The measured part: map, resume, run to the result, stop helpers. */
static int restore_measure(struct restore *r, const struct restore_opts *o,
			   struct vm *vm, struct restore_run *run)
{
	const struct backend *b = o->b;
	enum vm_event ev;
	bool tracing;
	int ret;

	ret = devreads_start(&run->dev, r->dev_fd);
	tracing = !ret;
	if (ret)
		vmm_err("pages read twice not counted: block tracepoint: %s",
			strerror(-ret));
	sample(r, &run->s0);
	r->t_start = now_ns();
	if (r->mem_file && r->ws_path) {
		ret = base_prefetch(r);
		if (ret)
			return ret;
	}
	ret = b->setup(r);
	if (ret) {
		vmm_err("%s backend: %s", b->name, strerror(-ret));
		return ret;
	}
	r->t_setup = now_ns();
	ret = vm_open(vm, r->mem, r->st.mem_size);
	if (ret) {
		vmm_err("cannot create a VM (/dev/kvm): %s", strerror(-ret));
		return ret;
	}
	vm->quiet = !r->verbose;
	restore_extra(r, "vm_open_us", (now_ns() - r->t_setup) / 1000);
	ret = vm_load_cpu(vm, &r->st);
	if (ret) {
		vmm_err("cannot restore the vCPU: %s", strerror(-ret));
		return ret;
	}
	vm->input = o->input;
	if (b->resume) {
		ret = b->resume(r);
		if (ret) {
			vmm_err("%s backend: %s", b->name, strerror(-ret));
			return ret;
		}
	}
	r->t_resume = now_ns();
	ret = vm_run(vm, &ev);
	r->t_done = now_ns();
	if (ret || ev != VM_EV_DONE) {
		vmm_err("%s: restored guest failed: %s", r->st.name,
			ret ? strerror(-ret) : "ready instead of done");
		return ret ? ret : -EPROTO;
	}
	run->result = vm->result;
	if (b->stop) {
		ret = b->stop(r);
		if (ret) {
			vmm_err("%s backend: %s", b->name, strerror(-ret));
			return ret;
		}
	}
	if (r->mem_file)
		base_account(r);
	sample(r, &run->s1);
	if (tracing)
		restore_count_reads(r, run);
	return 0;
}

static int cmd_restore(int argc, char **argv)
{
	struct restore r = { .snap_fd = -1, .dev_fd = -1, .read_twice = -1 };
	struct vm vm = { .kvm = -1, .fd = -1, .vcpu = -1 };
	struct restore_opts o = { 0 };
	struct restore_run run = { 0 };
	int ret, rc = 1;

	ret = restore_parse(argc, argv, &r, &o);
	if (ret)
		return ret;
	if (restore_prepare(&r, &o, &run))
		goto out;
	/*
	 * --batch: ready to restore; wait here until whoever started a batch
	 * of instances has seen every one of them stop and continues them
	 * all at once (wsr-demo's concurrency table).
	 */
	if (o.batch)
		raise(SIGSTOP);
	if (restore_measure(&r, &o, &vm, &run))
		goto out;
	print_result(&r, &o, &run);
	if (run.result != run.expect) {
		vmm_err("%s via %s: RESULT MISMATCH for input %u: got %#" PRIx64
			", expected %#" PRIx64 " - guest memory is corrupt",
			r.st.name, o.b->name, o.input, run.result, run.expect);
		goto out;
	}
	if (r.recording) {
		if (!o.b->save) {
			vmm_err("the %s backend records nothing", o.b->name);
			goto out;
		}
		ret = o.b->save(&r);
		if (ret) {
			vmm_err("%s: cannot write the recording: %s",
				r.record_path, strerror(-ret));
			goto out;
		}
	}
	rc = 0;
out:
	devreads_free(&run.dev);
	vm_close(&vm);
	if (o.b)
		o.b->teardown(&r);
	if (r.snap_fd >= 0)
		close(r.snap_fd);
	if (r.dev_fd >= 0 && r.dev_fd != r.snap_fd)
		close(r.dev_fd);
	free(r.snap_path);
	free(r.cache_before);
	return rc;
}

/* A trace payload's touched pages as guest page numbers, one a line. */
static int print_trace_pages(const struct vmm_state *st, uint32_t input)
{
	const uint32_t *pages;
	uint32_t n, i;

	if (ref_trace_pages(st->payload, input, &pages, &n)) {
		vmm_err("not a trace payload, or no input %u in its trace",
			input);
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%llu\n", (unsigned long long)(WSR_GPA_HEAP >> 12) +
				 (pages[i] >> 1));
	return 0;
}

static int cmd_expect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "snapshot", required_argument, NULL, 's' },
		{ "input", required_argument, NULL, 'i' },
		{ "pages", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	struct vmm_state st;
	uint32_t input = 0;
	bool pages = false;
	uint64_t res;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:i:p", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'i':
			if (parse_u32(optarg, &input))
				goto bad;
			break;
		case 'p':
			pages = true;
			break;
		default:
			goto bad;
		}
	}
	if (!dir || optind != argc)
		goto bad;
	ret = state_read(dir, &st);
	if (ret || ref_result(st.payload, st.mem_size, input, &res)) {
		vmm_err("%s: not a valid snapshot", dir);
		return 1;
	}
	if (pages)
		return print_trace_pages(&st, input);
	printf("%#" PRIx64 "\n", res);
	return 0;
bad:
	usage(stderr);
	return 2;
}

/* The union of several REAP or FaaSnap recordings (wsr: wsrctl ws merge). */
static int cmd_union(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "snapshot", required_argument, NULL, 's' },
		{ "backend", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *backend = NULL, *out = NULL;
	struct restore r = { .snap_fd = -1 };
	int c, ret, rc = 1;

	while ((c = getopt_long(argc, argv, "s:b:o:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'b':
			backend = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dir || !backend || !out || optind == argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(backend, "reap") && strcmp(backend, "faasnap")) {
		vmm_err("union: backend '%s' has no recordings to unite (reap, faasnap; wsr: wsrctl ws merge)",
			backend);
		return 2;
	}
	r.dir = dir;
	if (open_snapshot(&r))
		goto out;
	if (!strcmp(backend, "reap"))
		ret = reap_union(r.snap_fd, r.st.mem_size, argv + optind,
				 argc - optind, out);
	else
		ret = faasnap_union(r.snap_fd, r.st.mem_size, argv + optind,
				    argc - optind, out);
	if (ret) {
		vmm_err("union of %d %s recordings into %s: %s",
			argc - optind, backend, out, ret == -EBADMSG ?
			"an input is not a recording of this snapshot" :
			strerror(-ret));
		goto out;
	}
	rc = 0;
out:
	if (r.snap_fd >= 0)
		close(r.snap_fd);
	free(r.snap_path);
	return rc;
}

/* Parse "OFFSET:LENGTH" (sizes as for --mem). */
static int parse_range(const char *s, uint64_t *off, uint64_t *len)
{
	char buf[64], *colon;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	colon = strchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = 0;
	if (parse_size(buf, off) || parse_size(colon + 1, len) || !*len)
		return -EINVAL;
	return 0;
}

/*
 * The device-read counter on reads of one's choosing: each OFFSET:LENGTH
 * of FILE is read with O_DIRECT (from the device, whatever the page
 * cache holds), in the order given, under the same tracing as a restore.
 */
static int cmd_devreads(int argc, char **argv)
{
	struct devreads_result res;
	struct page_copy file;
	struct json j;
	struct devreads d = { 0 };
	uint64_t off, len;
	struct stat sb;
	void *buf = NULL;
	int i, fd, ret, rc = 1;

	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	for (i = 2; i < argc; i++)
		if (parse_range(argv[i], &off, &len) || off % VMM_PAGE ||
		    len % VMM_PAGE) {
			vmm_err("devreads: '%s' is not OFFSET:LENGTH in whole pages",
				argv[i]);
			return 2;
		}
	fd = open(argv[1], O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb)) {
		vmm_err("%s: %s", argv[1], strerror(errno));
		return 1;
	}
	ret = devreads_start(&d, fd);
	if (ret) {
		vmm_err("devreads: block tracepoint: %s", strerror(-ret));
		goto out;
	}
	for (i = 2; i < argc; i++) {
		parse_range(argv[i], &off, &len);
		free(buf);
		buf = NULL;
		if (posix_memalign(&buf, VMM_PAGE, len)) {
			vmm_err("devreads: no memory for %s", argv[i]);
			goto out;
		}
		if (pread(fd, buf, len, off) != (ssize_t)len) {
			vmm_err("devreads: %s: cannot read %s", argv[1], argv[i]);
			goto out;
		}
	}
	file = (struct page_copy){ .fd = fd, .npages = sb.st_size / VMM_PAGE };
	ret = devreads_stop(&d);
	if (!ret)
		ret = devreads_count(&d, file.npages, &file, 1, &res);
	if (ret) {
		vmm_err("devreads: %s", strerror(-ret));
		goto out;
	}
	json_init_line(&j, stdout);
	json_begin_object(&j);
	json_ku64(&j, "dev_reads", res.reads);
	json_ku64(&j, "dev_pages", res.pages);
	json_ku64(&j, "read_twice", res.twice);
	json_ku64(&j, "dev_other_bytes", res.other_bytes);
	json_ku64(&j, "dev_lost", res.lost);
	json_end_object(&j);
	json_finish(&j);
	rc = res.lost ? 1 : 0;
out:
	devreads_free(&d);
	free(buf);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "restore"))
		return cmd_restore(argc - 1, argv + 1);
	if (!strcmp(cmd, "expect"))
		return cmd_expect(argc - 1, argv + 1);
	if (!strcmp(cmd, "union"))
		return cmd_union(argc - 1, argv + 1);
	if (!strcmp(cmd, "devreads"))
		return cmd_devreads(argc - 1, argv + 1);
	if (!strcmp(cmd, "table"))
		return cmd_table(argc - 1, argv + 1);
	if (!strcmp(cmd, "conc-table"))
		return cmd_conc_table(argc - 1, argv + 1);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
