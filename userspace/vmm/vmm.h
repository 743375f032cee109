/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wsr-vmm: a minimal KVM VMM that snapshots a guest after its
 * initialisation and restores it through several memory backends.
 *
 * Functions return 0 or -errno unless said otherwise; the CLI (main.c)
 * turns errors into one-line messages.
 */
#ifndef WSR_VMM_H
#define WSR_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/kvm.h>
#include "guests/abi.h"

#define VMM_PAGE		4096ULL
#define VMM_MAX_MSRS		16
#define VMM_STATE_MAGIC		0x3174537276737721ULL	/* "!wsrvSt1" */

/**
 * struct vmm_state - DIR/state: everything but memory
 * @magic:    VMM_STATE_MAGIC
 * @size:     sizeof(struct vmm_state)
 * @payload:  enum wsr_payload_id
 * @nmsrs:    valid entries in @msrs
 * @mem_size: guest memory size (= size of DIR/mem)
 * @name:     payload name
 * @snap_fp, @snap_fp_method, @snap_fp_samples: wsr_snapshot_id() of
 *            DIR/mem, computed once when the snapshot is written so that a
 *            restore checks a working set against it without any I/O
 * @regs, @sregs, @fpu, @msrs: the vCPU
 * @sum:      FNV-1a of everything before it
 */
struct vmm_state {
	uint64_t magic;
	uint32_t size;
	uint32_t payload;
	uint32_t nmsrs;
	uint32_t pad;
	uint64_t mem_size;
	char name[16];
	uint64_t snap_fp;	/* libwsr snapshot identity of DIR/mem */
	uint32_t snap_fp_method;
	uint32_t snap_fp_samples;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_msr_entry msrs[VMM_MAX_MSRS];
	uint64_t sum;
};

/* One VM with one vCPU. */
struct vm {
	int kvm;
	int fd;
	int vcpu;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	uint64_t mem_size;
	/* the current invocation */
	uint32_t input;
	unsigned int result_halves;
	uint64_t result;
	bool quiet;
};

enum vm_event {
	VM_EV_READY = 1,
	VM_EV_DONE = 2,
};

int vm_open(struct vm *vm, void *mem, uint64_t mem_size);
void vm_close(struct vm *vm);
int vm_boot_setup(struct vm *vm, uint64_t entry);
int vm_run(struct vm *vm, enum vm_event *ev);
int vm_complete_io(struct vm *vm);
int vm_save_cpu(struct vm *vm, struct vmm_state *st);
int vm_load_cpu(struct vm *vm, const struct vmm_state *st);

/* snapshot.c */
int state_write(const char *dir, struct vmm_state *st);
int state_read(const char *dir, struct vmm_state *st);
int mem_write(const char *dir, const void *mem, uint64_t size);
char *path_join(const char *dir, const char *name);

/* ref.c: the host-side recomputation of a payload's result. */
int ref_result(uint32_t payload, uint64_t mem_size, uint32_t input,
	       uint64_t *result);
/*
 * The pages a trace payload's invocation of @input touches, in order: heap
 * page << 1 | TRACE_STORED.  -EINVAL: not a trace payload; -ENOENT: an
 * input the trace does not have.
 */
int ref_trace_pages(uint32_t payload, uint32_t input, const uint32_t **pages,
		    uint32_t *count);
int payload_by_name(const char *name);

/* metrics.c */
struct io_stat {
	uint64_t read_ios;
	uint64_t read_sectors;
};

uint64_t now_ns(void);
int blk_stat(int fd, struct io_stat *st);
int cache_pages(int fd, uint64_t size, uint8_t **vec, uint64_t *count);
int proc_rss(uint64_t *anon_kb, uint64_t *file_kb, uint64_t *shmem_kb);
int drop_caches(void);

/*
 * devreads.c: pages the device delivered more than once during a
 * restore, from the block layer's completed reads (perf tracepoint).
 */
struct devread {
	uint64_t sector;		/* whole-disk 512-byte sectors */
	uint64_t count;
};

#define DEVREADS_MAX_CPUS	64

struct devreads {
	/* one perf event of block:block_rq_complete per CPU */
	int fd[DEVREADS_MAX_CPUS];
	void *map[DEVREADS_MAX_CPUS];
	unsigned int nfd;
	size_t map_len;
	int off_dev, off_sector, off_nr, off_error, off_rwbs;
	dev_t disk;
	uint64_t part_start;		/* the file system's first sector */
	struct devread *reads;
	size_t nreads, cap;
	uint64_t lost;			/* records the buffers lost */
};

/**
 * struct page_copy - a file holding guest pages
 * @fd:     the file
 * @npages: its pages that hold guest pages
 * @page:   guest page of each file page; NULL: page i is guest page i
 */
struct page_copy {
	int fd;
	uint64_t npages;
	const uint64_t *page;
};

struct devreads_result {
	uint64_t reads;			/* completed read requests */
	uint64_t bytes;			/* their bytes */
	uint64_t other_bytes;		/* of those, in none of the files */
	uint64_t pages;			/* guest pages delivered */
	uint64_t twice;			/* guest pages delivered twice or more */
	uint64_t lost;			/* trace events lost: counts too low */
};

int devreads_start(struct devreads *d, int fd);
int devreads_stop(struct devreads *d);
int devreads_count(struct devreads *d, uint64_t mem_pages,
		   const struct page_copy *files, unsigned int nfiles,
		   struct devreads_result *res);
void devreads_free(struct devreads *d);

/* A named number a backend reports (printed in JSON and text). */
#define VMM_MAX_EXTRA		32
struct extra {
	const char *key;
	int64_t val;
};

/**
 * struct restore - one restore, shared between main.c and the backends
 */
struct restore {
	/* options */
	const char *dir;
	const char *ws_path;		/* --ws: the working set to prefetch */
	const char *record_path;	/* --record: write a working set */
	bool async;
	bool lazy;			/* --lazy: WSR_RESTORE_LAZY_CACHE */
	/* --zsnap: map this compressed snapshot of DIR/mem (wsr backend) */
	const char *zsnap_path;
	bool verbose;
	bool recording;			/* --record given */
	const char *mem_file;		/* --mem-file: map this, not DIR/mem */
	/* the snapshot */
	struct vmm_state st;
	int snap_fd;			/* what the backend maps: DIR/mem or
					 * --mem-file */
	int dev_fd;			/* DIR/mem, for page cache and disk
					 * measurements */
	char *snap_path;
	uint8_t *cache_before;		/* mincore of DIR/mem at the start */
	/* set by the backend's setup */
	void *mem;
	/*
	 * memory outside RSS and page cache, shared by every instance over
	 * the snapshot (the wsr base)
	 */
	uint64_t mem_extra_kb;
	void *priv;
	/* measurements */
	uint64_t t_start;
	uint64_t t_setup;		/* memory ready, vCPU not yet set */
	uint64_t t_resume;		/* first KVM_RUN */
	uint64_t t_done;		/* DONE port */
	int64_t read_twice;		/* -1: not measured (no tracefs) */
	/* files other than DIR/mem holding guest pages (set by setup) */
	struct page_copy copy;
	unsigned int nextra;
	struct extra extra[VMM_MAX_EXTRA];
};

void restore_extra(struct restore *r, const char *key, int64_t val);

/**
 * struct backend - a way to provide guest memory on restore
 * @name:       CLI name
 * @paper:      the design it follows
 * @setup:      map guest memory (r->mem), start helpers; may prefetch
 * @resume:     called right before the first KVM_RUN (optional)
 * @stop:       after DONE: stop helper threads, add extras (optional);
 *              still part of the measured restore's I/O
 * @save:       write the recording asked for with --record (optional);
 *              not measured
 * @teardown:   free everything (also after errors); r->mem may be NULL
 */
struct backend {
	const char *name;
	const char *paper;
	int (*setup)(struct restore *r);
	int (*resume)(struct restore *r);
	int (*stop)(struct restore *r);
	int (*save)(struct restore *r);
	void (*teardown)(struct restore *r);
};

extern const struct backend backend_file;
extern const struct backend backend_eager;
extern const struct backend backend_reap;
extern const struct backend backend_faasnap;
extern const struct backend backend_faasnap_mincore;

/* The working set of several recordings on one snapshot (wsr-vmm union). */
int reap_union(int mem_fd, uint64_t size, char *const *in, unsigned int n,
	       const char *out);
int faasnap_union(int mem_fd, uint64_t size, char *const *in, unsigned int n,
		  const char *out);
extern const struct backend backend_wsr;

/* basefile.c: --mem-file with --ws, prefetch into a wsr base */
int base_prefetch(struct restore *r);
void base_account(struct restore *r);

/* tools.c: the demo's tables from "restore --json" lines. */
int cmd_table(int argc, char **argv);
int cmd_conc_table(int argc, char **argv);

/* Print a one-line error "wsr-vmm: ..." to stderr. */
void vmm_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* WSR_VMM_H */
