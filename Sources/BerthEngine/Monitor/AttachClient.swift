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
    /// SIGINT or SIGTERM ended the attach (no --sig-proxy); the container runs on.
    case interrupted(Int32)
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
    /// Which output streams are shown (`run -a stdout` leaves stderr out);
    /// the other's frames are read and dropped, as a closed reader's are.
    public var showStdout = true
    public var showStderr = true

    /// Connects to a container's attach socket.
    public static func connect(containerDirectory: String) throws(BerthError) -> Int32 {
        let fd = berth_unix_connect(containerDirectory + "/" + StoreLayout.attachSocket)
        if fd < 0 {
            throw .syscall(
                "connect to the monitor of", FileSystem.baseName(containerDirectory), .current,
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
        // A reader of our output that went away (`| head`) must not kill us
        // with SIGPIPE: the container's exit code is what we return.
        let oldPipe = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, oldPipe) }
        let signals = berth_signalfd([SIGWINCH, SIGINT, SIGTERM], 3)
        defer { if signals >= 0 { close(signals) }; berth_unblock_signals_only([SIGWINCH, SIGINT, SIGTERM], 3) }
        _ = berth_set_nonblocking(socket, 1)
        var relay = Relay(client: self, signals: signals)
        // The pty got our size before its process started (`--size` of the
        // monitor); this covers `attach` to a container someone else started.
        let size = terminalSize()
        if tty && size.rows > 0 { relay.toSocket.append(Frame.resize(size.rows, size.columns).encoded) }
        return relay.run()
    }

    /// The relay's state: a bounded queue per direction (see `ByteQueue`),
    /// so that nothing waits on one fd while another has data.
    private struct Relay {
        let client: AttachClient
        let signals: Int32
        var reader = FrameReader()
        /// Frames for the monitor: stdin, resizes, end of input.
        var toSocket = ByteQueue()
        var toStdout = ByteQueue()
        var toStderr = ByteQueue()
        var failure: String?
        var stdinOpen: Bool
        /// We cannot write to the monitor any more: only read what it says.
        var socketWriteClosed = false
        /// Whoever read our stdout or stderr is gone: that output is dropped.
        var stdoutGone = false
        var stderrGone = false
        var matched = 0
        let stdoutChunk: Int
        let stderrChunk: Int

        init(client: AttachClient, signals: Int32) {
            self.client = client
            self.signals = signals
            stdinOpen = client.sendStdin
            stdoutGone = !client.showStdout
            stderrGone = !client.showStderr
            stdoutChunk = ByteQueue.chunk(for: client.stdout)
            stderrChunk = ByteQueue.chunk(for: client.stderr)
        }

        mutating func run() -> AttachOutcome {
            while true {
                let outputFull = toStdout.isFull || toStderr.isFull
                var fds = [
                    pollfd(
                        fd: client.socket,
                        events: Int16(
                            (outputFull ? 0 : POLLIN)
                                | (toSocket.isEmpty ? 0 : POLLOUT)), revents: 0),
                    pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: toStdout.isEmpty ? -1 : client.stdout, events: Int16(POLLOUT), revents: 0),
                    pollfd(fd: toStderr.isEmpty ? -1 : client.stderr, events: Int16(POLLOUT), revents: 0),
                    pollfd(fd: stdinOpen && !toSocket.isFull ? client.stdin : -1, events: Int16(POLLIN), revents: 0),
                ]
                if fds[0].events == 0 { fds[0].fd = -1 }
                if poll(&fds, nfds_t(fds.count), -1) < 0 {
                    if errno == EINTR { continue }
                    return .lost
                }
                if fds[1].revents != 0, let outcome = handleSignals() { return outcome }
                if fds[2].revents != 0 { flushStdout() }
                if fds[3].revents != 0 { flushStderr() }
                if fds[0].revents & Int16(POLLOUT | POLLERR | POLLHUP) != 0 && !toSocket.isEmpty { flushSocket() }
                if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 && !outputFull {
                    guard let bytes = readAvailable(client.socket) else {
                        // The monitor closed: deliver what we hold, then report.
                        finishOutput()
                        return .lost
                    }
                    for frame in reader.feed(bytes[...]) {
                        switch frame {
                        case .stdout(let b): if !stdoutGone { toStdout.append(b) }
                        case .stderr(let b): if !stderrGone { toStderr.append(b) }
                        case .exit(let code):
                            finishOutput()
                            return failure.map { .failed(code, $0) } ?? .exited(code)
                        case .error(let message): failure = message  // the exit frame with the code follows
                        case .stdinClosed: stopStdin()
                        default: break
                        }
                    }
                    flushStdout()
                    flushStderr()
                }
                if fds[4].revents != 0, let outcome = readStdin() { return outcome }
            }
        }

        /// Reads the user's input into frames for the monitor.
        mutating func readStdin() -> AttachOutcome? {
            guard let input = readAvailable(client.stdin), !input.isEmpty else {
                stdinOpen = false
                send(Frame.stdinEOF.encoded)
                return nil
            }
            guard client.tty else { send(Frame.stdin(input).encoded); return nil }
            let (kept, detached) = client.scanDetach(input, &matched)
            if !kept.isEmpty { send(Frame.stdin(kept).encoded) }
            return detached ? .detached : nil
        }

        mutating func send(_ bytes: [UInt8]) {
            guard !socketWriteClosed else { return }
            toSocket.append(bytes)
            flushSocket()
        }

        mutating func flushSocket() {
            if toSocket.flush(to: client.socket, socket: true) == .failed {
                // The monitor is closing (the container exited): stop
                // sending, but read on, the exit code is on its way.
                socketWriteClosed = true
                toSocket.removeAll()
                stdinOpen = false
            }
        }

        /// The container took no more input: stop reading ours.
        mutating func stopStdin() {
            stdinOpen = false
            toSocket.removeAll()
        }

        mutating func flushStdout() {
            if !toStdout.isEmpty && toStdout.flush(to: client.stdout, chunk: stdoutChunk) == .failed {
                stdoutGone = true
                toStdout.removeAll()
            }
        }

        mutating func flushStderr() {
            if !toStderr.isEmpty && toStderr.flush(to: client.stderr, chunk: stderrChunk) == .failed {
                stderrGone = true
                toStderr.removeAll()
            }
        }

        /// The container is done: hand over all its output, waiting as long
        /// as our reader needs (a signal still ends the wait).
        mutating func finishOutput() {
            while !toStdout.isEmpty || !toStderr.isEmpty {
                var fds = [
                    pollfd(fd: toStdout.isEmpty ? -1 : client.stdout, events: Int16(POLLOUT), revents: 0),
                    pollfd(fd: toStderr.isEmpty ? -1 : client.stderr, events: Int16(POLLOUT), revents: 0),
                    pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
                ]
                if poll(&fds, 3, -1) < 0 && errno != EINTR { return }
                if fds[2].revents != 0, handleSignals() != nil { return }
                if fds[0].revents != 0 { flushStdout() }
                if fds[1].revents != 0 { flushStderr() }
            }
        }

        /// SIGWINCH resizes; SIGINT and SIGTERM go to the container with
        /// --sig-proxy (no tty), and otherwise end the attach, leaving the
        /// container running, as Docker does.
        mutating func handleSignals() -> AttachOutcome? {
            while true {
                let sig = berth_signalfd_read(signals)
                if sig <= 0 { return nil }
                if sig == SIGWINCH {
                    let size = client.terminalSize()
                    if size.rows > 0 { send(Frame.resize(size.rows, size.columns).encoded) }
                } else if client.signalTarget > 0 {
                    kill(client.signalTarget, sig)
                } else {
                    return .interrupted(sig)
                }
            }
        }
    }

    /// Passes input through, holding back a partial detach sequence; reports
    /// whether the whole sequence was typed.
    fileprivate func scanDetach(_ input: [UInt8], _ matched: inout Int) -> ([UInt8], Bool) {
        DetachSequence.scan(input, keys: detachKeys, matched: &matched)
    }

    /// The caller's terminal size (stdin's, else stdout's); 0 0 if neither is a terminal.
    fileprivate func terminalSize() -> (rows: UInt16, columns: UInt16) {
        var rows: UInt16 = 0, cols: UInt16 = 0
        for fd in [stdin, stdout] where isatty(fd) == 1 {
            if berth_get_winsize(fd, &rows, &cols) == 0, rows > 0 { return (rows, cols) }
        }
        return (0, 0)
    }
}

/// Finding a detach sequence (ctrl-p,ctrl-q) in typed input, across reads:
/// shared by the CLI's attach and the API service's hijacked streams.
public enum DetachSequence {
    /// Passes `input` through, holding back a partial sequence (`matched`
    /// keys of it so far, kept between calls); returns what to send and
    /// whether the whole sequence was typed.
    public static func scan(_ input: some Sequence<UInt8>, keys: [UInt8], matched: inout Int) -> ([UInt8], Bool) {
        var out: [UInt8] = []
        for byte in input {
            if byte == keys[matched] {
                matched += 1
                if matched == keys.count { return (out, true) }
                continue
            }
            out += keys[0..<matched]
            matched = byte == keys[0] ? 1 : 0
            if matched == 0 { out.append(byte) }
        }
        return (out, false)
    }
}
