#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine

/// Moves bytes between a hijacked connection and a container's monitor
/// (its attach socket, Berth's own frames) or an exec's pipes, framing
/// output as Docker does: raw for a TTY, else the 8-byte stdcopy header
/// (stream 1 stdout, 2 stderr, 3 an error; the length big-endian).
enum Relay {
    /// One Docker stdcopy frame; never an empty one.
    static func dockerFrame(_ stream: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [stream, 0, 0, 0, UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + payload
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// What an attach relay is to pass on.
    struct Streams {
        var stdin: Bool
        var stdout: Bool
        var stderr: Bool
        var tty: Bool
    }

    /// Docker's default detach keys, Ctrl-P Ctrl-Q, read from the client's
    /// stdin by the server as dockerd does (the CLI sends them through).
    static let detachKeys: [UInt8] = [0x10, 0x11]

    /// Passes input through, holding back a partial detach sequence;
    /// reports whether the whole sequence was typed.
    static func scanDetach(_ input: ArraySlice<UInt8>, _ matched: inout Int) -> ([UInt8], Bool) {
        DetachSequence.scan(input, keys: detachKeys, matched: &matched)
    }

    /// Relays a monitor's attach socket until the container exits, the
    /// monitor goes, the client leaves or types the detach keys. Stdin from
    /// the client goes as stdin frames; its end (the CLI's CloseWrite) as
    /// stdin EOF. Detaching closes only this connection: the container's
    /// stdin stays open for the next attach.
    /// Returns the exit code if the monitor sent one.
    @discardableResult
    static func attach(socket: Int32, _ stream: RawStream, _ s: Streams) -> Int32? {
        var reader = FrameReader()
        var fds = [
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: s.stdin ? stream.input : -1, events: Int16(POLLIN), revents: 0),
        ]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var matched = 0
        loop: while true {
            let n = poll(&fds, 2, -1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if fds[1].revents != 0 {
                let got = read(stream.input, &buffer, buffer.count)
                if got > 0 {
                    let (input, detached) = scanDetach(buffer[0..<got], &matched)
                    if !input.isEmpty && !writeAll(socket, Frame.stdin(input).encoded) { break }
                    if detached { break }
                } else if got == 0 || (errno != EINTR && errno != EAGAIN) {
                    _ = writeAll(socket, Frame.stdinEOF.encoded)
                    fds[1].fd = -1
                }
            }
            if fds[0].revents != 0 {
                let got = read(socket, &buffer, buffer.count)
                if got < 0 && errno == EINTR { continue }
                if got <= 0 { break }
                for frame in reader.feed(buffer[0..<got]) {
                    switch frame {
                    case .stdout(let b) where s.stdout:
                        if !stream.write(s.tty ? b : dockerFrame(1, b)) { break loop }
                    case .stderr(let b) where s.stderr:
                        if !stream.write(s.tty ? b : dockerFrame(2, b)) { break loop }
                    case .error(let m):
                        // The process could not start after the attach (a
                        // missing command): on stderr, as `berth run` shows it;
                        // the wait then answers the exit code (126, 127).
                        let text = Array(("docker: Error response from daemon: " + m + "\n").utf8)
                        if !stream.write(s.tty ? text : dockerFrame(2, text)) { break loop }
                    case .stdinClosed: fds[1].fd = -1
                    case .exit(let code): return code
                    default: break
                    }
                }
            }
        }
        return nil
    }

    /// Pumps an exec's stdout and stderr pipes to the client until both end.
    static func pipes(out: Int32, err: Int32, _ stream: RawStream, tty: Bool) {
        var fds = [
            pollfd(fd: out, events: Int16(POLLIN), revents: 0), pollfd(fd: err, events: Int16(POLLIN), revents: 0),
        ]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var clientGone = false
        while fds[0].fd >= 0 || fds[1].fd >= 0 {
            let n = poll(&fds, 2, -1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let got = read(fds[i].fd, &buffer, buffer.count)
                if got < 0 && errno == EINTR { continue }
                if got <= 0 {
                    fds[i].fd = -1
                    continue
                }
                // A client that left still has its pipes drained, so the
                // process never blocks on a full pipe.
                if !clientGone {
                    let bytes = Array(buffer[0..<got])
                    clientGone = !stream.write(tty ? bytes : dockerFrame(UInt8(i + 1), bytes))
                }
            }
        }
    }
}
