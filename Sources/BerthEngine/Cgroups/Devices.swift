#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// One device cgroup rule, as cgroup v1's `devices.allow` reads it:
/// `c 1:3 rwm`, `b *:* m`, `a *:* rwm`.
public struct DeviceRule: Sendable, Equatable {
    /// `a` (all), `c` (character) or `b` (block).
    public var type: Character
    /// nil: any.
    public var major: Int64?
    public var minor: Int64?
    /// Some of `r`, `w`, `m`.
    public var access: String
    public var allow: Bool

    public init(_ type: Character, _ major: Int64?, _ minor: Int64?, _ access: String, allow: Bool = true) {
        self.type = type; self.major = major; self.minor = minor; self.access = access; self.allow = allow
    }

    /// `c 1:3 rwm`, the v1 file format.
    public var text: String {
        if type == "a" { return "a" }
        return "\(type) \(major.map(String.init) ?? "*"):\(minor.map(String.init) ?? "*") \(access)"
    }

    /// Docker's default allowlist (moby's oci/defaults.go and
    /// daemon/oci_linux.go): everything denied, then mknod of any node, the
    /// basic character devices, the pty ones and tun.
    public static let dockerDefaults: [DeviceRule] = [
        DeviceRule("a", nil, nil, "rwm", allow: false),
        DeviceRule("c", nil, nil, "m"), DeviceRule("b", nil, nil, "m"),
        DeviceRule("c", 1, 3, "rwm"),  // null
        DeviceRule("c", 1, 5, "rwm"),  // zero
        DeviceRule("c", 1, 7, "rwm"),  // full
        DeviceRule("c", 1, 8, "rwm"),  // random
        DeviceRule("c", 1, 9, "rwm"),  // urandom
        DeviceRule("c", 5, 0, "rwm"),  // tty
        DeviceRule("c", 5, 1, "rwm"),  // console
        DeviceRule("c", 5, 2, "rwm"),  // ptmx
        DeviceRule("c", 136, nil, "rwm"),  // pts/N
        DeviceRule("c", 10, 200, "rwm"),  // net/tun
    ]

    /// The rules of a container: Docker's defaults, its `--device-cgroup-rule`s,
    /// then one per `--device` node (dockerd's order).
    public static func forContainer(_ nodes: [DeviceNode], rules: [DeviceRule] = []) -> [DeviceRule] {
        dockerDefaults + rules + nodes.map { DeviceRule($0.type, $0.major, $0.minor, $0.permissions) }
    }

    /// `--device-cgroup-rule`: `TYPE MAJOR:MINOR ACCESS`, as the CLI checks
    /// it (`c 1:3 rwm`, `b 8:* r`, `a *:* m`): a type of `a`, `b` or `c`,
    /// numbers or `*`, one to three of `r`, `w`, `m`. An `a` rule with less
    /// than `rwm` is made the same rule for `c` and `b` devices: cgroup v1
    /// reads any `a` line as "allow everything", whatever access it names.
    public static func parse(_ text: String) throws(BerthError) -> [DeviceRule] {
        let rule = try parseOne(text)
        guard rule.type == "a", Set(rule.access) != Set("rwm") else { return [rule] }
        return [DeviceRule("c", nil, nil, rule.access), DeviceRule("b", nil, nil, rule.access)]
    }

    private static func parseOne(_ text: String) throws(BerthError) -> DeviceRule {
        let bad = BerthError.usage(
            "invalid argument \(quoted(text)) for \"--device-cgroup-rule\" flag: invalid device cgroup format '\(shown(text))'")
        let words = text.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 3, let type = words[0].first, words[0].count == 1, "abc".contains(type) else { throw bad }
        let numbers = words[1].split(separator: ":", omittingEmptySubsequences: false)
        func number(_ s: Substring) -> (ok: Bool, value: Int64?) {
            if s == "*" { return (true, nil) }
            guard !s.isEmpty, s.count <= 10, s.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(s), n <= UInt32.max
            else { return (false, nil) }
            return (true, n)
        }
        guard numbers.count == 2 else { throw bad }
        let major = number(numbers[0]), minor = number(numbers[1])
        guard major.ok, minor.ok, DeviceMapping.isPermissions(String(words[2])) else { throw bad }
        return DeviceRule(type, major.value, minor.value, String(words[2]))
    }

    /// The rule for the OCI spec's `linux.resources.devices`.
    public var ociJSON: JSON {
        var members: [(String, JSON)] = [("allow", .bool(allow))]
        if type != "a" { members.append(("type", .string(String(type)))) }
        if let major { members.append(("major", .int(major))) }
        if let minor { members.append(("minor", .int(minor))) }
        members.append(("access", .string(access)))
        return .object(members)
    }

    /// The access bits of the BPF context (BPF_DEVCG_ACC_*: m 1, r 2, w 4).
    var accessBits: Int32 {
        (access.contains("m") ? 1 : 0) | (access.contains("r") ? 2 : 0) | (access.contains("w") ? 4 : 0)
    }
}

/// A device node a container gets with `--device`: the host node's kind,
/// numbers and owner, and where it goes inside.
public struct DeviceNode: Sendable, Equatable {
    /// Path inside the container.
    public var path: String
    /// `c` or `b`.
    public var type: Character
    public var major: Int64
    public var minor: Int64
    /// Permission bits of the host node.
    public var fileMode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// The cgroup access the container gets (`rwm` by default).
    public var permissions: String
    /// The host's node, bound in its place inside a user namespace, where
    /// mknod(2) is not allowed (runc does the same).
    public var hostPath = ""

    /// The entry of the OCI spec's `linux.devices`.
    public var ociJSON: JSON {
        .object([
            ("path", .string(path)), ("type", .string(String(type))), ("major", .int(major)),
            ("minor", .int(minor)), ("fileMode", .int(Int64(fileMode))), ("uid", .int(Int64(uid))),
            ("gid", .int(Int64(gid))),
        ])
    }
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]`, as Docker records it in
/// `HostConfig.Devices`.
public struct DeviceMapping: Sendable, Equatable {
    public var pathOnHost: String
    public var pathInContainer: String
    public var cgroupPermissions: String

    public init(pathOnHost: String, pathInContainer: String, cgroupPermissions: String) {
        self.pathOnHost = pathOnHost; self.pathInContainer = pathInContainer; self.cgroupPermissions = cgroupPermissions
    }

    /// Whether `text` is a permission string: one to three of r, w, m, none twice.
    static func isPermissions(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 3 && text.allSatisfy { "rwm".contains($0) } && Set(text).count == text.count
    }

    /// Parses the flag's value with Docker's rules and messages (the CLI's
    /// validateLinuxPath, then the daemon's parseDevice).
    public static func parse(_ text: String) throws(BerthError) -> DeviceMapping {
        let bad = { (why: String) in
            BerthError.invalid("invalid argument \"\(text)\" for \"--device\" flag: \(why)")
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 3, !parts[0].isEmpty else { throw bad("bad format for path: \(text)") }
        var host = parts[0], container = parts[0], permissions = "rwm"
        switch parts.count {
        case 2:
            if isPermissions(parts[1]) { permissions = parts[1] } else { container = parts[1] }
        case 3:
            container = parts[1]
            guard isPermissions(parts[2]) else { throw bad("bad mode specified: \(parts[2])") }
            permissions = parts[2]
        default: break
        }
        if container.isEmpty { container = host }
        guard container.hasPrefix("/") else { throw bad("\(container) is not an absolute path") }
        guard container.utf8.count < 4096, host.utf8.count < 4096 else {
            throw .invalid(
                "invalid argument \"\(shown(text))\" for \"--device\" flag: path too long (a path has at most 4095 bytes)")
        }
        host = clean(host)
        return DeviceMapping(pathOnHost: host, pathInContainer: clean(container), cgroupPermissions: permissions)
    }

    /// `path.Clean` for absolute paths: no `.`, `..` or doubled slashes.
    static func clean(_ path: String) -> String {
        var out: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !out.isEmpty { out.removeLast() }; continue }
            out.append(part)
        }
        return (path.hasPrefix("/") ? "/" : "") + out.joined(separator: "/")
    }

    public var json: JSON {
        .object([
            ("PathOnHost", .string(pathOnHost)), ("PathInContainer", .string(pathInContainer)),
            ("CgroupPermissions", .string(cgroupPermissions)),
        ])
    }

    public init?(json: JSON) {
        guard let host = json["PathOnHost"]?.stringValue, let inside = json["PathInContainer"]?.stringValue else { return nil }
        self.init(pathOnHost: host, pathInContainer: inside, cgroupPermissions: json["CgroupPermissions"]?.stringValue ?? "rwm")
    }

    /// The device nodes this mapping gives: the host node (symlinks
    /// followed), or every node under a host directory, at the same place
    /// below the container path (Docker's GetDevicesFromPath).
    public func nodes() throws(BerthError) -> [DeviceNode] {
        var st = stat()
        guard stat(pathOnHost, &st) == 0 else {
            let reason = String(cString: strerror(errno)).lowercased()
            throw BerthError(
                "error gathering device information while adding custom device \"\(pathOnHost)\": \(reason); give the path of a device node on this host",
                exitCode: 125)
        }
        if let node = Self.node(st, at: pathInContainer, host: pathOnHost, permissions: cgroupPermissions) { return [node] }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw BerthError(
                "error gathering device information while adding custom device \"\(pathOnHost)\": not a device node; give a character or block device (or a directory of them)",
                exitCode: 125)
        }
        var found: [DeviceNode] = []
        walk(pathOnHost, depth: 0, &found)
        return found
    }

    private func walk(_ dir: String, depth: Int, _ found: inout [DeviceNode]) {
        guard depth < 8 else { return }
        for name in FileSystem.list(dir).sorted() {
            let path = dir + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let inside = pathInContainer + String(path.dropFirst(pathOnHost.count))
            if st.st_mode & S_IFMT == S_IFDIR {
                walk(path, depth: depth + 1, &found)
            } else if let node = Self.node(st, at: inside, host: path, permissions: cgroupPermissions) {
                found.append(node)
            }
        }
    }

    static func node(_ st: stat, at path: String, host: String, permissions: String) -> DeviceNode? {
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFCHR || kind == S_IFBLK else { return nil }
        return DeviceNode(
            path: path, type: kind == S_IFCHR ? "c" : "b",
            major: Int64(berth_major(UInt64(st.st_rdev))), minor: Int64(berth_minor(UInt64(st.st_rdev))),
            fileMode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid, permissions: permissions,
            hostPath: host)
    }
}

extension Cgroup {
    /// Restricts the devices the container's processes may open or create
    /// to `rules` (an allowlist after a deny-all): v1 through the `devices`
    /// controller's files, v2 through a BPF_CGROUP_DEVICE program attached
    /// to the directory. Must run before the first process enters.
    public func restrictDevices(_ rules: [DeviceRule]) throws(BerthError) {
        if version == "v1" {
            let dir = directory("devices")
            guard FileSystem.exists(dir + "/devices.allow") else {
                throw BerthError(
                    "cgroup v1 has no devices hierarchy at /sys/fs/cgroup/devices, so the device allowlist cannot be enforced; mount it (mount -t cgroup -o devices cgroup /sys/fs/cgroup/devices)"
                )
            }
            for rule in rules {
                try write(dir, rule.allow ? "devices.allow" : "devices.deny", rule.text)
            }
            return
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .syscall("open cgroup", path, .current) }
        defer { close(fd) }
        let cRules = rules.map { r in
            berth_device_rule(
                allow: r.allow ? 1 : 0, type: CChar(r.type.asciiValue ?? 97), access: r.accessBits,
                major: r.major ?? -1, minor: r.minor ?? -1)
        }
        var log = [CChar](repeating: 0, count: 4096)
        let rc = cRules.withUnsafeBufferPointer { buf in
            berth_devices_attach(fd, buf.baseAddress, Int32(buf.count), &log, UInt32(log.count))
        }
        if rc != 0 {
            let err = Errno.current
            let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let verifier = text.split(separator: "\n").last.map { " (\($0))" } ?? ""
            throw .syscall(
                "attach the device allowlist (BPF_CGROUP_DEVICE) to", path + verifier, err,
                fix: "the kernel needs CONFIG_CGROUP_BPF; on a hybrid host leave BERTH_CGROUP unset to use cgroup v1")
        }
    }
}

extension DeviceRule {
    /// Whether containers get the allowlist: always, except when
    /// `BERTH_BENCH_NO_DEVICE_RULES=1` asks `make bench` to time a start
    /// without it (only to show what the rules cost; never for real use).
    public static var enforced: Bool {
        getenv("BERTH_BENCH_NO_DEVICE_RULES").map { String(cString: $0) } != "1"
    }
}

extension Container {
    /// The device rules of its `--device-cgroup-rule`s (checked at create).
    public var userDeviceRules: [DeviceRule] {
        deviceCgroupRules.flatMap { (try? DeviceRule.parse($0)) ?? [] }
    }

    /// The `--device` nodes as the host has them now.
    public func deviceNodes() throws(BerthError) -> [DeviceNode] {
        var nodes: [DeviceNode] = []
        for d in devices { nodes += try d.nodes() }
        return nodes
    }
}
