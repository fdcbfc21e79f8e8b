#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import CBerthLinux

/// Extracts a layer tarball into an empty directory, safely.
///
/// Every parent directory is resolved with openat2(RESOLVE_IN_ROOT) on a
/// descriptor of the destination and the last component is created with
/// `*at` calls that never follow it, so no entry name, symlink or hard link
/// in the archive can write outside the destination. Names are cleaned as
/// GNU tar does (a leading `/` lands inside the root) and a `..` that climbs
/// above the root is refused.
///
/// On error the destination is left half-written: callers extract into a
/// staging directory, delete it on failure and rename it on success.
public struct LayerExtractor {
    /// What an extraction produced.
    public struct Summary: Sendable, Equatable {
        /// `sha256:<hex>` of the whole uncompressed tar stream: the OCI diff ID.
        public var diffID: String
        /// Length of the uncompressed tar stream in bytes.
        public var uncompressedSize: Int64
        /// Number of entries in the archive (after extended headers are folded in).
        public var entryCount: Int
    }

    /// Convert Docker/OCI whiteouts (`.wh.NAME`, `.wh..wh..opq`) to the
    /// overlayfs form (a 0:0 character device; `trusted.overlay.opaque=y`).
    public var convertWhiteouts: Bool

    /// Refuse to replace a directory with a non-directory or the reverse
    /// (`cp`, as Docker's NoOverwriteDirNonDir): a layer may replace what is
    /// there, a copy into the user's files must not delete them.
    public var noOverwriteDirNonDir: Bool

    /// Where inside the destination the archive's root goes (`cp - CTR:DIR`:
    /// DIR's components). Entries and hard link targets are cleaned first,
    /// so one that climbs out of DIR is refused, and then resolved in the
    /// destination like any other: a symlink on the way stays inside it.
    public var under: [String] = []

    /// The archive's owners are a user namespace's ids (`cp` into a
    /// container with a map): each is written as its host id.
    public var idMap: IDMap?

    /// An extractor; `convertWhiteouts` is for layers that overlayfs will stack.
    public init(convertWhiteouts: Bool = false, noOverwriteDirNonDir: Bool = false) {
        self.convertWhiteouts = convertWhiteouts
        self.noOverwriteDirNonDir = noOverwriteDirNonDir
    }

    /// Extracts the archive at `path` (`-` = standard input; plain or gzip)
    /// into the existing directory `destination`.
    public func extract(archive path: String, into destination: String) throws(BerthError) -> Summary {
        try extract(from: try ArchiveInput.open(path: path), name: path == "-" ? "standard input" : path, into: destination)
    }

    /// Extracts the uncompressed tar stream `source` into `destination`;
    /// `name` is what error messages call the archive.
    public func extract(from source: any ByteSource, name: String, into destination: String) throws(BerthError) -> Summary {
        let root = try ExtractionRoot(path: destination, archive: name)
        let hashing = HashingSource(source)
        let reader = TarReader(hashing, name: name)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        var directoryTimes: [[String]: (Int64, Int32)] = [:]
        var directoryOrder: [[String]] = []
        var count = 0
        while var entry = try reader.next() {
            if let map = idMap {
                entry.uid = map.hostUID(entry.uid) ?? entry.uid
                entry.gid = map.hostGID(entry.gid) ?? entry.gid
            }
            try Interruption.check()  // Ctrl-C in the REPL: fail like a bad archive, which cleans up
            count += 1
            let components: [String]
            switch ArchivePath.clean(entry.path) {
            case .inside(let parts): components = under + parts
            case .escapes: throw unsafe(entry.path, "escapes the layer root", name)
            case .invalid: throw unsafe(entry.path, "contains a NUL byte", name)
            }
            if let kept = try extractEntry(entry, components, root: root, reader: reader, buffer: buffer, name: name) {
                if directoryTimes.updateValue(kept, forKey: components) == nil { directoryOrder.append(components) }
            }
        }
        try hashing.drainToEnd()
        // Directory times last: creating the entries inside a directory
        // changed its mtime after its own entry was applied.
        for components in directoryOrder {
            let (seconds, nanos) = directoryTimes[components]!
            guard let dir = try? root.open(components[...], O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else { continue }
            defer { dir.close() }
            var times = [
                timespec(tv_sec: Int(seconds), tv_nsec: Int(nanos)), timespec(tv_sec: Int(seconds), tv_nsec: Int(nanos)),
            ]
            if futimens(dir.rawValue, &times) != 0 {
                throw root.failure(
                    "futimens", components.joined(separator: "/"), entry: components.joined(separator: "/"), .current)
            }
        }
        return Summary(diffID: hashing.digest, uncompressedSize: hashing.byteCount, entryCount: count)
    }

    /// Creates one entry; returns its mtime if it is a directory whose time
    /// must be applied at the end.
    private func extractEntry(
        _ entry: TarEntry, _ components: [String], root: ExtractionRoot, reader: TarReader,
        buffer: UnsafeMutableRawBufferPointer, name: String
    ) throws(BerthError) -> (Int64, Int32)? {
        let label = entry.path
        guard let leaf = components.last else {
            // "." or "./": the layer root itself.
            guard entry.kind == .directory else {
                throw BerthError(
                    "extract \(name): archive entry \"\(label)\" would replace the layer root with a "
                        + "non-directory; refusing an unsafe archive")
            }
            try root.setOwnerModeXattrs(root.fd, entry, name: label)
            return (entry.mtimeSeconds, entry.mtimeNanoseconds)
        }
        let parent = try root.directory(components.dropLast(), entry: label)
        defer { parent.close() }

        if convertWhiteouts && leaf.hasPrefix(".wh.") {
            try whiteout(entry, leaf: leaf, parent: parent, root: root, label: label)
            return nil
        }
        if entry.kind == .hardLink {
            try hardLink(entry, components, leaf: leaf, parent: parent, root: root, name: name)
            return nil
        }
        // A concurrent writer of the same destination (two `cp` into one new
        // directory) may create the leaf between clear and create: the
        // creation's EEXIST means "clear again", so the copies merge, the
        // last one's file winning, as two Docker copies do.
        var attempt = 0
        while true {
            let keptDirectory = try root.clear(
                leaf, in: parent, keepDirectory: entry.kind == .directory, entry: label,
                refuseTypeChange: noOverwriteDirNonDir)
            do {
                return try create(
                    entry, leaf: leaf, parent: parent, keptDirectory: keptDirectory, root: root, reader: reader,
                    buffer: buffer, name: name)
            } catch  where (error.errno == .EEXIST || (error.errno == .ENOENT && entry.kind != .regular)) && attempt < 5 {
                // EEXIST: created by the other writer first. ENOENT (not a
                // regular file, whose content is read once): replaced by it
                // between our create and our chown or utimes.
                attempt += 1
            }
        }
    }

    /// Creates the entry at `leaf`, which `clear` has just made free (or kept, a directory).
    private func create(
        _ entry: TarEntry, leaf: String, parent: FileDescriptor, keptDirectory: Bool, root: ExtractionRoot,
        reader: TarReader, buffer: UnsafeMutableRawBufferPointer, name: String
    ) throws(BerthError) -> (Int64, Int32)? {
        let label = entry.path
        switch entry.kind {
        case .directory:
            if !keptDirectory && mkdirat(parent.rawValue, leaf, 0o700) != 0 {
                throw root.failure("mkdirat", label, entry: label, .current)
            }
            let dir = try openLeaf(leaf, parent, O_RDONLY | O_DIRECTORY, root: root, label: label)
            defer { dir.close() }
            try root.setOwnerModeXattrs(dir, entry, name: label)
            return (entry.mtimeSeconds, entry.mtimeNanoseconds)
        case .regular:
            try writeRegular(entry, leaf: leaf, parent: parent, root: root, reader: reader, buffer: buffer)
        case .symbolicLink:
            try makeSymlink(entry, leaf: leaf, parent: parent, root: root, name: name)
        case .characterDevice, .blockDevice, .fifo:
            try makeNode(entry, leaf: leaf, parent: parent, root: root)
        case .hardLink:
            break
        }
        return nil
    }

    /// A regular file: created new (O_EXCL) in the staging tree, filled, then owner, mode, xattrs and time.
    private func writeRegular(
        _ entry: TarEntry, leaf: String, parent: FileDescriptor, root: ExtractionRoot,
        reader: TarReader, buffer: UnsafeMutableRawBufferPointer
    ) throws(BerthError) {
        let label = entry.path
        let file = try openLeaf(leaf, parent, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600, root: root, label: label)
        defer { file.close() }
        while true {
            let n = try reader.readContent(into: buffer)
            if n == 0 { break }
            do {
                try file.writeAll(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            } catch {
                throw root.failure("write", label, entry: label, error)
            }
        }
        try root.setOwnerModeXattrs(file, entry, name: label)
        // On the descriptor, not the name: a concurrent copy to the same
        // path may already have replaced the name (its file then stands).
        var times = [
            timespec(tv_sec: Int(entry.mtimeSeconds), tv_nsec: Int(entry.mtimeNanoseconds)),
            timespec(tv_sec: Int(entry.mtimeSeconds), tv_nsec: Int(entry.mtimeNanoseconds)),
        ]
        if futimens(file.rawValue, &times) != 0 { throw root.failure("futimens", label, entry: label, .current) }
    }

    /// A symbolic link, its target taken as written (it is never followed here).
    private func makeSymlink(
        _ entry: TarEntry, leaf: String, parent: FileDescriptor, root: ExtractionRoot,
        name: String
    ) throws(BerthError) {
        let label = entry.path
        if entry.linkTarget.utf8.contains(0) { throw unsafe(label, "has a link target with a NUL byte", name) }
        if symlinkat(entry.linkTarget, parent.rawValue, leaf) != 0 {
            throw root.failure("symlinkat", label, entry: label, .current)
        }
        if fchownat(parent.rawValue, leaf, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) != 0 {
            throw root.failure("lchown", label, entry: label, .current)
        }
        // No chmod (Linux ignores symlink modes) and no xattrs (user.*
        // xattrs are not allowed on symlinks).
        try root.setTimes(entry.mtimeSeconds, entry.mtimeNanoseconds, leaf: leaf, in: parent, name: label)
    }

    /// A character or block device node, or a FIFO.
    private func makeNode(_ entry: TarEntry, leaf: String, parent: FileDescriptor, root: ExtractionRoot) throws(BerthError) {
        let label = entry.path
        let type: mode_t = entry.kind == .fifo ? S_IFIFO : entry.kind == .blockDevice ? S_IFBLK : S_IFCHR
        let device = entry.kind == .fifo ? 0 : berth_makedev(entry.deviceMajor, entry.deviceMinor)
        if mknodat(parent.rawValue, leaf, type | 0o600, dev_t(device)) != 0 {
            throw root.failure("mknodat", label, entry: label, .current)
        }
        if fchownat(parent.rawValue, leaf, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) != 0 {
            throw root.failure("lchown", label, entry: label, .current)
        }
        // fchmodat follows a symlink at the leaf, but the leaf is the
        // node mknodat just made in our private staging directory, and
        // Linux has no lchmod for anything else.
        if fchmodat(parent.rawValue, leaf, mode_t(entry.mode & 0o7777), 0) != 0 {
            throw root.failure("fchmodat", label, entry: label, .current)
        }
        try root.setXattrs(entry, leaf: leaf, in: parent, name: label)
        try root.setTimes(entry.mtimeSeconds, entry.mtimeNanoseconds, leaf: leaf, in: parent, name: label)
    }

    /// A hard link: the target is an archive path, cleaned and resolved in
    /// the root like any entry, and linked without following a symlink.
    private func hardLink(
        _ entry: TarEntry, _ components: [String], leaf: String, parent: FileDescriptor,
        root: ExtractionRoot, name: String
    ) throws(BerthError) {
        let label = entry.path
        let target: [String]
        switch ArchivePath.clean(entry.linkTarget) {
        case .inside(let parts) where !parts.isEmpty: target = under + parts
        case .inside: throw unsafe(label, "is a hard link to the layer root", name)
        case .escapes: throw unsafe(label, "links to \"\(entry.linkTarget)\", which escapes the layer root", name)
        case .invalid: throw unsafe(label, "has a link target with a NUL byte", name)
        }
        let missing = BerthError(
            "extract \(name): archive entry \"\(label)\" is a hard link to \"\(entry.linkTarget)\", "
                + "which is not in the layer; refusing an inconsistent archive")
        let targetParent: FileDescriptor
        do {
            targetParent = try root.open(target.dropLast()[...], berth_o_path() | O_DIRECTORY)
        } catch  where error == .ENOENT || error == .ENOTDIR {
            throw missing
        } catch {
            throw root.failure("resolve hard link target", entry.linkTarget, entry: label, error)
        }
        defer { targetParent.close() }
        var st = stat()
        if fstatat(targetParent.rawValue, target.last!, &st, AT_SYMLINK_NOFOLLOW) != 0 { throw missing }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw unsafe(label, "is a hard link to the directory \"\(entry.linkTarget)\"", name)
        }
        if target == components { return }  // a link to itself: already there
        _ = try root.clear(leaf, in: parent, keepDirectory: false, entry: label, refuseTypeChange: noOverwriteDirNonDir)
        // flags 0, not AT_SYMLINK_FOLLOW: a link to a symlink links the symlink.
        if linkat(targetParent.rawValue, target.last!, parent.rawValue, leaf, 0) != 0 {
            throw root.failure("linkat \"\(entry.linkTarget)\" to", label, entry: label, .current)
        }
    }

    /// Overlayfs whiteouts: `.wh..wh..opq` marks its directory opaque, and
    /// `.wh.NAME` becomes a 0:0 character device named NAME.
    private func whiteout(
        _ entry: TarEntry, leaf: String, parent: FileDescriptor, root: ExtractionRoot,
        label: String
    ) throws(BerthError) {
        if leaf == ".wh..wh..opq" {
            // fsetxattr needs a real descriptor, not the O_PATH one; "." on the
            // already-resolved parent reopens that same directory.
            let dir = try openLeaf(".", parent, O_RDONLY | O_DIRECTORY, root: root, label: label)
            defer { dir.close() }
            if fsetxattr(dir.rawValue, Rootless.opaqueXattr, "y", 1, 0) != 0 {
                throw root.failure("fsetxattr \(Rootless.opaqueXattr) on the directory of", label, entry: label, .current)
            }
            return
        }
        // Other ".wh..wh." names are AUFS bookkeeping (.wh..wh.plnk,
        // .wh..wh.aufs); Docker drops them too.
        if leaf.hasPrefix(".wh..wh.") { return }
        let hidden = String(leaf.dropFirst(4))
        _ = try root.clear(hidden, in: parent, keepDirectory: false, entry: label)
        if mknodat(parent.rawValue, hidden, S_IFCHR | 0o600, dev_t(berth_makedev(0, 0))) != 0 {
            throw root.failure("mknodat whiteout", label, entry: label, .current)
        }
        // The marker's time, not the time of extraction: the layer's
        // canonical tar (and so its diff ID) must not depend on when it was
        // unpacked, or a saved and loaded layer would get a new digest.
        try root.setTimes(entry.mtimeSeconds, entry.mtimeNanoseconds, leaf: hidden, in: parent, name: label)
    }

    private func openLeaf(
        _ leaf: String, _ parent: FileDescriptor, _ flags: Int32, mode: mode_t = 0,
        root: ExtractionRoot, label: String
    ) throws(BerthError) -> FileDescriptor {
        do {
            return try FileDescriptor.open(leaf, flags | O_NOFOLLOW, mode: mode, relativeTo: parent)
        } catch {
            throw root.failure("openat", label, entry: label, error)
        }
    }

    private func unsafe(_ entry: String, _ problem: String, _ name: String) -> BerthError {
        BerthError("extract \(name): archive entry \"\(entry)\" \(problem); refusing an unsafe archive")
    }
}
