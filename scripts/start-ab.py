#!/usr/bin/env python3
"""Wall clock and CPU of short commands, interleaved (docs/benchmarks.md, issue 21).

    python3 scripts/start-ab.py N "CMD ARGS" ["CMD ARGS" ...]

Each round spawns every command once (the order reversed every other round,
so drift on the machine spreads over all of them), its stdout to /dev/null,
and reads its CPU from wait4's rusage. Prints the median wall time, the 10th
percentile and the mean CPU of each: an A/B of two builds' start-up
(`berth version`, `berth --root EMPTY ps`) beside `/bin/true` as the
machine's own reference."""
import os, sys, time, statistics

n = int(sys.argv[1])
commands = [c.split() for c in sys.argv[2:]]
results = {i: [] for i in range(len(commands))}
devnull = os.open("/dev/null", os.O_RDWR)
for r in range(n):
    order = range(len(commands)) if r % 2 == 0 else reversed(range(len(commands)))
    for i in order:
        start = time.perf_counter_ns()
        pid = os.posix_spawn(commands[i][0], commands[i], os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, _, usage = os.wait4(pid, 0)
        results[i].append(((time.perf_counter_ns() - start) / 1e6, (usage.ru_utime + usage.ru_stime) * 1000))
for i, command in enumerate(commands):
    wall = sorted(x[0] for x in results[i])
    cpu = [x[1] for x in results[i]]
    print(f"{' '.join(command):<50} wall median {statistics.median(wall):.3f} ms"
          f"  p10 {wall[len(wall) // 10]:.3f}  cpu {statistics.mean(cpu):.3f} ms")
