#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The start path the native backends share (namespaces, chroot): the
/// engine's own clone in the C shim (`Spawner`), run from the monitor. A
/// backend opts in by conforming to `ContainerRuntime` without its own `run`.
///
/// It stays in the engine rather than a module of its own because it is
/// made of the engine's parts (cgroups, volume mounts, the network, the
/// monitor's relay); the backend's share is its `IsolationPlan`.
extension MonitorSession {
    /// Clones PID 1 from the plan, puts it in its cgroups and on its network
    /// while it builds its root, lets it exec, then supervises it.
    public func runNative(readyFD: Int32, waitAttach: Bool) {
        begin(readyFD: readyFD)
        let child: SpawnedChild
        do throws(BerthError) {
            child = try spawnNative(reportFD: readyFD)
        } catch {
            failStart(error)
            return
        }
        recordRunning(child.pid)
        if waitAttach {
            reportStarted(child.pid)
            awaitFirstClient()
        }
        child.release()
        io.receiveMaster()
        if let failure = child.awaitExec() {
            _ = waitForChild(child.pid)
            failStart(BerthError(failure.message, exitCode: failure.exitCode))
            return
        }
        supervise(child.pid, handOver: true)
    }

    /// In a user namespace the container's root must own what is its own:
    /// its /etc/hosts, hostname and resolv.conf, and a named volume's top
    /// directory while that is still the host root's (a new volume), as
    /// Podman chowns a volume for a container with a user namespace.
    private func giveToContainerRoot(_ map: IDMap, etcMounts: [MountSpec], prep: MountPreparation) {
        let root = map.rootOnHost
        for m in etcMounts { _ = chown(m.source, root.uid, root.gid) }
        for m in container.mounts where m.kind == .volume {
            let data = prep.source(m)
            var st = stat()
            if stat(data, &st) == 0 && st.st_uid == 0 && st.st_gid == 0 { _ = chown(data, root.uid, root.gid) }
        }
    }

    /// Begins making the container's cgroup, with its limits and device
    /// rules, on a thread of its own (`BackgroundWork`): 0.5 ms of `mkdir`s
    /// and writes in eight hierarchies on cgroup v1 (a directory, its
    /// controllers and a BPF device program on v2) that overlap the rest of
    /// the start instead of coming before PID 1 may run.
    private func beginCgroup(_ devices: [DeviceNode]) -> BackgroundWork {
        // --privileged: every device, as in Docker (the cgroup keeps its parent's allow-all).
        // Rootless: the user namespace already keeps the container from
        // making or opening a device node it was not bound (and a user may
        // not attach a BPF device program to a delegated cgroup).
        let rules: [DeviceRule]? =
            DeviceRule.enforced && !container.security.privileged && !Rootless.isActive
            ? DeviceRule.forContainer(devices, rules: container.userDeviceRules) : nil
        let cgroup = cgroup
        let resources = container.resources
        // A test holds the thread here, so that PID 1 is surely cloned while
        // it runs (FastRunTests).
        let holdMs = getenv("BERTH_TEST_CGROUP_DELAY_MS").flatMap { UInt32(String(cString: $0)) } ?? 0
        return BackgroundWork { () throws(BerthError) in
            if holdMs > 0 { usleep(min(holdMs, 5000) * 1000) }
            try cgroup.create()
            try cgroup.apply(resources)
            if let rules { try cgroup.restrictDevices(rules) }
        }
    }

    private func spawnNative(reportFD: Int32) throws(BerthError) -> SpawnedChild {
        let plan = try backend.plan(for: container)
        let user = try UserLookup.resolve(container.user, rootfs: rootfs, groupAdd: container.groupAdd)
        let devices = try container.deviceNodes()
        // The cgroup is made meanwhile. On v2 PID 1 is cloned into it, so
        // it must exist before the clone. On v1 PID 1 is moved in before it
        // is released, so the clone need not wait: making a cgroup waits
        // for the cgroup mutex, which the start's warm-up (CgroupWarmup)
        // holds through an RCU grace period after an idle spell, and PID 1
        // builds its root meanwhile. It runs nothing of the image's before
        // the move, and a device rule is checked when a node is opened, not
        // where it was made.
        let making = beginCgroup(devices)
        // Waited for on every way out: a failed start removes the cgroup,
        // which must not be made after that.
        defer { try? making.wait() }
        let cgroupBeforeClone = cgroup.version != "v1"
        watchSignals()
        let (stdio, ttyMode, console) = try prepareStdio(
            tty: container.tty, ptyInside: plan.ptyInside,
            openStdin: container.openStdin)
        let prep = MountPreparation(rootfs: rootfs, volumes: VolumeStore(layout: store.layout))
        var etcMounts: [MountSpec] = []
        let links = try resolveLinks()
        try asContainerRoot(container.idMap) { () throws(BerthError) in
            for m in container.mounts { try prep.prepare(m) }
            if plan.pivotRoot {
                etcMounts = try writeEtcFiles(links: links)
                for m in etcMounts { try prep.prepare(m) }
            }
        }
        if let map = container.idMap { giveToContainerRoot(map, etcMounts: etcMounts, prep: prep) }
        try reservePorts()
        if !plan.pivotRoot {
            for m in container.mounts { try prep.hostBind(m) }
        }
        var request = SpawnRequest(
            rootfs: rootfs, argv: container.command,
            env: UserLookup.withHome(container.processEnvironment(tty: container.tty, links: links.env), user),
            cwd: container.workingDir.isEmpty ? "/" : container.workingDir, user: user,
            hostname: container.hostname, plan: plan, readonlyRoot: container.readonlyRoot,
            stdio: stdio, ttyMode: ttyMode, consoleSocket: console)
        if plan.pivotRoot {
            request.mounts = (etcMounts + container.mounts).map { m in
                (prep.source(m), m.target, m.kind == .tmpfs, m.options, m.readonly)
            }
        }
        if !container.domainname.isEmpty { request.domainname = container.domainname }
        request.networkSetup = plan.cloneFlags & berth_clone_newnet() != 0
        request.endpoint = container.endpoint
        if cgroup.version == "v2" { request.cgroupDirectory = cgroup.path }
        request.bindDevices = Rootless.isActive
        request.privateCgroup = container.process.namespaces.privateCgroup && plan.cloneFlags != 0
        request.monitorReportFD = reportFD
        request.windowSize = io.initialSize
        // Compiled here, before the clone: the child only loads it.
        request.seccomp = try SecurityOptions.seccompProgram(
            container.security.options, plan: plan,
            cache: store.layout.seccompCache)
        request.devices = devices
        request.process = container.process
        request.idMap = container.idMap
        if let map = container.idMap {
            let dir = containerDirectory + "/devnodes"
            var failed: UnsafePointer<CChar>? = nil
            guard berth_make_dev_nodes(dir, map.rootOnHost.uid, map.rootOnHost.gid, &failed) == 0 else {
                throw .syscall("mknod", "\(dir)/\(failed.map { String(cString: $0) } ?? "")", .current)
            }
            request.deviceNodeDirectory = dir
        }
        (request.joins, request.shmDonorPID, request.shmFromHost) = try container.process.namespaces.joins(in: store)
        if cgroupBeforeClone { try making.wait() }
        let child = try Spawner.spawn(request)
        closeChildEnds()
        do throws(BerthError) {
            try making.wait()
            if !child.inCgroup { try cgroup.add(child.pid) }
            // The child builds its root, then waits on its sync pipe: this is the
            // window to put it in its cgroups and give it its veth.
            if request.networkSetup, let endpoint = try plugIn(child.pid) {
                try publishPorts(to: endpoint)
            }
            // Rootless: a user-mode stack instead of a veth; it exits with this monitor.
            if container.networkMode == Slirp.mode {
                let slirp = try Slirp.start(pid: child.pid, containerID: container.id, ports: container.ports)
                heldOpen.append(slirp.exitPipe)
            }
        } catch {
            // The child builds its root while we work here, so it may have
            // failed first (and our step failed because it was gone): its own
            // report is then the truer error.
            kill(child.pid, SIGKILL)
            _ = waitForChild(child.pid)
            child.abandon()
            if let failure = child.awaitExec() { throw BerthError(failure.message, exitCode: failure.exitCode) }
            throw error
        }
        listenForClients()
        return child
    }

}
