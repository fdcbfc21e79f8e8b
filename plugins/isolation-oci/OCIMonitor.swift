#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine
import CBerthLinux

/// The oci backend's start, in the monitor: write a bundle, `RUNTIME create`,
/// plug in the network, `RUNTIME start`, then the engine's relay, log, exit
/// record and `--rm` (the session's API), and `RUNTIME delete` at the end.
/// The monitor is a child subreaper, so the container's PID 1 — forked by the
/// runtime, which exits — becomes its child and its exit status reaches it
/// (as with conmon).
struct OCIMonitor {
    let session: MonitorSession
    let binary: String

    var runtime: RuntimeCLI {
        RuntimeCLI(binary: binary, layout: session.store.layout, containerDirectory: session.containerDirectory)
    }

    func run(readyFD: Int32, waitAttach: Bool) {
        session.begin(readyFD: readyFD)
        let c = session.container
        let bundle = session.containerDirectory + "/bundle"
        do throws(BerthError) {
            let pid = try create()
            session.listenForClients()
            session.recordRunning(pid)
            if waitAttach {
                session.reportStarted(pid)
                session.awaitFirstClient()
            }
            do throws(BerthError) {
                try runtime.run(["start", c.id])
            } catch {
                let message = runtime.lastError() ?? error.message
                try? runtime.run(["delete", "--force", c.id])
                throw BerthError(message, exitCode: RuntimeCLI.exitCode(for: message))
            }
            session.supervise(pid) {
                try? runtime.run(["delete", "--force", c.id])
                try? FileSystem.removeTree(bundle)
            }
        } catch {
            session.failStart(error)
            try? FileSystem.removeTree(bundle)
        }
    }

    /// Writes the bundle and runs `RUNTIME create`; returns PID 1's host PID.
    private func create() throws(BerthError) -> Int32 {
        var c = session.container
        let links = try session.resolveLinks()
        // PID 1's whole environment, the link variables included; OCISpec's
        // own processEnvironment then finds PATH, HOSTNAME and TERM set.
        c.env = c.processEnvironment(tty: c.tty, links: links.env)
        let bundle = session.containerDirectory + "/bundle"
        _ = berth_set_subreaper()
        let plan = try session.backend.plan(for: c)
        let user = try UserLookup.resolve(c.user, rootfs: session.rootfs, groupAdd: c.groupAdd)
        let prep = MountPreparation(rootfs: session.rootfs, volumes: VolumeStore(layout: session.store.layout))
        for m in c.mounts { try prep.prepare(m) }
        // /etc/hosts, hostname and resolv.conf, bind-mounted as the namespaces backend does.
        let etcMounts = try session.writeEtcFiles(links: links)
        for m in etcMounts { try prep.prepare(m) }
        try session.reservePorts()
        session.watchSignals()
        var stdio: [Int32] = [-1, -1, -1]
        var console: Int32 = -1
        try FileSystem.makeDirectories(bundle)
        if c.tty {
            unlink(bundle + "/console.sock")
            console = berth_unix_listen(bundle + "/console.sock")
            guard console >= 0 else { throw .syscall("listen on", bundle + "/console.sock", .current) }
        } else {
            stdio = try session.prepareStdio(tty: false, ptyInside: false, openStdin: c.openStdin).stdio
        }
        defer { if console >= 0 { close(console); unlink(bundle + "/console.sock") } }
        let relative = "/" + Cgroup(path: c.cgroupPath).relative
        let initPath = c.process.initProcess ? try OCISpec.writeInit(into: bundle) : nil
        let joined = try c.process.namespaces.joins(in: session.store)
        let spec = try OCISpec.spec(
            c, plan: plan, user: user, rootPath: session.rootfs,
            mountSources: c.mounts.map(prep.source), cgroupsPath: relative,
            extraMounts: etcMounts.map { ($0, prep.source($0)) }, devices: try c.deviceNodes(),
            initPath: initPath, joins: joined.joins, shmFromHost: joined.shmHost)
        try FileSystem.writeAtomically(bundle + "/config.json", text: spec.pretty(indent: 2))
        // A relative socket path, because sun_path holds only 108 bytes; runc
        // resolves it after changing into the bundle, so both live there.
        let createPid = try runtime.spawn(
            ["create", "--bundle", bundle, "--pid-file", bundle + "/pid"]
                + (c.tty ? ["--console-socket", "console.sock"] : []) + [c.id],
            cwd: bundle, stdio: stdio)
        session.closeChildEnds()
        if c.tty { try receiveConsole(console, while: createPid) }
        let status = waitForChild(createPid) ?? 0
        guard status == 0 else {
            let message = runtime.lastError() ?? "\(FileSystem.baseName(binary)) create failed"
            try? runtime.run(["delete", "--force", c.id])
            throw BerthError(message, exitCode: RuntimeCLI.exitCode(for: message))
        }
        guard
            let pid = Int32(
                ((try? FileSystem.readText(bundle + "/pid")) ?? "").trimmingSpaces
                    .split(separator: "\n").first ?? "")
        else {
            throw BerthError("\(FileSystem.baseName(binary)) create wrote no pid file; see \(runtime.logFile)")
        }
        do throws(BerthError) {
            try connect(pid)
        } catch {
            try? runtime.run(["delete", "--force", c.id])
            throw error
        }
        return pid
    }

    /// Between `create` and `start` the runtime's container sits in its new
    /// network namespace with nothing in it: the monitor plugs in its veth (as
    /// for the namespaces backend) and a helper that joins the namespace
    /// configures lo and eth0 from inside; then the published ports.
    private func connect(_ pid: Int32) throws(BerthError) {
        // --network none: runc and crun bring lo up themselves; host: nothing to do.
        guard let endpoint = try session.plugIn(pid) else { return }
        var step: UnsafePointer<CChar>? = nil
        let configured = "eth0".withCString { name in
            berth_nl_container_of(
                pid, name, endpoint.address.networkOrder, Int32(endpoint.prefix),
                endpoint.gateway.networkOrder, &step)
        }
        if configured != 0 {
            throw .syscall(
                step.map { String(cString: $0) } ?? "configure the network",
                "of container \(session.container.name)", .current)
        }
        try session.publishPorts(to: endpoint)
    }

    /// Accepts the runtime's connection on the console socket and takes the pty master.
    private func receiveConsole(_ listener: Int32, while createPid: Int32) throws(BerthError) {
        for _ in 0..<300 {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 100) > 0 {
                let conn = berth_accept(listener)
                guard conn >= 0 else { continue }
                _ = berth_set_nonblocking(conn, 0)
                let master = berth_recv_fd(conn)
                close(conn)
                guard master >= 0 else { throw .syscall("receive the pty master from", "the runtime", .current) }
                session.adoptTerminal(master)
                return
            }
            var status: Int32 = 0
            if waitpid(createPid, &status, WNOHANG) == createPid {
                throw BerthError("the runtime exited before sending the container's terminal; see its log")
            }
        }
        throw BerthError("the runtime did not send the container's terminal within 30 s")
    }
}
