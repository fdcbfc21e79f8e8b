#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// `--security-opt`, as Docker takes it and records it in
/// `HostConfig.SecurityOpt`: `seccomp=unconfined`, or `seccomp=` followed by
/// the profile's JSON, read from the file at create (so editing or deleting
/// the file later does not change the container). No entry means Docker's
/// default profile.
public enum SecurityOptions {
    /// The largest profile file read (Docker's own is 12 KB).
    static let maxProfileSize = 1 << 20

    /// Checks the values given to `--security-opt` and returns what the
    /// container records. `plan` is the container's: a backend that loads no
    /// filter (chroot) refuses a profile rather than ignoring it, and a
    /// profile is compiled once now for the plan's capabilities, so that one
    /// libseccomp or the kernel cannot take (more than 4096 instructions)
    /// fails `create`, not every `start`.
    public static func resolve(_ values: [String], backend: String, plan: IsolationPlan) throws(BerthError) -> [String] {
        var seccomp: String?
        var others: [String] = []  // checked by SecuritySettings.validate, kept as given
        for value in values {
            // Docker's CLI also takes the old `seccomp:FILE` spelling.
            let (key, given) = SecuritySettings.split(value)
            guard key == "seccomp" else { others.append(value); continue }
            let setting = given ?? ""
            switch setting {
            case "":
                throw BerthError.invalid("--security-opt seccomp= needs a value: a profile's path, or unconfined")
            case "unconfined":
                seccomp = "seccomp=unconfined"
            case "builtin":
                seccomp = nil
            default:
                guard plan.seccomp else {
                    throw BerthError.invalid(
                        "the \(backend) backend loads no seccomp filter (it does not isolate the container); drop --security-opt \(value)"
                    )
                }
                let text = try readProfile(setting)
                let json: JSON
                do { json = try JSONParser.parse(text) } catch { throw SeccompProfile.bad(setting, error.message) }
                let profile = try SeccompProfile.parse(json, source: setting)  // refused now, not at start
                _ = try SeccompProgram.compile(profile.filter(capabilities: plan.capabilities), source: setting)
                seccomp = "seccomp=" + json.compact
            }
        }
        return others + (seccomp.map { [$0] } ?? [])
    }

    private static func readProfile(_ path: String) throws(BerthError) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw BerthError.syscall(
                "open", "seccomp profile \(path)", .current, fix: "give the path of a JSON profile, or seccomp=unconfined")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw BerthError.invalid("seccomp profile \(path) is not a regular file; give the path of a JSON profile")
        }
        guard st.st_size <= maxProfileSize else {
            throw BerthError.invalid(
                "seccomp profile \(path) is \(st.st_size) bytes, more than the \(maxProfileSize) a profile may have; is it the right file?"
            )
        }
        return try FileSystem.readText(path)
    }

    /// The profile a container runs under, from what it recorded: Docker's
    /// default when it recorded none, nil when unconfined.
    public static func seccompProfile(_ recorded: [String]) throws(BerthError) -> SeccompProfile? {
        guard let entry = recorded.last(where: { $0.hasPrefix("seccomp=") }) else { return .docker }
        let value = String(entry.dropFirst("seccomp=".count))
        if value == "unconfined" { return nil }
        return try SeccompProfile.parse(value, source: "recorded in the container")
    }

    /// The filter a container's processes get under `plan`, compiled; nil
    /// when the backend loads none or the container is unconfined.
    ///
    /// libseccomp needs about 7 ms for Docker's profile on x86_64 (three
    /// architectures, a binary tree of syscalls), most of what the filter
    /// costs a `run`. So the program is kept in `cache` (the store's
    /// cache/seccomp), named by a digest of everything that decides it: the
    /// profile's text, the capabilities, the architecture, the kernel
    /// release and the dynamic loader's cache (which changes when libseccomp
    /// is upgraded). A hit reads one small file; a miss compiles and stores.
    public static func seccompProgram(
        _ recorded: [String], plan: IsolationPlan,
        cache: String? = nil
    ) throws(BerthError) -> SeccompProgram? {
        guard plan.seccomp else { return nil }
        let entry = recorded.last(where: { $0.hasPrefix("seccomp=") })
        if entry == "seccomp=unconfined" { return nil }
        let path = cache.map {
            $0 + "/"
                + cacheKey(
                    profileDigest: entry.map { SHA256.hex(SHA256.hash(Array($0.utf8))) } ?? DefaultSeccompProfile.sha256,
                    capabilities: plan.capabilities) + ".bpf"
        }
        if let path, let bytes = try? FileSystem.read(path), let program = SeccompProgram(bytes: bytes) {
            return program
        }
        guard let profile = try seccompProfile(recorded) else { return nil }
        let program = try SeccompProgram.compile(profile.filter(capabilities: plan.capabilities))
        if let path, let cache {
            // A cache: a write that fails (read-only store, full disk) costs only the next compile.
            try? FileSystem.makeDirectories(cache, mode: 0o700)
            try? FileSystem.writeAtomically(path, program.bytes, mode: 0o600)
        }
        return program
    }

    /// The cache's name for the program of the profile whose SHA-256 is
    /// `profileDigest` (the recorded `seccomp=…` entry's, or the built-in
    /// profile's), filtered for these capabilities on this host.
    static func cacheKey(profileDigest: String, capabilities: UInt64) -> String {
        let host = SeccompProfile.Host.current
        var st = stat()
        let loader = stat("/etc/ld.so.cache", &st) == 0 ? "\(st.st_size).\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)" : "-"
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let text =
            "berth-seccomp-2\n\(host.goArch)\n\(release)\n\(loader)\n\(String(capabilities, radix: 16))\n\(profileDigest)"
        return SHA256.hex(SHA256.hash(Array(text.utf8)))
    }
}

/// A compiled seccomp filter (classic BPF), ready to hand to the kernel in
/// the container's child.
public struct SeccompProgram: Sendable {
    /// `struct sock_filter` records, 8 bytes each.
    public let bytes: [UInt8]
    /// How many BPF instructions.
    public var count: Int { bytes.count / 8 }

    /// A program from stored bytes; nil unless they are whole instructions
    /// the kernel could take (1 to 4096 of them).
    init?(bytes: [UInt8]) {
        guard !bytes.isEmpty, bytes.count % 8 == 0, bytes.count / 8 <= 4096 else { return nil }
        self.bytes = bytes
    }

    private init(compiled: [UInt8]) { bytes = compiled }

    /// Compiles with libseccomp (loaded on first use); `source` names the profile in errors.
    public static func compile(_ filter: SeccompProfile.Filter, source: String = "the seccomp profile") throws(BerthError)
        -> SeccompProgram
    {
        let arena = CStringArena()
        defer { arena.free() }
        let args = UnsafeMutablePointer<berth_seccomp_arg>.allocate(
            capacity: max(1, filter.rules.reduce(0) { $0 + $1.args.count }))
        defer { args.deallocate() }
        let rules = UnsafeMutablePointer<berth_seccomp_rule>.allocate(capacity: max(1, filter.rules.count))
        defer { rules.deallocate() }
        var used = 0
        for (i, r) in filter.rules.enumerated() {
            let first = args + used
            for a in r.args {
                args[used] = berth_seccomp_arg(index: a.index, op: a.opCode, value: a.value, value_two: a.valueTwo)
                used += 1
            }
            rules[i] = berth_seccomp_rule(
                name: arena.string(r.name), action: r.action, nargs: UInt32(r.args.count),
                args: UnsafePointer(first))
        }
        var program = berth_seccomp_program()
        var message = [CChar](repeating: 0, count: 256)
        let rc = berth_seccomp_compile(
            filter.defaultAction, arena.array(filter.architectures), Int32(filter.architectures.count),
            rules, Int32(filter.rules.count), &program, &message, message.count)
        guard rc == 0 else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("cannot load libseccomp") {
                throw BerthError.unavailable(
                    "cannot compile the seccomp filter: \(text); install libseccomp2 (apt-get install -y libseccomp2), or run with --security-opt seccomp=unconfined"
                )
            }
            throw BerthError.invalid(
                "cannot compile \(source) into a seccomp filter: \(text); simplify the profile, or run with --security-opt seccomp=unconfined"
            )
        }
        defer { berth_seccomp_free(&program) }
        let bytes = [UInt8](UnsafeRawBufferPointer(start: program.filter, count: Int(program.len) * 8))
        return SeccompProgram(compiled: bytes)
    }
}
