// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM side of wsr-vmm: one VM, one vCPU, 64-bit long mode from the
 * first instruction (no firmware, no real mode), no in-kernel irqchip.
 * Port IO is the only device.  The long-mode setup follows the usual
 * recipe (as kvmtool and kvm-hello-world do it): a GDT with a 64-bit code
 * segment, identity page tables with 2 MiB pages, CR0.PG|PE, CR4.PAE,
 * EFER.LME|LMA.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/time.h>
#include "vmm.h"

#define CR0_PE		(1ULL << 0)
#define CR0_MP		(1ULL << 1)
#define CR0_ET		(1ULL << 4)
#define CR0_NE		(1ULL << 5)
#define CR0_WP		(1ULL << 16)
#define CR0_AM		(1ULL << 18)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

/* MSRs saved with the vCPU (EFER travels in sregs). */
static const uint32_t vmm_msrs[] = {
	0xc0000081,	/* STAR */
	0xc0000082,	/* LSTAR */
	0xc0000083,	/* CSTAR */
	0xc0000084,	/* SYSCALL_MASK */
	0xc0000102,	/* KERNEL_GS_BASE */
	0x00000174,	/* SYSENTER_CS */
	0x00000175,	/* SYSENTER_ESP */
	0x00000176,	/* SYSENTER_EIP */
	0x00000277,	/* PAT */
};

#define NMSRS	(sizeof(vmm_msrs) / sizeof(vmm_msrs[0]))

static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret < 0 && errno == EINTR && req != KVM_RUN);
	return ret < 0 ? -errno : ret;
}

static int vm_set_cpuid(struct vm *vm)
{
	struct kvm_cpuid2 *cpuid;
	int n = 128, ret;

	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) +
			       n * sizeof(struct kvm_cpuid_entry2));
		if (!cpuid)
			return -ENOMEM;
		cpuid->nent = n;
		ret = xioctl(vm->kvm, KVM_GET_SUPPORTED_CPUID, cpuid);
		if (ret != -E2BIG)
			break;
		free(cpuid);
		n *= 2;
	}
	if (!ret)
		ret = xioctl(vm->vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return ret < 0 ? ret : 0;
}

/**
 * vm_open() - create a VM whose memory is @mem (all of guest-physical
 * [0, @mem_size)) and its vCPU
 */
int vm_open(struct vm *vm, void *mem, uint64_t mem_size)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = mem_size,
		.userspace_addr = (uintptr_t)mem,
	};
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->kvm = -1;
	vm->fd = -1;
	vm->vcpu = -1;
	vm->mem = mem;
	vm->mem_size = mem_size;
	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0) {
		ret = -errno;
		vm->kvm = -1;
		return ret;
	}
	ret = xioctl(vm->kvm, KVM_GET_API_VERSION, NULL);
	if (ret != KVM_API_VERSION) {
		ret = ret < 0 ? ret : -EPROTO;
		goto err;
	}
	ret = xioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (ret < 0)
		goto err;
	vm->fd = ret;
	/* Intel needs a TSS in guest-physical space; unused memory on AMD. */
	ret = xioctl(vm->fd, KVM_SET_TSS_ADDR, (void *)0xfffbd000UL);
	if (ret < 0)
		goto err;
	ret = xioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region);
	if (ret < 0)
		goto err;
	ret = xioctl(vm->fd, KVM_CREATE_VCPU, 0);
	if (ret < 0)
		goto err;
	vm->vcpu = ret;
	ret = xioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (ret < 0)
		goto err;
	vm->run_size = ret;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu, 0);
	if (vm->run == MAP_FAILED) {
		ret = -errno;
		vm->run = NULL;
		goto err;
	}
	ret = vm_set_cpuid(vm);
	if (ret < 0)
		goto err;
	return 0;
err:
	vm_close(vm);
	return ret;
}

void vm_close(struct vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu >= 0)
		close(vm->vcpu);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm >= 0)
		close(vm->kvm);
	vm->run = NULL;
	vm->vcpu = -1;
	vm->fd = -1;
	vm->kvm = -1;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type,
		     bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = code ? 0 : 1;
	s->s = 1;
	s->l = code ? 1 : 0;
	s->g = 1;
}

/**
 * vm_boot_setup() - prepare a fresh guest: GDT and page tables in guest
 * memory, vCPU in 64-bit mode at @entry with the stack at
 * WSR_GPA_STACK_TOP
 */
int vm_boot_setup(struct vm *vm, uint64_t entry)
{
	uint64_t *gdt = (uint64_t *)(vm->mem + WSR_GPA_GDT);
	uint64_t *pml4 = (uint64_t *)(vm->mem + WSR_GPA_PML4);
	uint64_t *pdpt = (uint64_t *)(vm->mem + WSR_GPA_PDPT);
	uint64_t *pd = (uint64_t *)(vm->mem + WSR_GPA_PD);
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint64_t i;
	int ret;

	/* null, 64-bit code (0x08), data (0x10) */
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL;
	gdt[2] = 0x00cf93000000ffffULL;
	pml4[0] = WSR_GPA_PDPT | PTE_P | PTE_RW;
	for (i = 0; i < WSR_PD_PAGES; i++)
		pdpt[i] = (WSR_GPA_PD + i * VMM_PAGE) | PTE_P | PTE_RW;
	for (i = 0; i < WSR_PD_PAGES * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;

	ret = xioctl(vm->vcpu, KVM_GET_SREGS, &sregs);
	if (ret < 0)
		return ret;
	seg_flat(&sregs.cs, 0x08, 0xb, true);
	seg_flat(&sregs.ds, 0x10, 0x3, false);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.gdt.base = WSR_GPA_GDT;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.cr3 = WSR_GPA_PML4;
	sregs.cr4 = CR4_PAE;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM |
		    CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	ret = xioctl(vm->vcpu, KVM_SET_SREGS, &sregs);
	if (ret < 0)
		return ret;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rsp = WSR_GPA_STACK_TOP;
	ret = xioctl(vm->vcpu, KVM_SET_REGS, &regs);
	return ret < 0 ? ret : 0;
}

static int vm_io(struct vm *vm, enum vm_event *ev)
{
	struct kvm_run *run = vm->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t val = 0;

	if (run->io.size != 4 || run->io.count != 1) {
		if (run->io.port == WSR_PORT_PUTC &&
		    run->io.direction == KVM_EXIT_IO_OUT) {
			if (!vm->quiet)
				fwrite(data, 1, run->io.size * run->io.count,
				       stderr);
			return 0;
		}
		vmm_err("guest: unexpected %u-byte io on port %#x",
			run->io.size, run->io.port);
		return -EPROTO;
	}
	if (run->io.direction == KVM_EXIT_IO_IN) {
		if (run->io.port != WSR_PORT_INPUT) {
			vmm_err("guest: in from unknown port %#x",
				run->io.port);
			return -EPROTO;
		}
		memcpy(data, &vm->input, 4);
		return 0;
	}
	memcpy(&val, data, 4);
	switch (run->io.port) {
	case WSR_PORT_READY:
		*ev = VM_EV_READY;
		return 0;
	case WSR_PORT_RESULT:
		if (vm->result_halves >= 2) {
			vmm_err("guest: more than two result words");
			return -EPROTO;
		}
		vm->result |= (uint64_t)val << (32 * vm->result_halves++);
		return 0;
	case WSR_PORT_DONE:
		if (vm->result_halves != 2) {
			vmm_err("guest: done without a result");
			return -EPROTO;
		}
		*ev = VM_EV_DONE;
		return 0;
	case WSR_PORT_PANIC:
		vmm_err("guest panic, code %u", val);
		return -EFAULT;
	default:
		vmm_err("guest: out to unknown port %#x", run->io.port);
		return -EPROTO;
	}
}

/**
 * vm_run() - run the vCPU until the guest reports READY or DONE
 * @ev: (out) which
 *
 * Return: 0, or -errno; a halt, shutdown or failed entry is -EFAULT
 * with the reason printed.
 */
static void vm_alarm(int sig)
{
	(void)sig;
}

/*
 * WSR_VMM_TRACE=1 prints the guest's registers every second while it
 * runs, =2 also every exit to userspace.
 */
static int vm_trace_setup(void)
{
	const char *t = getenv("WSR_VMM_TRACE");
	struct itimerval it = { { 1, 0 }, { 1, 0 } };
	struct sigaction sa;

	if (!t || !*t)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vm_alarm;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	return atoi(t);
}

int vm_run(struct vm *vm, enum vm_event *ev)
{
	static int vm_trace = -1;

	struct kvm_regs regs;
	int ret;

	if (vm_trace < 0)
		vm_trace = vm_trace_setup();
	*ev = 0;
	for (;;) {
		ret = ioctl(vm->vcpu, KVM_RUN, NULL);
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				if (vm_trace) {
					ioctl(vm->vcpu, KVM_GET_REGS, &regs);
					fprintf(stderr, "wsr-vmm: trace: rip %#llx rsp %#llx rax %#llx\n",
						regs.rip, regs.rsp, regs.rax);
				}
				continue;
			}
			return -errno;
		}
		if (vm_trace > 1)
			fprintf(stderr, "wsr-vmm: trace: exit %u\n",
				vm->run->exit_reason);
		switch (vm->run->exit_reason) {
		case KVM_EXIT_IO:
			ret = vm_io(vm, ev);
			if (ret < 0)
				return ret;
			if (*ev)
				return 0;
			break;
		case KVM_EXIT_HLT:
		case KVM_EXIT_SHUTDOWN:
		case KVM_EXIT_MMIO:
			ioctl(vm->vcpu, KVM_GET_REGS, &regs);
			vmm_err("guest stopped: exit %u at rip %#llx",
				vm->run->exit_reason, regs.rip);
			return -EFAULT;
		case KVM_EXIT_FAIL_ENTRY:
			vmm_err("KVM entry failed, reason %#llx",
				vm->run->fail_entry.hardware_entry_failure_reason);
			return -EFAULT;
		case KVM_EXIT_INTERNAL_ERROR:
			vmm_err("KVM internal error, suberror %u",
				vm->run->internal.suberror);
			return -EFAULT;
		default:
			vmm_err("unexpected KVM exit %u",
				vm->run->exit_reason);
			return -EFAULT;
		}
	}
}

/*
 * KVM completes an "out" (advances RIP) only on the next KVM_RUN.  Before
 * the vCPU state is saved that must happen, without running the guest:
 * KVM_RUN with immediate_exit runs the completion and returns -EINTR
 * (Documentation/virt/kvm/api.rst, "immediate_exit").
 */
int vm_complete_io(struct vm *vm)
{
	int ret;

	vm->run->immediate_exit = 1;
	ret = ioctl(vm->vcpu, KVM_RUN, NULL);
	vm->run->immediate_exit = 0;
	if (ret == 0)
		return -EPROTO;
	return errno == EINTR ? 0 : -errno;
}

int vm_save_cpu(struct vm *vm, struct vmm_state *st)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[NMSRS];
	} msrs;
	unsigned int i;
	int ret;

	ret = xioctl(vm->vcpu, KVM_GET_REGS, &st->regs);
	if (ret < 0)
		return ret;
	ret = xioctl(vm->vcpu, KVM_GET_SREGS, &st->sregs);
	if (ret < 0)
		return ret;
	ret = xioctl(vm->vcpu, KVM_GET_FPU, &st->fpu);
	if (ret < 0)
		return ret;
	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = NMSRS;
	for (i = 0; i < NMSRS; i++)
		msrs.e[i].index = vmm_msrs[i];
	ret = xioctl(vm->vcpu, KVM_GET_MSRS, &msrs);
	if (ret < 0)
		return ret;
	/* KVM_GET_MSRS returns how many it read: keep those. */
	st->nmsrs = ret;
	memcpy(st->msrs, msrs.e, ret * sizeof(msrs.e[0]));
	return 0;
}

int vm_load_cpu(struct vm *vm, const struct vmm_state *st)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[VMM_MAX_MSRS];
	} msrs;
	int ret;

	ret = xioctl(vm->vcpu, KVM_SET_SREGS, (void *)&st->sregs);
	if (ret < 0)
		return ret;
	ret = xioctl(vm->vcpu, KVM_SET_REGS, (void *)&st->regs);
	if (ret < 0)
		return ret;
	ret = xioctl(vm->vcpu, KVM_SET_FPU, (void *)&st->fpu);
	if (ret < 0)
		return ret;
	if (!st->nmsrs)
		return 0;
	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = st->nmsrs;
	memcpy(msrs.e, st->msrs, st->nmsrs * sizeof(msrs.e[0]));
	ret = xioctl(vm->vcpu, KVM_SET_MSRS, &msrs);
	if (ret < 0)
		return ret;
	return ret == (int)st->nmsrs ? 0 : -EPROTO;
}
