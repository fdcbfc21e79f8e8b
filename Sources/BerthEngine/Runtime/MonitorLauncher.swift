#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux
import Synchronization

/// Starts a container's monitor (`berth __monitor ROOT ID`) in its own
/// session and reads its one-line report.
public enum MonitorLauncher {
    /// What the monitor reported.
    public typealias Report = MonitorReport

    /// Spawns the monitor and waits for its report.
    public static func launch(
        root: String, id: String, waitAttach: Bool, windowSize: WindowSize? = nil,
        registry: PluginRegistry
    ) throws(BerthError) -> Report {
        if isSingleThreaded {
            return try launchForked(root: root, id: id, waitAttach: waitAttach, windowSize: windowSize, registry: registry)
        }
        guard let binary = FileSystem.readLink("/proc/self/exe") else {
            throw BerthError("cannot find the berth binary (/proc/self/exe); is /proc mounted?")
        }
        var ready: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&ready) == 0 else { throw .syscall("pipe", "for the monitor", .current) }
        let args =
            [binary, "--root", root, "__monitor", id] + (waitAttach ? ["--wait-attach"] : [])
            + (windowSize.map { ["--size", $0.argument] } ?? [])
        let pid = try spawn(binary, args, readyFD: ready[1])
        return awaitReport(first: pid, ready: ready)
    }

    /// Whether this process has one thread (`Threads:` in /proc/self/status).
    /// Only then may it fork and go on running Swift in the child.
    static var isSingleThreaded: Bool {
        ((try? FileSystem.readText("/proc/self/status")) ?? "").split(separator: "\n")
            .first { $0.hasPrefix("Threads:") }.map { $0.split(separator: "\t").last == "1" } ?? false
    }

    /// The fast path: fork the monitor from this process instead of
    /// re-executing the binary (which re-reads the binary, relinks the
    /// libraries and restarts the runtime: 3–8 ms on these machines). The CLI
    /// is single-threaded (checked), so the child may go on in Swift. Every
    /// inherited fd but the report pipe is closed first: a container lock
    /// held by `start` must not live on in the monitor. A one-command
    /// `berth` (`CommandProcess.runsOneCommand`) keeps the monitor as its
    /// child, which spares the second fork (of a process this size) and the
    /// wait for it; any other caller has the monitor fork once more and
    /// reaps the first fork at once.
    private static func launchForked(
        root: String, id: String, waitAttach: Bool, windowSize: WindowSize?,
        registry: PluginRegistry
    ) throws(BerthError) -> Report {
        var ready: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&ready) == 0 else { throw .syscall("pipe", "for the monitor", .current) }
        let detach = !CommandProcess.runsOneCommand
        if !detach { reapEndedMonitors() }
        let pid = fork()
        if pid < 0 { throw .syscall("fork", "the monitor", .current) }
        if pid == 0 {
            setsid()
            // ps shows what the re-executed monitor would show, not the CLI's words.
            _ = berth_set_proctitle(CommandLine.argc, CommandLine.unsafeArgv, "berth --root \(root) __monitor \(id)")
            _ = dup2(ready[1], 3)
            berth_close_from(4)
            let null = open("/dev/null", O_RDWR)
            for fd: Int32 in 0...2 { dup2(null, fd) }
            if null > 2 { close(null) }
            berth_unblock_signals()
            _exit(
                Monitor.main(
                    root: root, id: id, readyFD: 3, waitAttach: waitAttach, windowSize: windowSize,
                    registry: registry, detach: detach))
        }
        if !detach { ownMonitors.withLock { $0.append(pid) } }
        return awaitReport(first: detach ? pid : nil, ready: ready)
    }

    /// The monitors this one-command `berth` forked and kept as children.
    private static let ownMonitors = Mutex<[pid_t]>([])

    /// Reaps those that have ended, so that one command starting many
    /// containers (`bench`, the RUN steps of `build`) leaves at most the
    /// zombies of its last few monitors until it exits, not one per container.
    private static func reapEndedMonitors() {
        ownMonitors.withLock { pids in
            pids.removeAll { pid in
                var status: Int32 = 0
                return waitpid(pid, &status, WNOHANG) != 0  // reaped, or not our child any more
            }
        }
    }

    /// Reaps the monitor's first process (it exits at once; nil: the monitor
    /// stays this process's child) and reads the report.
    private static func awaitReport(first pid: pid_t?, ready: [Int32]) -> Report {
        close(ready[1])
        if let pid { waitForChild(pid) }
        let line = readLine(ready[0])
        close(ready[0])
        return parse(line)
    }

    private static func spawn(_ binary: String, _ args: [String], readyFD: Int32) throws(BerthError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, readyFD, 3)
        // Nothing else of the caller's: a multi-threaded caller (the API
        // service) has sockets without close-on-exec, and a monitor holding
        // its listening socket would keep answering connections for it.
        _ = berth_spawn_close_from(&actions, 4)
        var attrs = posix_spawnattr_t()
        posix_spawnattr_init(&attrs)
        defer { posix_spawnattr_destroy(&attrs) }
        // Its own session: the REPL's Ctrl-C and a closed terminal never reach it.
        var flags = berth_posix_spawn_setsid() | Int16(POSIX_SPAWN_SETSIGMASK)
        posix_spawnattr_setflags(&attrs, flags)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attrs, &empty)
        flags = 0
        var pid: pid_t = 0
        let argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawn(&pid, binary, &actions, &attrs, argv, environ)
        guard rc == 0 else { throw .syscall("spawn monitor", binary, Errno(rc)) }
        return pid
    }

    private static func readLine(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = ignoringEINTR { read(fd, &byte, 1) }
            if n <= 0 || byte == 10 { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func parse(_ line: String) -> Report { MonitorReport(line: line) }
}
