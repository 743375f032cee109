#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the stock-QEMU disk of the test VM: Debian's qemu-system-x86_64
# with every shared library it loads (the test image has no libc), its
# firmware, and a Linux microVM guest: the test kernel's own bzImage and
# an initramfs whose /init is fn-sqlite.  The VM mounts it read-only at
# /opt/microvm (scripts/guest-init.sh).
#
# usage: scripts/mkmicrovm.sh OUT.img GUEST-BZIMAGE FN-SQLITE
set -euo pipefail

OUT=$1 BZIMAGE=$2 FN=$3
QEMU=/usr/bin/qemu-system-x86_64
die() { echo "mkmicrovm: $*" >&2; exit 1; }
[ -x "$QEMU" ] || die "$QEMU missing (apt-get install qemu-system-x86)"
[ -r "$BZIMAGE" ] || die "guest kernel $BZIMAGE missing"
file -L "$FN" | grep -q 'statically linked' || die "$FN is not a static program"
command -v mke2fs >/dev/null || die "mke2fs missing (e2fsprogs)"
# Up to date when newer than everything it is made of.
if [ -f "$OUT" ]; then
	stale=0
	for f in "$0" "$BZIMAGE" "$FN" "$QEMU"; do
		[ "$OUT" -nt "$f" ] || stale=1
	done
	[ $stale = 0 ] && exit 0
fi

STAGE=$(mktemp -d "${OUT}.stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
chmod 0755 "$STAGE"
mkdir -p "$STAGE"/{bin,lib,share,guest/dev,guest/proc}

install -m 0755 "$QEMU" "$STAGE/bin/"
# ldd lists the loader by its absolute path, the others after "=>".
ldd "$QEMU" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	while read -r lib; do install -m 0755 "$(readlink -f "$lib")" "$STAGE/lib/$(basename "$lib")"; done
[ -e "$STAGE/lib/ld-linux-x86-64.so.2" ] || die "no dynamic loader in ldd's list"
# The firmware microvm boots with and the option ROMs -kernel uses.
for f in bios-microvm.bin qboot.rom linuxboot_dma.bin linuxboot.bin pvh.bin \
	multiboot_dma.bin kvmvapic.bin; do
	[ -e "/usr/share/qemu/$f" ] && install -m 0644 "/usr/share/qemu/$f" "$STAGE/share/"
done
[ -e "$STAGE/share/bios-microvm.bin" ] || die "QEMU's bios-microvm.bin missing"
cat > "$STAGE/qemu" <<'WRAP'
#!/bin/sh
# Debian's qemu-system-x86_64 with the libraries and firmware staged here.
d=$(dirname "$0")
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" \
	"$d/bin/qemu-system-x86_64" -L "$d/share" "$@"
WRAP
chmod 0755 "$STAGE/qemu"

install -m 0644 "$BZIMAGE" "$STAGE/bzImage"
install -m 0755 "$FN" "$STAGE/fn-sqlite"
install -m 0755 "$FN" "$STAGE/guest/init"
(cd "$STAGE/guest" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet --owner=0:0) | gzip -1 > "$STAGE/fn.cpio.gz"
rm -rf "$STAGE/guest"

size_mb=$(( $(du -sm "$STAGE" | cut -f1) + 32 ))
truncate -s "${size_mb}M" "$OUT.tmp"
mke2fs -q -F -t ext4 -d "$STAGE" -L wsrmicrovm "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
