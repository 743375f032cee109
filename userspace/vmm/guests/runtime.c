// SPDX-License-Identifier: GPL-2.0
/*
 * Common main loop of the payloads: initialise once, then serve
 * invocations (see the protocol in abi.h).  The VMM snapshots at the first
 * READY; everything after it runs in restored guests.
 */
#include "guest.h"

void guest_panic(uint32_t code)
{
	for (;;) {
		outl(WSR_PORT_PANIC, code);
		__asm__ volatile("hlt");
	}
}

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void guest_main(void);
void guest_main(void)
{
	const struct wsr_boot_info *boot = (const void *)WSR_GPA_BOOT;

	if (boot->magic != WSR_BOOT_MAGIC)
		guest_panic(1);
	payload_init(boot);
	for (;;) {
		uint64_t r;

		outl(WSR_PORT_READY, 0);
		r = payload_invoke(inl(WSR_PORT_INPUT));
		outl(WSR_PORT_RESULT, (uint32_t)r);
		outl(WSR_PORT_RESULT, (uint32_t)(r >> 32));
		outl(WSR_PORT_DONE, 0);
	}
}
