// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit test of a payload (TAP): run its init and invocations natively,
 * with the heap mapped at its guest-physical address, and compare each
 * result with the VMM's reference (ref.c).  Also checks that one flipped
 * byte in the working set changes the result.  Built once per payload.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "../vmm.h"
#include "guest.h"

void vmm_err(const char *fmt, ...)
{
	(void)fmt;
}

extern const struct wsr_image_hdr wsr_image_hdr;

void guest_panic(uint32_t code)
{
	printf("not ok - guest_panic(%u)\n", code);
	exit(1);
}

int main(void)
{
	static const uint64_t sizes[] = { 64ULL << 20, 128ULL << 20 };
	/* The recorded and unseen inputs, and one no trace payload knows. */
	static const uint32_t inputs[] = { 1, 2, 3, 9, 7 };
	const unsigned int ni = sizeof(inputs) / sizeof(*inputs);
	unsigned int s, i, t = 0, fail = 0;

	printf("TAP version 13\n1..%zu\n",
	       sizeof(sizes) / sizeof(*sizes) * (ni + 1));
	for (s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		uint64_t heap = sizes[s] - WSR_GPA_HEAP, want, got;
		struct wsr_boot_info boot = {
			.magic = WSR_BOOT_MAGIC, .mem_size = sizes[s],
			.heap_start = WSR_GPA_HEAP, .heap_end = sizes[s],
		};
		uint8_t *mem = mmap((void *)WSR_GPA_HEAP, heap,
				    PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS |
				    MAP_FIXED_NOREPLACE, -1, 0);
		uint64_t *w;
		size_t nw, k;

		if (mem != (void *)WSR_GPA_HEAP) {
			printf("Bail out! cannot map the heap at %#llx: %s\n",
			       WSR_GPA_HEAP, strerror(errno));
			return 1;
		}
		payload_init(&boot);
		for (i = 0; i < ni; i++) {
			uint32_t input = inputs[i];

			got = payload_invoke(input);
			ref_result(wsr_image_hdr.payload, sizes[s], input,
				   &want);
			printf("%s %u - %s %lluM input %u: %#llx vs ref %#llx\n",
			       got == want ? "ok" : "not ok", ++t,
			       wsr_image_hdr.name,
			       (unsigned long long)(sizes[s] >> 20), input,
			       (unsigned long long)got,
			       (unsigned long long)want);
			fail += got != want;
		}
		/*
		 * Corrupt every word of the heap that the invocation reads
		 * differently... cheaply: flip one bit in every non-zero
		 * page's first word; the result must change.
		 */
		w = (uint64_t *)mem;
		nw = heap / 8;
		for (k = 0; k < nw; k += 512)
			if (w[k] || w[k + 1])
				w[k + 1] ^= 1ULL << 40;
		got = payload_invoke(1);
		ref_result(wsr_image_hdr.payload, sizes[s], 1, &want);
		printf("%s %u - %s %lluM corrupt memory gives a wrong result\n",
		       got != want ? "ok" : "not ok", ++t, wsr_image_hdr.name,
		       (unsigned long long)(sizes[s] >> 20));
		fail += got == want;
		munmap(mem, heap);
	}
	return fail ? 1 : 0;
}
