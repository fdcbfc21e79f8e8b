#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The per-container monitor (conmon's job): parent of the container's PID 1,
/// holder of its pty master or pipes, writer of its log, server of its attach
/// socket, recorder of its exit, and executor of `--rm`.
///
/// It runs as `berth __monitor ROOT ID` re-executed by the CLI, so it starts
/// single-threaded (clone and setns need that), and forks once more so that it
/// is nobody's child that must be reaped: it outlives the REPL and the CLI.
public enum Monitor {
    /// Runs the monitor; `readyFD` receives one line, `ok PID START` or `err CODE MESSAGE`.
    public static func main(root: String, id: String, readyFD: Int32, waitAttach: Bool,
                            windowSize: WindowSize? = nil, registry: Registry) -> Int32 {
        let pid = fork()
        if pid < 0 { report(readyFD, "err 125 fork the monitor: \(Errno.current)"); return 125 }
        if pid > 0 { _exit(0) }
        signal(SIGPIPE, SIG_IGN)
        // The report pipe came in as a plain fd: nothing the monitor starts
        // (an OCI runtime, its container) may keep it, or the CLI waiting for
        // its end would wait for ever if the monitor died.
        _ = fcntl(readyFD, F_SETFD, FD_CLOEXEC)
        do throws(BerthError) {
            let session = try MonitorSession(root: root, id: id, registry: registry)
            session.io.initialSize = windowSize
            session.run(readyFD: readyFD, waitAttach: waitAttach)
        } catch {
            report(readyFD, "err \(error.exitCode) \(error.message)")
            return error.exitCode
        }
        return 0
    }

    /// The index of the first newline at or after `start` (memchr: the log
    /// scans every byte a container writes).
    static func newline(in bytes: [UInt8], from start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        return bytes.withUnsafeBytes { raw in
            memchr(raw.baseAddress! + start, 10, raw.count - start).map { UnsafeRawPointer($0) - raw.baseAddress! }
        }
    }

    static func report(_ fd: Int32, _ line: String) {
        guard fd >= 0 else { return }
        _ = writeFully(fd, Array((line.replacingAll("\n", " ") + "\n").utf8))
        close(fd)
    }
}

/// One monitored container, from spawn to recorded exit.
final class MonitorSession {
    let store: ContainerStore
    let container: Container
    let driver: any StorageDriver
    let backend: any IsolationBackend
    let cgroup: Cgroup
    let rootfs: String
    var io = MonitorIO()
    var log: FileDescriptor?
    /// Published host ports held open while the container runs (docker-proxy's reservation).
    var portReservations: [Int32] = []
    var attached = false

    init(root: String, id: String, registry: Registry) throws(BerthError) {
        let layout = StoreLayout(root: root)
        store = ContainerStore(layout: layout)
        container = try store.load(id: id)
        let env = StorageEnvironment(storeRoot: root, driverDirectory: layout.driver(container.storage))
        driver = try registry.storageDriver(container.storage, env)
        backend = try registry.isolationBackend(container.isolation)
        cgroup = Cgroup(path: container.cgroupPath)
        let layers = try ImageStore(layout: layout).layerDirectories(of: try ImageStore(layout: layout).load(id: container.image))
        rootfs = try driver.mount(containerDirectory: layout.container(id), layers: layers)
    }

    var containerDirectory: String { store.layout.container(container.id) }

    func run(readyFD: Int32, waitAttach: Bool) {
        if container.isolation == "oci" {
            OCIMonitor(session: self).run(readyFD: readyFD, waitAttach: waitAttach)
            return
        }
        var ready = readyFD
        let child: SpawnedChild
        do throws(BerthError) {
            child = try spawn(reportFD: readyFD)
        } catch {
            Monitor.report(ready, "err \(error.exitCode) \(error.message)")
            finishFailedStart(code: error.exitCode, message: error.message)
            io.close(socketPath: containerDirectory + "/attach.sock")
            return
        }
        if waitAttach {
            Monitor.report(ready, "ok \(child.pid) \(ProcessTable.startTime(child.pid) ?? 0) \(getpid())")
            ready = -1
            io.awaitFirstClient(timeoutMs: 30_000)
        }
        child.release()
        io.receiveMaster()
        if let failure = child.awaitExec() {
            var status: Int32 = 0
            waitpid(child.pid, &status, 0)
            Monitor.report(ready, "err \(failure.exitCode) \(failure.message)")
            finishFailedStart(code: failure.exitCode, message: failure.message)
            io.broadcast(.error(failure.message))
            io.broadcast(.exit(failure.exitCode))
            io.close(socketPath: containerDirectory + "/attach.sock")
            return
        }
        Monitor.report(ready, "ok \(child.pid) \(ProcessTable.startTime(child.pid) ?? 0) \(getpid())")
        MonitorPlacement.leaveCaller(beside: cgroup)
        log = try? FileDescriptor.open(containerDirectory + "/container.log", O_WRONLY | O_CREAT | O_APPEND, mode: 0o640)
        let code = io.loop(child: child.pid, tty: container.tty) { [self] stream, bytes in appendLog(stream, bytes) }
        finish(code: code)
    }

    private func spawn(reportFD: Int32) throws(BerthError) -> SpawnedChild {
        let plan = try backend.plan(for: IsolationRequest(hostNetwork: container.hostNetwork,
                                                           readonlyRoot: container.readonlyRoot))
        let user = try UserLookup.resolve(container.user, rootfs: rootfs)
        try cgroup.create()
        try cgroup.apply(container.resources)
        io.signals = berth_signalfd([SIGCHLD, SIGTERM, SIGINT, SIGHUP], 4)
        let (stdio, ttyMode, console) = try io.prepare(tty: container.tty, ptyInside: plan.ptyInside,
                                                       openStdin: container.openStdin)
        let prep = MountPreparation(rootfs: rootfs, volumes: VolumeStore(layout: store.layout))
        for m in container.mounts { try prep.prepare(m) }
        var etcMounts: [MountSpec] = []
        if plan.pivotRoot {
            etcMounts = try writeEtcFiles()
            for m in etcMounts { try prep.prepare(m) }
        }
        portReservations = try HostNetwork.reserve(container.ports)
        if !plan.pivotRoot {
            for m in container.mounts { try prep.hostBind(m) }
        }
        var request = SpawnRequest(rootfs: rootfs, argv: container.command, env: container.env,
                                   cwd: container.workingDir.isEmpty ? "/" : container.workingDir, user: user,
                                   hostname: container.hostname, plan: plan, readonlyRoot: container.readonlyRoot,
                                   stdio: stdio, ttyMode: ttyMode, consoleSocket: console)
        if plan.pivotRoot {
            request.mounts = (etcMounts + container.mounts).map { m in
                (prep.source(m), m.target, m.kind == .tmpfs, m.options, m.readonly)
            }
        }
        request.networkSetup = plan.cloneFlags & berth_clone_newnet() != 0
        request.endpoint = container.endpoint
        if cgroup.version == "v2" { request.cgroupDirectory = cgroup.path }
        request.monitorReportFD = reportFD
        request.windowSize = io.initialSize
        let child = try Spawner.spawn(request)
        io.closeChildEnds()
        do throws(BerthError) {
            if !child.inCgroup { try cgroup.add(child.pid) }
            // The child builds its root, then waits on its sync pipe: this is the
            // window to put it in its cgroups and give it its veth.
            if let endpoint = container.endpoint, request.networkSetup {
                attached = true
                try HostNetwork.attach(endpoint, containerID: container.id, storeRoot: store.layout.root, pid: child.pid)
                try HostNetwork.publish(container.ports, containerID: container.id, address: endpoint.address)
            }
        } catch {
            // The child builds its root while we work here, so it may have
            // failed first (and our step failed because it was gone): its own
            // report is then the truer error.
            kill(child.pid, SIGKILL)
            var status: Int32 = 0
            waitpid(child.pid, &status, 0)
            child.abandon()
            if let failure = child.awaitExec() { throw BerthError(failure.message, exitCode: failure.exitCode) }
            throw error
        }
        io.listen(containerDirectory + "/attach.sock")
        return child
    }

    /// `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf` in the container
    /// directory, bind-mounted over the image's (as Docker does).
    func writeEtcFiles() throws(BerthError) -> [MountSpec] {
        let dir = containerDirectory
        let peers = container.endpoint.map { NetworkStore(layout: store.layout).peers($0.network, except: container.id) } ?? []
        let hosts = container.hostNetwork ? ((try? FileSystem.readText("/etc/hosts")) ?? HostsFile.base)
            : HostsFile.hosts(hostname: container.hostname, name: container.name, address: container.endpoint?.address, peers: peers)
        HostsFile.writeInPlace(dir + "/hosts", hosts)
        HostsFile.writeInPlace(dir + "/hostname", container.hostname + "\n")
        HostsFile.writeInPlace(dir + "/resolv.conf", container.hostNetwork
            ? ((try? FileSystem.readText("/etc/resolv.conf")) ?? "") : HostsFile.resolvConf())
        return ["hosts", "hostname", "resolv.conf"].map { MountSpec(kind: .bind, source: dir + "/" + $0, target: "/etc/" + $0) }
    }

    /// Takes the container off its network: port rules, veth.
    func releaseNetwork() {
        portReservations.forEach { close($0) }
        portReservations = []
        guard attached, container.endpoint != nil else { return }
        if !container.ports.isEmpty { HostNetwork.unpublish(containerID: container.id) }
        HostNetwork.detach(containerID: container.id)
        attached = false
    }

    /// Output not yet ended by a newline, per stream.
    private var partial: [String: [UInt8]] = [:]

    /// Logs output one line per entry, as Docker's json-file does, so that
    /// `logs --tail N` counts lines and `logs -t` stamps each of them however
    /// the output arrived (one read may hold many lines, or half of one).
    /// A partial line is held until its newline, 16 KiB, or the exit.
    /// The entries of one read share its time and go out in one write:
    /// the log must keep up with a container streaming megabytes a second.
    func appendLog(_ stream: String, _ bytes: [UInt8]) {
        var buffer = (partial[stream] ?? []) + bytes
        var start = 0
        var out: [UInt8] = []
        let time = Timestamp.now.rfc3339
        while let newline = Monitor.newline(in: buffer, from: start) {
            encodeLogEntry(stream, buffer[start...newline], time: time, into: &out)
            start = newline + 1
        }
        buffer.removeFirst(start)
        if buffer.count >= 16 * 1024 {
            encodeLogEntry(stream, buffer[...], time: time, into: &out)
            buffer = []
        }
        partial[stream] = buffer
        writeLog(out)
    }

    private func flushLog() {
        var out: [UInt8] = []
        let time = Timestamp.now.rfc3339
        for stream in ["stdout", "stderr"] where !(partial[stream] ?? []).isEmpty {
            encodeLogEntry(stream, partial[stream]![...], time: time, into: &out)
        }
        partial = [:]
        writeLog(out)
    }

    private func writeLog(_ bytes: [UInt8]) {
        guard let log, !bytes.isEmpty else { return }
        try? log.writeAll(bytes)
    }

    /// `{"log":"…","stream":"stdout","time":"…"}` and a newline, as
    /// `JSON.compact` writes it (invalid UTF-8 becomes U+FFFD, as before).
    private func encodeLogEntry(_ stream: String, _ bytes: ArraySlice<UInt8>, time: String, into out: inout [UInt8]) {
        out += Array(#"{"log":"#.utf8)
        JSON.quoteBytes(bytes, into: &out)
        out += Array(#","stream":""#.utf8) + Array(stream.utf8) + Array(#"","time":""#.utf8)
        out += Array(time.utf8) + Array(#""}"#.utf8)
        out.append(10)
    }

    /// PID 1 exited: record it (or remove the container for --rm), release
    /// everything, then tell the attached clients.
    func finish(code: Int32) {
        MountPreparation.unmountAll(under: rootfs)   // the chroot backend's host-side binds
        cgroup.killAll()
        releaseNetwork()
        let oomKilled = cgroup.oomKilled
        let events = EventLog(layout: store.layout)
        if oomKilled { events.record("oom", container) }
        events.record("die", container, [("exitCode", String(code))])
        cgroup.killAll()
        try? cgroup.remove()
        flushLog()
        log?.close()
        if container.autoRemove {
            try? store.delete(container, driver: driver)
            if let e = container.endpoint { NetworkStore(layout: store.layout).release(e.network, container: container.id) }
            events.record("destroy", container)
            let volumes = VolumeStore(layout: store.layout)   // --rm takes its anonymous volumes too, as Docker
            for m in container.mounts where m.kind == .volume && ((try? volumes.get(m.source))?.anonymous ?? false) {
                try? volumes.remove(m.source)
            }
        } else {
            _ = try? store.update(container.id) { (c: inout Container) throws(BerthError) in
                c.state.status = "exited"
                c.state.exitCode = code
                c.state.oomKilled = oomKilled
                c.state.finishedAt = .now
                c.state.pid = 0
                c.state.monitorPid = 0
            }
            try? driver.unmount(containerDirectory: containerDirectory)
        }
        io.broadcast(.exit(code))
        io.close(socketPath: containerDirectory + "/attach.sock")
    }

    /// The first process never ran: Docker leaves such a container Created
    /// (Exited if it had run before), with the exit code and the error recorded.
    func finishFailedStart(code: Int32, message: String) {
        MountPreparation.unmountAll(under: rootfs)
        cgroup.killAll()
        attached = container.endpoint != nil
        releaseNetwork()
        try? cgroup.remove()
        if container.autoRemove {
            try? store.delete(container, driver: driver)
            if let e = container.endpoint { NetworkStore(layout: store.layout).release(e.network, container: container.id) }
        } else {
            let before = container.state.status == "exited" ? "exited" : "created"
            _ = try? store.update(container.id) { (c: inout Container) throws(BerthError) in
                c.state.status = before
                c.state.exitCode = code
                c.state.error = message
                c.state.pid = 0
                c.state.monitorPid = 0
            }
            try? driver.unmount(containerDirectory: containerDirectory)
        }
    }
}
