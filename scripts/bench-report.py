#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""bench-report.py DIR - tables, CSV files and charts of a wsr-bench run.

Reads what make bench copied out of the test VM into DIR: runs.jsonl (one
line per restore), conc.jsonl (batches of concurrent restores),
devices.jsonl (each device model's parameters and measured check),
recordings.jsonl (the recordings, for the limit row) and zsnap.jsonl (the
compressed copies).  Writes DIR/runs.csv, DIR/summary.csv, DIR/conc.csv,
DIR/tables.txt (every table) and DIR/*.png (gnuplot), and prints the
device checks, the summary tables and the paths.

Statistics are over the repeats of one cell (model, workload, cache,
measured input, row): median, p10, p90 (nearest rank); a recorded and an
unseen input are never pooled.  The limit row of a model is the measured
input's own working set (its wsr recording) read at the model's measured
sequential bandwidth, plus the guest's own run time (the median run_us of
the warm eager row: all memory present, no fault; else warm file).
"""
import csv
import json
import math
import os
import statistics
import subprocess
import sys
from collections import defaultdict

CHART_ROWS = ["file", "eager", "reap:U", "faasnap:U", "wsr:U", "wsr-async:U",
              "file@base-async:U", "wsr-zstd:U"]
RUN_FIELDS = ["model", "workload", "rep", "row", "backend", "recorded",
              "input", "cache", "ok", "latency_us", "setup_us", "run_us",
              "majflt", "minflt", "read_bytes", "read_ios", "read_twice",
              "mem_kb", "private_kb", "shared_kb", "wsr_bytes_read",
              "wsr_decompress_us", "wsr_chunks_decompressed"]


def pct(vals, p):
    """Nearest-rank percentile."""
    s = sorted(vals)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def load(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                sys.stderr.write("bench-report: %s:%d: not JSON, skipped\n"
                                 % (path, n))
    return out


def order_of(rows_seen):
    """Rows in the order wsr-bench lists them (first appearance)."""
    seen = []
    for r in rows_seen:
        if r not in seen:
            seen.append(r)
    return seen


class Report:
    def __init__(self, d):
        self.d = d
        self.runs = load(os.path.join(d, "runs.jsonl"))
        self.conc = load(os.path.join(d, "conc.jsonl"))
        self.devices = load(os.path.join(d, "devices.jsonl"))
        self.recs = load(os.path.join(d, "recordings.jsonl"))
        self.zsnap = load(os.path.join(d, "zsnap.jsonl"))
        self.out = []
        self.cells = defaultdict(list)
        for r in self.runs:
            key = (r["model"], r["workload"], r["cache"], r["input"],
                   r["row"])
            self.cells[key].append(r)
        self.models = order_of(r["model"] for r in self.runs)
        self.workloads = order_of(r["workload"] for r in self.runs)
        self.rows = order_of(r["row"] for r in sorted(
            self.runs, key=lambda r: ROW_ORDER.get(r["row"], 99)))
        self.inputs = sorted({r["input"] for r in self.runs})

    def emit(self, line=""):
        self.out.append(line)

    # --- device models ----------------------------------------------------
    def check_of(self, model):
        """wsr-devmodel check's line: the datasheet and the measured."""
        for d in self.devices:
            if d.get("model") == model and "measured" in d:
                return d
        return None

    def seq_mbps(self, model):
        d = self.check_of(model)
        try:
            return d["measured"]["seq1m"]["mb_s"]
        except (TypeError, KeyError):
            return None

    def device_lines(self):
        self.emit("Device models: datasheet / measured in the guest "
                  "(wsr-devmodel check: O_DIRECT reads, wsr-devcheck)")
        self.emit("%-6s %-28s %17s %21s %21s" %
                  ("model", "device", "seq 1 MiB MB/s", "4K QD1 IOPS (p50)",
                   "4K QD32 IOPS"))
        for m in self.models:
            d = self.check_of(m)
            if not d:
                self.emit("%-6s (no check)" % m)
                continue
            ds, me = d.get("datasheet", {}), d.get("measured", {})

            def get(a, b, k):
                return (a.get(b) or {}).get(k, 0)
            self.emit("%-6s %-28s %8s / %6.0f %10s / %6.0f (%4.0f us) "
                      "%10s / %6.0f" % (
                          m, str(ds.get("device", "?"))[:28],
                          ds.get("seq_read_mb_s") or "-",
                          get(me, "seq1m", "mb_s"),
                          ds.get("rand4k_qd1_iops") or "-",
                          get(me, "rand4k_qd1", "iops"),
                          get(me, "rand4k_qd1", "p50_us"),
                          ds.get("rand4k_qd32_iops") or "-",
                          get(me, "rand4k_qdn", "iops")))
            if ds.get("source"):
                self.emit("       source: %s %s" % (ds.get("source"),
                                                    ds.get("url", "")))

    # --- one cell ---------------------------------------------------------
    def stat(self, key, field, p=50):
        vals = [r.get(field, 0) for r in self.cells.get(key, [])]
        return pct(vals, p) if vals else float("nan")

    def ws_bytes(self, model, workload, inp):
        for r in self.recs:
            if (r.get("model") == model and r.get("workload") == workload and
                    r.get("backend") == "wsr" and r.get("input") == inp):
                return r.get("wsr_tracked", 0) * 4096
        return None

    def warm_run_us(self, workload, inp):
        """The guest's own run time: warm eager (all memory present, no
        fault), else warm file."""
        for row in ("eager", "file"):
            for m in self.models:
                v = self.stat((m, workload, "warm", inp, row), "run_us")
                if not math.isnan(v):
                    return v
        return None

    def limit_us(self, model, workload, inp):
        ws = self.ws_bytes(model, workload, inp)
        bw = self.seq_mbps(model)
        run = self.warm_run_us(workload, inp)
        if ws is None or not bw or run is None:
            return None
        return ws / (bw * 1e6) * 1e6 + run

    def measured(self, model, cache, inp):
        """The workloads with runs of that model, cache state and input."""
        return [w for w in self.workloads
                if any((model, w, cache, inp, r) in self.cells
                       for r in self.rows)]

    # --- tables -----------------------------------------------------------
    def cell_table(self, model, workload, cache, inp):
        keys = [(model, workload, cache, inp, row) for row in self.rows]
        keys = [k for k in keys if k in self.cells]
        if not keys:
            return []
        seen = "recorded" if inp in (1, 2, 3) else "unseen"
        file_med = self.stat((model, workload, cache, inp, "file"),
                             "latency_us")
        lim = self.limit_us(model, workload, inp) if cache == "cold" else None
        t = ["%s, %s, %s cache, input %d (%s), %d runs per row"
             % (workload, model, cache, inp, seen,
                len(self.cells[keys[0]])),
             "%-20s %8s %8s %8s %7s %7s %8s %7s %6s %7s %6s %6s %6s %3s" %
             ("row", "p10_ms", "med_ms", "p90_ms", "majflt", "minflt",
              "read_MiB", "ios", "twice", "mem_MiB", "dec_ms", "x_file",
              "x_lim", "ok")]
        for k in keys:
            runs = self.cells[k]
            med = self.stat(k, "latency_us")
            ok = all(r.get("ok") for r in runs)
            t.append("%-20s %8.2f %8.2f %8.2f %7d %7d %8.2f %7d %6d %7.1f "
                     "%6.1f %6.2f %6s %3s" % (
                         k[4], self.stat(k, "latency_us", 10) / 1e3,
                         med / 1e3, self.stat(k, "latency_us", 90) / 1e3,
                         self.stat(k, "majflt"), self.stat(k, "minflt"),
                         self.stat(k, "read_bytes") / 2**20,
                         self.stat(k, "read_ios"),
                         self.stat(k, "read_twice"),
                         self.stat(k, "mem_kb") / 1024,
                         self.stat(k, "wsr_decompress_us") / 1e3,
                         med / file_med if file_med else float("nan"),
                         "%.2f" % (med / lim) if lim else "-",
                         "ok" if ok else "BAD"))
        if lim:
            t.append("%-20s %8s %8.2f %8s   (working set %.2f MiB at %s MB/s"
                     " + the guest's run)" % ("limit", "", lim / 1e3, "",
                                        self.ws_bytes(model, workload, inp)
                                        / 2**20, self.seq_mbps(model)))
        return t

    def overview(self, model, cache, inp):
        """Median latency (ms) of every row per workload."""
        wls = self.measured(model, cache, inp)
        if not wls:
            return []
        t = ["%s, %s cache, input %d: median ms (x_file)" %
             (model, cache, inp),
             "%-20s" % "row" + "".join("%18s" % w for w in wls)]
        for row in self.rows + (["limit"] if cache == "cold" else []):
            cells = []
            for w in wls:
                f = self.stat((model, w, cache, inp, "file"), "latency_us")
                if row == "limit":
                    v = self.limit_us(model, w, inp)
                else:
                    v = self.stat((model, w, cache, inp, row), "latency_us")
                if v is None or math.isnan(v):
                    cells.append("%18s" % "-")
                else:
                    cells.append("%11.1f (%4.2f)" % (v / 1e3, v / f)
                                 if not math.isnan(f) else
                                 "%11.1f       " % (v / 1e3))
            t.append("%-20s" % row + "".join(cells))
        return t

    # --- concurrency --------------------------------------------------------
    def conc_cells(self):
        inst = defaultdict(list)
        summ = defaultdict(list)
        for r in self.conc:
            key = (r["model"], r["workload"], r["row"], r["n"])
            if r.get("batch"):
                summ[key].append(r)
            else:
                inst[key].append(r)
        return inst, summ

    def conc_table(self):
        inst, summ = self.conc_cells()
        rows = []
        t = ["Concurrency: N restores of input 1 at once, cold; p50/p99 over "
             "all instances of all repeats; read = device bytes of a whole "
             "batch (median); mem = instances' private + largest shared "
             "(median)",
             "%-7s %-13s %-18s %3s %8s %8s %9s %6s %8s %4s" %
             ("model", "workload", "row", "N", "p50_ms", "p99_ms",
              "read_MiB", "x_N1", "mem_MiB", "bad")]
        for key in sorted(inst, key=lambda k: (self.models.index(k[0])
                                               if k[0] in self.models else 9,
                                               k[1], k[2], k[3])):
            lat = [r["latency_us"] for r in inst[key]]
            reads = [s["read_bytes"] for s in summ[key]]
            one = [s["read_bytes"] for s in summ.get(key[:3] + (1,), [])]
            mems = []
            for rep in {r.get("rep") for r in inst[key]}:
                rs = [r for r in inst[key] if r.get("rep") == rep]
                mems.append(sum(r.get("private_kb", 0) for r in rs) +
                            max(r.get("shared_kb", 0) for r in rs))
            bad = sum(s.get("failed", 0) for s in summ[key]) + \
                sum(1 for r in inst[key] if not r.get("ok"))
            rd = pct(reads, 50) if reads else float("nan")
            x1 = rd / pct(one, 50) if one and pct(one, 50) else float("nan")
            row = dict(model=key[0], workload=key[1], row=key[2], n=key[3],
                       p10_ms=pct(lat, 10) / 1e3, p50_ms=pct(lat, 50) / 1e3,
                       p90_ms=pct(lat, 90) / 1e3, p99_ms=pct(lat, 99) / 1e3,
                       read_mib=rd / 2**20, x_n1=x1,
                       mem_mib=pct(mems, 50) / 1024, failed=bad,
                       samples=len(lat))
            rows.append(row)
            t.append("%-7s %-13s %-18s %3d %8.2f %8.2f %9.2f %6.2f %8.1f %4d"
                     % (key[0], key[1], key[2], key[3], row["p50_ms"],
                        row["p99_ms"], row["read_mib"], x1, row["mem_mib"],
                        bad))
        return t, rows

    def zsnap_table(self):
        if not self.zsnap:
            return []
        t = ["Compressed copies (wsrctl snapshot info; the same images on "
             "every model): ratio = snapshot bytes / file bytes; zero, raw "
             "= share of chunks stored as nothing, stored uncompressed"]
        done = set()
        for z in self.zsnap:
            k = (z.get("workload"), z.get("zsnap"))
            if k in done:
                continue
            done.add(k)
            codecs = z.get("codecs", {})
            t.append("  %-13s %-5s ratio %6.2f  zero %5.1f%%  raw %5.1f%%"
                     "  file %7.1f MiB" % (
                         k[0], k[1], z.get("ratio", 0),
                         100 * z.get("zero_share", 0),
                         100.0 * codecs.get("raw", {}).get("chunks", 0) /
                         max(1, z.get("chunks", 1)),
                         z.get("file_size", 0) / 2**20))
        return t

    # --- files ---------------------------------------------------------------
    def write_csv(self, conc_rows):
        with open(os.path.join(self.d, "runs.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, RUN_FIELDS, extrasaction="ignore",
                               lineterminator="\n")
            w.writeheader()
            for r in self.runs:
                w.writerow(r)
        with open(os.path.join(self.d, "summary.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["model", "workload", "cache", "input", "row", "runs",
                        "lat_p10_ms", "lat_med_ms", "lat_p90_ms",
                        "lat_mean_ms", "lat_stdev_ms", "majflt_med",
                        "minflt_med", "read_mib_med", "read_ios_med",
                        "twice_med", "mem_mib_med", "decompress_ms_med",
                        "limit_ms", "ok"])
            for k in sorted(self.cells):
                lat = [r["latency_us"] / 1e3 for r in self.cells[k]]
                lim = self.limit_us(k[0], k[1], k[3]) \
                    if k[2] == "cold" else None
                w.writerow(list(k) + [
                    len(lat), pct(lat, 10), pct(lat, 50), pct(lat, 90),
                    round(statistics.mean(lat), 3),
                    round(statistics.stdev(lat), 3) if len(lat) > 1 else 0,
                    self.stat(k, "majflt"), self.stat(k, "minflt"),
                    round(self.stat(k, "read_bytes") / 2**20, 3),
                    self.stat(k, "read_ios"), self.stat(k, "read_twice"),
                    round(self.stat(k, "mem_kb") / 1024, 1),
                    round(self.stat(k, "wsr_decompress_us") / 1e3, 3),
                    round(lim / 1e3, 3) if lim else "",
                    all(r.get("ok") for r in self.cells[k])])
        if conc_rows:
            with open(os.path.join(self.d, "conc.csv"), "w",
                      newline="") as f:
                w = csv.DictWriter(f, list(conc_rows[0]), lineterminator="\n")
                w.writeheader()
                w.writerows(conc_rows)

    # --- charts ----------------------------------------------------------------
    def gnuplot(self, name, script):
        path = os.path.join(self.d, name)
        with open(path + ".gp", "w") as f:
            f.write(script)
        try:
            subprocess.run(["gnuplot", path + ".gp"], check=True,
                           cwd=self.d)
        except (OSError, subprocess.CalledProcessError) as e:
            sys.stderr.write("bench-report: gnuplot %s: %s\n" % (name, e))
            return None
        return os.path.join(self.d, name + ".png")

    def bar_chart(self, name, title, ylabel, rows, wls, value, logy):
        """Bars per workload (x) and row, error bars when value() gives
        (median, low, high)."""
        if not rows or not wls:
            return None
        width = 0.8 / len(rows)
        plots = []
        with open(os.path.join(self.d, name + ".dat"), "w") as f:
            for i, r in enumerate(rows):
                f.write("# %s\n" % r)
                for j, w in enumerate(wls):
                    v = value(w, r)
                    if v is None or any(math.isnan(x) for x in v):
                        continue
                    x = j - 0.4 + width * (i + 0.5)
                    f.write("%.4f %s\n" % (x, " ".join("%.4f" % y
                                                       for y in v)))
                f.write("\n\n")
                plots.append("'%s.dat' index %d using 1:2 with boxes "
                             "lc %d title '%s'" % (name, i, i + 1, r))
                plots.append("'%s.dat' index %d using 1:2:3:4 with "
                             "yerrorbars lc black pt 0 notitle" % (name, i))
        tics = ", ".join("'%s' %d" % (w, j) for j, w in enumerate(wls))
        return self.gnuplot(name, """set terminal pngcairo noenhanced size 1400,600
set output '%s.png'
set title '%s'
set ylabel '%s'
set boxwidth %.4f
set style fill solid 0.8 border -1
set key outside right
set xrange [-0.6:%.1f]
set xtics (%s)
%s
plot %s
""" % (name, title, ylabel, width, len(wls) - 0.4, tics,
       "set logscale y" if logy else "set yrange [0:*]", ", ".join(plots)))

    def latency_chart(self, model, cache, inp):
        rows = [r for r in CHART_ROWS if r in self.rows]
        wls = self.measured(model, cache, inp)
        if not wls or not rows:
            return None

        def value(w, r):
            k = (model, w, cache, inp, r)
            if k not in self.cells:
                return None
            return [self.stat(k, "latency_us", p) / 1e3
                    for p in (50, 10, 90)]
        return self.bar_chart(
            "latency-%s-%s-in%d" % (model, cache, inp),
            "Restore latency, %s model, %s cache, input %d (median, "
            "p10-p90; log scale)" % (model, cache, inp), "ms", rows, wls,
            value, True)

    def bytes_chart(self, model, inp):
        rows = [r for r in CHART_ROWS if r in self.rows]
        wls = self.measured(model, "cold", inp)
        if not wls:
            return None

        def value(w, r):
            k = (model, w, "cold", inp, r)
            if k not in self.cells:
                return None
            return [self.stat(k, "read_bytes", p) / 2**20
                    for p in (50, 10, 90)]
        return self.bar_chart(
            "read-bytes-%s-in%d" % (model, inp),
            "Device bytes read per cold restore, %s model, input %d "
            "(median, p10-p90)" % (model, inp), "MiB", rows, wls, value,
            False)

    def conc_chart(self, model, conc_rows):
        rs = [r for r in conc_rows if r["model"] == model]
        if not rs:
            return None
        name = "concurrency-%s" % model
        wls = order_of(r["workload"] for r in rs)
        backends = order_of(r["row"] for r in rs)
        plots = []
        with open(os.path.join(self.d, name + ".dat"), "w") as f:
            idx = 0
            for w in wls:
                for b in backends:
                    pts = sorted((r["n"], r["p50_ms"], r["p99_ms"])
                                 for r in rs
                                 if r["workload"] == w and r["row"] == b)
                    f.write("# %s %s\n" % (w, b))
                    for p in pts:
                        f.write("%d %.3f %.3f\n" % p)
                    f.write("\n\n")
                    idx += 1
        script = ["set terminal pngcairo noenhanced size 1400,%d"
                  % (350 * len(wls)),
                  "set output '%s.png'" % name,
                  "set multiplot layout %d,1 title 'Concurrent cold "
                  "restores, %s model: p50 latency (lines), p99 (points)'"
                  % (len(wls), model),
                  "set logscale x 2", "set xtics (1,4,16)",
                  "set ylabel 'ms'", "set key outside right"]
        idx = 0
        for w in wls:
            plots = []
            for i, b in enumerate(backends):
                plots.append("'%s.dat' index %d using 1:2 with linespoints "
                             "lc %d title '%s'" % (name, idx, i + 1, b))
                plots.append("'%s.dat' index %d using 1:3 with points "
                             "lc %d pt 2 notitle" % (name, idx, i + 1))
                idx += 1
            script.append("set title '%s'" % w)
            script.append("plot " + ", ".join(plots))
        script.append("unset multiplot")
        return self.gnuplot(name, "\n".join(script) + "\n")

    def run(self):
        if not self.runs:
            sys.stderr.write("bench-report: no runs in %s\n" % self.d)
            return 1
        bad = sum(1 for r in self.runs if not r.get("ok"))
        self.device_lines()
        self.emit()
        full = []
        for m in self.models:
            for cache in ("cold", "warm"):
                for inp in self.inputs:
                    t = self.overview(m, cache, inp)
                    if t:
                        self.out += t + [""]
                    for w in self.workloads:
                        c = self.cell_table(m, w, cache, inp)
                        if c:
                            full += c + [""]
        ct, conc_rows = self.conc_table()
        if conc_rows:
            self.out += ct + [""]
        self.out += self.zsnap_table()
        self.write_csv(conc_rows)
        with open(os.path.join(self.d, "tables.txt"), "w") as f:
            f.write("\n".join(self.out + [""] + full) + "\n")
        charts = []
        for m in self.models:
            for cache in ("cold", "warm"):
                for inp in self.inputs:
                    charts.append(self.latency_chart(m, cache, inp))
            for inp in self.inputs:
                charts.append(self.bytes_chart(m, inp))
            charts.append(self.conc_chart(m, conc_rows))
        print("\n".join(self.out))
        print("%d runs, %d with a wrong guest result" % (len(self.runs), bad))
        print("per-row tables: %s" % os.path.join(self.d, "tables.txt"))
        print("CSV: %s" % " ".join(os.path.join(self.d, f) for f in
                                    ("runs.csv", "summary.csv", "conc.csv")))
        print("charts: %s" % " ".join(c for c in charts if c))
        return 1 if bad else 0


ROW_ORDER = {r: i for i, r in enumerate(
    "file eager reap:1 reap:U faasnap:1 faasnap:U faasnap-mincore:U wsr:1 "
    "wsr:U wsr-async:U wsr-async-lazy:U file@base file@base-async:U "
    "wsr-lz4:U wsr-zstd:U wsr-nohuge:U wsr-nogap:U wsr-noaround:U "
    "wsr-nomerge:U".split())}

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: bench-report.py DIR\n")
        sys.exit(2)
    sys.exit(Report(sys.argv[1]).run())
