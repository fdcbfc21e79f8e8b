# Scratch directories of the scale scripts, sourced by scale.sh and
# scale-ab.sh. Their traps clean up on exit, failure and Ctrl-C, but nothing
# runs after `kill -9`: the containers keep running and the stores stay.
# So each run marks its directories with its PID and that process's start
# time (`scratch_own DIR`), and the next run first removes every directory
# whose owner is gone (`scratch_sweep PREFIX`): its containers through
# `berth system reset --force`, then the directory, unless something is
# still mounted inside it. scale.sh also removes the cgroups of a killed
# run's crun floor runs (`scratch_sweep_cgroups`). Needs BERTH_BIN.

# The start time of process $1 in clock ticks (/proc/PID/stat field 22; the
# command name before it may hold spaces, so the fields are counted after
# its closing parenthesis), or nothing if there is no such process.
scratch_start_time() {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

scratch_own() {
    echo "$$ $(scratch_start_time $$)" >"$1/.scratch-owner"
}

scratch_sweep() {
    for d in "$1"*; do
        # Only real directories of this user's, never a link another user
        # left in a shared /tmp.
        [ -d "$d" ] && [ ! -L "$d" ] && [ -O "$d" ] && [ -f "$d/.scratch-owner" ] || continue
        read -r pid start <"$d/.scratch-owner" || continue
        case "$pid" in '' | *[!0-9]*) continue ;; esac
        [ -n "$start" ] && [ "$(scratch_start_time "$pid")" = "$start" ] && continue
        echo "$(basename "$0"): removing $d, left by a run that was killed (PID $pid)" >&2
        for store in "$d" "$d/store"; do
            [ -d "$store/containers" ] && "$BERTH_BIN" --root "$store" system reset --force >/dev/null 2>&1 || true
        done
        if awk -v t="$d/" 'index($5, t) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
            echo "$(basename "$0"): mounts remain under $d; left it in place (see /proc/self/mountinfo)" >&2
        else
            rm -rf "$d"
        fi
    done
    return 0
}

# scale.sh's cgroup parent of its crun runs, berth-scale-PID in every
# hierarchy, where that scale.sh is gone. Only empty cgroups go (rmdir): a
# process still inside keeps its cgroup, and the line says so.
scratch_sweep_cgroups() {
    for d in /sys/fs/cgroup/*/berth-scale-* /sys/fs/cgroup/berth-scale-*; do
        [ -d "$d" ] || continue
        pid=${d##*/berth-scale-}
        case "$pid" in '' | *[!0-9]*) continue ;; esac
        grep -qF scale.sh "/proc/$pid/cmdline" 2>/dev/null && continue
        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
        [ -d "$d" ] && echo "$(basename "$0"): $d still holds processes; left it in place" >&2
    done
    return 0
}
