#!/usr/bin/env python3
"""Berth at scale: run -d, ps, ps -a, stop and rm -f with COUNT containers.

Called by scripts/scale.sh, which makes the scratch store and removes it
afterwards; see docs/benchmarks.md ("Scale"). For each count, on an empty
store:

  1. `run -d --network none busybox sleep 100000` until COUNT run, back to
     back; the `ramp` figure is the median of the last 20 of those runs (all
     of them below 20). Then the `run -d` figure, the same at every count:
     20 times, the newest container is removed and, 100 ms later, run again
     (COUNT-1 others running), with 100 ms after it. Back to back, each run
     of the ramp shares the two CPUs with what the previous container's
     monitor still does after its CLI has returned (and at 1 the ramp is one
     cold run); `run -d` is measured the same way at every count.
     With COUNT running (after step 2), the floor under it: the host's mount count,
     `unshare -m /bin/true` (the kernel copying that mount table into a new
     namespace, which every container start pays) and, with
     SCALE_CRUN_BUNDLE, `crun run` of that prepared bundle (median of 10);
  2. `ps` and `ps -a` with COUNT running (median of PS_N runs, each checked
     to list COUNT containers);
  3. `stop -t 0 $(ps -q)`, then `ps -a` with COUNT exited;
  4. `rm -f $(ps -aq)` of the COUNT exited containers, then the leak check;
  5. COUNT containers run again, and `rm -af` (Podman's spelling) removes
     them while they run, then the leak check again.

The leak check looks for what a container can leave on the host: mounts
under the store, the containers' cgroups (`berth/ID` in every hierarchy),
their monitors and PID 1s, entries in the store's containers/ and tmp/,
lock files, and address leases. This is a benchmark: it prints what it finds
and never fails on a slow figure.
"""
import os
import statistics
import subprocess
import sys
import time

BERTH = os.environ["BERTH_BIN"]
STORE = os.environ["SCALE_STORE"]
PS_N = int(os.environ.get("SCALE_PS_N", "5"))
CRUN_BUNDLE = os.environ.get("SCALE_CRUN_BUNDLE", "")
RUN_SAMPLES = 20
FLOOR_N = 10

# Times `crun run` of a bundle FLOOR_N times inside the private mount namespace
# it is started in (`unshare -m --propagation private`), where a hybrid host's
# cgroup2 mount is hidden first: crun 1.8 refuses hybrid cgroups (PEERS.md).
# That namespace is a copy of the host's, so each run copies the same mounts.
CRUN_TIMER = """
import os, statistics, subprocess, sys, time
bundle, n = sys.argv[1], int(sys.argv[2])
if os.path.isdir("/sys/fs/cgroup/freezer") and os.path.ismount("/sys/fs/cgroup/unified"):
    subprocess.run(["umount", "/sys/fs/cgroup/unified"], check=True)
state = os.path.dirname(bundle) + "/crun-state"
times = []
for i in range(n + 1):
    t0 = time.perf_counter()
    subprocess.run(["crun", "--root", state, "run", "-b", bundle, f"floor-{os.getpid()}-{i}"],
                   stdout=subprocess.DEVNULL, check=True)
    if i:  # the first run is a warm-up
        times.append((time.perf_counter() - t0) * 1000)
print(statistics.median(times))
"""


def berth(*args, check=True):
    """Runs one berth command; returns (milliseconds, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.run([BERTH, "--root", STORE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ms = (time.perf_counter() - t0) * 1000
    if check and p.returncode != 0:
        last = p.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"berth {' '.join(args[:3])}… failed (rc={p.returncode}): {last[0]}")
    return ms, p.stdout.decode()


def run_one():
    ms, out = berth("run", "-d", "--network", "none", "busybox", "sleep", "100000")
    return ms, out.strip()


def ids(all_states):
    _, out = berth("ps", "-q", "--no-trunc", *(["-a"] if all_states else []))
    return out.split()


def timed_list(args, expect):
    """Median ms of PS_N runs of `berth ARGS`, each checked to list `expect` rows."""
    times = []
    for _ in range(PS_N):
        ms, out = berth(*args)
        rows = len(out.splitlines()) - 1  # the header
        if rows != expect:
            raise RuntimeError(f"berth {' '.join(args)} listed {rows} containers, expected {expect}")
        times.append(ms)
    return statistics.median(times)


def fill(count):
    """Runs containers up to `count`; returns the ramp's and the settled run -d samples (see the docstring)."""
    ramp = []
    for i in range(count):
        ms, _ = run_one()
        if i >= count - RUN_SAMPLES:
            ramp.append(ms)
    settled = []
    while len(settled) < RUN_SAMPLES:
        last = ids(False)[0]  # newest first
        berth("rm", "-f", last)
        time.sleep(0.1)
        ms, _ = run_one()
        settled.append(ms)
        time.sleep(0.1)
    return ramp, settled


def host_mounts():
    with open("/proc/self/mountinfo") as f:
        return sum(1 for _ in f)


def floor():
    """(host mounts, unshare -m ms, crun run ms or None) with the containers now running."""
    times = []
    for _ in range(FLOOR_N):
        t0 = time.perf_counter()
        subprocess.run(["unshare", "-m", "/bin/true"], check=True)
        times.append((time.perf_counter() - t0) * 1000)
    crun = None
    if CRUN_BUNDLE:
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "python3", "-c", CRUN_TIMER,
                            CRUN_BUNDLE, str(FLOOR_N)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode == 0:
            crun = float(p.stdout)
        else:
            last = p.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            print(f"scale: crun run failed (rc={p.returncode}): {last[0]}", file=sys.stderr)
    return host_mounts(), statistics.median(times), crun


def processes_of(container_ids):
    """PIDs of the monitors and PID 1s of these containers (from the records)."""
    pids = []
    for cid in container_ids:
        try:
            with open(f"{STORE}/containers/{cid}/container.json") as f:
                text = f.read()
        except OSError:
            continue
        for key in ('"Pid"', '"MonitorPid"'):
            at = text.find(key)
            if at >= 0:
                value = text[at + len(key):].lstrip(" :").split(",")[0].split("\n")[0].strip()
                if value.isdigit() and int(value) > 0:
                    pids.append((int(value), key.strip('"')))
    return pids


def leaks(container_ids, pids):
    """What the removed containers left behind, as a list of short descriptions."""
    found = []
    store = os.path.realpath(STORE) + "/"
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split(" ")[4] for line in f if line.split(" ")[4].startswith(store)]
    if mounts:
        found.append(f"{len(mounts)} mounts under the store")
    cgroups = 0
    for root in os.listdir("/sys/fs/cgroup"):
        for base in (f"/sys/fs/cgroup/{root}/berth", f"/sys/fs/cgroup/berth"):
            for cid in container_ids:
                if os.path.isdir(f"{base}/{cid}"):
                    cgroups += 1
    if cgroups:
        found.append(f"{cgroups} cgroups")
    alive = 0
    for pid, kind in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if (kind == "Pid" and cmd == b"sleep\x00100000\x00") or (kind == "MonitorPid" and STORE.encode() in cmd):
            alive += 1
    if alive:
        found.append(f"{alive} processes (monitors or PID 1s)")
    for sub in ("containers", "tmp"):
        entries = os.listdir(f"{STORE}/{sub}") if os.path.isdir(f"{STORE}/{sub}") else []
        if entries:
            found.append(f"{len(entries)} entries in {sub}/")
    locks = [e for e in os.listdir(f"{STORE}/locks") if e.startswith("container-")] if os.path.isdir(f"{STORE}/locks") else []
    if locks:
        found.append(f"{len(locks)} container lock files")
    leased = 0
    for d in (f"{STORE}/networks", "/run/berth/leases"):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            path = f"{d}/{name}"
            if os.path.isfile(path) and (d.startswith("/run") or name.endswith(".leases")):
                with open(path) as f:
                    text = f.read()
                leased += sum(text.count(cid) for cid in container_ids)
    if leased:
        found.append(f"{leased} address leases")
    return found


def remove_all(argv_of_ids, label, count, rows):
    container_ids = ids(True)
    pids = processes_of(container_ids)
    args = argv_of_ids(container_ids)
    ms, _ = berth(*args)
    left = ids(True)
    found = leaks(container_ids, pids)
    if left:
        found.insert(0, f"{len(left)} containers still listed")
    rows.append((count, label, ms))
    return found


def measure(count):
    load = os.getloadavg()[0]
    ramp, run = fill(count)
    ps = timed_list(["ps"], count)
    ps_a = timed_list(["ps", "-a"], count)
    # After the listings: each crun run leaves a network namespace that the
    # kernel tears down in a worker thread after it returns.
    mounts, unshare_ms, crun_ms = floor()
    running = ids(False)
    stop_ms, _ = berth("stop", "-t", "0", *running)
    ps_exited = timed_list(["ps", "-a"], count)
    if ids(False):
        raise RuntimeError("containers still running after stop -t 0")
    rm_rows = []
    leaked = remove_all(lambda ids: ["rm", "-f", *[i[:12] for i in ids]], "rm -f $(ps -aq), exited", count, rm_rows)
    fill_again_t0 = time.perf_counter()
    for _ in range(count):
        run_one()
    refill = (time.perf_counter() - fill_again_t0) * 1000 / max(count, 1)
    # A berth without Podman's -a (older builds): the same removal by IDs, flagged.
    if "--all" in berth("rm", "--help", check=False)[1]:
        leaked2 = remove_all(lambda ids: ["rm", "-af"], "rm -af, running", count, rm_rows)
    else:
        leaked2 = remove_all(lambda ids: ["rm", "-f", *ids], "rm -f IDS, running", count, rm_rows)
        leaked2.append("(no rm -a in this berth: rm -f $(ps -aq --no-trunc) instead)")
    return {
        "count": count, "load": load, "run": statistics.median(run), "run_p90": sorted(run)[int(0.9 * (len(run) - 1))],
        "ramp": statistics.median(ramp),
        "mounts": mounts, "unshare": unshare_ms, "crun": crun_ms,
        "ps": ps, "ps_a": ps_a, "stop": stop_ms, "ps_exited": ps_exited, "rm_exited": rm_rows[0][2],
        "rm_running": rm_rows[1][2], "refill": refill, "leaks": leaked + [f"(rm -af) {x}" for x in leaked2],
    }


def main():
    counts = [int(c) for c in sys.argv[1:]] or [1, 10, 100, 1000]
    results = []
    for count in counts:
        print(f"count {count}: load average {os.getloadavg()[0]:.2f} ...", file=sys.stderr, flush=True)
        try:
            results.append(measure(count))
        except RuntimeError as e:
            print(f"count {count}: {e}", file=sys.stderr)
            results.append({"count": count, "error": str(e)})
            # Leave an empty store for the next count.
            left = ids(True)
            if left:
                berth("rm", "-f", *left, check=False)
    print()
    print("berth at scale: `run -d --network none busybox sleep 100000` COUNT times (ms; median unless said)")
    head = ("count", "load", "run -d", "run p90", "ramp", "host mounts", "unshare -m", "crun run", "ps", "ps -a",
            "stop all", "ps -a exited", "rm -f exited", "rm -af running", "leaks")
    print("  ".join(f"{h:>14}" if i else f"{h:>6}" for i, h in enumerate(head[:-1])) + "  leaks")
    for r in results:
        if "error" in r:
            print(f"{r['count']:>6}  failed: {r['error']}")
            continue
        crun = f"{r['crun']:>14.1f}" if r["crun"] is not None else f"{'-':>14}"
        cells = [f"{r['count']:>6}", f"{r['load']:>14.2f}", f"{r['run']:>14.1f}", f"{r['run_p90']:>14.1f}",
                 f"{r['ramp']:>14.1f}", f"{r['mounts']:>14}", f"{r['unshare']:>14.2f}", crun] + [
            f"{r[k]:>14.1f}" for k in ("ps", "ps_a", "stop", "ps_exited", "rm_exited", "rm_running")
        ]
        print("  ".join(cells) + "  " + ("; ".join(r["leaks"]) or "none"))
    print()
    print("run -d: median of 20 runs, each 100 ms after removing the newest container (COUNT-1 others running);")
    print("ramp: median of the last 20 runs of the back-to-back fill (COUNT-20 … COUNT-1 running); load: 1-minute")
    print("load average before the count; host mounts: lines of /proc/self/mountinfo with COUNT running;")
    print("unshare -m: `unshare -m /bin/true`, the kernel's copy of that table into a new mount namespace,")
    print("which every container start pays; crun run: a prepared bundle with no layer, the same namespaces")
    print("and host mounts (median of 10; '-' without crun); stop all: `stop -t 0` of every running container in one command;")
    print("rm -f exited: `rm -f $(ps -aq)` after that stop; rm -af running: Podman's spelling, COUNT running.")


if __name__ == "__main__":
    main()
