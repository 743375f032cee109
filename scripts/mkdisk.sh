#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest data disk: an ext4 image (mke2fs -d) holding random-content
# snapshot files, attached to the test VM as virtio-blk so that tests read
# through a real block device and the guest page cache.  It also holds
# xfs.img, an empty XFS filesystem that tests loop-mount (XFS takes the
# inode lock for buffered reads, ext4 does not).
#
# usage: scripts/mkdisk.sh OUT.img [SIZE_MB]
# The image is rebuilt only when missing or older than this script; the
# runner works on a copy.
set -euo pipefail

OUT=$1
SIZE_MB=${2:-2048}
[ -f "$OUT" ] && [ "$OUT" -nt "$0" ] && exit 0
command -v mke2fs >/dev/null || { echo "mkdisk: mke2fs missing (e2fsprogs)" >&2; exit 1; }
command -v mkfs.xfs >/dev/null || { echo "mkdisk: mkfs.xfs missing (xfsprogs)" >&2; exit 1; }

STAGE=$(mktemp -d "${OUT}.stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
# Fixed seeds keep contents reproducible between machines and runs.
gen() {
	{ openssl enc -aes-128-ctr -nosalt -pass "pass:wsr-$1" -pbkdf2 \
		-in /dev/zero 2>/dev/null || true; } | head -c "$2" > "$STAGE/$1"
	[ "$(stat -c %s "$STAGE/$1")" = "$2" ] || { echo "mkdisk: cannot generate $1" >&2; exit 1; }
}
gen snap-64M $((64 << 20))
gen snap-256M $((256 << 20))
# XFS refuses filesystems under 300 MiB; most of it stays a hole.
truncate -s 320M "$STAGE/xfs.img"
mkfs.xfs -q -f -L wsrxfs "$STAGE/xfs.img"
truncate -s "${SIZE_MB}M" "$OUT.tmp"
mke2fs -q -F -t ext4 -d "$STAGE" -L wsrdata "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
