// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * wsrctl id, ws check: the identity of a snapshot range (wsr_snapshot_id),
 * printed, or compared with the one a working set records.  One verb
 * body for both.
 */
#include <inttypes.h>
#include <stddef.h>
#include <unistd.h>
#include "wsrctl.h"

struct id_args {
	struct snap_opts so;
};

static const struct opt id_opts[] = {
	OPT_SNAP(struct id_args, so),
	OPT_END
};

static void id_print(const char *ws_path, const struct snap_opts *so,
		     const struct wsr_ws_info *info,
		     const struct wsr_snapshot_id *id, int match)
{
	struct json j;

	if (!opt_json) {
		if (!ws_path) {
			printf("file:        %s\n", so->path);
			print_snapshot_id(id);
		} else if (match) {
			printf("%s: matches %s (length %" PRIu64 ", fingerprint %016" PRIx64 ")\n",
			       ws_path, so->path, id->length, id->fingerprint);
		}
		return;
	}
	json_init(&j, stdout);
	json_begin_object(&j);
	if (ws_path) {
		json_kstr(&j, "file", ws_path);
		json_kstr(&j, "snapshot_file", so->path);
		json_kbool(&j, "match", match);
		json_snapshot_id(&j, "ws_snapshot", &info->snapshot);
	} else {
		json_kstr(&j, "file", so->path);
	}
	json_snapshot_id(&j, "snapshot", id);
	json_end_object(&j);
	json_finish(&j);
}

/*
 * 'id' (@check false): print the identity of the range.  'ws check'
 * (@check true): compare it with the working set's; the range defaults
 * to the working set's length.
 */
static int id_verb(const char *verb, bool check, int argc, char **argv)
{
	struct wsr_snapshot_id id;
	struct id_args a = { 0 };
	struct wsr_ws_info info;
	struct wsr_ws *ws = NULL;
	const char *wpath = NULL;
	int ret, fd, match = 0;

	ret = opts_parse(verb, id_opts, &a, argc, argv, false);
	if (ret)
		return ret == OPT_HELP ? EXIT_OK : ret;
	if (!a.so.path)
		return usage_error(verb, "need --snapshot F");
	if (argc - optind != (check ? 1 : 0))
		return usage_error(verb, check ? "expected one working-set FILE" :
				   "no operands");
	if (check) {
		wpath = argv[optind];
		ret = load_ws(wpath, &ws);
		if (ret)
			return ret;
		wsr_ws_info(ws, &info);
		if (!a.so.have_length) {
			a.so.length = info.snapshot.length;
			a.so.have_length = 1;
		}
	}
	ret = open_snapshot(a.so.path, a.so.offset, a.so.have_length,
			    &a.so.length, &fd);
	if (ret)
		goto out;
	ret = wsr_snapshot_id(fd, a.so.offset, a.so.length, &id);
	close(fd);
	if (ret) {
		ret = fail_err(a.so.path, ret);
		goto out;
	}
	match = check && !wsr_ws_check_snapshot(ws, &id);
	id_print(wpath, &a.so, &info, &id, match);
	if (check && !match)
		ret = fail_stale(wpath, a.so.path, &info.snapshot, &id);
out:
	wsr_ws_free(ws);
	return ret;
}

int cmd_id(int argc, char **argv)
{
	return id_verb("id", false, argc, argv);
}

int cmd_ws_check(int argc, char **argv)
{
	return id_verb("ws check", true, argc, argv);
}
