// SPDX-License-Identifier: GPL-2.0
/*
 * --mem-file: a stock VMM's view of a wsr base.  The file backend maps
 * the path it is given (a named base's file on wsrfs) exactly as it maps
 * DIR/mem; with --ws, this asks wsr to load the working set into that
 * base in the background first, as an orchestrator beside an unmodified
 * VMM would (wsrctl base restore NAME --ws WS --async), inside the
 * measured restore.
 */
#include <errno.h>
#include <string.h>
#include <sys/vfs.h>
#include <libwsr.h>
#include "vmm.h"

/* The base r->mem_file names, bound; 0 or -errno (reported). */
static int base_of(struct restore *r, struct wsr_region **out)
{
	const char *name = strrchr(r->mem_file, '/');
	struct statfs sfs;
	int ret;

	name = name ? name + 1 : r->mem_file;
	if (fstatfs(r->snap_fd, &sfs) || sfs.f_type != WSRFS_MAGIC) {
		vmm_err("%s: not a wsr base (wsrfs)", r->mem_file);
		return -EINVAL;
	}
	ret = wsr_base_open(NULL, name, out);
	if (ret)
		vmm_err("base %s: %s", name, wsr_strerror(ret));
	return ret;
}

/**
 * base_prefetch() - start loading r->ws_path into the base of r->mem_file
 * @r: restore with mem_file and ws_path set
 *
 * Return: 0 (also when a restore of the base is running already: concurrent
 * instances) or -errno (reported).
 */
int base_prefetch(struct restore *r)
{
	struct wsr_region *base;
	struct wsr_ws *ws;
	int ret;

	ret = wsr_ws_load(r->ws_path, &ws);
	if (ret) {
		vmm_err("%s: %s", r->ws_path, wsr_strerror(ret));
		return ret;
	}
	ret = base_of(r, &base);
	if (!ret) {
		ret = wsr_region_restore(base, ws, WSR_RESTORE_ASYNC, NULL);
		/*
		 * Another instance's restore is loading the base: its
		 * faults wait for those pages like this one's would.
		 */
		if (ret == -EBUSY)
			ret = 0;
		if (ret)
			vmm_err("%s: restore %s: %s", r->mem_file, r->ws_path,
				wsr_strerror(ret));
		wsr_region_destroy(base);
	}
	wsr_ws_free(ws);
	return ret;
}

/**
 * base_account() - the base's pages, as the wsr backend counts its own
 * @r: restore with mem_file set
 *
 * Sets r->mem_extra_kb when r->mem_file is a wsr base (shared memory of
 * every instance over it); leaves it 0 otherwise.
 */
void base_account(struct restore *r)
{
	struct wsr_region *base;
	struct statfs sfs;
	struct wsr_stats st;

	if (fstatfs(r->snap_fd, &sfs) || sfs.f_type != WSRFS_MAGIC ||
	    base_of(r, &base))
		return;
	if (!wsr_region_stats(base, &st))
		r->mem_extra_kb = st.resident_huge * 2048 +
				  st.resident_small * 4;
	wsr_region_destroy(base);
}
