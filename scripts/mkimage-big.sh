#!/bin/sh
# Builds a large test image: the busybox root filesystem plus SIZE_MB of
# synthetic files (random data, so nothing can deduplicate or compress it
# away) in 512 KiB files under /data. The overlay-versus-copy experiment
# uses it to show how cost grows with image size.
#
# Usage: scripts/mkimage-big.sh OUTPUT.tar [SIZE_MB]   (default 200)
set -eu
out=${1:?usage: mkimage-big.sh OUTPUT.tar [SIZE_MB]}
size=${2:-200}
here=$(dirname "$0")
work=$(mktemp -d /tmp/berth-mkbig-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

sh "$here/mkimage-busybox.sh" "$work/busybox.tar" >/dev/null
mkdir "$work/rootfs"
tar -C "$work/rootfs" -xf "$work/busybox.tar"
mkdir -p "$work/rootfs/data"
files=$((size * 2))
i=0
while [ "$i" -lt "$files" ]; do
    head -c 524288 /dev/urandom > "$work/rootfs/data/blob-$i"
    i=$((i + 1))
done
tar --numeric-owner --owner=0 --group=0 --sort=name -C "$work/rootfs" -cf "$out" .
echo "$out"
