#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// What `exec` runs inside a container.
public struct ExecOptions: Sendable {
    public var command: [String]
    public var env: [String] = []
    public var workdir: String?
    public var user: String?
    public var interactive = false
    public var tty = false
    public var detach = false
    /// The caller's environment, for `-e NAME` (the caller's value, or nothing).
    public var callerEnvironment: [String: String] = [:]
    /// A health probe's: stdout and stderr go to this fd (no relay, stdin
    /// /dev/null); -1 for the caller's streams.
    public var output: Int32 = -1
    /// A health probe's: after this many milliseconds the process is killed
    /// and `run` returns `Executor.timedOut` (-1: no limit).
    public var timeoutMs: Int32 = -1
    /// A health probe's: the most bytes the process (and what it starts)
    /// may write to any one file, its output file included (RLIMIT_FSIZE;
    /// past it the writer gets SIGXFSZ). nil: the container's limits only.
    public var fileSizeLimit: UInt64?
    /// Its ID in the events (`execID`); the API service's exec ID, or a new one.
    public var id = ""
    /// Whether `run` records `exec_create` (the API service records it when
    /// the exec is created, before it is started).
    public var recordCreate = true
    public init(command: [String]) { self.command = command }
}

/// `exec`: a new process that joins every namespace and the cgroup of a
/// running container, so it shows in the container's `ps` beside PID 1 and
/// is frozen by `pause`. Its parent is this `berth` process (like nsenter),
/// except with `-d`, where it is handed to the container's PID 1.
public struct Executor {
    public let lifecycle: Lifecycle

    public init(lifecycle: Lifecycle) { self.lifecycle = lifecycle }

    /// What `run` returns for a process killed at `timeoutMs` (an exit code never is -1).
    public static let timedOut: Int32 = -1

    /// Runs the command; returns its exit code (0 at once with `detach`).
    /// `terminal`, for `-t`: called with the pty's master once the process
    /// runs, and with -1 before it is closed (the API service resizes it).
    public func run(
        _ ref: String, _ o: ExecOptions, stdio: [Int32], terminal onTerminal: ((Int32) -> Void)? = nil
    ) throws(BerthError) -> Int32 {
        // The process joins the container's cgroups: warm the migration lock
        // meanwhile (CgroupWarmup); reaped once the exec went through.
        var warmup = CgroupWarmup.start(environment: [:])
        defer { CgroupWarmup.reap(warmup) }
        let container = try lifecycle.containers.find(ref)
        try container.ensureState(for: .exec, ref: ref)
        let backend = try lifecycle.registry.isolationBackend(container.isolation)
        guard backend.isolates else {
            throw BerthError(
                "exec needs the namespaces backend; container \(container.name) uses \(container.isolation), which has no namespaces to join"
            )
        }
        let plan = try backend.plan(for: container)
        let rootfs = "/proc/\(container.state.pid)/root"
        let user = try UserLookup.resolve(o.user ?? container.user, rootfs: rootfs, groupAdd: container.groupAdd)
        // As dockerd: the container's process environment (its link variables
        // included, as they are now) with TERM=xterm for -t, then the
        // caller's -e over it (so its own TERM wins).
        let links =
            container.networkOptions.links.isEmpty
            ? [] : (try? ResolvedLinks.resolve(container, in: lifecycle.containers, strict: false))?.env ?? []
        let env = UserLookup.withHome(
            ImageChanges.mergeEnv(
                container.processEnvironment(tty: o.tty, links: links),
                try EnvironmentVariables.pairs(o.env, from: o.callerEnvironment)),
            user)
        // Docker applies the container's profile to exec'd processes too.
        let seccomp = try SecurityOptions.seccompProgram(
            container.security.options, plan: plan,
            cache: lifecycle.layout.seccompCache)
        // dockerd's exec events; a health probe records none (dockerd's
        // would add three lines to the log at every interval).
        let recorded = o.output < 0
        let id = o.id.isEmpty ? RandomID.hex64() : o.id
        let command = o.command.joined(separator: " ")
        if recorded && o.recordCreate { lifecycle.events.record("exec_create: " + command, container, [("execID", id)]) }
        if recorded { lifecycle.events.record("exec_start: " + command, container, [("execID", id)]) }
        do {
            let code = try launch(
                container, o, env: env, user: user, plan: plan, seccomp: seccomp, stdio: stdio, terminal: onTerminal
            ) {
                CgroupWarmup.reap(warmup)
                warmup = 0
            }
            if recorded && !o.detach {
                lifecycle.events.record("exec_die", container, [("execID", id), ("exitCode", String(code))])
            }
            return code
        } catch {
            if recorded {
                lifecycle.events.record("exec_die", container, [("execID", id), ("exitCode", String(error.exitCode))])
            }
            throw error
        }
    }

    private func launch(
        _ c: Container, _ o: ExecOptions, env: [String], user: ResolvedUser, plan: IsolationPlan,
        seccomp: SeccompProgram?, stdio: [Int32], terminal: ((Int32) -> Void)?, started: () -> Void
    ) throws(BerthError) -> Int32 {
        // What can refuse comes first, and each later refusal closes what is
        // open: exec runs in the CLI and the REPL, where a leak would stay.
        let trampoline = try SealedExec.trampoline()
        defer { if trampoline >= 0 { close(trampoline) } }
        // Never the caller's own descriptors: -d gets /dev/null, an attached
        // exec pipes Berth relays (ExecRelay), -t a pty on the container's devpts.
        var relay = o.tty || o.detach || o.output >= 0 ? nil : try ExecRelay(caller: stdio, interactive: o.interactive)
        var errs: [Int32] = [-1, -1], console: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&errs) == 0, !o.tty || berth_socketpair(&console) == 0 else {
            let failure = Errno.current
            relay?.closeAll()
            for fd in errs + console where fd >= 0 { close(fd) }
            throw .syscall("pipe", "for exec", failure)
        }
        // Every hierarchy (v1 has one per controller), so limits and pause cover it too.
        let cgroup = Cgroup(path: c.cgroupPath)
        let procs = cgroup.procsFiles.map { open($0, O_WRONLY | O_CLOEXEC) }.filter { $0 >= 0 }
        defer { procs.forEach { close($0) } }
        let cgroupDir = cgroup.version == "v2" ? open(cgroup.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1
        defer { if cgroupDir >= 0 { close(cgroupDir) } }
        let arena = CStringArena()
        defer { arena.free() }
        var config = berth_exec_config()
        config.target = c.state.pid
        config.argv = arena.mutableArray(o.command)
        config.envp = arena.mutableArray(env)
        config.cwd = arena.string(o.workdir ?? (c.workingDir.isEmpty ? "/" : c.workingDir))
        config.uid = user.uid
        config.gid = user.gid
        config.groups = arena.uint32s(user.groups)
        config.ngroups = Int32(user.groups.count)
        let ends = relay?.childEnds ?? (o.output >= 0 ? [-1, o.output, o.output] : [-1, -1, -1])
        config.stdio = (ends[0], ends[1], ends[2])
        let mine = relay?.callerEnds ?? [-1, -1, -1]
        config.close_fds = (mine[0], mine[1], mine[2])
        config.tty_mode = Int32(o.tty ? BERTH_TTY_INSIDE.rawValue : BERTH_TTY_NONE.rawValue)
        config.console_socket = console[1]
        config.capabilities = plan.capabilities
        config.no_new_privs = plan.noNewPrivileges ? 1 : 0
        let procsArray = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, procs.count))
        defer { procsArray.deallocate() }
        for (i, fd) in procs.enumerated() { procsArray[i] = fd }
        config.cgroup_procs_fds = UnsafePointer(procsArray)
        config.ncgroup_fds = Int32(procs.count)
        config.cgroup_dir_fd = cgroupDir
        config.error_fd = errs[1]
        config.detach = o.detach ? 1 : 0
        config.exec_fd = trampoline
        if let seccomp {
            config.seccomp_filter = arena.bytes(seccomp.bytes)
            config.seccomp_len = UInt16(seccomp.count)
        }
        // Docker's exec inherits the container's rlimits and OOM score.
        var rlimits = c.process.ulimits.map { berth_rlimit(resource: $0.resource, soft: $0.kernelSoft, hard: $0.kernelHard) }
        if let cap = o.fileSizeLimit {
            // Never above a lower fsize limit the container already has (raising a hard limit needs a capability).
            let own = c.process.ulimits.first { $0.name == "fsize" }?.kernelHard ?? UInt64.max
            rlimits.append(berth_rlimit(resource: Int32(RLIMIT_FSIZE.rawValue), soft: min(cap, own), hard: min(cap, own)))
        }
        let limits = arena.buffer(berth_rlimit.self, count: rlimits.count)
        for (i, limit) in rlimits.enumerated() { limits[i] = limit }
        config.rlimits = UnsafePointer(limits)
        config.nrlimits = Int32(rlimits.count)
        config.set_oom_score_adj = c.process.oomScoreAdj == nil ? 0 : 1
        config.oom_score_adj = Int32(c.process.oomScoreAdj ?? 0)
        let helper = berth_exec(&config)
        let forkError = Errno.current
        relay?.closeChildEnds()
        close(errs[1])
        if console[1] >= 0 { close(console[1]) }
        guard helper > 0 else {
            relay?.closeAll()
            close(errs[0])
            if console[0] >= 0 { close(console[0]) }
            throw .syscall("fork", "exec helper", forkError)
        }
        var master: Int32 = -1
        if o.tty { master = berth_recv_fd(console[0]); close(console[0]) }
        let failure = SpawnedChild(pid: helper, inCgroup: true, syncFD: -1, errorFD: errs[0], command: o.command.first ?? "")
            .awaitExec()
        started()
        if o.tty && master >= 0 && failure == nil {
            terminal?(master)
            PtyRelay(master: master, interactive: o.interactive, input: stdio[0], output: stdio[1]).run()
            terminal?(-1)
        }
        if failure == nil { relay?.run(until: helper) }
        if master >= 0 { close(master) }
        if failure == nil && o.timeoutMs >= 0 && !ExecProbe.awaitExit(helper, milliseconds: o.timeoutMs) {
            ExecProbe.kill(helper)
            _ = waitForChild(helper)
            return Self.timedOut
        }
        let status = waitForChild(helper) ?? 0
        if let failure { throw BerthError(failure.message, exitCode: failure.exitCode) }
        if o.detach { return 0 }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// Relays the caller's streams (`input`, `output`: the user's terminal, or
/// the API service's pipes) to a pty master (exec -t): raw mode, resizes,
/// until the process closes its side. As the attach relay does, it never
/// blocks on one fd while another has data: the master is non-blocking and
/// each direction has a bounded queue (a process that stops reading its
/// input while we still type, or pastes, cannot wedge it).
struct PtyRelay {
    let master: Int32
    let interactive: Bool
    let input: Int32
    let output: Int32

    func run() {
        var saved = [UInt8](repeating: 0, count: Int(berth_termios_size()))
        let raw = interactive && isatty(input) == 1 && berth_make_raw(input, &saved, Int32(saved.count)) == 0
        defer { if raw { _ = berth_restore_termios(input, saved) } }
        let oldPipe = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, oldPipe) }
        let signals = berth_signalfd([SIGWINCH], 1)
        defer { if signals >= 0 { close(signals) }; berth_unblock_signals_only([SIGWINCH], 1) }
        _ = berth_set_nonblocking(master, 1)
        resize()
        var stdinOpen = interactive
        var masterOpen = true
        var toMaster = ByteQueue(), toStdout = ByteQueue()
        var stdoutGone = false
        let chunk = ByteQueue.chunk(for: output)
        while masterOpen || !toStdout.isEmpty {
            let events = (toStdout.isFull ? 0 : POLLIN) | (toMaster.isEmpty ? 0 : POLLOUT)
            var fds = [
                pollfd(fd: masterOpen && events != 0 ? master : -1, events: Int16(events), revents: 0),
                pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stdinOpen && masterOpen && !toMaster.isFull ? input : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: toStdout.isEmpty ? -1 : output, events: Int16(POLLOUT), revents: 0),
            ]
            if poll(&fds, nfds_t(fds.count), -1) < 0 { if errno == EINTR { continue }; return }
            if fds[1].revents != 0 { while berth_signalfd_read(signals) > 0 {}; resize() }
            if fds[3].revents != 0, toStdout.flush(to: output, chunk: chunk) == .failed {
                stdoutGone = true
                toStdout.removeAll()
            }
            if fds[0].revents & Int16(POLLOUT | POLLERR) != 0 && !toMaster.isEmpty,
                toMaster.flush(to: master) == .failed
            {
                toMaster.removeAll()
                stdinOpen = false
            }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 && !toStdout.isFull {
                // EIO (nil), or nothing with POLLHUP: every slave is closed.
                guard let out = readAvailable(master), !(out.isEmpty && fds[0].revents & Int16(POLLHUP) != 0) else {
                    masterOpen = false
                    continue
                }
                if !stdoutGone { toStdout.append(out) }
                if toStdout.flush(to: output, chunk: chunk) == .failed { stdoutGone = true; toStdout.removeAll() }
            }
            if fds[2].revents != 0 {
                guard let bytes = readAvailable(input), !bytes.isEmpty else { stdinOpen = false; continue }
                toMaster.append(bytes)
                if toMaster.flush(to: master) == .failed { toMaster.removeAll(); stdinOpen = false }
            }
        }
    }

    private func resize() {
        var rows: UInt16 = 0, cols: UInt16 = 0
        if berth_get_winsize(isatty(input) == 1 ? input : output, &rows, &cols) == 0, rows > 0 {
            _ = berth_set_winsize(master, rows, cols)
        }
    }
}
