#if canImport(Glibc)
import Glibc
#endif

/// The `local` driver's `volume create -o` options, as Docker's: `type`
/// (a filesystem type, or `none` for a bind), `device` (what to mount) and
/// `o` (mount(8) options: `bind`, `ro`, `size=64m`, …). A volume with them
/// is mounted on its `_data` directory on the host while some running
/// container uses it, and unmounted when the last one stops, so a tmpfs
/// volume starts empty at each use and a bind shows the host directory.
public struct VolumeOptions: Sendable, Equatable {
    public var type = ""
    public var device = ""
    public var o = ""

    public init() {}

    public var isEmpty: Bool { type.isEmpty && device.isEmpty && o.isEmpty }

    /// `KEY=VALUE` words; Docker's checks: only `type`, `device`, `o`, and
    /// `type` or `o` need `device`.
    public static func parse(_ words: [String]) throws(BerthError) -> VolumeOptions {
        var v = VolumeOptions()
        for word in words {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else {
                throw BerthError(.invalidArgument, "invalid option: \"\(word)\"; use KEY=VALUE (type=, device=, o=)")
            }
            switch parts[0] {
            case "type": v.type = parts[1]
            case "device": v.device = parts[1]
            case "o": v.o = parts[1]
            case "size":
                throw BerthError(
                    .invalidArgument,
                    "invalid option: \"size\": quotas need an XFS store with project quotas; use type=tmpfs,o=size=…")
            default:
                throw BerthError(.invalidArgument, "invalid option: \"\(parts[0])\"; the local driver takes type, device and o")
            }
        }
        if (!v.type.isEmpty || !v.o.isEmpty) && v.device.isEmpty {
            throw BerthError(.invalidArgument, "missing required option: \"device\"")
        }
        if !v.device.isEmpty, !v.isBind, v.type.isEmpty {
            throw BerthError(
                .invalidArgument, "missing required option: \"type\" for device \(v.device); use type=tmpfs, type=none,o=bind, …")
        }
        if v.isBind {
            guard v.device.hasPrefix("/") else {
                throw BerthError(
                    .invalidArgument, "bind device \(v.device) is not an absolute path; give the host directory's full path")
            }
        }
        _ = try v.mountFlags()
        return v
    }

    /// `o=bind` or `o=rbind`: the device is a host path.
    public var isBind: Bool { words.contains("bind") || words.contains("rbind") }

    private var words: [String] { o.split(separator: ",").map(String.init) }

    /// mount(8)'s flag words as MS_* flags; the rest is the filesystem's data.
    func mountFlags() throws(BerthError) -> (flags: UInt, data: String) {
        let known: [String: (set: UInt, clear: UInt)] = [
            "ro": (UInt(MS_RDONLY), 0), "rw": (0, UInt(MS_RDONLY)), "bind": (UInt(MS_BIND), 0),
            "rbind": (UInt(MS_BIND | MS_REC), 0), "nosuid": (UInt(MS_NOSUID), 0), "suid": (0, UInt(MS_NOSUID)),
            "nodev": (UInt(MS_NODEV), 0), "dev": (0, UInt(MS_NODEV)), "noexec": (UInt(MS_NOEXEC), 0),
            "exec": (0, UInt(MS_NOEXEC)), "sync": (UInt(MS_SYNCHRONOUS), 0), "async": (0, UInt(MS_SYNCHRONOUS)),
            "noatime": (UInt(MS_NOATIME), 0), "nodiratime": (UInt(MS_NODIRATIME), 0),
            "relatime": (UInt(MS_RELATIME), 0), "strictatime": (UInt(MS_STRICTATIME), 0),
        ]
        var flags: UInt = 0
        var data: [String] = []
        for w in words {
            if let f = known[w] {
                flags = (flags | f.set) & ~f.clear
            } else {
                data.append(w)
            }
        }
        return (flags, data.joined(separator: ","))
    }

    /// Mounts the device on `path` (the volume's `_data`). A bind is made
    /// first and made read-only after, as the kernel wants.
    func mount(on path: String) throws(BerthError) {
        let (flags, data) = try mountFlags()
        if flags & UInt(MS_BIND) != 0 {
            var st = stat()
            guard stat(device, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw BerthError(
                    .notFound, "error while mounting volume with options: device \(device): no such directory; create it first")
            }
            if Glibc.mount(device, path, nil, flags & UInt(MS_BIND | MS_REC), nil) != 0 {
                throw .syscall("mount \(device) on", path, .current)
            }
            if flags & ~UInt(MS_BIND | MS_REC) != 0,
                Glibc.mount(nil, path, nil, flags | UInt(MS_REMOUNT), nil) != 0
            {
                let err = Errno.current
                _ = umount2(path, Int32(MNT_DETACH))
                throw .syscall("remount \(device) with \(o) on", path, err)
            }
            return
        }
        let fsType = type == "none" ? nil : type
        if Glibc.mount(device, path, fsType, flags, data.isEmpty ? nil : data) != 0 {
            throw BerthError.syscall("mount \(device) (type \(type), options \(o)) on", path, .current)
        }
    }

    /// Docker's `Options` in `volume inspect`.
    public var json: JSON {
        var members: [(String, JSON)] = []
        if !device.isEmpty { members.append(("device", .string(device))) }
        if !o.isEmpty { members.append(("o", .string(o))) }
        if !type.isEmpty { members.append(("type", .string(type))) }
        return .object(members)
    }

    init(json: JSON?) {
        type = json?["type"]?.stringValue ?? ""
        device = json?["device"]?.stringValue ?? ""
        o = json?["o"]?.stringValue ?? ""
    }
}
