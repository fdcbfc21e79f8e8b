#!/usr/bin/env python3
"""make test's runner: `swift test --skip-build` with a deadline, and a check
that nothing the tests started outlives them.

    python3 scripts/run-tests.py [swift test arguments...]

`swift test` relays the test binary's stdout and stderr through pipes and
waits until both are closed. A process a test started that still holds one of
them (a daemon that inherited the binary's stdio) keeps `swift test` waiting
after the last test has ended, with the relay's last lines still in its
buffer: CI then runs into its own time limit and shows nothing of why. Here:

- once the test binary has exited and `swift test` has not GRACE seconds
  later, every process still holding those pipes is named, killed, and the
  run fails (a test that leaks a process is a defect);
- past TEST_DEADLINE seconds (default 2700) every process on the machine is
  listed with its state, wait channel, age and command line, so the hung test
  can be found by its store's path, and the run is killed: exit 124.

Exits with swift test's own status otherwise."""
import os, signal, subprocess, sys, time



def seconds(name, default):
    """A positive number of seconds from the environment, else exit 2 naming it."""
    text = os.environ.get(name, default)
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        sys.stderr.write(f"run-tests: {name}={text!r} is not a positive number of seconds; unset it or set, e.g., {name}={default}\n")
        sys.exit(2)
    return value


DEADLINE = seconds("TEST_DEADLINE", "2700")
# The tests' own limit on one command (Tests/…/Support.swift) reads only a
# whole number of seconds that fits an Int32 and falls back to 600 otherwise:
# say so here instead of running with a limit nobody asked for.
_process = os.environ.get("BERTH_TEST_PROCESS_SECONDS")
if _process is not None and not (_process.isdigit() and 0 < int(_process) <= 2**31 - 1):
    sys.stderr.write(f"run-tests: BERTH_TEST_PROCESS_SECONDS={_process!r} is not a whole number of seconds "
                     "from 1 to 2147483647; unset it or set, e.g., BERTH_TEST_PROCESS_SECONDS=600\n")
    sys.exit(2)
GRACE = seconds("TEST_GRACE", "60")
TEST_BINARY = "BerthPackageTes"  # /proc/PID/comm keeps 15 characters


def say(text):
    os.write(2, ("run-tests: " + text + "\n").encode())


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def processes():
    """{pid: (ppid, state, comm)} of every process that can be read."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat = read(f"/proc/{name}/stat").decode(errors="replace")
        if ")" not in stat:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(name)] = (int(fields[1]), fields[0], comm)
    return table


def descendants(root, table):
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def describe(pid):
    stat = read(f"/proc/{pid}/stat").decode(errors="replace")
    fields = stat[stat.rindex(")") + 2 :].split() if ")" in stat else []
    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(read("/proc/uptime").split()[0] or 0)
    age = int(uptime - int(fields[19]) / ticks) if len(fields) > 19 else -1
    wchan = read(f"/proc/{pid}/wchan").decode(errors="replace") or "-"
    args = read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace").strip()
    state = fields[0] if fields else "?"
    ppid = fields[1] if len(fields) > 1 else "?"
    return f"{pid:>7} ppid {ppid:>7} {state} {age:>6}s {wchan:<24} {args[:300]}"


def pipes_of(pid):
    found = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("pipe:"):
                found.add(target)
    except OSError:
        pass
    return found


def holders(pipes, exclude):
    """PIDs other than `exclude` with one of `pipes` open."""
    found = []
    for pid in processes():
        if pid not in exclude and pipes_of(pid) & pipes:
            found.append(pid)
    return found


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def main():
    swift = os.environ.get("SWIFT", "swift")
    try:
        child = subprocess.Popen([swift, "test", "--skip-build"] + sys.argv[1:])
    except OSError as error:
        say(f"cannot start {swift!r} ({error.strerror}); put Swift 6 on PATH or set SWIFT")
        return 127
    began = time.monotonic()
    binary_seen, binary_gone_at, leaked = False, None, False
    while True:
        try:
            status = child.wait(timeout=2)
            break
        except subprocess.TimeoutExpired:
            pass
        table = processes()
        below = descendants(child.pid, table)
        # A binary that has ended but is not yet reaped (Z) counts as gone.
        binaries = [p for p in below if table[p][2].startswith(TEST_BINARY) and table[p][1] != "Z"]
        if binaries:
            binary_seen, binary_gone_at = True, None
        elif binary_seen and binary_gone_at is None:
            binary_gone_at = time.monotonic()
        if binary_gone_at is not None and time.monotonic() - binary_gone_at > GRACE and not leaked:
            leaked = True
            # The pipes swift test reads the binary's output from: not the ones
            # it shares with this runner (its own stdout may be CI's pipe).
            pipes = pipes_of(child.pid) - pipes_of(os.getpid())
            stuck = holders(pipes, {child.pid, os.getpid()})
            say(f"the test binary ended {GRACE:.0f} s ago, and swift test still waits for its output: "
                f"{len(stuck)} process(es) a test started still hold it. Killing them:")
            for pid in stuck:
                say(describe(pid))
            kill_all(stuck)
        if time.monotonic() - began > DEADLINE:
            say(f"the tests ran past TEST_DEADLINE={DEADLINE:.0f} s. Every process (pid, parent, state, "
                "age, wait channel, command):")
            for pid in sorted(processes()):
                if read(f"/proc/{pid}/cmdline"):
                    say(describe(pid))
            kill_all(descendants(child.pid, processes()) + [child.pid])
            child.wait()
            return 124
    if leaked:
        say("failed: processes outlived the tests (above); each test must end what it starts.")
        return status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
