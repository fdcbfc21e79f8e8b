#!/bin/sh
# Builds a busybox root filesystem tarball from the host's busybox-static, the
# way moby's contrib/mkimage/busybox-static did: one static binary in /bin,
# every applet a hard link to it (as in the official busybox image), a minimal
# /etc, owned by root. The tar is reproducible (sorted, fixed mtime), so the
# same host busybox always gives the same image ID.
#
# Usage: scripts/mkimage-busybox.sh [OUTPUT.tar]   (default: busybox.tar)
set -eu

out=${1:-busybox.tar}
busybox=${BUSYBOX:-/bin/busybox}

if [ ! -x "$busybox" ]; then
    echo "mkimage-busybox: $busybox not found; install it with: apt-get install -y busybox-static" >&2
    exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
    echo "mkimage-busybox: $busybox is dynamically linked; install busybox-static (apt-get install -y busybox-static)" >&2
    exit 1
fi

rootfs=$(mktemp -d /tmp/berth-mkimage-XXXXXX)
trap 'rm -rf "$rootfs"' EXIT INT TERM

mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/dev" "$rootfs/proc" "$rootfs/sys" \
         "$rootfs/tmp" "$rootfs/root" "$rootfs/home" "$rootfs/var/spool/mail" "$rootfs/usr/sbin"
chmod 755 "$rootfs"
chmod 1777 "$rootfs/tmp"
chmod 700 "$rootfs/root"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln "$rootfs/bin/busybox" "$rootfs/bin/$applet"
done

cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
nogroup:x:65534:
GROUP
echo 'root:*:19000:0:99999:7:::' > "$rootfs/etc/shadow"
chmod 640 "$rootfs/etc/shadow"

tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@946684800 \
    -C "$rootfs" -cf "$out" .
echo "$out"
