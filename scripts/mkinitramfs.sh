#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the test VM's initramfs: busybox-static, wsr.ko, the selftest suites
# and the static userspace tools.
#
# usage: scripts/mkinitramfs.sh OUT.cpio.gz
# env:   WSR_KO        module to install as /lib/modules/wsr.ko
#        SELFTEST_DIR  directory holding the wsr_<suite> binaries and settings
#        SUITES        suites to list in /selftests/suites, in run order
#        EXTRA_SUITES  suites to install without listing them (make soak)
#        BINS          static programs to install in /usr/bin (optional)
#        SHARE         files to install in /usr/share/wsr (optional)
set -euo pipefail

OUT=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUSYBOX=/bin/busybox
STAGE=$(mktemp -d "${OUT}.stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
# mktemp made it 0700: the guest's / must let the unprivileged users that
# tests switch to reach /dev.
chmod 0755 "$STAGE"

die() { echo "mkinitramfs: $*" >&2; exit 1; }
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
file -L "$BUSYBOX" | grep -q 'statically linked' || die "$BUSYBOX is not static"

mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,usr/share/wsr,lib/modules,selftests,proc,sys,dev,tmp,data,etc}
cp "$BUSYBOX" "$STAGE/bin/busybox"
for applet in $("$BUSYBOX" --list); do
	[ -e "$STAGE/bin/$applet" ] || ln -s busybox "$STAGE/bin/$applet"
done
install -m 0755 "$ROOT/scripts/guest-init.sh" "$STAGE/init"

[ -f "${WSR_KO:-}" ] || die "module '${WSR_KO:-}' not built"
install -m 0644 "$WSR_KO" "$STAGE/lib/modules/wsr.ko"

for s in ${SUITES:-} ${EXTRA_SUITES:-}; do
	bin=$SELFTEST_DIR/wsr_$s
	[ -x "$bin" ] || die "suite binary $bin missing"
	file "$bin" | grep -q 'statically linked' || die "$bin is not static"
	install -m 0755 "$bin" "$STAGE/selftests/"
done
for s in ${SUITES:-}; do
	echo "$s" >> "$STAGE/selftests/suites"
done
touch "$STAGE/selftests/suites"
install -m 0644 "$SELFTEST_DIR/settings" "$STAGE/selftests/settings"

for b in ${BINS:-}; do
	[ -x "$b" ] || die "tool $b missing"
	file -L "$b" | grep -Eq 'statically linked|shell script' ||
		die "$b is not static (the image has no libc)"
	install -m 0755 "$b" "$STAGE/usr/bin/"
done
for f in ${SHARE:-}; do
	install -m 0644 "$f" "$STAGE/usr/share/wsr/"
done

(cd "$STAGE" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet --owner=0:0) | gzip -1 > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
