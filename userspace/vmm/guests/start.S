/* SPDX-License-Identifier: GPL-2.0 */
/* Entry in 64-bit mode with paging on (set up by the VMM). */
#include "abi.h"

	.section .text.start, "ax"
	.globl _start
_start:
	movq	$WSR_GPA_STACK_TOP, %rsp
	xorl	%ebp, %ebp
	call	guest_main
1:	hlt
	jmp	1b
