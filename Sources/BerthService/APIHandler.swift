import BerthCore
import Dispatch
import NIOCore
import NIOHTTP1

/// Reads one request at a time from a connection and hands it, whole, to
/// the router on a worker thread: every engine call blocks (locks, waits
/// on processes), so none runs on the event loop, and a slow one (a
/// `wait`, a followed log) holds only its own thread.
final class APIHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Bodies larger than this are refused (413): the routes served read
    /// JSON documents, not archives.
    static let bodyLimit = 64 << 20

    private let router: Router
    private let activity: Activity
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(router: Router, activity: Activity) {
        self.router = router
        self.activity = activity
    }

    func channelActive(context: ChannelHandlerContext) {
        activity.connectionOpened()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        activity.connectionClosed()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Hijacked: the connection lives on as a raw stream, still counted
        // until it closes (the raw handler has no count of its own).
        if context.channel.isActive { activity.hijacked(context.channel) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            tooLarge = false
        case .body(var buffer):
            if body.count + buffer.readableBytes > Self.bodyLimit {
                tooLarge = true
            } else if let bytes = buffer.readBytes(length: buffer.readableBytes) {
                body += bytes
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let responder = Responder(channel: context.channel, keepAlive: head.isKeepAlive)
            if tooLarge {
                responder.send(APIError.message("request body too large", status: 413))
                return
            }
            let request = (head.method.rawValue, head.uri, head.headers.map { ($0.name, $0.value) }, body)
            body = []
            let router = self.router
            activity.requestStarted()
            let activity = self.activity
            Workers.queue.async {
                router.handle(
                    method: request.0, uri: request.1, headers: request.2, body: request.3, responder: responder)
                activity.requestEnded()
            }
        }
    }
}

/// The worker threads. A concurrent queue whose blocked items do not hold
/// back the others (Dispatch adds threads for them), as each stream, wait
/// and attach blocks its own thread for as long as it lasts.
enum Workers {
    static let queue = DispatchQueue(label: "berth.api.workers", attributes: .concurrent)
}
