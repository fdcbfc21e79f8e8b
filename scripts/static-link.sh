#!/bin/sh
# Writes linker scripts that make `-lstdc++`, `-lgcc_s` and `-lz` name the
# static archives, for the release build (`make release`):
#
#   sh scripts/static-link.sh DIR     then link with -Xlinker -LDIR
#
# Why: every `berth` command starts a process, and the dynamic loader's work
# for libstdc++.so and libgcc_s.so (their symbol relocations, libgcc_s's
# constructor probing the CPU with cpuid, slow under a hypervisor) was a
# quarter of `berth version` (2.0 ms, 1.5 ms without them; docs/benchmarks.md).
# The Swift toolchain's static-stdlib link line asks for `-lstdc++` by name,
# and a file named libstdc++.so in an earlier search directory is read first:
# here it is a one-line script whose INPUT is the archive. libgcc_s's place
# goes to libgcc_eh.a, the same unwinder as an archive. zlib likewise.
#
# An archive this machine lacks gets no script, so that library stays shared:
# the build still works, only slower to start.
set -eu
dir=$1
mkdir -p "$dir"
cc=${CC:-gcc}
write() {   # NAME ARCHIVE
    rm -f "$dir/$1"
    path=$("$cc" -print-file-name="$2" 2>/dev/null || true)
    case $path in
    /*) [ -f "$path" ] && printf 'INPUT(%s)\n' "$path" >"$dir/$1" ;;
    esac
    return 0
}
write libstdc++.so libstdc++.a
write libgcc_s.so libgcc_eh.a
write libz.so libz.a
