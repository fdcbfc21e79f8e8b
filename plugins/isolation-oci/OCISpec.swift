import BerthCore
import BerthEngine

/// The OCI runtime spec (config.json) of a container. It is the container's
/// spec: the `oci` backend hands it to runc or crun, and `berth bundle`
/// exports it with a copy of the root so it runs unchanged under
/// `runc run`/`crun run`. The native backend starts from the same fields.
public enum OCISpec {
    /// Capability names for the `capabilities` sets.
    static let capabilityNames: [Int: String] = [
        0: "CAP_CHOWN", 1: "CAP_DAC_OVERRIDE", 2: "CAP_DAC_READ_SEARCH", 3: "CAP_FOWNER", 4: "CAP_FSETID",
        5: "CAP_KILL", 6: "CAP_SETGID", 7: "CAP_SETUID", 8: "CAP_SETPCAP", 9: "CAP_LINUX_IMMUTABLE",
        10: "CAP_NET_BIND_SERVICE", 11: "CAP_NET_BROADCAST", 12: "CAP_NET_ADMIN", 13: "CAP_NET_RAW",
        14: "CAP_IPC_LOCK", 15: "CAP_IPC_OWNER", 16: "CAP_SYS_MODULE", 17: "CAP_SYS_RAWIO", 18: "CAP_SYS_CHROOT",
        19: "CAP_SYS_PTRACE", 20: "CAP_SYS_PACCT", 21: "CAP_SYS_ADMIN", 22: "CAP_SYS_BOOT", 23: "CAP_SYS_NICE",
        24: "CAP_SYS_RESOURCE", 25: "CAP_SYS_TIME", 26: "CAP_SYS_TTY_CONFIG", 27: "CAP_MKNOD", 28: "CAP_LEASE",
        29: "CAP_AUDIT_WRITE", 30: "CAP_AUDIT_CONTROL", 31: "CAP_SETFCAP",
    ]

    /// Builds config.json. `rootPath` is the root as the runtime will see it
    /// (absolute for the oci backend, `rootfs` for an exported bundle);
    /// `mountSources` maps each mount to its host source; `devices` are the
    /// `--device` nodes (`linux.devices`), allowed after Docker's default
    /// rules in `linux.resources.devices`.
    public static func spec(_ c: Container, plan: IsolationPlan, user: ResolvedUser, rootPath: String,
                            mountSources: [String], cgroupsPath: String?, extraMounts: [(MountSpec, String)] = [],
                            devices: [DeviceNode] = []) -> JSON {
        let caps = (0...40).filter { plan.capabilities == .max || plan.capabilities & (1 << UInt64($0)) != 0 }
            .compactMap { capabilityNames[$0] }
        let process: JSON = .object([
            ("terminal", .bool(c.tty)),
            ("user", .object([("uid", .int(user.uid)), ("gid", .int(user.gid)),
                              ("additionalGids", .array(user.groups.map { JSON.int($0) }))])),
            ("args", .strings(c.command)), ("env", .strings(c.env)),
            ("cwd", .string(c.workingDir.isEmpty ? "/" : c.workingDir)),
            ("capabilities", .object(["bounding", "effective", "permitted", "inheritable"].map { ($0, JSON.strings(caps)) })),
            ("noNewPrivileges", .bool(false)),
        ])
        var namespaces: [JSON] = ["pid", "mount", "uts", "ipc"].map { .object([("type", .string($0))]) }
        if !c.hostNetwork { namespaces.append(.object([("type", .string("network"))])) }
        var linux: [(String, JSON)] = [
            ("namespaces", .array(namespaces)),
            ("maskedPaths", .strings(plan.maskedPaths)), ("readonlyPaths", .strings(plan.readonlyPaths)),
            ("resources", resources(c.resources, devices: devices)),
            ("devices", .array(devices.map(\.ociJSON))),
        ]
        if let cgroupsPath { linux.append(("cgroupsPath", .string(cgroupsPath))) }
        return .object([
            ("ociVersion", .string("1.0.2")),
            ("process", process),
            ("root", .object([("path", .string(rootPath)), ("readonly", .bool(c.readonlyRoot))])),
            ("hostname", .string(c.hostname)),
            ("mounts", .array(standardMounts + (extraMounts + zip(c.mounts, mountSources)).map { mount($0.0, $0.1) })),
            ("linux", .object(linux)),
        ])
    }

    /// The mounts every container gets (runc spec's defaults, as Berth's own backend makes them).
    static let standardMounts: [JSON] = [
        mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        mount("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        mount("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
    ]

    static func mount(_ destination: String, _ type: String, _ source: String, _ options: [String]) -> JSON {
        .object([("destination", .string(destination)), ("type", .string(type)), ("source", .string(source)),
                 ("options", .strings(options))])
    }

    static func mount(_ m: MountSpec, _ source: String) -> JSON {
        switch m.kind {
        case .tmpfs:
            return mount(m.target, "tmpfs", "tmpfs", ["nosuid", "nodev"] + m.options.split(separator: ",").map(String.init)
                         + (m.readonly ? ["ro"] : []))
        case .bind, .volume:
            return mount(m.target, "bind", source, ["rbind", m.readonly ? "ro" : "rw"])
        }
    }

    static func resources(_ r: Resources, devices: [DeviceNode]) -> JSON {
        var members: [(String, JSON)] = []
        if DeviceRule.enforced {
            members.append(("devices", .array(DeviceRule.forContainer(devices).map(\.ociJSON))))
        }
        if let m = r.memory {
            var memory: [(String, JSON)] = [("limit", .int(m))]
            if let s = r.memorySwap { memory.append(("swap", .int(s))) }
            members.append(("memory", .object(memory)))
        }
        var cpu: [(String, JSON)] = []
        if let n = r.nanoCpus { cpu += [("quota", .int(n / 10_000)), ("period", .int(100_000))] }
        if let s = r.cpuShares { cpu.append(("shares", .int(s))) }
        if let set = r.cpusetCpus { cpu.append(("cpus", .string(set))) }
        if !cpu.isEmpty { members.append(("cpu", .object(cpu))) }
        if let p = r.pidsLimit { members.append(("pids", .object([("limit", .int(p))]))) }
        return .object(members)
    }
}
