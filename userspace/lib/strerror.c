// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#include <errno.h>
#include <string.h>
#include "wsr-private.h"

/*
 * Text for the errors libwsr functions return.  Codes with a meaning
 * specific to working sets, snapshots or the module get that meaning;
 * others get strerror()'s text.
 */
WSR_EXPORT const char *wsr_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return "success";
	case EPROTO:
		return "not a wsr working-set file (bad magic)";
	case EPROTONOSUPPORT:
		return "unsupported working-set format version";
	case ENODATA:
		return "truncated working-set file";
	case EFBIG:
		return "working-set file is longer than its header says";
	case EBADMSG:
		return "checksum mismatch, the working-set file is corrupt";
	case EOVERFLOW:
		return "count exceeds the working-set format's limits";
	case EUCLEAN:
		return "inconsistent working-set contents";
	case ESTALE:
		return "working set belongs to a different snapshot";
	case ENXIO:
		return "snapshot range lies beyond the end of the file";
	case EOPNOTSUPP:
		return "not supported by the loaded wsr module";
	case ENOTTY:
		return "not a wsr device";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
