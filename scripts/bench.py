#!/usr/bin/env python3
"""The measuring half of scripts/bench.sh (Python 3 standard library only).

bench.sh prepares a scratch directory and exports BENCH_T (its path),
BERTH_BIN and BENCH_CG; this script times every operation, interleaving the
tools round-robin per iteration (the starting tool rotates each round), and
prints the table and the monitor memory figures. bench.sh's trap cleans up
whatever this script leaves when it is interrupted.

`bench.py --worker` is the helper that runs inside the private mount
namespace (cgroup2 hidden) for crun: it reads one JSON argv per line on stdin
and answers with the same timing function the host side uses, so crun is
timed inside that namespace without counting unshare's own cost.
"""
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

DEVNULL = subprocess.DEVNULL
PIPE = subprocess.PIPE


def timed(argv, env=None):
    """Wall-clock of one command, in ms, with its exit code and output."""
    env = dict(os.environ, **env) if env else None
    start = time.perf_counter_ns()
    p = subprocess.run(argv, stdin=DEVNULL, stdout=PIPE, stderr=PIPE, env=env)
    ms = (time.perf_counter_ns() - start) / 1e6
    return ms, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


_overlay_runs = 0


def timed_over_overlay(argv, lower, scratch, target):
    """`timed`, around the least an engine adds to run a container on a
    copy-on-write layer of its own: a fresh upper and work directory, the
    overlay mounted on the bundle's root (volatile: no sync at the unmount,
    as Berth's `--rm`), and after the exit the unmount. Each step is a system
    call of this process, counted in the time. The directories are removed
    after the time is taken, as Berth's monitor removes a `--rm` container's
    files after its client has the exit code."""
    import ctypes
    global _overlay_runs
    libc = ctypes.CDLL(None, use_errno=True)
    _overlay_runs += 1
    layer = os.path.join(scratch, str(_overlay_runs))
    start = time.perf_counter_ns()
    os.mkdir(layer)
    os.mkdir(layer + "/upper")
    os.mkdir(layer + "/work")
    options = f"lowerdir={lower},upperdir={layer}/upper,workdir={layer}/work,volatile".encode()
    if libc.mount(b"overlay", target.encode(), b"overlay", 0, options) != 0:
        raise OSError(ctypes.get_errno(), "mount overlay on " + target)
    try:
        p = subprocess.run(argv, stdin=DEVNULL, stdout=PIPE, stderr=PIPE)
    finally:
        libc.umount2(target.encode(), 0)
        ms = (time.perf_counter_ns() - start) / 1e6
        shutil.rmtree(layer)
    return ms, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def worker():
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent decides; EOF on stdin ends us
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if isinstance(request, dict):
                result = list(timed_over_overlay(request["argv"], **request["overlay"]))
            else:
                result = list(timed(request))
        except OSError as e:
            result = [0.0, 127, "", str(e)]
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


class Worker:
    """A long-lived `bench.py --worker` in a private mount namespace."""

    def __init__(self):
        script = ('if [ -d /sys/fs/cgroup/freezer ] && mountpoint -q /sys/fs/cgroup/unified; '
                  'then umount /sys/fs/cgroup/unified; fi; exec "$@"')
        self.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
             sys.executable, os.path.abspath(__file__), "--worker"],
            stdin=PIPE, stdout=PIPE, text=True)

    def timed(self, argv):
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            return 0.0, 125, "", "the private-namespace worker died"
        ms, rc, out, err = json.loads(line)
        return ms, rc, out, err

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


class Series:
    """Timings of one (operation, tool) row."""

    def __init__(self, op, tool, group, missing=None):
        self.op, self.tool, self.group = op, tool, group
        self.missing = missing          # "not installed" or why it cannot run
        self.ms = []
        self.failures = 0
        self.error = None
        self.disabled = False

    def record(self, ms, rc, err, keep):
        if rc == 0:
            if keep:
                self.ms.append(ms)
            return True
        self.failures += 1
        if self.error is None:
            lines = [l for l in err.strip().splitlines() if l.strip()]
            self.error = f"rc={rc}: " + (lines[-1] if lines else "no message")
        if self.failures >= 3 and not self.ms:
            self.disabled = True        # failing every time: stop spending time on it
        return False


def first_line(argv):
    try:
        p = subprocess.run(argv, stdin=DEVNULL, stdout=PIPE, stderr=PIPE, timeout=20)
        text = (p.stdout or p.stderr).decode(errors="replace").strip().splitlines()
        return text[0] if text else "?"
    except Exception:
        return "?"


def which(name):
    return shutil.which(name) is not None


def percentile(values, q):
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def proc_memory(pid):
    """VmRSS, RssAnon, RssFile (from status) and Pss (smaps_rollup), in kB."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "Name"):
                    out[key] = value.strip()
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["Pss"] = line.split(":")[1].strip()
    except OSError:
        pass
    return out


def mem_available_kb():
    """MemAvailable from /proc/meminfo, in kB."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


# The /proc/meminfo fields no reclaim can free (there is no swap here): what a
# running container pins. MemAvailable also counts page cache, which this VM's
# DAMON `pageout` scheme (kdamond) evicts on its own schedule, so its drop
# moved by hundreds of kB per container between runs, and below zero.
PINNED_FIELDS = ("AnonPages", "Shmem", "SUnreclaim", "KernelStack", "PageTables", "Percpu")


def meminfo_kb(fields):
    """The sum of these /proc/meminfo fields, in kB."""
    total = 0
    with open("/proc/meminfo") as f:
        for line in f:
            key = line.split(":")[0]
            if key in fields:
                total += int(line.split()[1])
    return total


def settled_mem_available_kb():
    """The median of five MemAvailable readings 0.2 s apart (other work moves
    it), after a sync and a drop of the clean page cache and slab: what other
    work leaves there (a build's files) would otherwise move the reading by
    megabytes, and what a container keeps there (its record, its log) is
    reclaimable, so not its cost."""
    subprocess.run(["sync"], stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass
    time.sleep(0.5)
    readings, pinned = [], []
    for _ in range(5):
        readings.append(mem_available_kb())
        pinned.append(meminfo_kb(PINNED_FIELDS))
        time.sleep(0.2)
    return statistics.median(readings), statistics.median(pinned)


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def many_containers(name, count, run_argv, pid_argv, remove):
    """Starts `count` `sleep` containers one after another, then measures the
    drop of MemAvailable and the PSS of every per-container monitor; removes
    them. Returns a dict of figures or an error text."""
    before = settled_mem_available_kb()
    ids = []
    try:
        for _ in range(count):
            ms, rc, out, err = timed(run_argv)
            if rc != 0:
                return f"run -d failed after {len(ids)}: " + (err.strip().splitlines() or ["?"])[-1]
            ids.append(out.strip().splitlines()[-1])
        time.sleep(1)
        after = settled_mem_available_kb()
        pss = []
        programs = {}
        for cid in ids:
            _, rc, pid, _ = timed(pid_argv + [cid])
            value = pss_kb(pid.strip()) if rc == 0 and pid.strip().isdigit() else None
            if value is not None:
                pss.append(value)
                # Which program the monitor runs now (Berth's hands over to berth-monitor).
                try:
                    program = os.path.basename(os.readlink(f"/proc/{pid.strip()}/exe"))
                except OSError:
                    program = "?"
                programs[program] = programs.get(program, 0) + 1
        return {"count": count, "drop": (before[0] - after[0]) / count, "pinned": (after[1] - before[1]) / count,
                "pss": statistics.mean(pss) if pss else None, "monitors": len(pss),
                "programs": ", ".join(f"{n} {p}" for p, n in sorted(programs.items()))}
    finally:
        for cid in ids:
            subprocess.run(remove + [cid], stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)


def median_rounds(results):
    """The figures of several many_containers rounds: the median of each, with
    every round's MemAvailable drop kept to print; the first error if any."""
    for r in results:
        if isinstance(r, str):
            return r
    pss = [r["pss"] for r in results if r["pss"] is not None]
    return {"count": results[0]["count"], "drop": statistics.median(r["drop"] for r in results),
            "drops": [r["drop"] for r in results], "pinned": statistics.median(r["pinned"] for r in results),
            "pinneds": [r["pinned"] for r in results], "pss": statistics.median(pss) if pss else None,
            "monitors": results[-1]["monitors"], "programs": results[-1]["programs"]}


def main():
    T = os.environ["BENCH_T"]
    berth = os.environ["BERTH_BIN"]
    n = int(os.environ.get("BENCH_N", "30"))
    warmup = int(os.environ.get("BENCH_WARMUP", "2"))
    # Idle time before every timed command. Moving a process into a cgroup v1
    # hierarchy waits for an RCU grace period (~10-15 ms here) unless another
    # move happened in the last ~20-50 ms; without the gap a tool would be
    # timed warm or cold depending on which tool ran just before it.
    # Two regimes by default (BENCH_GAPS="100 0"): 100 ms idle before every
    # command (a person typing; every cgroup move is cold), and back to back
    # (a script or a REPL loop: the command runs twice with no pause and the
    # second run is timed, so what ran just before it is itself). The
    # lifecycle rows use the first regime. BENCH_GAP_MS=N keeps one regime.
    if "BENCH_GAP_MS" in os.environ:
        gaps = [int(os.environ["BENCH_GAP_MS"])]
    else:
        gaps = [int(g) for g in os.environ.get("BENCH_GAPS", "100 0").split()]
    gap = gaps[0] / 1000
    store = ["--root", f"{T}/store"]
    B = [berth] + store
    # Podman's private configuration and storage (bench.sh wrote them).
    os.environ.update(CONTAINERS_CONF=f"{T}/podman/containers.conf",
                      CONTAINERS_STORAGE_CONF=f"{T}/podman/storage.conf")
    rootfs = f"{T}/rootfs"
    has = {t: which(t) for t in ("runc", "crun", "podman", "unshare", "chroot")}
    has_bundle = os.path.exists(f"{T}/bundle-runc/config.json")

    worker = Worker() if has["unshare"] and (has["crun"] or has["runc"]) else None

    # The Docker Engine API (docs/api.md): `berth system service` on a socket
    # of the scratch dir, over the same store, driven by the docker CLI.
    service, api_missing = None, None
    api_socket = f"{T}/api.sock"
    if not which("docker"):
        api_missing = "no docker CLI"
    elif not os.access(os.path.join(os.path.dirname(berth), "berth-service"), os.X_OK):
        api_missing = "no berth-service beside berth"
    else:
        service = subprocess.Popen(B + ["system", "service", "--time", "0", "unix://" + api_socket],
                                   stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        for _ in range(100):
            if os.path.exists(api_socket):
                break
            time.sleep(0.05)
        else:
            api_missing = "the service did not start"
    api_env = dict(os.environ, DOCKER_HOST="unix://" + api_socket, DOCKER_CONFIG=f"{T}/docker-config")
    need_ns = None if has["unshare"] else "needs unshare (util-linux)"
    series = []

    # BENCH_ROWS="berth (namespaces, crun": only the rows whose tool starts
    # with one of these comma-separated prefixes (an A/B of a few rows with
    # more rounds); the others print as not selected.
    selected = [p.strip() for p in os.environ.get("BENCH_ROWS", "").split(",") if p.strip()]

    def row(op, tool, group, missing=None):
        if selected and not missing and not any(tool.startswith(p) for p in selected):
            missing = "not selected (BENCH_ROWS)"
        s = Series(op, tool, group, missing)
        series.append(s)
        return s

    # ---- run-like rows: one function per row, each times one complete run.
    units = []

    def regime(ms):
        return f"{ms} ms idle" if ms else "back to back"

    def simple(template, argv, via_worker=False, env=None):
        """One row per regime: `template` is the row of the first regime."""
        for i, g in enumerate(gaps):
            if i == 0:
                s = template
            else:
                s = row(template.op, template.tool, template.group, template.missing)
            s.op = f"run ({regime(g)})"

            def go(keep, s=s, g=g):
                if s.missing or s.disabled:
                    return
                if g:
                    time.sleep(g / 1000)
                else:           # back to back: the same command just before, untimed
                    if worker and via_worker:
                        worker.timed(argv)
                    else:
                        timed(argv, env)
                ms, rc, _, err = worker.timed(argv) if via_worker else timed(argv, env)
                s.record(ms, rc, err, keep)
            units.append(go)

    # --network none: the OCI bundles and podman's row get a network namespace
    # with no veth either, so every tool does the same work.
    simple(row("run true", "berth (namespaces, overlay)", "run"), B + ["run", "--rm", "--network", "none", "busybox", "true"])
    # The same run without Docker's seccomp profile: what the filter costs
    # (compiling it in the monitor, loading it in the child).
    simple(row("run true", "berth seccomp=unconfined", "run"),
           B + ["run", "--rm", "--network", "none", "--security-opt", "seccomp=unconfined", "busybox", "true"])
    # The same run without the device cgroup rules (docs/security.md#devices):
    # what the allowlist costs a start. The switch exists only for this row.
    simple(row("run true", "berth, no device rules", "run"), B + ["run", "--rm", "--network", "none", "busybox", "true"],
           env={"BERTH_BENCH_NO_DEVICE_RULES": "1"})
    # The same run in a user namespace of its own (docs/userns.md): the
    # range allocation under the store's lock, the idmapped layers, the maps.
    # Its subordinate ids come from a file of the scratch dir, so the host's
    # /etc/subuid is never touched.
    subids = f"{T}/subids"
    with open(subids, "w") as f:
        f.write("containers:2147483647:2147483648\n")
    simple(row("run true", "berth --userns=auto", "run"),
           B + ["run", "--rm", "--network", "none", "--userns=auto", "busybox", "true"],
           env={"BERTH_TEST_SUBUID": subids, "BERTH_TEST_SUBGID": subids})
    simple(row("run true", "docker CLI → berth API", "run", api_missing),
           ["docker", "run", "--rm", "--network", "none", "busybox", "true"], env=api_env)
    simple(row("run true", "berth --network bridge", "run"), B + ["run", "--rm", "busybox", "true"])
    # Rootless (docs/rootless.md): the same run by a throw-away non-root user
    # bench.sh made, through setpriv (which adds its own exec, ~1 ms).
    rl_user = os.environ.get("BENCH_ROOTLESS_USER", "")
    rl_env = dict(os.environ, HOME=f"{T}/rootless/home", XDG_RUNTIME_DIR=f"{T}/rootless/run")
    simple(row("run true", "berth rootless", "run", None if rl_user else "no rootless user (uidmap missing?)"),
           ["setpriv", f"--reuid={rl_user}", f"--regid={rl_user}", "--init-groups", f"{T}/rootless/bin/berth",
            "run", "--rm", "--network", "none", "busybox", "true"], env=rl_env)
    simple(row("run true", "berth --isolation chroot", "run"),
           B + ["run", "--rm", "--isolation", "chroot", "busybox", "true"])
    simple(row("run true", "berth --storage copy", "run"),
           B + ["run", "--rm", "--network", "none", "--storage", "copy", "busybox", "true"])
    crun = row("run true", "crun (private mnt ns)", "run",
               (None if has_bundle else "no bundle (runc spec failed)") if has["crun"] else "not installed")
    crun.missing = crun.missing or need_ns
    simple(crun, ["crun", "--root", f"{T}/crun-state", "run", "--bundle", f"{T}/bundle-crun", "bench-crun"], True)
    # crun on a copy-on-write layer made and removed around each run: what
    # any engine that gives each container a writable layer of its own
    # (Docker, Podman, Berth) cannot do without (docs/benchmarks.md).
    crun_cow = row("run true", "crun + overlay layer", "run", crun.missing)
    simple(crun_cow, {"argv": ["crun", "--root", f"{T}/crun-state", "run", "--bundle", f"{T}/bundle-crun-cow",
                               "bench-crun-cow"],
                      "overlay": {"lower": rootfs, "scratch": f"{T}/cow", "target": f"{T}/cow-root"}}, True)
    simple(row("run true", "crun + overlay + seccomp", "run", crun.missing),
           {"argv": ["crun", "--root", f"{T}/crun-state", "run", "--bundle", f"{T}/bundle-crun-engine", "bench-crun-engine"],
            "overlay": {"lower": rootfs, "scratch": f"{T}/cow", "target": f"{T}/cow-root"}}, True)
    simple(row("run true", "crun + overlay + compiled seccomp", "run", crun.missing),
           {"argv": ["crun", "--root", f"{T}/crun-state", "run", "--bundle", f"{T}/bundle-crun-bpf", "bench-crun-bpf"],
            "overlay": {"lower": rootfs, "scratch": f"{T}/cow", "target": f"{T}/cow-root"}}, True)
    runc_missing = (None if has_bundle else "no bundle (runc spec failed)") if has["runc"] else "not installed"
    simple(row("run true", "runc", "run", runc_missing),
           ["runc", "--root", f"{T}/runc-state", "run", "--bundle", f"{T}/bundle-runc", "bench-runc"])
    simple(row("run true", "runc (private mnt ns)", "run", runc_missing or need_ns),
           ["runc", "--root", f"{T}/runc-state", "run", "--bundle", f"{T}/bundle-runc", "bench-runc-ns"], True)
    simple(row("run true", "podman --network none", "run", None if has["podman"] else "not installed"),
           ["podman", "run", "--rm", "--network", "none", "busybox", "true"])
    simple(row("run true", "unshare+chroot (floor)", "run", need_ns),
           ["unshare", "--pid", "--mount", "--uts", "--ipc", "--net", "--fork", "chroot", rootfs, "/bin/true"])
    simple(row("run true", "chroot only (no namespaces)", "run"), ["chroot", rootfs, "/bin/true"])

    # ---- lifecycle rows: one sequence per tool per round, steps timed one by one.
    steps = ["create", "start", "pause", "unpause", "stop -t 0", "rm"]
    leftovers = {"berth": set(), "podman": set()}

    def lifecycle(tool, base, create_args, missing):
        rows = {step: row(step, tool, "lifecycle", missing) for step in steps}
        first = rows["create"]

        def go(keep):
            if first.missing or first.disabled:
                return
            time.sleep(gap)
            ms, rc, out, err = timed(base + ["create"] + create_args)
            if not first.record(ms, rc, err, keep):
                return
            cid = out.strip().splitlines()[-1]
            leftovers[tool].add(cid)
            ok = True
            for step in steps[1:]:
                words = step.split()
                time.sleep(gap)
                ms, rc, _, err = timed(base + words + [cid])
                if not rows[step].record(ms, rc, err, keep):
                    ok = False
                    break
            if ok:
                leftovers[tool].discard(cid)
            else:
                subprocess.run(base + ["rm", "-f", cid], stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
                leftovers[tool].discard(cid)
        units.append(go)

    lifecycle("berth", B, ["--network", "none", "busybox", "sleep", "1000"], None)
    lifecycle("podman", ["podman"], ["--network", "none", "busybox", "sleep", "1000"],
              None if has["podman"] else "not installed")

    # ---- header
    def version(argv):
        return first_line(argv) if which(argv[0]) or argv[0].startswith("/") else "not installed"

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    try:
        debian = open("/etc/debian_version").read().strip()
    except OSError:
        debian = "?"
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    print("Berth side-by-side benchmark")
    print(f"  date     {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"  machine  {os.cpu_count()} CPUs ({cpu}), {mem_kb // 1024} MiB, Debian {debian}, "
          f"kernel {platform.release()}")
    print(f"  berth    {first_line([berth, 'version'])}  ({berth})")
    for tool, argv in (("crun", ["crun", "--version"]), ("runc", ["runc", "--version"]),
                       ("podman", ["podman", "--version"]), ("conmon", ["conmon", "--version"])):
        print(f"  {tool:<8} {version(argv)}")
    print(f"  rounds   {n} timed (+{warmup} warm-up), tools interleaved round-robin, start rotating each round")
    print(f"  regimes  run rows: {', '.join(regime(g) for g in gaps)}; lifecycle rows: {regime(gaps[0])}")
    print("           (BENCH_GAPS / BENCH_GAP_MS; see docs/benchmarks.md)")
    print(f"  scratch  {T}")
    print()
    sys.stdout.flush()

    # ---- measure
    started = time.monotonic()
    mem_n = int(os.environ.get("BENCH_MEM_N", "100"))
    mem_rounds = int(os.environ.get("BENCH_MEM_ROUNDS", "3"))
    scale = []
    try:
        for i in range(warmup + n):
            keep = i >= warmup
            k = i % len(units)
            for go in units[k:] + units[:k]:
                go(keep)
            if i == warmup - 1 or (keep and (i - warmup + 1) % 10 == 0):
                done = "warm-up" if i < warmup else f"{i - warmup + 1}/{n}"
                print(f"  ... {done} rounds ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)

        # ---- memory of the per-container monitor, one running container each
        memory = []
        ms, rc, out, err = timed(B + ["run", "-d", "busybox", "sleep", "1000"])
        if rc == 0:
            cid = out.strip().splitlines()[-1]
            leftovers["berth"].add(cid)
            _, _, pid, _ = timed(B + ["inspect", "-f", "{{.State.MonitorPid}}", cid])
            memory.append(("berth monitor", pid.strip(), None))
        else:
            memory.append(("berth monitor", None, "run -d failed: " + err.strip()))
        if has["podman"]:
            ms, rc, out, err = timed(["podman", "run", "-d", "--network", "none", "busybox", "sleep", "1000"])
            if rc == 0:
                cid = out.strip().splitlines()[-1]
                leftovers["podman"].add(cid)
                _, _, pid, _ = timed(["podman", "inspect", "-f", "{{.State.ConmonPid}}", cid])
                memory.append(("conmon (podman)", pid.strip(), None))
            else:
                memory.append(("conmon (podman)", None, "run -d failed: " + err.strip()))
        else:
            memory.append(("conmon (podman)", None, "not installed"))
        # The API service, idle (every request above has finished).
        if service and service.poll() is None:
            memory.append(("berth-service", str(service.pid), None))
        else:
            memory.append(("berth-service", None, api_missing or "the service exited"))
        time.sleep(0.5)
        memory = [(name, pid, note, proc_memory(pid) if pid else {}) for name, pid, note in memory]
        for cid in leftovers["berth"]:
            subprocess.run(B + ["rm", "-f", cid], stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        for cid in leftovers["podman"]:
            subprocess.run(["podman", "rm", "-f", "-t", "0", cid], stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        leftovers["berth"].clear()
        leftovers["podman"].clear()

        # ---- memory per running container, BENCH_MEM_N (default 100) of each,
        # BENCH_MEM_ROUNDS (default 3) rounds with the tools' order swapped each
        # round: the MemAvailable reading moves by hundreds of kB a container
        # between rounds (see PINNED_FIELDS), so one round decides nothing.
        if mem_n > 0:
            rounds = {"berth": [], "podman": []}
            tools = {
                "berth": (B + ["run", "-d", "--network", "none", "busybox", "sleep", "1000"],
                          B + ["inspect", "-f", "{{.State.MonitorPid}}"], B + ["rm", "-f"]),
                "podman": (["podman", "run", "-d", "--network", "none", "busybox", "sleep", "1000"],
                           ["podman", "inspect", "-f", "{{.State.ConmonPid}}"], ["podman", "rm", "-f", "-t", "0"]),
            }
            for r in range(mem_rounds):
                for name in (["berth", "podman"] if r % 2 == 0 else ["podman", "berth"]):
                    if name == "podman" and not has["podman"]:
                        continue
                    print(f"  ... memory with {mem_n} running {name} containers, round {r + 1} of {mem_rounds}",
                          file=sys.stderr, flush=True)
                    rounds[name].append(many_containers(name, mem_n, *tools[name]))
            scale.append(("berth", median_rounds(rounds["berth"])))
            scale.append(("podman", median_rounds(rounds["podman"]) if has["podman"] else "not installed"))
    finally:
        if service:
            service.terminate()
            service.wait()
        if worker:
            worker.close()
        for cid in leftovers["berth"]:
            subprocess.run(B + ["rm", "-f", cid], stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        for cid in leftovers["podman"]:
            subprocess.run(["podman", "rm", "-f", "-t", "0", cid], stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)

    # ---- table
    def median(s):
        return statistics.median(s.ms) if s.ms else None

    # Rows of one regime together (the first regime's first), then the lifecycle.
    order = {f"run ({regime(g)})": i for i, g in enumerate(gaps)}
    series.sort(key=lambda s: (s.group != "run", order.get(s.op, 0)))
    crun_by_op = {s.op: median(s) for s in series if s.group == "run" and s.tool == crun.tool}
    crun_run = median(crun)
    podman_step = {s.op: median(s) for s in series if s.group == "lifecycle" and s.tool == "podman"}
    # crun doing an engine's run: a layer of its own and Berth's compiled filter.
    same_job = {s.op: median(s) for s in series
                if s.group == "run" and s.tool == "crun + overlay + compiled seccomp" and not s.missing}
    head = ["operation", "tool", "median ms", "p90 ms", "min", "max", "ratio", "same job"]
    lines = []
    for s in series:
        if s.missing:
            lines.append([s.op, s.tool, s.missing, "", "", "", "", ""])
            continue
        if not s.ms:
            lines.append([s.op, s.tool, f"failed ({s.error})", "", "", "", "", ""])
            continue
        med = median(s)
        base = crun_by_op.get(s.op) if s.group == "run" else podman_step.get(s.op)
        ratio = f"{med / base:.2f}x" if base else "n/a"
        job = same_job.get(s.op) if s.group == "run" else None
        cells = [s.op, s.tool, f"{med:.1f}", f"{percentile(s.ms, 0.9):.1f}", f"{min(s.ms):.1f}", f"{max(s.ms):.1f}", ratio,
                 f"{med / job:.2f}x" if job else ""]
        if s.failures:
            cells[1] += f" ({s.failures} failed: {s.error})"
        lines.append(cells)
    figured = [head] + [r for r in lines if r[3]]
    widths = [max(len(r[i]) for r in ([head] + lines if i < 2 else figured)) for i in range(len(head))]
    right = {2, 3, 4, 5, 6, 7}

    def fmt(r):
        if not r[3]:          # "not installed" / "failed (...)" spans the figure columns
            return "  ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2]])
        return "  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)).rstrip()

    print(fmt(head))
    print("  ".join("-" * w for w in widths))
    group = None
    for s, r in zip(series, lines):
        if group and (s.group, s.op if s.group == "run" else "") != group:
            print()
        group = (s.group, s.op if s.group == "run" else "")
        print(fmt(r))
    print()
    print("ratio: median / crun's `run true` median in the same regime for run rows; / podman's median of")
    print("the same step for lifecycle rows. same job: a run row's median / that of `crun + overlay + compiled")
    print("seccomp` in the same regime (crun with a fresh layer and Berth's compiled filter, as an engine's run).")
    print("ms are wall-clock per command as the caller sees it, including each CLI's start. Back to back:")
    print("each command runs twice with no pause and the second is timed.")
    if crun_run is None:
        print("(crun did not run here, so run rows have no ratio)")
    print()

    print("resident memory of the per-container monitor (one running `sleep 1000` container each),")
    print("and of the idle API service (`berth system service`)")
    print(f"  {'process':<16} {'pid':>7}  {'VmRSS':>10}  {'RssAnon':>10}  {'RssFile':>10}  {'Pss':>10}")
    for name, pid, note, m in memory:
        if note or not m:
            print(f"  {name:<16} {'':>7}  {note or 'process not found'}")
            continue
        print(f"  {name:<16} {pid:>7}  {m.get('VmRSS', '?'):>10}  {m.get('RssAnon', '?'):>10}  "
              f"{m.get('RssFile', '?'):>10}  {m.get('Pss', '?'):>10}")
    if scale:
        print()
        print(f"memory per running container, {mem_n} `sleep 1000` containers per tool (--network none),")
        print(f"the median of {mem_rounds} rounds (the tools' order swapped each round; every round's figure in")
        print("brackets): the drop of the host's MemAvailable divided by the count (median of 5 readings")
        print("before and after; other work on the host, and page cache evicted by reclaim, move it), the growth of")
        print("pinned memory (AnonPages + Shmem + SUnreclaim + KernelStack + PageTables + Percpu from")
        print("/proc/meminfo: what no reclaim frees), and the mean PSS of each container's monitor")
        print("(berth's State.MonitorPid, Podman's conmon), from /proc/PID/smaps_rollup")
        print(f"  {'tool':<8} {'MemAvailable drop':>20} {'pinned':>14} {'monitor PSS':>14}")
        for name, r in scale:
            if isinstance(r, str):
                print(f"  {name:<8} {r}")
                continue
            pss = f"{r['pss']:.0f} kB" if r["pss"] is not None else "?"
            print(f"  {name:<8} {r['drop']:>14.0f} kB/ctr {r['pinned']:>7.0f} kB/ctr {pss:>14}"
                  f"   ({r['monitors']} monitors read: {r['programs']})")
            print(f"  {'':<8} [{' '.join(f'{d:.0f}' for d in r['drops'])}]"
                  f" [{' '.join(f'{d:.0f}' for d in r['pinneds'])}]")
    print(f"\ntotal {time.monotonic() - started:.0f} s of measuring")


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        worker()
    else:
        try:
            main()
        except KeyboardInterrupt:
            print("\ninterrupted; cleaning up", file=sys.stderr)
            sys.exit(130)
