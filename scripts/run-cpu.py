#!/usr/bin/env python3
"""Wall clock and CPU of one back-to-back `berth run --rm --network none busybox true`,
the CPU split between the CLI (with the children it reaps) and the monitor (with
PID 1), from wait4's rusage of each through a subreaper (docs/benchmarks.md, issue 21).

    python3 scripts/run-cpu.py N BERTH ROOT [BERTH ROOT ...]

Each ROOT is a store with busybox:latest imported; the binaries alternate, and
each round runs the command twice with no pause and measures the second."""
import os, sys, ctypes, statistics, time
libc = ctypes.CDLL(None, use_errno=True); libc.prctl(36, 1, 0, 0, 0)
n = int(sys.argv[1]); pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
def ms(ru): return (ru.ru_utime + ru.ru_stime) * 1000
def one(b, root):
    devnull = os.open("/dev/null", os.O_RDWR)
    t = time.perf_counter_ns()
    pid = os.posix_spawn(b, [b, "--root", root, "run", "--rm", "--network", "none", "busybox", "true"], os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)])
    cli = mon = 0.0
    while True:
        try:
            p, st, ru = os.wait4(-1, 0)
        except ChildProcessError:
            break
        if p == pid:
            wall = (time.perf_counter_ns() - t) / 1e6; cli = ms(ru)
        else:
            mon += ms(ru)
    os.close(devnull)
    return wall, cli, mon
res = {b: [] for b, _ in pairs}
for i in range(n):
    for b, root in (pairs if i % 2 == 0 else pairs[::-1]):
        one(b, root)
        res[b].append(one(b, root))
print(f"N={n} back to back, load {os.getloadavg()[0]:.2f}")
for b, _ in pairs:
    r = res[b]
    print(f"{b:<32} wall {statistics.median(x[0] for x in r):6.2f}  cpu CLI {statistics.median(x[1] for x in r):5.2f}  monitor+PID1 {statistics.median(x[2] for x in r):5.2f}  total {statistics.median(x[1]+x[2] for x in r):5.2f}")
