#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// A stop whose signal has been sent (`Lifecycle.beginStop`): PID 1's
/// pidfd and how long it has before SIGKILL.
struct PendingStop {
    let container: Container
    let pidfd: Int32
    let graceMilliseconds: Int32
}

extension Lifecycle {
    /// `stop` of several containers at once: each is sent its stop signal
    /// (its `kill` event first) before any is waited for, then one poll(2)
    /// over their pidfds follows them all. Each keeps its own grace period
    /// from its own signal, then gets SIGKILL for everything in its cgroup
    /// (another `kill` event), and is done once its monitor has recorded the
    /// exit (`die`) and its `stop` event is written. Stopping 1,000
    /// containers one after another waited for each monitor's exit in turn,
    /// and N containers that ignore SIGTERM took N grace periods.
    ///
    /// `completed(index, error)` is called once per reference, as each
    /// finishes (in any order); an error for one does not stop the others.
    /// At most `window` stops are under way at once, each holding one
    /// descriptor, so the open-files limit is never reached.
    public func stopMany(
        _ refs: [String], timeout: Int?, signal name: String?,
        completed: (Int, BerthError?) -> Void
    ) {
        var active: [ActiveStop] = []
        var next = 0
        let window = Self.stopWindow()
        while next < refs.count || !active.isEmpty {
            while next < refs.count && active.count < window {
                let index = next
                next += 1
                do throws(BerthError) {
                    guard let p = try beginStop(refs[index], timeout: timeout, signal: name) else {
                        completed(index, nil)
                        continue
                    }
                    active.append(ActiveStop(index: index, pending: p, now: Timestamp.monotonicMilliseconds()))
                } catch {
                    completed(index, error)
                }
            }
            guard !active.isEmpty else { continue }
            var fds = active.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let now = Timestamp.monotonicMilliseconds()
            let soonest = active.compactMap(\.deadline).min()
            let limit = soonest.map { Int32(clamping: max(0, $0 - now)) } ?? -1
            let n = poll(&fds, nfds_t(fds.count), limit)
            if n < 0 && errno != EINTR { usleep(10_000) }  // cannot happen with valid fds; never spin
            let after = Timestamp.monotonicMilliseconds()
            var still: [ActiveStop] = []
            for (i, var s) in active.enumerated() {
                let ended = n > 0 && fds[i].revents != 0
                if advance(&s, ended: ended, now: after) {
                    do throws(BerthError) {
                        try settleLostMonitor(s.pending.container.id)
                        events.record("stop", s.pending.container)
                        completed(s.index, nil)
                    } catch {
                        completed(s.index, error)
                    }
                } else {
                    still.append(s)
                }
            }
            active = still
        }
    }

    /// Moves one stop on after a poll: PID 1 gone → wait for the monitor;
    /// grace period over → SIGKILL everything (as `killEverything`) and up
    /// to 10 s more; the monitor gone (or 15 s passed) → done. Returns
    /// whether it is done; it has closed its descriptors then.
    private func advance(_ s: inout ActiveStop, ended: Bool, now: Int64) -> Bool {
        let c = s.pending.container
        switch s.phase {
        case .grace, .killed:
            if !ended {
                guard let deadline = s.deadline, now >= deadline else { return false }
                if s.phase == .grace {
                    events.record("kill", c, [("signal", String(SIGKILL))])
                    _ = berth_pidfd_send_signal(s.pending.pidfd, SIGKILL)
                    Cgroup(path: c.cgroupPath).killAll()
                    s.phase = .killed
                    s.deadline = now + 10_000
                    return false
                }
            }
            // PID 1 has ended (or would not die in 10 s): now the monitor,
            // which records the exit and exits right after, as `awaitRecordedExit`.
            close(s.pending.pidfd)
            s.fd = -1
            let st = c.state
            if st.monitorPid > 1, ProcessTable.isAlive(st.monitorPid, startTime: st.monitorStartTime) {
                s.fd = berth_pidfd_open(st.monitorPid)
            }
            guard s.fd >= 0 else { return true }
            s.phase = .monitor
            s.deadline = now + 15_000
            return false
        case .monitor:
            guard ended || (s.deadline.map { now >= $0 } ?? false) else { return false }
            close(s.fd)
            return true
        }
    }

    /// How many stops may be under way at once: the open-files limit less
    /// a margin for everything else the process opens.
    static func stopWindow() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 512 }
        return max(16, Int(clamping: min(limit.rlim_cur, 4352)) - 256)
    }
}

/// One container's stop in `stopMany`: the descriptor polled (PID 1's
/// pidfd, then its monitor's) and when the current phase runs out.
private struct ActiveStop {
    enum Phase { case grace, killed, monitor }
    let index: Int
    let pending: PendingStop
    var phase = Phase.grace
    var fd: Int32
    /// Monotonic milliseconds; nil waits for ever (a negative `-t`).
    var deadline: Int64?

    init(index: Int, pending: PendingStop, now: Int64) {
        self.index = index
        self.pending = pending
        self.fd = pending.pidfd
        self.deadline = pending.graceMilliseconds < 0 ? nil : now + Int64(pending.graceMilliseconds)
    }
}
