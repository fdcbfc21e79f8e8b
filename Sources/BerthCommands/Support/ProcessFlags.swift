import BerthEngine

/// `create` and `run`'s flags about the container's processes themselves:
/// its PID 1, resource limits, /dev/shm, kernel parameters and OOM score.
extension ContainerFlags {
    static let initProcess = Flag.bool(
        "init", help: "Run an init inside the container that forwards signals and reaps processes")
    static let ulimit = Flag.strings(
        "ulimit", value: "ulimit",
        help: "Ulimit options (NAME=SOFT[:HARD]: nofile, nproc, core, memlock, stack, …; -1 unlimited)")
    static let shmSize = Flag.string("shm-size", value: "bytes", help: "Size of /dev/shm (default 64m)")
    static let sysctl = Flag.strings(
        "sysctl", value: "map", help: "Sysctl options (KEY=VALUE: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*)")
    static let oomScoreAdj = Flag.int("oom-score-adj", help: "Tune host's OOM preferences (-1000 to 1000)")

    static let pid = Flag.string(
        "pid", help: "PID namespace to use (host, container:NAME)", completion: .words(["host", "container:"]))
    static let ipc = Flag.string(
        "ipc", help: "IPC mode to use (private, shareable, none, host, container:NAME)",
        completion: .words(["private", "shareable", "none", "host", "container:"]))
    static let uts = Flag.string("uts", help: "UTS namespace to use (host)", completion: .words(["host"]))
    static let cgroupns = Flag.string(
        "cgroupns", help: "Cgroup namespace to use (host|private; default: private on cgroup v2, host on v1)",
        completion: .words(["host", "private"]))

    /// In help order.
    static let processFlags: [any AnyFlag] = [initProcess, ulimit, shmSize, sysctl, oomScoreAdj, pid, ipc, uts, cgroupns]

    /// The settings the flags give; each value is checked here as Docker's
    /// CLI checks it (exit 125), the rest at create.
    static func process(_ args: ParsedArguments) throws(BerthError) -> ProcessSettings {
        var p = ProcessSettings()
        p.initProcess = args[Self.initProcess]
        for text in args[Self.ulimit] {
            let u = try Ulimit.parse(text)
            p.ulimits.removeAll { $0.name == u.name }  // the last one of a name wins, as in Docker
            p.ulimits.append(u)
        }
        if let text = args[Self.shmSize] {
            let size = try Resources.bytes(text, flag: Self.shmSize.long)
            p.shmSize = size == 0 ? nil : size  // Docker's 0: the default
        }
        for text in args[Self.sysctl] {
            let s = try Sysctl.parse(text)
            p.sysctls.removeAll { $0.key == s.key }
            p.sysctls.append(s)
        }
        p.oomScoreAdj = try args.value(Self.oomScoreAdj)
        p.namespaces = try NamespaceModes.parse(
            pid: args[Self.pid], ipc: args[Self.ipc], uts: args[Self.uts], cgroup: args[Self.cgroupns])
        return p
    }
}
