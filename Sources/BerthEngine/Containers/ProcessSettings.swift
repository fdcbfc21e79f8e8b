#if canImport(Glibc)
import Glibc
#endif

/// One `--ulimit NAME=SOFT[:HARD]`: a resource limit of the container's
/// processes (setrlimit(2)), in Docker's names (go-units' list).
public struct Ulimit: Sendable, Equatable {
    public var name: String
    /// -1 is unlimited (RLIM_INFINITY), as in Docker.
    public var soft: Int64
    public var hard: Int64

    /// Docker's names and the RLIMIT_ each sets (`as` is left out, as Docker does).
    public static let resources: [(name: String, resource: Int32)] = [
        ("core", 4), ("cpu", 0), ("data", 2), ("fsize", 1), ("locks", 10), ("memlock", 8), ("msgqueue", 12),
        ("nice", 13), ("nofile", 7), ("nproc", 6), ("rss", 5), ("rtprio", 14), ("rttime", 15),
        ("sigpending", 11), ("stack", 3),
    ]

    /// The RLIMIT_ number of the name.
    public var resource: Int32 { Self.resources.first { $0.name == name }?.resource ?? -1 }

    /// The name the OCI spec uses (`RLIMIT_NOFILE`).
    public var ociName: String { "RLIMIT_" + name.uppercased() }

    /// The kernel's value: -1 is RLIM_INFINITY.
    static func kernelValue(_ v: Int64) -> UInt64 { v < 0 ? UInt64.max : UInt64(v) }
    public var kernelSoft: UInt64 { Self.kernelValue(soft) }
    public var kernelHard: UInt64 { Self.kernelValue(hard) }

    public init(name: String, soft: Int64, hard: Int64) {
        self.name = name
        self.soft = soft
        self.hard = hard
    }

    /// Parses `nofile=1024:2048` (or `nofile=1024`: soft and hard alike) with
    /// go-units' rules and messages, as Docker's CLI reports them.
    public static func parse(_ text: String) throws(BerthError) -> Ulimit {
        func bad(_ why: String) -> BerthError {
            .usage("invalid argument \"\(shown(text))\" for \"--ulimit\" flag: \(why)")
        }
        guard let eq = text.firstIndex(of: "=") else { throw bad("invalid ulimit argument: \(shown(text))") }
        let name = String(text[..<eq])
        guard resources.contains(where: { $0.name == name }) else {
            throw bad("invalid ulimit type: \(shown(name)); use one of \(resources.map(\.name).joined(separator: ", "))")
        }
        let values = text[text.index(after: eq)...].split(separator: ":", omittingEmptySubsequences: false)
        guard values.count <= 2 else {
            throw bad(
                "too many limit value arguments - \(shown(String(text[text.index(after: eq)...]))), can only have up to two, `soft[:hard]`"
            )
        }
        func number(_ s: Substring) throws(BerthError) -> Int64 {
            guard let n = Int64(s) else {
                throw bad("strconv.ParseInt: parsing \"\(shown(String(s)))\": invalid syntax or out of range")
            }
            guard n >= -1 else { throw bad("invalid ulimit value \(n): use a number of 0 or more, or -1 for unlimited") }
            return n
        }
        let soft = try number(values[0])
        let hard = values.count == 2 ? try number(values[1]) : soft
        if hard != -1 && (soft == -1 || soft > hard) {
            throw bad("ulimit soft limit must be less than or equal to hard limit: \(soft) > \(hard)")
        }
        return Ulimit(name: name, soft: soft, hard: hard)
    }

    var json: JSON { .object([("Name", .string(name)), ("Hard", .int(hard)), ("Soft", .int(soft))]) }

    init?(json: JSON) {
        guard let name = json["Name"]?.stringValue, Self.resources.contains(where: { $0.name == name }),
            let soft = json["Soft"]?.int64Value, let hard = json["Hard"]?.int64Value
        else { return nil }
        self.init(name: name, soft: soft, hard: hard)
    }
}

/// One `--sysctl KEY=VALUE`: a namespaced kernel parameter written inside
/// the container's own namespaces before its command starts.
public struct Sysctl: Sendable, Equatable {
    public var key: String
    public var value: String

    /// The IPC namespace's parameters Docker allows (moby's ValidateSysctl).
    static let ipcKeys: Set<String> = [
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
        "kernel.shmmni", "kernel.shm_rmid_forced",
    ]

    /// Whether the parameter belongs to the network namespace (else the IPC one).
    public var isNetwork: Bool { key.hasPrefix("net.") }

    /// The file under /proc/sys (`net.ipv4.ip_forward` → `/proc/sys/net/ipv4/ip_forward`).
    public var procPath: String { "/proc/sys/" + String(key.map { $0 == "." ? "/" : $0 }) }

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    /// Parses `KEY=VALUE`, allowing only what Docker allows: `kernel.msg*`,
    /// `kernel.sem`, `kernel.shm*`, `fs.mqueue.*` and `net.*`. A key is dotted
    /// words (no `/`, no empty word), so it can only name a file under /proc/sys.
    public static func parse(_ text: String) throws(BerthError) -> Sysctl {
        guard let eq = text.firstIndex(of: "=") else {
            throw .usage("invalid argument \"\(shown(text))\" for \"--sysctl\" flag: sysctl '\(shown(text))' is not whitelisted")
        }
        let key = String(text[..<eq])
        let value = String(text[text.index(after: eq)...])
        let words = key.split(separator: ".", omittingEmptySubsequences: false)
        let wellFormed =
            words.count >= 2
            && words.allSatisfy { w in
                !w.isEmpty && w.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-".contains($0)) }
            }
        let allowed = ipcKeys.contains(key) || key.hasPrefix("net.") || key.hasPrefix("fs.mqueue.")
        guard wellFormed, allowed else {
            throw .usage(
                "invalid argument \"\(shown(text))\" for \"--sysctl\" flag: sysctl '\(shown(text))' is not whitelisted; "
                    + "only kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* and net.* are namespaced")
        }
        guard !value.contains("\n"), value.utf8.count <= 4096 else {
            throw .usage(
                "invalid argument \"\(shown(text))\" for \"--sysctl\" flag: the value must be one line of at most 4096 bytes")
        }
        return Sysctl(key: key, value: value)
    }
}

/// What the container's processes are given beyond isolation and cgroups:
/// `--init`, `--ulimit`, `--shm-size`, `--sysctl`, `--oom-score-adj`. Kept
/// in the record as Docker's HostConfig fields (`Init`, `Ulimits`,
/// `ShmSize`, `Sysctls`, `OomScoreAdj`).
public struct ProcessSettings: Sendable, Equatable {
    /// `--init`: berth-init runs as PID 1 and the command as its child.
    public var initProcess = false
    public var ulimits: [Ulimit] = []
    /// Bytes of /dev/shm (nil: Docker's 64 MiB).
    public var shmSize: Int64?
    public var sysctls: [Sysctl] = []
    /// -1000…1000 (nil: not set, the process inherits 0).
    public var oomScoreAdj: Int?
    /// `--pid`, `--ipc`, `--uts`.
    public var namespaces = NamespaceModes()

    /// Docker's default /dev/shm size.
    public static let defaultShmSize: Int64 = 64 << 20

    public init() {}

    /// /dev/shm's size in bytes.
    public var effectiveShmSize: Int64 { shmSize ?? Self.defaultShmSize }

    /// Checks the values against each other and the container: every
    /// refusal is Docker's, at create, so nothing is made. `isolates` is
    /// false for a backend without namespaces (chroot), which has no
    /// /dev/shm of its own nor kernel parameters of its own to set.
    public func validate(
        hostNetwork: Bool, hostnameGiven: Bool, isolates: Bool, backend: String, containers: ContainerStore
    ) throws(BerthError) {
        try namespaces.validate(
            hostnameGiven: hostnameGiven, isolates: isolates, backend: backend, sysctls: sysctls, containers: containers)
        if let adj = oomScoreAdj, !(-1000...1000).contains(adj) {
            throw .invalid("Invalid value \(adj), range for oom score adj is [-1000, 1000]")
        }
        if let size = shmSize, size < 0 {
            throw .invalid("SHM size can not be less than 0")
        }
        if !isolates && shmSize != nil {
            throw .invalid(
                "--shm-size needs a mount namespace for the container's own /dev/shm, and the \(backend) backend has none; drop --shm-size"
            )
        }
        if !isolates, let s = sysctls.first {
            throw .invalid(
                "--sysctl \(shown(s.key)) would change the host's kernel: the \(backend) backend has no namespaces of its own; drop --sysctl"
            )
        }
        if hostNetwork, let s = sysctls.first(where: \.isNetwork) {
            throw .invalid(
                "sysctl \"\(shown(s.key))\" not allowed in host network namespace; drop it or run without --network host")
        }
        if initProcess && berthInitAvailable == false {
            throw .invalid("--init: Berth has no init program for this architecture; drop --init")
        }
    }

    /// Whether this build carries berth-init.
    var berthInitAvailable: Bool { InitProgram.bytes != nil }

    /// Docker's HostConfig fields.
    var json: [(String, JSON)] {
        var members: [(String, JSON)] = [
            ("Init", initProcess ? .bool(true) : .null),
            ("Ulimits", ulimits.isEmpty ? .null : .array(ulimits.map(\.json))),
            ("ShmSize", .int(effectiveShmSize)),
            ("OomScoreAdj", .int(oomScoreAdj ?? 0)),
        ]
        members += namespaces.json
        if !sysctls.isEmpty {
            members.append(("Sysctls", .object(sysctls.map { ($0.key, JSON.string($0.value)) })))
        }
        return members
    }

    /// Reads Docker's HostConfig fields back; what does not parse is left out.
    init(hostConfig host: JSON) {
        initProcess = host["Init"]?.boolValue ?? false
        ulimits = (host["Ulimits"]?.arrayValue ?? []).compactMap(Ulimit.init(json:))
        shmSize = host["ShmSize"]?.int64Value.flatMap { $0 > 0 && $0 != Self.defaultShmSize ? $0 : nil }
        if case .object(let members)? = host["Sysctls"] {
            sysctls = members.compactMap { k, v in
                v.stringValue.flatMap { try? Sysctl.parse(k + "=" + $0) }
            }
        }
        oomScoreAdj = host["OomScoreAdj"]?.intValue.flatMap { $0 != 0 && (-1000...1000).contains($0) ? $0 : nil }
        namespaces = NamespaceModes(hostConfig: host)
    }
}

extension ProcessSettings {
    /// The host's name (gethostname(2)), for `--uts host`.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
