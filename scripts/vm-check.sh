#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run selftest suites in the test VM and judge the run.  Suites that need
# nested KVM (selftests/Makefile KVM_SUITES) go to a second boot under
# -icount, where nested SVM works; the others run on two vCPUs.
#
# usage: scripts/vm-check.sh FLAVOUR BUILD_DIR [TESTS] [-- JUDGE-ARGS...]
#   TESTS: suite[:test][,suite[:test]...], default every suite of make check
# env:   WSR_VM_ARGS  more kernel arguments for /init (wsr.timeout=...)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLAVOUR=$1 B=$2 TESTS=${3:-}
shift $(($# < 3 ? $# : 3))
[ "${1:-}" = -- ] && shift

KVM=" $(make -s -C "$ROOT/selftests" list-kvm) "
if [ -z "$TESTS" ]; then
	TESTS=$(make -s -C "$ROOT/selftests" list | tr ' ' ',')
fi
plain=() kvm=()
for sel in ${TESTS//,/ }; do
	case $KVM in
	*" ${sel%%:*} "*) kvm+=("$sel") ;;
	*) plain+=("$sel") ;;
	esac
done

KERNEL=$(cat "$B/kdir-$FLAVOUR")/arch/x86/boot/bzImage
INITRD=$B/initramfs-$FLAVOUR.cpio.gz
judge=()
run() {	# run NAME ICOUNT SELECTIONS...
	local name=$1 icount=$2 log=$B/logs/vm-$FLAVOUR-$1.log sel suites=()
	shift 2
	for sel in "$@"; do suites+=("${sel%%:*}"); done
	echo "  QEMU    $FLAVOUR kernel$([ "$icount" = 1 ] && echo ', icount'): ${suites[*]} (log: $log)"
	rm -f "$log"
	MICROVM_DISK=$B/microvm-$FLAVOUR.img QEMU_ICOUNT=$icount "$ROOT/scripts/run-qemu.sh" "$KERNEL" "$INITRD" \
		"$B/data.img" "$log" "wsr.tests=$(IFS=,; echo "$*")" \
		${WSR_VM_ARGS:-} || true
	judge+=(--log "$log" --suites "${suites[*]}")
}
[ ${#plain[@]} = 0 ] || run main 0 "${plain[@]}"
[ ${#kvm[@]} = 0 ] || run kvm 1 "${kvm[@]}"
exec "$ROOT/scripts/check-results.py" "${judge[@]}" "$@"
