#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// What the container's first process is, as the monitor hands it to the C shim.
public struct SpawnRequest: Sendable {
    public var rootfs: String
    public var argv: [String]
    public var env: [String]
    public var cwd: String
    public var user: ResolvedUser
    public var hostname: String?
    /// The NIS domain name (`--domainname`), in the UTS namespace.
    public var domainname: String?
    public var plan: IsolationPlan
    public var readonlyRoot: Bool
    /// fds for stdin, stdout, stderr (-1: /dev/null).
    public var stdio: [Int32]
    /// BERTH_TTY_NONE / INSIDE / STDIO.
    public var ttyMode: Int32
    /// For BERTH_TTY_INSIDE: where the child sends the pty master.
    public var consoleSocket: Int32
    /// Mounts the child makes inside its mount namespace (namespaces backend).
    public var mounts: [(source: String, target: String, tmpfs: Bool, options: String, readonly: Bool)] = []
    /// In a new network namespace: bring `lo` up, and configure `eth0` with this endpoint if given.
    public var networkSetup = false
    public var endpoint: NetworkEndpoint?
    /// A cgroup v2 directory the child is cloned straight into (nil on v1).
    public var cgroupDirectory: String?
    /// The seccomp filter the child loads before it drops its capabilities (nil: none).
    public var seccomp: SeccompProgram?
    /// `--device` nodes the child makes inside the container.
    public var devices: [DeviceNode] = []
    /// Rootless: /dev's basic nodes are the host's, bound (mknod is refused in a user namespace).
    public var bindDevices = false
    /// `--cgroupns private`: PID 1 unshares a cgroup namespace once it is in its cgroups.
    public var privateCgroup = false
    /// An fd of the monitor the child must close at once (its report pipe,
    /// so the CLI reading it sees EOF if the monitor dies); -1 for none.
    public var monitorReportFD: Int32 = -1
    /// For BERTH_TTY_INSIDE: the pty's size before the process starts (nil: 0×0).
    public var windowSize: WindowSize?
    /// `--init`, `--ulimit`, `--shm-size`, `--sysctl`, `--oom-score-adj`.
    public var process = ProcessSettings()
    /// Other containers' namespaces to join (`--pid`/`--ipc container:NAME`),
    /// and the running IPC donor whose /dev/shm the container shares.
    public var joins: [NamespaceModes.Join] = []
    public var shmDonorPID: Int32?
    /// The joined IPC namespace is the host's (a donor with `--ipc host`): bind the host's /dev/shm.
    public var shmFromHost = false
    /// The maps of the container's own user namespace (the plan then has
    /// CLONE_NEWUSER): written for the child right after the clone.
    public var idMap: IDMap?
    /// With `idMap`: the directory of device nodes the child binds over /dev/null etc.
    public var deviceNodeDirectory: String?

    public init(
        rootfs: String, argv: [String], env: [String], cwd: String, user: ResolvedUser,
        hostname: String?, plan: IsolationPlan, readonlyRoot: Bool, stdio: [Int32],
        ttyMode: Int32, consoleSocket: Int32
    ) {
        self.rootfs = rootfs; self.argv = argv; self.env = env; self.cwd = cwd; self.user = user
        self.hostname = hostname; self.plan = plan; self.readonlyRoot = readonlyRoot; self.stdio = stdio
        self.ttyMode = ttyMode; self.consoleSocket = consoleSocket
    }
}

/// A cloned child waiting for `release()`.
public struct SpawnedChild: Sendable {
    public let pid: Int32
    /// The child was born in `SpawnRequest.cgroupDirectory`: nobody has to move it.
    public let inCgroup: Bool
    let syncFD: Int32
    let errorFD: Int32
    /// The command as given (argv[0]), for an exec failure the trampoline
    /// reports without naming it (ENOEXEC, a vanished file).
    var command = ""

    /// Lets the child go on (after the monitor put it in its cgroup).
    public func release() {
        var go: UInt8 = 1
        _ = Glibc.write(syncFD, &go, 1)
        close(syncFD)
    }

    /// Gives up on a child that will not be released: closing the sync pipe
    /// without a byte makes it exit before anything of the image runs.
    public func abandon() {
        close(syncFD)
    }

    /// Blocks until the child has exec'd (nil) or failed (its report).
    public func awaitExec() -> SpawnFailure? {
        defer { close(errorFD) }
        var report = berth_spawn_error()
        let size = MemoryLayout<berth_spawn_error>.size
        var got = 0
        while got < size {
            let n = ignoringEINTR {
                withUnsafeMutableBytes(of: &report) { Glibc.read(errorFD, $0.baseAddress! + got, size - got) }
            }
            if n <= 0 { break }
            got += n
        }
        guard got == size else { return nil }  // EOF: close-on-exec fired, the exec succeeded
        var detail = withUnsafeBytes(of: report.detail) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if detail.isEmpty && report.stage == Int32(BERTH_STAGE_EXEC.rawValue) { detail = "exec " + command }
        return SpawnFailure(stage: report.stage, errno: Errno(report.err), detail: detail)
    }
}

/// Why a container's first process did not start.
public struct SpawnFailure: Sendable, Error {
    public let stage: Int32
    public let errno: Errno
    public let detail: String

    /// Docker's exit codes: 127 command not found, 126 not executable, 125 setup.
    public var exitCode: Int32 {
        guard stage == Int32(BERTH_STAGE_EXEC.rawValue) else { return 125 }
        return errno == .ENOENT ? 127 : 126
    }

    /// Docker's wording for exec failures, our own for set-up ones.
    public var message: String {
        if stage == Int32(BERTH_STAGE_EXEC.rawValue) {
            let cmd = String(detail.dropFirst(5))
            if errno == .ENOENT {
                return cmd.contains("/")
                    ? "exec: \"\(cmd)\": stat \(cmd): no such file or directory: check the path inside the image"
                    : "exec: \"\(cmd)\": executable file not found in $PATH: check the command name, or give its full path"
            }
            return execMessage(cmd)
        }
        if stage == Int32(BERTH_STAGE_NETWORK.rawValue) {
            return "container network set-up failed: \(detail): \(errno)"
        }
        if stage == Int32(BERTH_STAGE_SECCOMP.rawValue) {
            return "cannot \(detail): \(errno); check the profile, or run with --security-opt seccomp=unconfined"
        }
        if stage == Int32(BERTH_STAGE_LIMITS.rawValue) { return limitMessage }
        if stage == Int32(BERTH_STAGE_CWD.rawValue) {
            return "\(detail): \(errno); Berth makes a missing working directory, but not through a file, "
                + "a dangling symlink or a read-only root; give -w a path the container can hold"
        }
        if errno == .ENOTDIR && detail.hasPrefix("mount ") {
            // Docker's hint for the same refusal.
            return "container set-up failed at \(detail): \(errno): are you trying to mount a directory onto a file "
                + "(or vice-versa)? Check that the host path exists and is the expected type"
        }
        return "container set-up failed at \(detail): \(errno)"
    }
}

extension SpawnFailure {
    /// Why an exec that found its file failed, in the kernel's words as
    /// runc reports them (`exec format error`, `argument list too long`),
    /// each with its cause and fix; all exit 126, as Docker's "cannot invoke".
    func execMessage(_ cmd: String) -> String {
        switch errno {
        case .EACCES, .EPERM:
            return "exec: \"\(cmd)\": permission denied: the file is not an executable the container can run "
                + "(a directory, no execute bit, or a noexec mount)"
        case .ENOEXEC:
            return "exec: \"\(cmd)\": exec format error: the file is neither a program for this machine "
                + "nor a script starting with #!"
        case .E2BIG:
            return "exec: \"\(cmd)\": argument list too long: the command's arguments and environment exceed "
                + "the kernel's limit (128 KiB for one string, a quarter of the stack limit in all); "
                + "pass large data in a file or a volume"
        case .EMFILE, .ENFILE:
            return "exec: \"\(cmd)\": too many open files: the --ulimit nofile limit leaves too few descriptors "
                + "to start the command (Berth needs 4: stdio and its error pipe); raise it"
        default:
            return "exec: \"\(cmd)\": \(errno)"
        }
    }

    /// A `--ulimit`, `--oom-score-adj` or `--sysctl` the kernel refused, named as the user gave it.
    var limitMessage: String {
        let denied = errno == .EACCES || errno == .EPERM
        if detail.hasPrefix("setrlimit resource "), let n = Int32(detail.dropFirst(19)),
            let name = Ulimit.resources.first(where: { $0.resource == n })?.name
        {
            return "cannot set --ulimit \(name): \(errno); the kernel refuses a limit above its own maximum "
                + "(nofile: fs.nr_open) and, without CAP_SYS_RESOURCE, one above Berth's own hard limit"
        }
        if detail.contains("oom_score_adj") && denied {
            return "cannot \(detail): \(errno); a negative --oom-score-adj needs CAP_SYS_RESOURCE, which berth lacks here"
        }
        return "cannot \(detail): \(errno); check the --sysctl and --oom-score-adj values"
    }
}

/// Clones a container's first process through the C shim.
public enum Spawner {
    /// Clones the child; it builds the container's root, then waits for
    /// `release()` before anything of the image runs.
    /// Must run in a single-threaded process (the monitor).
    public static func spawn(_ request: SpawnRequest) throws(BerthError) -> SpawnedChild {
        let arena = CStringArena()
        defer { arena.free() }
        // What can refuse comes before the pipes, so a refusal leaks none.
        var config = try configuration(request, arena: arena)
        // berth-init keeps the trampoline's contract, so with --init it
        // takes the trampoline's place: PID 1 is the init, the command its child.
        config.exec_fd = try request.process.initProcess ? SealedExec.initProcess() : SealedExec.trampoline()
        var sync: [Int32] = [-1, -1], errs: [Int32] = [-1, -1], mapped: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&sync) == 0, berth_pipe_cloexec(&errs) == 0,
            request.idMap == nil || berth_pipe_cloexec(&mapped) == 0
        else {
            let failure = Errno.current
            for fd in sync + errs + mapped + [config.exec_fd] where fd >= 0 { close(fd) }
            throw .syscall("pipe2", "for the container's start", failure)
        }
        defer { for fd in mapped where fd >= 0 { close(fd) } }
        config.sync_fd = sync[0]
        config.userns_sync_fd = mapped[0]
        config.close_fds = (sync[1], request.monitorReportFD, mapped[1])
        config.error_fd = errs[1]
        config.cgroup_fd = -1
        if let dir = request.cgroupDirectory {
            config.cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        var joined: [(own: Int32, kind: Int32)] = []
        var donorMount: Int32 = -1
        defer { if donorMount >= 0 { close(donorMount) } }
        config.clean_mntns = CleanMountNamespace.open(for: request)
        defer { if config.clean_mntns >= 0 { close(config.clean_mntns) } }
        do throws(BerthError) {
            joined = try joinNamespaces(request.joins)
            if let donor = request.shmDonorPID {
                donorMount = open("/proc/\(donor)/ns/mnt", O_RDONLY | O_CLOEXEC)
                guard donorMount >= 0 else { throw .syscall("open", "/proc/\(donor)/ns/mnt", .current) }
                config.shm_donor_mntns = donorMount
            }
        } catch {
            leaveNamespaces(joined)
            for fd in sync + errs + [config.exec_fd, config.cgroup_fd] where fd >= 0 { close(fd) }
            throw error
        }
        var inCgroup: Int32 = 0
        let pid = berth_spawn(&config, &inCgroup)
        let err = Errno.current
        leaveNamespaces(joined)
        if config.cgroup_fd >= 0 { close(config.cgroup_fd) }
        if config.exec_fd >= 0 { close(config.exec_fd) }
        close(sync[0])
        close(errs[1])
        guard pid > 0 else {
            close(sync[1]); close(errs[0])
            throw .syscall(
                "clone", "the container's first process", err,
                fix: err == .EPERM ? "run berth as root, or use --isolation chroot" : nil)
        }
        if let map = request.idMap {
            do throws(BerthError) { try writeMaps(map, pid: pid, go: mapped[1]) } catch {
                kill(pid, SIGKILL)
                while waitpid(pid, nil, 0) < 0 && errno == EINTR {}
                close(sync[1]); close(errs[0])
                throw error
            }
        }
        return SpawnedChild(
            pid: pid, inCgroup: inCgroup != 0, syncFD: sync[1], errorFD: errs[0], command: request.argv.first ?? "")
    }

    /// The child's uid_map and gid_map, then its go. setgroups stays
    /// `allow`: a privileged writer may map groups, and the container's
    /// user gets its supplementary groups (runc and Podman do the same as root).
    static func writeMaps(_ map: IDMap, pid: Int32, go: Int32) throws(BerthError) {
        for (file, text) in [("uid_map", map.uidMapText), ("gid_map", map.gidMapText)] {
            guard berth_write_id_map(pid, file, text) == 0 else {
                throw .syscall(
                    "write", "/proc/\(pid)/\(file) (\(text.split(separator: "\n").joined(separator: ", ")))", .current,
                    fix: "the kernel refused the map; check that its host ids exist and do not overlap")
            }
        }
        var byte: UInt8 = 1
        guard Glibc.write(go, &byte, 1) == 1 else { throw .syscall("write", "the user namespace's go", .current) }
    }

    /// Enters each namespace to join, in this monitor, so the child is
    /// cloned into it; returns the monitor's own namespaces to go back to.
    /// For a PID namespace setns(2) changes only where children are born,
    /// and the monitor's own (active) one is always a valid way back. The
    /// monitor's cgroup thread (`BackgroundWork`) may still run here: a PID
    /// or IPC namespace may be joined by one thread of several, where a
    /// mount or user namespace could not be (EINVAL).
    static func joinNamespaces(_ joins: [NamespaceModes.Join]) throws(BerthError) -> [(own: Int32, kind: Int32)] {
        var entered: [(own: Int32, kind: Int32)] = []
        for j in joins {
            let own = open("/proc/self/ns/\(j.file)", O_RDONLY | O_CLOEXEC)
            let target = open("/proc/\(j.pid)/ns/\(j.file)", O_RDONLY | O_CLOEXEC)
            let failure = Errno.current
            defer { if target >= 0 { close(target) } }
            guard own >= 0, target >= 0 else {
                if own >= 0 { close(own) }
                leaveNamespaces(entered)
                throw .syscall(
                    "open", "/proc/\(j.pid)/ns/\(j.file)", failure, fix: "the container to join has stopped; start it first")
            }
            guard berth_setns(target, j.kind) == 0 else {
                let e = Errno.current
                close(own)
                leaveNamespaces(entered)
                throw .syscall("setns", "the \(j.file) namespace of process \(j.pid)", e)
            }
            entered.append((own, j.kind))
        }
        return entered
    }

    /// Back to the monitor's own namespaces (the reverse of `joinNamespaces`).
    static func leaveNamespaces(_ entered: [(own: Int32, kind: Int32)]) {
        for (own, kind) in entered.reversed() {
            _ = berth_setns(own, kind)
            close(own)
        }
    }

    /// The C configuration of the request: what the child runs and as whom,
    /// the plan, the mounts, the network, the seccomp program and the
    /// `--device` nodes, all in memory `arena` owns until the spawn is done.
    static func configuration(_ request: SpawnRequest, arena: CStringArena) throws(BerthError) -> berth_spawn_config {
        var config = berth_spawn_config()
        config.rootfs = arena.string(request.rootfs)
        config.hostname = request.hostname.map { arena.string($0) }
        config.domainname = request.domainname.map { arena.string($0) }
        config.argv = arena.mutableArray(request.argv)
        config.envp = arena.mutableArray(request.env)
        config.cwd = arena.string(request.cwd)
        config.uid = request.user.uid
        config.gid = request.user.gid
        config.groups = arena.uint32s(request.user.groups)
        config.ngroups = Int32(request.user.groups.count)
        config.clone_flags = request.plan.cloneFlags
        config.pivot = request.plan.pivotRoot ? 1 : 0
        config.stdio = (request.stdio[0], request.stdio[1], request.stdio[2])
        config.tty_mode = request.ttyMode
        config.console_socket = request.consoleSocket
        config.tty_rows = request.windowSize?.rows ?? 0
        config.tty_cols = request.windowSize?.columns ?? 0
        config.capabilities = request.plan.capabilities
        config.no_new_privs = request.plan.noNewPrivileges ? 1 : 0
        config.masked_paths = arena.array(request.plan.maskedPaths)
        config.readonly_paths = arena.array(request.plan.readonlyPaths)
        config.readonly_root = request.readonlyRoot ? 1 : 0
        let mounts = arena.buffer(berth_mount.self, count: request.mounts.count)
        for (i, m) in request.mounts.enumerated() {
            let tmpfs = m.tmpfs ? try TmpfsOptions(m.options, in: m.target) : nil
            let data = tmpfs?.data ?? m.options
            mounts[i] = berth_mount(
                source: arena.string(m.source), target: arena.string(m.target),
                fstype: m.tmpfs ? arena.string("tmpfs") : nil,
                data: data.isEmpty ? nil : arena.string(data), readonly: m.readonly ? 1 : 0,
                flags: tmpfs?.flags ?? 0)
        }
        config.mounts = UnsafePointer(mounts)
        config.nmounts = Int32(request.mounts.count)
        config.net_setup = request.networkSetup ? 1 : 0
        if let e = request.endpoint {
            config.net_ifname = arena.string("eth0")
            config.net_address = e.address.networkOrder
            config.net_gateway = e.gateway.networkOrder
            config.net_prefix = Int32(e.prefix)
        }
        if let program = request.seccomp {
            config.seccomp_filter = arena.bytes(program.bytes)
            config.seccomp_len = UInt16(program.count)
        }
        let devices = arena.buffer(berth_device_node.self, count: request.devices.count)
        for (i, d) in request.devices.enumerated() {
            devices[i] = berth_device_node(
                path: arena.string(d.path), type: Int32(d.type.asciiValue ?? 99),
                major: UInt32(d.major), minor: UInt32(d.minor), mode: d.fileMode,
                uid: d.uid, gid: d.gid, host: arena.string(d.hostPath))
        }
        config.devices = UnsafePointer(devices)
        config.ndevices = Int32(request.devices.count)
        config.bind_devices = request.bindDevices ? 1 : 0
        config.cgroup_namespace = request.privateCgroup ? 1 : 0
        config.clean_mntns = -1
        let process = request.process
        config.shm_size = process.shmSize.map { UInt64($0) } ?? 0
        config.shm_donor_mntns = -1
        config.userns_dev_dir = request.deviceNodeDirectory.map { arena.string($0) }
        let ipc = process.namespaces.ipc
        let shm =
            ipc == "none"
            ? BERTH_SHM_NONE
            : ipc == "host" || request.shmFromHost ? BERTH_SHM_HOST : request.shmDonorPID != nil ? BERTH_SHM_DONOR : BERTH_SHM_OWN
        config.shm_mode = Int32(shm.rawValue)
        let limits = arena.buffer(berth_rlimit.self, count: process.ulimits.count)
        for (i, u) in process.ulimits.enumerated() {
            limits[i] = berth_rlimit(resource: u.resource, soft: u.kernelSoft, hard: u.kernelHard)
        }
        config.rlimits = UnsafePointer(limits)
        config.nrlimits = Int32(process.ulimits.count)
        config.set_oom_score_adj = process.oomScoreAdj == nil ? 0 : 1
        config.oom_score_adj = Int32(process.oomScoreAdj ?? 0)
        if !process.sysctls.isEmpty {
            config.sysctl_paths = arena.array(process.sysctls.map(\.procPath))
            config.sysctl_values = arena.array(process.sysctls.map(\.value))
        }
        return config
    }
}

/// C strings that live until `free()`, for one call into C.
public final class CStringArena {
    public init() {}
    private var pointers: [UnsafeMutableRawPointer] = []

    public func string(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        pointers.append(UnsafeMutableRawPointer(p))
        return UnsafePointer(p)
    }

    public func mutableArray(_ list: [String]) -> UnsafePointer<UnsafeMutablePointer<CChar>?> {
        let array = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: list.count + 1)
        for (i, s) in list.enumerated() { array[i] = UnsafeMutablePointer(mutating: string(s)) }
        array[list.count] = nil
        pointers.append(UnsafeMutableRawPointer(array))
        return UnsafePointer(array)
    }

    public func array(_ list: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        UnsafeRawPointer(mutableArray(list)).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
    }

    public func bytes(_ list: [UInt8]) -> UnsafeRawPointer {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, list.count), alignment: 8)
        list.withUnsafeBytes { if let base = $0.baseAddress { buffer.copyMemory(from: base, byteCount: list.count) } }
        pointers.append(buffer)
        return UnsafeRawPointer(buffer)
    }

    /// Room for `count` values of a C struct, freed with the arena.
    public func buffer<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let buffer = UnsafeMutablePointer<T>.allocate(capacity: max(1, count))
        pointers.append(UnsafeMutableRawPointer(buffer))
        return buffer
    }

    public func uint32s(_ list: [UInt32]) -> UnsafePointer<UInt32> {
        let array = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, list.count))
        for (i, v) in list.enumerated() { array[i] = v }
        pointers.append(UnsafeMutableRawPointer(array))
        return UnsafePointer(array)
    }

    public func free() { for p in pointers { Glibc.free(p) } }
}

/// Berth's clean mount namespace (clean_mntns.c): a container's mount
/// namespace is copied from it rather than from the host's, whose size grows
/// with every running container's overlay. One a host, pinned in
/// /run/berth, made by the first container that needs it.
enum CleanMountNamespace {
    static let directory = "/run/berth"
    static let pin = directory + "/mntns"
    static let lock = directory + "/mntns.lock"

    /// An fd of it for a container that builds its root with pivot_root in
    /// a mount namespace of its own, or -1: a container in a user namespace
    /// (its own user may not enter a namespace the host's root owns) or
    /// rootless, and any host where it cannot be made, copy the host's as
    /// before.
    static func open(for request: SpawnRequest) -> Int32 {
        let flags = request.plan.cloneFlags
        guard request.plan.pivotRoot, flags & berth_clone_newns() != 0, flags & berth_clone_newuser() == 0,
            request.idMap == nil, !request.bindDevices, geteuid() == 0
        else { return -1 }
        return berth_clean_mntns(directory, pin, lock)
    }
}
