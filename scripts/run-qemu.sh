#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot the test VM once: the kernel, the initramfs, a fresh copy of the data
# disk.  The whole serial log is saved to LOG; marker and TAP lines are
# echoed live so that a long run shows progress.
#
# usage: scripts/run-qemu.sh KERNEL INITRD DISK LOG [KERNEL-ARGS...]
# env:   QEMU_MEM (4G)  QEMU_SMP (2)  QEMU_TIMEOUT seconds (1800)
#        QEMU_ICOUNT=1  deterministic guest time (-icount shift=0,sleep=on,
#                       one vCPU), for performance measurements
#        MICROVM_DISK   the stock-QEMU disk (scripts/mkmicrovm.sh), attached
#                       read-only as the second virtio disk when it exists
#        QEMU_EXTRA     further qemu arguments
#        QEMU_INTERACTIVE=1  keep stdin attached (make shell)
#        QEMU_KEEP_DISK=1  keep the copy of the data disk (LOG.disk.img)
set -euo pipefail

KERNEL=$1 INITRD=$2 DISK=$3 LOG=$4
shift 4
MEM=${QEMU_MEM:-4G}
SMP=${QEMU_SMP:-2}
TIMEOUT=${QEMU_TIMEOUT:-1800}

command -v qemu-system-x86_64 >/dev/null ||
	{ echo "run-qemu: qemu-system-x86_64 missing (qemu-system-x86)" >&2; exit 1; }
mkdir -p "$(dirname "$LOG")"
RUNDISK=$LOG.disk.img
cp --sparse=always "$DISK" "$RUNDISK"
# QEMU_KEEP_DISK=1 leaves the run's copy of the data disk for the caller
# (make bench reads its results from it)
[ "${QEMU_KEEP_DISK:-0}" = 1 ] || trap 'rm -f "$RUNDISK"' EXIT

ARGS=(-nographic -no-reboot -nodefaults -serial stdio
	-m "$MEM" -kernel "$KERNEL" -initrd "$INITRD"
	-drive "file=$RUNDISK,if=virtio,format=raw,cache=writeback")
if [ -n "${MICROVM_DISK:-}" ] && [ -f "$MICROVM_DISK" ]; then
	ARGS+=(-drive "file=$MICROVM_DISK,if=virtio,format=raw,readonly=on")
fi
# TCG emulates rep movsb/stosb byte by byte: without ERMS/FSRM the kernel
# uses faster copy loops.  SVM+NPT stay, so nested KVM works.
ARGS+=(-cpu max,-erms,-fsrm)
if [ "${QEMU_ICOUNT:-0}" = 1 ]; then
	ARGS+=(-smp 1 -icount shift=0,sleep=on)
else
	ARGS+=(-smp "$SMP")
fi
# ACPI is there to enumerate the CPUs; the tinyconfig kernel has no ACPI PCI
# interrupt routing, so PCI interrupts come from the MP table (without this,
# virtio-blk never sees an interrupt and the boot hangs).
APPEND="console=ttyS0 panic=-1 loglevel=7 pci=noacpi $*"

if [ "${QEMU_INTERACTIVE:-0}" = 1 ]; then
	qemu-system-x86_64 "${ARGS[@]}" ${QEMU_EXTRA:-} -append "$APPEND" | tee "$LOG"
	exit 0
fi

start=$SECONDS
set +e
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 "${ARGS[@]}" \
	${QEMU_EXTRA:-} -append "$APPEND" </dev/null 2>&1 |
	tee "$LOG" |
	mawk -W interactive '/^WSR-DEMO-BEGIN/ { demo = 1 } /^WSR-DEMO-END/ { demo = 0 }
		demo || /^(WSR-(BOOT|SUITE-END|ERROR|DEMO|BENCH)|wsr-bench:|not ok |ok )|Kernel panic/ {
			sub(/\r$/, ""); print }' |
	while IFS= read -r line; do
		printf '[vm +%4ds] %s\n' $((SECONDS - start)) "$line"
	done
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "run-qemu: timed out after ${TIMEOUT}s (log: $LOG)" >&2
	exit 124
fi
exit 0
