#if canImport(Glibc)
import Glibc
#endif

/// `cp` between a container and the host, or a tar stream. Every path
/// inside the container is resolved with openat2 RESOLVE_IN_ROOT against the
/// container's root, so a symlink in the container (even one swapped in while
/// the copy runs) can never make Berth read or write a host path
/// (CVE-2018-15664). The root is seen with the container's mounts over it
/// (`ContainerMountView`): a path under a bind mount or a volume is the
/// mount's source, as it is for the container; resolution crosses into a
/// mount but never out of the container's root.
public struct ContainerCopy {
    public let lifecycle: Lifecycle
    /// `cp -L`: a symlink as SRC (and every one it leads through) is
    /// followed, inside the container's root for a container path; the copy
    /// keeps SRC's own name, as Docker's.
    public var followLink = false

    public init(lifecycle: Lifecycle) { self.lifecycle = lifecycle }

    /// Copies SRC from the container to DEST on the host (Docker's rules:
    /// into DEST if it is a directory, else as DEST). Without `archive` the
    /// files become the caller's, so nothing that would give privilege on
    /// the host comes out: setuid/setgid bits are cleared and device nodes
    /// left out (returned, for the caller to say so). Docker copies them;
    /// Berth does not let a container plant them.
    @discardableResult
    public func copyOut(_ ref: String, source: String, destination: String, archive: Bool) throws(BerthError)
        -> [String]
    {
        let c = try lifecycle.containers.find(ref)
        let (destDir, name) = try hostTarget(destination, sourceName: FileSystem.baseName(source))
        var leftOut: [String] = []
        var archiver = TreeArchiver(owner: archive ? nil : (getuid(), getgid()))
        archiver.safeForHost = !archive
        archiver.idMap = c.idMap  // -a: the owners the container sees
        let label = "\(c.name):\(source)"
        try withView(c) { (_, rootFD) throws(BerthError) in
            if source == "." || source.hasSuffix("/.") {
                // Docker's SRC/.: the directory's contents, into DEST (made if missing).
                let dir = try openDirectoryInContainer(rootFD, source, ref: ref, container: c.name)
                defer { dir.close() }
                let target = absolute(destination)
                // A file where the directory goes: refused before anything is read, the file kept.
                if !FileSystem.isDirectory(target) && FileSystem.exists(target) {
                    throw BerthError(
                        .conflict,
                        "cannot overwrite non-directory \"\(destination)\" with directory \"\(ref):\(source)\"; nothing was changed there"
                    )
                }
                let prefix = FileSystem.isDirectory(target) ? "" : name + "/"
                try TarTransfer.copy(layout: lifecycle.layout, label: "cp", into: destDir) { (writer) throws(BerthError) in
                    leftOut = try archiver.archive(directory: dir.rawValue, into: writer, prefix: prefix, label: label)
                }
                return
            }
            let followed = followLink ? try followInContainer(rootFD, source, ref: ref, container: c.name) : source
            let (parent, leaf) = try resolveInContainer(rootFD, followed, ref: ref, container: c.name)
            defer { parent.close() }
            try TarTransfer.copy(layout: lifecycle.layout, label: "cp", into: destDir) { (writer) throws(BerthError) in
                leftOut = try archiver.archive(entry: leaf, in: parent.rawValue, as: name, into: writer, label: label)
            }
        }
        return leftOut
    }

    /// The directory `source` (`DIR/.`, `/.` included) names inside the container, for `cp CTR:DIR/.`.
    private func openDirectoryInContainer(
        _ root: FileDescriptor, _ source: String, ref: String, container: String
    ) throws(BerthError) -> FileDescriptor {
        let path = source.dropLast(1)
        let clean = "/" + path.split(separator: "/").joined(separator: "/")
        do throws(Errno) {
            return try FileDescriptor.openInRoot(root, clean, O_RDONLY | O_DIRECTORY)
        } catch  where error == .ENOENT {
            throw BerthError(.notFound, "No such container:path: \(ref):\(source)")
        } catch  where error == .ENOTDIR {
            throw BerthError(.invalidArgument, "cp: \(ref):\(source) needs a directory before /., and \(clean) is not one")
        } catch {
            throw BerthError("Could not find the file \(source) in container \(container): \(error)")
        }
    }

    /// `cp CTR:SRC -`: writes SRC as a tar stream (its owners as they are in
    /// the container) into `sink`.
    public func copyOut(_ ref: String, source: String, to sink: any ByteSink) throws(BerthError) {
        let c = try lifecycle.containers.find(ref)
        try withView(c) { (_, rootFD) throws(BerthError) in
            let followed = followLink ? try followInContainer(rootFD, source, ref: ref, container: c.name) : source
            let (parent, leaf) = try resolveInContainer(rootFD, followed, ref: ref, container: c.name)
            defer { parent.close() }
            let writer = TarWriter(sink)
            let name = followLink ? FileSystem.baseName("/" + source.split(separator: "/").joined(separator: "/")) : leaf
            try TreeArchiver().archive(
                entry: leaf, in: parent.rawValue, as: name, into: writer, label: "\(c.name):\(source)")
            try writer.finish()
        }
    }

    /// Copies SRC from the host into the container at DEST.
    public func copyIn(_ ref: String, source: String, destination: String, archive: Bool) throws(BerthError) {
        var st = stat()
        if (followLink ? stat(source, &st) : lstat(source, &st)) != 0 {
            let error = Errno.current
            // Docker's CLI words it as Go's os.Lstat does.
            if error == .ENOENT { throw BerthError(.notFound, "lstat \(source): no such file or directory") }
            throw .syscall(followLink ? "stat" : "lstat", source, error)
        }
        // -L: the file the link leads to, copied under the link's name.
        let real = followLink ? try hostRealPath(source) : absolute(source)
        let c = try lifecycle.containers.find(ref)
        try withView(c) { (root, rootFD) throws(BerthError) in
            // Into DEST if it is a directory inside the container, else as DEST.
            let destDir = try? FileDescriptor.openInRoot(rootFD, destination, O_RDONLY | O_DIRECTORY)
            defer { destDir?.close() }
            if destDir == nil && (destination.hasSuffix("/") || destination.hasSuffix("/.")) {
                throw BerthError(
                    "cp: destination directory \(destination) does not exist in container \(c.name); create it first")
            }
            if let destDir {
                try ensureWritable(destDir, root: rootFD, c, ref: ref, path: destination)
            } else {
                // DEST's directory must exist, as Docker's daemon requires: a
                // copy never makes missing parents (nor slips past a read-only check).
                let parentPath = FileSystem.parent(of: destination.hasPrefix("/") ? destination : "/" + destination)
                guard let parent = try? FileDescriptor.openInRoot(rootFD, parentPath, O_RDONLY | O_DIRECTORY) else {
                    throw BerthError(.notFound, "Could not find the file \(parentPath) in container \(c.name)")
                }
                defer { parent.close() }
                try ensureWritable(parent, root: rootFD, c, ref: ref, path: destination)
            }
            let inside = destDir != nil ? join(destination, FileSystem.baseName(source)) : destination
            let srcParent = try openDirectory(FileSystem.parent(of: real))
            defer { srcParent.close() }
            let owner: (UInt32, UInt32)? = archive ? nil : (0, 0)
            do throws(BerthError) {
                let shown = "\(c.name):\(destination)"
                // A container with a map: written as its root, owners shifted to host ids.
                try asContainerRoot(c.idMap) { () throws(BerthError) in
                    try TarTransfer.copy(layout: lifecycle.layout, label: "cp", into: root, shownAs: shown, idMap: c.idMap) {
                        (writer) throws(BerthError) in
                        try TreeArchiver(owner: owner).archive(
                            entry: FileSystem.baseName(real), in: srcParent.rawValue,
                            as: String(inside.drop { $0 == "/" }), into: writer, label: source)
                    }
                }
            } catch {
                // Name the path as the user sees it, inside the container.
                var shown = error
                shown.message = error.message.split(separator: root, omittingEmptySubsequences: false)
                    .joined(separator: "\(c.name):")
                throw shown
            }
        }
    }

    /// `cp - CTR:DIR`: extracts the tar stream `source` (plain or gzip) into
    /// DIR, which must exist and be a directory. Its entries are confined to
    /// DIR by name and to the container's root through symlinks; the
    /// archive's owners are kept, as Docker's daemon keeps them.
    public func copyIn(_ ref: String, archive source: any ByteSource, directory: String) throws(BerthError) {
        let c = try lifecycle.containers.find(ref)
        try withView(c) { (root, rootFD) throws(BerthError) in
            guard let dir = try? FileDescriptor.openInRoot(rootFD, directory, O_RDONLY | O_DIRECTORY) else {
                throw BerthError(.invalidArgument, "destination \"\(ref):\(directory)\" must be a directory")
            }
            defer { dir.close() }
            try ensureWritable(dir, root: rootFD, c, ref: ref, path: directory)
            // DIR as the kernel resolved it inside the root, symlinks and all.
            guard let rootPath = FileSystem.readLink("/proc/self/fd/\(rootFD.rawValue)"),
                let dirPath = FileSystem.readLink("/proc/self/fd/\(dir.rawValue)"),
                dirPath == rootPath || dirPath.hasPrefix(rootPath == "/" ? "/" : rootPath + "/")
            else {
                throw BerthError("cp: cannot resolve \(ref):\(directory) inside the container's root; try again")
            }
            var extractor = LayerExtractor(noOverwriteDirNonDir: true)
            extractor.under = dirPath.dropFirst(rootPath.count).split(separator: "/").map(String.init)
            extractor.idMap = c.idMap
            do throws(BerthError) {
                _ = try asContainerRoot(c.idMap) { () throws(BerthError) in
                    try extractor.extract(from: source, name: "standard input", into: root)
                }
            } catch  where error.kind == .conflict {
                throw .conflict(
                    error.message.split(separator: root, omittingEmptySubsequences: false)
                        .joined(separator: "\(c.name):"))
            }
        }
    }

    /// Runs `body` with the container's root mounted (running or not) and
    /// its mounts over it; gives the root's path and a descriptor of it.
    private func withView(
        _ c: Container, _ body: (String, FileDescriptor) throws(BerthError) -> Void
    ) throws(BerthError) {
        try ContainerFiles(lifecycle: lifecycle).withRoot(c) { (root) throws(BerthError) in
            try ContainerMountView(layout: lifecycle.layout, container: c, rootfs: root).with { () throws(BerthError) in
                let rootFD = try openDirectory(root)
                defer { rootFD.close() }
                try body(root, rootFD)
            }
        }
    }

    /// Docker's refusals of a copy into a read-only mount or root.
    private func ensureWritable(
        _ dir: FileDescriptor, root: FileDescriptor, _ c: Container, ref: String, path: String
    ) throws(BerthError) {
        let placement = ContainerMountView.placement(of: dir, root: root)
        if placement.onMount && placement.readonly {
            throw BerthError(
                .permission,
                "mounted volume is marked read-only: \(ref):\(path) is on a read-only mount of the container; copy to a writable path"
            )
        }
        if !placement.onMount && c.readonlyRoot {
            throw BerthError(
                .permission,
                "container rootfs is marked read-only: \(ref) runs with --read-only; copy into one of its volumes")
        }
    }

    private func resolveInContainer(
        _ root: FileDescriptor, _ path: String, ref: String,
        container: String
    ) throws(BerthError) -> (FileDescriptor, String) {
        let clean = "/" + path.split(separator: "/").joined(separator: "/")
        let leaf = FileSystem.baseName(clean)
        guard clean != "/", leaf != "..", leaf != "." else {
            throw BerthError("cp: copying the whole root of \(container) is not supported; use 'berth export'")
        }
        do throws(Errno) {
            let parent = try FileDescriptor.openInRoot(root, FileSystem.parent(of: clean), O_RDONLY | O_DIRECTORY)
            var st = stat()
            guard fstatat(parent.rawValue, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                let error = Errno.current
                parent.close()
                throw error
            }
            return (parent, leaf)
        } catch  where error == .ENOENT || error == .ENOTDIR {
            throw BerthError(.notFound, "No such container:path: \(ref):\(path)")
        } catch {
            throw BerthError("Could not find the file \(path) in container \(container): \(error)")
        }
    }

    /// Where a copy out goes: into DEST when it is a directory (a symlink to
    /// one too, with or without a trailing slash, as Docker's), else as DEST
    /// in its directory. The directory is the user's host path with its
    /// symlinks resolved, as the extraction opens it without following one.
    private func hostTarget(_ dest: String, sourceName: String) throws(BerthError) -> (String, String) {
        let path = absolute(dest)
        if FileSystem.isDirectory(path) { return (try hostRealPath(path), sourceName) }
        let parent = FileSystem.parent(of: path)
        guard FileSystem.isDirectory(parent) else {
            throw BerthError("cp: destination directory \(parent) does not exist; create it first")
        }
        return (try hostRealPath(parent), FileSystem.baseName(path))
    }

    /// A host path with every symlink resolved (realpath(3)).
    private func hostRealPath(_ path: String) throws(BerthError) -> String {
        guard let resolved = realpath(absolute(path), nil) else { throw .syscall("realpath", path, .current) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `cp -L CTR:SRC`: SRC with the symlinks at its end followed, each
    /// resolved inside the container's root (40 at most, as the kernel).
    private func followInContainer(
        _ root: FileDescriptor, _ path: String, ref: String, container: String
    ) throws(BerthError) -> String {
        var current = "/" + path.split(separator: "/").joined(separator: "/")
        for _ in 0..<40 {
            let (parent, leaf) = try resolveInContainer(root, current, ref: ref, container: container)
            defer { parent.close() }
            var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX))
            let n = buffer.withUnsafeMutableBytes { raw in
                readlinkat(parent.rawValue, leaf, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
            }
            guard n > 0 else { return current }  // not a symlink
            let target = String(decoding: buffer[..<n], as: UTF8.self)
            let joined = target.hasPrefix("/") ? target : FileSystem.parent(of: current) + "/" + target
            current = "/" + joined.split(separator: "/").joined(separator: "/")
        }
        throw BerthError(
            .invalidArgument, "cp -L: \(ref):\(path): too many levels of symbolic links (ELOOP); give the target's path")
    }

    private func openDirectory(_ path: String) throws(BerthError) -> FileDescriptor {
        do { return try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY) } catch {
            throw .syscall("open", path, error)
        }
    }

    private func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        let cwd =
            getcwd(&buffer, buffer.count).map { _ in
                String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            } ?? "."
        return cwd + "/" + path
    }

    private func join(_ a: String, _ b: String) -> String { a.hasSuffix("/") ? a + b : a + "/" + b }
}
