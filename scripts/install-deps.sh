#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages a make target needs, only when missing.
# usage: scripts/install-deps.sh GROUP...   (groups below)
set -euo pipefail

declare -A GROUP=(
	[kernel]="build-essential bc flex bison libelf-dev libssl-dev cpio kmod linux-source-6.1 xz-utils rsync file"
	[vm]="qemu-system-x86 busybox-static e2fsprogs xfsprogs openssl python3 file cpio"
	[userspace]="build-essential clang llvm libclang-rt-14-dev zlib1g-dev libelf-dev libbpf-dev bpftool pkg-config libjansson-dev libsqlite3-dev liblz4-dev libzstd-dev man-db groff-base"
	[style]="perl python3 sparse"
	[bench]="python3 gnuplot-nox"
	[traces]="build-essential valgrind python3 zstd lz4"
)

want=()
for g in "$@"; do
	[ -n "${GROUP[$g]:-}" ] || { echo "install-deps: unknown group $g" >&2; exit 1; }
	for p in ${GROUP[$g]}; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			want+=("$p")
	done
done
[ ${#want[@]} = 0 ] && exit 0

echo "install-deps: installing ${want[*]}" >&2
[ "$(id -u)" = 0 ] || { echo "install-deps: need root to install ${want[*]}" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
