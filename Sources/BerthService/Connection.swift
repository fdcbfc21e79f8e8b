#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import CBerthLinux
import NIOCore
import NIOHTTP1

/// How a route answers on its connection, from a worker thread: a whole
/// response, a stream (chunked, its head flushed at once, as docker-py and
/// the CLI's `run` wait for), or the connection hijacked for raw bytes.
/// Every write waits for the event loop to take it, so a slow reader slows
/// the route down instead of filling memory, and a gone client is seen.
final class Responder: Sendable {
    let channel: any Channel
    let keepAlive: Bool

    init(channel: any Channel, keepAlive: Bool) {
        self.channel = channel
        self.keepAlive = keepAlive
    }

    /// Headers dockerd puts on every response (its version middleware).
    static let common: [(String, String)] = [
        ("Api-Version", APIVersion.current.description), ("Ostype", "linux"),
        ("Docker-Experimental", "false"), ("Server", "Berth/\(berthVersion) (linux)"),
    ]

    private func head(_ status: Int, _ extra: [(String, String)]) -> HTTPResponseHead {
        var headers = HTTPHeaders(Self.common)
        for (k, v) in extra { headers.add(name: k, value: v) }
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        return HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
    }

    /// A complete response with a Content-Length.
    func send(_ r: APIResponse, headOnly: Bool = false) {
        var extra = r.headers
        extra.append(("Content-Length", String(r.body.count)))
        channel.write(HTTPServerResponsePart.head(head(r.status, extra)), promise: nil)
        if !r.body.isEmpty && !headOnly {
            channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: r.body))), promise: nil)
        }
        finish()
    }

    /// Starts a chunked stream: the head is flushed at once.
    func startStream(status: Int = 200, contentType: String, extraHeaders: [(String, String)] = []) {
        let h = head(status, [("Content-Type", contentType)] + extraHeaders)
        _ = try? channel.writeAndFlush(HTTPServerResponsePart.head(h)).wait()
    }

    /// One piece of a stream; false once the client is gone.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return channel.isActive }
        do {
            try channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: bytes)))).wait()
            return true
        } catch {
            return false
        }
    }

    /// Ends a response; closes the connection unless the client keeps it.
    /// Waits for the write only on a worker: the event loop (a refusal
    /// answered before any worker runs) must never block on itself.
    func finish() {
        let done = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        if !keepAlive {
            let channel = self.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
        if !channel.eventLoop.inEventLoop { _ = try? done.wait() }
    }

    /// Takes the connection over for a raw stream: the HTTP handlers leave
    /// the pipeline, `101 UPGRADED` is written by hand (NIO's upgrader only
    /// looks at a connection's first request and drops its body; docker-py
    /// reuses kept-alive connections for attach and exec), and from then on
    /// what the client sends arrives in the returned stream's `input` fd.
    func upgrade(contentType: String) throws(BerthError) -> RawStream {
        let raw = RawStreamHandler()
        let channel = self.channel
        let future = channel.eventLoop.submit { () throws -> Void in
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(raw, position: .last)
        }.flatMap { channel.pipeline.removeHandler(name: "api") }
            .flatMap { channel.pipeline.removeHandler(name: "http-encoder") }
            .flatMap { channel.pipeline.removeHandler(name: "http-decoder") }
        do {
            try future.wait()
        } catch {
            throw BerthError(.io, "cannot take over the connection for the stream: \(error)")
        }
        var text = "HTTP/1.1 101 UPGRADED\r\nContent-Type: \(contentType)\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
        for (k, v) in Self.common { text += "\(k): \(v)\r\n" }
        text += "\r\n"
        let stream = RawStream(channel: channel, input: raw.readEnd)
        guard stream.write(Array(text.utf8)) else { throw BerthError(.io, "the client left before the stream began") }
        stream.awaitHeadTaken()
        return stream
    }
}

/// A hijacked connection: bytes out with `write`, bytes in from `input`
/// (a pipe the event loop fills; end of file when the client half-closes
/// or leaves, which is stdin's end for the process behind it).
final class RawStream: Sendable {
    let channel: any Channel
    /// The read end of the pipe carrying what the client sends.
    let input: Int32

    init(channel: any Channel, input: Int32) {
        self.channel = channel
        self.input = input
    }

    /// False once the client is gone.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return channel.isActive }
        do {
            try channel.writeAndFlush(ByteBuffer(bytes: bytes)).wait()
            return true
        } catch {
            return false
        }
    }

    /// Waits, at most a second, until the client has read what was written
    /// (the `101` head). docker-py reads the head through a buffered reader
    /// and then reads the bare socket, so bytes that arrive together with
    /// the head sit in a buffer it never looks at again: a log replayed at
    /// once was lost (docker-py#2042, #2466, #3332; dockerd is only slower
    /// to write). On a unix socket the kernel charges what the peer has not
    /// read yet to the writer's send allocation (`SO_MEMINFO`), so an empty
    /// allocation means the head was taken. On TCP the allocation empties
    /// when the peer's kernel acknowledges, so this is no wait there.
    func awaitHeadTaken() {
        guard let provider = channel as? any SocketOptionProvider else { return }
        var waitedUs: UInt32 = 0
        var pause: UInt32 = 50
        while waitedUs < 1_000_000 {
            let future: EventLoopFuture<SocketMemory> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SocketMemory.option))
            guard let memory = try? future.wait(), memory.unread > 0, channel.isActive else { return }
            usleep(pause)
            waitedUs += pause
            pause = min(pause * 2, 5_000)
        }
    }

    /// `struct` of `SO_MEMINFO`: nine counters; the third is the send
    /// allocation (`SK_MEMINFO_WMEM_ALLOC`).
    struct SocketMemory: Sendable {
        static let option: Int32 = 55  // SO_MEMINFO
        var values: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        var unread: UInt32 { values.2 }
    }

    /// Closes the connection once what was written is out.
    func close() {
        _ = try? channel.close().wait()
        Glibc.close(input)
    }
}

/// After the upgrade: what the client sends goes into a pipe that the
/// route's worker reads. Writes never block the event loop: when the pipe
/// is full, reading from the client pauses until it drains.
final class RawStreamHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    let readEnd: Int32
    private var writeEnd: Int32
    private var pending: [UInt8] = []
    private var inputEnded = false

    init() {
        var fds: [Int32] = [-1, -1]
        _ = berth_pipe_cloexec(&fds)
        readEnd = fds[0]
        writeEnd = fds[1]
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(writeEnd, 1031 /* F_SETPIPE_SZ */, 1 << 20)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if let bytes = buffer.readBytes(length: buffer.readableBytes) { pending += bytes }
        drain(context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed {
            inputEnded = true
            drain(context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        inputEnded = true
        pending = []
        drain(context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if writeEnd >= 0 { close(writeEnd); writeEnd = -1 }
    }

    private func drain(_ context: ChannelHandlerContext) {
        guard writeEnd >= 0 else { return }
        while !pending.isEmpty {
            let n = pending.withUnsafeBytes { Glibc.write(writeEnd, $0.baseAddress, $0.count) }
            if n > 0 { pending.removeFirst(n); continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN {
                // The reader is behind: stop reading the client, retry shortly.
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
                let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(10)) { loopBound.value.drain(ctx.value) }
                return
            }
            pending = []  // the reader closed its end: drop the input
            break
        }
        if inputEnded {
            close(writeEnd)
            writeEnd = -1
        } else {
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        }
    }
}
