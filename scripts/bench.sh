#!/bin/sh
# Side-by-side benchmark of Berth against crun, runc, Podman and a bare
# unshare+chroot floor, on one busybox root filesystem. Run as root:
#
#   make bench                       (builds the release binary and the image first)
#   BENCH_N=50 sh scripts/bench.sh   (iterations per operation; default 30)
#
# Environment: BERTH_BIN (default .build/release/berth), BERTH_BUSYBOX_TAR
# (default .build/busybox.tar), BENCH_N, BENCH_WARMUP (untimed rounds, default 2),
# BENCH_GAPS (the run rows' regimes, default "100 0": 100 ms idle before each
# command, and back to back), BENCH_MEM_N (running containers per tool for the
# memory figures, default 100), BENCH_MEM_ROUNDS (rounds of them, tools
# alternating, medians printed; default 3), BENCH_ROWS (comma-separated prefixes of the
# rows' tools to run, e.g. "berth (namespaces,crun": an A/B with more rounds;
# default all), BENCH_TMPDIR (where the scratch directory goes,
# default /tmp).
#
# Everything lives in one scratch directory: a Berth store, two OCI bundles
# over one shared rootfs, private runc/crun state roots, and a private Podman
# (its own containers.conf, storage.conf, graph root, run root, tmp dir and
# file locks). The trap removes every container, process, mount and cgroup
# the run made, and the directory, also on failure or Ctrl-C. This is a
# benchmark, not a test: it never fails on a slow figure.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BERTH_BIN=${BERTH_BIN:-$top/.build/release/berth}
BERTH_BUSYBOX_TAR=${BERTH_BUSYBOX_TAR:-$top/.build/busybox.tar}

if [ "$(id -u)" != 0 ]; then echo "bench: run as root (containers need it)" >&2; exit 1; fi
if [ ! -x "$BERTH_BIN" ]; then echo "bench: $BERTH_BIN not found; run 'make release' (or set BERTH_BIN)" >&2; exit 1; fi
if [ ! -f "$BERTH_BUSYBOX_TAR" ]; then echo "bench: $BERTH_BUSYBOX_TAR not found; run 'make image'" >&2; exit 1; fi
command -v python3 >/dev/null || { echo "bench: python3 is needed (apt-get install -y python3)" >&2; exit 1; }
START_N=${BENCH_START_N:-300}
case "$START_N" in
    ''|*[!0-9]*|0*) echo "bench: BENCH_START_N is a whole number from 1 (got '$START_N')" >&2; exit 2;;
esac
[ "${#START_N}" -le 6 ] || { echo "bench: BENCH_START_N=$START_N is too many (at most 999999)" >&2; exit 2; }
case "${BENCH_MEM_ROUNDS:-3}" in
    ''|*[!0-9]*|0*|??*) echo "bench: BENCH_MEM_ROUNDS is a whole number from 1 to 9 (got '${BENCH_MEM_ROUNDS}')" >&2; exit 2;;
esac
BERTH_BIN=$(cd "$(dirname "$BERTH_BIN")" && pwd)/$(basename "$BERTH_BIN")
BERTH_BUSYBOX_TAR=$(cd "$(dirname "$BERTH_BUSYBOX_TAR")" && pwd)/$(basename "$BERTH_BUSYBOX_TAR")

have() { command -v "$1" >/dev/null 2>&1; }

T=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/berth-bench-XXXXXX")
CG=berth-bench-$$                  # cgroup parent for runc and crun, in every hierarchy
UNIFIED=/sys/fs/cgroup/unified     # cgroup2 on a hybrid host: crun refuses it, so it is hidden from crun

# Host paths Podman creates even with private storage (blob-info cache,
# netavark's run dir, its cgroup parent). Removed at the end only if absent now.
host_paths="/var/lib/containers /run/containers"
created_host=""
for p in $host_paths; do [ -e "$p" ] || created_host="$created_host $p"; done
libpod_parent_existed=no
[ -d /sys/fs/cgroup/freezer/libpod_parent ] || [ -d /sys/fs/cgroup/libpod_parent ] && libpod_parent_existed=yes
berth_cg_existed=no
[ -d /sys/fs/cgroup/freezer/berth ] || [ -d /sys/fs/cgroup/berth ] && berth_cg_existed=yes

# Runs a command in a private mount namespace with the cgroup2 mount of a
# hybrid host hidden (PEERS.md: crun 1.8 refuses hybrid cgroups).
in_crun_ns() {
    unshare -m --propagation private sh -c '
        if [ -d /sys/fs/cgroup/freezer ] && mountpoint -q '"$UNIFIED"'; then umount '"$UNIFIED"'; fi
        exec "$@"' sh "$@"
}

podman_env() { CONTAINERS_CONF=$T/podman/containers.conf CONTAINERS_STORAGE_CONF=$T/podman/storage.conf "$@"; }

# Rootless Berth (docs/rootless.md): a throw-away user with one subordinate
# range of its own, its store, runtime dir and binary under $T/rootless.
RL_USER=berthbench$$
RL_LINE=""
rl_made=no
rl_ok=yes
rootless_remove() {
    if [ "$rl_made" = yes ]; then
        rl_uid=$(id -u "$RL_USER" 2>/dev/null)
        # Its processes (the pause process, monitors), by PID: this ends its namespace and mounts.
        for attempt in 1 2 3 4 5; do
            found=no
            for d in /proc/[0-9]*; do
                [ "$(awk '/^Uid:/ { print $2 }' "$d/status" 2>/dev/null)" = "$rl_uid" ] || continue
                kill -9 "${d#/proc/}" 2>/dev/null; found=yes
            done
            [ "$found" = no ] && break
            sleep 0.1
        done
        userdel "$RL_USER" >/dev/null 2>&1
    fi
    if [ -n "$RL_LINE" ]; then
        for f in /etc/subuid /etc/subgid; do
            grep -vxF "$RL_LINE" "$f" >"$f.bench-$$"; chmod 0644 "$f.bench-$$"; mv "$f.bench-$$" "$f"
        done
    fi
}

cleaned=no
cleanup() {
    [ "$cleaned" = yes ] && return
    cleaned=yes
    trap - EXIT INT TERM HUP
    set +e
    # 1. Each tool removes its own containers (Berth: and the bridge its
    #    --network bridge rows made, which outlives containers as docker0 does).
    if [ -d "$T/store" ]; then
        "$BERTH_BIN" --root "$T/store" system reset --force >/dev/null 2>&1
    fi
    if have podman && [ -f "$T/podman/containers.conf" ]; then
        podman_env podman rm -a -f -t 0 >/dev/null 2>&1
        podman_env podman rmi -a -f >/dev/null 2>&1
    fi
    if have runc && [ -d "$T/runc-state" ]; then
        for id in $(ls "$T/runc-state" 2>/dev/null); do runc --root "$T/runc-state" delete -f "$id" >/dev/null 2>&1; done
    fi
    if have crun && [ -d "$T/crun-state" ]; then
        for id in $(ls "$T/crun-state" 2>/dev/null); do in_crun_ns crun --root "$T/crun-state" delete -f "$id" >/dev/null 2>&1; done
    fi
    rootless_remove
    # 2. Any process still naming the scratch directory (monitors, conmon, workers), by PID.
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [ "$pid" = $$ ] && continue
        if { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null | grep -qF "$T/"; then kill -9 "$pid" 2>/dev/null; fi
    done
    # 3. Processes left in the cgroups this run made.
    for f in /sys/fs/cgroup/*/$CG/cgroup.procs /sys/fs/cgroup/*/$CG/*/cgroup.procs; do
        [ -f "$f" ] && for pid in $(cat "$f"); do kill -9 "$pid" 2>/dev/null; done
    done
    sleep 0.2
    # 4. Mounts under the scratch directory, deepest first.
    for attempt in 1 2 3; do
        mnts=$(awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
        [ -z "$mnts" ] && break
        for m in $mnts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
    done
    # 5. Cgroups: ours, and Podman's and Berth's parents if this run created them.
    for d in /sys/fs/cgroup/*/$CG /sys/fs/cgroup/$CG; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    if [ "$libpod_parent_existed" = no ]; then
        for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
            [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
    fi
    if [ "$berth_cg_existed" = no ]; then
        for d in /sys/fs/cgroup/*/berth /sys/fs/cgroup/berth; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
    fi
    # 6. Host directories Podman made that did not exist before.
    for p in $created_host; do [ -e "$p" ] && rm -rf "$p"; done
    # 7. The scratch directory, only if nothing is mounted inside it any more.
    if awk -v t="$T/" 'index($5, t) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
        echo "bench: mounts remain under $T; left it in place (see /proc/self/mountinfo)" >&2
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

echo "preparing in $T ..." >&2

# Berth: a private store with busybox.
"$BERTH_BIN" --root "$T/store" import -c 'CMD ["sh"]' "$BERTH_BUSYBOX_TAR" busybox:latest >/dev/null

# Rootless Berth: only where uidmap and the user namespaces it needs are there.
if [ -x /usr/bin/newuidmap ] && [ -x /usr/bin/setpriv ] && useradd -M -d "$T/rootless/home" -s /bin/sh \
        -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$RL_USER" 2>/dev/null; then
    rl_made=yes
    start=$(cat /etc/subuid /etc/subgid | awk -F: 'NF == 3 && $2 + $3 > m { m = $2 + $3 } END { m = m < 1000000 ? 1000000 : m; print int((m + 65535) / 65536) * 65536 }')
    RL_LINE="$RL_USER:$start:65536"
    for f in /etc/subuid /etc/subgid; do echo "$RL_LINE" >>"$f"; done
    chmod 0755 "$T"
    mkdir -p "$T/rootless/home" "$T/rootless/run" "$T/rootless/bin"
    cp "$BERTH_BIN" "$T/rootless/bin/berth"
    # The small monitor long-running containers hand over to, if built.
    [ ! -x "$(dirname "$BERTH_BIN")/berth-monitor" ] || cp "$(dirname "$BERTH_BIN")/berth-monitor" "$T/rootless/bin/"
    cp "$BERTH_BUSYBOX_TAR" "$T/rootless/bin/busybox.tar"
    chmod 0755 "$T/rootless" "$T/rootless/bin" "$T/rootless/bin/berth"; chmod 0644 "$T/rootless/bin/busybox.tar"
    chown "$RL_USER:" "$T/rootless/home" "$T/rootless/run"; chmod 0700 "$T/rootless/run"
    if ! HOME=$T/rootless/home XDG_RUNTIME_DIR=$T/rootless/run setpriv --reuid="$RL_USER" --regid="$RL_USER" --init-groups \
            "$T/rootless/bin/berth" import -c 'CMD ["sh"]' "$T/rootless/bin/busybox.tar" busybox:latest >/dev/null 2>"$T/rootless.log"; then
        echo "bench: rootless import failed: $(tail -1 "$T/rootless.log")" >&2
    fi
    # The row times `run --rm busybox true`, which says nothing on success:
    # make sure the rootless berth really runs a container first (a static
    # build once lost its arguments and did nothing, quickly, with status 0).
    said=$(HOME=$T/rootless/home XDG_RUNTIME_DIR=$T/rootless/run setpriv --reuid="$RL_USER" --regid="$RL_USER" \
        --init-groups "$T/rootless/bin/berth" run --rm --network none busybox echo rootless-ok 2>>"$T/rootless.log")
    if [ "$said" != rootless-ok ]; then
        echo "bench: a rootless run printed '$said', not rootless-ok: $(tail -1 "$T/rootless.log"); no rootless row" >&2
        rl_ok=no
    fi
fi

# One rootfs from the same tarball, shared by the runc and crun bundles and the floor.
mkdir -p "$T/rootfs" "$T/runc-state" "$T/crun-state"
tar -C "$T/rootfs" -xf "$BERTH_BUSYBOX_TAR"

# OCI bundles from `runc spec`, adjusted to do the same work as Berth's
# namespaces backend (see docs/benchmarks.md). Without runc, crun makes the spec.
spec_tool=""
have runc && spec_tool=runc
[ -z "$spec_tool" ] && have crun && spec_tool=crun
if [ -n "$spec_tool" ]; then
    mkdir -p "$T/spec"
    (cd "$T/spec" && $spec_tool spec)
    for tool in runc crun; do
        mkdir -p "$T/bundle-$tool"
        python3 - "$T/spec/config.json" "$T/bundle-$tool/config.json" "$T/rootfs" "/$CG/$tool" <<'PY'
import json, sys
src, dst, rootfs, cgroup = sys.argv[1:5]
c = json.load(open(src))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["root"] = {"path": rootfs, "readonly": False}          # Berth's root is writable too
# Docker's default capability set, as Berth's namespaces backend grants.
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
        "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"]
for k in ("bounding", "effective", "permitted"):
    c["process"]["capabilities"][k] = caps
c["process"]["capabilities"].pop("inheritable", None)
c["process"]["capabilities"].pop("ambient", None)
# Berth mounts proc, dev, dev/pts, dev/shm, dev/mqueue and sys, not /sys/fs/cgroup.
c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys/fs/cgroup"]
# Same namespace set as Berth (pid, mount, uts, ipc, network: runc spec's default).
c["linux"]["namespaces"] = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]
c["linux"]["cgroupsPath"] = cgroup
c["hostname"] = "bench"
json.dump(c, open(dst, "w"), indent=1)
PY
    done
    # The same crun bundle over an overlay the worker mounts on cow-root for
    # each run; and that one with the seccomp profile Berth (and Docker)
    # load by default, taken from the OCI bundle `berth bundle` writes for a
    # container of the bench store: crun doing what an engine's run does.
    mkdir -p "$T/bundle-crun-cow" "$T/bundle-crun-engine" "$T/cow" "$T/cow-root"
    "$BERTH_BIN" --root "$T/store" create --name bench-bundle --network none busybox true >/dev/null &&
        "$BERTH_BIN" --root "$T/store" bundle bench-bundle "$T/berth-bundle" >/dev/null &&
        "$BERTH_BIN" --root "$T/store" rm bench-bundle >/dev/null || echo "bench: berth bundle failed; the crun engine row runs without seccomp" >&2
    # And one whose filter is already compiled: the program Berth's own run
    # loads, from its cache (ROOT/cache/seccomp), handed to crun with its
    # run.oci.seccomp_bpf_data annotation instead of the profile crun would
    # compile with libseccomp on every run: crun doing an engine's run with
    # Berth's seccomp cache.
    "$BERTH_BIN" --root "$T/store" run --rm --network none busybox true >/dev/null 2>&1 ||
        echo "bench: berth run failed; the crun row with a compiled filter runs without seccomp" >&2
    mkdir -p "$T/bundle-crun-bpf"
    for row in cow engine bpf; do
        python3 - "$T/bundle-crun/config.json" "$T/bundle-crun-$row/config.json" "$T/cow-root" "/$CG/crun-$row" \
            "$row" "$T/berth-bundle/config.json" "$T/store/cache/seccomp" <<'PY'
import base64, json, os, sys
src, dst, root, cgroup, row, berth, cache = sys.argv[1:8]
c = json.load(open(src))
c["root"]["path"] = root
c["linux"]["cgroupsPath"] = cgroup
if row == "engine" and os.path.exists(berth):
    c["linux"]["seccomp"] = json.load(open(berth))["linux"]["seccomp"]
programs = sorted(os.listdir(cache)) if row == "bpf" and os.path.isdir(cache) else []
if len(programs) == 1:
    data = open(os.path.join(cache, programs[0]), "rb").read()
    c.setdefault("annotations", {})["run.oci.seccomp_bpf_data"] = base64.b64encode(data).decode()
elif row == "bpf":
    print(f"bench: {len(programs)} compiled filters in {cache}, not one; the crun row with a compiled filter runs without seccomp", file=sys.stderr)
json.dump(c, open(dst, "w"), indent=1)
PY
    done
fi

# Podman: private configuration and storage, nothing under /etc or /var/lib/containers/storage.
if have podman; then
    P=$T/podman
    mkdir -p "$P/root" "$P/runroot" "$P/tmp" "$P/net"
    cat >"$P/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[network]
network_config_dir = "$P/net"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
tmp_dir = "$P/tmp"
volume_path = "$P/root/volumes"
static_dir = "$P/root/libpod"
EOF
    cat >"$P/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$P/root"
runroot = "$P/runroot"
EOF
    podman_env podman import --change 'CMD ["sh"]' "$BERTH_BUSYBOX_TAR" localhost/busybox:latest >/dev/null 2>"$T/podman-import.log" \
        || { echo "bench: podman import failed:" >&2; cat "$T/podman-import.log" >&2; }
fi

BENCH_T=$T BENCH_CG=$CG BERTH_BIN=$BERTH_BIN BERTH_BUSYBOX_TAR=$BERTH_BUSYBOX_TAR \
    BENCH_ROOTLESS_USER=$([ "$rl_made" = yes ] && [ "$rl_ok" = yes ] && echo "$RL_USER") python3 "$here/bench.py"

# Start-up with nothing to do (issue 21, target 4): `berth version` and `ps`
# on an empty store, interleaved with /bin/true (the machine's own cost of a
# process) and crun's and runc's `--version`, 300 rounds (docs/benchmarks.md,
# "Start-up").
echo
echo "start-up with nothing to do ($START_N interleaved rounds; wall median, 10th percentile, mean CPU):"
mkdir -p "$T/empty-store"
case "$BERTH_BIN$T" in
    *[[:space:]]*)
        # start-ab.py splits each command line on blanks.
        echo "  skipped: $BERTH_BIN or $T has a blank in its path" ;;
    *)
        set -- /bin/true "$BERTH_BIN version" "$BERTH_BIN --root $T/empty-store ps"
        for tool in crun runc; do have "$tool" && set -- "$@" "$(command -v "$tool") --version"; done
        python3 "$here/start-ab.py" "$START_N" "$@" ;;
esac
