/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Runtime of the freestanding payloads: port IO and the entry points each
 * payload provides to the common main loop in runtime.c.
 */
#ifndef WSR_GUEST_H
#define WSR_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include "abi.h"
#include "payload.h"

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/* Stop with an error code the VMM reports; never returns. */
void guest_panic(uint32_t code) __attribute__((noreturn));

/* Provided by each payload. */
void payload_init(const struct wsr_boot_info *boot);
uint64_t payload_invoke(uint32_t input);

/* Declares the payload's image header. */
#define WSR_PAYLOAD(id, pname)						\
	void _start(void);						\
	__attribute__((section(".header"), used))			\
	const struct wsr_image_hdr wsr_image_hdr = {			\
		.magic = WSR_IMAGE_MAGIC,				\
		.payload = (id),					\
		.entry = (uint64_t)_start,				\
		.name = pname,						\
	}

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#endif /* WSR_GUEST_H */
