#if canImport(Glibc)
import Glibc
#endif

extension Container {
    /// Host PIDs of the container's processes, for `top` and `stats`: its
    /// cgroup's; without a cgroup (rootless, docs/rootless.md), the processes
    /// in PID 1's PID namespace (only PID 1 itself when that namespace is the
    /// caller's, `--pid host`).
    public func processIDs() -> [Int32] {
        let cgroup = Cgroup(path: cgroupPath)
        guard cgroup.isNone else { return cgroup.processes() }
        guard state.isActive, state.pid > 0, let ns = FileSystem.readLink("/proc/\(state.pid)/ns/pid") else { return [] }
        if ns == FileSystem.readLink("/proc/self/ns/pid") { return [state.pid] }
        return FileSystem.list("/proc").compactMap { Int32($0) }.filter {
            FileSystem.readLink("/proc/\($0)/ns/pid") == ns
        }.sorted()
    }
}
