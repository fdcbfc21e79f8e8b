#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine
import CBerthLinux
import Synchronization

/// Attaches waiting for their container to start, and the live ones.
/// Docker's CLI attaches before it starts; a Berth container's streams
/// exist only once its monitor runs, so the attach waits here and `start`
/// holds the process until it has connected (`waitAttach`), as `berth run`.
/// Memory only: a restarted service has no attach open, as dockerd.
final class AttachTable: Sendable {
    private struct Entry {
        var waiters = 0
        var generation = 0
        /// A start by this service is under way: its attaches wait for it to
        /// return, not for the record to say running. (The monitor records
        /// running before `start` has saved; an attach connecting then lets
        /// a `--rm` container run, exit and vanish under `start`'s save.)
        var starting = false
        var failure: String?
        /// Connected relays' sockets: where a resize goes.
        var sockets: [Int32] = []
    }
    private let state = Mutex<[String: Entry]>([:])
    /// Exit codes relays saw in the monitor's exit frame, for a `wait` on a
    /// container that is gone without a `die` event (a `--rm` container
    /// whose command could not start). Bounded: the oldest go first.
    private let exits = Mutex<[(String, Int32)]>([])

    func exited(_ id: String, _ code: Int32) {
        exits.withLock { list in
            list.append((id, code))
            if list.count > 256 { list.removeFirst(list.count - 256) }
        }
    }

    func exitCode(_ id: String) -> Int32? { exits.withLock { $0.last { $0.0 == id }?.1 } }

    /// `HostConfig.ConsoleSize` of containers created here, for their
    /// first start: the pty has the client's size before the process runs.
    private let sizes = Mutex<[String: WindowSize]>([:])

    func setConsoleSize(_ id: String, _ size: WindowSize) {
        sizes.withLock { t in
            if t.count >= 1024 { t.removeAll() }  // containers never started: bounded, a size is only a start's hint
            t[id] = size
        }
    }

    func takeConsoleSize(_ id: String) -> WindowSize? { sizes.withLock { $0.removeValue(forKey: id) } }

    /// Registers a waiter; returns the generation to wait past.
    func register(_ id: String) -> Int {
        state.withLock { t in
            t[id, default: Entry()].waiters += 1
            return t[id]!.generation
        }
    }

    func unregister(_ id: String) {
        state.withLock { t in
            t[id]?.waiters -= 1
            if let e = t[id], e.waiters <= 0, e.sockets.isEmpty { t[id] = nil }
        }
    }

    /// Whether an attach waits; if so, marks a start by this service as under way.
    func beginStart(_ id: String) -> Bool {
        state.withLock { t in
            guard (t[id]?.waiters ?? 0) > 0 else { return false }
            t[id]?.starting = true
            return true
        }
    }

    func started(_ id: String) {
        state.withLock { t in
            t[id]?.starting = false
            t[id]?.generation += 1
        }
    }

    func failed(_ id: String, _ message: String) {
        state.withLock { t in
            t[id]?.starting = false
            t[id]?.failure = message
            t[id]?.generation += 1
        }
    }

    /// (generation, failure, a start under way) now.
    func status(_ id: String) -> (Int, String?, Bool) {
        state.withLock { ($0[id]?.generation ?? 0, $0[id]?.failure, $0[id]?.starting ?? false) }
    }

    func connected(_ id: String, socket: Int32) { state.withLock { $0[id, default: Entry()].sockets.append(socket) } }

    func disconnected(_ id: String, socket: Int32) {
        state.withLock { t in
            t[id]?.sockets.removeAll { $0 == socket }
            if let e = t[id], e.waiters <= 0, e.sockets.isEmpty { t[id] = nil }
        }
    }

    /// Sends a resize through a connected relay; false if none is.
    func resize(_ id: String, _ size: WindowSize) -> Bool {
        state.withLock { t in
            guard let fd = t[id]?.sockets.first else { return false }
            return Relay.writeAll(fd, Frame.resize(size.rows, size.columns).encoded)
        }
    }
}

/// An exec instance (`POST /containers/ID/exec`) until the service exits:
/// Docker keeps them in memory too.
struct ExecRecord: Sendable {
    /// Creation order, for forgetting the oldest finished ones first.
    let serial: Int = Self.next()
    var id: String
    var containerID: String
    var options: ExecOptions
    var attachStdout: Bool
    var attachStderr: Bool
    var running = false
    var started = false
    var exitCode: Int32?
    /// The pty's master while a `Tty` exec runs (-1 otherwise): `resize` sets its size.
    var terminal: Int32 = -1

    private static let serials = Mutex(0)
    private static func next() -> Int {
        serials.withLock {
            $0 += 1; return $0
        }
    }
}

final class ExecTable: Sendable {
    private let state = Mutex<[String: ExecRecord]>([:])

    /// Finished execs kept for `GET /exec/ID/json` before the oldest go.
    static let keepFinished = 1024

    func add(_ r: ExecRecord) {
        state.withLock { t in
            t[r.id] = r
            let finished = t.values.filter { $0.exitCode != nil }
            if finished.count > Self.keepFinished {
                // Bounded memory in a long-running service; dockerd also
                // forgets exec instances (when their container goes).
                for old in finished.sorted(by: { $0.serial < $1.serial }).prefix(finished.count - Self.keepFinished) {
                    t[old.id] = nil
                }
            }
        }
    }

    func find(_ id: String) throws(BerthError) -> ExecRecord {
        guard let r = state.withLock({ $0[id] }) else { throw .notFound("No such exec instance: \(id)") }
        return r
    }

    func update(_ id: String, _ change: (inout ExecRecord) -> Void) {
        state.withLock { t in
            if var r = t[id] {
                change(&r)
                t[id] = r
            }
        }
    }

    /// Sets the pty size of a running `Tty` exec; false if it has none.
    func resize(_ id: String, _ size: WindowSize) -> Bool {
        state.withLock { t in
            guard let fd = t[id]?.terminal, fd >= 0 else { return false }
            return berth_set_winsize(fd, size.rows, size.columns) == 0
        }
    }

    /// Marks it started; false if it was already (Docker's 409).
    func begin(_ id: String) -> Bool {
        state.withLock { t in
            guard var r = t[id], !r.started else { return false }
            r.started = true
            r.running = true
            t[id] = r
            return true
        }
    }
}
