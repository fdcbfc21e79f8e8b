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
    /// Write every entry with these permission bits (`COPY --chmod`).
    public var mode: UInt32?
    /// Whether modification times are written (a build's content checksum
    /// leaves them out, as Docker's does, so `touch` keeps the cache).
    public var times = true
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
        try walker.directory(fd, prefix)
    }

    /// Archives one directory fd's contents (for `cp` from a resolved path).
    public func archive(directory fd: Int32, into writer: TarWriter, prefix: String, label: String) throws(BerthError) {
        var walker = Walk(writer: writer, options: self, root: label)
        try walker.directory(fd, prefix)
    }

    /// Archives one entry of a directory fd (a file, link or directory with its tree).
    /// With `recursive` false a directory is written without its contents.
    public func archive(
        entry name: String, in dirfd: Int32, as path: String, into writer: TarWriter,
        label: String, recursive: Bool = true
    ) throws(BerthError) {
        var walker = Walk(writer: writer, options: self, root: label)
        walker.recursive = recursive
        try walker.entry(dirfd, name, path)
    }
}

private struct Walk {
    let writer: TarWriter
    let options: TreeArchiver
    let root: String
    var links: [UInt64: String] = [:]
    var recursive = true

    init(writer: TarWriter, options: TreeArchiver, root: String) {
        self.writer = writer
        self.options = options
        self.root = root
    }

    func fail(_ call: String, _ path: String) -> BerthError {
        .syscall(call, root + "/" + path, .current, fix: "the file may have changed while it was archived; try again")
    }

    mutating func directory(_ dirfd: Int32, _ prefix: String) throws(BerthError) {
        let names = listNames(dirfd)
        if options.whiteouts == .aufs, isOpaque(dirfd) {
            var marker = TarEntry(path: prefix + ".wh..wh..opq", kind: .regular, size: 0, mode: 0o644)
            marker.mtimeSeconds = 0
            try writer.append(marker)
        }
        for name in names {
            let path = prefix + name
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
                        defer { close(fd) }
                        try directory(fd, path + "/")
                    }
                    continue
                }
            }
            try entry(dirfd, name, path)
        }
    }

    mutating func entry(_ dirfd: Int32, _ name: String, _ path: String) throws(BerthError) {
        var st = stat()
        guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }  // deleted while we walked: Docker skips it too
            throw fail("lstat", path)
        }
        var entry = TarEntry(path: path, kind: .regular, mode: UInt32(st.st_mode & 0o7777))
        entry.uid = options.owner?.uid ?? st.st_uid
        entry.gid = options.owner?.gid ?? st.st_gid
        if let mode = options.mode, st.st_mode & S_IFMT != S_IFLNK { entry.mode = mode }
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
            return
        }
        if type != S_IFDIR && st.st_nlink > 1 {
            let key = UInt64(st.st_dev) << 40 ^ UInt64(st.st_ino)
            if let first = links[key] {
                entry.kind = .hardLink
                entry.linkTarget = first
                try writer.append(entry)
                return
            }
            links[key] = path
        }
        switch type {
        case S_IFDIR: try directoryEntry(dirfd, name, path, &entry)
        case S_IFREG: try fileEntry(dirfd, name, path, &entry, size: Int64(st.st_size))
        case S_IFLNK:
            entry.kind = .symbolicLink
            entry.linkTarget = try readLink(dirfd, name, path)
            try writer.append(entry)
        case S_IFCHR, S_IFBLK:
            entry.kind = type == S_IFCHR ? .characterDevice : .blockDevice
            entry.deviceMajor = berth_major(UInt64(st.st_rdev))
            entry.deviceMinor = berth_minor(UInt64(st.st_rdev))
            try writer.append(entry)
        case S_IFIFO:
            entry.kind = .fifo
            try writer.append(entry)
        default:
            return  // sockets are not archived, as tar and Docker do
        }
    }

    private mutating func directoryEntry(
        _ dirfd: Int32, _ name: String, _ path: String,
        _ entry: inout TarEntry
    ) throws(BerthError) {
        let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw fail("open", path) }
        defer { close(fd) }
        entry.kind = .directory
        entry.path = path + "/"
        entry.xattrs = xattrs(fd)
        try writer.append(entry)
        if recursive { try directory(fd, path + "/") }
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
        return fgetxattr(fd, "trusted.overlay.opaque", &value, 1) == 1 && value == UInt8(ascii: "y")
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
            if name.hasPrefix("trusted.overlay.") { continue }
            var value = [UInt8](repeating: 0, count: 65536)
            let len = fgetxattr(fd, name, &value, value.count)
            if len >= 0 { result[name] = Array(value[0..<len]) }
        }
        return result
    }
}
