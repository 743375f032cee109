# SPDX-License-Identifier: GPL-2.0
"""Write one page-touch trace (format 1, read by guests/trace2c.awk).

Called by capture-trace.sh with the trace-pages outputs PAGES-N.pages of
each input N.  The layout rule: every process page that init or any
invocation touched, sorted; split into clusters where two touched pages
are more than GAP pages apart; the clusters placed back to back in the
guest heap in address order, offsets inside a cluster kept (so pages
adjacent in the process are adjacent in the guest, and a gap of up to
GAP pages stays a gap of untouched, zero pages).
"""
import argparse
import datetime
import subprocess
import sys

GAP = 256		# pages (1 MiB)
HEAP_PAGES = (64 << 20) - (2 << 20) >> 12	# 64 MiB guest, heap at 2 MiB


def read_pages(path, inputs):
    """trace-pages output: the init set, {input: [(page, stored)]}."""
    init, runs, cur = [], {}, None
    for line in open(path):
        f = line.split()
        if f[0] == "init":
            cur = init
        elif f[0] == "run":
            cur = runs.setdefault(inputs[int(f[1])], [])
        elif cur is init:
            init.append(int(f[0], 16))
        else:
            cur.append((int(f[0], 16), len(f) > 1))
    return init, runs


def clusters(pages):
    out = []
    for p in sorted(pages):
        if out and p - (out[-1][0] + out[-1][1] - 1) <= GAP:
            out[-1][1] = p - out[-1][0] + 1
        else:
            out.append([p, 1])
    return out


def runs(pages):
    out = []
    for p in sorted(pages):
        if out and out[-1][0] + out[-1][1] == p:
            out[-1][1] += 1
        else:
            out.append([p, 1])
    return out


def ratio(gen, random, pages, compressor):
    raw = subprocess.run([gen, str(random), str(pages)], check=True,
                         stdout=subprocess.PIPE).stdout
    comp = subprocess.run(compressor, input=raw, check=True,
                          stdout=subprocess.PIPE).stdout
    return len(raw) / len(comp)


def calibrate(gen, pages, want):
    """The random-word parameter whose zstd ratio is nearest @want."""
    lo, hi = 1, 255
    while lo < hi:
        mid = (lo + hi) // 2
        if ratio(gen, mid, pages, ["zstd", "-3", "-c"]) > want:
            lo = mid + 1
        else:
            hi = mid
    return lo


def tokens_init(init):
    out, prev = [], 0
    for start, n in runs(init):
        out.append("%d:%d" % (start - prev, n))
        prev = start + n
    return out


def tokens_run(run):
    out, prev = [], 0
    for page, stored in run:
        out.append("%d%s" % (page - prev, "w" if stored else ""))
        prev = page
    return out


def lines(tokens, per=12):
    return [" ".join(tokens[i:i + per]) for i in range(0, len(tokens), per)]


def main():
    ap = argparse.ArgumentParser()
    for opt in ("workload", "python", "tool", "real-mem", "real-lz4",
                "real-zstd", "gen", "inputs", "pages"):
        ap.add_argument("--" + opt, required=True)
    a = ap.parse_args()
    inputs = [int(n) for n in a.inputs.split()]
    init, data = read_pages(a.pages, inputs)
    touched = set(init)
    for n in inputs:
        touched |= {p for p, _ in data[n]}
    cl = clusters(touched)
    span = sum(n for _, n in cl)
    if span > HEAP_PAGES:
        sys.exit("trace-assemble: layout spans %d pages, more than a 64 MiB"
                 " guest's heap" % span)
    rnd = calibrate(a.gen, len(init), float(a.real_zstd))
    gen_lz4 = ratio(a.gen, rnd, len(init), ["lz4", "-c"])
    gen_zstd = ratio(a.gen, rnd, len(init), ["zstd", "-3", "-c"])

    out = ["# wsr page-touch trace of a real program (scripts/capture-trace.sh)",
           "# program: /usr/bin/python3 %s, scripts/trace-workload.py %s"
           % (a.python, a.workload),
           "# command: /usr/bin/python3 -I -S scripts/trace-workload.py %s N"
           % a.workload,
           "# captured: %s" % datetime.datetime.utcnow().strftime(
               "%Y-%m-%dT%H:%MZ"),
           "# tool: %s" % a.tool,
           "# split: first access to the marker page 0x3a5a00000000;"
           " init = pages touched before it,",
           "#   input N = pages the invocation touched after it, first-touch"
           " order (init pages included)",
           "#   (init traced once; each invocation in a child forked at the"
           " split)",
           "# pages: init %d" % len(init)]
    for n in inputs:
        r = data[n]
        out.append("#   input %d: %d touched, %d stored, %d not init-touched"
                   % (n, len(r), sum(1 for _, s in r if s),
                      sum(1 for p, _ in r if p not in set(init))))
    out += ["# layout: touched pages clustered at gaps > %d pages, clusters"
            " back to back from heap page 0," % GAP,
            "#   offsets inside a cluster kept: %d clusters, %d pages (%.1f MiB)"
            % (len(cl), span, span / 256.0),
            "# compressibility (bytes in / out) of the process's resident"
            " pages at the split",
            "#   (native run, /proc/self/pagemap + /proc/self/mem, %s bytes):"
            % a.real_mem,
            "#   real: lz4 %s zstd-3 %s; generator (random %d): lz4 %.2f"
            " zstd-3 %.2f" % (a.real_lz4, a.real_zstd, rnd, gen_lz4, gen_zstd),
            "format 1", "random %d" % rnd, "span %d" % span]
    g = 0
    for start, n in cl:
        out.append("cluster %x %d %d" % (start, n, g))
        g += n
    out.append("init %d %d" % (len(runs(init)), len(init)))
    out += lines(tokens_init(init), 8)
    for n in inputs:
        out.append("input %d %d" % (n, len(data[n])))
        out += lines(tokens_run(data[n]))
    print("\n".join(out))


main()
