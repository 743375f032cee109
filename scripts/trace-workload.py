# SPDX-License-Identifier: GPL-2.0
"""Real workloads whose page touches capture-trace.sh records.

usage: python3 -I -S trace-workload.py WORKLOAD INPUT... | --dump FILE

Runs WORKLOAD's init, stores to marker page 0 (the split: a snapshot
would be taken here), then for each INPUT k in turn forks a child that
stores to marker page 1 + 2k, runs one invocation on INPUT, stores to
marker page 2 + 2k and exits without teardown; the parent waits for it.
So every invocation starts from the state at the split, as a restored
snapshot would, and init is traced once.  The markers are pages mapped
at a fixed address, so the page filter (trace-pages.c) finds the phases
by address alone.  With --dump, no invocation: every page resident at
the split is written to FILE (to measure how well real memory
compresses).

Workloads (each input changes which data the invocation touches):
  py      the interpreter running a small function: regex, dict and
          string work over in-memory records, then json.dumps
  sqlite  a query through the sqlite3 module on an in-memory database
          of 12000 rows: aggregate over an input-chosen range of ids
  zlib    inflate one of ten deflated documents and parse it (json)
"""
import ctypes
import os
import sys

MARK = 0x3a5a00000000
PAGE = 4096


def map_markers(n):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_int, ctypes.c_int, ctypes.c_long]
    # PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE
    if libc.mmap(MARK, n * PAGE, 3, 0x22 | 0x100000, -1, 0) != MARK:
        sys.exit("cannot map the marker pages at %#x" % MARK)


def mark(which):
    ctypes.memset(MARK + which * PAGE, 1, 1)


def words(seed, n):
    """Deterministic pseudo-words (no random module: fewer imports)."""
    out, x = [], seed
    syll = ["ka", "lo", "mi", "ren", "sta", "qu", "ti", "vo", "na", "gre"]
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append(syll[x >> 60 & 7] + syll[x >> 50 & 7] + syll[x >> 40 & 7])
    return out


class Py:
    def __init__(self):
        import json
        import re
        self.json = json
        self.rx = re.compile(r"([a-z]+)(ta|ka)([a-z]*)")
        names = words(1, 20000)
        self.recs = {i: {"name": names[i], "score": (i * 7919) % 1000,
                         "tags": names[i - 3:i]} for i in range(20000)}

    def invoke(self, n):
        out, base = [], n * 1789 % 20000
        for i in range(base, base + 600):
            r = self.recs[i % 20000]
            m = self.rx.match(r["name"])
            if m and r["score"] > 200:
                out.append({"k": m.group(1).upper(), "s": r["score"],
                            "t": "-".join(r["tags"])})
        return len(self.json.dumps(out))


class Sqlite:
    ROWS = 12000

    def __init__(self):
        import sqlite3
        self.db = sqlite3.connect(":memory:")
        self.db.execute("PRAGMA cache_size=-65536")
        self.db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, cat INT,"
                        " name TEXT, amount INT, note TEXT)")
        names = words(2, self.ROWS)
        self.db.executemany("INSERT INTO t VALUES (?,?,?,?,?)",
                            ((i, i * 37 % 64, names[i], i * 7919 % 10007,
                              names[i] * 6) for i in range(self.ROWS)))
        self.db.execute("CREATE INDEX t_cat ON t(cat)")
        self.db.commit()

    def invoke(self, n):
        q = ("SELECT cat, count(*), sum(amount), max(note) FROM t"
             " WHERE id BETWEEN ? AND ? GROUP BY cat ORDER BY 3 DESC"
             " LIMIT 20")
        lo = n * 1237 % (self.ROWS - 400)
        return sum(r[1] + r[2] for r in self.db.execute(q, (lo, lo + 400)))


class Zlib:
    def __init__(self):
        import json
        import zlib
        self.json, self.zlib = json, zlib
        self.blobs = []
        for d in range(10):
            names = words(100 + d, 1000)
            doc = [{"id": i, "name": names[i], "v": i * (d + 3) % 977}
                   for i in range(1000)]
            self.blobs.append(zlib.compress(json.dumps(doc).encode(), 6))

    def invoke(self, n):
        raw = self.zlib.decompress(self.blobs[n % 10])
        doc = self.json.loads(raw)
        return sum(r["v"] for r in doc) ^ self.zlib.crc32(raw)


def dump(path):
    """Write every resident page of the process (pagemap bit 63)."""
    import struct
    out = open(path, "wb")
    pm = open("/proc/self/pagemap", "rb")
    mem = open("/proc/self/mem", "rb")
    for line in open("/proc/self/maps").read().splitlines():
        f = line.split()
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if "r" not in f[1] or (len(f) > 5 and f[5] in ("[vvar]",
                                                       "[vsyscall]")):
            continue
        if lo == MARK:
            continue
        pm.seek(lo // PAGE * 8)
        bits = pm.read((hi - lo) // PAGE * 8)
        for i in range(len(bits) // 8):
            if struct.unpack_from("<Q", bits, i * 8)[0] >> 63:
                mem.seek(lo + i * PAGE)
                out.write(mem.read(PAGE))
    out.close()


def invoke_in_child(w, k, n):
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    mark(1 + 2 * k)
    r = w.invoke(n)
    mark(2 + 2 * k)
    print(n, r, flush=True)
    os._exit(0)		# no teardown: nobody traces it, lackey is slow


def main():
    kinds = {"py": Py, "sqlite": Sqlite, "zlib": Zlib}
    if len(sys.argv) < 3 or sys.argv[1] not in kinds:
        sys.exit(__doc__)
    dump_to = sys.argv[3] if sys.argv[2] == "--dump" else None
    inputs = [] if dump_to else [int(n) for n in sys.argv[2:]]
    map_markers(1 + 2 * len(inputs))
    w = kinds[sys.argv[1]]()
    mark(0)
    if dump_to:
        dump(dump_to)
    for k, n in enumerate(inputs):
        invoke_in_child(w, k, n)
    sys.stdout.flush()
    os._exit(0)


main()
