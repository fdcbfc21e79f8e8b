#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The per-container monitor (conmon's job): parent of the container's PID 1,
/// holder of its pty master or pipes, writer of its log, server of its attach
/// socket, recorder of its exit, and executor of `--rm`.
///
/// It runs as a fork of a single-threaded `berth` (or as `berth __monitor ROOT
/// ID` re-executed by a multi-threaded one), so it starts single-threaded
/// (clone and setns need that), and forks once more so that it is nobody's
/// child that must be reaped: it outlives the REPL and the CLI. Forked by a
/// one-command `berth`, which exits soon, it skips that second fork.
public enum Monitor {
    /// Runs the monitor; `readyFD` receives one `MonitorReport` line.
    /// `restartedAfterMs`: this monitor re-executed itself to restart its
    /// container after that back-off (`MonitorRestart`); it is already
    /// detached and has no report pipe. `detach: false`: the caller is a
    /// one-command `berth` that exits soon, so the monitor may stay its
    /// child and skips the fork below (`MonitorLauncher`).
    public static func main(
        root: String, id: String, readyFD: Int32, waitAttach: Bool,
        windowSize: WindowSize? = nil, registry: PluginRegistry, restartedAfterMs: Int? = nil,
        detach: Bool = true
    ) -> Int32 {
        let readyFD = restartedAfterMs == nil ? readyFD : -1
        // The `berth` that started us (our parent until the fork below): a
        // foreground `run` waits for its attach, and must not wait on if it died.
        let caller = restartedAfterMs == nil ? berth_pidfd_open(getppid()) : -1
        if restartedAfterMs == nil && detach {
            let pid = fork()
            if pid < 0 {
                report(readyFD, .failed(code: ExitCode.runEngine, message: "fork the monitor: \(Errno.current)"))
                return ExitCode.runEngine
            }
            if pid > 0 { _exit(0) }
        }
        signal(SIGPIPE, SIG_IGN)
        // The report pipe came in as a plain fd: nothing the monitor starts
        // (an OCI runtime, its container) may keep it, or the CLI waiting for
        // its end would wait for ever if the monitor died.
        _ = fcntl(readyFD, F_SETFD, FD_CLOEXEC)
        do throws(BerthError) {
            let session = try MonitorSession(root: root, id: id, registry: registry)
            _ = session.monitorExecutable  // opened now, with the binary this monitor started from
            session.previousBackoffMs = restartedAfterMs ?? 0
            session.callerPidfd = caller
            session.recordStarting()
            session.io.initialSize = windowSize
            // The backend owns the start: the native backends share the
            // engine's clone path (`runNative`), the oci plugin drives its runtime.
            session.backend.run(session, readyFD: readyFD, waitAttach: waitAttach)
            // PID 1 exited and its restart policy restarts it: wait, then
            // start afresh (this returns only if the restart was cancelled).
            if let delay = session.restartDelayMs {
                MonitorRestart.awaitRestart(root: root, id: id, delayMs: delay)
            }
        } catch {
            report(readyFD, .failed(code: error.exitCode, message: error.message))
            if restartedAfterMs != nil { MonitorRestart.recordFailedRestart(root: root, id: id, error) }
            return error.exitCode
        }
        return 0
    }

    /// `berth __monitor-exit`: `berth-monitor` relayed until PID 1 exited
    /// with `code` and exec'd this in the same process. Records the exit,
    /// releases what the container held, tells the attach clients (and
    /// gives them the output they had not read yet), and restarts the
    /// container if its policy says so, exactly as `supervise` would have.
    public static func finishAfterHandover(
        root: String, id: String, code: Int32, listener: Int32, clients: [(fd: Int32, pending: Int32)],
        backoffMs: Int, registry: PluginRegistry
    ) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        var io = MonitorIO()
        io.adopt(listener: listener, clients: clients.map { ($0.fd, MonitorHandover.readPending($0.pending)) })
        do throws(BerthError) {
            let session = try MonitorSession(root: root, id: id, registry: registry)
            session.previousBackoffMs = backoffMs
            session.io = io
            // As `plugIn` set it: the container had a network of its own.
            session.attached = !session.container.hostNetwork && !session.container.endpoints.isEmpty
            session.finish(code: code)
            if let delay = session.restartDelayMs {
                MonitorRestart.awaitRestart(root: root, id: id, delayMs: delay)
            }
        } catch {
            // The record or its image cannot be read. The record is left as
            // it is: once this process has exited, the next command finds
            // the monitor gone and releases what the container held (its
            // cgroup, network, mounts), as after a killed monitor. The
            // clients learn the code now.
            io.broadcast(.exit(code))
            io.close(socketPath: StoreLayout(root: root).container(id) + "/" + StoreLayout.attachSocket)
        }
        return 0
    }

    /// Writes the report and closes the pipe; -1 (already reported) does nothing.
    static func report(_ fd: Int32, _ report: MonitorReport) {
        guard fd >= 0 else { return }
        _ = writeFully(fd, Array(report.line.utf8))
        close(fd)
    }
}

/// One monitored container, from spawn to recorded exit. A backend's `run`
/// gets it and uses the narrow API below; the relay, the log, the attach
/// socket and the exit record stay the engine's.
public final class MonitorSession {
    public let store: ContainerStore
    public let container: Container
    let driver: any StorageDriver
    /// The container's backend.
    public let backend: any ContainerRuntime
    public let cgroup: Cgroup
    /// The mounted root filesystem.
    public let rootfs: String
    var io = MonitorIO()
    var log: LogWriter?
    /// Published host ports held open while the container runs (docker-proxy's reservation).
    var portReservations: [Int32] = []
    /// `berth-monitor`, opened when this monitor started (-1: none).
    lazy var monitorExecutable: Int32 = MonitorHandover.openExecutable()
    /// Other descriptors that must stay open while PID 1 runs and close
    /// when it exits (slirp4netns's exit pipe); `berth-monitor` takes them over.
    var heldOpen: [Int32] = []
    /// The claim on the container directory while PID 1 runs (`MonitorLiveness`; -1: none).
    var liveness: Int32 = -1
    var attached = false
    /// The report pipe until the report is written, then -1.
    private var ready: Int32 = -1
    /// A pidfd of the `berth` that started the monitor, until its attach came (-1: none).
    var callerPidfd: Int32 = -1
    /// The back-off before the restart that made this run (0: a user's start).
    var previousBackoffMs = 0
    /// Set when PID 1 exited and the restart policy restarts it after this wait.
    var restartDelayMs: Int?
    /// Whether the `berth` that started this monitor (and holds the
    /// container's lock for it) still runs; false when it is not known.
    private var callerAlive: Bool {
        guard callerPidfd >= 0 else { return false }
        var p = pollfd(fd: callerPidfd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 0  // a pidfd turns readable when its process exits
    }

    /// The record as `writeRecord` last wrote it, for the next of a user's
    /// start's writes (nil after a failed write: the next one reads it).
    private var lastWrittenRecord: Container?

    init(root: String, id: String, registry: PluginRegistry) throws(BerthError) {
        let layout = StoreLayout(root: root)
        store = ContainerStore(layout: layout)
        container = try store.load(id: id)
        let env = StorageEnvironment(storeRoot: root, driverDirectory: layout.driver(container.storage))
        driver = try registry.storageDriver(container.storage, env)
        backend = try registry.runtime(container.isolation)
        cgroup = Cgroup(path: container.cgroupPath)
        let images = ImageStore(layout: layout)
        let layers = try MountPointLayer.layers(for: container, image: try images.load(id: container.image), images: images)
        rootfs = try driver.mountRoot(of: container, directory: layout.container(id), layers: layers)
    }

    /// `ROOT/containers/ID`.
    public var containerDirectory: String { store.layout.container(container.id) }
    /// Where attach clients connect.
    var socketPath: String { containerDirectory + "/" + StoreLayout.attachSocket }

    // MARK: the API a backend's start uses

    /// Remembers the pipe the start must report on.
    public func begin(readyFD: Int32) { ready = readyFD }

    /// Reports PID 1 as started now (for `run`, before the attach client
    /// connects); the final report is then already written.
    public func reportStarted(_ pid: Int32) {
        Monitor.report(ready, .started(pid: pid, startTime: ProcessTable.startTime(pid) ?? 0, monitor: getpid()))
        ready = -1
    }

    /// Listens on the attach socket.
    public func listenForClients() { io.listen(socketPath) }

    /// Waits (up to 30 s) for the first attach client of a foreground `run`;
    /// if the `berth` that would attach dies first (or none comes), its stdin
    /// is treated as closed, so a `cat` is not left waiting for input.
    public func awaitFirstClient() {
        io.awaitFirstClient(timeoutMs: 30_000, caller: callerPidfd)
        if callerPidfd >= 0 { close(callerPidfd) }
        callerPidfd = -1
    }

    /// SIGCHLD and the termination signals arrive on a signalfd the relay polls.
    public func watchSignals() { io.signals = berth_signalfd([SIGCHLD, SIGTERM, SIGINT, SIGHUP], 4) }

    /// Pipes (or a pty made on the host) for PID 1's stdio: the fds for the child
    /// and, with `ptyInside`, the socket the child sends its pty master on.
    public func prepareStdio(tty: Bool, ptyInside: Bool, openStdin: Bool) throws(BerthError) -> (
        stdio: [Int32], ttyMode: Int32, console: Int32
    ) {
        try io.prepare(tty: tty, ptyInside: ptyInside, openStdin: openStdin)
    }

    /// Closes the monitor's copies of the child's ends once the child has them.
    public func closeChildEnds() { io.closeChildEnds() }

    /// Takes a pty master received from a runtime, and gives it the
    /// caller's window size before the runtime's `start`, so the process
    /// sees it from its first instruction.
    public func adoptTerminal(_ master: Int32) {
        io.master = master
        _ = berth_set_nonblocking(master, 1)
        io.applyInitialSize()
    }

    /// Holds the published host ports open while the container runs.
    public func reservePorts() throws(BerthError) {
        // A container disconnected from its first network publishes nothing.
        guard container.endpoint != nil || container.hostNetwork else { return }
        portReservations = try HostNetwork.reserve(container.ports)
    }

    /// Plugs the container's veth into the network namespace of `pid`;
    /// nil when the container has no network of its own (none, host).
    public func plugIn(_ pid: Int32) throws(BerthError) -> NetworkEndpoint? {
        guard !container.hostNetwork, !container.endpoints.isEmpty else { return nil }
        attached = true
        if let endpoint = container.endpoint {
            try HostNetwork.attach(endpoint, containerID: container.id, storeRoot: store.layout.root, pid: pid)
        }
        // Networks joined by `network connect`: eth1…, configured from here.
        for extra in container.connected {
            try HostNetwork.attach(
                extra, containerID: container.id, storeRoot: store.layout.root, pid: pid, interface: extra.interface)
            try HostNetwork.configure(extra, pid: pid, interface: extra.interface)
        }
        // The first network's, for the published ports (none once it was disconnected).
        return container.endpoint
    }

    /// Publishes `-p` ports to the container's address.
    public func publishPorts(to endpoint: NetworkEndpoint) throws(BerthError) {
        try HostNetwork.publish(container.ports, containerID: container.id, address: endpoint.address)
    }

    /// PID 1 runs: report it (unless done), leave the caller's cgroups, and
    /// relay and log until it exits; then record the exit. Returns the code.
    /// `handOver`: once PID 1 has run `MonitorHandover.delayMs`, this
    /// process becomes `berth-monitor` (and this call never returns; the
    /// exit is recorded by `finishAfterHandover`). A backend whose exit
    /// needs a `cleanup` of its own keeps the Swift relay.
    @discardableResult
    public func supervise(_ pid: Int32, handOver: Bool = false, cleanup: () -> Void = {}) -> Int32 {
        reportStarted(pid)
        MonitorPlacement.leaveCaller(beside: cgroup)
        log = LogWriter(path: containerDirectory + "/" + StoreLayout.containerLog, config: container.logConfig)
        let health = HealthMonitor.spawn(root: store.layout.root, container: container)
        // The CLI's freed heap, inherited by the fork, goes back to the kernel.
        _ = berth_release_free_memory()
        let relay = { [self] (stream: String, bytes: [UInt8]) -> Void in log?.append(stderr: stream == "stderr", bytes) }
        var end = io.loop(
            child: pid, tty: container.tty,
            handOverAt: handOver ? MonitorHandover.deadline(executable: monitorExecutable) : nil,
            canHandOver: { berth_join_cgroups_pending() == 0 }, log: relay)
        if end == .handOver {
            MonitorHandover.exec(self, child: pid, health: health)
            end = io.loop(child: pid, tty: container.tty, log: relay)  // the exec failed: relay on here
        }
        guard case .exited(let code) = end else { return 255 }
        HealthMonitor.stop(health)
        cleanup()
        finish(code: code)
        return code
    }

    /// PID 1 never ran: report why, record it (Created, or Exited if it ran
    /// before), tell any attached client, and release what the start took.
    /// The record is written before the report: the `berth` waiting for it
    /// returns as soon as it reads it, and the user's next command (an
    /// `inspect`, a `ps`) must already find the failure recorded.
    public func failStart(_ error: BerthError) {
        let code = error.exitCode
        finishFailedStart(code: code, message: error.message)
        Monitor.report(ready, .failed(code: code, message: error.message))
        ready = -1
        io.broadcast(.error(error.message))
        io.broadcast(.exit(code))
        io.close(socketPath: socketPath)
    }

    // MARK: the record, written by the monitor itself

    /// The record must say what is true even if the `berth` that started
    /// this monitor is killed before it writes a word: so the monitor writes
    /// it itself. First, before it makes anything, that it is starting the
    /// container (its PID and start time, `StartPending`); a reader that
    /// finds this monitor gone knows the start crashed. The `start` that
    /// launched it holds the container lock and waits for its report, so
    /// these writes go without the lock, on its behalf.
    func recordStarting() {
        writeRecord { c in c.state.setStartPending(monitorPid: getpid(), monitorStartTime: ProcessTable.startTime(getpid()) ?? 0)
        }
    }

    /// Then, once PID 1 exists (held before exec, and killed with this
    /// monitor until released: PR_SET_PDEATHSIG), that it runs. A backend's
    /// start calls this as soon as it has PID 1.
    public func recordRunning(_ pid: Int32) {
        // A restart by the policy: its `start` event (a user's start is recorded by `start`).
        if previousBackoffMs > 0 { EventLog(layout: store.layout).record("start", container) }
        writeRecord { c in
            c.state.setRunning(
                pid: pid, pidStartTime: ProcessTable.startTime(pid) ?? 0, monitorPid: getpid(),
                monitorStartTime: ProcessTable.startTime(getpid()) ?? 0, healthCheck: c.healthcheck?.isEnabled ?? false)
        }
        // Now, with PID 1 forked: it must not inherit a host directory's descriptor.
        if liveness < 0 { liveness = MonitorLiveness.claim(containerDirectory) }
    }

    private func writeRecord(_ change: (inout Container) -> Void) {
        func write() {
            // A user's start holds the lock for these writes, so no one else
            // writes the record between them: the second starts from what
            // the first wrote rather than reading it back. Only while that
            // `berth` lives: killed, it released the lock, and a `rename` or
            // an `rm` may have written since.
            var c: Container
            if previousBackoffMs == 0, let written = lastWrittenRecord, callerAlive {
                c = written
            } else {
                guard case .ok(let loaded) = store.loadRecord(id: container.id) else { return }
                c = loaded
            }
            change(&c)
            lastWrittenRecord = (try? store.saveWithoutSync(c)) != nil ? c : nil
        }
        // A restart by the policy has no `start` holding the lock on its
        // behalf: a user's stop may be writing the record at the same time.
        guard previousBackoffMs > 0 else { return write() }
        _ = try? FileLock.withLock(store.lockPath(container.id)) { () throws(BerthError) in write() }
    }

    /// The container's links (`--link`), read now, once a start: a linked
    /// container that is not running refuses it, as in dockerd. No lookup
    /// when there are none.
    public func resolveLinks() throws(BerthError) -> ResolvedLinks {
        guard !container.networkOptions.links.isEmpty else { return ResolvedLinks() }
        return try ResolvedLinks.resolve(container, in: store, strict: true)
    }

    /// `/etc/hosts` (with the `links` lines), `/etc/hostname`,
    /// `/etc/resolv.conf` in the container directory, bind-mounted over the
    /// image's (as Docker does).
    public func writeEtcFiles(links: ResolvedLinks) throws(BerthError) -> [MountSpec] {
        let dir = containerDirectory
        let networks = NetworkStore(layout: store.layout)
        let peers = container.endpoints.flatMap { networks.peers($0.network, except: container.id) }
        let hosts = HostsFile.hosts(
            for: container, peers: peers, gateway: networks.hostGateway(for: container), links: links.hosts)
        HostsFile.writeInPlace(dir + "/hosts", hosts)
        HostsFile.writeInPlace(dir + "/hostname", container.hostname + "\n")
        HostsFile.writeInPlace(dir + "/resolv.conf", HostsFile.resolvConf(for: container))
        return ["hosts", "hostname", "resolv.conf"].map { MountSpec(kind: .bind, source: dir + "/" + $0, target: "/etc/" + $0) }
    }

    /// Takes the container off its network: port rules, veth.
    func releaseNetwork() {
        portReservations.forEach { close($0) }
        portReservations = []
        guard attached, !container.endpoints.isEmpty else { return }
        if !container.ports.isEmpty { HostNetwork.unpublish(containerID: container.id) }
        HostNetwork.detach(containerID: container.id)
        attached = false
    }

    /// Unmounts what a backend without a mount namespace of its own (chroot)
    /// bound below the root on the host. A backend that isolates makes its
    /// binds inside the container's namespace, where they go with it, so the
    /// host's mount table (1,000 lines with 1,000 containers) is not read.
    func releaseHostBinds() {
        if !backend.isolates { MountPreparation.unmountAll(under: rootfs) }
    }

    /// PID 1 exited: record it (or remove the container for --rm), release
    /// everything, then tell the attached clients.
    func finish(code: Int32) {
        releaseHostBinds()
        cgroup.killAll()
        releaseNetwork()
        let oomKilled = cgroup.oomKilled
        let events = EventLog(layout: store.layout)
        if oomKilled { events.record("oom", container) }
        events.record("die", container, [("exitCode", String(code))])
        cgroup.killAll()
        try? cgroup.remove()
        let volumes = VolumeStore(layout: store.layout)
        for m in container.mounts where m.kind == .volume { volumes.releaseIfUnused(m.source, except: container.id) }
        log?.flush()
        log?.close()
        var doomed: ContainerStore.Detached?
        if container.autoRemove {
            // The record, not this monitor's copy: `network connect` may have added networks since the start.
            var endpoints = container.endpoints
            if case .ok(let fresh) = store.loadRecord(id: container.id) { endpoints = fresh.endpoints }
            doomed = try? store.detach(container, driver: driver)
            for e in endpoints { NetworkStore(layout: store.layout).release(e.network, container: container.id) }
            events.record("destroy", container)
            let volumes = VolumeStore(layout: store.layout)  // --rm takes its anonymous volumes too, as Docker
            for m in container.mounts where m.kind == .volume && ((try? volumes.get(m.source))?.anonymous ?? false) {
                try? volumes.remove(m.source)
            }
        } else {
            _ = try? store.update(container.id) { (c: inout Container) throws(BerthError) in
                recordExit(&c, code: code, oomKilled: oomKilled)
            }
            try? driver.unmount(containerDirectory: containerDirectory)
        }
        io.broadcast(.exit(code))
        io.close(socketPath: socketPath)
        // A removed container left the store above; its files (in tmp/) go
        // after the client has its exit, which need not wait for them.
        if let doomed { try? store.purge(doomed, driver: driver) }
    }

    /// The first process never ran: Docker leaves such a container Created
    /// (Exited if it had run before), with the exit code and the error recorded.
    func finishFailedStart(code: Int32, message: String) {
        releaseHostBinds()
        cgroup.killAll()
        attached = container.endpoint != nil
        releaseNetwork()
        try? cgroup.remove()
        let volumes = VolumeStore(layout: store.layout)
        for m in container.mounts where m.kind == .volume { volumes.releaseIfUnused(m.source, except: container.id) }
        if container.autoRemove {
            try? store.delete(container, driver: driver)
            for e in container.endpoints { NetworkStore(layout: store.layout).release(e.network, container: container.id) }
        } else {
            // On the waiting `start`'s behalf (it holds the lock until our report).
            writeRecord { c in c.state.setStartFailed(exitCode: code, error: message) }
            try? driver.unmount(containerDirectory: containerDirectory)
        }
    }
}
