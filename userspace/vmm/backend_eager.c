// SPDX-License-Identifier: GPL-2.0
/*
 * eager: read the whole memory file into anonymous memory before the
 * guest resumes (the "load everything" strategy, e.g. Firecracker's
 * behaviour without lazy loading).  No fault ever waits for the disk, at
 * the cost of reading and holding all of guest memory.
 */
#include <errno.h>
#include <unistd.h>
#include <sys/mman.h>
#include "vmm.h"

#define EAGER_CHUNK	(8ULL << 20)

static int eager_setup(struct restore *r)
{
	uint64_t off = 0, size = r->st.mem_size;
	uint8_t *mem;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	r->mem = mem;
	while (off < size) {
		uint64_t len = size - off < EAGER_CHUNK ? size - off
							: EAGER_CHUNK;
		ssize_t n = pread(r->snap_fd, mem + off, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		off += n;
	}
	return 0;
}

static void eager_teardown(struct restore *r)
{
	if (r->mem)
		munmap(r->mem, r->st.mem_size);
	r->mem = NULL;
}

const struct backend backend_eager = {
	.name = "eager",
	.paper = "read the whole snapshot before resuming",
	.setup = eager_setup,
	.teardown = eager_teardown,
};
