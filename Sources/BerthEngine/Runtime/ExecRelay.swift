#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The streams of an attached, non-tty `exec`: pipes Berth owns between the
/// caller's descriptors and the process, so that nothing the container runs
/// ever holds the caller's own files. A background child of the command
/// (`sh -c 'sleep 100 &'`) keeps only a pipe whose reader is gone once the
/// command has exited, never the caller's terminal or output file (conmon
/// relays exec streams the same way).
///
/// Stdin goes to the process through a bounded buffer on a non-blocking
/// pipe, so a process that writes without reading cannot stall its own
/// output; stdout and stderr are copied as they come until the command exits,
/// then what is already in the pipes is drained.
struct ExecRelay {
    /// The child's ends, passed as its stdio (-1: /dev/null inside).
    private(set) var childEnds: [Int32] = [-1, -1, -1]
    private var toChild: Int32 = -1, fromOut: Int32 = -1, fromErr: Int32 = -1
    private let caller: [Int32]
    private var pending = ByteQueue()
    private var stdinOpen: Bool

    /// Pipes for `stdio` (the caller's 0, 1, 2); stdin only with `interactive`.
    init(caller: [Int32], interactive: Bool) throws(BerthError) {
        self.caller = caller
        stdinOpen = interactive
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1], input: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&out) == 0, berth_pipe_cloexec(&err) == 0,
            !interactive || berth_pipe_cloexec(&input) == 0
        else {
            let failure = Errno.current
            for fd in out + err + input where fd >= 0 { close(fd) }
            throw .syscall("pipe", "for exec's streams", failure)
        }
        (fromOut, childEnds[1]) = (out[0], out[1])
        (fromErr, childEnds[2]) = (err[0], err[1])
        (childEnds[0], toChild) = (input[0], input[1])
        if toChild >= 0 { _ = berth_set_nonblocking(toChild, 1) }
        _ = berth_set_nonblocking(fromOut, 1)
        _ = berth_set_nonblocking(fromErr, 1)
    }

    /// Berth's ends, which the forked exec helper must close.
    var callerEnds: [Int32] { [toChild, fromOut, fromErr] }

    /// Closes the child's ends once the process has them.
    mutating func closeChildEnds() {
        for fd in childEnds where fd >= 0 { close(fd) }
        childEnds = [-1, -1, -1]
    }

    /// Relays until `pid` (the exec helper, which exits with the command)
    /// is gone, then drains the pipes and closes Berth's ends.
    mutating func run(until pid: pid_t) {
        let previous = signal(SIGPIPE, SIG_IGN)  // a closed stdin is an EPIPE, not a death
        defer { signal(SIGPIPE, previous); closeAll() }
        let pidfd = berth_pidfd_open(pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        while pidfd >= 0 {
            var fds = [
                pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: fromOut, events: Int16(POLLIN), revents: 0),
                pollfd(fd: fromErr, events: Int16(POLLIN), revents: 0),
            ]
            let readStdin = stdinOpen && !pending.isFull
            if readStdin { fds.append(pollfd(fd: caller[0], events: Int16(POLLIN), revents: 0)) }
            if !pending.isEmpty { fds.append(pollfd(fd: toChild, events: Int16(POLLOUT), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 { if errno == EINTR { continue }; break }
            if fds[1].revents != 0 { copy(&fromOut, to: caller[1]) }
            if fds[2].revents != 0 { copy(&fromErr, to: caller[2]) }
            if readStdin, fds[3].revents != 0 { takeStdin() }
            if let last = fds.last, !pending.isEmpty, last.fd == toChild, last.revents != 0 { feed() }
            if fds[0].revents != 0 { break }
        }
        while fromOut >= 0, copy(&fromOut, to: caller[1]) {}
        while fromErr >= 0, copy(&fromErr, to: caller[2]) {}
    }

    /// Copies what one read gives; false when nothing more is there now.
    @discardableResult
    private func copy(_ fd: inout Int32, to out: Int32) -> Bool {
        guard fd >= 0 else { return false }
        guard let bytes = readAvailable(fd) else { close(fd); fd = -1; return false }
        guard !bytes.isEmpty else { return false }
        _ = writeFully(out, bytes)
        return true
    }

    private mutating func takeStdin() {
        guard let bytes = readAvailable(caller[0]), !bytes.isEmpty else {
            stdinOpen = false
            if pending.isEmpty { closeStdin() }
            return
        }
        pending.append(bytes)
        feed()
    }

    private mutating func feed() {
        if pending.flush(to: toChild) == .failed {
            pending.removeAll()  // EPIPE: the process closed its stdin; drop the rest
            stdinOpen = false
        }
        if pending.isEmpty && !stdinOpen { closeStdin() }
    }

    private mutating func closeStdin() {
        if toChild >= 0 { close(toChild); toChild = -1 }
    }

    /// Closes every pipe (after the relay, or when the exec never started).
    mutating func closeAll() {
        closeChildEnds()
        closeStdin()
        for fd in [fromOut, fromErr] where fd >= 0 { close(fd) }
        fromOut = -1
        fromErr = -1
    }
}
