#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// Writes a directory tree as tar entries, walking it only through directory
/// file descriptors with O_NOFOLLOW: a running container that swaps a
/// directory for a symlink mid-walk can never make Berth read a host file
/// (the `docker cp`/export race, CVE-2018-15664). Names are sorted, so the
/// same tree always gives the same archive.
public struct TreeArchiver {
    /// How overlay whiteouts in the tree are written.
    public enum Whiteouts: Sendable {
        /// As they are (a tree without whiteouts: a merged root).
        case none
        /// As OCI/AUFS markers: a 0:0 device becomes `.wh.NAME`, an opaque
        /// directory gets `.wh..wh..opq` (for a layer: commit, save).
        case aufs
    }

    public var whiteouts: Whiteouts
    /// Relative paths to leave out (with everything below them).
    public var exclude: Set<String>
    /// Write every entry with this owner instead of the file's (`cp` without `-a`).
    public var owner: (uid: UInt32, gid: UInt32)?
    /// Write owners as a user namespace sees them (`export` of a container
    /// whose root shows host ids shifted by its maps), so the tar is portable.
    public var idMap: IDMap?
    /// Write every entry with these permission bits (`COPY --chmod`).
    public var mode: UInt32?
    /// Whether modification times are written (a build's content checksum
    /// leaves them out, as Docker's does, so `touch` keeps the cache).
    public var times = true
    /// Leave out what gives privilege on the host: setuid and setgid bits
    /// are cleared and device nodes left out (`cp` to the host without
    /// `-a`, where the files become the caller's: a container must not plant
    /// a setuid-root binary or a writable disk node there).
    public var safeForHost = false
    /// Which entries to write, by their path in the archive (`.dockerignore`).
    public var include: ((_ path: String, _ isDirectory: Bool) -> Inclusion)?

    /// What `include` says of one entry.
    public enum Inclusion: Sendable {
        /// Written, with everything below it.
        case include
        /// Left out with everything below it.
        case skip
        /// Left out itself, but its contents are looked at (an exception
        /// below an excluded directory).
        case descend
    }

    public init(whiteouts: Whiteouts = .none, exclude: Set<String> = [], owner: (uid: UInt32, gid: UInt32)? = nil) {
        self.whiteouts = whiteouts
        self.exclude = exclude
        self.owner = owner
    }

    /// Archives everything below `root` (not `root` itself) into `writer`;
    /// `prefix` is prepended to every path (e.g. `tmp/` for cp).
    public func archive(root: String, into writer: TarWriter, prefix: String = "") throws(BerthError) {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .syscall("open", root, .current) }
        defer { close(fd) }
        var walker = Walk(writer: writer, options: self, root: root)
        try walker.walk(OwnedDirectory(borrowing: fd), prefix)
    }

    /// Archives one directory fd's contents (for `cp` from a resolved path).
    /// Returns the paths `safeForHost` left out.
    @discardableResult
    public func archive(directory fd: Int32, into writer: TarWriter, prefix: String, label: String) throws(BerthError)
        -> [String]
    {
        var walker = Walk(writer: writer, options: self, root: label)
        try walker.walk(OwnedDirectory(borrowing: fd), prefix)
        return walker.leftOut
    }

    /// Archives one entry of a directory fd (a file, link or directory with its tree).
    /// With `recursive` false a directory is written without its contents.
    /// Returns the paths `safeForHost` left out.
    @discardableResult
    public func archive(
        entry name: String, in dirfd: Int32, as path: String, into writer: TarWriter,
        label: String, recursive: Bool = true
    ) throws(BerthError) -> [String] {
        var walker = Walk(writer: writer, options: self, root: label)
        walker.recursive = recursive
        if let child = try walker.entry(dirfd, name, path) { try walker.walk(child, path + "/") }
        return walker.leftOut
    }
}

private struct Walk {
    let writer: TarWriter
    let options: TreeArchiver
    let root: String
    var links: [UInt64: String] = [:]
    var recursive = true
    /// Device nodes `safeForHost` left out.
    var leftOut: [String] = []

    init(writer: TarWriter, options: TreeArchiver, root: String) {
        self.writer = writer
        self.options = options
        self.root = root
    }

    func fail(_ call: String, _ path: String) -> BerthError {
        .syscall(call, root + "/" + path, .current, fix: "the file may have changed while it was archived; try again")
    }

    /// How deep a tree may go. Each level holds an open descriptor, and a
    /// container can make any depth; past this the archive is refused in
    /// one line rather than running out of descriptors half-way.
    static let maxDepth = 4096

    /// One directory being walked: its descriptor (closed when done, unless
    /// borrowed from the caller), its path in the archive, its sorted names
    /// and how far the walk is through them.
    struct Level {
        let directory: OwnedDirectory
        let prefix: String
        let names: [String]
        var next = 0
    }

    /// Writes the tree below `top` without recursion (a hostile container
    /// can nest directories thousands deep; a recursive walk overflowed the
    /// stack): an explicit stack of levels, one descriptor each.
    mutating func walk(_ top: OwnedDirectory, _ prefix: String) throws(BerthError) {
        var levels: [Level] = []
        defer { for level in levels { level.directory.close() } }
        func enter(_ dir: OwnedDirectory, _ prefix: String) throws(BerthError) {
            guard levels.count < Self.maxDepth else {
                dir.close()
                throw BerthError(
                    "archive \(root)/\(prefix): the tree is more than \(Self.maxDepth) directories deep; Berth does not archive it"
                )
            }
            levels.append(Level(directory: dir, prefix: prefix, names: listNames(dir.fd)))
            if options.whiteouts == .aufs, isOpaque(dir.fd) {
                var marker = TarEntry(path: prefix + ".wh..wh..opq", kind: .regular, size: 0, mode: 0o644)
                marker.mtimeSeconds = 0
                try writer.append(marker)
            }
        }
        try enter(top, prefix)
        while let last = levels.indices.last {
            guard levels[last].next < levels[last].names.count else {
                levels.removeLast().directory.close()
                continue
            }
            let name = levels[last].names[levels[last].next]
            levels[last].next += 1
            let dirfd = levels[last].directory.fd
            let path = levels[last].prefix + name
            if options.exclude.contains(path) { continue }
            if let include = options.include {
                var st = stat()
                let isDir = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mode & S_IFMT == S_IFDIR
                switch include(path, isDir) {
                case .include: break
                case .skip: continue
                case .descend:
                    if isDir {
                        let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                        guard fd >= 0 else { throw fail("open", path) }
                        try enter(OwnedDirectory(owning: fd), path + "/")
                    }
                    continue
                }
            }
            if let child = try entry(dirfd, name, path) { try enter(child, path + "/") }
        }
    }

    /// Writes one entry; for a directory whose contents are to follow, its
    /// open descriptor (the caller walks it).
    mutating func entry(_ dirfd: Int32, _ name: String, _ path: String) throws(BerthError) -> OwnedDirectory? {
        var st = stat()
        guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }  // deleted while we walked: Docker skips it too
            throw fail("lstat", path)
        }
        var entry = TarEntry(path: path, kind: .regular, mode: UInt32(st.st_mode & 0o7777))
        entry.uid = options.owner?.uid ?? options.idMap?.containerUID(st.st_uid) ?? st.st_uid
        entry.gid = options.owner?.gid ?? options.idMap?.containerGID(st.st_gid) ?? st.st_gid
        if let mode = options.mode, st.st_mode & S_IFMT != S_IFLNK { entry.mode = mode }
        if options.safeForHost { entry.mode &= ~UInt32(S_ISUID | S_ISGID) }
        if options.times {
            entry.mtimeSeconds = Int64(st.st_mtim.tv_sec)
            entry.mtimeNanoseconds = Int32(st.st_mtim.tv_nsec)
        }
        let type = st.st_mode & S_IFMT
        if type == S_IFCHR && st.st_rdev == 0 && options.whiteouts == .aufs {
            let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
            var marker = TarEntry(path: String(path[..<slash]) + ".wh." + name, kind: .regular, size: 0, mode: 0o644)
            marker.mtimeSeconds = entry.mtimeSeconds
            try writer.append(marker)
            return nil
        }
        if type != S_IFDIR && st.st_nlink > 1 {
            let key = UInt64(st.st_dev) << 40 ^ UInt64(st.st_ino)
            if let first = links[key] {
                entry.kind = .hardLink
                entry.linkTarget = first
                try writer.append(entry)
                return nil
            }
            links[key] = path
        }
        switch type {
        case S_IFDIR: return try directoryEntry(dirfd, name, path, &entry)
        case S_IFREG: try fileEntry(dirfd, name, path, &entry, size: Int64(st.st_size))
        case S_IFLNK:
            entry.kind = .symbolicLink
            entry.linkTarget = try readLink(dirfd, name, path)
            try writer.append(entry)
        case S_IFCHR, S_IFBLK:
            if options.safeForHost {
                leftOut.append(path)
                return nil
            }
            entry.kind = type == S_IFCHR ? .characterDevice : .blockDevice
            entry.deviceMajor = berth_major(UInt64(st.st_rdev))
            entry.deviceMinor = berth_minor(UInt64(st.st_rdev))
            try writer.append(entry)
        case S_IFIFO:
            entry.kind = .fifo
            try writer.append(entry)
        default:
            return nil  // sockets are not archived, as tar and Docker do
        }
        return nil
    }

    private mutating func directoryEntry(
        _ dirfd: Int32, _ name: String, _ path: String,
        _ entry: inout TarEntry
    ) throws(BerthError) -> OwnedDirectory? {
        let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw fail("open", path) }
        let dir = OwnedDirectory(owning: fd)
        entry.kind = .directory
        entry.path = path + "/"
        entry.xattrs = xattrs(fd)
        do { try writer.append(entry) } catch {
            dir.close()
            throw error
        }
        if recursive { return dir }
        dir.close()
        return nil
    }

    private func fileEntry(
        _ dirfd: Int32, _ name: String, _ path: String, _ entry: inout TarEntry,
        size: Int64
    ) throws(BerthError) {
        let fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw fail("open", path) }
        defer { close(fd) }
        entry.size = size
        entry.xattrs = xattrs(fd)
        try writer.begin(entry)
        var remaining = size
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while remaining > 0 {
            let n = ignoringEINTR {
                buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, Int(min(Int64($0.count), remaining))) }
            }
            guard n > 0 else {
                throw BerthError("archive \(root)/\(path): the file shrank while it was archived; try again")
            }
            try writer.writeContent(Array(buffer[0..<n]))
            remaining -= Int64(n)
        }
        try writer.end()
    }

    private func readLink(_ dirfd: Int32, _ name: String, _ path: String) throws(BerthError) -> String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = buffer.withUnsafeMutableBytes { raw in
            readlinkat(dirfd, name, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count - 1)
        }
        guard n >= 0 else { throw fail("readlink", path) }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }

    private func listNames(_ dirfd: Int32) -> [String] {
        let copy = dup(dirfd)
        guard let dir = fdopendir(copy) else { close(copy); return [] }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [String] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    private func isOpaque(_ fd: Int32) -> Bool {
        var value: UInt8 = 0
        return fgetxattr(fd, Rootless.opaqueXattr, &value, 1) == 1 && value == UInt8(ascii: "y")
    }

    /// xattrs worth keeping (overlay's own markers are not content).
    private func xattrs(_ fd: Int32) -> [String: [UInt8]] {
        var names = [CChar](repeating: 0, count: 65536)
        let size = flistxattr(fd, &names, names.count)
        guard size > 0 else { return [:] }
        var result: [String: [UInt8]] = [:]
        var start = 0
        for i in 0..<size where names[i] == 0 {
            let name = String(decoding: names[start..<i].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            start = i + 1
            if Rootless.isOverlayMarker(name) { continue }
            var value = [UInt8](repeating: 0, count: 65536)
            let len = fgetxattr(fd, name, &value, value.count)
            if len >= 0 { result[name] = Array(value[0..<len]) }
        }
        return result
    }
}

/// A directory descriptor the walk holds: closed by `close()` when the walk
/// opened it, left open when the caller lent it.
struct OwnedDirectory {
    let fd: Int32
    let owned: Bool

    init(owning fd: Int32) {
        self.fd = fd
        owned = true
    }

    init(borrowing fd: Int32) {
        self.fd = fd
        owned = false
    }

    func close() { if owned { Glibc.close(fd) } }
}
