#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The monitor's file descriptors and its poll loop: container output to the
/// log and to every attached client, client input to the container.
///
/// Nothing here blocks on one fd while another has data (the relay conmon
/// does): every fd is non-blocking, each direction has a bounded queue, and
/// a full queue pauses the reading of its source. Client input waits in
/// `toContainer`; while that holds `ByteQueue.limit` bytes the clients'
/// sockets are not read, so a container that reads slowly slows the CLI
/// feeding it, and its output keeps flowing meanwhile. Output waits per
/// client; while any client's queue is full the container's output is not
/// read (its writes block, as on a full pipe), so a slow reader loses nothing.
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
    var clients: [Int32: Client] = [:]
    /// The container has a tty: its input goes to `master`.
    var tty = false
    /// The terminal size the container starts with (rows, columns), or nil.
    var initialSize: WindowSize?
    /// Client input the container has not taken yet.
    private var toContainer = ByteQueue()
    /// A client's stdin ended: close the container's once `toContainer` is written.
    private var closeStdinWhenWritten = false
    /// The container closed its stdin (or it failed): input is dropped from now on.
    private var stdinGone = false
    /// The client `run -i` or `start -ai` attached first: when it goes, even
    /// killed without sending end of input, the container's stdin is closed
    /// (Docker's StdinOnce), or the container would wait for input for ever.
    private var stdinOnceClient: Int32 = -1

    /// One attach client: its partial frames and the output it has not read yet.
    struct Client {
        var reader = FrameReader()
        var pending = ByteQueue()
    }

    /// Creates the container's stdio; returns the fds for the child, the tty
    /// mode and the console socket.
    mutating func prepare(tty: Bool, ptyInside: Bool, openStdin: Bool) throws(BerthError) -> ([Int32], Int32, Int32) {
        self.tty = tty
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
            applyInitialSize()
            childEnds.append(s)
            return ([s, s, s], Int32(BERTH_TTY_STDIO.rawValue), -1)
        }
        var fds: [Int32] = [-1, -1, -1]
        var p: [Int32] = [-1, -1]
        if openStdin {
            guard berth_pipe_cloexec(&p) == 0 else { throw .syscall("pipe", "stdin", .current) }
            fds[0] = p[0]; stdinWrite = p[1]; childEnds.append(p[0])
            _ = berth_set_nonblocking(stdinWrite, 1)
        } else {
            stdinGone = true  // no -i: an attaching client is told at once to keep its stdin
        }
        guard berth_pipe_cloexec(&p) == 0 else { throw .syscall("pipe", "stdout", .current) }
        fds[1] = p[1]; stdoutRead = p[0]; childEnds.append(p[1])
        guard berth_pipe_cloexec(&p) == 0 else { throw .syscall("pipe", "stderr", .current) }
        fds[2] = p[1]; stderrRead = p[0]; childEnds.append(p[1])
        _ = berth_set_nonblocking(stdoutRead, 1)
        _ = berth_set_nonblocking(stderrRead, 1)
        return (fds, Int32(BERTH_TTY_NONE.rawValue), -1)
    }

    /// Gives the pty the caller's terminal size, before the container's
    /// process starts (it may ask at once, as `stty size` does).
    func applyInitialSize() {
        guard master >= 0, let size = initialSize else { return }
        _ = berth_set_winsize(master, size.rows, size.columns)
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
    /// Waits for the first client (the `run` that started the container), or
    /// until `caller` (its pidfd) shows it died, or the timeout: without the
    /// client, its stdin is closed once written, as when it disconnects.
    mutating func awaitFirstClient(timeoutMs: Int32, caller: Int32 = -1) {
        guard listener >= 0 else { return }
        var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
        if caller >= 0 { fds.append(pollfd(fd: caller, events: Int16(POLLIN), revents: 0)) }
        let ready = ignoringEINTR { poll(&fds, nfds_t(fds.count), timeoutMs) }
        if ready > 0 && fds[0].revents != 0 {
            accept()
            stdinOnceClient = clients.keys.first ?? -1
            if stdinOnceClient >= 0 { return }
        }
        if !tty && stdinWrite >= 0 {
            closeStdinWhenWritten = true
            feedContainer()
        }
    }

    mutating func accept() {
        while true {
            let fd = berth_accept(listener)
            if fd < 0 { return }
            var client = Client()
            // A late client learns at once that its input has nowhere to go.
            if stdinGone { client.pending.append(Frame.stdinClosed.encoded) }
            clients[fd] = client
        }
    }

    /// Queues a frame for every client and writes what each takes now.
    mutating func broadcast(_ frame: Frame) {
        let bytes = frame.encoded
        for fd in Array(clients.keys) {
            clients[fd]?.pending.append(bytes)
            flushClient(fd)
        }
    }

    /// Writes a client's queued output; drops a client that is gone.
    private mutating func flushClient(_ fd: Int32) {
        guard var client = clients[fd] else { return }
        let result = client.pending.flush(to: fd, socket: true)
        clients[fd] = client
        if result == .failed { drop(fd) }
    }

    mutating func drop(_ fd: Int32) {
        Glibc.close(fd)
        clients[fd] = nil
        if fd == stdinOnceClient {
            stdinOnceClient = -1
            if !tty && stdinWrite >= 0 {
                closeStdinWhenWritten = true
                feedContainer()
            }
        }
    }

    /// Hands every client what is queued for it (the exit frame last), then
    /// closes. A client that takes nothing for `stallSeconds` is dropped, so
    /// one that stopped reading cannot keep the monitor (and `wait`) alive.
    mutating func close(socketPath: String, stallSeconds: Int64 = 30) {
        var lastProgress: [Int32: Int64] = [:]
        while true {
            let waiting = clients.filter { !$0.value.pending.isEmpty }.map(\.key)
            if waiting.isEmpty { break }
            let now = Timestamp.monotonicMilliseconds()
            for fd in waiting where now - (lastProgress[fd] ?? now) > stallSeconds * 1000 { drop(fd) }
            var fds = waiting.filter { clients[$0] != nil }.map { pollfd(fd: $0, events: Int16(POLLOUT), revents: 0) }
            if fds.isEmpty { break }
            if poll(&fds, nfds_t(fds.count), 1000) < 0 && errno != EINTR { break }
            for p in fds {
                if lastProgress[p.fd] == nil { lastProgress[p.fd] = now }
                guard p.revents != 0, let before = clients[p.fd]?.pending.count else { continue }
                flushClient(p.fd)
                if let after = clients[p.fd]?.pending.count, after < before { lastProgress[p.fd] = now }
            }
        }
        for fd in clients.keys { Glibc.close(fd) }
        clients = [:]
        if listener >= 0 { Glibc.close(listener); listener = -1; unlink(socketPath) }
    }

    /// How a relay loop ended.
    enum LoopEnd: Equatable {
        /// PID 1 exited with this code (128+N for signal N).
        case exited(Int32)
        /// The deadline passed at a moment with nothing in flight: the
        /// relay can go to `berth-monitor` (MonitorHandover).
        case handOver
    }

    /// Relays until PID 1 exits, or, given a deadline (monotonic ms), until
    /// the first moment after it when nothing is in flight (`isQuiescent`
    /// and `canHandOver`, which must not touch this relay: it is borrowed
    /// for the whole loop), with fewer clients than `berth-monitor` takes.
    mutating func loop(
        child: Int32, tty: Bool, handOverAt deadline: Int64? = nil, canHandOver: () -> Bool = { true },
        log: (String, [UInt8]) -> Void
    ) -> LoopEnd {
        self.tty = tty
        var exitCode: Int32?
        while exitCode == nil {
            var timeout: Int32 = -1
            if let deadline {
                let now = Timestamp.monotonicMilliseconds()
                if now >= deadline && isQuiescent && clients.count < MonitorHandover.maxClients && canHandOver() {
                    return .handOver
                }
                // Past the deadline, something was in flight: look again soon.
                timeout = now >= deadline ? 50 : Int32(clamping: deadline - now)
            }
            var fds = pollSet()
            if poll(&fds, nfds_t(fds.count), timeout) < 0 {
                if errno == EINTR { continue }
                break
            }
            for p in fds where p.revents != 0 {
                let readable = p.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
                if p.fd == signals {
                    exitCode = reap(child) ?? exitCode
                } else if p.fd == listener {
                    accept()
                } else if p.fd == master || p.fd == stdinWrite || p.fd == stdoutRead || p.fd == stderrRead {
                    if p.fd == containerInput && p.revents & Int16(POLLOUT | POLLERR | POLLHUP) != 0 {
                        feedContainer(closed: p.fd == stdinWrite && p.revents & Int16(POLLERR) != 0)
                    }
                    if p.fd != stdinWrite && readable && p.events & Int16(POLLIN) != 0 { pump(p.fd, log) }
                } else if clients[p.fd] != nil {
                    if p.revents & Int16(POLLOUT) != 0 { flushClient(p.fd) }
                    if clients[p.fd] != nil && readable { serve(p.fd) }
                }
            }
        }
        // PID 1 is gone: take whatever output is still buffered.
        for fd in [master, stdoutRead, stderrRead] where fd >= 0 { pump(fd, log, drain: true) }
        return .exited(exitCode ?? 255)
    }

    /// Nothing in flight: no input waiting for the container, no output
    /// waiting for a client, no client's frame half read, no input end
    /// pending. The relay's whole state is then its descriptors and flags.
    var isQuiescent: Bool {
        toContainer.isEmpty && !closeStdinWhenWritten
            && clients.values.allSatisfy { $0.pending.isEmpty && $0.reader.isEmpty }
    }

    /// The relay's share of `berth-monitor`'s arguments, and the
    /// descriptors it takes over (they must survive the exec).
    func handoverArguments() -> (arguments: [String], descriptors: [Int32]) {
        var args = [
            "--master", String(master), "--stdin", String(stdinWrite), "--stdout", String(stdoutRead),
            "--stderr", String(stderrRead), "--listener", String(listener), "--stdin-once", String(stdinOnceClient),
        ]
        if tty { args.append("--tty") }
        if stdinGone { args.append("--stdin-gone") }
        let clientFDs = clients.keys.sorted()
        if !clientFDs.isEmpty { args += ["--clients", clientFDs.map(String.init).joined(separator: ",")] }
        return (args, [master, stdinWrite, stdoutRead, stderrRead, listener].filter { $0 >= 0 } + clientFDs)
    }

    /// The exit recorder after a handover: the attach listener and the
    /// clients `berth-monitor` had, with the output they had not read yet.
    mutating func adopt(listener: Int32, clients adopted: [(fd: Int32, pending: [UInt8])]) {
        self.listener = listener
        if listener >= 0 { _ = fcntl(listener, F_SETFD, FD_CLOEXEC) }
        for client in adopted {
            _ = fcntl(client.fd, F_SETFD, FD_CLOEXEC)
            var c = Client()
            c.pending.append(client.pending)
            clients[client.fd] = c
        }
    }

    /// The fd the container's input goes to (-1: none, or it is gone).
    private var containerInput: Int32 { tty ? master : stdinWrite }

    /// What to wait for: output only while no client's queue is full, client
    /// input only while the container's queue is not, POLLOUT only where
    /// something waits. The stdin pipe is always watched: POLLERR there says
    /// the container closed its stdin, which the clients are told at once.
    private func pollSet() -> [pollfd] {
        var set: [pollfd] = []
        func add(_ fd: Int32, _ events: Int32, always: Bool = false) {
            if fd >= 0 && (events != 0 || always) { set.append(pollfd(fd: fd, events: Int16(events), revents: 0)) }
        }
        let outputPaused = clients.values.contains { $0.pending.isFull }
        let input = toContainer.isEmpty ? 0 : POLLOUT
        add(signals, POLLIN)
        add(listener, POLLIN)
        add(master, (outputPaused ? 0 : POLLIN) | (tty ? input : 0))
        add(stdinWrite, tty ? 0 : input, always: true)
        add(stdoutRead, outputPaused ? 0 : POLLIN)
        add(stderrRead, outputPaused ? 0 : POLLIN)
        let inputPaused = toContainer.isFull
        for (fd, client) in clients {
            add(fd, (inputPaused ? 0 : POLLIN) | (client.pending.isEmpty ? 0 : POLLOUT))
        }
        return set
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
        if fd == master { master = -1; toContainer.removeAll() }
        if fd == stdoutRead { stdoutRead = -1 }
        if fd == stderrRead { stderrRead = -1 }
    }

    /// Writes queued input to the container. A write error (EPIPE: it closed
    /// its stdin or exited; EIO on a pty) drops all input from now on; it
    /// is not a failure of the container.
    private mutating func feedContainer(closed: Bool = false) {
        let fd = containerInput
        guard fd >= 0 else { toContainer.removeAll(); return }
        if closed || (!toContainer.isEmpty && toContainer.flush(to: fd) == .failed) {
            containerClosedStdin()
            return
        }
        if toContainer.isEmpty && closeStdinWhenWritten && !tty { closeStdin() }
    }

    private mutating func closeStdin() {
        if stdinWrite >= 0 { Glibc.close(stdinWrite) }
        stdinWrite = -1
        closeStdinWhenWritten = false
    }

    private mutating func containerClosedStdin() {
        toContainer.removeAll()
        if !tty { closeStdin() }
        guard !stdinGone else { return }
        stdinGone = true
        broadcast(.stdinClosed)
    }

    private mutating func serve(_ fd: Int32) {
        guard let bytes = readAvailable(fd) else { drop(fd); return }
        guard var client = clients[fd] else { return }
        let frames = client.reader.feed(bytes[...])
        clients[fd] = client
        for frame in frames {
            switch frame {
            case .stdin(let data):
                if containerInput >= 0 && !stdinGone && !closeStdinWhenWritten { toContainer.append(data) }
            case .stdinEOF where !tty && stdinWrite >= 0:
                closeStdinWhenWritten = true
            case .resize(let rows, let cols) where master >= 0 && rows > 0 && cols > 0:
                _ = berth_set_winsize(master, rows, cols)
            default:
                break
            }
        }
        feedContainer()
    }
}
