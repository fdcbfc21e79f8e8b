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

    /// Mount points strictly below `path`, deepest first (/proc/self/mountinfo).
    public static func mountPoints(under path: String) -> [String] {
        let points = ((try? FileSystem.readText("/proc/self/mountinfo")) ?? "").split(separator: "\n").compactMap {
            line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = String(fields[4]).replacingAll("\\040", " ")
            return point.hasPrefix(path + "/") ? point : nil
        }
        return points.sorted(by: { $0.count > $1.count })
    }
}
