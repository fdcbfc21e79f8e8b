#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine

/// `HEAD`/`GET`/`PUT /containers/ID/archive?path=`: `docker cp` and
/// docker-py's `get_archive`/`put_archive`, through the engine's
/// `ContainerCopy` (every path inside the container resolved with openat2
/// RESOLVE_IN_ROOT, so a symlink in the container never reaches a host
/// path) by way of a private staging directory in the store.
struct ArchiveRoutes {
    let engine: Engine

    /// The base64 `X-Docker-Container-Path-Stat` header: name, size, Go
    /// `os.FileMode` bits (not `st_mode`), mtime, link target.
    private func stat(_ ref: String, _ path: String) throws(BerthError) -> (String, Bool) {
        let c = try engine.lifecycle.containers.find(ref)
        return try ContainerFiles(lifecycle: engine.lifecycle).withRoot(c) { (root) throws(BerthError) -> (String, Bool) in
            let rootFD: FileDescriptor
            do throws(Errno) { rootFD = try FileDescriptor.open(root, O_RDONLY | O_DIRECTORY) } catch {
                throw .syscall("open", root, error)
            }
            defer { rootFD.close() }
            let clean = "/" + path.split(separator: "/").joined(separator: "/")
            let leaf = clean == "/" ? "." : FileSystem.baseName(clean)
            let parent: FileDescriptor
            do {
                parent = try FileDescriptor.openInRoot(
                    rootFD, clean == "/" ? "/" : FileSystem.parent(of: clean), O_RDONLY | O_DIRECTORY)
            } catch {
                throw .notFound("Could not find the file \(path) in container \(c.name)")
            }
            defer { parent.close() }
            var st = Glibc.stat()
            guard fstatat(parent.rawValue, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw .notFound("Could not find the file \(path) in container \(c.name)")
            }
            var link = ""
            if st.st_mode & S_IFMT == S_IFLNK {
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
                let n = readlinkat(parent.rawValue, leaf, &buffer, buffer.count - 1)
                if n > 0 { link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
            }
            let json: JSON = .object([
                ("name", .string(clean == "/" ? "/" : leaf)), ("size", .int(Int64(st.st_size))),
                ("mode", .int(Self.goMode(st.st_mode))),
                ("mtime", .string(Timestamp(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int64(st.st_mtim.tv_nsec)).rfc3339)),
                ("linkTarget", .string(link)),
            ])
            return (Base64.encode(json.compact), st.st_mode & S_IFMT == S_IFDIR)
        }
    }

    /// Go's `os.FileMode` from `st_mode`.
    static func goMode(_ m: mode_t) -> UInt32 {
        var mode = UInt32(m & 0o777)
        switch m & S_IFMT {
        case S_IFDIR: mode |= 1 << 31
        case S_IFLNK: mode |= 1 << 27
        case S_IFBLK: mode |= 1 << 26
        case S_IFIFO: mode |= 1 << 25
        case S_IFSOCK: mode |= 1 << 24
        case S_IFCHR: mode |= 1 << 26 | 1 << 21
        default: break
        }
        if m & S_ISUID != 0 { mode |= 1 << 23 }
        if m & S_ISGID != 0 { mode |= 1 << 22 }
        if m & S_ISVTX != 0 { mode |= 1 << 20 }
        return mode
    }

    private func path(_ r: APIRequest) throws(BerthError) -> String {
        guard let p = r.query["path"], !p.isEmpty else { throw .invalid("archive needs a path (?path=)") }
        return p
    }

    /// `HEAD`: 200 with the stat header, 404 if the path is missing.
    func head(_ ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        let (header, _) = try stat(ref, try path(r))
        return APIResponse(status: 200, headers: [("X-Docker-Container-Path-Stat", header)])
    }

    /// `GET`: a tar whose entries are rooted at the path's base name.
    func get(_ ref: String, _ r: APIRequest, _ out: Responder) throws(BerthError) -> RouteResult {
        let path = try path(r)
        let (header, _) = try stat(ref, path)
        let layout = engine.layout
        let staging = try layout.makeStaging("api-cp")
        defer { try? FileSystem.removeTree(staging) }
        try ContainerCopy(lifecycle: engine.lifecycle).copyOut(ref, source: path, destination: staging, archive: true)
        out.startStream(contentType: "application/x-tar", extraHeaders: [("X-Docker-Container-Path-Stat", header)])
        let sink = ResponderSink(out)
        let writer = TarWriter(sink)
        do {
            try TreeArchiver().archive(root: staging, into: writer)
            try writer.finish()
        } catch {
            _ = try? out.channel.close().wait()
            return .streamed
        }
        out.finish()
        return .streamed
    }

    /// `PUT`: the body's tar is extracted into the path, which must be a
    /// directory in the container. 200, as docker-py checks.
    func put(_ ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        let path = try path(r)
        let (_, isDir) = try stat(ref, path)
        guard isDir else { throw .invalid("extraction point is not a directory: \(path)") }
        let layout = engine.layout
        let staging = try layout.makeStaging("api-cp")
        defer { try? FileSystem.removeTree(staging) }
        let tar = try r.bodyPath(staging: staging), tree = staging + "/tree"
        try FileSystem.makeDirectories(tree, mode: 0o700)
        _ = try LayerExtractor(noOverwriteDirNonDir: true).extract(archive: tar, into: tree)
        let copy = ContainerCopy(lifecycle: engine.lifecycle)
        for entry in FileSystem.list(tree) {
            // Without copyUIDGID (`docker cp` without -a) the files belong to
            // the container's root, as with dockerd and `berth cp`.
            try copy.copyIn(ref, source: tree + "/" + entry, destination: path, archive: r.query.bool("copyUIDGID"))
        }
        return .empty(200)
    }
}

/// Writes a stream's chunks as they come: a ByteSink over a Responder.
final class ResponderSink: ByteSink {
    let out: Responder
    init(_ out: Responder) { self.out = out }

    func write(_ bytes: UnsafeRawBufferPointer) throws(BerthError) {
        guard out.write(Array(bytes)) else { throw BerthError(.io, "the client closed the connection") }
    }
}
