// SPDX-License-Identifier: GPL-2.0-or-later
/* The inputs of wsrctl's verbs: a snapshot file range, a working-set file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "wsrctl.h"

int open_snapshot(const char *path, uint64_t offset, int have_length,
		  uint64_t *length, int *fdp)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(path, "%s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(path, "not a regular file");
	}
	if (offset % WSR_PAGE_SIZE) {
		close(fd);
		return fail(path, "offset %" PRIu64 " is not a multiple of %u",
			    offset, WSR_PAGE_SIZE);
	}
	if (!have_length) {
		if ((uint64_t)st.st_size <= offset) {
			close(fd);
			return fail(path, "offset %" PRIu64 " is beyond the end of the file",
				    offset);
		}
		*length = (uint64_t)st.st_size - offset;
		if (*length % WSR_PAGE_SIZE) {
			close(fd);
			return fail(path, "size %" PRIu64 " is not a multiple of %u, give --length",
				    *length, WSR_PAGE_SIZE);
		}
	}
	if (!*length || *length % WSR_PAGE_SIZE) {
		close(fd);
		return fail(path, "length %" PRIu64 " is not a non-zero multiple of %u",
			    *length, WSR_PAGE_SIZE);
	}
	if (offset + *length < offset ||
	    offset + *length > (uint64_t)st.st_size) {
		close(fd);
		return fail(path, "range %" PRIu64 "+%" PRIu64 " is beyond the end of the file (%" PRIu64 " bytes)",
			    offset, *length, (uint64_t)st.st_size);
	}
	*fdp = fd;
	return EXIT_OK;
}

int load_ws(const char *path, struct wsr_ws **ws)
{
	int ret = wsr_ws_load(path, ws);

	return ret ? fail_err(path, ret) : EXIT_OK;
}

int fail_stale(const char *ws_path, const char *other,
	       const struct wsr_snapshot_id *ws_id,
	       const struct wsr_snapshot_id *id)
{
	return fail(ws_path, "belongs to a different snapshot than %s (length %" PRIu64 " vs %" PRIu64 ", fingerprint %016" PRIx64 " vs %016" PRIx64 ")",
		    other, ws_id->length, id->length, ws_id->fingerprint,
		    id->fingerprint);
}
