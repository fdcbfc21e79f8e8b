#if canImport(Glibc)
import Glibc
#endif

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

    var type: UInt8 {
        switch self {
        case .stdin: return 0
        case .stdout: return 1
        case .stderr: return 2
        case .exit: return 3
        case .error: return 4
        case .resize: return 5
        case .stdinEOF: return 6
        }
    }

    var payload: [UInt8] {
        switch self {
        case .stdin(let b), .stdout(let b), .stderr(let b): return b
        case .exit(let code): return Array(String(code).utf8)
        case .error(let m): return Array(m.utf8)
        case .resize(let r, let c): return Array("\(r) \(c)".utf8)
        case .stdinEOF: return []
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
        default: return nil
        }
    }
}

/// Reassembles frames from a byte stream.
public struct FrameReader: Sendable {
    private var buffer: [UInt8] = []

    public init() {}

    /// Adds received bytes; returns every complete frame.
    public mutating func feed(_ bytes: ArraySlice<UInt8>) -> [Frame] {
        buffer.append(contentsOf: bytes)
        var frames: [Frame] = []
        while buffer.count >= 8 {
            let n = Int(buffer[4]) << 24 | Int(buffer[5]) << 16 | Int(buffer[6]) << 8 | Int(buffer[7])
            guard buffer.count >= 8 + n else { break }
            if let frame = Frame.decode(type: buffer[0], Array(buffer[8..<8 + n])) { frames.append(frame) }
            buffer.removeFirst(8 + n)
        }
        return frames
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
            if poll(&p, 1, 1000) <= 0 { return false }   // a client that stops reading is dropped
            continue
        }
        return false
    }
    return true
}
