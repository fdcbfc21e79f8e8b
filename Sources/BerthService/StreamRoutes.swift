#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import CBerthLinux
import BerthEngine
import Dispatch

/// The endpoints that stream or hijack: wait, logs, attach, exec.
struct StreamRoutes {
    let engine: Engine

    static let raw = "application/vnd.docker.raw-stream"
    static let multiplexed = "application/vnd.docker.multiplexed-stream"

    /// The content type of a hijacked stream: raw for a TTY, and from API
    /// 1.42 the multiplexed type when frames carry the stream.
    static func streamType(tty: Bool, _ r: APIRequest) -> String {
        tty || r.version < APIVersion(major: 1, minor: 42) ? raw : multiplexed
    }

    // MARK: wait

    /// `POST /containers/ID/wait?condition=not-running|next-exit|removed`.
    /// The head goes out at once (the CLI's `run` waits for it before it
    /// starts the container), the status when the condition holds.
    func wait(_ ref: String, _ r: APIRequest, _ out: Responder) throws(BerthError) -> RouteResult {
        let condition = r.query["condition"].flatMap { $0.isEmpty ? nil : $0 } ?? "not-running"
        guard ["not-running", "next-exit", "removed"].contains(condition) else {
            throw .invalid("invalid condition: \"\(condition)\"")
        }
        let lifecycle = engine.lifecycle
        let events = EventLog(layout: engine.layout)
        var st = stat()
        var offset = stat(events.path, &st) == 0 ? Int(st.st_size) : 0
        let first = try lifecycle.containers.find(ref)
        out.startStream(contentType: "application/json")
        var last = first
        var sawActive = first.state.isActive
        var died: Int32?
        var polls = 0
        while out.channel.isActive {
            if let e = events.read(from: &offset).last(where: { $0.id == first.id && $0.action == "die" }) {
                died = e.attributes.first { $0.0 == "exitCode" }.flatMap { Int32($0.1) } ?? died
            }
            guard let now = try? lifecycle.containers.load(id: first.id) else {
                // Gone without a `die`: a start that failed after the attach;
                // the attach relay has the code from the monitor's exit frame.
                var code = engine.attaches.exitCode(first.id)
                for _ in 0..<50 where died == nil && code == nil {
                    usleep(20_000)
                    code = engine.attaches.exitCode(first.id)
                }
                return finishWait(out, died ?? code ?? last.state.exitCode)
            }
            last = now
            if now.state.isActive {
                sawActive = true
                _ = try? lifecycle.waitForExit(first.id)
                continue
            }
            switch condition {
            case "not-running": return finishWait(out, now.state.exitCode)
            case "next-exit" where sawActive || died != nil: return finishWait(out, now.state.exitCode)
            default: break
            }
            polls += 1
            usleep(polls < 100 ? 20_000 : 200_000)
        }
        return .streamed
    }

    private func finishWait(_ out: Responder, _ code: Int32) -> RouteResult {
        out.write(Array((JSON.object([("StatusCode", .int(code)), ("Error", .null)]).compact + "\n").utf8))
        out.finish()
        return .streamed
    }

    // MARK: logs

    /// `GET /containers/ID/logs?stdout=&stderr=&follow=&tail=&timestamps=&since=&until=`.
    func logs(_ ref: String, _ r: APIRequest, _ out: Responder) throws(BerthError) -> RouteResult {
        let q = r.query
        let wantOut = q.bool("stdout"), wantErr = q.bool("stderr")
        guard wantOut || wantErr else { throw .invalid("Bad parameters: you must choose at least one stream") }
        var tail: Int?
        if let t = q["tail"], !t.isEmpty, t != "all" {
            guard let n = Int(t) else { throw .invalid("invalid tail \"\(t)\": give a number or all") }
            tail = n >= 0 ? n : nil
        }
        let since = try Self.time(q["since"], "since"), until = try Self.time(q["until"], "until")
        let lifecycle = engine.lifecycle
        let c = try lifecycle.containers.find(ref)
        let path = lifecycle.layout.containerLog(c.id)
        out.startStream(contentType: c.tty ? Self.raw : Self.multiplexed)
        var offset = 0
        let driver = c.logConfig.driver
        var lines = Self.entries(path, driver: driver, from: &offset)
        if let tail { lines = Array(lines.suffix(tail)) }
        let emit = { (line: LogEntry) -> Bool in
            let isErr = line.stream == "stderr"
            guard isErr ? wantErr : wantOut else { return true }
            if since != nil || until != nil, let t = line.time?.asDouble {
                if let since, t < since { return true }
                if let until, t > until { return true }
            }
            let bytes = q.bool("timestamps") ? Array((line.timeText + " ").utf8) + line.text : line.text
            return out.write(c.tty ? bytes : Relay.dockerFrame(isErr ? 2 : 1, bytes))
        }
        for line in lines where !emit(line) { return .streamed }
        if q.bool("follow") {
            follow: while true {
                let current = try? lifecycle.containers.load(id: c.id)
                for line in Self.entries(path, driver: driver, from: &offset) where !emit(line) { break follow }
                if current?.state.isActive != true || !out.channel.isActive { break }
                usleep(100_000)
            }
        }
        out.finish()
        return .streamed
    }

    /// The entries of whole log lines from `offset` on, in the container's
    /// log driver's format (json-file or k8s-file).
    static func entries(_ path: String, driver: LogConfig.Driver, from offset: inout Int) -> [LogEntry] {
        guard let bytes = try? FileSystem.read(path), bytes.count > offset else { return [] }
        var end = bytes.count
        while end > offset && bytes[end - 1] != 10 { end -= 1 }
        let chunk = bytes[offset..<end]
        offset = end
        return chunk.split(separator: 10).compactMap { LogEntry.parse($0, driver: driver) }
    }

    /// Docker's `since`/`until`: Unix seconds, with an optional fraction.
    static func time(_ text: String?, _ name: String) throws(BerthError) -> Double? {
        guard let text, !text.isEmpty, text != "0" else { return nil }
        guard let t = Double(text) else { throw .invalid("invalid value for \(name): \(text)") }
        return t
    }

    // MARK: attach

    /// `POST /containers/ID/attach?stream=&stdin=&stdout=&stderr=`, hijacked.
    func attach(_ ref: String, _ r: APIRequest, _ out: Responder) throws(BerthError) -> RouteResult {
        let lifecycle = engine.lifecycle
        let c = try lifecycle.containers.find(ref)
        if c.state.status == .paused {
            throw .conflict("You cannot attach to a paused container, unpause it first")
        }
        if let keys = r.query["detachKeys"], !keys.isEmpty, keys != "ctrl-p,ctrl-q" {
            throw CreateRequest.unsupported("detachKeys other than ctrl-p,ctrl-q")
        }
        guard r.wantsUpgrade else { throw .invalid("attach needs the connection upgraded (Connection: Upgrade, Upgrade: tcp)") }
        let streams = Relay.Streams(
            stdin: r.query.bool("stdin") && c.openStdin, stdout: r.query.bool("stdout"), stderr: r.query.bool("stderr"),
            tty: c.tty)
        let generation = engine.attaches.register(c.id)
        let stream: RawStream
        do {
            stream = try out.upgrade(contentType: Self.streamType(tty: c.tty, r))
        } catch {
            engine.attaches.unregister(c.id)
            throw error
        }
        defer { stream.close() }
        // `stream=0`: only the log (with `logs=1`), and the end, as dockerd.
        guard r.query.bool("stream") else {
            engine.attaches.unregister(c.id)
            if r.query.bool("logs") { replayLog(c, streams, to: stream) }
            return .streamed
        }
        // Until the container runs: started through this service (the
        // generation moves), or by anyone else (the record says running).
        var ready = false
        var startedHere = false
        while stream.channel.isActive {
            // The record first, then the table: a start by this service marks
            // itself before its monitor can record running, so a running
            // record read before the mark was set cannot be ours.
            let current = try? lifecycle.containers.load(id: c.id)
            let (now, failure, starting) = engine.attaches.status(c.id)
            if now != generation {
                ready = failure == nil
                startedHere = true  // that start, which waited for us, recorded the attach
                break
            }
            guard let current else { break }
            if !starting && current.state.isActive {
                ready = true
                break
            }
            usleep(10_000)
        }
        guard ready, let socket = try? AttachClient.connect(containerDirectory: engine.layout.container(c.id)) else {
            engine.attaches.unregister(c.id)
            return .streamed
        }
        if !startedHere { lifecycle.events.record("attach", c) }
        if r.query.bool("logs") { replayLog(c, streams, to: stream) }
        engine.attaches.connected(c.id, socket: socket)
        engine.attaches.unregister(c.id)
        if let code = Relay.attach(socket: socket, stream, streams) { engine.attaches.exited(c.id, code) }
        engine.attaches.disconnected(c.id, socket: socket)
        close(socket)
        return .streamed
    }

    /// `logs=1`: what the log holds, for the streams asked, as dockerd
    /// replays it before the live output (output written between this read
    /// and the attach can show twice or not at all, as with dockerd).
    private func replayLog(_ c: Container, _ streams: Relay.Streams, to stream: RawStream) {
        var offset = 0
        for entry in Self.entries(engine.layout.containerLog(c.id), driver: c.logConfig.driver, from: &offset) {
            let isErr = entry.stream == "stderr"
            guard isErr ? streams.stderr : streams.stdout else { continue }
            guard stream.write(c.tty ? entry.text : Relay.dockerFrame(isErr ? 2 : 1, entry.text)) else { return }
        }
    }

    /// `POST /containers/ID/resize?h=&w=`: the pty's size, through the
    /// attach relay of this service that holds it.
    func resize(container ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        let c = try engine.lifecycle.containers.find(ref)
        let h = try r.query.int("h") ?? 0, w = try r.query.int("w") ?? 0
        guard (0...Int(UInt16.max)).contains(h), (0...Int(UInt16.max)).contains(w) else {
            throw .invalid("invalid terminal size \(h)x\(w)")
        }
        guard c.state.isActive else { throw .conflict("Container \(c.id) is not running") }
        guard c.tty else { return .empty(200) }
        if !engine.attaches.resize(c.id, WindowSize(rows: UInt16(h), columns: UInt16(w))) {
            throw .conflict("no attached terminal of container \(c.id) to resize; attach first")
        }
        return .empty(200)
    }

    // MARK: exec

    /// `POST /containers/ID/exec`: 201 `{"Id"}`; 409 if it is not running.
    func createExec(_ ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        let c = try engine.lifecycle.containers.find(ref)
        try c.ensureState(for: .exec, ref: ref)
        let body = try r.json()
        guard let cmd = try CreateRequest.strings(body["Cmd"], "Cmd"), !cmd.isEmpty else {
            throw .invalid("No exec command specified")
        }
        for key in ["Privileged", "DetachKeys"] where !(body[key].map(CreateRequest.isEmpty) ?? true) {
            throw CreateRequest.unsupported(key)
        }
        var o = ExecOptions(command: cmd)
        o.env = try CreateRequest.strings(body["Env"], "Env") ?? []
        o.workdir = CreateRequest.nonEmpty(body["WorkingDir"])
        if let w = o.workdir, !w.hasPrefix("/") {
            throw .invalid("the working directory '\(w)' is invalid; it needs to be an absolute path")
        }
        o.user = CreateRequest.nonEmpty(body["User"])
        o.tty = body["Tty"]?.boolValue ?? false
        o.interactive = body["AttachStdin"]?.boolValue ?? false
        let id = Self.randomID()
        o.id = id
        o.recordCreate = false
        engine.lifecycle.events.record("exec_create: " + cmd.joined(separator: " "), c, [("execID", id)])
        engine.execs.add(
            ExecRecord(
                id: id, containerID: c.id, options: o, attachStdout: body["AttachStdout"]?.boolValue ?? false,
                attachStderr: body["AttachStderr"]?.boolValue ?? false))
        return .json(.object([("Id", .string(id))]), status: 201)
    }

    /// `POST /exec/ID/start`: detached (200, nothing), or hijacked until
    /// the process exits; its exit code is recorded before the stream
    /// closes, as the CLI reads it right after.
    func startExec(_ id: String, _ r: APIRequest, _ out: Responder) throws(BerthError) -> RouteResult {
        let record = try engine.execs.find(id)
        let body = try r.json()
        let detach = body["Detach"]?.boolValue ?? false
        guard detach || r.wantsUpgrade else {
            throw .invalid("exec start needs the connection upgraded (Connection: Upgrade, Upgrade: tcp) or Detach")
        }
        guard engine.execs.begin(id) else { throw .conflict("exec instance \(id) has already been started") }
        let executor = Executor(lifecycle: engine.lifecycle)
        var o = record.options
        if detach {
            o.detach = true
            o.interactive = false
            do {
                _ = try executor.run(record.containerID, o, stdio: [-1, -1, -1])
                engine.execs.update(id) {
                    $0.running = false; $0.exitCode = 0
                }
            } catch {
                engine.execs.update(id) {
                    $0.running = false; $0.exitCode = error.exitCode
                }
                throw error
            }
            return .response(.empty(200))
        }
        let stream = try out.upgrade(contentType: Self.streamType(tty: o.tty, r))
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        _ = berth_pipe_cloexec(&outPipe)
        _ = berth_pipe_cloexec(&errPipe)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        let stdio = [
            o.interactive ? stream.input : null, record.attachStdout ? outPipe[1] : null,
            record.attachStderr ? errPipe[1] : null,
        ]
        let pumped = DispatchSemaphore(value: 0)
        let (outRead, errRead, tty) = (outPipe[0], errPipe[0], o.tty)
        let pumping = Workers.run {
            Relay.pipes(out: outRead, err: errRead, stream, tty: tty)
            pumped.signal()
        }
        guard pumping else {
            for fd in outPipe + errPipe + [null] { close(fd) }
            let text = Array("no thread to relay the exec (pthread_create failed); try again\n".utf8)
            stream.write(tty ? text : Relay.dockerFrame(3, text))
            engine.execs.update(id) {
                $0.running = false; $0.exitCode = 126
            }
            stream.close()
            return .streamed
        }
        var code: Int32
        var failure: String?
        let execs = engine.execs
        let initial = Self.size(body["ConsoleSize"])
        do {
            code = try executor.run(record.containerID, o, stdio: stdio) { master in
                execs.update(id) { $0.terminal = master }
                if master >= 0, let initial { _ = execs.resize(id, initial) }
            }
        } catch {
            code = error.exitCode
            failure = error.message
        }
        if let failure { _ = Relay.writeAll(errPipe[1], Array((failure + "\n").utf8)) }
        close(outPipe[1])
        close(errPipe[1])
        close(null)
        pumped.wait()
        close(outRead)
        close(errRead)
        engine.execs.update(id) {
            $0.running = false; $0.exitCode = code
        }
        stream.close()
        return .streamed
    }

    /// `[rows, columns]`, as `ConsoleSize` carries it.
    static func size(_ v: JSON?) -> WindowSize? {
        guard let a = v?.arrayValue, a.count == 2, let h = a[0].intValue, let w = a[1].intValue,
            (1...Int(UInt16.max)).contains(h), (1...Int(UInt16.max)).contains(w)
        else { return nil }
        return WindowSize(rows: UInt16(h), columns: UInt16(w))
    }

    /// `POST /exec/ID/resize?h=&w=`: the size of a running `Tty` exec's pty.
    func resize(exec id: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        let e = try engine.execs.find(id)
        let h = try r.query.int("h") ?? 0, w = try r.query.int("w") ?? 0
        guard (1...Int(UInt16.max)).contains(h), (1...Int(UInt16.max)).contains(w) else {
            throw .invalid("invalid terminal size \(h)x\(w)")
        }
        guard e.options.tty else { return .empty(200) }
        // The CLI resizes right after the start; the pty may not exist yet.
        for _ in 0..<50 {
            if engine.execs.resize(id, WindowSize(rows: UInt16(h), columns: UInt16(w))) { return .empty(200) }
            guard (try? engine.execs.find(id))?.exitCode == nil else { break }
            usleep(20_000)
        }
        throw .conflict("exec \(id) has no terminal to resize: it is not running")
    }

    /// `GET /exec/ID/json`.
    func inspectExec(_ id: String) throws(BerthError) -> APIResponse {
        let e = try engine.execs.find(id)
        return .json(
            .object([
                ("ID", .string(e.id)), ("Running", .bool(e.running)),
                ("ExitCode", e.exitCode.map { .int($0) } ?? .null), ("ContainerID", .string(e.containerID)),
                ("Pid", .int(0)), ("OpenStdin", .bool(e.options.interactive)), ("OpenStdout", .bool(e.attachStdout)),
                ("OpenStderr", .bool(e.attachStderr)), ("CanRemove", .bool(false)), ("DetachKeys", .string("")),
                (
                    "ProcessConfig",
                    .object([
                        ("tty", .bool(e.options.tty)), ("entrypoint", .string(e.options.command.first ?? "")),
                        ("arguments", .strings(Array(e.options.command.dropFirst()))), ("privileged", .bool(false)),
                        ("user", .string(e.options.user ?? "")),
                    ])
                ),
            ]))
    }

    /// 64 random hex digits (the stdlib's generator reads getrandom).
    static func randomID() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
