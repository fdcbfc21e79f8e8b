#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine
import NIOCore
import Synchronization

/// What `--time` measures: open connections and requests in flight. The
/// service exits after that many seconds with neither, as Podman's does.
final class Activity: Sendable {
    private struct State {
        var connections = 0
        var requests = 0
        var idleSince = Timestamp.monotonicMilliseconds()
    }
    private let state = Mutex(State())

    func connectionOpened() { state.withLock { $0.connections += 1 } }

    func connectionClosed() {
        state.withLock {
            $0.connections -= 1
            $0.idleSince = Timestamp.monotonicMilliseconds()
        }
    }

    /// A hijacked connection: its HTTP handler (which counted it open and
    /// would have counted it closed) has left the pipeline, so its close is
    /// counted when the channel closes.
    func hijacked(_ channel: any Channel) {
        channel.closeFuture.whenComplete { _ in self.connectionClosed() }
    }

    func requestStarted() { state.withLock { $0.requests += 1 } }

    func requestEnded() {
        state.withLock {
            $0.requests -= 1
            $0.idleSince = Timestamp.monotonicMilliseconds()
        }
    }

    /// Milliseconds without a connection, or nil while one is open.
    var idleMilliseconds: Int64? {
        state.withLock { s in
            s.connections > 0 || s.requests > 0 ? nil : Timestamp.monotonicMilliseconds() - s.idleSince
        }
    }
}
