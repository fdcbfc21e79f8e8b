import BerthCore
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1

/// Reads one request at a time from a connection and hands it, whole, to
/// the router on a worker thread: every engine call blocks (locks, waits
/// on processes), so none runs on the event loop, and a slow one (a
/// `wait`, a followed log) holds only its own thread.
final class APIHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Bodies larger than this are refused (413), except archives, which
    /// are spooled to a file in the store's tmp/ (`Spool`) as they arrive.
    static let bodyLimit = 64 << 20

    private let router: Router
    private let activity: Activity
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false
    private var spool: Spool?

    init(router: Router, activity: Activity) {
        self.router = router
        self.activity = activity
    }

    func channelActive(context: ChannelHandlerContext) {
        activity.connectionOpened()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        spool?.discard()
        spool = nil
        activity.connectionClosed()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Hijacked: the connection lives on as a raw stream, counted until
        // it closes (channelInactive will not reach this handler any more).
        if context.channel.isActive { activity.hijacked(context.channel) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            tooLarge = false
            spool?.discard()
            spool = Spool.wanted(method: h.method.rawValue, uri: h.uri) ? Spool(layout: router.engine.layout) : nil
        case .body(var buffer):
            if let spool {
                buffer.withUnsafeReadableBytes { spool.write($0) }
            } else if body.count + buffer.readableBytes > Self.bodyLimit {
                tooLarge = true
            } else if let bytes = buffer.readBytes(length: buffer.readableBytes) {
                body += bytes
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let responder = Responder(channel: context.channel, keepAlive: head.isKeepAlive)
            let spooled = spool
            spool = nil
            if tooLarge || spooled?.failure != nil {
                spooled?.discard()
                let text = spooled?.failure ?? "request body too large (over 64 MiB)"
                responder.send(APIError.message(text, status: spooled == nil ? 413 : 500))
                return
            }
            spooled?.finish()
            let request = (head.method.rawValue, head.uri, head.headers.map { ($0.name, $0.value) }, body)
            body = []
            let router = self.router
            activity.requestStarted()
            let activity = self.activity
            let bodyFile = spooled?.file
            let started = Workers.run {
                router.handle(
                    method: request.0, uri: request.1, headers: request.2, body: request.3, bodyFile: bodyFile,
                    responder: responder)
                spooled?.discard()
                activity.requestEnded()
            }
            if !started {
                spooled?.discard()
                activity.requestEnded()
                let busy = APIError.message("no thread for the request (pthread_create failed); try again", status: 503)
                responder.send(busy)
            }
        }
    }
}

/// The worker threads: one detached thread per request, as each stream,
/// wait and attach blocks its thread for as long as it lasts. (A Dispatch
/// queue was measured here first: with two cores it runs two blocked items
/// at a time and adds a thread only after about a second, so the first
/// `docker run` of a service, whose attach and wait block while its start
/// queues, took 1.05 s instead of 60 ms.)
enum Workers {
    private final class Job {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread; false if none could be made.
    @discardableResult
    static func run(_ body: @escaping @Sendable () -> Void) -> Bool {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 512 * 1024)
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, &attributes,
            { raw in
                let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                job.body()
                return nil
            }, job)
        if rc != 0 { Unmanaged<Job>.fromOpaque(job).release() }
        return rc == 0
    }
}

/// A request body written to a private file under the store's tmp/ as it
/// arrives (archives: `load`, `import`, `PUT …/archive`), so its size is
/// bounded by the disk, not by memory. The staging directory is named
/// after this process, so a killed service's leftovers are swept by the
/// next `berth` that opens the store.
final class Spool: @unchecked Sendable {
    let directory: String
    let file: String
    private var fd: Int32
    private(set) var failure: String?

    /// Routes whose body is an archive.
    static func wanted(method: String, uri: String) -> Bool {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        switch method {
        case "POST":
            return path.hasSuffix("/images/load") || path.hasSuffix("/build")
                || (path.hasSuffix("/images/create") && uri.contains("fromSrc=-"))
        case "PUT": return path.hasSuffix("/archive")
        default: return false
        }
    }

    init(layout: StoreLayout) {
        let dir = (try? layout.makeStaging("api-body")) ?? ""
        directory = dir
        file = dir + "/body"
        fd = dir.isEmpty ? -1 : open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 { failure = "cannot spool the request body under \(layout.tmp): \(Errno.current)" }
    }

    func write(_ bytes: UnsafeRawBufferPointer) {
        guard fd >= 0, failure == nil else { return }
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                failure = "cannot write the request body to \(file): \(Errno.current)"
                return
            }
            off += n
        }
    }

    func finish() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    func discard() {
        finish()
        if !directory.isEmpty { try? FileSystem.removeTree(directory) }
    }
}
