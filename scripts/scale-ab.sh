#!/bin/sh
# `run -d` with COUNT containers running against none, interleaved: two
# scratch stores, one holding COUNT running `sleep` containers and one empty,
# a `run -d` in each by turns (the order swapped every round), each sample
# removed again, 100 ms between commands (docs/benchmarks.md, "The root
# mounted inside the container"; issue 21, target 3). Run as root:
#
#   sh scripts/scale-ab.sh [COUNT [ROUNDS]]     (default 1000 30)
#
# A trap removes every container and both stores, also on failure or Ctrl-C;
# after a `kill -9` the next run of either scale script removes them
# (scripts/scratch.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BERTH_BIN=${BERTH_BIN:-$top/.build/release/berth}
BERTH_BUSYBOX_TAR=${BERTH_BUSYBOX_TAR:-$top/.build/busybox.tar}
COUNT=${1:-1000}
ROUNDS=${2:-30}
if [ "$(id -u)" != 0 ]; then echo "scale-ab: run as root (containers need it)" >&2; exit 1; fi
[ -x "$BERTH_BIN" ] || { echo "scale-ab: $BERTH_BIN not found; run 'make release'" >&2; exit 1; }
[ -f "$BERTH_BUSYBOX_TAR" ] || { echo "scale-ab: $BERTH_BUSYBOX_TAR not found; run 'make image'" >&2; exit 1; }
for n in "$COUNT" "$ROUNDS"; do
    case "$n" in
        ''|*[!0-9]*|0*) echo "scale-ab: COUNT and ROUNDS are whole numbers from 1 (got '$n')" >&2; exit 2;;
    esac
    [ "${#n}" -le 6 ] || { echo "scale-ab: $n is too many (at most 999999)" >&2; exit 2; }
done
. "$here/scratch.sh"
scratch_sweep "${BENCH_TMPDIR:-/tmp}/berth-scale-"
FULL=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/berth-scale-ab-XXXXXX")
EMPTY=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/berth-scale-ab-XXXXXX")
scratch_own "$FULL"
scratch_own "$EMPTY"
cleanup() {
    trap - EXIT INT TERM HUP
    for r in "$FULL" "$EMPTY"; do "$BERTH_BIN" --root "$r" system reset --force >/dev/null 2>&1 || true; rm -rf "$r"; done
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM HUP
for r in "$FULL" "$EMPTY"; do
    "$BERTH_BIN" --root "$r" import -c 'CMD ["sh"]' "$BERTH_BUSYBOX_TAR" busybox:latest >/dev/null
done
i=0
while [ "$i" -lt "$COUNT" ]; do
    "$BERTH_BIN" --root "$FULL" run -d --network none busybox sleep 100000 >/dev/null
    i=$((i + 1))
done
running=$("$BERTH_BIN" --root "$FULL" ps -q | wc -l)
echo "$running running; the host's mount table: $(wc -l </proc/self/mountinfo) lines"
[ "$running" -eq "$COUNT" ] || { echo "scale-ab: $running of $COUNT containers run; see 'berth --root $FULL ps -a'" >&2; exit 1; }
python3 - "$BERTH_BIN" "$FULL" "$EMPTY" "$ROUNDS" "$COUNT" <<'PY'
import statistics, subprocess, sys, time
berth, full, empty, rounds, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
times = {full: [], empty: []}
def sample(root):
    start = time.perf_counter_ns()
    p = subprocess.run([berth, "--root", root, "run", "-d", "--network", "none", "busybox", "sleep", "100000"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ms = (time.perf_counter_ns() - start) / 1e6
    if p.returncode != 0:
        sys.exit(f"scale-ab: run -d failed: {p.stderr.decode(errors='replace').strip()}")
    time.sleep(0.1)
    subprocess.run([berth, "--root", root, "rm", "-f", p.stdout.decode().strip()], stdout=subprocess.DEVNULL)
    time.sleep(0.1)
    return ms
for i in range(rounds):
    for root in ((full, empty) if i % 2 == 0 else (empty, full)):
        times[root].append(sample(root))
for root, name in ((full, f"{count} running"), (empty, "none running")):
    v = sorted(times[root])
    print(f"run -d with {name:>14}: median {statistics.median(v):6.1f} ms  p10 {v[len(v) // 10]:6.1f}  p90 {v[len(v) * 9 // 10]:6.1f}")
PY
