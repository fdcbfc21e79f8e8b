#if canImport(Glibc)
import Glibc
#endif
/// One mount a container asks for: `-v`, `--mount`, `--tmpfs`, `--volumes-from`.
public struct MountSpec: Sendable, Equatable {
    public enum Kind: String, Sendable { case bind, volume, tmpfs }

    public var kind: Kind
    /// Host path (bind) or volume name (volume); empty for tmpfs.
    public var source: String
    /// Absolute path inside the container.
    public var target: String
    public var readonly: Bool
    /// tmpfs options (`size=64m,mode=1777`).
    public var options: String
    /// `-v …:z` or `:Z`, Docker's SELinux relabel request: accepted only
    /// where SELinux is off, where there is nothing to relabel (see
    /// `SELinux.checkRelabel`); kept to show in `inspect`'s `Mode`.
    public var relabel = ""

    public init(kind: Kind, source: String, target: String, readonly: Bool = false, options: String = "") {
        self.kind = kind
        self.source = source
        self.target = target
        self.readonly = readonly
        self.options = options
    }

    /// Docker's `Mounts` entry in `inspect`.
    public func json(mountpoint: String) -> JSON {
        var members: [(String, JSON)] = [("Type", .string(kind.rawValue))]
        if kind == .volume { members.append(("Name", .string(source))) }
        members += [
            ("Source", .string(kind == .tmpfs ? "" : mountpoint)), ("Destination", .string(target)),
            ("Mode", .string(kind == .tmpfs ? options : relabel)), ("RW", .bool(!readonly)),
            ("Propagation", .string(kind == .bind ? "rprivate" : "")),
        ]
        return .object(members)
    }

    /// What is stored in the container record.
    var record: JSON {
        .object(
            [
                ("Type", .string(kind.rawValue)), ("Source", .string(source)), ("Target", .string(target)),
                ("ReadOnly", .bool(readonly)), ("Options", .string(options)),
            ] + (relabel.isEmpty ? [] : [("Relabel", .string(relabel))]))
    }

    init?(record: JSON) {
        guard let kind = record["Type"]?.stringValue.flatMap(Kind.init(rawValue:)),
            let target = record["Target"]?.stringValue
        else { return nil }
        self.init(
            kind: kind, source: record["Source"]?.stringValue ?? "", target: target,
            readonly: record["ReadOnly"]?.boolValue ?? false, options: record["Options"]?.stringValue ?? "")
        relabel = record["Relabel"]?.stringValue ?? ""
    }

    /// `-v SRC:DST[:ro|rw]`, `-v NAME:DST`, `-v DST` (an anonymous volume; source empty).
    public static func parseVolume(_ text: String) throws(BerthError) -> MountSpec {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var readonly = false
        var relabel = ""
        var fields = parts
        if fields.count == 3 || (fields.count == 2 && isMode(fields[1])) {
            let mode = fields.removeLast()
            // Docker's modes: at most one of ro/rw and one of z/Z, comma-separated.
            let words = mode.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard words.allSatisfy({ ["ro", "rw", "z", "Z"].contains($0) }),
                words.filter({ $0 == "ro" || $0 == "rw" }).count <= 1, words.filter({ $0 == "z" || $0 == "Z" }).count <= 1
            else {
                throw BerthError("invalid mode: \(mode) in -v \(text); use ro or rw, and z or Z, comma-separated (ro,z)")
            }
            readonly = words.contains("ro")
            relabel = words.first { $0 == "z" || $0 == "Z" } ?? ""
            if !relabel.isEmpty { try SELinux.checkRelabel(text) }
        }
        var spec: MountSpec
        switch fields.count {
        case 1:
            spec = try checked(MountSpec(kind: .volume, source: "", target: fields[0], readonly: readonly), text)
        case 2:
            let kind: Kind = fields[0].hasPrefix("/") ? .bind : .volume
            if kind == .volume { try VolumeNames.validate(fields[0]) }
            spec = try checked(MountSpec(kind: kind, source: fields[0], target: fields[1], readonly: readonly), text)
        default:
            throw BerthError(
                "invalid volume specification: '\(text)'; use HOST-DIR:CONTAINER-DIR[:ro], NAME:CONTAINER-DIR or CONTAINER-DIR")
        }
        spec.relabel = relabel
        return spec
    }

    /// Whether the last field of a two-field `-v` is a mode (`CTR:ro`, `CTR:z`) rather than a target.
    private static func isMode(_ field: String) -> Bool {
        !field.isEmpty && field.split(separator: ",").allSatisfy { ["ro", "rw", "z", "Z"].contains(String($0)) }
    }

    /// `--mount type=bind,source=/x,target=/y,readonly`.
    public static func parseMount(_ text: String) throws(BerthError) -> MountSpec {
        var kind = Kind.volume, source = "", target = "", readonly = false
        var tmpfs: [String] = []
        for field in text.split(separator: ",") {
            let kv = field.split(separator: "=", maxSplits: 1).map(String.init)
            let key = kv[0], value = kv.count > 1 ? kv[1] : ""
            switch key {
            case "type":
                guard let k = Kind(rawValue: value) else {
                    throw BerthError("invalid --mount type \"\(value)\": use bind, volume or tmpfs")
                }
                kind = k
            case "source", "src": source = value
            case "target", "destination", "dst": target = value
            case "readonly", "ro": readonly = value.isEmpty || value == "true" || value == "1"
            case "tmpfs-size": tmpfs.append("size=\(value)")
            case "tmpfs-mode": tmpfs.append("mode=\(value)")
            case "volume-nocopy", "bind-propagation", "consistency": break
            default: throw BerthError("unexpected key '\(key)' in --mount \(text); use type, source, target, readonly")
            }
        }
        if kind == .volume && !source.isEmpty { try VolumeNames.validate(source) }
        if kind == .bind && source.isEmpty { throw BerthError("invalid --mount \(text): a bind mount needs source=") }
        return try checked(
            MountSpec(
                kind: kind, source: kind == .tmpfs ? "" : source, target: target, readonly: readonly,
                options: kind == .tmpfs ? tmpfsOptions(tmpfs.joined(separator: ",")) : ""), text)
    }

    /// `--tmpfs /path[:opts]`: Docker's mount options (`ro`, `rw`, `exec`,
    /// `noexec`, `nosuid`, `size=65536k`, `mode=1777`, …).
    public static func parseTmpfs(_ text: String) throws(BerthError) -> MountSpec {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let given = parts.count > 1 ? parts[1] : ""
        var spec = MountSpec(kind: .tmpfs, source: "", target: parts.first ?? "", options: tmpfsOptions(given))
        for word in given.split(separator: ",") where word == "ro" || word == "rw" { spec.readonly = word == "ro" }
        _ = try TmpfsOptions(spec.options, in: text)  // a word the kernel does not take is refused now
        return try checked(spec, text)
    }

    /// Docker's tmpfs defaults, overridden by what the user gave.
    static func tmpfsOptions(_ given: String) -> String {
        var options = given.split(separator: ",").map(String.init).filter { !["ro", "rw"].contains($0) }
        if !options.contains(where: { $0.hasPrefix("mode=") }) { options.append("mode=1777") }
        if !options.contains(where: { $0.hasPrefix("size=") }) { options.append("size=65536k") }
        return options.joined(separator: ",")
    }

    /// The /proc files runc lets a mount cover (those lxcfs emulates).
    static let procFilesAllowed = [
        "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
        "/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev",
        "/proc/sys/kernel/ns_last_pid",
    ]

    private static func checked(_ spec: MountSpec, _ text: String) throws(BerthError) -> MountSpec {
        guard spec.target.hasPrefix("/"), spec.target.split(separator: "/").count > 0 else {
            if spec.target.hasPrefix("/") {
                throw BerthError("invalid volume specification: '\(text)': invalid specification: destination can't be '/'")
            }
            throw BerthError("invalid mount target \"\(spec.target)\" in \(text): it must be an absolute path other than /")
        }
        if spec.target.split(separator: "/").contains("..") {
            throw BerthError("invalid mount target \"\(spec.target)\" in \(text): '..' is not allowed")
        }
        // The container's own /proc is mounted by the runtime; Docker (through
        // runc) refuses anything else on or inside it, bar the few files lxcfs
        // emulates. Refused here, at create, rather than at start.
        let target = "/" + spec.target.split(separator: "/").joined(separator: "/")
        if target == "/proc" {
            throw BerthError(
                "invalid volume specification: '\(text)': destination can't be '/proc': the container's /proc is mounted by Berth"
            )
        }
        if target.hasPrefix("/proc/") && !procFilesAllowed.contains(target) {
            throw BerthError(
                "invalid volume specification: '\(text)': destination \(target) is inside /proc, where only \(procFilesAllowed.joined(separator: ", ")) may be mounted"
            )
        }
        return spec
    }
}

/// Volume names: Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
public enum VolumeNames {
    public static func validate(_ name: String) throws(BerthError) {
        let chars = Array(name)
        let ok =
            chars.count >= 2 && chars[0].isASCII && (chars[0].isLetter || chars[0].isNumber)
            && chars.dropFirst().allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
        guard ok else {
            throw BerthError(
                "\"\(name)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed; a host directory must be an absolute path"
            )
        }
    }
}

/// A tmpfs mount's options split as mount(2) takes them: the words that are
/// mount flags (Docker starts from `noexec,nosuid,nodev` and lets `exec`,
/// `suid`, `dev` undo them) and the data tmpfs itself reads (`size=`,
/// `mode=`, `uid=`, `gid=`, `nr_inodes=`, `nr_blocks=`, `mpol=`).
public struct TmpfsOptions: Sendable, Equatable {
    /// The MS_* flags.
    public var flags: UInt
    /// The comma-separated data for tmpfs.
    public var data: String
    /// Flags as words, for an OCI config (`noexec`, `nosuid`, …).
    public var words: [String]

    static let flagBits: [String: (set: Bool, bit: UInt)] = [
        "noexec": (true, UInt(MS_NOEXEC)), "exec": (false, UInt(MS_NOEXEC)),
        "nosuid": (true, UInt(MS_NOSUID)), "suid": (false, UInt(MS_NOSUID)),
        "nodev": (true, UInt(MS_NODEV)), "dev": (false, UInt(MS_NODEV)),
        "sync": (true, UInt(MS_SYNCHRONOUS)), "async": (false, UInt(MS_SYNCHRONOUS)),
        "noatime": (true, UInt(MS_NOATIME)), "atime": (false, UInt(MS_NOATIME)),
        "nodiratime": (true, UInt(MS_NODIRATIME)), "diratime": (false, UInt(MS_NODIRATIME)),
        "relatime": (true, UInt(MS_RELATIME)), "norelatime": (false, UInt(MS_RELATIME)),
        "strictatime": (true, UInt(MS_STRICTATIME)),
    ]
    static let dataKeys: Set<String> = ["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol", "huge"]

    /// Splits `options` (ro/rw are the mount's `readonly`, skipped here).
    public init(_ options: String, in text: String) throws(BerthError) {
        var flags = UInt(MS_NOEXEC | MS_NOSUID | MS_NODEV)
        var data: [String] = []
        for word in options.split(separator: ",").map(String.init) where word != "ro" && word != "rw" {
            if let f = Self.flagBits[word] {
                flags = f.set ? flags | f.bit : flags & ~f.bit
            } else if let key = word.split(separator: "=", maxSplits: 1).first, Self.dataKeys.contains(String(key)),
                word.contains("=")
            {
                data.append(word)
            } else {
                throw .invalid(
                    "invalid tmpfs option \"\(word)\" in \(text); use ro, rw, exec, noexec, suid, nosuid, dev, nodev, size=, mode=, uid=, gid="
                )
            }
        }
        self.flags = flags
        self.data = data.joined(separator: ",")
        words = Self.flagBits.filter { $0.value.set && flags & $0.value.bit != 0 }.map(\.key).sorted()
    }
}

/// SELinux, as far as Berth knows it: it applies no labels at all.
public enum SELinux {
    /// Where the kernel shows SELinux when it is on (selinuxfs).
    public static let enforcePath = "/sys/fs/selinux/enforce"

    /// Whether SELinux is active on this host (selinuxfs mounted, as libselinux's `is_selinux_enabled` sees it).
    public static var isEnabled: Bool { FileSystem.exists(enforcePath) }

    /// `-v …:z|Z` asks Docker to relabel the source for the container. With
    /// SELinux off there are no labels, so nothing is to be done and the
    /// mount works as it is. With SELinux on, Berth would have to relabel
    /// (it does not), and the container would be denied the files: refuse.
    static func checkRelabel(_ spec: String) throws(BerthError) {
        guard isEnabled else { return }
        throw .unavailable(
            "-v \(spec): SELinux is enabled on this host and Berth does not relabel volumes; label the source yourself (chcon -Rt container_file_t DIR) and drop :z/:Z"
        )
    }
}
