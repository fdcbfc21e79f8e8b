#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The container state machine as the CLI drives it: created → running ⇄
/// paused; running → exited → running; created, exited (and, forced, running
/// and paused) → removed. Every refusal uses Docker's wording and changes nothing.
public struct Lifecycle {
    public let layout: StoreLayout
    public let registry: Registry
    public let containers: ContainerStore
    public let images: ImageStore
    public let events: EventLog

    public init(layout: StoreLayout, registry: Registry) {
        self.layout = layout
        self.registry = registry
        self.containers = ContainerStore(layout: layout)
        self.images = ImageStore(layout: layout)
        self.events = EventLog(layout: layout)
    }

    public func driver(for container: Container) throws(BerthError) -> any StorageDriver {
        try registry.storageDriver(container.storage, StorageEnvironment(
            storeRoot: layout.root, driverDirectory: layout.driver(container.storage)))
    }

    // MARK: start

    /// Starts a created or exited container. With `waitAttach` the process
    /// is held until the first attach client connects (for foreground `run`).
    /// `windowSize` is the attaching terminal's: a tty container's pty has
    /// it before the process starts.
    @discardableResult
    public func start(_ ref: String, waitAttach: Bool = false, windowSize: WindowSize? = nil) throws(BerthError) -> Container {
        try CgroupWarmup.around { () throws(BerthError) -> Container in
            try startWarm(ref, waitAttach: waitAttach, windowSize: windowSize)
        }
    }

    private func startWarm(_ ref: String, waitAttach: Bool, windowSize: WindowSize?) throws(BerthError) -> Container {
        let found = try containers.find(ref)
        return try FileLock.withLock(containers.lockPath(found.id)) { () throws(BerthError) -> Container in
            var container = try containers.load(id: found.id)
            if container.state.status == "paused" {
                throw BerthError("cannot start a paused container, try unpause instead")
            }
            if container.state.isActive { return container }
            let driver = try driver(for: container)
            let layers = try images.layerDirectories(of: try images.load(id: container.image))
            _ = try driver.mount(containerDirectory: layout.container(container.id), layers: layers)
            switch try MonitorLauncher.launch(root: layout.root, id: container.id, waitAttach: waitAttach,
                                                  windowSize: container.tty ? windowSize : nil, registry: registry) {
            case .failed(let code, let message):
                throw BerthError(message, exitCode: code)
            case .started(let pid, let startTime, let monitor):
                container.state.status = "running"
                container.state.pid = pid
                container.state.pidStartTime = startTime
                container.state.monitorPid = monitor
                container.state.monitorStartTime = ProcessTable.startTime(monitor) ?? 0
                container.state.startedAt = .now
                container.state.finishedAt = nil
                container.state.exitCode = 0
                container.state.error = ""
                try containers.save(container)
                events.record("start", container)
                return container
            }
        }
    }

    // MARK: stop, kill, wait

    /// Sends the stop signal, waits `timeout` seconds, then SIGKILLs the
    /// whole container; returns once the monitor has recorded the exit.
    public func stop(_ ref: String, timeout: Int?, signal name: String? = nil) throws(BerthError) {
        let container = try containers.find(ref)
        guard container.state.isActive else { return }
        let seconds = timeout ?? container.stopTimeout ?? 10
        let signal = Signals.number(name ?? container.stopSignal) ?? SIGTERM
        let pidfd = berth_pidfd_open(container.state.pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        guard pidfd >= 0, ProcessTable.isAlive(container.state.pid, startTime: container.state.pidStartTime) else {
            try awaitRecordedExit(container)
            return
        }
        _ = berth_pidfd_send_signal(pidfd, signal)
        events.record("kill", container, [("signal", String(signal))])
        let cgroup = Cgroup(path: container.cgroupPath)
        if container.state.status == "paused" { try? cgroup.thaw() }   // a frozen process cannot act on a signal
        if !wait(pidfd, milliseconds: Int32(seconds * 1000)) {
            _ = berth_pidfd_send_signal(pidfd, SIGKILL)
            events.record("kill", container, [("signal", String(SIGKILL))])
            cgroup.killAll()
            _ = wait(pidfd, milliseconds: 10_000)
        }
        try awaitRecordedExit(container)
        events.record("stop", container)
    }

    /// Sends a signal to PID 1 (`kill -s`), as Docker does.
    public func kill(_ ref: String, signal: Int32) throws(BerthError) {
        let container = try containers.find(ref)
        guard container.state.isActive else {
            throw BerthError("cannot kill container: \(ref): container \(container.shortID) is not running")
        }
        let pidfd = berth_pidfd_open(container.state.pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        if let runtime = runtime(container) {
            try runtime.run(["kill", container.id, String(signal)])
        } else if pidfd < 0 || berth_pidfd_send_signal(pidfd, signal) != 0 {
            throw .syscall("kill", "container \(ref)", .current)
        }
        events.record("kill", container, [("signal", String(signal))])
        if signal == SIGKILL {
            Cgroup(path: container.cgroupPath).killAll()
            _ = wait(pidfd, milliseconds: 10_000)
            try awaitRecordedExit(container)
        }
    }

    /// Blocks until the container is not running; returns its exit code.
    /// Ctrl-C in the REPL ends the wait (`BerthError.interrupted`).
    public func waitForExit(_ ref: String) throws(BerthError) -> Int32 {
        // A `--rm` container is gone once its monitor is: its `die` event,
        // written before the removal, has the code (Docker prints it too).
        // The log's end is taken first, so a death right after `find` counts.
        let events = EventLog(layout: layout)
        var st = stat()
        var offset = stat(events.path, &st) == 0 ? Int(st.st_size) : 0
        let container = try containers.find(ref)
        guard container.state.isActive else { return container.state.exitCode }
        try awaitRecordedExit(container, limitMs: -1, interruptible: true)
        try Interruption.check()
        if let exited = try? containers.load(id: container.id) { return exited.state.exitCode }
        let died = events.read(from: &offset).last { $0.id == container.id && $0.action == "die" }
        return died.flatMap { e in e.attributes.first { $0.0 == "exitCode" }.flatMap { Int32($0.1) } }
            ?? container.state.exitCode
    }

    /// Waits for the monitor to write the exit (it exits right after). If the
    /// monitor is gone, the truthful state is computed on the next load.
    /// With `interruptible`, Ctrl-C in the REPL ends the wait early (`wait`
    /// only: a `stop` or `rm -f` must finish what it started, or a Ctrl-C
    /// would turn its grace period into an immediate SIGKILL).
    func awaitRecordedExit(_ container: Container, limitMs: Int32 = 15_000, interruptible: Bool = false) throws(BerthError) {
        let monitor = berth_pidfd_open(container.state.monitorPid)
        if monitor >= 0 {
            _ = wait(monitor, milliseconds: limitMs, interruptible: interruptible)
            close(monitor)
        }
    }

    /// Polls a pidfd until the process exits or `milliseconds` pass (-1:
    /// no limit). A signal does not restart the clock: the deadline holds.
    private func wait(_ pidfd: Int32, milliseconds: Int32, interruptible: Bool = false) -> Bool {
        var p = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        let deadline = Timestamp.monotonicMilliseconds() + Int64(milliseconds)
        var left = milliseconds
        while true {
            let n = poll(&p, 1, left)
            guard n < 0 && errno == EINTR && !(interruptible && Interruption.requested) else { return n > 0 }
            if milliseconds >= 0 { left = Int32(max(0, deadline - Timestamp.monotonicMilliseconds())) }
        }
    }

    /// The runtime CLI of an `oci` container (nil for the native backends).
    func runtime(_ c: Container) -> RuntimeCLI? {
        guard c.isolation == "oci",
              let plan = try? registry.isolationBackend("oci").plan(for: IsolationRequest(runtime: c.runtime)),
              let binary = plan.ociRuntime else { return nil }
        return RuntimeCLI(binary: binary, layout: layout, containerDirectory: layout.container(c.id))
    }

    // MARK: pause

    /// Freezes every process of a running container.
    public func pause(_ ref: String) throws(BerthError) {
        let found = try containers.find(ref)
        try containers.update(found.id) { (c: inout Container) throws(BerthError) in
            if c.state.status == "paused" { throw BerthError("Container \(c.id) is already paused") }
            guard c.state.status == "running" else { throw BerthError("Container \(c.id) is not running") }
            if let runtime = runtime(c) { try runtime.run(["pause", c.id]) } else { try Cgroup(path: c.cgroupPath).freeze() }
            c.state.status = "paused"
        }
        events.record("pause", found)
    }

    /// Thaws a paused container.
    public func unpause(_ ref: String) throws(BerthError) {
        let found = try containers.find(ref)
        try containers.update(found.id) { (c: inout Container) throws(BerthError) in
            guard c.state.status == "paused" else { throw BerthError("Container \(c.id) is not paused") }
            if let runtime = runtime(c) { try runtime.run(["resume", c.id]) } else { try Cgroup(path: c.cgroupPath).thaw() }
            c.state.status = "running"
        }
        events.record("unpause", found)
    }

    // MARK: remove

    /// Removes a container; a running or paused one only with `force`
    /// (SIGKILL first). Afterwards no mount, cgroup, process or directory of it remains.
    public func remove(_ ref: String, force: Bool, volumes removeVolumes: Bool = false) throws(BerthError) {
        let container = try containers.find(ref)
        if container.state.isActive {
            guard force else {
                throw BerthError("cannot remove container \"/\(container.name)\": container is \(container.state.status): stop the container before removing or force remove")
            }
            let cgroup = Cgroup(path: container.cgroupPath)
            let pidfd = berth_pidfd_open(container.state.pid)
            if pidfd >= 0 { _ = berth_pidfd_send_signal(pidfd, SIGKILL); close(pidfd) }
            events.record("kill", container, [("signal", String(SIGKILL))])
            cgroup.killAll()
            try awaitRecordedExit(container)
        }
        guard let current = try? containers.load(id: container.id) else { return }   // --rm removed it
        try FileLock.withLock(containers.lockPath(current.id)) { () throws(BerthError) in
            let cgroup = Cgroup(path: current.cgroupPath)
            cgroup.killAll()          // a monitor killed earlier may have left processes behind
            try cgroup.remove()
            // What a killed monitor left on the host: port rules, the veth.
            if current.endpoint != nil {
                if !current.ports.isEmpty && current.state.monitorPid != 0 { HostNetwork.unpublish(containerID: current.id) }
                HostNetwork.detach(containerID: current.id)
            }
            // Binds a chroot container (or a killed monitor) left mounted on the host.
            MountPreparation.unmountAll(under: layout.container(current.id))
            try containers.delete(current, driver: try driver(for: current))
        }
        if let e = current.endpoint { NetworkStore(layout: layout).release(e.network, container: current.id) }
        events.record("destroy", current)
        if removeVolumes {
            let store = VolumeStore(layout: layout)
            for m in current.mounts where m.kind == .volume && ((try? store.get(m.source))?.anonymous ?? false) {
                try? store.remove(m.source)
            }
        }
    }
}

/// Signal names as Docker accepts them (`SIGTERM`, `TERM`, `15`).
public enum Signals {
    static let table: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP, "ABRT": SIGABRT,
        "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV, "USR2": SIGUSR2,
        "PIPE": SIGPIPE, "ALRM": SIGALRM, "TERM": SIGTERM, "CHLD": SIGCHLD, "CONT": SIGCONT, "STOP": SIGSTOP,
        "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU, "URG": SIGURG, "XCPU": SIGXCPU, "XFSZ": SIGXFSZ,
        "VTALRM": SIGVTALRM, "PROF": SIGPROF, "WINCH": SIGWINCH, "IO": SIGIO, "PWR": SIGPWR, "SYS": SIGSYS,
    ]

    /// The number of a signal name or number; nil if unknown.
    public static func number(_ text: String) -> Int32? {
        if let n = Int32(text), n > 0, n < 65 { return n }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name = String(name.dropFirst(3)) }
        return table[name]
    }
}
