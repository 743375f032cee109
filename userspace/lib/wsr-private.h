/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libwsr internals: object layouts, the on-disk format of working-set files
 * (see wsr-ws(5)) and helpers shared by the library's source files.  Not
 * installed.
 */
#ifndef LIBWSR_PRIVATE_H
#define LIBWSR_PRIVATE_H

#include <stdint.h>
#include <string.h>
#include "libwsr.h"

#define WSR_EXPORT __attribute__((visibility("default")))

/* On-disk format, version 1.  All fields little-endian. */
#define WSR_WS_MAGIC		"WSRWSET\0"
#define WSR_WS_MAGIC_LEN	8
#define WSR_WS_VERSION		1
#define WSR_WS_HDR_SIZE		96
#define WSR_WS_ENTRY_SIZE	16

/* Byte offsets of the header fields. */
#define WSR_HDR_MAGIC		0	/* u8[8] */
#define WSR_HDR_VERSION		8	/* u32 */
#define WSR_HDR_HDR_SIZE	12	/* u32 */
#define WSR_HDR_PAGE_SIZE	16	/* u32 */
#define WSR_HDR_ENTRY_SIZE	20	/* u32 */
#define WSR_HDR_COUNT		24	/* u64 */
#define WSR_HDR_RECORDINGS	32	/* u32 */
#define WSR_HDR_FLAGS		36	/* u32, zero */
#define WSR_HDR_SNAP_OFFSET	40	/* u64 */
#define WSR_HDR_SNAP_LENGTH	48	/* u64 */
#define WSR_HDR_SNAP_FP		56	/* u64 */
#define WSR_HDR_FP_METHOD	64	/* u32 */
#define WSR_HDR_FP_SAMPLES	68	/* u32 */
#define WSR_HDR_DROPPED		72	/* u64 */
#define WSR_HDR_RESERVED	80	/* u8[8], zero */
#define WSR_HDR_BODY_CRC	88	/* u32, crc32c of the entries */
#define WSR_HDR_HDR_CRC		92	/* u32, crc32c of bytes 0..91 */

/* Byte offsets within an entry. */
#define WSR_ENT_INDEX		0	/* u64 */
#define WSR_ENT_RANK		8	/* u32 */
#define WSR_ENT_FREQ		12	/* u32 */

/* Samples hashed by WSR_FP_SAMPLED64. */
#define WSR_FP_SAMPLES		64

/* Compressed snapshot format, version 1 (see wsr-zsnap(5)); little-endian. */
#define WSR_ZS_MAGIC		"WSRZSNP\0"
#define WSR_ZS_VERSION		1
#define WSR_ZS_HDR_SIZE		64
#define WSR_ZS_ENTRY_SIZE	24
#define WSR_ZS_ALIGN		4096	/* data_offset alignment */

#define WSR_ZS_HDR_MAGIC	0	/* u8[8] */
#define WSR_ZS_HDR_VERSION	8	/* u32 */
#define WSR_ZS_HDR_HDR_SIZE	12	/* u32 */
#define WSR_ZS_HDR_CHUNK_SIZE	16	/* u32 */
#define WSR_ZS_HDR_ENTRY_SIZE	20	/* u32 */
#define WSR_ZS_HDR_LENGTH	24	/* u64, uncompressed bytes */
#define WSR_ZS_HDR_NCHUNKS	32	/* u64 */
#define WSR_ZS_HDR_DATA_OFFSET	40	/* u64 */
#define WSR_ZS_HDR_FLAGS	48	/* u32, zero */
#define WSR_ZS_HDR_RESERVED	52	/* u32, zero */
#define WSR_ZS_HDR_INDEX_CRC	56	/* u32, crc32c of the index */
#define WSR_ZS_HDR_HDR_CRC	60	/* u32, crc32c of bytes 0..59 */

#define WSR_ZS_ENT_OFFSET	0	/* u64 */
#define WSR_ZS_ENT_LENGTH	8	/* u32 */
#define WSR_ZS_ENT_CRC		12	/* u32, crc32c of the stored bytes */
#define WSR_ZS_ENT_CODEC	16	/* u16 */
#define WSR_ZS_ENT_FLAGS	18	/* u16, zero */
#define WSR_ZS_ENT_RESERVED	20	/* u32, zero */

struct wsr_zsnap {
	struct wsr_zsnap_info info;
	struct wsr_zsnap_chunk *chunks;
};

struct wsr_ws {
	struct wsr_snapshot_id snap;
	uint32_t recordings;
	uint64_t dropped;
	size_t count;
	struct wsr_ws_page *entries;	/* restore order */
	uint64_t *pages;		/* entries[i].index, same order */
};

struct wsr_region {
	int fd;			/* /dev/wsr */
	int snap_fd;		/* dup of the snapshot fd, for the fingerprint */
	unsigned int flags;	/* WSR_CREATE_* */
	uint64_t offset;
	uint64_t length;
	uint64_t features;
	uint64_t ioctls;
	void *map;		/* wsr_region_map() result or NULL */
	size_t map_len;
	int have_id;
	struct wsr_snapshot_id id;
};

/*
 * Open the device (NULL: WSR_DEVICE) into r->fd and do the API handshake:
 * r->features and r->ioctls.  0 or -errno (r->fd closed again).
 */
int wsr__open_dev(const char *dev, struct wsr_region *r);
/* ioctl() retried on EINTR (not WSR_IOC_WAIT); 0 or -errno. */
int wsr__ioctl(int fd, unsigned long cmd, void *arg);

uint32_t wsr__crc32c(uint32_t crc, const void *buf, size_t len);

/* Allocate a working set with room for @count entries. */
struct wsr_ws *wsr__ws_alloc(size_t count);

/* Sort entries into restore order and fill ws->pages. */
void wsr__ws_finish(struct wsr_ws *ws);

/* Restore-order comparison of two entries: rank, then freq desc, index. */
int wsr__page_cmp(const struct wsr_ws_page *a, const struct wsr_ws_page *b);

int wsr__snapshot_id_valid(const struct wsr_snapshot_id *id);
int wsr__snapshot_id_same(const struct wsr_snapshot_id *a,
			  const struct wsr_snapshot_id *b);

static inline void wsr__put32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline void wsr__put64(unsigned char *p, uint64_t v)
{
	wsr__put32(p, (uint32_t)v);
	wsr__put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t wsr__get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t wsr__get64(const unsigned char *p)
{
	return (uint64_t)wsr__get32(p) | (uint64_t)wsr__get32(p + 4) << 32;
}

#endif /* LIBWSR_PRIVATE_H */
