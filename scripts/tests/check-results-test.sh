#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test of the run judge (scripts/check-results.py): a clean log passes;
# a failing test, a crashed suite, a missing suite, a KASAN/lockdep/WARNING
# report, a kmemleak report and an unfinished run each fail it.  TAP output.
set -u
JUDGE=$(dirname "$0")/../check-results.py
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 bad=0

log() {	# log FILE SUITE-BODY DMESG-LINE KMEMLEAK-LINE DONE
	{
		echo "WSR-BOOT-OK 6.1 cpus=2"
		echo "WSR-SUITE-BEGIN a"
		printf '%b\n' "$2"
		echo "WSR-SUITE-END a rc=${6:-0}"
		echo "WSR-DMESG-BEGIN a"
		[ -n "$3" ] && echo "$3"
		echo "WSR-DMESG-END a"
		echo "WSR-KMEMLEAK-BEGIN"
		[ -n "$4" ] && echo "$4"
		echo "WSR-KMEMLEAK-END"
		[ "$5" = done ] && echo "WSR-DONE"
	} > "$1"
}

expect() {	# expect NAME WANT-EXIT WANT-SUMMARY ARGS...
	local name=$1 want=$2 summary=$3 out rc
	shift 3
	out=$("$JUDGE" "$@" 2>&1)
	rc=$?
	n=$((n + 1))
	if [ "$rc" = "$want" ] && [ "$(echo "$out" | tail -1)" = "$summary" ]; then
		echo "ok $n - judge: $name"
	else
		echo "not ok $n - judge: $name (exit $rc, last line: $(echo "$out" | tail -1))"
		bad=1
	fi
}

OK='ok 1 x.one\nok 2 # SKIP no device\nok 3 x.three'
log "$T/clean" "$OK" "" "" done
expect "clean run passes" 0 "2 passed, 0 failed, 1 skipped" --log "$T/clean" --suites a
log "$T/fail" 'ok 1 x.one\nnot ok 2 x.two' "" "" done 1
expect "failing test" 1 "1 passed, 1 failed, 0 skipped" --log "$T/fail" --suites a
log "$T/crash" 'ok 1 x.one' "" "" done 139
expect "suite killed after passing tests" 1 "1 passed, 1 failed, 0 skipped" --log "$T/crash" --suites a
expect "expected suite missing" 1 "2 passed, 1 failed, 1 skipped" --log "$T/clean" --suites "a b"
for report in "BUG: KASAN: slab-out-of-bounds in f+0x1" \
	"WARNING: possible circular locking dependency detected" \
	"WARNING: CPU: 0 PID: 1 at mm/x.c:1 f+0x1" \
	"kernel BUG at mm/filemap.c:1!"; do
	log "$T/report" "$OK" "[ 1.0] $report" "" done
	expect "dmesg: $report" 1 "2 passed, 1 failed, 1 skipped" --log "$T/report" --suites a
done
log "$T/leak" "$OK" "" "unreferenced object 0xffff888 (size 64):" done
expect "kmemleak report" 1 "2 passed, 1 failed, 1 skipped" --log "$T/leak" --suites a
log "$T/hang" "$OK" "" "" no
expect "run did not finish" 1 "2 passed, 1 failed, 1 skipped" --log "$T/hang" --suites a
printf 'ok 1 - a\nnot ok 2 - b\n' > "$T/host.tap"
expect "host TAP counted" 1 "3 passed, 1 failed, 1 skipped" --log "$T/clean" --suites a --host-tap "$T/host.tap"
: > "$T/empty.tap"
expect "empty host TAP fails" 1 "2 passed, 1 failed, 1 skipped" --log "$T/clean" --suites a --host-tap "$T/empty.tap"
echo "1..$n"
exit $bad
