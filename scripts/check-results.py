#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Judge a wsr test run.

Reads kselftest TAP from the VM's serial log (framed by WSR-SUITE-* markers)
and from host-side TAP files, prints every failure with its log, fails the
run on any kernel report in dmesg (KASAN, BUG, WARNING, lockdep, kmemleak)
even when every test passed, and ends with "N passed, N failed, N skipped".
"""
import argparse
import re
import sys

TAP = re.compile(r'^(not ok|ok) \d+\s*(?:-\s*)?(.*?)\s*(# (SKIP|skip|XFAIL)\b.*)?$')
KERNEL_REPORT = re.compile(
    r'BUG: |WARNING: |KASAN|general protection fault|Oops|Kernel panic|'
    r'possible circular locking|possible recursive locking|'
    r'inconsistent lock state|suspicious RCU usage|INFO: trying to register|'
    r'DEBUG_LOCKS_WARN_ON|unreferenced object|suspected memory leak|'
    r'kernel BUG at|list_add corruption|list_del corruption|'
    r'detected stall|hung_task|blocked for more than|VM_BUG_ON')


class Totals:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.problems = []

    def tap(self, where, lines):
        """Count TAP result lines; return the failures with their logs."""
        current = []
        seen = 0
        for line in lines:
            current.append(line)
            m = TAP.match(line)
            if not m:
                continue
            seen += 1
            if m.group(3) and m.group(4).upper() == 'SKIP':
                self.skipped += 1
            elif m.group(1) == 'ok':
                self.passed += 1
            else:
                self.failed += 1
                self.problems.append((f'{where}: {line}', current))
            current = []
        return seen


def split_log(text):
    suites, dmesg, kmemleak = {}, [], []
    order = []
    state, name, buf = None, None, []
    for line in text.splitlines():
        line = line.rstrip('\r')
        m = re.match(r'^WSR-(SUITE|DMESG|KMEMLEAK)-(BEGIN|END)\s*(\S*)(?:\s+rc=(\d+))?', line)
        if m:
            kind, edge, arg, rc = m.groups()
            if edge == 'BEGIN':
                state, name, buf = kind, arg, []
            else:
                if kind == 'SUITE':
                    suites[name] = (buf, int(rc) if rc else None)
                    order.append(name)
                elif kind == 'DMESG':
                    dmesg.append((name, buf))
                else:
                    kmemleak = buf
                state = None
            continue
        if state:
            buf.append(line)
    return suites, order, dmesg, kmemleak


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--log', action='append', default=[],
                    help='serial log of a VM run (repeatable)')
    ap.add_argument('--suites', action='append', default=[],
                    help='suites expected in the matching --log')
    ap.add_argument('--host-tap', action='append', default=[],
                    help='TAP output of a host-side test program')
    args = ap.parse_args()
    t = Totals()

    for path in args.host_tap:
        with open(path, errors='replace') as f:
            lines = f.read().splitlines()
        if t.tap(f'host {path}', lines) == 0:
            t.failed += 1
            t.problems.append((f'host {path}: no TAP results', lines[-20:]))

    if len(args.suites) != len(args.log):
        ap.error('give one --suites per --log')
    for log, expected in zip(args.log, args.suites):
        try:
            with open(log, errors='replace') as f:
                text = f.read()
        except OSError as e:
            t.failed += 1
            t.problems.append((f'no VM log: {e}', []))
            continue
        suites, order, dmesg, kmemleak = split_log(text)
        lines = text.splitlines()
        if 'WSR-BOOT-OK' not in text:
            t.failed += 1
            t.problems.append(('VM did not boot to /init', lines[-40:]))
        for err in (l for l in lines if l.startswith('WSR-ERROR')):
            t.failed += 1
            t.problems.append((err, []))
        for name in expected.split():
            if name not in suites:
                t.failed += 1
                t.problems.append((f'suite {name} did not finish', lines[-40:]))
                continue
            body, rc = suites[name]
            before = t.failed
            seen = t.tap(f'suite {name}', body)
            if seen == 0:
                t.failed += 1
                t.problems.append((f'suite {name}: no test ran (rc={rc})', body[-30:]))
            elif rc not in (0, 4) and t.failed == before:
                t.failed += 1
                t.problems.append((f'suite {name}: exit status {rc}', body[-30:]))
        for name, buf in dmesg:
            bad = [i for i, l in enumerate(buf) if KERNEL_REPORT.search(l)]
            if bad:
                t.failed += 1
                first = max(bad[0] - 3, 0)
                t.problems.append((f'kernel report in dmesg during {name} '
                                   f'(whole report in {log})',
                                   buf[first:first + 60]))
        if any(l.strip() for l in kmemleak):
            t.failed += 1
            t.problems.append(('kmemleak found leaks', kmemleak[:200]))
        if 'WSR-DONE' not in text:
            t.failed += 1
            t.problems.append(('VM run did not complete (crash or timeout)', lines[-60:]))

    for title, log in t.problems:
        print(f'FAIL: {title}')
        for line in log:
            print(f'    {line}')
    print(f'{t.passed} passed, {t.failed} failed, {t.skipped} skipped')
    return 1 if t.failed else 0


if __name__ == '__main__':
    sys.exit(main())
