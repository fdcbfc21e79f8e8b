#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The container state machine as the CLI drives it: created → running ⇄
/// paused; running → exited → running; created, exited (and, forced, running
/// and paused) → removed. Every refusal uses Docker's wording and changes nothing.
public struct Lifecycle {
    public let layout: StoreLayout
    public let registry: PluginRegistry
    public let containers: ContainerStore
    public let images: ImageStore
    public let events: EventLog

    public init(layout: StoreLayout, registry: PluginRegistry) {
        self.layout = layout
        self.registry = registry
        self.containers = ContainerStore(layout: layout)
        self.images = ImageStore(layout: layout)
        self.events = EventLog(layout: layout)
    }

    public func driver(for container: Container) throws(BerthError) -> any StorageDriver {
        try registry.storageDriver(
            container.storage,
            StorageEnvironment(
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
            try startWarm(ref, found: nil, waitAttach: waitAttach, windowSize: windowSize)
        }
    }

    /// `start` of the container `run` has just created and holds: found
    /// already, so its record is not looked up and read once more before
    /// the read under the lock, which is the one that decides.
    public func start(created: Container, waitAttach: Bool = false, windowSize: WindowSize? = nil) throws(BerthError)
        -> Container
    {
        try CgroupWarmup.around { () throws(BerthError) -> Container in
            try startWarm(created.id, found: created, waitAttach: waitAttach, windowSize: windowSize)
        }
    }

    private func startWarm(_ ref: String, found given: Container?, waitAttach: Bool, windowSize: WindowSize?)
        throws(BerthError) -> Container
    {
        let found: Container
        if let given { found = given } else { found = try containers.find(ref) }
        // Another berth's start (maybe killed since) whose monitor is still at
        // work: wait for its outcome, outside the lock its monitor may need.
        if found.starting { try awaitPendingStart(found.id) }
        return try FileLock.withLock(containers.lockPath(found.id)) { () throws(BerthError) -> Container in
            var container = try containers.load(id: found.id)
            try container.ensureState(for: .start, ref: ref)
            // Running, or restarting under its policy: nothing to do, as in Docker.
            if container.state.isActive || container.state.status == .restarting { return container }
            if container.starting {
                throw .conflict(
                    "container \(ref) is being started by another berth process (monitor pid \(container.state.monitorPid)); try again"
                )
            }
            // A monitor killed earlier left its cgroup, veth, port rules: release them first.
            if container.monitorLost { try releaseMonitorHoldings(container) }
            // A user's start begins the policy afresh, as Docker resets its restart manager.
            if container.restartCount != 0 || container.manuallyStopped {
                container.restartCount = 0
                container.manuallyStopped = false
                try containers.save(container)
            }
            let driver = try driver(for: container)
            let layers = try MountPointLayer.layers(for: container, image: try images.load(id: container.image), images: images)
            _ = try driver.mountRoot(of: container, directory: layout.container(container.id), layers: layers)
            switch try MonitorLauncher.launch(
                root: layout.root, id: container.id, waitAttach: waitAttach,
                windowSize: container.tty ? windowSize : nil, registry: registry)
            {
            case .failed(let code, let message):
                throw .startFailure(code: code, message: message)
            case .started(let pid, let startTime, let monitor):
                container.state.setRunning(
                    pid: pid, pidStartTime: startTime, monitorPid: monitor,
                    monitorStartTime: ProcessTable.startTime(monitor) ?? 0,
                    healthCheck: container.healthcheck?.isEnabled ?? false)
                // The monitor wrote this state itself before it reported
                // (`recordRunning`, without fsync). A kept container's record
                // is written again to make it durable; a `--rm` one's need not
                // survive a power loss, so it is not rewritten at all.
                if !container.autoRemove { try containers.save(container) }
                // `run` and `start -a` attach before the container runs: dockerd's order.
                if waitAttach { events.record("attach", container) }
                events.record("start", container)
                return container
            }
        }
    }

    /// Waits (up to 30 s) while a live monitor is starting the container.
    func awaitPendingStart(_ id: String) throws(BerthError) {
        let deadline = Timestamp.monotonicMilliseconds() + 30_000
        while let c = try? containers.load(id: id), c.starting {
            if Timestamp.monotonicMilliseconds() > deadline {
                throw .unavailable(
                    "container \(c.name) is still being started by monitor pid \(c.state.monitorPid) after 30 s; check 'berth ps -a' or remove it with 'berth rm -f'"
                )
            }
            try Interruption.check()
            usleep(5_000)
        }
    }

    /// Does what a monitor does when its container ends, for a monitor that
    /// is gone: kills what is left in the cgroup and removes it, takes the
    /// container off its network (port rules, veth), unmounts its binds and
    /// root. Idempotent; the caller holds the container lock.
    /// `portRules`: whether port rules may still be there (false when the
    /// monitor never ran or removed them itself), to spare an `nft` run.
    /// `mountsBelow`: whether mounts other than the root may be left below
    /// the container's directory on the host, to spare a read of the host's
    /// whole mount table.
    func releaseMonitorHoldings(_ c: Container, portRules: Bool = true, mountsBelow: Bool = true) throws(BerthError) {
        let cgroup = Cgroup(path: c.cgroupPath)
        cgroup.killAll()
        try cgroup.remove()
        if c.endpoint != nil {
            if !c.ports.isEmpty && portRules { HostNetwork.unpublish(containerID: c.id) }
            HostNetwork.detach(containerID: c.id)
        }
        if mountsBelow { MountPreparation.unmountAll(under: layout.container(c.id)) }
        try? driver(for: c).unmount(containerDirectory: layout.container(c.id))
        let volumes = VolumeStore(layout: layout)
        for m in c.mounts where m.kind == .volume { volumes.releaseIfUnused(m.source, except: c.id) }
    }

    /// SIGKILL for PID 1 (through its pidfd: never a recycled PID) and for
    /// everything else in the container's cgroup, then up to 10 s for PID 1
    /// to be gone: the one way `stop`, `kill` and `rm -f` end a container by
    /// force. The `kill` event is written before the signal, so the
    /// monitor's `die` never comes first.
    func killEverything(_ c: Container, pidfd: Int32, signalSent: Bool = false) {
        if !signalSent {
            events.record("kill", c, [("signal", String(SIGKILL))])
            if pidfd >= 0 { _ = berth_pidfd_send_signal(pidfd, SIGKILL) }
        }
        Cgroup(path: c.cgroupPath).killAll()
        if pidfd >= 0 { _ = wait(pidfd, milliseconds: 10_000) }
    }

    /// After a stop or kill: if the container's monitor is gone (kill -9)
    /// and PID 1 has ended, release what the monitor held and record the
    /// end, so that nothing of it stays on the host until `rm`.
    func settleLostMonitor(_ id: String) throws(BerthError) {
        try FileLock.withLock(containers.lockPath(id)) { () throws(BerthError) in
            guard var c = try? containers.load(id: id), c.monitorLost, c.recordDamage == nil,
                !c.state.isActive
            else { return }
            try releaseMonitorHoldings(c)
            guard c.state.status != .dead else { return }  // a crashed start stays dead until rm
            c.state.setMonitorReleased()
            try containers.save(c)
        }
    }

    // MARK: stop, kill, wait

    /// Sends the stop signal, waits `timeout` seconds, then SIGKILLs the
    /// whole container; returns once the monitor has recorded the exit.
    /// (`stopMany` does the same for several containers at once.)
    public func stop(_ ref: String, timeout: Int?, signal name: String? = nil) throws(BerthError) {
        guard let pending = try beginStop(ref, timeout: timeout, signal: name) else { return }
        defer { close(pending.pidfd) }
        let container = pending.container
        if !wait(pending.pidfd, milliseconds: pending.graceMilliseconds) {
            killEverything(container, pidfd: pending.pidfd)
        }
        try awaitRecordedExit(container)
        try settleLostMonitor(container.id)
        events.record("stop", container)
    }

    /// The first half of a stop: cancels a restart policy, and sends a
    /// running container its stop signal (its `kill` event first, so the
    /// monitor's `die` can never come before it). Returns nil when there
    /// was nothing to wait for (not running, or PID 1 already gone, whose
    /// end is then awaited and settled here); otherwise the open pidfd of
    /// PID 1, which the caller closes.
    func beginStop(_ ref: String, timeout: Int?, signal name: String?) throws(BerthError) -> PendingStop? {
        var container = try containers.find(ref)
        // A stop ends a restart policy's restarting (and waits for one under way).
        if !container.restartPolicy.isNone { container = try cancelRestart(container.id) }
        guard container.state.isActive else {
            if container.monitorLost { try settleLostMonitor(container.id) }
            return nil
        }
        let seconds = timeout ?? container.stopTimeout ?? 10
        let signal = Signals.number(name ?? container.stopSignal) ?? SIGTERM
        let pidfd = berth_pidfd_open(container.state.pid)
        guard container.state.pid > 1, pidfd >= 0,
            ProcessTable.isAlive(container.state.pid, startTime: container.state.pidStartTime)
        else {
            if pidfd >= 0 { close(pidfd) }
            try awaitRecordedExit(container)
            try settleLostMonitor(container.id)
            return nil
        }
        events.record("kill", container, [("signal", String(signal))])
        _ = berth_pidfd_send_signal(pidfd, signal)
        if container.state.status == .paused {  // a frozen process cannot act on a signal
            try? Cgroup(path: container.cgroupPath).thaw()
        }
        return PendingStop(container: container, pidfd: pidfd, graceMilliseconds: Self.milliseconds(seconds))
    }

    /// A stop timeout in poll(2)'s milliseconds: negative waits for ever
    /// (Docker's -1), and a huge one is capped at Int32.max (24 days)
    /// instead of overflowing.
    static func milliseconds(_ seconds: Int) -> Int32 {
        if seconds < 0 { return -1 }
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        return overflow ? .max : Int32(clamping: ms)
    }

    /// Sends a signal to PID 1 (`kill -s`), as Docker does.
    public func kill(_ ref: String, signal: Int32) throws(BerthError) {
        var container = try containers.find(ref)
        if !container.restartPolicy.isNone {
            // A user's kill ends the restarting, as Docker 20.10's does for a
            // container without a custom stop signal (its `ExitOnNext`), and
            // marks it stopped by its user; one waiting to restart has no
            // process to signal.
            if container.state.status == .restarting && !container.starting {
                try cancelRestart(container.id)
                return
            }
            container = try cancelRestart(container.id)
        }
        try container.ensureState(for: .kill, ref: ref)
        let pidfd = container.state.pid > 1 ? berth_pidfd_open(container.state.pid) : -1
        defer { if pidfd >= 0 { close(pidfd) } }
        do throws(BerthError) {
            try registry.runtime(container.isolation).signal(container, in: layout, signal)
        } catch {
            // PID 1 exited just before the signal (a container its policy keeps
            // restarting spends much of its life so): the restart is cancelled
            // all the same, which is what the kill asked for.
            let gone = !ProcessTable.isAlive(container.state.pid, startTime: container.state.pidStartTime)
            guard gone, container.manuallyStopped, !container.restartPolicy.isNone else { throw error }
            try awaitRecordedExit(container)
            return
        }
        events.record("kill", container, [("signal", String(signal))])
        if signal == SIGKILL {
            killEverything(container, pidfd: pidfd, signalSent: true)
            try awaitRecordedExit(container)
            try settleLostMonitor(container.id)
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
    /// A container whose monitor is gone is waited for through PID 1 itself.
    func awaitRecordedExit(_ container: Container, limitMs: Int32 = 15_000, interruptible: Bool = false) throws(BerthError) {
        let s = container.state
        var fd: Int32 = -1
        if s.monitorPid > 1, ProcessTable.isAlive(s.monitorPid, startTime: s.monitorStartTime) {
            fd = berth_pidfd_open(s.monitorPid)
        }
        if fd < 0, s.pid > 1, ProcessTable.isAlive(s.pid, startTime: s.pidStartTime) {
            fd = berth_pidfd_open(s.pid)
        }
        if fd >= 0 {
            _ = wait(fd, milliseconds: limitMs, interruptible: interruptible)
            close(fd)
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

    // MARK: pause

    /// Freezes every process of a running container.
    public func pause(_ ref: String) throws(BerthError) {
        let found = try containers.find(ref)
        try containers.update(found.id) { (c: inout Container) throws(BerthError) in
            try c.ensureState(for: .pause, ref: ref)
            try registry.runtime(c.isolation).pause(c, in: layout)
            c.state.setPaused()
        }
        events.record("pause", found)
    }

    /// Thaws a paused container.
    public func unpause(_ ref: String) throws(BerthError) {
        let found = try containers.find(ref)
        try containers.update(found.id) { (c: inout Container) throws(BerthError) in
            try c.ensureState(for: .unpause, ref: ref)
            try registry.runtime(c.isolation).resume(c, in: layout)
            c.state.setUnpaused()
        }
        events.record("unpause", found)
    }

    // MARK: remove

    /// Removes a container; a running or paused one only with `force`
    /// (SIGKILL first). Afterwards no mount, cgroup, process or directory of it remains.
    /// `signalled`: the IDs `killForRemoval` already sent SIGKILL (and wrote the `kill` event for).
    public func remove(
        _ ref: String, force: Bool, volumes removeVolumes: Bool = false, signalled: Set<String> = []
    ) throws(BerthError) {
        var container = try containers.find(ref)
        if container.recordDamage != nil {
            try removeDamaged(container, force: force)
            return
        }
        if container.state.status == .restarting && !container.starting && !force {
            try container.ensureState(for: .remove, ref: ref)
        }
        if force && !container.restartPolicy.isNone {
            // The kill below must not be restarted; a monitor waiting to restart ends.
            container = try cancelRestart(container.id)
        }
        if container.state.isActive || container.starting {
            if !force {
                if container.starting {
                    throw .invalidState(
                        "You cannot remove a starting container \(container.id). Wait for its start or force remove")
                }
                try container.ensureState(for: .remove, ref: ref)
            }
            if container.starting {
                // Its monitor is mid-start: end it (its held child dies with it).
                let s = container.state
                // Only a process that is this container's monitor (by its command line).
                if ProcessTable.isAlive(s.monitorPid, startTime: s.monitorStartTime),
                    Self.monitorProcesses(of: container.id).contains(s.monitorPid)
                {
                    killMonitor(s.monitorPid)
                }
            }
            let pidfd = container.state.pid > 1 ? berth_pidfd_open(container.state.pid) : -1
            killEverything(container, pidfd: pidfd, signalSent: signalled.contains(container.id))
            if pidfd >= 0 { close(pidfd) }
            try awaitRecordedExit(container)
        }
        guard let current = try? containers.load(id: container.id) else {
            // Gone since `find`: --rm after the kill, or a concurrent rm or
            // prune. With force that is what was asked; without, the caller
            // must not report it as removed here.
            if force { return }
            throw .notFound("No such container: \(ref)")
        }
        let removedHere = try FileLock.withLock(containers.lockPath(current.id)) { () throws(BerthError) -> Bool in
            // A concurrent rm, prune or --rm may have removed it while we
            // waited for the lock: then it is not ours to report as removed
            // (with force, gone is what was asked for: no error, as before).
            guard FileSystem.exists(layout.container(current.id)) else {
                unlink(containers.lockPath(current.id))
                if force { return false }
                throw .notFound("No such container: \(ref)")
            }
            // What a killed monitor (or the chroot backend's host binds) left
            // behind, by the same path start and stop use; then whatever the
            // backend keeps (a runtime's state after a killed monitor).
            // Host-side mounts below the directory can be left only by a
            // monitor killed before its clean-up, or by a backend that binds
            // on the host (chroot): otherwise the mount table is not read.
            let isolates = (try? registry.isolationBackend(current.isolation))?.isolates ?? false
            try releaseMonitorHoldings(
                current, portRules: current.state.monitorPid != 0 || current.monitorLost,
                mountsBelow: current.monitorLost || !isolates)
            (try? registry.runtime(current.isolation))?.delete(current, in: layout)
            try containers.delete(current, driver: try driver(for: current))
            return true
        }
        guard removedHere else { return }
        for e in current.endpoints { NetworkStore(layout: layout).release(e.network, container: current.id) }
        events.record("destroy", current)
        if removeVolumes {
            let store = VolumeStore(layout: layout)
            for m in current.mounts where m.kind == .volume && ((try? store.get(m.source))?.anonymous ?? false) {
                try? store.remove(m.source)
            }
        }
    }
}

extension Lifecycle {
    /// Removes a container whose record is damaged: nothing in it can be
    /// trusted, so everything a container of this ID can own is looked for
    /// by the ID alone: monitors (by command line), cgroups (every place
    /// Berth makes them), port rules and veth (named after the ID), mounts
    /// under its directory, its leases on every network. `-f` is needed only
    /// if a monitor of it is alive.
    /// SIGKILL for a monitor, through its pidfd, and up to 10 s for it to go.
    private func killMonitor(_ pid: pid_t) {
        let fd = berth_pidfd_open(pid)
        guard fd >= 0 else { return }
        _ = berth_pidfd_send_signal(fd, SIGKILL)
        _ = wait(fd, milliseconds: 10_000)
        close(fd)
    }

    func removeDamaged(_ c: Container, force: Bool) throws(BerthError) {
        let monitors = Self.monitorProcesses(of: c.id)
        if !monitors.isEmpty && !force {
            throw .invalidState(
                "cannot remove container \(c.shortID): its record is damaged and its monitor (pid \(monitors[0])) is still running; force remove with 'berth rm -f'"
            )
        }
        try FileLock.withLock(containers.lockPath(c.id)) { () throws(BerthError) in
            monitors.forEach(killMonitor)
            for cgroup in Cgroup.existing(for: c.id) {
                cgroup.killAll()
                try cgroup.remove()
            }
            HostNetwork.unpublish(containerID: c.id)
            HostNetwork.detach(containerID: c.id)
            MountPreparation.unmountAll(under: layout.container(c.id))
            if let driver = try? driver(for: c) {
                try containers.delete(c, driver: driver)
            } else {
                try containers.deleteWithoutDriver(c)
            }
        }
        let networks = NetworkStore(layout: layout)
        for n in networks.all() { networks.release(n.name, container: c.id) }
        events.record("destroy", c)
    }

    /// PIDs of live monitors of container `id` (`berth … __monitor ID`,
    /// `berth-monitor … __monitor ID …`, `berth … __monitor-exit ID …`).
    static func monitorProcesses(of id: String) -> [Int32] {
        FileSystem.list("/proc").compactMap { entry -> Int32? in
            guard let pid = Int32(entry), pid > 1, pid != getpid(),
                let cmdline = try? FileSystem.read("/proc/\(entry)/cmdline")
            else { return nil }
            let words = cmdline.split(whereSeparator: { $0 == 0 || $0 == 32 }).map { String(decoding: $0, as: UTF8.self) }
            return words.contains { $0.hasPrefix("__monitor") } && words.contains(id) ? pid : nil
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
