#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Generate a serverless invocation trace with the published shape of
Azure Functions (Shahrad et al., "Serverless in the Wild: Characterizing
and Optimizing the Serverless Workload at a Large Cloud Provider", USENIX
ATC 2020).  Nothing is downloaded: every distribution below is drawn from
the statistics that paper reports.

  popularity   invocations per minute per function, log-normal in log10
               space fitted to two points of the paper's Figure 5(a):
               45% of functions are invoked at most once per hour and 81%
               at most once per minute -> log10(rate/min) ~
               N(-1.555, 1.772).  Capped at --max-rate per minute (the
               hottest functions are never cold under any policy; the cap
               only bounds the trace's size).
  triggers     15.6% of functions are timers (Figure 3): periodic, fixed
               phase; the others arrive as a Poisson process whose rate
               follows the diurnal cycle of Figure 4 (+-50% around the
               mean, peak at 14:00) and, for 30% of them, bursts: a
               two-state Markov chain per minute, on 10% of the time
               (mean 10 minutes) at 5.5x the rate and off at 0.5x, so the
               mean rate is kept.
  memory       allocated memory per application, the Burr XII fit of
               Section 3.5 (c = 11.652, k = 0.221, lambda = 107.083 MB),
               clipped to [16, 1536] MB.
  working set  a uniform 5-30% of the memory (REAP, ASPLOS'21, reports
               working sets of a few to tens of MB for functions of
               hundreds of MB); the base the keep-alive policy keeps.
  duration     average execution time per function, the log-normal fit
               of Section 3.4 (mu = -0.38, sigma = 2.36, seconds); each
               invocation varies around it (log-normal, sigma 0.5);
               clipped to [1 ms, 600 s].

Output (stdout): comment lines, then "fn ID TRIGGER WS_KB MEM_MB AVG_MS"
per function, then "inv T_MS FN DUR_MS" per invocation in time order.
A summary of the trace's shape goes to stderr.
"""
import argparse
import math
import random
import sys

DAY_MS = 24 * 3600 * 1000


def poisson(rng, lam):
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def burr12(rng, c, k, lam):
    u = rng.random()
    return lam * ((1 - u) ** (-1 / k) - 1) ** (1 / c)


def diurnal(t_ms):
    # mean 1 over a day, +-50%, peak at 14:00
    return 1 + 0.5 * math.cos(2 * math.pi * (t_ms / DAY_MS - 14 / 24))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--functions', type=int, default=400)
    ap.add_argument('--hours', type=float, default=24)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--max-rate', type=float, default=30,
                    help='cap of invocations per minute per function')
    ap.add_argument('--ws-div', type=int, default=1,
                    help='divide working sets by this (the test VM run)')
    ap.add_argument('--ws-max-kb', type=int, default=0,
                    help='cap working sets at this many KiB (0: none)')
    a = ap.parse_args()
    if a.functions < 1 or a.hours <= 0 or a.max_rate <= 0 or a.ws_div < 1:
        ap.error('--functions, --hours, --max-rate, --ws-div must be > 0')
    rng = random.Random(a.seed)
    minutes = int(a.hours * 60)
    end_ms = minutes * 60000
    fns, invs = [], []
    for f in range(a.functions):
        rate = min(10 ** rng.gauss(-1.555, 1.772), a.max_rate)
        timer = rng.random() < 0.156
        bursty = not timer and rng.random() < 0.3
        mem = min(max(burr12(rng, 11.652, 0.221, 107.083), 16), 1536)
        ws_kb = int(mem * 1024 * rng.uniform(0.05, 0.30)) // a.ws_div
        if a.ws_max_kb:
            ws_kb = min(ws_kb, a.ws_max_kb)
        ws_kb = max(4, ws_kb // 4 * 4)
        avg_ms = min(max(math.exp(rng.gauss(-0.38, 2.36)) * 1000, 1), 600000)
        kind = 'timer' if timer else ('bursty' if bursty else 'poisson')
        fns.append((f, kind, ws_kb, mem, avg_ms, rate))

        def dur():
            d = avg_ms * math.exp(rng.gauss(-0.125, 0.5))
            return int(min(max(d, 1), 600000))

        if timer:
            period = 60000 / rate
            t = rng.uniform(0, period)
            while t < end_ms:
                invs.append((int(t), f, dur()))
                t += period
            continue
        on = False
        for m in range(minutes):
            if bursty:
                on = rng.random() < (0.9 if on else 0.1 / 0.9 * 0.1)
                mult = 5.5 if on else 0.5
            else:
                mult = 1.0
            n = poisson(rng, rate * diurnal(m * 60000) * mult)
            for _ in range(n):
                invs.append((m * 60000 + rng.randrange(60000), f, dur()))
    invs.sort()

    out = sys.stdout
    out.write('# wsr keep-alive trace: Azure Functions shape (Shahrad et al.,'
              ' ATC 2020)\n')
    out.write(f'# functions={a.functions} hours={a.hours} seed={a.seed}'
              f' max_rate={a.max_rate} ws_div={a.ws_div}'
              f' ws_max_kb={a.ws_max_kb}\n')
    for f, kind, ws_kb, mem, avg_ms, _ in fns:
        out.write(f'fn {f} {kind} {ws_kb} {mem:.0f} {avg_ms:.0f}\n')
    for t, f, d in invs:
        out.write(f'inv {t} {f} {d}\n')

    # The shape, to check against the paper.
    counts = [0] * a.functions
    for _, f, _ in invs:
        counts[f] += 1
    per_min = sorted(c / minutes for c in counts)
    n = a.functions
    hourly = sum(1 for r in per_min if r <= 1 / 60) / n
    minutely = sum(1 for r in per_min if r <= 1) / n
    top = sorted(counts, reverse=True)[:max(1, round(0.186 * n))]
    mems = sorted(x[3] for x in fns)
    wss = sum(x[2] for x in fns) / 1024
    print(f'gen-trace: {n} functions, {len(invs)} invocations in '
          f'{a.hours:g} h; invoked <= 1/hour: {hourly:.0%} (paper 45%), '
          f'<= 1/min: {minutely:.0%} (paper 81%); top 18.6% of functions: '
          f'{sum(top) / max(1, len(invs)):.1%} of invocations (paper 99.6%);'
          f' memory median {mems[n // 2]:.0f} MB, p90 '
          f'{mems[int(n * 0.9)]:.0f} MB; working sets {wss:.0f} MB in all',
          file=sys.stderr)


if __name__ == '__main__':
    main()
