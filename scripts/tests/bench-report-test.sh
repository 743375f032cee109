#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test of make bench's report (scripts/bench-report.py) on made-up
# runs: percentiles per cell, a recorded and an unseen input kept apart,
# x_file, the limit row from the recording and the measured sequential
# bandwidth, the concurrency summary, a wrong guest result failing the
# report, and the charts (SKIP without gnuplot).  TAP output.
set -u
REPORT=$(dirname "$0")/../bench-report.py
T=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
n=0 bad=0

ok() {	# ok COND-EXIT NAME
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		bad=1
	fi
}

# run LAT_US INPUT ROW REP [CACHE [OK [RUN_US]]]
run() {
	printf '{"model":"m","workload":"w","rep":%d,"row":"%s","payload":"w","backend":"%s","input":%d,"recorded":"1","cache":"%s","ok":%s,"latency_us":%s,"run_us":%s,"majflt":3,"minflt":4,"read_bytes":1048576,"read_ios":2,"read_twice":0,"mem_kb":2048,"private_kb":1024,"shared_kb":1024}\n' \
		"$4" "$3" "${3%%:*}" "$2" "${5:-cold}" "${6:-true}" "$1" "${7:-500}"
}

mkdir -p "$T/a"
{
	# file, input 1: 10..50 ms; input 9: 100 ms each
	for i in 1 2 3 4 5; do
		run $((i * 10000)) 1 file $i
		run 100000 9 file $i
		run $((i * 1000)) 1 wsr:U $i
		run 2000 1 file $i warm true 4000
	done
} > "$T/a/runs.jsonl"
echo '{"model":"m","datasheet":{"device":"d","seq_read_mb_s":100},"measured":{"seq1m":{"mb_s":100},"rand4k_qd1":{"iops":10,"p50_us":100},"rand4k_qdn":{"iops":20}}}' \
	> "$T/a/devices.jsonl"
# 2560 pages = 10 MiB at 100 MB/s = 104.86 ms, + 4 ms warm run
echo '{"model":"m","workload":"w","backend":"wsr","input":1,"wsr_tracked":2560}' \
	> "$T/a/recordings.jsonl"
{
	for rep in 1 2; do
		for nb in 1 4; do
			i=0
			while [ $i -lt $nb ]; do
				i=$((i + 1))
				printf '{"model":"m","workload":"w","rep":%d,"row":"wsr:U","n":%d,"cache":"batch","ok":true,"latency_us":%d,"private_kb":100,"shared_kb":%d}\n' \
					$rep $nb $((i * 1000)) $((nb * 10))
			done
			printf '{"model":"m","workload":"w","rep":%d,"row":"wsr:U","batch":true,"n":%d,"read_bytes":%d,"failed":0}\n' \
				$rep $nb $((nb * 1048576 / 2 + 1048576))
		done
	done
} > "$T/a/conc.jsonl"

out=$(/usr/bin/python3 "$REPORT" "$T/a" 2>&1)
ok $? "a clean run reports success"
line() { grep "^m,w,$1,$2,$3," "$T/a/summary.csv"; }
# runs, p10, median, p90 of 10,20,30,40,50 ms (nearest rank)
line cold 1 file | grep -q ',5,10.0,30.0,50.0,' ; ok $? "percentiles of one cell"
line cold 9 file | grep -q ',5,100.0,100.0,100.0,' ; ok $? "the unseen input is its own cell"
[ "$(grep -c '^m,w,cold,' "$T/a/summary.csv")" = 3 ] ; ok $? "three cold cells, none pooled"
# limit: 2560 * 4096 B / 100 MB/s = 104.858 ms + 4 ms warm file run
line cold 1 file | grep -q ',108.858,True$' ; ok $? "the limit row in summary.csv"
echo "$out" | grep -Eq '^wsr:U +3\.0 \(0\.10\)' ; ok $? "x_file in the overview"
echo "$out" | grep -Eq '^limit +108\.9 \(3\.63\)' ; ok $? "the limit in the overview"
echo "$out" | grep -Eq '^m +d +100 / +100 +- / +10 \( 100 us\) +- / +20$'
ok $? "the device check beside the datasheet"
# N=4: latencies 1..4 ms twice; reads 3 MiB vs 1.5 MiB at N=1;
# memory 4 x 100 + 40 KiB
grep -q '^m,w,wsr:U,4,1.0,2.0,4.0,4.0,3.0,2.0,0.4296875,0,8$' "$T/a/conc.csv"
ok $? "concurrency: percentiles, x_N1, memory of all instances"
if command -v gnuplot > /dev/null; then
	[ -s "$T/a/latency-m-cold-in1.png" ] && [ -s "$T/a/concurrency-m.png" ]
	ok $? "charts written"
else
	n=$((n + 1))
	echo "ok $n - charts written # SKIP no gnuplot"
fi

mkdir -p "$T/b"
{ cat "$T/a/runs.jsonl"; run 1000 1 wsr:U 6 cold false; } > "$T/b/runs.jsonl"
/usr/bin/python3 "$REPORT" "$T/b" > "$T/b/out" 2>&1
[ $? = 1 ] && grep -q "1 with a wrong guest result" "$T/b/out"
ok $? "a wrong guest result fails the report"
grep -Eq '^wsr:U .* BAD$' "$T/b/tables.txt" ; ok $? "and marks its row"

# rows of one's own (BENCH_ROWS), no file row: tables all the same
mkdir -p "$T/c"
grep '"row":"wsr:U"' "$T/a/runs.jsonl" > "$T/c/runs.jsonl"
/usr/bin/python3 "$REPORT" "$T/c" > "$T/c/out" 2>&1 &&
	grep -Eq '^wsr:U +3\.0 +$' "$T/c/out"
ok $? "a run without the file row"

echo "1..$n"
exit $bad
