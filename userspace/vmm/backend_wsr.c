// SPDX-License-Identifier: GPL-2.0
/*
 * wsr: guest memory is a /dev/wsr region over the memory file (libwsr).
 *
 *  - Record (--record WS): the module's fault tracker records first
 *    touches from the first KVM_RUN to the result; the working set is
 *    written with wsr_ws_save().  Several recordings are merged with
 *    "wsrctl ws merge".
 *  - Restore (--ws WS): WSR_IOC_RESTORE prefaults the working set before
 *    the guest resumes (sync), or starts loading it and returns at once
 *    (--async), the guest's faults waiting only for the pages they need.
 *    --lazy leaves pages in the page cache to be copied when touched
 *    (WSR_RESTORE_LAZY_CACHE).
 *
 * With --zsnap FILE the region maps FILE, a compressed snapshot of
 * DIR/mem (wsrctl snapshot compress, wsr-zsnap(5)), created with
 * WSR_CREATE_COMPRESSED: the module decompresses the chunks it loads.
 * Page indices, working sets and the guest's bytes are those of DIR/mem.
 *
 * The working set is checked against the snapshot identity stored in
 * DIR/state when the snapshot was written, so a restore does no extra
 * I/O for that check.
 */
#include <errno.h>
#include <fcntl.h>
#include <libwsr.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include "vmm.h"

struct wsrb {
	struct wsr_region *region;
	struct wsr_ws *ws;
	struct wsr_restore out;
	bool restored;
	uint64_t t_create, t_map, t_ws, t_restore;	/* ns, setup steps */
};

static int wsrb_setup(struct restore *r)
{
	struct wsr_snapshot_id id = {
		.offset = 0,
		.length = r->st.mem_size,
		.fingerprint = r->st.snap_fp,
		.method = r->st.snap_fp_method,
		.samples = r->st.snap_fp_samples,
	};
	uint64_t t = now_ns();
	struct wsrb *p;
	void *mem;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->priv = p;
	if (r->ws_path && r->recording)
		return -EINVAL;
	if (r->zsnap_path) {
		/* libwsr keeps a duplicate of the descriptor. */
		int zfd = open(r->zsnap_path, O_RDONLY | O_CLOEXEC);

		if (zfd < 0) {
			ret = -errno;
			vmm_err("wsr: %s: %s", r->zsnap_path, strerror(errno));
			return ret;
		}
		ret = wsr_region_create(NULL, zfd, 0, r->st.mem_size,
					WSR_CREATE_COMPRESSED, &p->region);
		close(zfd);
	} else {
		ret = wsr_region_create(NULL, r->snap_fd, 0, r->st.mem_size, 0,
					&p->region);
	}
	if (ret) {
		vmm_err("wsr: %s: %s", r->zsnap_path ? r->zsnap_path :
			WSR_DEVICE, wsr_strerror(ret));
		return ret;
	}
	p->t_create = now_ns() - t;
	t = now_ns();
	ret = wsr_region_map(p->region, &mem);
	if (ret)
		return ret;
	p->t_map = now_ns() - t;
	t = now_ns();
	r->mem = mem;
	if (!r->ws_path)
		return 0;
	ret = wsr_ws_load(r->ws_path, &p->ws);
	if (ret) {
		vmm_err("wsr: %s: %s", r->ws_path, wsr_strerror(ret));
		return ret;
	}
	ret = wsr_ws_check_snapshot(p->ws, &id);
	if (ret) {
		vmm_err("wsr: %s does not belong to this snapshot: %s",
			r->ws_path, wsr_strerror(ret));
		return ret;
	}
	p->t_ws = now_ns() - t;
	t = now_ns();
	ret = wsr_region_restore(p->region, p->ws, WSR_RESTORE_NOCHECK |
				 (r->async ? WSR_RESTORE_ASYNC : 0) |
				 (r->lazy ? WSR_RESTORE_LAZY_CACHE : 0), &p->out);
	if (ret) {
		vmm_err("wsr: restore: %s", wsr_strerror(ret));
		return ret;
	}
	p->t_restore = now_ns() - t;
	p->restored = true;
	return 0;
}

static int wsrb_resume(struct restore *r)
{
	struct wsrb *p = r->priv;

	if (!r->recording)
		return 0;
	return wsr_region_track(p->region, WSR_TRACK_START);
}

static int wsrb_stop(struct restore *r)
{
	struct wsrb *p = r->priv;
	struct wsr_stats st;
	int ret;

	if (r->recording) {
		ret = wsr_region_track(p->region, WSR_TRACK_STOP);
		if (ret)
			return ret;
	}
	/* Let an async restore finish: its reads are part of the cost. */
	if (p->restored && r->async) {
		ret = wsr_region_wait(p->region, 0);
		if (ret)
			return ret;
	}
	ret = wsr_region_stats(p->region, &st);
	if (ret)
		return ret;
	r->mem_extra_kb = st.resident_huge * 2048 + st.resident_small * 4;
	if (p->restored) {
		struct wsr_ws_info info;

		if (!wsr_ws_info(p->ws, &info))
			restore_extra(r, "wsr_ws_pages", info.pages);
		restore_extra(r, "wsr_restore_from_cache", p->out.from_cache);
		restore_extra(r, "wsr_restore_from_device",
			      p->out.from_device);
		restore_extra(r, "wsr_restore_runs", p->out.runs);
		restore_extra(r, "wsr_restore_left_cached",
			      p->out.left_cached);
	}
	restore_extra(r, "wsr_create_us", p->t_create / 1000);
	restore_extra(r, "wsr_map_us", p->t_map / 1000);
	restore_extra(r, "wsr_ws_load_us", p->t_ws / 1000);
	restore_extra(r, "wsr_restore_us", p->t_restore / 1000);
	restore_extra(r, "wsr_faults", st.faults);
	restore_extra(r, "wsr_faults_huge", st.faults_huge);
	restore_extra(r, "wsr_faults_present", st.faults_present);
	restore_extra(r, "wsr_faults_cache", st.faults_cache);
	restore_extra(r, "wsr_faults_device", st.faults_device);
	restore_extra(r, "wsr_faults_waited", st.faults_waited);
	restore_extra(r, "wsr_pages_cache", st.pages_cache);
	restore_extra(r, "wsr_pages_device", st.pages_device);
	restore_extra(r, "wsr_bytes_read", st.bytes_read);
	restore_extra(r, "wsr_bytes_gap", st.bytes_gap);
	restore_extra(r, "wsr_bytes_around", st.bytes_around);
	restore_extra(r, "wsr_decompress_us", st.decompress_ns / 1000);
	restore_extra(r, "wsr_chunks_decompressed", st.chunks_decompressed);
	restore_extra(r, "wsr_resident_huge", st.resident_huge);
	restore_extra(r, "wsr_resident_small", st.resident_small);
	if (r->recording) {
		restore_extra(r, "wsr_tracked", st.tracked);
		restore_extra(r, "wsr_dropped", st.dropped);
	}
	return 0;
}

static int wsrb_save(struct restore *r)
{
	struct wsrb *p = r->priv;
	struct wsr_ws *ws;
	int ret;

	ret = wsr_region_get_ws(p->region, &ws);
	if (ret)
		return ret;
	ret = wsr_ws_save(ws, r->record_path);
	wsr_ws_free(ws);
	return ret;
}

static void wsrb_teardown(struct restore *r)
{
	struct wsrb *p = r->priv;

	if (!p)
		return;
	if (p->region)
		wsr_region_destroy(p->region);
	wsr_ws_free(p->ws);
	free(p);
	r->priv = NULL;
	r->mem = NULL;
}

const struct backend backend_wsr = {
	.name = "wsr",
	.paper = "wsr (this project)",
	.setup = wsrb_setup,
	.resume = wsrb_resume,
	.stop = wsrb_stop,
	.save = wsrb_save,
	.teardown = wsrb_teardown,
};
