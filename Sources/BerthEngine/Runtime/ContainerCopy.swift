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
            let (parent, leaf) = try resolveInContainer(rootFD, source, ref: ref, container: c.name)
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
            let (parent, leaf) = try resolveInContainer(rootFD, source, ref: ref, container: c.name)
            defer { parent.close() }
            let writer = TarWriter(sink)
            try TreeArchiver().archive(
                entry: leaf, in: parent.rawValue, as: leaf, into: writer, label: "\(c.name):\(source)")
            try writer.finish()
        }
    }

    /// Copies SRC from the host into the container at DEST.
    public func copyIn(_ ref: String, source: String, destination: String, archive: Bool) throws(BerthError) {
        var st = stat()
        if lstat(source, &st) != 0 {
            let error = Errno.current
            // Docker's CLI words it as Go's os.Lstat does.
            if error == .ENOENT { throw BerthError(.notFound, "lstat \(source): no such file or directory") }
            throw .syscall("lstat", source, error)
        }
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
            let srcParent = try openDirectory(FileSystem.parent(of: absolute(source)))
            defer { srcParent.close() }
            let owner: (UInt32, UInt32)? = archive ? nil : (0, 0)
            do throws(BerthError) {
                // A container with a map: written as its root, owners shifted to host ids.
                try asContainerRoot(c.idMap) { () throws(BerthError) in
                    try TarTransfer.copy(layout: lifecycle.layout, label: "cp", into: root, idMap: c.idMap) {
                        (writer) throws(BerthError) in
                        try TreeArchiver(owner: owner).archive(
                            entry: FileSystem.baseName(source), in: srcParent.rawValue,
                            as: String(inside.drop { $0 == "/" }), into: writer, label: source)
                    }
                }
            } catch  where error.kind == .conflict {
                // Name the path as the user sees it, inside the container.
                throw .conflict(
                    error.message.split(separator: root, omittingEmptySubsequences: false)
                        .joined(separator: "\(c.name):"))
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

    private func hostTarget(_ dest: String, sourceName: String) throws(BerthError) -> (String, String) {
        let path = absolute(dest)
        if FileSystem.isDirectory(path) { return (path, sourceName) }
        let parent = FileSystem.parent(of: path)
        guard FileSystem.isDirectory(parent) else {
            throw BerthError("cp: destination directory \(parent) does not exist; create it first")
        }
        return (parent, FileSystem.baseName(path))
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
