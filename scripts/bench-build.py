#!/usr/bin/env python3
"""`berth build` against `podman build` on one 10-step Dockerfile (busybox):
a cold build (every step runs: `--no-cache`) and a fully cached rebuild,
each timed N times; prints the medians side by side. Run as root:

    make bench-build                 (release build and image first)
    BENCH_BUILD_N=5 python3 scripts/bench-build.py

Environment: BERTH_BIN (default .build/release/berth), BERTH_BUSYBOX_TAR
(default .build/busybox.tar), BENCH_BUILD_N (rounds, default 3).

Berth gets its own store; Podman its own root, run root, tmp dir and
containers.conf (../shared/PEERS.md), with its default overlay driver and
runtime. Both build with real containers for RUN. Everything is removed at
the end, also on failure. A benchmark, not a test: it never fails on a slow
figure, only when a tool is missing or a build fails."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BERTH = os.environ.get("BERTH_BIN", TOP + "/.build/release/berth")
BUSYBOX = os.environ.get("BERTH_BUSYBOX_TAR", TOP + "/.build/busybox.tar")
N = int(os.environ.get("BENCH_BUILD_N", "3"))

DOCKERFILE = """FROM busybox
ENV APP=/app MODE=bench
WORKDIR /app
COPY app.txt .
RUN echo "built in $MODE" > /app/built.txt
RUN mkdir -p /var/data && cp /app/app.txt /var/data/
LABEL org.example.bench=build
EXPOSE 8080
USER nobody
CMD ["cat", "/app/built.txt"]
"""


def run(argv, env=None):
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("bench-build: %s failed (%d): %s" % (" ".join(argv[:5]), p.returncode, p.stderr.decode().strip()))
    return p.stdout.decode()


def timed(argv, env=None):
    start = time.monotonic()
    out = run(argv, env)
    return (time.monotonic() - start) * 1000, out


def main():
    if os.getuid() != 0:
        sys.exit("bench-build: run as root (RUN needs containers)")
    for path in (BERTH, BUSYBOX):
        if not os.path.exists(path):
            sys.exit("bench-build: %s not found; run 'make release image' (or set BERTH_BIN, BERTH_BUSYBOX_TAR)" % path)
    podman_bin = shutil.which("podman")
    work = tempfile.mkdtemp(prefix="berth-bench-build-")
    ctx = work + "/ctx"
    os.makedirs(ctx)
    with open(ctx + "/Dockerfile", "w") as f:
        f.write(DOCKERFILE)
    with open(ctx + "/app.txt", "w") as f:
        f.write("payload\n" * 1000)
    root = work + "/berth"
    pd = work + "/podman"
    os.makedirs(pd + "/tmp")
    with open(pd + "/containers.conf", "w") as f:
        f.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
    penv = dict(os.environ, CONTAINERS_CONF=pd + "/containers.conf", TMPDIR=pd + "/tmp")
    podman = [podman_bin or "podman", "--root", pd + "/root", "--runroot", pd + "/runroot", "--tmpdir", pd + "/tmp"]
    results = {}
    try:
        run([BERTH, "--root", root, "import", "-c", 'CMD ["sh"]', BUSYBOX, "busybox"])
        berth = [BERTH, "--root", root, "build", "-t", "bench"]
        cold, cached = [], []
        for _ in range(N):
            cold.append(timed(berth + ["--no-cache", ctx])[0])
            ms, out = timed(berth + [ctx])
            if out.count(" ---> Using cache") != 9:
                sys.exit("bench-build: berth's rebuild was not all cache hits:\n" + out)
            cached.append(ms)
        results["berth build"] = (cold, cached)
        if podman_bin:
            run(podman + ["import", "--change", 'CMD ["sh"]', BUSYBOX, "docker.io/library/busybox:latest"], penv)
            pbuild = podman + ["build", "--format", "docker", "-t", "bench"]
            cold, cached = [], []
            for _ in range(N):
                cold.append(timed(pbuild + ["--no-cache", ctx], penv)[0])
                ms, out = timed(pbuild + [ctx], penv)
                cached.append(ms)
            results["podman build"] = (cold, cached)
        else:
            print("bench-build: podman is not installed; only Berth is measured (apt-get install -y podman)")
    finally:
        if podman_bin:
            subprocess.run(podman + ["rm", "-af"], env=penv, capture_output=True)
            subprocess.run(podman + ["rmi", "-af"], env=penv, capture_output=True)
            subprocess.run(podman + ["system", "reset", "-f"], env=penv, capture_output=True)
        subprocess.run(["sh", "-c", "grep -o ' %s[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l" % work])
        shutil.rmtree(work, ignore_errors=True)
    print("10-step Dockerfile (2 RUN, 1 COPY, 1 WORKDIR, 5 metadata), %d rounds, median ms:" % N)
    print("%-14s %12s %16s" % ("tool", "cold build", "cached rebuild"))
    for tool, (cold, cached) in results.items():
        print("%-14s %12.0f %16.0f" % (tool, statistics.median(cold), statistics.median(cached)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
