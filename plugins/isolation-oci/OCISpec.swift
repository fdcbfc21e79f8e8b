import BerthCore
import BerthEngine

/// The OCI runtime spec (config.json) of a container. It is the container's
/// spec: the `oci` backend hands it to runc or crun, and `berth bundle`
/// exports it with a copy of the root so it runs unchanged under
/// `runc run`/`crun run`. The native backend starts from the same fields.
public enum OCISpec {
    /// Builds config.json. `rootPath` is the root as the runtime will see it
    /// (absolute for the oci backend, `rootfs` for an exported bundle);
    /// `mountSources` maps each mount to its host source; `devices` are the
    /// `--device` nodes (`linux.devices`), allowed after Docker's default
    /// rules in `linux.resources.devices`. The seccomp
    /// section is the container's profile (Docker's default unless
    /// `--security-opt` said otherwise) resolved for its capabilities, so
    /// the runtime loads the filter Berth's own backend would.
    public static func spec(
        _ c: Container, plan: IsolationPlan, user: ResolvedUser, rootPath: String,
        mountSources: [String], cgroupsPath: String?,
        extraMounts: [(MountSpec, String)] = [], devices: [DeviceNode] = [], initPath: String? = nil,
        joins: [NamespaceModes.Join] = [], shmFromHost: Bool = false
    ) throws(BerthError) -> JSON {
        let settings = c.process
        // --init: berth-init, bind-mounted read-only where Docker mounts
        // docker-init, runs the command as its child (`-- CMD…`).
        var args = c.command
        var processMounts: [JSON] = []
        if settings.initProcess {
            guard let initPath else {
                throw .invalid("--init needs berth-init in the bundle, and none was written; drop --init")
            }
            args = [InitProgram.containerPath, "--"] + c.command
            processMounts.append(mount(InitProgram.containerPath, "bind", initPath, ["bind", "ro", "nosuid", "nodev"]))
        }
        let caps = Capabilities.names.indices.filter { plan.capabilities & (1 << UInt64($0)) != 0 }
            .map { Capabilities.names[$0] }
        let process: JSON = .object(
            [
                ("terminal", .bool(c.tty)),
                (
                    "user",
                    .object([
                        ("uid", .int(user.uid)), ("gid", .int(user.gid)),
                        ("additionalGids", .array(user.groups.map { JSON.int($0) })),
                    ])
                ),
                ("args", .strings(args)), ("env", .strings(UserLookup.withHome(c.processEnvironment(tty: c.tty), user))),
                ("cwd", .string(c.workingDir.isEmpty ? "/" : c.workingDir)),
                // Inheritable and ambient stay empty, as in Docker since 20.10.14 (CVE-2022-24769).
                (
                    "capabilities",
                    .object(
                        ["bounding", "effective", "permitted"].map { ($0, JSON.strings(caps)) }
                            + [("inheritable", .array([])), ("ambient", .array([]))])
                ),
                ("noNewPrivileges", .bool(plan.noNewPrivileges)),
                (
                    "rlimits",
                    .array(
                        settings.ulimits.map { u in
                            .object([
                                ("type", .string(u.ociName)), ("hard", .number(Double(u.kernelHard))),
                                ("soft", .number(Double(u.kernelSoft))),
                            ])
                        })
                ),
            ] + (settings.oomScoreAdj.map { [("oomScoreAdj", JSON.int($0))] } ?? []))
        let modes = settings.namespaces
        var namespaces: [JSON] = [.object([("type", .string("mount"))])]
        if modes.privateCgroup { namespaces.append(.object([("type", .string("cgroup"))])) }
        // --pid/--ipc/--uts: host leaves the namespace out (the runtime's,
        // the host's); container:NAME names the running donor's by path.
        for (file, mode) in [("pid", modes.pid), ("uts", modes.uts), ("ipc", modes.ipc)] where mode != "host" {
            if let j = joins.first(where: { $0.file == file }) {
                namespaces.append(.object([("type", .string(file)), ("path", .string("/proc/\(j.pid)/ns/\(file)"))]))
            } else if NamespaceModes.containerName(mode) != nil {
                throw .invalid(
                    "--\(file) \(shown(mode)): a bundle cannot name another container's namespace; create the container without it"
                )
            } else {
                namespaces.append(.object([("type", .string(file))]))
            }
        }
        if !c.hostNetwork { namespaces.append(.object([("type", .string("network"))])) }
        var linux: [(String, JSON)] = [
            ("namespaces", .array(namespaces)),
            ("maskedPaths", .strings(plan.maskedPaths)), ("readonlyPaths", .strings(plan.readonlyPaths)),
            (
                "resources",
                try resources(
                    c.resources, devices: devices, rules: c.userDeviceRules, privileged: c.security.privileged)
            ),
            ("devices", .array(devices.map(\.ociJSON))),
        ]
        // --domainname also as the sysctl, as dockerd writes it: runc before
        // 1.2 ignores the spec's `domainname` field.
        let sysctls =
            settings.sysctls.map { ($0.key, JSON.string($0.value)) }
            + (c.domainname.isEmpty ? [] : [("kernel.domainname", JSON.string(c.domainname))])
        if !sysctls.isEmpty { linux.append(("sysctl", .object(sysctls))) }
        if let cgroupsPath { linux.append(("cgroupsPath", .string(cgroupsPath))) }
        if plan.seccomp, let profile = try SecurityOptions.seccompProfile(c.security.options) {
            linux.append(("seccomp", seccomp(profile.filter(capabilities: plan.capabilities))))
        }
        // A runtime refuses a hostname without a UTS namespace of the container's own.
        let hostname: [(String, JSON)] =
            modes.uts == "host"
            ? [] : [("hostname", .string(c.hostname))] + (c.domainname.isEmpty ? [] : [("domainname", .string(c.domainname))])
        var members: [(String, JSON)] =
            [
                ("ociVersion", .string("1.0.2")),
                ("process", process),
                ("root", .object([("path", .string(rootPath)), ("readonly", .bool(c.readonlyRoot))])),
            ] + hostname + [
                (
                    "mounts",
                    .array(
                        standardMounts(shmSize: settings.effectiveShmSize, ipc: shmFromHost ? "host" : modes.ipc) + processMounts
                            + (extraMounts + zip(c.mounts, mountSources)).map { mount($0.0, $0.1) })
                ),
                ("linux", .object(linux)),
            ]
        // The container's labels, for the runtime and its hooks (the spec's
        // place for arbitrary metadata).
        if !c.labels.isEmpty { members.append(("annotations", .object(c.labels.map { ($0.0, .string($0.1)) }))) }
        return .object(members)
    }

    /// The mounts every container gets (runc spec's defaults, as Berth's own backend makes them).
    /// /dev/shm is `shmSize` bytes (`--shm-size`, Docker's 64m by default).
    /// `--ipc none` has none; `--ipc host` binds the host's.
    static func standardMounts(shmSize: Int64, ipc: String = "private") -> [JSON] {
        let shm: [JSON] =
            switch ipc {
            case "none": []
            case "host": [mount("/dev/shm", "bind", "/dev/shm", ["rbind", "nosuid", "noexec", "nodev"])]
            default: [mount("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=\(shmSize)"])]
            }
        return [
            mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
            mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            mount("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
            mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
        ] + shm
    }

    static func mount(_ destination: String, _ type: String, _ source: String, _ options: [String]) -> JSON {
        .object([
            ("destination", .string(destination)), ("type", .string(type)), ("source", .string(source)),
            ("options", .strings(options)),
        ])
    }

    static func mount(_ m: MountSpec, _ source: String) -> JSON {
        switch m.kind {
        case .tmpfs:
            // Checked at create; a record that no longer parses keeps Docker's defaults.
            let options = (try? TmpfsOptions(m.options, in: m.target)) ?? (try? TmpfsOptions("", in: m.target))
            let data = options.map { $0.data.split(separator: ",").map(String.init) } ?? []
            return mount(
                m.target, "tmpfs", "tmpfs",
                (options?.words ?? ["noexec", "nosuid", "nodev"]) + data
                    + [m.readonly ? "ro" : "rw"])
        case .bind, .volume:
            return mount(m.target, "bind", source, ["rbind", m.readonly ? "ro" : "rw"])
        }
    }

    /// config.json's `linux.seccomp`: the resolved rules, with the names of
    /// consecutive argument-free rules of one action gathered in one entry.
    static func seccomp(_ f: SeccompProfile.Filter) -> JSON {
        var entries: [(names: [String], rule: SeccompProfile.Filter.Rule)] = []
        for rule in f.rules {
            if rule.args.isEmpty, let last = entries.last, last.rule.args.isEmpty,
                last.rule.action == rule.action, last.rule.actionName == rule.actionName
            {
                entries[entries.count - 1].names.append(rule.name)
            } else {
                entries.append(([rule.name], rule))
            }
        }
        var members: [(String, JSON)] = [("defaultAction", .string(f.defaultActionName))]
        if let e = f.defaultErrno { members.append(("defaultErrnoRet", .int(e))) }
        members.append(("architectures", .strings(f.architectures)))
        members.append(
            (
                "syscalls",
                .array(
                    entries.map { entry in
                        var syscall: [(String, JSON)] = [
                            ("names", .strings(entry.names)), ("action", .string(entry.rule.actionName)),
                        ]
                        if let e = entry.rule.errno { syscall.append(("errnoRet", .int(e))) }
                        if !entry.rule.args.isEmpty {
                            syscall.append(
                                (
                                    "args",
                                    .array(
                                        entry.rule.args.map { a in
                                            .object([
                                                ("index", .int(a.index)), ("value", .number(Double(a.value))),
                                                ("valueTwo", .number(Double(a.valueTwo))), ("op", .string(a.op)),
                                            ])
                                        })
                                ))
                        }
                        return .object(syscall)
                    })
            ))
        return .object(members)
    }

    static func resources(_ r: Resources, devices: [DeviceNode], rules: [DeviceRule] = [], privileged: Bool)
        throws(BerthError) -> JSON
    {
        var members: [(String, JSON)] = []
        if privileged {
            // --privileged: every device, as in Docker.
            members.append(("devices", .array([.object([("allow", .bool(true)), ("access", .string("rwm"))])])))
        } else if DeviceRule.enforced {
            members.append(("devices", .array(DeviceRule.forContainer(devices, rules: rules).map(\.ociJSON))))
        }
        var memory: [(String, JSON)] = []
        if let m = r.memory {
            memory.append(("limit", .int(m)))
            if let s = r.memorySwap { memory.append(("swap", .int(s))) }
        }
        if let m = r.memoryReservation { memory.append(("reservation", .int(m))) }
        if let s = r.memorySwappiness { memory.append(("swappiness", .int(s))) }
        if r.oomKillDisable == true { memory.append(("disableOOMKiller", .bool(true))) }
        if !memory.isEmpty { members.append(("memory", .object(memory))) }
        var cpu: [(String, JSON)] = []
        if let cfs = r.cfs {
            // No quota is the kernel's default: crun refuses a written -1.
            if let q = cfs.quota { cpu.append(("quota", .int(q))) }
            cpu.append(("period", .int(cfs.period)))
        }
        if let s = r.clampedCpuShares { cpu.append(("shares", .int(s))) }
        if let set = r.cpusetCpus { cpu.append(("cpus", .string(set))) }
        if let mems = r.cpusetMems { cpu.append(("mems", .string(mems))) }
        if !cpu.isEmpty { members.append(("cpu", .object(cpu))) }
        if let p = r.pidsLimit { members.append(("pids", .object([("limit", .int(p))]))) }
        let blockIO = try r.blockIO.ociJSON()
        if !blockIO.isEmpty { members.append(("blockIO", .object(blockIO))) }
        return .object(members)
    }
}

extension OCISpec {
    /// Writes berth-init into the bundle (mode 0555, a copy per container,
    /// never a file the host runs) for `--init`; returns its path.
    static func writeInit(into bundle: String) throws(BerthError) -> String {
        guard let bytes = InitProgram.bytes else {
            throw .invalid("--init: Berth has no init program for this architecture; drop --init")
        }
        let path = bundle + "/docker-init"
        try FileSystem.writeAtomically(path, bytes, mode: 0o555, durable: false)
        return path
    }
}
