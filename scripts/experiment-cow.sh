#!/bin/sh
# Why copy-on-write? The tutorial's closing question, answered by measuring.
#
# Creates N containers from an image with the `overlay` driver and with the
# `copy` driver, for N in 1 2 4 8 and for two image sizes, and records the
# time each `create` took and the disk the containers use. Prints a table,
# writes experiment-cow.csv and, through `berth bench`, a chart.
#
# Usage: scripts/experiment-cow.sh [BERTH_BINARY] [OUT_DIR]
# Needs root. Everything it makes lives in a temp store it removes at the end.
set -eu
berth=${1:-.build/release/berth}
out=${2:-.}
here=$(dirname "$0")
store=$(mktemp -d /tmp/berth-experiment-XXXXXX)
cleanup() {
    "$berth" --root "$store" system reset --force >/dev/null 2>&1 || true
    rm -rf "$store"
}
trap cleanup EXIT INT TERM

now_ns() { date +%s%N; }

echo "building images (busybox, and busybox + ${BIG_MB:-200} MB of data) ..." >&2
sh "$here/mkimage-busybox.sh" "$store/small.tar" >/dev/null
sh "$here/mkimage-big.sh" "$store/big.tar" "${BIG_MB:-200}" >/dev/null
"$berth" --root "$store" import -c 'CMD ["sh"]' "$store/small.tar" small >/dev/null
"$berth" --root "$store" import -c 'CMD ["sh"]' "$store/big.tar" big >/dev/null
rm -f "$store/small.tar" "$store/big.tar"

csv="$out/experiment-cow.csv"
echo "image,driver,containers,create_ms_median,create_ms_total,disk_bytes" > "$csv"
printf '%-6s %-8s %4s %16s %16s %14s\n' IMAGE DRIVER N "CREATE ms (med)" "CREATE ms (all)" "DISK"
for image in small big; do
    for driver in overlay copy; do
        for n in 1 2 4 8; do
            times=""
            i=0
            while [ "$i" -lt "$n" ]; do
                t0=$(now_ns)
                "$berth" --root "$store" create --storage "$driver" "$image" >/dev/null
                t1=$(now_ns)
                times="$times $(( (t1 - t0) / 1000000 ))"
                i=$((i + 1))
            done
            # Disk the containers themselves use: the store's containers/ tree
            # (layers are counted once, outside it).
            disk=$(du -sb "$store/containers" | cut -f1)
            median=$(echo $times | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
            total=$(echo $times | tr ' ' '\n' | awk '{s+=$1} END {print s}')
            printf '%-6s %-8s %4s %16s %16s %14s\n' "$image" "$driver" "$n" "$median" "$total" "$(numfmt --to=si "$disk")"
            echo "$image,$driver,$n,$median,$total,$disk" >> "$csv"
            "$berth" --root "$store" ps -aq | xargs -r "$berth" --root "$store" rm >/dev/null
        done
    done
done
"$berth" --root "$store" bench --storage overlay,copy --image small,big -n 3 --svg "$out/experiment-cow.svg" >/dev/null
echo "wrote $csv and $out/experiment-cow.svg" >&2
