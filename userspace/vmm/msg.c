// SPDX-License-Identifier: GPL-2.0
/* wsr-vmm's one-line error messages, for every part of it. */
#include <stdarg.h>
#include <stdio.h>
#include "vmm.h"

void vmm_err(const char *fmt, ...)
{
	va_list ap;

	fputs("wsr-vmm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
