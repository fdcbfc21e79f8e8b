#if canImport(Glibc)
import Glibc
#endif

/// One container's cgroup, on cgroup v2 or on v1's freezer hierarchy.
///
/// Berth picks the version at run time: a pure v2 host (`cgroup.controllers`
/// at /sys/fs/cgroup) uses v2; a hybrid host like this one (v1 controllers,
/// v2 at /sys/fs/cgroup/unified) uses the v1 freezer, unless
/// `BERTH_CGROUP=v2` asks for the unified hierarchy (whose `cgroup.freeze`
/// and `cgroup.kill` need no controller). `path` records which was taken.
public struct Cgroup: Sendable, Equatable {
    /// `v1` or `v2`.
    public var version: String
    /// The cgroup directory (v1: in the freezer hierarchy).
    public var path: String

    /// The cgroup a new container gets, by the rules above.
    public static func forContainer(_ id: String, environment: [String: String] = [:]) -> Cgroup {
        let forced = environment["BERTH_CGROUP"] ?? (getenv("BERTH_CGROUP").map { String(cString: $0) })
        if FileSystem.exists("/sys/fs/cgroup/cgroup.controllers") {
            return Cgroup(version: "v2", path: "/sys/fs/cgroup/berth/\(id)")
        }
        if forced == "v2", FileSystem.exists("/sys/fs/cgroup/unified/cgroup.procs") {
            return Cgroup(version: "v2", path: "/sys/fs/cgroup/unified/berth/\(id)")
        }
        return Cgroup(version: "v1", path: "/sys/fs/cgroup/freezer/berth/\(id)")
    }

    /// Reconstructs a recorded cgroup from its path.
    public init(path: String) {
        self.path = path
        self.version = path.contains("/freezer/") ? "v1" : "v2"
    }

    init(version: String, path: String) {
        self.version = version
        self.path = path
    }

    /// Creates the directory (and parents).
    public func create() throws(BerthError) {
        do { try FileSystem.makeDirectories(path) } catch {
            throw BerthError("create cgroup \(path): \(error.message); check that cgroupfs is mounted and writable")
        }
    }

    /// Moves a process into the cgroup.
    public func add(_ pid: Int32) throws(BerthError) {
        try write("cgroup.procs", "\(pid)")
    }

    /// Host PIDs of every process in the cgroup.
    public func processes() -> [Int32] {
        ((try? FileSystem.readText(path + "/cgroup.procs")) ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    /// Freezes every process; returns once the kernel reports them frozen.
    public func freeze() throws(BerthError) {
        if version == "v1" {
            try write("freezer.state", "FROZEN")
            try waitUntil { (try? FileSystem.readText(path + "/freezer.state"))?.hasPrefix("FROZEN") == true }
        } else {
            try write("cgroup.freeze", "1")
            // Frozen v2 tasks still read `S` in /proc; cgroup.events tells the truth.
            try waitUntil { (try? FileSystem.readText(path + "/cgroup.events"))?.contains("frozen 1") == true }
        }
    }

    /// Thaws every process.
    public func thaw() throws(BerthError) {
        if version == "v1" {
            try write("freezer.state", "THAWED")
        } else {
            try write("cgroup.freeze", "0")
        }
    }

    /// Whether the cgroup is frozen.
    public var isFrozen: Bool {
        if version == "v1" { return (try? FileSystem.readText(path + "/freezer.state"))?.hasPrefix("FROZEN") == true }
        return (try? FileSystem.readText(path + "/cgroup.events"))?.contains("frozen 1") == true
    }

    /// SIGKILLs every process in the cgroup (v2: `cgroup.kill`, atomic; v1:
    /// signal each PID, looping until the set is empty, with the freezer
    /// thawed so the signals are delivered).
    public func killAll() {
        if version == "v2", (try? write("cgroup.kill", "1")) != nil { return }
        for _ in 0..<100 {
            let pids = processes()
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            if isFrozen { try? thaw() }
            usleep(2000)
        }
    }

    /// Removes the cgroup once it is empty (retrying briefly while the kernel
    /// finishes reaping). Idempotent.
    public func remove() throws(BerthError) {
        guard FileSystem.exists(path) else { return }
        for _ in 0..<500 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            if errno != EBUSY { break }
            usleep(2000)
        }
        throw .syscall("rmdir cgroup", path, .current, fix: "processes are still inside; kill them (berth rm -f)")
    }

    private func write(_ file: String, _ value: String) throws(BerthError) {
        do {
            let fd = try FileDescriptor.open(path + "/" + file, O_WRONLY)
            defer { fd.close() }
            try fd.write(value)
        } catch {
            throw .syscall("write \(value) to", path + "/" + file, error)
        }
    }

    private func waitUntil(_ done: () -> Bool) throws(BerthError) {
        for _ in 0..<5000 {
            if done() { return }
            usleep(200)
        }
        throw BerthError("cgroup \(path) did not settle within a second; try again")
    }
}
