#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine
import CBerthLinux
import Dispatch

/// Tar archives in and out: `export`, `save`, `load`, and `commit`, each
/// the engine call of the `berth` verb. Output is streamed: the engine
/// writes into a pipe on one thread while this one sends what it reads, so
/// an image of any size never sits in memory. The head goes out with the
/// first bytes, so a failure before them is a real status; a failure after
/// ends the connection without the last chunk, and the client sees a
/// truncated transfer instead of a short archive.
struct TransferRoutes {
    let engine: Engine

    /// `GET /containers/ID/export`.
    func export(_ ref: String, _ out: Responder) throws(BerthError) -> RouteResult {
        _ = try engine.lifecycle.containers.find(ref)
        let engine = self.engine
        return try stream(out) { (sink) throws(BerthError) in
            try ContainerFiles(lifecycle: engine.lifecycle).export(ref, to: sink)
        }
    }

    /// `GET /images/get?names=…` and `GET /images/NAME/get`: `docker save`.
    func save(_ names: [String], _ out: Responder) throws(BerthError) -> RouteResult {
        guard !names.isEmpty else { throw .invalid("save needs at least one image (?names=)") }
        let saver = ImageSaver(store: engine.images)
        let items = try saver.resolve(names)
        return try stream(out) { (sink) throws(BerthError) in try saver.save(items, into: sink) }
    }

    /// Runs `write` into a pipe on a worker and streams what it writes.
    private func stream(_ out: Responder, _ write: @escaping @Sendable (any ByteSink) throws(BerthError) -> Void)
        throws(BerthError) -> RouteResult
    {
        var fds: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&fds) == 0 else { throw .syscall("pipe", "for the archive", .current) }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let failure = FailureBox()
        let done = DispatchSemaphore(value: 0)
        let writing = Workers.run {
            do throws(BerthError) {
                try write(FileSink(descriptor: FileDescriptor(rawValue: writeEnd), name: "the API response"))
            } catch {
                failure.set(error)
            }
            close(writeEnd)
            done.signal()
        }
        guard writing else {
            close(readEnd)
            close(writeEnd)
            throw BerthError(.unavailable, "no thread to write the archive (pthread_create failed); try again")
        }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var started = false
        var clientGone = false
        while true {
            let n = read(readEnd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if !started {
                out.startStream(contentType: "application/x-tar")
                started = true
            }
            if !out.write(Array(buffer[0..<n])) {
                clientGone = true
                break
            }
        }
        close(readEnd)  // a gone client: the writer's next write fails (EPIPE) and it ends
        done.wait()
        if let error = failure.error {
            guard started else { throw error }
            _ = try? out.channel.close().wait()
            return .streamed
        }
        if clientGone { return .streamed }
        if !started { out.startStream(contentType: "application/x-tar") }
        out.finish()
        return .streamed
    }

    /// `POST /images/load`: the body is the archive `docker save` (or
    /// `berth save`) wrote; answers dockerd's JSON lines.
    func load(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let layout = engine.layout
        let staging = try layout.makeStaging("api-load")
        defer { try? FileSystem.removeTree(staging) }
        let path = try r.bodyPath(staging: staging)
        let source = try FileSource(path: path)
        defer { source.close() }
        let loaded = try ImageLoader(store: engine.images).load(from: source, name: "the request body")
        var lines: [String] = []
        for image in loaded {
            if image.tags.isEmpty { lines.append("Loaded image ID: \(image.id)") }
            for tag in image.tags { lines.append("Loaded image: \(tag)") }
        }
        let text = lines.map { JSON.object([("stream", .string($0 + "\n"))]).compact + "\n" }.joined()
        return APIResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array(text.utf8))
    }

    /// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`:
    /// 201 `{"Id"}`. A config in the body is refused unless empty: Berth's
    /// commit takes Dockerfile lines (`changes`), as `berth commit -c`.
    func commit(_ r: APIRequest) throws(BerthError) -> APIResponse {
        guard let container = r.query["container"], !container.isEmpty else { throw .invalid("commit needs ?container=") }
        let body = try r.json()
        if case .object(let members) = body {
            for (key, value) in members where !CreateRequest.isEmpty(value) {
                throw CreateRequest.unsupported("the commit config's \(key) (use changes= instead)")
            }
        }
        var o = CommitOptions()
        if let repo = r.query["repo"], !repo.isEmpty {
            let tag = r.query["tag"].flatMap { $0.isEmpty ? nil : $0 }
            o.tag = try ImageReference(parsing: tag.map { repo + ":" + $0 } ?? repo)
        }
        o.changes = r.query.pairs.filter { $0.0 == "changes" }.map(\.1).filter { !$0.isEmpty }
        o.message = r.query["comment"] ?? ""
        o.author = r.query["author"] ?? ""
        o.pause = r.query["pause"].map { _ in r.query.bool("pause") } ?? true
        let id = try ImageCommitter(lifecycle: engine.lifecycle).commit(container, o)
        return .json(.object([("Id", .string(id))]), status: 201)
    }
}

/// The error a worker thread hit, for the thread that answers.
final class FailureBox: @unchecked Sendable {
    private(set) var error: BerthError?
    func set(_ e: BerthError) { error = e }
}
