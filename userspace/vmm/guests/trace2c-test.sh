#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unit test (TAP) of guests/trace2c.awk: a small trace maps to the heap
# pages its cluster lines say, and malformed traces are refused.
set -u
AWK=$(dirname "$0")/trace2c.awk
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fail=0

ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}

# Process pages 0x100-0x103 are heap pages 0-3, 0x200-0x202 pages 10-12.
head='format 1
random 10
span 20
cluster 100 4 0
cluster 200 3 10'
good="$head
init 2 4
256:2 254:2
input 1 3
257w 255 1w
input 9 1
514"

echo "TAP version 13"
echo "1..6"
printf '%s\n' "$good" > "$T/good.trace"
awk -v name=t -f "$AWK" "$T/good.trace" > "$T/good.c" 2> "$T/err"
ok $? "a good trace converts"
tr -d ' \t\n' < "$T/good.c" > "$T/flat"
grep -q 'trace_t_runs\[\]\[2\]={{0,2},{10,2},};' "$T/flat"
ok $? "init runs map to heap pages 0-1 and 10-11"
grep -q 'trace_t_in1\[\]={3,20,23,};' "$T/flat" &&
	grep -q 'trace_t_in9\[\]={24,};' "$T/flat" &&
	grep -q '{1,3,trace_t_in1},{9,1,trace_t_in9}' "$T/flat"
ok $? "touched pages in order, page << 1 | stored"
printf '%s\n' "$head" 'init 1 1' '256:1' 'input 1 1' '600' > "$T/bad.trace"
! awk -v name=t -f "$AWK" "$T/bad.trace" > /dev/null 2>&1
ok $? "a page in no cluster is refused"
printf '%s\n' "$head" 'init 1 1' '256:1' 'input 1 2' '257' > "$T/bad.trace"
! awk -v name=t -f "$AWK" "$T/bad.trace" > /dev/null 2>&1
ok $? "a wrong page count is refused"
printf '%s\n' "$head" 'init 1 1' '256:8' 'input 1 1' '257' > "$T/bad.trace"
! awk -v name=t -f "$AWK" "$T/bad.trace" > /dev/null 2>&1
ok $? "an init run beyond its cluster is refused"
exit $fail
