/// What a container asks of its confinement beyond its backend's defaults:
/// Docker's `--privileged`, `--cap-add`, `--cap-drop` and `--security-opt`.
public struct SecuritySettings: Sendable, Equatable {
    /// All capabilities, no masked or read-only paths (and, where the
    /// backend has them, all devices and no seccomp filter): Docker's meaning.
    public var privileged = false
    /// Capabilities added, as given (`NET_ADMIN`, `CAP_SYS_TIME`, `ALL`).
    public var capAdd: [String] = []
    /// Capabilities dropped, as given.
    public var capDrop: [String] = []
    /// `--security-opt` values, as given (kept for `inspect`).
    public var options: [String] = []

    /// No changes: the backend's defaults.
    public init() {}

    /// `--security-opt no-new-privileges[:true|=true]`: setuid binaries and
    /// file capabilities give a container process nothing more.
    public var noNewPrivileges: Bool {
        options.reduce(false) { current, option in
            let (key, value) = SecuritySettings.split(option)
            guard key == "no-new-privileges" else { return current }
            return value.map { $0 == "true" } ?? true
        }
    }

    /// Checks every value now, so that a bad one fails `create`, not `start`.
    public func validate() throws(BerthError) {
        _ = try Capabilities.mask(base: DockerDefaults.capabilityMask, add: capAdd, drop: capDrop)
        for option in options {
            let (key, value) = SecuritySettings.split(option)
            switch key {
            case "no-new-privileges":
                guard value == nil || value == "true" || value == "false" else {
                    throw .invalid("invalid --security-opt \(shown(option)): no-new-privileges takes true or false")
                }
            case "seccomp":
                continue  // read, checked and compiled at create (SecurityOptions)
            case "apparmor" where value == "unconfined", "label" where value == "disable":
                continue  // Berth applies no AppArmor or SELinux profile: these ask for nothing more
            case "apparmor", "label":
                throw .invalid(
                    "invalid --security-opt \(shown(option)): Berth applies no AppArmor or SELinux profiles (only apparmor=unconfined and label=disable are accepted)"
                )
            default:
                throw .invalid(
                    "invalid --security-opt: \"\(shown(option))\"; Berth knows no-new-privileges, seccomp, apparmor=unconfined and label=disable"
                )
            }
        }
    }

    /// `key=value`, `key:value` or `key`.
    public static func split(_ option: String) -> (String, String?) {
        guard let at = option.firstIndex(where: { $0 == "=" || $0 == ":" }) else { return (option, nil) }
        return (String(option[..<at]), String(option[option.index(after: at)...]))
    }
}

/// Capability names and Docker's rules for adding and dropping them.
public enum Capabilities {
    /// Every capability Linux defines, by number.
    public static let names: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
        "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ]

    /// Every capability Berth itself may hand on: its own bounding set
    /// (CapBnd in /proc/self/status), which is every capability the kernel
    /// knows on an ordinary host and less inside a sandbox; asking capset for
    /// more fails with EPERM.
    public static let all: UInt64 = {
        let status = (try? FileSystem.readText("/proc/self/status")) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") }
        let hex = line.map { String($0.dropFirst("CapBnd:".count).filter { !$0.isWhitespace }) } ?? ""
        return UInt64(hex, radix: 16) ?? (1 << UInt64(names.count)) - 1
    }()

    /// `CAP_SYS_TIME` for `sys_time`, `SYS_TIME` or `CAP_SYS_TIME`; `ALL` stays `ALL`.
    public static func canonical(_ name: String) throws(BerthError) -> String {
        let upper = name.uppercased()
        if upper == "ALL" { return upper }
        let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        guard names.contains(full) else { throw .invalid("unknown capability: \"\(shown(full))\"") }
        return full
    }

    /// Docker's rule (moby `oci/caps.TweakCapabilities`): with `ALL` added,
    /// every capability but the dropped ones; with `ALL` dropped, only the
    /// added ones; otherwise the base plus the added minus the dropped.
    public static func mask(base: UInt64, add: [String], drop: [String]) throws(BerthError) -> UInt64 {
        var adds: [String] = [], drops: [String] = []
        for a in add { adds.append(try canonical(a)) }
        for d in drop { drops.append(try canonical(d)) }
        func bits(_ list: [String]) -> UInt64 {
            list.reduce(0) { mask, name in names.firstIndex(of: name).map { mask | (1 << UInt64($0)) } ?? mask }
        }
        if adds.contains("ALL") { return drops.contains("ALL") ? 0 : all & ~bits(drops) }
        if drops.contains("ALL") { return bits(adds) }
        return (base | bits(adds)) & ~bits(drops)
    }
}

extension IsolationPlan {
    /// The plan with a container's security settings applied. Backends that
    /// keep every capability (chroot) are left as they are.
    public func confined(by security: SecuritySettings) throws(BerthError) -> IsolationPlan {
        guard capabilities != .max else { return self }
        var plan = self
        if security.privileged {
            plan.capabilities = Capabilities.all
            plan.maskedPaths = []
            plan.readonlyPaths = []
            plan.seccomp = false
        } else {
            plan.capabilities = try Capabilities.mask(base: capabilities, add: security.capAdd, drop: security.capDrop)
        }
        plan.noNewPrivileges = security.noNewPrivileges
        return plan
    }
}

/// A value as an error line shows it: at most 80 characters, so a
/// 10,000-character argument still makes one readable line.
public func shown(_ value: String) -> String {
    value.count > 80 ? String(value.prefix(80)) + "… (\(value.count) characters)" : value
}
