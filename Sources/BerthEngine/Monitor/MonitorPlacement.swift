#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// Where a monitor lives once its container runs.
///
/// Forked from the `berth` that started it, a monitor begins in that
/// command's cgroups: on a systemd host, the caller's login session scope,
/// which a logout kills with everything in it. So the monitor moves itself
/// to `berth/monitors`, beside its containers' cgroups, in every hierarchy
/// they use, and on a hybrid host also in the named systemd and the unified
/// hierarchies that session tracking reads. Podman's cgroupfs manager does
/// the same with `libpod_parent/conmon`. The move runs on a detached thread
/// (`berth_join_cgroups_async`): a cold cgroup.procs write waits an RCU grace
/// period, which must not hold up the container's output or exit.
enum MonitorPlacement {
    /// The monitors' cgroup next to a container's: `berth/monitors`, also
    /// for a container under a `--cgroup-parent`, whose parent then holds
    /// only containers (what a CI job that made it accounts for).
    static func cgroup(beside container: Cgroup) -> Cgroup {
        let relative = container.relative
        if !Rootless.isActive && !relative.isEmpty && container.path.hasSuffix("/" + relative) {
            return Cgroup(path: String(container.path.dropLast(relative.count)) + "berth/monitors")
        }
        return Cgroup(path: FileSystem.parent(of: container.path) + "/monitors")
    }

    static func leaveCaller(beside container: Cgroup) {
        // Rootless: no cgroup of berth's to go to (docs/rootless.md).
        if container.isNone { return }
        let monitors = cgroup(beside: container)
        // Made once (with its cpuset and v2 controllers), then only joined.
        if !FileSystem.exists(monitors.path) { guard (try? monitors.create()) != nil else { return } }
        var procs = monitors.procsFiles
        if monitors.version == "v1" {
            for hierarchy in ["systemd", "unified"] where FileSystem.exists("/sys/fs/cgroup/\(hierarchy)/cgroup.procs") {
                let dir = "/sys/fs/cgroup/\(hierarchy)/\(monitors.relative)"
                try? FileSystem.makeDirectories(dir)
                if FileSystem.exists(dir + "/cgroup.procs") { procs.append(dir + "/cgroup.procs") }
            }
        }
        let arena = CStringArena()
        defer { arena.free() }
        _ = berth_join_cgroups_async(arena.array(procs), Int32(procs.count))
    }
}
