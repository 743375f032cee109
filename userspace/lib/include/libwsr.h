/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libwsr - userspace library for wsr, working-set-aware restore of microVM
 * memory snapshots.
 *
 * Two objects:
 *
 *  - struct wsr_region: one /dev/wsr region bound to a range of a snapshot
 *    file.  Wraps every ioctl of the module; the API handshake is done by
 *    wsr_region_create() and the kernel's features and ioctls are probed,
 *    never assumed (a missing one gives -EOPNOTSUPP).
 *
 *  - struct wsr_ws: a working set, i.e. the pages of a snapshot that one or
 *    more recordings touched, in restore order, with a per-page frequency
 *    (how many recordings touched it) and mean normalised first-touch rank.
 *    Stored in files of the format described in wsr-ws(5).
 *
 * Conventions (as liburing): every function that can fail returns 0 or a
 * positive value on success and -errno on failure, and never sets errno.
 * Output pointers are written only on success.  See libwsr(7).
 */
#ifndef LIBWSR_H
#define LIBWSR_H

#include <stddef.h>
#include <stdint.h>
#include <linux/wsr.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIBWSR_VERSION_MAJOR	1
#define LIBWSR_VERSION_MINOR	1

/* Default device node, used when wsr_region_create() gets dev == NULL. */
#define WSR_DEVICE		"/dev/wsr"

/* Page size of working sets and regions (the module's unit). */
#define WSR_PAGE_SIZE		4096u

/* Limits enforced by the library (and by the file parser). */
#define WSR_WS_MAX_ENTRIES	(1ull << 28)	/* 1 TiB of 4 KiB pages */
#define WSR_WS_MAX_RECORDINGS	(1u << 20)
#define WSR_WS_OVERLAP_MAX	64		/* inputs of wsr_ws_overlap() */

/*
 * Library-only flag for wsr_region_restore(): skip the check that the
 * working set belongs to the region's snapshot.  Never passed to the kernel.
 */
#define WSR_RESTORE_NOCHECK	(1u << 31)

struct wsr_region;
struct wsr_ws;

/* Fingerprint methods (struct wsr_snapshot_id.method). */
enum wsr_fp_method {
	WSR_FP_SAMPLED64 = 1,	/* see wsr_snapshot_id(3) */
};

/**
 * struct wsr_snapshot_id - identity of the snapshot range a working set
 * belongs to
 * @offset:      start of the region in the snapshot file (informative; not
 *               compared, a region may move inside a file)
 * @length:      region length in bytes (compared)
 * @fingerprint: 64-bit content fingerprint (compared)
 * @method:      enum wsr_fp_method (compared)
 * @samples:     number of 4 KiB pages hashed into @fingerprint
 */
struct wsr_snapshot_id {
	uint64_t offset;
	uint64_t length;
	uint64_t fingerprint;
	uint32_t method;
	uint32_t samples;
};

/**
 * struct wsr_ws_page - one page of a working set
 * @index: page index within the region (4 KiB units)
 * @rank:  mean normalised first-touch rank over the recordings that touched
 *         the page, fixed point: 0 = first, 2^32 - 1 = last
 * @freq:  number of recordings that touched the page, 1..recordings
 */
struct wsr_ws_page {
	uint64_t index;
	uint32_t rank;
	uint32_t freq;
};

/**
 * struct wsr_ws_info - summary of a working set
 * @pages:      number of pages
 * @recordings: number of recordings merged into it
 * @page_size:  WSR_PAGE_SIZE
 * @dropped:    first touches the tracker could not record (sum over
 *              recordings); non-zero means the set is incomplete
 * @snapshot:   the snapshot it belongs to
 */
struct wsr_ws_info {
	uint64_t pages;
	uint32_t recordings;
	uint32_t page_size;
	uint64_t dropped;
	struct wsr_snapshot_id snapshot;
};

/**
 * struct wsr_ws_overlap - statistics between working sets
 * @n:          number of inputs
 * @union_pages: pages in at least one input
 * @common_pages: pages in every input
 * @size:       [n] pages of input i
 * @unique:     [n] pages found in input i only
 * @intersect:  [n * n] pages in both input i and j, at [i * n + j]
 *
 * Allocated by wsr_ws_overlap(), freed by wsr_ws_overlap_free().
 */
struct wsr_ws_overlap {
	size_t n;
	uint64_t union_pages;
	uint64_t common_pages;
	uint64_t *size;
	uint64_t *unique;
	uint64_t *intersect;
};

/* Regions: /dev/wsr */
int wsr_region_create(const char *dev, int snap_fd, uint64_t offset,
		      uint64_t length, unsigned int flags,
		      struct wsr_region **out);
int wsr_region_map(struct wsr_region *r, void **addr);
int wsr_region_fd(const struct wsr_region *r);
uint64_t wsr_region_length(const struct wsr_region *r);
uint64_t wsr_region_features(const struct wsr_region *r);
uint64_t wsr_region_ioctls(const struct wsr_region *r);
int wsr_region_snapshot_id(struct wsr_region *r, struct wsr_snapshot_id *id);
int wsr_region_track(struct wsr_region *r, int op);
int wsr_region_get_ws(struct wsr_region *r, struct wsr_ws **out);
int wsr_region_restore(struct wsr_region *r, const struct wsr_ws *ws,
		       unsigned int flags, struct wsr_restore *out);
int wsr_region_stats(struct wsr_region *r, struct wsr_stats *out);
int wsr_region_wait(struct wsr_region *r, unsigned int timeout_ms);
void wsr_region_destroy(struct wsr_region *r);

/*
 * Named bases: served as files by wsrfs (mount -t wsrfs).  wsr_base_open()
 * gives a region bound to the base (restore, track, get_ws, stats, wait;
 * wsr_region_destroy() unbinds it, the base stays).
 */
int wsr_base_create(const char *dev, const char *name, int snap_fd,
		    uint64_t offset, uint64_t length, unsigned int flags);
int wsr_base_drop(const char *dev, const char *name);
int wsr_base_list(const char *dev, struct wsr_base_info **out,
		  size_t *count);
int wsr_base_open(const char *dev, const char *name, struct wsr_region **out);

/* Compressed snapshots: the index of the format of wsr-zsnap(5). */
#define WSR_ZSNAP_CHUNK_MIN	(64u << 10)
#define WSR_ZSNAP_CHUNK_MAX	(2u << 20)
#define WSR_ZSNAP_CHUNK_DEFAULT	(128u << 10)
#define WSR_ZSNAP_MAX_LENGTH	(1ull << 40)

/* How a chunk is stored (struct wsr_zsnap_chunk.codec); 0 is invalid. */
enum wsr_zsnap_codec {
	WSR_ZSNAP_ZERO = 1,	/* all zero, nothing stored */
	WSR_ZSNAP_RAW,		/* stored as is */
	WSR_ZSNAP_LZ4,		/* one LZ4 block */
	WSR_ZSNAP_ZSTD,		/* one zstd frame */
	WSR_ZSNAP_NCODECS
};

/**
 * struct wsr_zsnap_chunk - where one chunk of a compressed snapshot is
 * @offset: byte offset of its stored bytes in the file (0 for ZERO)
 * @length: stored bytes (0 for ZERO, the chunk's size for RAW, less for
 *          LZ4 and ZSTD)
 * @crc:    CRC-32C of the stored bytes (0 for ZERO)
 * @codec:  enum wsr_zsnap_codec
 */
struct wsr_zsnap_chunk {
	uint64_t offset;
	uint32_t length;
	uint32_t crc;
	uint32_t codec;
};

/**
 * struct wsr_zsnap_info - summary of a compressed snapshot
 * @version:     format version
 * @chunk_size:  uncompressed bytes per chunk (the last may be shorter)
 * @length:      uncompressed length of the snapshot, bytes
 * @nchunks:     chunks
 * @data_offset: where the stored chunks begin
 * @file_size:   header, index and stored chunks: the file's exact size
 * @chunks:      [codec] chunks stored with each codec
 * @stored:      [codec] stored bytes of those chunks
 * @raw_bytes:   [codec] uncompressed bytes of those chunks
 */
struct wsr_zsnap_info {
	uint32_t version;
	uint32_t chunk_size;
	uint64_t length;
	uint64_t nchunks;
	uint64_t data_offset;
	uint64_t file_size;
	uint64_t chunks[WSR_ZSNAP_NCODECS];
	uint64_t stored[WSR_ZSNAP_NCODECS];
	uint64_t raw_bytes[WSR_ZSNAP_NCODECS];
};

struct wsr_zsnap;

/* Compressed snapshots: the index */
int wsr_zsnap_create(uint32_t chunk_size, uint64_t length,
		     struct wsr_zsnap **out);
int wsr_zsnap_add_chunk(struct wsr_zsnap *z, uint64_t i, uint32_t codec,
			const void *stored, uint32_t length);
int wsr_zsnap_verify_chunk(const struct wsr_zsnap *z, uint64_t i,
			   const void *stored, uint32_t length);
int wsr_zsnap_encode(const struct wsr_zsnap *z, void **buf, size_t *len);
int wsr_zsnap_index_size(const void *buf, size_t len, size_t *need);
int wsr_zsnap_parse(const void *buf, size_t len, uint64_t file_size,
		    struct wsr_zsnap **out);
int wsr_zsnap_load(int fd, struct wsr_zsnap **out);
int wsr_zsnap_info(const struct wsr_zsnap *z, struct wsr_zsnap_info *info);
int wsr_zsnap_chunk(const struct wsr_zsnap *z, uint64_t i,
		    struct wsr_zsnap_chunk *c);
void wsr_zsnap_free(struct wsr_zsnap *z);

/* Snapshot identity */
int wsr_snapshot_id(int fd, uint64_t offset, uint64_t length,
		    struct wsr_snapshot_id *id);

/* Working sets */
int wsr_ws_create(const struct wsr_snapshot_id *id, const uint64_t *pages,
		  size_t count, uint64_t dropped, struct wsr_ws **out);
int wsr_ws_load(const char *path, struct wsr_ws **out);
int wsr_ws_parse(const void *buf, size_t len, struct wsr_ws **out);
int wsr_ws_save(const struct wsr_ws *ws, const char *path);
int wsr_ws_encode(const struct wsr_ws *ws, void **buf, size_t *len);
int wsr_ws_merge(struct wsr_ws *const *in, size_t n, unsigned int min_count,
		 struct wsr_ws **out);
int wsr_ws_info(const struct wsr_ws *ws, struct wsr_ws_info *info);
int wsr_ws_pages(const struct wsr_ws *ws, const uint64_t **pages,
		 size_t *count);
int wsr_ws_entries(const struct wsr_ws *ws, const struct wsr_ws_page **entries,
		   size_t *count);
int wsr_ws_check_snapshot(const struct wsr_ws *ws,
			  const struct wsr_snapshot_id *id);
void wsr_ws_free(struct wsr_ws *ws);

/* Statistics between working sets */
int wsr_ws_overlap(struct wsr_ws *const *in, size_t n,
		   struct wsr_ws_overlap **out);
double wsr_ws_jaccard(const struct wsr_ws_overlap *o, size_t i, size_t j);
void wsr_ws_overlap_free(struct wsr_ws_overlap *o);

/* Error text for working-set and region errors, see wsr_strerror(3). */
const char *wsr_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* LIBWSR_H */
