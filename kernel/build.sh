#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build wsr's test kernel from Debian's linux-source-6.1 into a cache
# directory keyed by source version + config fragments + mm-patches, so an
# unchanged tree is never rebuilt.
#
# usage: kernel/build.sh [debug|perf]     (default: debug)
# env:   WSR_CACHE   cache root (default ~/.cache/wsr)
#        WSR_PATCHES 1 applies mm-patches/series (default), 0 builds unpatched
#        JOBS        parallel make jobs (default: nproc)
#        WSR_KEY_ONLY=1  print the build directory and exit
# Prints the build directory (KDIR) on its last line of stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLAVOUR=${1:-debug}
CACHE=${WSR_CACHE:-$HOME/.cache/wsr}
PATCHES=${WSR_PATCHES:-1}
JOBS=${JOBS:-$(nproc)}
TARBALL=/usr/src/linux-source-6.1.tar.xz
START=$SECONDS

log() { printf '[kernel %s +%ds] %s\n' "$FLAVOUR" $((SECONDS - START)) "$*" >&2; }
die() { printf 'kernel/build.sh: %s\n' "$*" >&2; exit 1; }

case $FLAVOUR in
debug) FRAGS="base kvm bpf debug" ;;
perf)  FRAGS="base kvm bpf" ;;
*) die "unknown flavour '$FLAVOUR' (want debug or perf)" ;;
esac
FRAG_FILES=()
for f in $FRAGS; do FRAG_FILES+=("$ROOT/kernel/config/$f.config"); done
FRAG_FILES+=("$ROOT/selftests/config")

[ -r "$TARBALL" ] || die "$TARBALL missing (apt-get install linux-source-6.1)"
SRC_VERSION=$(dpkg-query -W -f='${Version}' linux-source-6.1)

PATCH_FILES=()
if [ "$PATCHES" = 1 ]; then
	while read -r p; do
		p=${p%%#*}; p=$(echo "$p" | xargs)
		[ -n "$p" ] || continue
		[ -r "$ROOT/mm-patches/$p" ] || die "mm-patches/series names missing patch $p"
		PATCH_FILES+=("$ROOT/mm-patches/$p")
	done < "$ROOT/mm-patches/series"
fi

# Patched sources are shared by flavours; builds are per flavour.
SRC_KEY=$( { echo "$SRC_VERSION"; for p in "${PATCH_FILES[@]}"; do
	basename "$p"; cat "$p"; done; } | sha256sum | cut -c1-16)
BUILD_KEY=$( { echo "$SRC_KEY"; echo "$FLAVOUR";
	cat "${FRAG_FILES[@]}"; } | sha256sum | cut -c1-16)
SRC=$CACHE/src-$SRC_KEY
OUT=$CACHE/kernel-$FLAVOUR-$BUILD_KEY
mkdir -p "$CACHE"

if [ -f "$OUT/.wsr-done" ]; then
	log "cached: $OUT"
	echo "$OUT"
	exit 0
fi

[ "${WSR_KEY_ONLY:-0}" = 1 ] && { echo "$OUT"; exit 0; }

# Serialise concurrent builds of the same cache; whoever held the lock may
# have built this very tree meanwhile.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
	log "waiting for another kernel build in $CACHE"
	flock 9
fi
if [ -f "$OUT/.wsr-done" ]; then
	log "cached: $OUT"
	echo "$OUT"
	exit 0
fi
# Another run may have built this tree while we waited for the lock.
if [ -f "$OUT/.wsr-done" ]; then
	log "cached: $OUT"
	echo "$OUT"
	exit 0
fi

if [ ! -f "$SRC/.wsr-done" ]; then
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	log "unpacking $TARBALL ($SRC_VERSION)"
	tar -xf "$TARBALL" -C "$SRC.tmp" --strip-components=1
	for p in "${PATCH_FILES[@]}"; do
		log "applying $(basename "$p")"
		patch -d "$SRC.tmp" -p1 --forward --batch --quiet < "$p" ||
			die "patch $(basename "$p") does not apply to linux-source $SRC_VERSION"
	done
	touch "$SRC.tmp/.wsr-done"
	mv "$SRC.tmp" "$SRC"
fi

rm -rf "$OUT"
mkdir -p "$OUT"
MAKE=(make -C "$SRC" O="$OUT" ARCH=x86_64 -s)

log "configuring: tinyconfig + $FRAGS + selftests/config"
"${MAKE[@]}" tinyconfig >/dev/null
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" \
	"${FRAG_FILES[@]}" >"$OUT/merge.log" 2>&1
"${MAKE[@]}" olddefconfig >/dev/null

# Kconfig drops options whose dependencies are unmet without a word (KASAN
# without SLUB, for one): every requested value must be in the result.
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" "$OUT/.config" || {
			echo "  requested $line, got: $(grep -E "^(# )?${line%%=*}[= ]" "$OUT/.config" || echo unset)" >&2
			missing=1; } ;;
	esac
done < <(cat "${FRAG_FILES[@]}")
[ $missing = 0 ] || die "config fragments not satisfied (see above)"

build() {
	local what=$1; shift
	log "make $what (log: $OUT/build.log)"
	"${MAKE[@]}" -j"$JOBS" "$@" >>"$OUT/build.log" 2>&1 &
	local pid=$! t=0
	while kill -0 $pid 2>/dev/null; do
		sleep 5; t=$((t + 5))
		[ $((t % 60)) = 0 ] && log "  $what: $(find "$OUT" -name '*.o' | wc -l) objects built"
	done
	wait $pid || { tail -40 "$OUT/build.log" >&2; die "make $what failed"; }
}
build "bzImage modules" bzImage modules
build modules_prepare modules_prepare
build headers_install headers_install INSTALL_HDR_PATH="$OUT/usr"

touch "$OUT/.wsr-done"
log "done: $OUT/arch/x86/boot/bzImage"
echo "$OUT"
