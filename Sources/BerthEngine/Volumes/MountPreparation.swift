#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// What the monitor does for a container's mounts before PID 1 starts:
/// makes every mount point exist inside the root (never following a symlink
/// out of it), fills a new named volume from the image, and, for the chroot
/// backend, which has no mount namespace, mounts binds on the host.
public struct MountPreparation {
    public let rootfs: String
    public let volumes: VolumeStore

    public init(rootfs: String, volumes: VolumeStore) {
        self.rootfs = rootfs
        self.volumes = volumes
    }

    /// The host source of a mount (`tmpfs` for tmpfs).
    public func source(_ m: MountSpec) -> String {
        switch m.kind {
        case .bind: return m.source
        case .volume: return volumes.dataPath(m.source)
        case .tmpfs: return "tmpfs"
        }
    }

    /// Creates the target (a directory, or an empty file for a file bind) and
    /// fills an empty volume from the image's content at the target. A
    /// symlink on the way is followed the way the kernel will follow it
    /// inside the container (absolute targets from the container's root,
    /// `..` stopping at it), and what is missing is created there: never on
    /// the host (runc's securejoin rule). `prefill` false only makes the
    /// mount point (`cp` on a container that already ran: its volumes were
    /// filled, or emptied by it, at its start).
    public func prepare(_ m: MountSpec, prefill fillVolume: Bool = true) throws(BerthError) {
        let isDirectory = m.kind != .bind || FileSystem.isDirectory(m.source)
        let root: FileDescriptor
        do { root = try FileDescriptor.open(rootfs, O_RDONLY | O_DIRECTORY) } catch {
            throw .syscall("open", rootfs, error)
        }
        defer { root.close() }
        var pending = m.target.split(separator: "/").map(String.init)
        var done: [String] = []
        var hops = 0
        while let part = pending.first {
            pending.removeFirst()
            if part == "." { continue }
            if part == ".." { _ = done.popLast(); continue }
            let parent = try openDirectory(root, done, m.target)
            defer { parent.close() }
            var st = stat()
            if fstatat(parent.rawValue, part, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == S_IFLNK {
                hops += 1
                guard hops <= 40, let link = readLink(parent.rawValue, part) else {
                    throw .syscall("resolve mount point", m.target, .ELOOP)
                }
                if link.hasPrefix("/") { done = [] }
                pending = link.split(separator: "/").map(String.init) + pending
                continue
            }
            let last = pending.isEmpty
            if fstatat(parent.rawValue, part, &st, AT_SYMLINK_NOFOLLOW) != 0 {
                if last && !isDirectory {
                    let fd = openat(parent.rawValue, part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
                    if fd < 0 { throw .syscall("create mount point", m.target, .current) }
                    close(fd)
                } else if mkdirat(parent.rawValue, part, 0o755) != 0 && errno != EEXIST {
                    throw .syscall("create mount point", m.target, .current)
                }
            } else if !last && (st.st_mode & S_IFMT) != S_IFDIR {
                throw BerthError(
                    "mount point \(m.target): /\((done + [part]).joined(separator: "/")) in the image is not a directory; pick another target"
                )
            }
            done.append(part)
        }
        // A volume with driver options is mounted on the host first (or, for
        // cp, in its private namespace: gone with it).
        if m.kind == .volume { try volumes.mountIfNeeded(m.source) }
        if m.kind == .volume && fillVolume {
            let target = try openDirectory(root, done, m.target)
            defer { target.close() }
            try prefill(m, target: target)
        }
    }

    private func openDirectory(_ root: FileDescriptor, _ parts: [String], _ label: String) throws(BerthError) -> FileDescriptor {
        do { return try FileDescriptor.openInRoot(root, "/" + parts.joined(separator: "/"), O_RDONLY | O_DIRECTORY) } catch {
            throw .syscall("open mount point", label, error)
        }
    }

    private func readLink(_ dirfd: Int32, _ name: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = buffer.withUnsafeMutableBytes {
            readlinkat(dirfd, name, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1)
        }
        return n >= 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    /// Docker copies the image's files at the mount point into a volume the
    /// first time an empty volume is mounted there.
    private func prefill(_ m: MountSpec, target: FileDescriptor) throws(BerthError) {
        let data = volumes.dataPath(m.source)
        guard FileSystem.list(data).isEmpty, FileSystem.list("/proc/self/fd/\(target.rawValue)").count > 0 else { return }
        try TarTransfer.copy(layout: volumes.layout, label: "prefill", into: data) { (writer) throws(BerthError) in
            try TreeArchiver().archive(directory: target.rawValue, into: writer, prefix: "", label: m.target)
        }
    }

    /// chroot backend: bind-mounts on the host onto the target resolved
    /// inside the root, through /proc/self/fd (no path race). Returns the
    /// mounted paths, for unmounting when the container stops.
    public func hostBind(_ m: MountSpec) throws(BerthError) {
        let root: FileDescriptor
        do { root = try FileDescriptor.open(rootfs, O_RDONLY | O_DIRECTORY) } catch { throw .syscall("open", rootfs, error) }
        defer { root.close() }
        let target: FileDescriptor
        do { target = try FileDescriptor.openInRoot(root, m.target, berth_o_path()) } catch {
            throw .syscall("resolve mount target", m.target, error)
        }
        defer { target.close() }
        let via = "/proc/self/fd/\(target.rawValue)"
        if mount(source(m), via, nil, UInt(MS_BIND | MS_REC), nil) != 0 {
            throw .syscall("bind-mount \(source(m)) on", m.target, .current)
        }
        if m.readonly {
            let again = try? FileDescriptor.openInRoot(root, m.target, berth_o_path())
            defer { again?.close() }
            if let again,
                mount(nil, "/proc/self/fd/\(again.rawValue)", nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC), nil) != 0
            {
                throw .syscall("make read-only", m.target, .current)
            }
        }
    }

    /// Unmounts every mount below `path` (deepest first): what a chroot
    /// container's binds, or a crash, left on the host.
    public static func unmountAll(under path: String) {
        for point in mountPoints(under: path) { _ = umount2(point, Int32(MNT_DETACH)) }
    }

    /// Mount points strictly below `path`, deepest first.
    ///
    /// The table holds every mount on the host: with 1,000 containers that
    /// is 1,000 overlays, read by every monitor's exit and every `rm`. Most
    /// of the cost is the kernel's: for /proc/self/mountinfo it prints and
    /// escapes every overlay's options (its long lowerdir, upperdir and
    /// workdir), 8.5 ms for 230 mounts here, against 2.4 ms for
    /// /proc/self/mountstats, which lists the same mounts without options
    /// (`device D mounted on POINT with fstype T`). So mountstats is read
    /// (mountinfo if it cannot be), and scanned as bytes: in both formats
    /// the mount point is the fifth field, with the same escapes (space,
    /// tab, newline and backslash as `\ooo`), compared with `path` escaped
    /// alike; only the matches become strings.
    public static func mountPoints(under path: String) -> [String] {
        guard let table = (try? FileSystem.read("/proc/self/mountstats")) ?? (try? FileSystem.read("/proc/self/mountinfo"))
        else { return [] }
        return mountPoints(under: path, in: table)
    }

    /// `mountPoints(under:)` over a given mountstats or mountinfo text.
    static func mountPoints(under path: String, in table: [UInt8]) -> [String] {
        let prefix = Array(escapedMountPath(path + "/").utf8)
        var points: [String] = []
        table.withUnsafeBufferPointer { b in
            let n = b.count
            var i = 0
            while i < n {
                // Skip four fields to the mount point.
                var field = 0
                while i < n && field < 4 && b[i] != 10 {
                    if b[i] == 32 { field += 1 }
                    i += 1
                }
                let start = i
                while i < n && b[i] != 32 && b[i] != 10 { i += 1 }
                if field == 4 && i - start > prefix.count {
                    var same = true
                    for k in 0..<prefix.count where b[start + k] != prefix[k] {
                        same = false
                        break
                    }
                    if same { points.append(unescapedMountPath(String(decoding: b[start..<i], as: UTF8.self))) }
                }
                while i < n && b[i] != 10 { i += 1 }
                i += 1
            }
        }
        return points.sorted(by: { $0.count > $1.count })
    }

    /// A path as mountinfo spells it: space, tab, newline and backslash octal-escaped.
    static func escapedMountPath(_ path: String) -> String {
        var out = ""
        for c in path.unicodeScalars {
            switch c {
            case " ": out += "\\040"
            case "\t": out += "\\011"
            case "\n": out += "\\012"
            case "\\": out += "\\134"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The inverse of `escapedMountPath`.
    static func unescapedMountPath(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        return field.replacingAll("\\040", " ").replacingAll("\\011", "\t").replacingAll("\\012", "\n")
            .replacingAll("\\134", "\\")
    }
}
