// SPDX-License-Identifier: GPL-2.0
/*
 * file: Firecracker's File memory backend (the vanilla baseline).  Guest
 * memory is the snapshot's memory file mapped MAP_PRIVATE: every first
 * touch is a page fault served from the page cache (with whatever
 * readahead and fault-around the kernel does), writes are copied on
 * write into anonymous memory.
 *
 * Agache et al., "Firecracker: Lightweight Virtualization for Serverless
 * Applications", NSDI'20; the backend is firecracker's
 * src/vmm/src/persist.rs (MemBackendType::File).
 */
#include <errno.h>
#include <sys/mman.h>
#include "vmm.h"

static int file_setup(struct restore *r)
{
	void *mem = mmap(NULL, r->st.mem_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_NORESERVE, r->snap_fd, 0);

	if (mem == MAP_FAILED)
		return -errno;
	r->mem = mem;
	return 0;
}

static void file_teardown(struct restore *r)
{
	if (r->mem)
		munmap(r->mem, r->st.mem_size);
	r->mem = NULL;
}

const struct backend backend_file = {
	.name = "file",
	.paper = "Firecracker File backend (NSDI'20)",
	.setup = file_setup,
	.teardown = file_teardown,
};
