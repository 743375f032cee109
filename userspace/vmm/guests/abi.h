/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between wsr-vmm and its guest payloads: guest-physical
 * layout, the image header and the port-IO protocol.  Included by the
 * freestanding payloads and by the VMM.
 *
 * Guest-physical layout (identity-mapped with 2 MiB pages):
 *
 *	0x000000  zero page
 *	0x001000  GDT
 *	0x002000  PML4, 0x3000 PDPT, 0x4000-0x7fff four page directories
 *	0x008000  struct wsr_boot_info (written by the VMM before boot)
 *	0x010000  payload image (struct wsr_image_hdr first), up to 960 KiB
 *	0x100000  stack, growing down from 0x200000
 *	0x200000  heap: the payload's state, up to the end of guest memory
 *
 * Protocol: the payload initialises, then loops
 *
 *	out READY; in INPUT; compute; out RESULT (low 32 bits);
 *	out RESULT (high 32 bits); out DONE
 *
 * The VMM snapshots at the first READY.  A restored guest continues
 * right after that "out", asks for its input with "in" and reports the
 * result through ports, so the VMM itself never touches guest memory
 * while a restore is measured.
 */
#ifndef WSR_GUEST_ABI_H
#define WSR_GUEST_ABI_H

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

#define WSR_GPA_GDT		0x1000ULL
#define WSR_GPA_PML4		0x2000ULL
#define WSR_GPA_PDPT		0x3000ULL
#define WSR_GPA_PD		0x4000ULL
#define WSR_PD_PAGES		4		/* 4 GiB identity map */
#define WSR_GPA_BOOT		0x8000ULL
#define WSR_GPA_IMAGE		0x10000ULL
#define WSR_IMAGE_MAX		(0x100000ULL - WSR_GPA_IMAGE)
#define WSR_GPA_STACK_TOP	0x200000ULL
#define WSR_GPA_HEAP		0x200000ULL

#define WSR_PORT_READY		0x510	/* out: initialised, waiting */
#define WSR_PORT_INPUT		0x511	/* in: the invocation's input */
#define WSR_PORT_RESULT		0x512	/* out: result, low then high half */
#define WSR_PORT_DONE		0x513	/* out: invocation complete */
#define WSR_PORT_PANIC		0x514	/* out: payload error code */
#define WSR_PORT_PUTC		0x515	/* out: debug character */

#define WSR_BOOT_MAGIC		0x31746f6f42727377ULL	/* "wsrBoot1" */
#define WSR_IMAGE_MAGIC		0x31676d4972737721ULL	/* "!wsrImg1" */

#ifndef __ASSEMBLER__
/* Payload identifiers (struct wsr_image_hdr.payload). */
enum wsr_payload_id {
	WSR_PAYLOAD_KV = 1,	/* sparse random: hash index over a corpus */
	WSR_PAYLOAD_DICT = 2,	/* clustered: LZ dictionary segments */
	WSR_PAYLOAD_SCAN = 3,	/* mostly sequential: interpreter heap scan */
	WSR_PAYLOAD_TRACE_PY = 4,	/* replay: python3 running a function */
	WSR_PAYLOAD_TRACE_SQLITE = 5,	/* replay: an SQLite query */
	WSR_PAYLOAD_TRACE_ZLIB = 6,	/* replay: inflate and parse */
};

/**
 * struct wsr_image_hdr - first bytes of a payload image
 * @magic:   WSR_IMAGE_MAGIC
 * @payload: enum wsr_payload_id
 * @pad:     zero
 * @entry:   guest-physical entry point
 * @name:    payload name, NUL-terminated
 */
struct wsr_image_hdr {
	uint64_t magic;
	uint32_t payload;
	uint32_t pad;
	uint64_t entry;
	char name[16];
};

/**
 * struct wsr_boot_info - written by the VMM at WSR_GPA_BOOT before boot
 * @magic:      WSR_BOOT_MAGIC
 * @mem_size:   guest memory size in bytes
 * @heap_start: first byte of the heap (WSR_GPA_HEAP)
 * @heap_end:   end of the heap (= @mem_size)
 */
struct wsr_boot_info {
	uint64_t magic;
	uint64_t mem_size;
	uint64_t heap_start;
	uint64_t heap_end;
};

#endif /* __ASSEMBLER__ */

#endif /* WSR_GUEST_ABI_H */
