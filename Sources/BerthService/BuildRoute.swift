#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine
import CBerthLinux
import Synchronization

/// `POST /build`: dockerd's classic builder endpoint (what `DOCKER_BUILDKIT=0
/// docker build`, docker-py's `images.build` and docker-compose 1.29's
/// `build:` send), on the engine's `Builder`, the same one `berth build`
/// runs: its steps, cache and RUN containers. The body is the context as a
/// tar (plain or gzip, spooled to the store's tmp/); the answer is dockerd's
/// JSON stream: `{"stream": …}` for every line and every piece of RUN
/// output, pulls of a missing FROM image as `{"status": …}` progress,
/// `{"aux": {"ID": …}}` with the image, and a failure after the stream has
/// begun as `{"errorDetail": …, "error": …}`. Parameters Berth cannot
/// honour are refused with a 400 naming them, never dropped; those the
/// docker CLI always sends with their neutral value (`memory=0`,
/// `cachefrom=[]`, `ulimits=null`…) pass.
struct BuildRoute {
    let engine: Engine

    func build(_ r: APIRequest, _ out: Responder) throws(BerthError) -> RouteResult {
        let q = r.query
        try Self.refuseUnsupported(q)
        let lifecycle = engine.lifecycle
        let staging = try lifecycle.layout.makeStaging("api-build")
        defer { try? FileSystem.removeTree(staging) }
        let body = try r.bodyPath(staging: staging)
        let contextPath = staging + "/context"
        if mkdir(contextPath, 0o755) != 0 { throw .syscall("mkdir", contextPath, .current) }
        if (try? FileSource(path: body).peek(1).isEmpty) != true {
            _ = try LayerExtractor().extract(
                from: try ArchiveInput.decompressing(try FileSource(path: body), name: "the build context"),
                name: "the build context", into: contextPath)
        }
        var o = BuildOptions(
            dockerfile: try Self.readDockerfile(q["dockerfile"] ?? "", context: contextPath), contextPath: contextPath)
        o.announceContext = false  // the client says how much it sent, as the docker CLI does
        o.tags = try q.pairs.filter { $0.0 == "t" && !$0.1.isEmpty }.map { (p) throws(BerthError) in
            try ImageReference(parsing: p.1)
        }
        o.buildArgs = try Self.stringMap(q["buildargs"], name: "buildargs")
        o.labels = try Self.stringMap(q["labels"], name: "labels")
        o.target = q["target"].flatMap { $0.isEmpty ? nil : $0 }
        o.noCache = q.bool("nocache")
        o.quiet = q.bool("q")
        // dockerd's default is rm=1, which with Berth's builder also removes
        // a failed RUN's container (forcerm); rm=0 (docker-py's default)
        // keeps every one, unless forcerm=1, which wins as in dockerd.
        o.keepContainers = q["rm"] != nil && !q.bool("rm") && !q.bool("forcerm")
        if let mode = q["networkmode"], !mode.isEmpty, mode != "default" { o.network = mode }

        let stream = Mutex(false)
        let send = { @Sendable (json: JSON) in
            stream.withLock { started in
                if !started { out.startStream(contentType: "application/json") }
                started = true
                out.write(Array((json.compact + "\n").utf8))
            }
        }
        let line = { @Sendable (text: String) in send(.object([("stream", .string(text + "\n"))])) }
        // A FROM or COPY --from image that is missing is pulled, its progress in the stream.
        let pullAlways = q.bool("pull")
        let images = engine.images
        o.fetchImage = { (image) throws(BerthError) -> String in
            if image.lowercased() == "scratch" || image.hasPrefix("sha256:") { return image }
            if !pullAlways, (try? images.resolve(image)) != nil { return image }
            let ref = try RemoteReference(parsing: image)
            let result = try ImagePuller(store: images).pull(ref) { event in send(PullRoute.json(event)) }
            return ref.tag == nil ? result.id : image
        }
        // RUN's output: both streams into one pipe, relayed as `stream` pieces.
        var fds: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&fds) == 0 else { throw .syscall("pipe2", "the build's output", .current) }
        let reader = Self.relay(fds[0], send)
        let output = BuildOutput(line: line, warn: line, stdoutFD: fds[1], stderrFD: fds[1])
        let result: Result<String, BerthError>
        do throws(BerthError) {
            let builder = try Builder(lifecycle: lifecycle, options: o, output: output, environment: [:])
            result = .success(try builder.build())
        } catch {
            result = .failure(error)
        }
        close(fds[1])
        pthread_join(reader, nil)
        close(fds[0])
        switch result {
        case .success(let id):
            send(.object([("aux", .object([("ID", .string(id))]))]))
            if o.quiet { line(id) }
        case .failure(let error):
            // Before anything was streamed, a real status (dockerd's 400 for a bad Dockerfile).
            guard stream.withLock({ $0 }) else { throw error }
            send(.object([("errorDetail", .object([("message", .string(error.message))])), ("error", .string(error.message))]))
        }
        out.finish()
        return .streamed
    }

    /// A thread that reads `fd` until its end and sends each piece.
    private static func relay(_ fd: Int32, _ send: @escaping @Sendable (JSON) -> Void) -> pthread_t {
        final class Job: @unchecked Sendable {
            let fd: Int32
            let send: @Sendable (JSON) -> Void
            init(_ fd: Int32, _ send: @escaping @Sendable (JSON) -> Void) { (self.fd, self.send) = (fd, send) }
        }
        let job = Unmanaged.passRetained(Job(fd, send)).toOpaque()
        var thread = pthread_t()
        pthread_create(
            &thread, nil,
            { raw in
                let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                var buffer = [UInt8](repeating: 0, count: 16 * 1024)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(job.fd, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    job.send(.object([("stream", .string(String(decoding: buffer[0..<n], as: UTF8.self)))]))
                }
                return nil
            }, job)
        return thread
    }

    /// The Dockerfile named by `dockerfile=` (default `Dockerfile`), read
    /// inside the context: neither `..` nor a symlink leads out of it.
    static func readDockerfile(_ name: String, context: String) throws(BerthError) -> String {
        let path = name.isEmpty ? "Dockerfile" : name
        let root: FileDescriptor
        do { root = try FileDescriptor.open(context, O_RDONLY | O_DIRECTORY) } catch {
            throw .syscall("open", context, error)
        }
        defer { root.close() }
        guard let file = try? FileDescriptor.openInRoot(root, path, O_RDONLY) else {
            throw .invalid(
                "Cannot locate specified Dockerfile: \(path); put it in the build context, or name it with dockerfile=")
        }
        defer { file.close() }
        var text: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n: Int
            do { n = try file.read(into: buffer) } catch { throw .invalid("read the Dockerfile \(path): \(error)") }
            if n == 0 { break }
            text.append(contentsOf: buffer[0..<n])
            guard text.count <= 64 << 20 else { throw .invalid("the Dockerfile \(path) is larger than 64MiB") }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `buildargs` and `labels`: a JSON object of strings. A `null` build
    /// arg is declared without a value, which leaves the ARG's default, as
    /// dockerd reads it.
    static func stringMap(_ text: String?, name: String) throws(BerthError) -> [(String, String)] {
        guard let text, !text.isEmpty, text != "null" else { return [] }
        guard case .object(let members)? = try? JSONParser.parse(Array(text.utf8)) else {
            throw .invalid("\(name) is not a JSON object of strings: \(text)")
        }
        var pairs: [(String, String)] = []
        for (key, value) in members {
            switch value {
            case .string(let s): pairs.append((key, s))
            case .null: continue
            default: throw .invalid("\(name): the value of \(key) is not a string")
            }
        }
        return pairs
    }

    /// What Berth's builder cannot do, refused by name when set to
    /// anything but the value the docker CLI sends for "not given".
    static func refuseUnsupported(_ q: Query) throws(BerthError) {
        if q["version"] == "2" {
            throw .invalid("BuildKit (version=2) is not supported by Berth; build with DOCKER_BUILDKIT=0 (the classic builder)")
        }
        if let remote = q["remote"], !remote.isEmpty {
            throw CreateRequest.unsupported("remote (a URL or Git context; send the context as the body)")
        }
        for key in ["memory", "memswap", "cpushares", "cpuquota", "cpuperiod", "shmsize"] {
            if let v = q[key], !v.isEmpty, v != "0" { throw CreateRequest.unsupported("\(key) for the build's containers") }
        }
        for key in ["cgroupparent", "cpusetcpus", "cpusetmems", "extrahosts", "outputs", "session"] {
            if let v = q[key], !v.isEmpty { throw CreateRequest.unsupported(key) }
        }
        for key in ["cachefrom", "ulimits"] {
            if let v = q[key], !["", "null", "[]"].contains(v) { throw CreateRequest.unsupported(key) }
        }
        if q.bool("squash") { throw CreateRequest.unsupported("squash") }
        if let isolation = q["isolation"], !["", "default"].contains(isolation) {
            throw CreateRequest.unsupported("isolation \(isolation)")
        }
        if let platform = q["platform"], !platform.isEmpty {
            let wanted = try Platform(parsing: platform)
            guard wanted.os == "linux", wanted.architecture == ImageConfig.hostArchitecture else {
                throw .invalid(
                    "build platform \(platform): Berth builds only for this machine, linux/\(ImageConfig.hostArchitecture)")
            }
        }
    }
}
