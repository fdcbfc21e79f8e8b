#if canImport(Glibc)
import Glibc
#endif

/// Writing limits and reading usage, in each version's files.
extension Cgroup {
    /// Rootless limits without a cgroup: a v1 host gives the user none, nor
    /// does a v2 host where berth runs outside a delegated subtree.
    public static let rootlessLimitRefusal = Rootless.refusal(
        "a resource limit (--memory, --cpus, --cpu-shares, --cpuset-*, --pids-limit, update)",
        "limits need a cgroup of the container's own, and berth runs outside a cgroup v2 subtree delegated to you "
            + "(cgroup v1 never delegates; start berth from a systemd --user service or `systemd-run --user --scope -p Delegate=yes`)"
    )

    /// Refuses, before anything is made, rootless limits the container's
    /// cgroup could not enforce: none at all, or a controller the
    /// delegation does not hand down (naming it).
    public static func checkRootlessLimits(_ r: Resources, cgroup: Cgroup) throws(BerthError) {
        guard Rootless.isActive, !r.isEmpty else { return }
        if cgroup.isNone { throw rootlessLimitRefusal }
        let top = FileSystem.parent(of: FileSystem.parent(of: cgroup.path))
        let have = delegatedControllers(top: top)
        if let missing = r.v2Controllers.first(where: { !have.contains($0) }) { throw rootlessMissing(missing, top: top) }
    }

    /// A v1-only limit on a container whose cgroup is v2.
    static func v2Refusal(_ flag: String) -> BerthError {
        BerthError(
            .invalidArgument,
            "\(flag) needs cgroup v1, and this container's cgroup is v2, which has no such setting (Docker discards it there); drop \(flag)"
        )
    }

    /// Refuses, at create, limits the container's cgroup version lacks.
    public static func checkVersionLimits(_ r: Resources, cgroup: Cgroup) throws(BerthError) {
        if cgroup.version == "v2", let flag = r.v1Only.first { throw v2Refusal(flag) }
    }

    static func rootlessMissing(_ controller: String, top: String) -> BerthError {
        Rootless.refusal(
            "a \(controller) limit",
            "the cgroup v2 subtree delegated to you at \(top) does not hand the \(controller) controller to its children "
                + "(systemd: Delegate=\(controller), and no process of yours in \(top) itself)")
    }

    /// Applies limits (only the ones set; `update` may change any later).
    public func apply(_ r: Resources) throws(BerthError) {
        if r.isEmpty && isNone { return }
        if isNone { throw Cgroup.rootlessLimitRefusal }
        if version == "v1" { try applyV1(r) } else { try applyV2(r) }
    }

    private func applyV1(_ r: Resources) throws(BerthError) {
        if let m = r.memory {
            let mem = directory("memory")
            let swap = r.memorySwap ?? r.defaultSwap(m)
            // memsw must stay >= memory: raise whichever order keeps that true.
            let hasSwapAccounting = FileSystem.exists(mem + "/memory.memsw.limit_in_bytes")
            let current =
                Int64((read("memory", "memory.limit_in_bytes") ?? "").trimmingSpaces.split(separator: "\n").first ?? "") ?? 0
            if hasSwapAccounting && m > current { try write(mem, "memory.memsw.limit_in_bytes", String(swap == -1 ? -1 : swap)) }
            try write(mem, "memory.limit_in_bytes", String(m))
            if hasSwapAccounting { try write(mem, "memory.memsw.limit_in_bytes", String(swap == -1 ? -1 : swap)) }
        }
        if let m = r.memoryReservation { try write(directory("memory"), "memory.soft_limit_in_bytes", String(m)) }
        if r.oomKillDisable == true { try write(directory("memory"), "memory.oom_control", "1") }
        if let s = r.memorySwappiness { try write(directory("memory"), "memory.swappiness", String(s)) }
        if let cfs = r.cfs {
            try write(directory("cpu"), "cpu.cfs_period_us", String(cfs.period))
            try write(directory("cpu"), "cpu.cfs_quota_us", String(cfs.quota ?? -1))
        }
        if let s = r.clampedCpuShares { try write(directory("cpu"), "cpu.shares", String(s)) }
        if let set = r.cpusetCpus { try write(directory("cpuset"), "cpuset.cpus", set) }
        if let mems = r.cpusetMems { try write(directory("cpuset"), "cpuset.mems", mems) }
        if let p = r.pidsLimit { try write(directory("pids"), "pids.max", p > 0 ? String(p) : "max") }
        let blkio = directory("blkio")
        try r.blockIO.applyV1 { (file, line) throws(BerthError) in try write(blkio, file, line) }
    }

    private func applyV2(_ r: Resources) throws(BerthError) {
        if let flag = r.v1Only.first { throw Cgroup.v2Refusal(flag) }
        let enabled = (try? FileSystem.readText(path + "/cgroup.controllers")) ?? ""
        for controller in r.v2Controllers where !enabled.contains(controller) {
            if Rootless.isActive {
                throw Cgroup.rootlessMissing(controller, top: FileSystem.parent(of: FileSystem.parent(of: path)))
            }
            throw BerthError(
                "cgroup v2 at \(FileSystem.parent(of: path)) has no \(controller) controller, so the limit cannot be enforced; on a hybrid host leave BERTH_CGROUP unset to use cgroup v1"
            )
        }
        if let m = r.memory {
            try write(path, "memory.max", String(m))
            let swap = r.memorySwap ?? r.defaultSwap(m)
            if FileSystem.exists(path + "/memory.swap.max") {
                try write(path, "memory.swap.max", swap == -1 ? "max" : String(max(0, swap - m)))
            }
        }
        if let m = r.memoryReservation { try write(path, "memory.low", String(m)) }
        if let cfs = r.cfs { try write(path, "cpu.max", "\(cfs.quota.map(String.init) ?? "max") \(cfs.period)") }
        if let s = r.clampedCpuShares {
            // Docker's conversion of shares (2…262144) to weight (1…10000).
            try write(path, "cpu.weight", String(1 + ((s - 2) * 9999) / 262142))
        }
        if let set = r.cpusetCpus { try write(path, "cpuset.cpus", set) }
        if let mems = r.cpusetMems { try write(path, "cpuset.mems", mems) }
        if let p = r.pidsLimit { try write(path, "pids.max", p > 0 ? String(p) : "max") }
        let dir = path
        try r.blockIO.applyV2 { (file, line) throws(BerthError) in try write(dir, file, line) }
    }

    /// Whether the kernel's OOM killer killed a process in the cgroup.
    public var oomKilled: Bool {
        let text = version == "v1" ? read("memory", "memory.oom_control") : read("memory", "memory.events")
        guard let text else { return false }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return (Int(line.dropFirst(9)) ?? 0) > 0
        }
        return false
    }

    /// A snapshot of usage, for `stats`.
    public struct Usage: Sendable {
        public var cpuNanoseconds: UInt64 = 0
        public var memoryBytes: Int64 = 0
        public var memoryLimit: Int64 = 0
        public var pids: Int = 0
        public var blockRead: Int64 = 0
        public var blockWrite: Int64 = 0
        public init() {}
    }

    /// Reads the counters `stats` shows.
    public func usage() -> Usage {
        var u = Usage()
        u.pids = processes().count
        if version == "v1" {
            u.cpuNanoseconds =
                UInt64((read("cpuacct", "cpuacct.usage") ?? "").trimmingSpaces.split(separator: "\n").first ?? "") ?? 0
            let stat = parseKeyValues(read("memory", "memory.stat") ?? "")
            let usage = Int64((read("memory", "memory.usage_in_bytes") ?? "").split(separator: "\n").first ?? "") ?? 0
            u.memoryBytes = max(0, usage - (stat["total_inactive_file"] ?? 0))  // Docker subtracts the page cache
            u.memoryLimit = Int64((read("memory", "memory.limit_in_bytes") ?? "").split(separator: "\n").first ?? "") ?? 0
            for line in (read("blkio", "blkio.throttle.io_service_bytes") ?? "").split(separator: "\n") {
                let f = line.split(separator: " ")
                if f.count == 3, f[1] == "Read" { u.blockRead += Int64(f[2]) ?? 0 }
                if f.count == 3, f[1] == "Write" { u.blockWrite += Int64(f[2]) ?? 0 }
            }
        } else {
            let cpu = parseKeyValues(read("cpu", "cpu.stat") ?? "")
            u.cpuNanoseconds = UInt64(cpu["usage_usec"] ?? 0) * 1000
            let stat = parseKeyValues(read("memory", "memory.stat") ?? "")
            let current = Int64((read("memory", "memory.current") ?? "").split(separator: "\n").first ?? "") ?? 0
            u.memoryBytes = max(0, current - (stat["inactive_file"] ?? 0))
            u.memoryLimit = Int64((read("memory", "memory.max") ?? "").split(separator: "\n").first ?? "") ?? 0
            for line in (read("io", "io.stat") ?? "").split(separator: "\n") {
                for field in line.split(separator: " ") {
                    if field.hasPrefix("rbytes=") { u.blockRead += Int64(field.dropFirst(7)) ?? 0 }
                    if field.hasPrefix("wbytes=") { u.blockWrite += Int64(field.dropFirst(7)) ?? 0 }
                }
            }
        }
        return u
    }

    private func parseKeyValues(_ text: String) -> [String: Int64] {
        var result: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2, let v = Int64(f[1]) { result[String(f[0])] = v }
        }
        return result
    }
}

extension Resources {
    /// The cgroup v2 controllers these limits need.
    var v2Controllers: [String] {
        [
            (memory != nil || memoryReservation != nil, "memory"), (cfs != nil || cpuShares != nil, "cpu"),
            (cpusetCpus != nil || cpusetMems != nil, "cpuset"), (pidsLimit != nil, "pids"),
            (oomKillDisable != nil || memorySwappiness != nil, "memory"), (!blockIO.isEmpty, "io"),
        ].filter(\.0).map(\.1)
    }
}
