#!/usr/bin/env python3
"""Where the time of one `berth run --rm --network none busybox true` goes.

Runs it under `strace -f --seccomp-bpf` tracing only the syscalls that mark
a phase (so the others run at full speed), finds the marks (the record
renamed into containers/, the overlay mount, the monitor's "ok" report, the
attach, the exec of `true`, the unmount...) and prints the median length of
each phase. Several binaries are interleaved, for an A/B of two builds.

    python3 scripts/run-phases.py N GAP_SECONDS BERTH ROOT [BERTH ROOT ...]

Each ROOT is a store with busybox:latest imported. Needs root and strace.
The figures are strace-slowed (each traced syscall costs a few us more);
compare phases and builds, not the totals with untraced runs."""
import os, re, subprocess, sys, statistics, tempfile, time
n = int(sys.argv[1]); gap = float(sys.argv[2]); pairs = list(zip(sys.argv[3::2], sys.argv[4::2]))
TR = "execve,execveat,clone,clone3,wait4,fsync,mount,umount2,rename,connect,exit_group,read"
def one(B, root):
    out = os.path.join(tempfile.gettempdir(), f"run-phases-{os.getpid()}.txt")
    subprocess.run(["strace", "-f", "--seccomp-bpf", "-ttt", "-e", "trace=" + TR, "-e", "signal=none", "-o", out,
                    B, "--root", root, "run", "--rm", "--network", "none", "busybox", "true"], check=True,
                   stdout=subprocess.DEVNULL)
    ev = []
    for line in open(out):
        m = re.match(r"(\d+) +(\d+\.\d+) (.*)", line)
        if m: ev.append((int(m.group(1)), float(m.group(2)), m.group(3)))
    cli = ev[0][0]; t0 = ev[0][1]
    def first(pred, after=0.0):
        if after is None: return None
        for p, t, s in ev:
            if t >= after and pred(p, s): return t
        return None
    tstore = first(lambda p, s: p == cli and 'busybox:latest' in s)
    tcreate = first(lambda p, s: p == cli and s.startswith("rename(") and "/tmp/create-" in s and "/containers/" in s)
    tmount = first(lambda p, s: p == cli and s.startswith('mount("overlay"'), tcreate)
    tok = first(lambda p, s: p == cli and '"o", 1)' in s, tmount)
    tconnect = first(lambda p, s: p == cli and s.startswith("connect("), tok)
    texec = first(lambda p, s: s.startswith('execve("/bin/true"'), tconnect)
    tpid = next((p for p, t, s in ev if s.startswith('execve("/bin/true"')), None)
    tdone = first(lambda p, s: p == tpid and s.startswith("exit_group"), texec)
    tumount = first(lambda p, s: s.startswith("umount2(") and "merged" in s, tdone)
    tumount_end = first(lambda p, s: s.startswith("rename(") and "/tmp/rm-" in s, tumount)
    texit = first(lambda p, s: p == cli and s.startswith("exit_group"), tumount_end)
    marks = [("CLI start-up, store opened", t0, tstore), ("image, probe, create record", tstore, tcreate),
             ("start: lock, load, mount overlay", tcreate, tmount),
             ("monitor: fork .. PID 1 cloned, report", tmount, tok), ("CLI records running, attaches", tok, tconnect),
             ("PID 1 released .. exec true", tconnect, texec), ("true runs", texec, tdone),
             ("monitor: exit seen .. umount", tdone, tumount), ("umount overlay", tumount, tumount_end),
             ("remove files, exit frame, CLI exit", tumount_end, texit), ("total", t0, texit)]
    return {k: (b - a) * 1000 if a and b else float("nan") for k, a, b in marks}
res = {B: [] for B, _ in pairs}
for i in range(n):
    for B, root in (pairs if i % 2 == 0 else pairs[::-1]):
        time.sleep(gap)
        res[B].append(one(B, root))
keys = list(res[pairs[0][0]][0])
os.unlink(os.path.join(tempfile.gettempdir(), f"run-phases-{os.getpid()}.txt"))
print(f"{'phase (median ms)':<40}" + "".join(f"{'/'.join(B.split('/')[-2:])[-12:]:>13}" for B, _ in pairs))
for k in keys:
    row = f"{k:<40}"
    for B, _ in pairs:
        vals = [r[k] for r in res[B] if r[k] == r[k]]
        row += f"{statistics.median(vals):13.2f}" if vals else f"{'?':>13}"
    print(row)
