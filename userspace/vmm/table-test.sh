#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host test (TAP) of "wsr-vmm table": rows are keyed by backend, recorded
# inputs and measured input, never averaged across them; a wrong result
# fails the table.
set -u
VMM=${1:-./wsr-vmm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
check() {	# check DESCRIPTION COMMAND...
	n=$((n + 1))
	d=$1
	shift
	if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; bad=1; fi
}
line() {	# line BACKEND RECORDED INPUT LATENCY_US OK
	printf '{"payload":"kv","backend":"%s","input":%s,"recorded":"%s","cache":"cold","ok":%s,"latency_us":%s,"majflt":1,"minflt":2,"read_bytes":1048576,"read_ios":1,"read_twice":%s,"mem_kb":1024}\n' \
		"$1" "$3" "$2" "$5" "$4" "${6:-0}"
}
echo "TAP version 13"
echo "1..8"
{
	line wsr 1 1 1000 true
	line wsr 1+2+3 1 500 true
	line wsr 1 9 3000 true
	line wsr 1+2+3 9 2000 true
	line reap 1 9 6000 true 7
	line reap 1 9 8000 true 9
	echo "not json"
} > "$tmp/ok.jsonl"
"$VMM" table "$tmp/ok.jsonl" > "$tmp/out"
check "table exits 0" [ $? = 0 ]
check "one table per measured input" \
	[ "$(grep -c '^kv, input [19], cold' "$tmp/out")" = 2 ]
# input 9's table: reap (2 runs) 7 ms mean, 8 twice, x_wsr1 7/3, x_wsrU 7/2
check "runs of one key averaged, twice averaged, ratios per recording" \
	grep -q '^reap  *1  *no  *7.00 .* 8  *1.0  *2.33  *3.50 ok$' "$tmp/out"
check "single and union recordings are separate rows" \
	[ "$(grep -c '^wsr ' "$tmp/out")" = 4 ]
check "input 1 recorded (seen yes), 2 ms vs 0.5 ms not averaged" \
	grep -q '^wsr  *1+2+3  *yes  *0.50 ' "$tmp/out"
check "input 9 unseen (seen no)" grep -q '^wsr  *1+2+3  *no  *2.00 ' "$tmp/out"
{ cat "$tmp/ok.jsonl"; line file - 1 100 false; } > "$tmp/bad.jsonl"
"$VMM" table "$tmp/bad.jsonl" > "$tmp/out"
check "a wrong result fails the table" [ $? = 1 ]
check "and is named" grep -q 'runs gave a WRONG RESULT' "$tmp/out"
exit $bad
