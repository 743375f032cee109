#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Record page-touch traces of real programs for the trace-replay guest
# payloads (userspace/vmm/guests/trace.c).  Run by hand on the host, not
# by make check; needs the "traces" packages (scripts/install-deps.sh).
#
# usage: scripts/capture-trace.sh [OUTDIR [WORKLOAD...]]
#        OUTDIR defaults to userspace/vmm/traces, WORKLOAD to py sqlite zlib
#
# Each workload (scripts/trace-workload.py) runs under Debian's
# /usr/bin/python3 with valgrind's lackey (--trace-mem=yes: every
# instruction fetch, load and store) and ASLR off: init once, then one
# invocation per input (1, 2, 3 recorded, 9 unseen), each in a child
# forked at the split.  scripts/trace-pages.c reduces the access stream to
# the pages init touched and, per input, the pages the invocation touched
# in first-touch order (marker pages at a fixed address separate them).
# A native run with --dump writes the pages resident at the split, whose
# lz4 and zstd ratios go into the trace header;
# scripts/trace-assemble.py then lays the pages out for the guest, picks
# the content generator's parameter that lands near the measured zstd
# ratio and writes OUTDIR/WORKLOAD.trace.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$TOP/userspace/vmm/traces}
shift || true
WORKLOADS=${*:-py sqlite zlib}
INPUTS="1 2 3 9"
PY=/usr/bin/python3
MARK=0x3a5a00000000	# trace-workload.py's MARK
WORK=$(mktemp -d /tmp/capture-trace.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

"$TOP/scripts/install-deps.sh" traces
mkdir -p "$OUT"
cc -O2 -Wall -o "$WORK/trace-pages" "$TOP/scripts/trace-pages.c"
cc -O2 -Wall -I"$TOP/userspace/vmm/guests" -o "$WORK/trace-gen" \
	"$TOP/scripts/trace-gen.c"

# Bytes in over bytes out of compressor command $1 on file $2.
ratio() {
	local raw
	raw=$(stat -c %s "$2")
	$1 -c "$2" | wc -c | awk -v r="$raw" '{ printf "%.2f", r / $1 }'
}

for w in $WORKLOADS; do
	echo "capture-trace: $w" >&2
	# lackey writes its trace to fd 9; the program's stdout has the
	# invocations' results.
	setarch "$(uname -m)" -R valgrind --tool=lackey --trace-mem=yes \
		--log-fd=9 "$PY" -I -S "$TOP/scripts/trace-workload.py" \
		"$w" $INPUTS 9>&1 >"$WORK/$w.result" 2>/dev/null |
		"$WORK/trace-pages" "$MARK" "$(echo $INPUTS | wc -w)" \
		>"$WORK/$w.pages"
	"$PY" -I -S "$TOP/scripts/trace-workload.py" "$w" --dump "$WORK/$w.mem"
	lz4r=$(ratio lz4 "$WORK/$w.mem")
	zstdr=$(ratio "zstd -3" "$WORK/$w.mem")
	"$PY" "$TOP/scripts/trace-assemble.py" --workload "$w" \
		--python "$("$PY" -c 'import sys; print(sys.version.split()[0])')" \
		--tool "$(valgrind --version) --tool=lackey --trace-mem=yes, setarch -R" \
		--real-mem "$(stat -c %s "$WORK/$w.mem")" \
		--real-lz4 "$lz4r" --real-zstd "$zstdr" \
		--gen "$WORK/trace-gen" --inputs "$INPUTS" \
		--pages "$WORK/$w.pages" >"$OUT/$w.trace"
	echo "capture-trace: wrote $OUT/$w.trace" >&2
done
