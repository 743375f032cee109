#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench-keepalive: the keep-alive policies on invocation traces of the
# Azure Functions shape (gen-trace.py), through wsr-kasim, the userspace
# port of module/wsr_keepalive.c.
#
# usage: bench-keepalive.sh OUTDIR [SEEDS]
#   SEEDS (default "1 2 3"): one 24-hour trace of 400 functions each.
# For each trace: TTL (10 min) with no budget (what providers run), then
# GDSF, LRU and TTL (10 min) under base budgets of 1, 2 and 4 GiB and under
# the average memory TTL with no budget used ("equal memory").  Writes
# OUTDIR/results.jsonl (one line per run), OUTDIR/results.txt (the tables,
# also printed) and OUTDIR/keepalive.png.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$1
SEEDS=${2:-1 2 3}
SIM=$HERE/wsr-kasim
BUDGETS="1024 2048 4096"
mkdir -p "$OUT"
: > "$OUT/results.jsonl"
: > "$OUT/sensitivity.jsonl"

for seed in $SEEDS; do
	trace=$OUT/trace-$seed.txt
	"$HERE/gen-trace.py" --functions 400 --hours 24 --seed "$seed" \
		> "$trace" 2> "$OUT/trace-$seed.shape"
	sed 's/^/  /' "$OUT/trace-$seed.shape"
	ref=$("$SIM" trace "$trace" --policy ttl --budget-mb 0 --ttl-s 600)
	echo "{\"seed\":$seed,\"run\":\"ttl-unlimited\",${ref#\{}" >> "$OUT/results.jsonl"
	equal=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["mem_avg_mb"]))' "$ref")
	for b in $BUDGETS $equal; do
		run=budget
		[ "$b" = "$equal" ] && run=equal
		for p in gdsf lru ttl; do
			r=$("$SIM" trace "$trace" --policy $p --budget-mb "$b" --ttl-s 600)
			echo "{\"seed\":$seed,\"run\":\"$run\",${r#\{}" >> "$OUT/results.jsonl"
		done
	done
	# Sensitivity (first trace): a fixed cold cost of 500 ms instead of
	# 20 ms (a restore dominated by VMM and guest set-up, not by reads).
	if [ "$seed" = "${SEEDS%% *}" ]; then
		r=$("$SIM" trace "$trace" --policy ttl --budget-mb 0 --cold-ms 500)
		echo "$r" >> "$OUT/sensitivity.jsonl"
		eq=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["mem_avg_mb"]))' "$r")
		for p in gdsf lru; do
			"$SIM" trace "$trace" --policy $p --budget-mb "$eq" --cold-ms 500 \
				>> "$OUT/sensitivity.jsonl"
		done
	fi
	rm -f "$trace"
done

python3 - "$OUT" <<'EOF'
import collections
import json
import sys

out = sys.argv[1]
rows = [json.loads(l) for l in open(f'{out}/results.jsonl')]
seeds = sorted({r['seed'] for r in rows})
key = lambda r: (r['run'], r['budget_mb'] if r['run'] == 'budget' else 0,
                 r['policy'])
groups = collections.OrderedDict()
for r in sorted(rows, key=lambda r: (r['run'] != 'budget', key(r))):
    groups.setdefault(key(r), []).append(r)

def mean(rs, f):
    return sum(r[f] for r in rs) / len(rs)

lines = []
p = lines.append
p(f'Keep-alive policies, wsr-kasim on {len(seeds)} traces (seeds '
  f'{" ".join(map(str, seeds))}; 400 functions, 24 h, Azure Functions shape');
p('of Shahrad et al. ATC\'20), means over the traces.  Cold restore: 20 ms +')
p('working set at 400 MB/s; warm restore: 1 ms + 0.25 us a page.  TTL = 10 min.')
p('cold%: cold starts per invocation; cold s: summed cold-restore time (the')
p('cold-start overhead); restore s: all restores; mem: time-averaged and peak')
p('resident bases (MB, in-use bases included, which no budget can drop).')
p('')
p(f'{"budget":>14} {"policy":>6} {"cold%":>8} {"cold starts":>11} '
  f'{"cold s":>8} {"restore s":>9} {"mem avg":>8} {"mem peak":>8}')
for (run, budget, pol), rs in groups.items():
    if run == 'budget':
        b = f'{budget} MB'
    elif run == 'equal':
        b = f'equal ({mean(rs, "budget_mb"):.0f})'
    else:
        b = 'none'
    p(f'{b:>14} {pol:>6} {100 * mean(rs, "cold_ratio"):8.3f} '
      f'{mean(rs, "cold"):11.0f} {mean(rs, "cold_s"):8.0f} '
      f'{mean(rs, "restore_s"):9.0f} {mean(rs, "mem_avg_mb"):8.0f} '
      f'{mean(rs, "mem_peak_mb"):8.0f}')
p('')
p('Per trace, cold-start ratio (%) and cold-start overhead (s):')
for seed in seeds:
    parts = []
    for (run, budget, pol), rs in groups.items():
        r = [x for x in rs if x['seed'] == seed][0]
        tag = f'{budget}' if run == 'budget' else run
        parts.append(f'{pol}@{tag} {100 * r["cold_ratio"]:.3f} '
                     f'{r["cold_s"]:.0f}')
    p(f'  seed {seed}: ' + '; '.join(parts))
p('')
ref = groups[('ttl-unlimited', 0, 'ttl')]
for (run, budget, pol), rs in groups.items():
    if run == 'equal' and pol == 'gdsf':
        p(f'At equal memory (GDSF budget = TTL-without-budget average, '
          f'{mean(rs, "budget_mb"):.0f} MB): cold starts TTL/GDSF = '
          f'{mean(ref, "cold") / max(1, mean(rs, "cold")):.2f}x, cold-start '
          f'overhead TTL/GDSF = '
          f'{mean(ref, "cold_s") / max(1e-9, mean(rs, "cold_s")):.2f}x.')
sens = [json.loads(l) for l in open(f'{out}/sensitivity.jsonl')]
if sens:
    p('')
    p(f'Sensitivity, trace seed {seeds[0]}, cold restore 500 ms + working set '
      f'at 400 MB/s, at TTL\'s memory ({sens[0]["mem_avg_mb"]:.0f} MB):')
    for r in sens:
        p(f'  {r["policy"]:>4} budget {r["budget_mb"]:>5.0f} MB: cold '
          f'{100 * r["cold_ratio"]:.3f}%, cold-start overhead '
          f'{r["cold_s"]:.0f} s, mem avg {r["mem_avg_mb"]:.0f} MB')
open(f'{out}/results.txt', 'w').write('\n'.join(lines) + '\n')
print('\n'.join(lines))

# gnuplot data: budget, cold% and cold s per policy (budget runs).
with open(f'{out}/plot.dat', 'w') as f:
    f.write('# budget_mb gdsf_cold% lru_cold% ttl_cold% gdsf_s lru_s ttl_s\n')
    pts = [(b, 'budget', b) for b in {k[1] for k in groups
                                       if k[0] == 'budget'}]
    if ('equal', 0, 'gdsf') in groups:
        pts.append((mean(groups[('equal', 0, 'gdsf')], 'budget_mb'),
                    'equal', 0))
    for x, run, b in sorted(pts):
        g = [groups[(run, b, pol)] for pol in ('gdsf', 'lru', 'ttl')]
        f.write(f'{x:.0f} ' + ' '.join(f'{100 * mean(x, "cold_ratio"):.4f}'
                                   for x in g) + ' ' +
                ' '.join(f'{mean(x, "cold_s"):.1f}' for x in g) + '\n')
    f.write('\n\n# ttl without budget: mem_avg_mb cold% cold_s\n')
    f.write(f'{mean(ref, "mem_avg_mb"):.0f} '
            f'{100 * mean(ref, "cold_ratio"):.4f} {mean(ref, "cold_s"):.1f}\n')
EOF

gnuplot <<EOF
set terminal pngcairo size 1200,480 font ",10"
set output "$OUT/keepalive.png"
set multiplot layout 1,2 title "wsr keep-alive, Azure-shaped traces (wsr-kasim, mean of seeds $SEEDS)"
set xlabel "base budget (MB)"
set logscale x 2
set logscale y
set grid
set key top right
set ylabel "cold starts (% of invocations)"
plot "$OUT/plot.dat" index 0 using 1:2 with linespoints lw 2 title "GDSF", \
     "" index 0 using 1:3 with linespoints lw 2 title "LRU", \
     "" index 0 using 1:4 with linespoints lw 2 dt 2 title "TTL 10 min", \
     "" index 1 using 1:2 with points pt 7 ps 1.5 title "TTL 10 min, no budget (x = its mean memory)"
set ylabel "cold-start overhead (s of cold restores)"
plot "$OUT/plot.dat" index 0 using 1:5 with linespoints lw 2 title "GDSF", \
     "" index 0 using 1:6 with linespoints lw 2 title "LRU", \
     "" index 0 using 1:7 with linespoints lw 2 dt 2 title "TTL 10 min", \
     "" index 1 using 1:3 with points pt 7 ps 1.5 title "TTL 10 min, no budget (x = its mean memory)"
unset multiplot
EOF
echo "bench-keepalive: $OUT/results.txt, $OUT/keepalive.png"
