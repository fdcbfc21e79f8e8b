#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// A terminal's size, which a tty container's pty gets before its process starts.
public struct WindowSize: Equatable, Sendable {
    public var rows: UInt16
    public var columns: UInt16

    public init(rows: UInt16, columns: UInt16) {
        self.rows = rows
        self.columns = columns
    }

    /// The size of the terminal on `fd`, or nil if it is none (or says 0×0).
    public static func of(_ fd: Int32) -> WindowSize? {
        var rows: UInt16 = 0, cols: UInt16 = 0
        guard isatty(fd) == 1, berth_get_winsize(fd, &rows, &cols) == 0, rows > 0, cols > 0 else { return nil }
        return WindowSize(rows: rows, columns: cols)
    }

    /// `ROWSxCOLUMNS`, as the monitor's `--size` takes it.
    public var argument: String { "\(rows)x\(columns)" }

    public init?(argument: String) {
        let parts = argument.split(separator: "x")
        guard parts.count == 2, let r = UInt16(parts[0]), let c = UInt16(parts[1]), r > 0, c > 0 else { return nil }
        self.init(rows: r, columns: c)
    }
}

/// The frames monitor and attach clients exchange on the attach socket.
/// Header as Docker's stdcopy: `[type, 0, 0, 0, length (big-endian u32)]`.
public enum Frame: Equatable, Sendable {
    case stdin([UInt8])
    case stdout([UInt8])
    case stderr([UInt8])
    /// The container exited with this code; the monitor closes after it.
    case exit(Int32)
    /// The container failed to start; a message for the user.
    case error(String)
    /// The client's terminal size (rows, columns).
    case resize(UInt16, UInt16)
    /// The client's stdin reached end of file.
    case stdinEOF
    /// The container closed its stdin (or exited): a client stops reading
    /// its own, since nothing would take it.
    case stdinClosed

    var type: UInt8 {
        switch self {
        case .stdin: return 0
        case .stdout: return 1
        case .stderr: return 2
        case .exit: return 3
        case .error: return 4
        case .resize: return 5
        case .stdinEOF: return 6
        case .stdinClosed: return 7
        }
    }

    var payload: [UInt8] {
        switch self {
        case .stdin(let b), .stdout(let b), .stderr(let b): return b
        case .exit(let code): return Array(String(code).utf8)
        case .error(let m): return Array(m.utf8)
        case .resize(let r, let c): return Array("\(r) \(c)".utf8)
        case .stdinEOF, .stdinClosed: return []
        }
    }

    /// The bytes on the wire.
    public var encoded: [UInt8] {
        let p = payload
        let n = UInt32(p.count)
        return [type, 0, 0, 0, UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + p
    }

    static func decode(type: UInt8, _ p: [UInt8]) -> Frame? {
        switch type {
        case 0: return .stdin(p)
        case 1: return .stdout(p)
        case 2: return .stderr(p)
        case 3: return .exit(Int32(String(decoding: p, as: UTF8.self)) ?? 255)
        case 4: return .error(String(decoding: p, as: UTF8.self))
        case 5:
            let parts = String(decoding: p, as: UTF8.self).split(separator: " ").compactMap { UInt16($0) }
            return parts.count == 2 ? .resize(parts[0], parts[1]) : nil
        case 6: return .stdinEOF
        case 7: return .stdinClosed
        default: return nil
        }
    }
}

/// Reassembles frames from a byte stream.
public struct FrameReader: Sendable {
    private var buffer: [UInt8] = []

    public init() {}

    /// No partial frame is waiting for its rest.
    var isEmpty: Bool { buffer.isEmpty }

    /// Adds received bytes; returns every complete frame.
    public mutating func feed(_ bytes: ArraySlice<UInt8>) -> [Frame] {
        buffer.append(contentsOf: bytes)
        var frames: [Frame] = []
        var start = 0
        while buffer.count - start >= 8 {
            let n =
                Int(buffer[start + 4]) << 24 | Int(buffer[start + 5]) << 16
                | Int(buffer[start + 6]) << 8 | Int(buffer[start + 7])
            guard buffer.count - start >= 8 + n else { break }
            if let frame = Frame.decode(type: buffer[start], Array(buffer[start + 8..<start + 8 + n])) { frames.append(frame) }
            start += 8 + n
        }
        buffer.removeFirst(start)
        return frames
    }
}

/// How far a `ByteQueue.flush` got.
enum FlushResult: Equatable {
    /// Everything was written.
    case done
    /// The fd takes no more now; poll it for POLLOUT.
    case blocked
    /// The fd failed (EPIPE, ECONNRESET, EIO…): its reader is gone.
    case failed
}

/// Bytes waiting for a file descriptor that is not ready: appended at the
/// tail, written from the head without moving the rest on every write.
/// Both relays (monitor and attach client) keep one per direction and stop
/// reading the source while it holds `limit` bytes or more, so memory stays
/// bounded and a slow reader slows its writer instead of stopping the relay.
struct ByteQueue {
    /// Above this many waiting bytes a relay stops reading the source.
    static let limit = 256 * 1024

    private var storage: [UInt8] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }
    var isFull: Bool { count >= ByteQueue.limit }

    mutating func append(_ bytes: [UInt8]) { storage.append(contentsOf: bytes) }

    mutating func removeAll() {
        storage = []
        head = 0
    }

    /// Writes what `fd` takes without waiting. `chunk` caps each write, for
    /// a blocking fd (the CLI's stdout, shared with its shell: it must not
    /// be made non-blocking): a pipe that polled writable takes PIPE_BUF
    /// bytes without blocking, so the queue writes that much, polls again,
    /// and stops when the fd is full. `socket` uses send(MSG_NOSIGNAL), so a
    /// closed peer is an error, never a SIGPIPE.
    mutating func flush(to fd: Int32, chunk: Int = Int.max, socket: Bool = false) -> FlushResult {
        defer { compact() }
        while !isEmpty {
            let size = Swift.min(count, chunk)
            let n = storage.withUnsafeBytes { raw -> Int in
                let base = raw.baseAddress! + head
                return socket ? send(fd, base, size, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) : Glibc.write(fd, base, size)
            }
            if n > 0 {
                head += n
                if chunk != Int.max && !isEmpty {
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if poll(&p, 1, 0) <= 0 || p.revents & Int16(POLLOUT) == 0 {
                        return p.revents & Int16(POLLERR) != 0 ? .failed : .blocked
                    }
                }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .blocked }
            return .failed
        }
        return .done
    }

    /// The `chunk` for `flush` to `fd`: a regular file never blocks a
    /// write; anything else (pipe, tty, socket) gets PIPE_BUF bytes a write
    /// once it polled writable.
    static func chunk(for fd: Int32) -> Int {
        var st = stat()
        return fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? Int.max : Int(PIPE_BUF)
    }

    private mutating func compact() {
        if isEmpty {
            removeAll()
        } else if head >= 64 * 1024 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }
}

/// Reads what is available on a non-blocking fd: nil at end of file (or EIO,
/// which a pty master returns once every slave is closed), [] if nothing now.
func readAvailable(_ fd: Int32, max: Int = 65536) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: max)
    while true {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, max) }
        if n > 0 { return Array(buffer[0..<n]) }
        if n == 0 { return nil }
        if errno == EINTR { continue }
        if errno == EAGAIN { return [] }
        return nil
    }
}

/// Writes everything, waiting (poll) while a non-blocking fd is full.
@discardableResult
func writeFully(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        if n > 0 { offset += n; continue }
        if n < 0 && errno == EINTR { continue }
        if n < 0 && errno == EAGAIN {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&p, 1, 1000) <= 0 { return false }  // a client that stops reading is dropped
            continue
        }
        return false
    }
    return true
}
