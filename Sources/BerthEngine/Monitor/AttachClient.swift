#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// How an attach session ended.
public enum AttachOutcome: Equatable, Sendable {
    /// The container exited with this code.
    case exited(Int32)
    /// The user pressed the detach keys; the container keeps running.
    case detached
    /// The container failed to start.
    case failed(Int32, String)
    /// The monitor went away without an exit report.
    case lost
}

/// The client side of the attach socket: relays the user's terminal or
/// streams to a container and its output back, in raw mode when `-t`.
public struct AttachClient {
    /// The connected socket.
    public let socket: Int32
    /// Forward stdin to the container.
    public var sendStdin: Bool
    /// The container has a tty: put our terminal in raw mode and pass resizes.
    public var tty: Bool
    /// The byte sequence that detaches (Ctrl-P Ctrl-Q by default).
    public var detachKeys: [UInt8] = [0x10, 0x11]
    /// Where to send a proxied signal (SIGINT/SIGTERM without a tty), or 0.
    public var signalTarget: Int32 = 0
    /// Output fds.
    public var stdout: Int32 = 1
    public var stderr: Int32 = 2
    public var stdin: Int32 = 0

    /// Connects to a container's attach socket.
    public static func connect(containerDirectory: String) throws(BerthError) -> Int32 {
        let fd = berth_unix_connect(containerDirectory + "/" + StoreLayout.attachSocket)
        if fd < 0 {
            throw .syscall("connect to the monitor of", FileSystem.baseName(containerDirectory), .current,
                           fix: "the container's monitor is gone; restart it with 'berth start'")
        }
        return fd
    }

    /// Wraps a connected socket.
    public init(socket: Int32, sendStdin: Bool, tty: Bool) {
        self.socket = socket
        self.sendStdin = sendStdin
        self.tty = tty
    }

    /// Relays until the container exits, the user detaches, or the monitor goes.
    public func run() -> AttachOutcome {
        var saved = [UInt8](repeating: 0, count: Int(berth_termios_size()))
        let raw = tty && sendStdin && isatty(stdin) == 1 && berth_make_raw(stdin, &saved, Int32(saved.count)) == 0
        defer { if raw { _ = berth_restore_termios(stdin, saved) } }
        let signals = berth_signalfd([SIGWINCH, SIGINT, SIGTERM], 3)
        defer { if signals >= 0 { close(signals) }; berth_unblock_signals_only([SIGWINCH, SIGINT, SIGTERM], 3) }
        if tty { sendResize() }
        return relay(signals: signals)
    }

    private func relay(signals: Int32) -> AttachOutcome {
        var reader = FrameReader()
        var failure: String?
        var stdinOpen = sendStdin
        var matched = 0
        while true {
            var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            if stdinOpen { fds.append(pollfd(fd: stdin, events: Int16(POLLIN), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 { if errno == EINTR { continue }; return .lost }
            if fds[1].revents != 0 { handleSignal(signals) }
            if fds[0].revents != 0 {
                guard let bytes = readAvailable(socket) else { return .lost }
                for frame in reader.feed(bytes[...]) {
                    switch frame {
                    case .stdout(let b): writeFully(stdout, b)
                    case .stderr(let b): writeFully(stderr, b)
                    case .exit(let code): return failure.map { .failed(code, $0) } ?? .exited(code)
                    case .error(let message): failure = message   // the exit frame with the code follows
                    default: break
                    }
                }
            }
            if stdinOpen, fds.count > 2, fds[2].revents != 0 {
                guard let input = readAvailable(stdin), !input.isEmpty else {
                    stdinOpen = false
                    writeFully(socket, Frame.stdinEOF.encoded)
                    continue
                }
                guard tty else { forward(input); continue }
                let (kept, detached) = scanDetach(input, &matched)
                forward(kept)
                if detached { return .detached }
            }
        }
    }

    /// Passes input through, holding back a partial detach sequence; reports
    /// whether the whole sequence was typed.
    private func scanDetach(_ input: [UInt8], _ matched: inout Int) -> ([UInt8], Bool) {
        var out: [UInt8] = []
        for byte in input {
            if byte == detachKeys[matched] {
                matched += 1
                if matched == detachKeys.count { return (out, true) }
                continue
            }
            out += detachKeys[0..<matched]
            matched = byte == detachKeys[0] ? 1 : 0
            if matched == 0 { out.append(byte) }
        }
        return (out, false)
    }

    private func forward(_ bytes: [UInt8]) {
        if !bytes.isEmpty { writeFully(socket, Frame.stdin(bytes).encoded) }
    }

    private func handleSignal(_ fd: Int32) {
        while true {
            let sig = berth_signalfd_read(fd)
            if sig <= 0 { return }
            if sig == SIGWINCH { sendResize() }
            else if signalTarget > 0 { kill(signalTarget, sig) }   // --sig-proxy, as Docker does without a tty
        }
    }

    private func sendResize() {
        var rows: UInt16 = 0, cols: UInt16 = 0
        if berth_get_winsize(isatty(stdin) == 1 ? stdin : 1, &rows, &cols) == 0, rows > 0 {
            writeFully(socket, Frame.resize(rows, cols).encoded)
        }
    }
}
