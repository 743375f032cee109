/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wsr file tracker: first-touch record of the pages of an ordinary file
 * mapping (WSR_IOC_TRACK_FILE), built on the mm_filemap_fault and
 * mm_filemap_map_page tracepoints that mm-patches/ add to the kernel.
 *
 * Kbuild defines WSR_HAVE_FILETRACK and builds wsr_filetrack.o only when
 * the kernel source has those tracepoints.  Without them WSR_IOC_TRACK_FILE
 * is an unknown ioctl (-ENOTTY) and neither WSR_FEATURE_FILE_TRACK nor the
 * ioctl bit is reported by the handshake.
 */
#ifndef _WSR_FILETRACK_H
#define _WSR_FILETRACK_H

#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/ioctl.h>
#include <linux/wsr.h>

struct wsr_filetrack;
struct wsr_record;

#ifdef WSR_HAVE_FILETRACK

#define WSR_FILETRACK_FEATURES	WSR_FEATURE_FILE_TRACK
#define WSR_FILETRACK_IOCTLS	BIT_ULL(_IOC_NR(WSR_IOC_TRACK_FILE))

int wsr_filetrack_ioctl(struct wsr_filetrack **ftp,
			struct wsr_track_file *arg);
struct wsr_record *wsr_filetrack_record(struct wsr_filetrack **ftp);
void wsr_filetrack_release(struct wsr_filetrack *ft);

#else /* !WSR_HAVE_FILETRACK */

#define WSR_FILETRACK_FEATURES	0ULL
#define WSR_FILETRACK_IOCTLS	0ULL

static inline int wsr_filetrack_ioctl(struct wsr_filetrack **ftp,
				      struct wsr_track_file *arg)
{
	return -ENOTTY;
}

static inline struct wsr_record *
wsr_filetrack_record(struct wsr_filetrack **ftp)
{
	return NULL;
}

static inline void wsr_filetrack_release(struct wsr_filetrack *ft)
{
}

#endif /* WSR_HAVE_FILETRACK */

#endif /* _WSR_FILETRACK_H */
