#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The monitor's file descriptors and its poll loop: container output to the
/// log and to every attached client, client input to the container.
struct MonitorIO {
    var signals: Int32 = -1
    /// pty master (tty mode), or -1.
    var master: Int32 = -1
    /// Our ends of the stdio pipes (non-tty mode).
    var stdinWrite: Int32 = -1
    var stdoutRead: Int32 = -1
    var stderrRead: Int32 = -1
    /// The monitor's end of the console socketpair (pty opened inside).
    var consoleParent: Int32 = -1
    /// fds only the child needs; closed after the clone.
    var childEnds: [Int32] = []
    var listener: Int32 = -1
    var clients: [Int32: FrameReader] = [:]

    /// Creates the container's stdio; returns the fds for the child, the tty
    /// mode and the console socket.
    mutating func prepare(tty: Bool, ptyInside: Bool, openStdin: Bool) throws(BerthError) -> ([Int32], Int32, Int32) {
        if tty && ptyInside {
            var pair: [Int32] = [-1, -1]
            guard berth_socketpair(&pair) == 0 else { throw .syscall("socketpair", "console", .current) }
            consoleParent = pair[0]
            childEnds.append(pair[1])
            return ([-1, -1, -1], Int32(BERTH_TTY_INSIDE.rawValue), pair[1])
        }
        if tty {
            var m: Int32 = -1, s: Int32 = -1
            guard berth_openpty(&m, &s) == 0 else { throw .syscall("openpty", "for the container", .current) }
            master = m
            _ = berth_set_nonblocking(m, 1)
            childEnds.append(s)
            return ([s, s, s], Int32(BERTH_TTY_STDIO.rawValue), -1)
        }
        var fds: [Int32] = [-1, -1, -1]
        var p: [Int32] = [-1, -1]
        if openStdin {
            guard berth_pipe_cloexec(&p) == 0 else { throw .syscall("pipe", "stdin", .current) }
            fds[0] = p[0]; stdinWrite = p[1]; childEnds.append(p[0])
        }
        guard berth_pipe_cloexec(&p) == 0 else { throw .syscall("pipe", "stdout", .current) }
        fds[1] = p[1]; stdoutRead = p[0]; childEnds.append(p[1])
        guard berth_pipe_cloexec(&p) == 0 else { throw .syscall("pipe", "stderr", .current) }
        fds[2] = p[1]; stderrRead = p[0]; childEnds.append(p[1])
        _ = berth_set_nonblocking(stdoutRead, 1)
        _ = berth_set_nonblocking(stderrRead, 1)
        return (fds, Int32(BERTH_TTY_NONE.rawValue), -1)
    }

    mutating func closeChildEnds() {
        for fd in childEnds { Glibc.close(fd) }
        childEnds = []
    }

    /// Receives the pty master the child opened on its own devpts.
    mutating func receiveMaster() {
        guard consoleParent >= 0 else { return }
        let fd = berth_recv_fd(consoleParent)
        Glibc.close(consoleParent)
        consoleParent = -1
        if fd >= 0 {
            master = fd
            _ = berth_set_nonblocking(fd, 1)
        }
    }

    mutating func listen(_ path: String) {
        unlink(path)
        listener = berth_unix_listen(path)
    }

    /// Waits for the first attach client, so `run` sees output from the very start.
    mutating func awaitFirstClient(timeoutMs: Int32) {
        guard listener >= 0 else { return }
        var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, timeoutMs) > 0 { accept() }
    }

    mutating func accept() {
        while true {
            let fd = berth_accept(listener)
            if fd < 0 { return }
            clients[fd] = FrameReader()
        }
    }

    mutating func broadcast(_ frame: Frame) {
        let bytes = frame.encoded
        for fd in clients.keys where !writeFully(fd, bytes) { drop(fd) }
    }

    mutating func drop(_ fd: Int32) {
        Glibc.close(fd)
        clients[fd] = nil
    }

    mutating func close(socketPath: String) {
        for fd in clients.keys { Glibc.close(fd) }
        clients = [:]
        if listener >= 0 { Glibc.close(listener); unlink(socketPath) }
    }

    /// Relays until PID 1 exits; returns its exit code (128+N for signal N).
    mutating func loop(child: Int32, tty: Bool, log: (String, [UInt8]) -> Void) -> Int32 {
        var exitCode: Int32?
        while exitCode == nil {
            var fds = pollSet()
            if poll(&fds, nfds_t(fds.count), -1) < 0 && errno != EINTR { break }
            for p in fds where p.revents != 0 {
                if p.fd == signals {
                    exitCode = reap(child) ?? exitCode
                } else if p.fd == listener {
                    accept()
                } else if p.fd == master || p.fd == stdoutRead || p.fd == stderrRead {
                    pump(p.fd, log)
                } else {
                    serve(p.fd, tty: tty)
                }
            }
        }
        // PID 1 is gone: take whatever output is still buffered.
        for fd in [master, stdoutRead, stderrRead] where fd >= 0 { pump(fd, log, drain: true) }
        return exitCode ?? 255
    }

    private func pollSet() -> [pollfd] {
        var list = [signals, listener, master, stdoutRead, stderrRead].filter { $0 >= 0 }
        list += clients.keys
        return list.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    }

    private func reap(_ child: Int32) -> Int32? {
        while berth_signalfd_read(signals) > 0 {}
        var status: Int32 = 0
        let pid = waitpid(child, &status, WNOHANG)
        guard pid == child else { return nil }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    private mutating func pump(_ fd: Int32, _ log: (String, [UInt8]) -> Void, drain: Bool = false) {
        repeat {
            guard let bytes = readAvailable(fd) else {
                stopReading(fd)
                return
            }
            if bytes.isEmpty { return }
            let isErr = fd == stderrRead
            log(isErr ? "stderr" : "stdout", bytes)
            broadcast(isErr ? .stderr(bytes) : .stdout(bytes))
        } while drain
    }

    private mutating func stopReading(_ fd: Int32) {
        Glibc.close(fd)
        if fd == master { master = -1 }
        if fd == stdoutRead { stdoutRead = -1 }
        if fd == stderrRead { stderrRead = -1 }
    }

    private mutating func serve(_ fd: Int32, tty: Bool) {
        guard let bytes = readAvailable(fd) else { drop(fd); return }
        guard var reader = clients[fd] else { return }
        let frames = reader.feed(bytes[...])
        clients[fd] = reader
        for frame in frames {
            switch frame {
            case .stdin(let data):
                let target = tty ? master : stdinWrite
                if target >= 0 { writeFully(target, data) }
            case .stdinEOF where !tty && stdinWrite >= 0:
                Glibc.close(stdinWrite)
                stdinWrite = -1
            case .resize(let rows, let cols) where master >= 0:
                _ = berth_set_winsize(master, rows, cols)
            default:
                break
            }
        }
    }
}
