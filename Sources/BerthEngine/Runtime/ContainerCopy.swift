#if canImport(Glibc)
import Glibc
#endif

/// `cp` between a container and the host. Every path inside the container is
/// resolved with openat2 RESOLVE_IN_ROOT against the container's root, so a
/// symlink in the container — even one swapped in while the copy runs — can
/// never make Berth read or write a host path (CVE-2018-15664).
public struct ContainerCopy {
    public let lifecycle: Lifecycle

    public init(lifecycle: Lifecycle) { self.lifecycle = lifecycle }

    /// Copies SRC from the container to DEST on the host (Docker's rules:
    /// into DEST if it is a directory, else as DEST).
    public func copyOut(_ ref: String, source: String, destination: String, archive: Bool) throws(BerthError) {
        let c = try lifecycle.containers.find(ref)
        let (destDir, name) = try hostTarget(destination, sourceName: FileSystem.baseName(source))
        try ContainerFiles(lifecycle: lifecycle).withRoot(c) { (root) throws(BerthError) in
            let rootFD = try openDirectory(root)
            defer { rootFD.close() }
            let (parent, leaf) = try resolveInContainer(rootFD, source, container: c.name)
            defer { parent.close() }
            let owner = archive ? nil : (getuid(), getgid())
            try TarTransfer.copy(layout: lifecycle.layout, label: "cp", into: destDir) { (writer) throws(BerthError) in
                try TreeArchiver(owner: owner).archive(
                    entry: leaf, in: parent.rawValue, as: name, into: writer,
                    label: "\(c.name):\(source)")
            }
        }
    }

    /// Copies SRC from the host into the container at DEST.
    public func copyIn(_ ref: String, source: String, destination: String, archive: Bool) throws(BerthError) {
        let c = try lifecycle.containers.find(ref)
        try ContainerFiles(lifecycle: lifecycle).withRoot(c) { (root) throws(BerthError) in
            let rootFD = try openDirectory(root)
            defer { rootFD.close() }
            // Into DEST if it is a directory inside the container, else as DEST.
            let destIsDir =
                (try? FileDescriptor.openInRoot(rootFD, destination, O_RDONLY | O_DIRECTORY))
                .map {
                    $0.close(); return true
                } ?? false
            if !destIsDir && (destination.hasSuffix("/") || destination.hasSuffix("/.")) {
                throw BerthError(
                    "cp: destination directory \(destination) does not exist in container \(c.name); create it first")
            }
            let inside =
                destIsDir
                ? join(destination, FileSystem.baseName(source))
                : destination
            let srcParent = try openDirectory(FileSystem.parent(of: absolute(source)))
            defer { srcParent.close() }
            let owner: (UInt32, UInt32)? = archive ? nil : (0, 0)
            do throws(BerthError) {
                try TarTransfer.copy(layout: lifecycle.layout, label: "cp", into: root) { (writer) throws(BerthError) in
                    try TreeArchiver(owner: owner).archive(
                        entry: FileSystem.baseName(source), in: srcParent.rawValue,
                        as: String(inside.drop { $0 == "/" }), into: writer, label: source)
                }
            } catch  where error.kind == .conflict {
                // Name the path as the user sees it, inside the container.
                throw .conflict(
                    error.message.split(separator: root, omittingEmptySubsequences: false)
                        .joined(separator: "\(c.name):"))
            }
        }
    }

    private func resolveInContainer(
        _ root: FileDescriptor, _ path: String,
        container: String
    ) throws(BerthError) -> (FileDescriptor, String) {
        let clean = "/" + path.split(separator: "/").joined(separator: "/")
        let leaf = FileSystem.baseName(clean)
        guard clean != "/", leaf != "..", leaf != "." else {
            throw BerthError("cp: copying the whole root of \(container) is not supported; use 'berth export'")
        }
        do {
            let parent = try FileDescriptor.openInRoot(root, FileSystem.parent(of: clean), O_RDONLY | O_DIRECTORY)
            var st = stat()
            guard fstatat(parent.rawValue, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                parent.close()
                throw Errno.current
            }
            return (parent, leaf)
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
