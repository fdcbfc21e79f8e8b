#!/usr/bin/env python3
"""Interleaved A/B of `berth run --rm --network none busybox true` (docs/benchmarks.md, issue 21).

    python3 scripts/run-ab.py N GAP_MS BERTH ROOT [BERTH ROOT ...]

Each ROOT is a store with busybox:latest imported; the binaries alternate
(the order flips every round). GAP_MS 0 is back to back: each round runs
the command twice with no pause and times the second. Prints the median
wall clock and the median CPU (user + system of the CLI and of everything it
leaves, the monitor and PID 1: this script makes itself their subreaper)."""
import os, sys, time, statistics, ctypes, subprocess, resource
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
n = int(sys.argv[1]); gap = int(sys.argv[2]) / 1000; pairs = list(zip(sys.argv[3::2], sys.argv[4::2]))
def reap_all():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            return False
def drain():
    deadline = time.time() + 5
    while not reap_all() and time.time() < deadline: time.sleep(0.001)
def one(b, root, timed=True):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter_ns()
    p = subprocess.run([b, "--root", root, "run", "--rm", "--network", "none", "busybox", "true"], stdin=subprocess.DEVNULL)
    ms = (time.perf_counter_ns() - t) / 1e6
    assert p.returncode == 0
    drain()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000
    return ms, cpu
res = {b: ([], []) for b, _ in pairs}
for i in range(n):
    order = pairs if i % 2 == 0 else pairs[::-1]
    for b, root in order:
        if gap > 0:
            time.sleep(gap)
        else:
            one(b, root)
        ms, cpu = one(b, root)
        res[b][0].append(ms); res[b][1].append(cpu)
print(f"N={n} gap={int(gap*1000)}ms load={os.getloadavg()[0]:.2f}")
for b, _ in pairs:
    w, c = res[b]
    w.sort()
    print(f"{b:<40} wall median {statistics.median(w):6.2f}  p10 {w[len(w)//10]:6.2f}  p90 {w[len(w)*9//10]:6.2f}  min {w[0]:6.2f}   cpu median {statistics.median(c):6.2f}")
