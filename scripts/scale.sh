#!/bin/sh
# Berth at scale: run -d, ps, ps -a, stop and rm -f with 1, 10, 100 and 1,000
# running containers, and a leak check after each removal. Run as root:
#
#   sh scripts/scale.sh              (counts 1 10 100 1000)
#   sh scripts/scale.sh 50 500       (other counts)
#   SCALE_COUNTS="1 10" make bench   (make bench calls this with SCALE_COUNTS)
#
# Environment: BERTH_BIN (default .build/release/berth), BERTH_BUSYBOX_TAR
# (default .build/busybox.tar), SCALE_PS_N (timed ps runs per figure, default
# 5), BENCH_TMPDIR (where the scratch store goes, default /tmp).
#
# Everything lives in one scratch directory holding a private store. The trap
# removes every container, process, mount and cgroup the run made, and the
# directory, also on failure or Ctrl-C; after a `kill -9`, which no trap
# sees, the next run of either scale script removes them (scripts/scratch.sh).
# This is a benchmark, not a test: it never fails on a slow figure. See
# docs/benchmarks.md ("Scale").
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BERTH_BIN=${BERTH_BIN:-$top/.build/release/berth}
BERTH_BUSYBOX_TAR=${BERTH_BUSYBOX_TAR:-$top/.build/busybox.tar}

if [ "$(id -u)" != 0 ]; then echo "scale: run as root (containers need it)" >&2; exit 1; fi
if [ ! -x "$BERTH_BIN" ]; then echo "scale: $BERTH_BIN not found; run 'make release' (or set BERTH_BIN)" >&2; exit 1; fi
if [ ! -f "$BERTH_BUSYBOX_TAR" ]; then echo "scale: $BERTH_BUSYBOX_TAR not found; run 'make image'" >&2; exit 1; fi
command -v python3 >/dev/null || { echo "scale: python3 is needed (apt-get install -y python3)" >&2; exit 1; }
BERTH_BIN=$(cd "$(dirname "$BERTH_BIN")" && pwd)/$(basename "$BERTH_BIN")

. "$here/scratch.sh"
scratch_sweep "${BENCH_TMPDIR:-/tmp}/berth-scale-"
scratch_sweep_cgroups
T=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/berth-scale-XXXXXX")
scratch_own "$T"
CG=berth-scale-$$                  # cgroup parent of the crun floor runs, in every hierarchy
berth_cg_existed=no
[ -d /sys/fs/cgroup/freezer/berth ] || [ -d /sys/fs/cgroup/berth ] && berth_cg_existed=yes

cleaned=no
cleanup() {
    [ "$cleaned" = yes ] && return
    cleaned=yes
    trap - EXIT INT TERM HUP
    set +e
    # 1. Berth removes its containers (mounts, cgroups, processes) itself.
    [ -d "$T/store" ] && "$BERTH_BIN" --root "$T/store" system reset --force >/dev/null 2>&1
    # 2. Any process still naming the scratch directory (a monitor), by PID.
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [ "$pid" = $$ ] && continue
        if { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null | grep -qF "$T/"; then kill -9 "$pid" 2>/dev/null; fi
    done
    # 3. Mounts under the scratch directory, deepest first.
    for attempt in 1 2 3; do
        mnts=$(awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
        [ -z "$mnts" ] && break
        for m in $mnts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
    done
    # 4. The crun floor runs' cgroups, and Berth's cgroup parent if this run created it.
    for d in /sys/fs/cgroup/*/$CG /sys/fs/cgroup/$CG; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    if [ "$berth_cg_existed" = no ]; then
        for d in /sys/fs/cgroup/*/berth /sys/fs/cgroup/berth; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
    fi
    # 5. The scratch directory, only if nothing is mounted inside it any more.
    if awk -v t="$T/" 'index($5, t) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
        echo "scale: mounts remain under $T; left it in place (see /proc/self/mountinfo)" >&2
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

echo "scale: store in $T/store, $(nproc) CPUs, $(uptime | sed 's/.*load/load/')" >&2
"$BERTH_BIN" --root "$T/store" import -c 'CMD ["sh"]' "$BERTH_BUSYBOX_TAR" busybox:latest >/dev/null

# The kernel's share of `run -d` at each count: a new mount namespace is a
# copy of the host's whole mount table, which holds one overlay per running
# container. scale.py times `unshare -m /bin/true` (that copy alone) and, when
# crun is here, `crun run` of a prepared bundle (an OCI runtime making the
# same namespaces, with no layer of its own) with the same host mounts.
bundle=""
if command -v crun >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1; then
    mkdir -p "$T/rootfs" "$T/bundle" "$T/crun-state"
    tar -C "$T/rootfs" -xf "$BERTH_BUSYBOX_TAR"
    (cd "$T/bundle" && crun spec)
    python3 - "$T/bundle/config.json" "$T/rootfs" "/$CG/crun" <<'PY'
import json, sys
path, rootfs, cgroup = sys.argv[1:4]
c = json.load(open(path))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["root"] = {"path": rootfs, "readonly": False}
c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys/fs/cgroup"]
c["linux"]["namespaces"] = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]
c["linux"]["cgroupsPath"] = cgroup
json.dump(c, open(path, "w"), indent=1)
PY
    bundle=$T/bundle
fi

BERTH_BIN=$BERTH_BIN SCALE_STORE=$T/store SCALE_CRUN_BUNDLE=$bundle python3 "$here/scale.py" "$@"
