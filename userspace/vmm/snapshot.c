// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot files: DIR/mem is guest memory, byte for byte (a full-size
 * file like Firecracker's memory file, zero pages included); DIR/state is
 * struct vmm_state with a checksum.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmm.h"

char *path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

static uint64_t fnv1a(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len > (1 << 30) ? 1 << 30 : len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Write @name in @dir through a temporary file, fsync'ed, then rename. */
static int file_replace(const char *dir, const char *name, const void *buf,
			size_t len)
{
	char *path = path_join(dir, name), *tmp = NULL;
	int fd, ret;

	if (!path || asprintf(&tmp, "%s.tmp", path) < 0) {
		free(path);
		return -ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = write_full(fd, buf, len);
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
out:
	free(tmp);
	free(path);
	return ret;
}

int state_write(const char *dir, struct vmm_state *st)
{
	st->magic = VMM_STATE_MAGIC;
	st->size = sizeof(*st);
	st->sum = fnv1a(st, offsetof(struct vmm_state, sum));
	return file_replace(dir, "state", st, sizeof(*st));
}

int state_read(const char *dir, struct vmm_state *st)
{
	char *path = path_join(dir, "state");
	ssize_t n;
	int fd;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -errno;
	n = read(fd, st, sizeof(*st));
	close(fd);
	if (n < 0)
		return -errno;
	if (n != sizeof(*st) || st->magic != VMM_STATE_MAGIC ||
	    st->size != sizeof(*st) ||
	    st->sum != fnv1a(st, offsetof(struct vmm_state, sum)) ||
	    st->nmsrs > VMM_MAX_MSRS || !st->mem_size ||
	    st->mem_size % (2ULL << 20))
		return -EBADMSG;
	return 0;
}

int mem_write(const char *dir, const void *mem, uint64_t size)
{
	return file_replace(dir, "mem", mem, size);
}
