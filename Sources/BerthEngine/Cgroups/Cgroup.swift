#if canImport(Glibc)
import Glibc
#endif

/// One container's cgroup, on cgroup v2 or on v1's per-controller hierarchies.
///
/// Berth picks the version at run time: a pure v2 host (`cgroup.controllers`
/// at /sys/fs/cgroup) uses v2; a hybrid host like this one (v1 controllers,
/// v2 at /sys/fs/cgroup/unified) uses v1, one directory per controller,
/// unless `BERTH_CGROUP=v2` asks for the unified hierarchy (freeze and kill
/// work there without controllers, limits do not). `path` is recorded in the
/// container (`CgroupPath`): the v2 directory, or the v1 freezer one.
public struct Cgroup: Sendable, Equatable {
    /// `v1` or `v2`.
    public var version: String
    /// The v2 directory, or the v1 freezer directory.
    public var path: String

    /// The v1 hierarchies a container joins (those mounted here).
    static let v1Controllers = ["freezer", "memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "devices"]

    /// The cgroup a new container gets, by the rules above.
    /// `parent` is `--cgroup-parent`, already checked (`checkedParent`):
    /// the container's directory is `PARENT/ID` below each hierarchy's
    /// root instead of `berth/ID`.
    public static func forContainer(_ id: String, environment: [String: String] = [:], parent: String? = nil) -> Cgroup {
        // Rootless: a cgroup under the v2 one delegated to the user, if berth
        // runs in one; else none (v1 has no delegation; docs/rootless.md).
        if Rootless.isActive { return delegated().map { Cgroup(version: "v2", path: $0 + "/berth/" + id) } ?? .none }
        let forced = environment["BERTH_CGROUP"] ?? (getenv("BERTH_CGROUP").map { String(cString: $0) })
        let below = (parent ?? "berth") + "/" + id
        if FileSystem.exists("/sys/fs/cgroup/cgroup.controllers") {
            return Cgroup(version: "v2", path: "/sys/fs/cgroup/\(below)")
        }
        if forced == "v2", FileSystem.exists("/sys/fs/cgroup/unified/cgroup.procs") {
            return Cgroup(version: "v2", path: "/sys/fs/cgroup/unified/\(below)")
        }
        return Cgroup(version: "v1", path: "/sys/fs/cgroup/freezer/\(below)")
    }

    /// `--cgroup-parent`, as a path below each hierarchy's root: Docker's
    /// form (`/a/b`, or `a/b`, both below the root here, as with dockerd's
    /// cgroupfs driver and a daemon in the root cgroup) with its slashes
    /// trimmed. Refused: `.` and `..` (a way out of cgroupfs), control
    /// characters, a component over 255 bytes (NAME_MAX), a first component
    /// `freezer` or `unified` (what a recorded path is told apart by), and a
    /// rootless store, whose one delegated cgroup is where its containers must be.
    public static func checkedParent(_ text: String) throws(BerthError) -> String {
        let parts = text.split(separator: "/")
        guard !parts.isEmpty else { throw .invalid("invalid --cgroup-parent \"\(text)\": give a cgroup path such as /ci/jobs") }
        // Room under PATH_MAX for the hierarchy's mount, the ID and a file name.
        guard text.utf8.count <= 1024 else {
            throw .invalid("invalid --cgroup-parent \(quoted(text)): \(text.utf8.count) bytes; a cgroup parent is at most 1024")
        }
        for part in parts {
            if part == "." || part == ".." || part.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 })
                || part.utf8.count > 255
            {
                throw .invalid(
                    "invalid --cgroup-parent \(quoted(text)): \(quoted(String(part))) is not a cgroup name (no . or .., no control characters, at most 255 bytes)"
                )
            }
        }
        // A record's cgroup path tells v1 from v2 by these names at its top.
        if parts[0] == "freezer" || parts[0] == "unified" {
            throw .invalid(
                "invalid --cgroup-parent \(quoted(text)): a parent may not begin with \(parts[0]), which Berth reads as a cgroup hierarchy; choose another name"
            )
        }
        if Rootless.isActive {
            throw Rootless.refusal("--cgroup-parent", "a rootless container's cgroup is under the one delegated to the user")
        }
        return parts.joined(separator: "/")
    }

    /// Every cgroup `forContainer` could have given `id`, on any of the
    /// roots, that exists now: what a damaged record no longer names.
    public static func existing(for id: String) -> [Cgroup] {
        ["/sys/fs/cgroup/freezer/berth/", "/sys/fs/cgroup/unified/berth/", "/sys/fs/cgroup/berth/"]
            .filter { FileSystem.exists($0 + id) }.map { Cgroup(path: $0 + id) }
    }

    /// The top of the cgroup v2 subtree delegated to the user that this
    /// process is in (every directory from there down to this process's is
    /// the user's, with a writable `cgroup.procs`: what systemd's
    /// `Delegate=yes` gives `user@UID.service` and the scopes below it, or
    /// what root's chown gives). A rootless container's cgroup is
    /// `TOP/berth/ID`, beside the user's own processes rather than below
    /// them: v2 gives a child controllers only from a parent without
    /// processes, and the top of a delegation (systemd keeps its own
    /// processes in `init.scope`) is such a parent, where the directory a
    /// shell or berth runs in is not. Moving a process between two
    /// directories needs the user's write access to their common
    /// ancestor's `cgroup.procs`, which the top gives. nil on v1-only
    /// hosts, at the v2 root, or when this process's directory is not the user's.
    static func delegated() -> String? {
        let mount =
            FileSystem.exists("/sys/fs/cgroup/cgroup.controllers")
            ? "/sys/fs/cgroup" : FileSystem.exists("/sys/fs/cgroup/unified/cgroup.procs") ? "/sys/fs/cgroup/unified" : nil
        guard let mount, let text = try? FileSystem.readText("/proc/self/cgroup") else { return nil }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("0::/") }) else { return nil }
        let relative = String(line.dropFirst(3))
        guard relative != "/", !relative.contains("/.."), !relative.hasSuffix(" (deleted)") else { return nil }
        func isUsers(_ dir: String) -> Bool {
            var st = stat()
            return lstat(dir, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR && st.st_uid == geteuid()
                && access(dir + "/cgroup.procs", W_OK) == 0 && access(dir, W_OK) == 0
        }
        var top = mount + relative
        guard isUsers(top) else { return nil }
        while true {
            let parent = FileSystem.parent(of: top)
            guard parent.count > mount.count, isUsers(parent) else { return top }
            top = parent
        }
    }

    /// The controllers a rootless container's cgroup under `top` can have:
    /// those `top` already hands to its children, or, when no process
    /// lives in `top` itself, those it has and may hand on.
    static func delegatedControllers(top: String) -> Set<String> {
        func words(_ file: String) -> Set<String> {
            Set(
                ((try? FileSystem.readText(top + "/" + file)) ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(
                    String.init))
        }
        let procs = ((try? FileSystem.readText(top + "/cgroup.procs")) ?? "").trimmingSpaces
        return procs.isEmpty ? words("cgroup.controllers") : words("cgroup.subtree_control")
    }

    /// No cgroup (rootless): nothing to create, join, freeze or kill;
    /// PID 1's PID namespace takes its processes with it when it ends.
    public static let none = Cgroup(version: "none", path: "")

    /// True for `none`.
    public var isNone: Bool { path.isEmpty }

    /// Reconstructs a recorded cgroup from its path.
    public init(path: String) {
        self.path = path
        // A v1 path is the freezer hierarchy's (`…/freezer/…`).
        self.version = path.isEmpty ? "none" : path.containsUTF8("/freezer/") ? "v1" : "v2"
    }

    init(version: String, path: String) {
        self.version = version
        self.path = path
    }

    /// `berth/ID` (or `PARENT/ID`), the part after the hierarchy's mount point.
    public var relative: String {
        if version == "v1" {
            // Compared as bytes: `firstRange(of:)` built a searcher for each
            // of the dozens of calls a start makes (docs/benchmarks.md).
            return path.utf8Suffix(after: "/freezer/") ?? ""
        }
        for mount in ["/sys/fs/cgroup/unified/", "/sys/fs/cgroup/"] where path.hasPrefix(mount) {
            return String(path.dropFirst(mount.count))
        }
        return ""
    }

    /// The parent a `--cgroup-parent` gave, read back from the path
    /// (`berth/ID`: none, ""), for records made before the parent was kept.
    func givenParent(id: String) -> String {
        let rel = relative
        guard rel.hasSuffix("/" + id) else { return "" }
        let parent = String(rel.dropLast(id.count + 1))
        return parent == "berth" || Rootless.isActive ? "" : "/" + parent
    }

    /// The directory for one controller.
    public func directory(_ controller: String) -> String {
        version == "v1" ? "/sys/fs/cgroup/\(controller)/\(relative)" : path
    }

    /// Every directory this cgroup has (v1: one per mounted controller).
    var directories: [String] {
        if isNone { return [] }
        guard version == "v1" else { return [path] }
        let rel = relative
        return Self.mountedV1Controllers.map { "/sys/fs/cgroup/\($0)/\(rel)" }
    }

    /// The v1 hierarchies mounted here, looked up once per process: a start
    /// asks for a container's directories four times (create, the move,
    /// the monitor's own move, remove), eight `stat`s each.
    static let mountedV1Controllers: [String] = v1Controllers.filter {
        FileSystem.exists("/sys/fs/cgroup/\($0)/cgroup.procs")
    }

    /// The `cgroup.procs` file of every directory, for joining from outside.
    public var procsFiles: [String] { directories.map { $0 + "/cgroup.procs" } }

    /// Creates the directories (and parents).
    public func create() throws(BerthError) {
        for dir in directories {
            // New as a rule, under parents that exist: one mkdir, not a stat first.
            if mkdir(dir, 0o755) == 0 || errno == EEXIST { continue }
            do { try FileSystem.makeDirectories(dir) } catch {
                throw BerthError("create cgroup \(dir): \(error.message); check that cgroupfs is mounted and writable")
            }
        }
        if version == "v1" { try inheritCpuset(directory("cpuset")) }
        if version == "v2" { enableControllers() }
    }

    /// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and
    /// refuses tasks until both are set: copy them down from the parent.
    /// Berth's own parent (`cpuset/berth`, never the host's root) then gets
    /// `cgroup.clone_children`, so the kernel gives the next containers the
    /// parent's CPUs and nodes when their directories are made: a write of
    /// `cpuset.cpus` checks the new set against every sibling
    /// (`validate_change`), 0.7 ms of kernel time per `run` at 1,000 running.
    private func inheritCpuset(_ dir: String) throws(BerthError) {
        // The usual case, with clone_children on the parent: the kernel
        // gave both sets at mkdir, and one read tells it.
        guard let cpus = try? FileSystem.readText(dir + "/cpuset.cpus") else { return }
        if !cpus.trimmingSpaces.isEmpty, !cpus.hasPrefix("\n") { return }
        let parent = FileSystem.parent(of: dir)
        if parent != "/sys/fs/cgroup/cpuset" { try inheritCpuset(parent) }
        var copied = false
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let mine = (try? FileSystem.readText(dir + "/" + file))?.trimmingSpaces ?? ""
            if mine.isEmpty || mine == "\n" {
                let theirs = (try? FileSystem.readText(parent + "/" + file)) ?? ""
                try write(dir, file, theirs.split(separator: "\n").first.map(String.init) ?? "")
                copied = true
            }
        }
        if copied && parent != "/sys/fs/cgroup/cpuset" { try? write(parent, "cgroup.clone_children", "1") }
    }

    /// v2 gives a child a controller only when every directory above it
    /// hands it on: from the hierarchy's root down to the container's
    /// parent (a `--cgroup-parent` may be several levels deep); in a
    /// rootless store, from the top of the user's delegation.
    private func enableControllers() {
        let parent = FileSystem.parent(of: path)
        var chain = [FileSystem.parent(of: parent), parent]
        let rel = relative
        if !Rootless.isActive && !rel.isEmpty && path.hasSuffix("/" + rel) {
            var dir = String(path.dropLast(rel.count + 1))
            chain = [dir]
            for part in rel.split(separator: "/").dropLast() {
                dir += "/" + part
                chain.append(dir)
            }
        }
        let available = ((try? FileSystem.readText(chain[0] + "/cgroup.controllers")) ?? "")
            .split(whereSeparator: { $0 == " " || $0 == "\n" })
        for controller in ["cpu", "cpuset", "memory", "pids", "io"] where available.contains(Substring(controller)) {
            for dir in chain { try? write(dir, "cgroup.subtree_control", "+" + controller) }
        }
    }

    /// Moves a process into every hierarchy of the cgroup.
    public func add(_ pid: Int32) throws(BerthError) {
        for dir in directories { try write(dir, "cgroup.procs", "\(pid)") }
    }

    /// Host PIDs of every process in the cgroup.
    public func processes() -> [Int32] {
        if isNone { return [] }
        return ((try? FileSystem.readText(path + "/cgroup.procs")) ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    /// Freezes every process; returns once the kernel reports them frozen.
    public func freeze() throws(BerthError) {
        if isNone {
            throw Rootless.refusal(
                "pause",
                "it needs the cgroup freezer, and this container has no cgroup of its own "
                    + "(cgroup v1, or a v2 cgroup not delegated to the user)")
        }
        if version == "v1" {
            try write(path, "freezer.state", "FROZEN")
            try waitUntil { (try? FileSystem.readText(path + "/freezer.state"))?.hasPrefix("FROZEN") == true }
        } else {
            try write(path, "cgroup.freeze", "1")
            // Frozen v2 tasks still read `S` in /proc; cgroup.events tells the truth.
            try waitUntil { (try? FileSystem.readText(path + "/cgroup.events"))?.contains("frozen 1") == true }
        }
    }

    /// Thaws every process.
    public func thaw() throws(BerthError) {
        if isNone { return }
        try write(path, version == "v1" ? "freezer.state" : "cgroup.freeze", version == "v1" ? "THAWED" : "0")
    }

    /// Whether the cgroup is frozen.
    public var isFrozen: Bool {
        if isNone { return false }
        if version == "v1" { return (try? FileSystem.readText(path + "/freezer.state"))?.hasPrefix("FROZEN") == true }
        return (try? FileSystem.readText(path + "/cgroup.events"))?.contains("frozen 1") == true
    }

    /// SIGKILLs every process in the cgroup (v2: `cgroup.kill`, atomic; v1:
    /// signal each PID, looping until the set is empty, with the freezer
    /// thawed so the signals are delivered).
    public func killAll() {
        if version == "v2", (try? write(path, "cgroup.kill", "1")) != nil { return }
        for _ in 0..<100 {
            let pids = processes()
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            if isFrozen { try? thaw() }
            usleep(2000)
        }
    }

    /// Removes every directory once it is empty (retrying briefly while the
    /// kernel finishes reaping). Idempotent.
    public func remove() throws(BerthError) {
        for dir in directories where FileSystem.exists(dir) {
            var removed = false
            for _ in 0..<500 {
                if rmdir(dir) == 0 || errno == ENOENT { removed = true; break }
                if errno != EBUSY { break }
                usleep(2000)
            }
            if !removed {
                throw .syscall("rmdir cgroup", dir, .current, fix: "processes are still inside; kill them (berth rm -f)")
            }
        }
    }

    func write(_ dir: String, _ file: String, _ value: String) throws(BerthError) {
        do {
            let fd = try FileDescriptor.open(dir + "/" + file, O_WRONLY)
            defer { fd.close() }
            try fd.write(value)
        } catch {
            throw .syscall("write \(value) to", dir + "/" + file, error)
        }
    }

    func read(_ controller: String, _ file: String) -> String? {
        if isNone { return nil }
        return try? FileSystem.readText(directory(controller) + "/" + file)
    }

    private func waitUntil(_ done: () -> Bool) throws(BerthError) {
        for _ in 0..<5000 {
            if done() { return }
            usleep(200)
        }
        throw BerthError("cgroup \(path) did not settle within a second; try again")
    }
}
