#if canImport(Glibc)
import Glibc
#endif

/// A seccomp profile in Docker's JSON format (the one `--security-opt
/// seccomp=FILE` takes, and Docker's own default is written in): a default
/// action, the architectures, and rules that each name syscalls, an action,
/// optional argument comparisons and conditions on the container's
/// capabilities, the CPU architecture and the kernel version.
///
/// A profile is parsed once (`parse`), then resolved for one container
/// (`filter`): the conditions are decided against its capabilities and the
/// host, which leaves a flat list of rules that the C shim compiles to BPF
/// with libseccomp, or that the oci backend writes into config.json.
public struct SeccompProfile: Sendable, Equatable {
    /// What the kernel does with a matching syscall.
    public struct Action: Sendable, Equatable {
        /// The profile's name for it (`SCMP_ACT_ERRNO`).
        public var name: String
        /// The errno for ERRNO and TRACE (nil: the profile's default, else EPERM).
        public var errno: UInt32?

        /// The kernel's SECCOMP_RET_* value (the same numbers as libseccomp's SCMP_ACT_*).
        public func code(defaultErrno: UInt32) -> UInt32 {
            let data = (errno ?? defaultErrno) & 0xffff
            switch name {
            case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return 0x0000_0000
            case "SCMP_ACT_KILL_PROCESS": return 0x8000_0000
            case "SCMP_ACT_TRAP": return 0x0003_0000
            case "SCMP_ACT_ERRNO": return 0x0005_0000 | data
            case "SCMP_ACT_TRACE": return 0x7ff0_0000 | data
            case "SCMP_ACT_LOG": return 0x7ffc_0000
            default: return 0x7fff_0000  // SCMP_ACT_ALLOW; `parse` admits no other name
            }
        }

        static let names: Set<String> = [
            "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_LOG",
            "SCMP_ACT_ALLOW",
        ]
    }

    /// One comparison of a syscall argument.
    public struct Argument: Sendable, Equatable {
        /// Which argument, 0 to 5.
        public var index: UInt32
        public var value: UInt64
        /// The second operand of SCMP_CMP_MASKED_EQ (the value the masked argument must equal).
        public var valueTwo: UInt64
        /// The operator's name (`SCMP_CMP_MASKED_EQ`).
        public var op: String

        /// libseccomp's `enum scmp_compare` value of the operator.
        public var opCode: UInt32 { UInt32(Self.operators.firstIndex(of: op) ?? 0) + 1 }

        /// In the order of libseccomp's `enum scmp_compare`, which starts at 1.
        static let operators = [
            "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
            "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
        ]
    }

    /// When a rule applies: every listed capability held (includes) or any
    /// held (excludes), the architecture in the list, the kernel at least this.
    public struct Condition: Sendable, Equatable {
        /// Go's names (`amd64`, `arm64`), as Docker's profile spells them.
        public var arches: [String] = []
        public var caps: [String] = []
        public var minKernel: [Int]?
    }

    /// One entry of `syscalls`.
    public struct Rule: Sendable, Equatable {
        public var names: [String]
        public var action: Action
        public var args: [Argument]
        public var includes = Condition()
        public var excludes = Condition()
    }

    public var defaultAction: Action
    /// `archMap`: a native architecture and the ones that run on it (x86 and x32 on x86_64).
    public var archMap: [(String, [String])]
    /// The older `architectures` list: used as it is.
    public var architectures: [String]
    public var rules: [Rule]

    public static func == (a: SeccompProfile, b: SeccompProfile) -> Bool {
        a.defaultAction == b.defaultAction && a.architectures == b.architectures && a.rules == b.rules
            && a.archMap.map(\.0) == b.archMap.map(\.0) && a.archMap.map(\.1) == b.archMap.map(\.1)
    }

    /// Docker's default profile.
    public static let docker: SeccompProfile = {
        do { return try parse(DefaultSeccompProfile.json, source: "the built-in default profile") } catch {
            fatalError("the built-in seccomp profile does not parse: \(error)")
        }
    }()

    // MARK: Parsing

    /// Parses a profile; `source` names it in errors (a file's path).
    public static func parse(_ text: String, source: String) throws(BerthError) -> SeccompProfile {
        let json: JSON
        do { json = try JSONParser.parse(text) } catch {
            throw bad(source, error.message)
        }
        return try parse(json, source: source)
    }

    static func bad(_ source: String, _ what: String) -> BerthError {
        .invalid(
            "seccomp profile \(source) is not valid: \(what); fix it (Docker's format: defaultAction, archMap, syscalls), or use --security-opt seccomp=unconfined"
        )
    }

    static func parse(_ json: JSON, source: String) throws(BerthError) -> SeccompProfile {
        guard case .object = json else { throw bad(source, "it is not a JSON object") }
        let defaultErrno = try errno(json["defaultErrnoRet"], "defaultErrnoRet", source)
        let defaultAction = try action(json["defaultAction"], errno: defaultErrno, "defaultAction", source)
        let architectures = try strings(json["architectures"], "architectures", source)
        var archMap: [(String, [String])] = []
        for (i, entry) in try list(json["archMap"], "archMap", source).enumerated() {
            guard let arch = entry["architecture"]?.stringValue else {
                throw bad(source, "archMap[\(i)] has no \"architecture\"")
            }
            archMap.append((arch, try strings(entry["subArchitectures"], "archMap[\(i)].subArchitectures", source)))
        }
        if !architectures.isEmpty && !archMap.isEmpty {
            throw bad(source, "it has both \"architectures\" and \"archMap\"; keep one")
        }
        var rules: [Rule] = []
        for (i, entry) in try list(json["syscalls"], "syscalls", source).enumerated() {
            let at = "syscalls[\(i)]"
            guard case .object = entry else { throw bad(source, "\(at) is not an object") }
            var names = try strings(entry["names"], "\(at).names", source)
            if let name = entry["name"], name != .null {
                guard let single = name.stringValue else { throw bad(source, "\(at).name is not a string") }
                guard names.isEmpty else { throw bad(source, "\(at) has both \"name\" and \"names\"; keep one") }
                names = [single]
            }
            guard !names.isEmpty else { throw bad(source, "\(at) names no syscall") }
            if let empty = names.firstIndex(where: { $0.isEmpty }) { throw bad(source, "\(at).names[\(empty)] is empty") }
            let ruleErrno = try errno(entry["errnoRet"], "\(at).errnoRet", source)
            let action = try action(entry["action"], errno: ruleErrno, "\(at).action", source)
            if ruleErrno != nil && !["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"].contains(action.name) {
                throw bad(source, "\(at) sets errnoRet, which only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take")
            }
            var args: [Argument] = []
            for (j, arg) in try list(entry["args"], "\(at).args", source).enumerated() {
                args.append(try argument(arg, "\(at).args[\(j)]", source))
            }
            rules.append(
                Rule(
                    names: names, action: action, args: args,
                    includes: try condition(entry["includes"], "\(at).includes", source),
                    excludes: try condition(entry["excludes"], "\(at).excludes", source)))
        }
        return SeccompProfile(defaultAction: defaultAction, archMap: archMap, architectures: architectures, rules: rules)
    }

    private static func list(_ value: JSON?, _ field: String, _ source: String) throws(BerthError) -> [JSON] {
        guard let value, value != .null else { return [] }
        guard let items = value.arrayValue else { throw bad(source, "\(field) is not a list") }
        return items
    }

    private static func strings(_ value: JSON?, _ field: String, _ source: String) throws(BerthError) -> [String] {
        var out: [String] = []
        for item in try list(value, field, source) {
            guard let s = item.stringValue else { throw bad(source, "\(field) holds a value that is not a string") }
            out.append(s)
        }
        return out
    }

    /// 2^64, exactly representable as a Double (2^64 - 1 is not).
    private static let twoTo64 = 18_446_744_073_709_551_616.0

    /// A whole number from 0 to `max`; `max` nil for any 64-bit value.
    private static func number(_ value: JSON, _ field: String, _ source: String, max: Double?) throws(BerthError) -> UInt64 {
        guard case .number(let n) = value, n >= 0, n == n.rounded(), n < (max.map { $0 + 1 } ?? twoTo64) else {
            throw bad(source, "\(field) is not a whole number from 0 to \(max.map { String(Int($0)) } ?? "2^64-1")")
        }
        return UInt64(n)
    }

    private static func errno(_ value: JSON?, _ field: String, _ source: String) throws(BerthError) -> UInt32? {
        guard let value, value != .null else { return nil }
        return UInt32(try number(value, field, source, max: 4095))
    }

    private static func action(_ value: JSON?, errno: UInt32?, _ field: String, _ source: String) throws(BerthError) -> Action {
        guard let name = value?.stringValue, !name.isEmpty else { throw bad(source, "\(field) is missing") }
        guard Action.names.contains(name) else {
            let hint = name == "SCMP_ACT_NOTIFY" ? " (Berth has no seccomp agent to notify)" : ""
            throw bad(
                source,
                "\(field) \"\(name)\" is not an action Berth knows\(hint): use one of "
                    + Action.names.sorted().joined(separator: ", "))
        }
        return Action(name: name, errno: errno)
    }

    private static func argument(_ json: JSON, _ field: String, _ source: String) throws(BerthError) -> Argument {
        guard case .object = json else { throw bad(source, "\(field) is not an object") }
        let index = try number(json["index"] ?? .null, "\(field).index", source, max: 5)
        let value = try json["value"].map { (v) throws(BerthError) in try number(v, "\(field).value", source, max: nil) } ?? 0
        let two = try json["valueTwo"].map { (v) throws(BerthError) in try number(v, "\(field).valueTwo", source, max: nil) } ?? 0
        guard let op = json["op"]?.stringValue, Argument.operators.contains(op) else {
            throw bad(source, "\(field).op is not one of " + Argument.operators.joined(separator: ", "))
        }
        return Argument(index: UInt32(index), value: value, valueTwo: two, op: op)
    }

    private static func condition(_ json: JSON?, _ field: String, _ source: String) throws(BerthError) -> Condition {
        guard let json, json != .null else { return Condition() }
        guard case .object = json else { throw bad(source, "\(field) is not an object") }
        var c = Condition()
        c.arches = try strings(json["arches"], "\(field).arches", source)
        c.caps = try strings(json["caps"], "\(field).caps", source)
        if let unknown = c.caps.first(where: { Self.capabilityNumber($0) == nil }) {
            throw bad(source, "\(field).caps names \"\(unknown)\", which is not a capability")
        }
        if let k = json["minKernel"], k != .null {
            let parts = k.stringValue?.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
            guard let parts, (1...2).contains(parts.count), parts.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw bad(source, "\(field).minKernel is not a kernel version like \"4.8\"")
            }
            c.minKernel = parts.map { $0! }
        }
        return c
    }

    // MARK: Resolving for one container

    /// The host a filter is resolved for: its architecture (Go's name and
    /// libseccomp's) and kernel version.
    public struct Host: Sendable {
        public var goArch: String
        public var seccompArch: String
        public var kernel: [Int]

        public init(goArch: String, seccompArch: String, kernel: [Int]) {
            self.goArch = goArch; self.seccompArch = seccompArch; self.kernel = kernel
        }

        /// This machine.
        public static var current: Host {
            #if arch(x86_64)
            let arch = ("amd64", "SCMP_ARCH_X86_64")
            #elseif arch(arm64)
            let arch = ("arm64", "SCMP_ARCH_AARCH64")
            #elseif arch(s390x)
            let arch = ("s390x", "SCMP_ARCH_S390X")
            #elseif arch(powerpc64le)
            let arch = ("ppc64le", "SCMP_ARCH_PPC64LE")
            #elseif arch(riscv64)
            let arch = ("riscv64", "SCMP_ARCH_RISCV64")
            #else
            let arch = ("unknown", "SCMP_ARCH_NATIVE")
            #endif
            var u = utsname()
            uname(&u)
            let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let kernel = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
            return Host(goArch: arch.0, seccompArch: arch.1, kernel: kernel)
        }
    }

    /// The profile decided for one container: what libseccomp compiles and
    /// what an OCI runtime reads (config.json's `linux.seccomp`).
    public struct Filter: Sendable, Equatable {
        public struct Rule: Sendable, Equatable {
            public var name: String
            public var action: UInt32
            public var actionName: String
            public var errno: UInt32?
            public var args: [Argument]
        }

        /// SECCOMP_RET_* for a syscall no rule matches.
        public var defaultAction: UInt32
        public var defaultActionName: String
        public var defaultErrno: UInt32?
        /// libseccomp's names (`SCMP_ARCH_X86`), the native one first.
        public var architectures: [String]
        /// In the profile's order. Arguments of one rule are ANDed.
        public var rules: [Rule]

        /// The action a syscall (named without arguments) gets: the first
        /// unconditional rule naming it, else the default. For tests and docs.
        public func action(for name: String) -> UInt32 {
            rules.first { $0.name == name && $0.args.isEmpty }?.action ?? defaultAction
        }
    }

    /// Decides the conditions for a container that holds `capabilities`
    /// (bit N = capability N) on `host`, as Docker does: a rule applies when
    /// it holds every capability its `includes` names and none its
    /// `excludes` names, the architecture matches, and the kernel is new enough.
    public func filter(capabilities: UInt64, host: Host = .current) -> Filter {
        let defaultErrno = defaultAction.errno
        func holds(_ cap: String) -> Bool {
            guard let n = Self.capabilityNumber(cap) else { return false }
            return capabilities == .max || capabilities & (1 << UInt64(n)) != 0
        }
        func atLeast(_ version: [Int]) -> Bool {
            for i in 0..<max(version.count, host.kernel.count) {
                let have = i < host.kernel.count ? host.kernel[i] : 0, want = i < version.count ? version[i] : 0
                if have != want { return have > want }
            }
            return true
        }
        var rules: [Filter.Rule] = []
        for rule in applicable(on: host, holds: holds, atLeast: atLeast) {
            let code = rule.action.code(defaultErrno: defaultErrno ?? UInt32(EPERM))
            let errno =
                ["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"].contains(rule.action.name)
                ? (rule.action.errno ?? defaultErrno ?? UInt32(EPERM)) : nil
            // libseccomp cannot AND two comparisons of the same argument:
            // then each comparison becomes a rule of its own (runc does the same).
            let counts = Dictionary(grouping: rule.args, by: \.index)
            let groups = counts.values.contains { $0.count > 1 } ? rule.args.map { [$0] } : [rule.args]
            for name in rule.names {
                for args in groups {
                    rules.append(Filter.Rule(name: name, action: code, actionName: rule.action.name, errno: errno, args: args))
                }
            }
        }
        var arches = architectures
        if arches.isEmpty, let entry = archMap.first(where: { $0.0 == host.seccompArch }) {
            arches = [entry.0] + entry.1
        }
        return Filter(
            defaultAction: defaultAction.code(defaultErrno: defaultErrno ?? UInt32(EPERM)),
            defaultActionName: defaultAction.name,
            defaultErrno: defaultAction.name == "SCMP_ACT_ERRNO" ? (defaultErrno ?? UInt32(EPERM)) : nil,
            architectures: arches, rules: rules)
    }

    private func applicable(on host: Host, holds: (String) -> Bool, atLeast: ([Int]) -> Bool) -> [Rule] {
        rules.filter { r in
            if !r.excludes.arches.isEmpty && r.excludes.arches.contains(host.goArch) { return false }
            if r.excludes.caps.contains(where: holds) { return false }
            if let k = r.excludes.minKernel, atLeast(k) { return false }
            if !r.includes.arches.isEmpty && !r.includes.arches.contains(host.goArch) { return false }
            if !r.includes.caps.allSatisfy(holds) { return false }
            if let k = r.includes.minKernel, !atLeast(k) { return false }
            return true
        }
    }

    /// Linux's capability numbers by name (through CAP_CHECKPOINT_RESTORE, 40).
    public static func capabilityNumber(_ name: String) -> Int? {
        let upper = name.uppercased()
        return capabilityNames.firstIndex(of: upper.hasPrefix("CAP_") ? upper : "CAP_" + upper)
    }

    static let capabilityNames = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]
}
