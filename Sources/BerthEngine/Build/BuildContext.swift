#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// The build context: a directory held open by descriptor. Every source is
/// resolved inside it with openat2(RESOLVE_IN_ROOT), so a symlink in the
/// context, absolute or `../..`, resolves as if the context were `/` and
/// can never reach a host file; paths `.dockerignore` excludes do not exist
/// for COPY and ADD.
public final class BuildContext {
    /// The context directory.
    public let path: String
    let root: FileDescriptor
    /// `.dockerignore`'s patterns.
    public let ignore: IgnorePatterns
    /// Keep the files' owners (`COPY --from` an image); the context's files
    /// are otherwise root's, as Docker's CLI sends them.
    public var keepOwners = false

    public init(path: String, ignore: IgnorePatterns) throws(BerthError) {
        self.path = path
        self.ignore = ignore
        do { root = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY) } catch {
            throw .syscall("open build context", path, error, fix: "give a directory (or - for a tar on standard input)")
        }
    }

    deinit { root.close() }

    /// Reads `.dockerignore` from a context directory (none: no patterns).
    /// It is read inside the context like any source: a `.dockerignore`
    /// symlink never reads a host file, and only a regular file counts.
    public static func ignorePatterns(in directory: String) throws(BerthError) -> IgnorePatterns {
        let dir: FileDescriptor
        do { dir = try FileDescriptor.open(directory, O_RDONLY | O_DIRECTORY) } catch {
            throw .syscall("open build context", directory, error)
        }
        defer { dir.close() }
        guard let fd = try? FileDescriptor.openInRoot(dir, ".dockerignore", O_RDONLY | O_NONBLOCK) else {
            return IgnorePatterns()
        }
        defer { fd.close() }
        guard let st = try? fd.stat(), st.st_mode & S_IFMT == S_IFREG, st.st_size <= 16 << 20 else {
            throw .invalid("\(directory)/.dockerignore is not a regular file of at most 16MiB; make it one or remove it")
        }
        let bytes: [UInt8]
        do { bytes = try fd.readAll() } catch { throw .syscall("read", directory + "/.dockerignore", error) }
        return try IgnorePatterns(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// One source of a COPY or ADD, resolved.
    public struct Source {
        /// Path relative to the context root.
        public var relative: String
        public var isDirectory: Bool
    }

    /// Resolves a COPY/ADD source (after expansion): strips a leading `/`
    /// or `./`, refuses `..` out of the context, expands wildcards (which
    /// must match something), and refuses an excluded or missing path.
    public func resolve(_ source: String, instruction: String) throws(BerthError) -> [Source] {
        let cleaned = IgnorePatterns.clean("/" + source)
        let relative = String(cleaned.dropFirst())
        if IgnorePatterns.clean(source).hasPrefix("..") && !source.hasPrefix("/") {
            throw .invalid("\(instruction) failed: forbidden path outside the build context: \(source) ()")
        }
        let paths = Glob.hasMeta(relative) ? expand(relative) : [relative]
        if paths.isEmpty {
            throw .notFound(
                "\(instruction) failed: no source files were specified (\(source) matches nothing in the build context)")
        }
        var sources: [Source] = []
        for p in paths {
            guard p.isEmpty || !ignore.excludes(p), let st = statInRoot(p) else {
                throw .notFound(
                    "\(instruction) failed: file not found in build context or excluded by .dockerignore: stat \(source): file does not exist"
                )
            }
            sources.append(Source(relative: p, isDirectory: st.st_mode & S_IFMT == S_IFDIR))
        }
        return sources
    }

    /// stat of a path resolved inside the context (symlinks followed, confined).
    func statInRoot(_ relative: String) -> stat? {
        guard let fd = try? FileDescriptor.openInRoot(root, relative.isEmpty ? "." : relative, O_RDONLY | O_NONBLOCK) else {
            return nil
        }
        defer { fd.close() }
        return try? fd.stat()
    }

    /// Every context path matching a wildcard pattern, one component at a time.
    private func expand(_ pattern: String) -> [String] {
        var matches = [""]
        for component in pattern.split(separator: "/").map(String.init) {
            var next: [String] = []
            for base in matches {
                if !Glob.hasMeta(component) {
                    next.append(base.isEmpty ? component : base + "/" + component)
                    continue
                }
                for name in list(base) where Glob.match(component, name) {
                    let p = base.isEmpty ? name : base + "/" + name
                    if !ignore.excludes(p) { next.append(p) }
                }
            }
            matches = next
        }
        return matches.filter { statInRoot($0) != nil }.sorted()
    }

    private func list(_ relative: String) -> [String] {
        guard let fd = try? FileDescriptor.openInRoot(root, relative.isEmpty ? "." : relative, O_RDONLY | O_DIRECTORY)
        else { return [] }
        let copy = dup(fd.rawValue)
        fd.close()
        guard let dir = fdopendir(copy) else {
            close(copy)
            return []
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Writes a source into a tar: a file as `target`, a directory's
    /// contents below `target/` (and the directory itself as `target/` when
    /// `withTop`). Excluded paths are left out; owner and mode overridden
    /// when given; no times when hashing.
    public func archive(
        _ source: Source, as target: String, into writer: TarWriter, owner: (UInt32, UInt32)?,
        mode: UInt32?, times: Bool = true, withTop: Bool = true
    ) throws(BerthError) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.openInRoot(root, source.relative.isEmpty ? "." : source.relative, O_RDONLY | O_NONBLOCK)
        } catch {
            throw .syscall("open", path + "/" + source.relative, error)
        }
        defer { fd.close() }
        let st: stat
        do { st = try fd.stat() } catch { throw .syscall("stat", path + "/" + source.relative, error) }
        var archiver = TreeArchiver(owner: owner.map { (uid: $0.0, gid: $0.1) } ?? (keepOwners ? nil : (0, 0)))
        archiver.mode = mode
        archiver.times = times
        if st.st_mode & S_IFMT != S_IFDIR {
            try writeFile(fd, st, as: target, into: writer, owner: owner, mode: mode, times: times, label: source.relative)
            return
        }
        let prefix = target.isEmpty ? "" : target + "/"
        if withTop && !target.isEmpty {
            var top = TarEntry(path: prefix, kind: .directory, mode: mode ?? UInt32(st.st_mode & 0o7777))
            top.uid = owner?.0 ?? (keepOwners ? st.st_uid : 0)
            top.gid = owner?.1 ?? (keepOwners ? st.st_gid : 0)
            if times { top.mtimeSeconds = Int64(st.st_mtim.tv_sec) }
            try writer.append(top)
        }
        if !ignore.isEmpty {
            let ignore = self.ignore
            let base = source.relative.isEmpty ? "" : source.relative + "/"
            let descend = ignore.hasExceptions
            archiver.include = { (written: String, _: Bool) -> TreeArchiver.Inclusion in
                let inContext = base + String(written.dropFirst(prefix.count))
                if !ignore.excludes(inContext) { return .include }
                return descend ? .descend : .skip
            }
        }
        try archiver.archive(directory: fd.rawValue, into: writer, prefix: prefix, label: path + "/" + source.relative)
    }

    private func writeFile(
        _ fd: FileDescriptor, _ st: stat, as target: String, into writer: TarWriter, owner: (UInt32, UInt32)?,
        mode: UInt32?, times: Bool, label: String
    ) throws(BerthError) {
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw .invalid("COPY failed: \(label) is not a regular file or directory; only those can be copied")
        }
        var entry = TarEntry(path: target, kind: .regular, size: Int64(st.st_size), mode: mode ?? UInt32(st.st_mode & 0o7777))
        entry.uid = owner?.0 ?? (keepOwners ? st.st_uid : 0)
        entry.gid = owner?.1 ?? (keepOwners ? st.st_gid : 0)
        if times {
            entry.mtimeSeconds = Int64(st.st_mtim.tv_sec)
            entry.mtimeNanoseconds = Int32(st.st_mtim.tv_nsec)
        }
        try writer.begin(entry)
        var remaining = Int64(st.st_size)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while remaining > 0 {
            let n = ignoringEINTR {
                buffer.withUnsafeMutableBytes { read(fd.rawValue, $0.baseAddress, Int(min(Int64($0.count), remaining))) }
            }
            guard n > 0 else { throw BerthError("COPY failed: \(path)/\(label) shrank while it was read; try again") }
            try writer.writeContent(Array(buffer[0..<n]))
            remaining -= Int64(n)
        }
        try writer.end()
    }

    /// Whether a regular file is a tar archive, plain or gzip (by content,
    /// as Docker's ADD decides: the name does not matter).
    /// bzip2 and xz, which Docker unpacks but Berth cannot decompress, are
    /// refused rather than copied as they are (a different image).
    func isArchive(_ source: Source) throws(BerthError) -> Bool {
        if let fd = try? FileDescriptor.openInRoot(root, source.relative, O_RDONLY | O_NONBLOCK) {
            let head = (try? FileSource(descriptor: fd, name: source.relative).peek(6)) ?? []
            let xz: [UInt8] = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]
            let bzip2 = head.count == 6 && head.starts(with: [0x42, 0x5a, 0x68]) && (0x31...0x39).contains(head[3])
            if head == xz || bzip2 {
                throw .unavailable(
                    "ADD \(source.relative): \(bzip2 ? "bzip2" : "xz")-compressed archives are not supported (Berth has no decompressor for them); decompress it to a plain or gzip tar first, or COPY it to keep it compressed"
                )
            }
        }
        guard let stream = try? openStream(source) else { return false }
        var block = [UInt8](repeating: 0, count: 512)
        var got = 0
        while got < 512 {
            let n =
                (try? block.withUnsafeMutableBytes { (raw) throws(BerthError) -> Int in
                    try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[got...]))
                }) ?? 0
            if n <= 0 { break }
            got += n
        }
        return got == 512 && Array(block[257..<262]) == Array("ustar".utf8)
    }

    private func openStream(_ source: Source) throws(BerthError) -> any ByteSource {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.openInRoot(root, source.relative, O_RDONLY | O_NONBLOCK) } catch {
            throw .syscall("open", path + "/" + source.relative, error)
        }
        return try ArchiveInput.decompressing(FileSource(descriptor: fd, name: source.relative), name: source.relative)
    }

    /// ADD of a local archive: its entries, moved below `target`, into `writer`.
    /// `owner` (ADD --chown) applies to every unpacked entry, as BuildKit does.
    func unpack(_ source: Source, into target: String, writer: TarWriter, owner: (UInt32, UInt32)?) throws(BerthError) {
        let reader = TarReader(try openStream(source), name: source.relative)
        let prefix = target.isEmpty ? "" : target + "/"
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while var entry = try reader.next() {
            let clean = IgnorePatterns.clean("/" + entry.path)
            entry.path = prefix + String(clean.dropFirst()) + (entry.kind == .directory ? "/" : "")
            if entry.path == "/" || entry.path.isEmpty { continue }
            if let owner {
                entry.uid = owner.0
                entry.gid = owner.1
            }
            if entry.kind == .hardLink {
                entry.linkTarget = prefix + String(IgnorePatterns.clean("/" + entry.linkTarget).dropFirst())
            }
            guard entry.kind == .regular else {
                try writer.append(entry)
                continue
            }
            try writer.begin(entry)
            while true {
                let n = try reader.readContent(into: buffer)
                if n == 0 { break }
                try writer.writeContent(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
            try writer.end()
        }
    }

    /// The checksum Docker's cache compares for COPY/ADD sources: content
    /// and metadata (mode, type, links), not times, not owner.
    public func checksum(_ sources: [Source]) throws(BerthError) -> String {
        var parts: [String] = []
        for s in sources {
            let sink = HashingSink()
            let writer = TarWriter(sink)
            try archive(
                s, as: s.isDirectory ? "" : FileSystem.baseName("/" + s.relative), into: writer, owner: (0, 0), mode: nil,
                times: false)
            try writer.finish()
            parts.append((s.isDirectory ? "dir:" : "file:") + Digest.hex(sink.digest))
        }
        if parts.count == 1 { return parts[0] }
        return "multi:" + Digest.hex(Digest.sha256(Array(parts.joined(separator: ",").utf8)))
    }

    /// The size of the tar Docker's CLI would send: a header per entry and
    /// content in 512-byte blocks, from `stat` alone (nothing is read).
    public func transferSize() -> Int64 {
        var total: Int64 = 1024
        walkSizes("", &total)
        return total
    }

    private func walkSizes(_ relative: String, _ total: inout Int64) {
        for name in list(relative) {
            let p = relative.isEmpty ? name : relative + "/" + name
            let excluded = ignore.excludes(p)
            var st = stat()
            guard let dir = try? FileDescriptor.openInRoot(root, relative.isEmpty ? "." : relative, O_RDONLY | O_DIRECTORY)
            else { continue }
            let ok = fstatat(dir.rawValue, name, &st, AT_SYMLINK_NOFOLLOW) == 0
            dir.close()
            guard ok else { continue }
            let isDir = st.st_mode & S_IFMT == S_IFDIR
            if !excluded {
                total += 512
                if st.st_mode & S_IFMT == S_IFREG { total += (Int64(st.st_size) + 511) / 512 * 512 }
            }
            if isDir && (!excluded || ignore.hasExceptions) { walkSizes(p, &total) }
        }
    }
}
