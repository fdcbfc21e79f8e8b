#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// Restart policies, in the monitor (moby's restart manager, without a
/// daemon): when PID 1 exits, the exit is recorded as `restarting` or
/// `exited` under the container lock (`recordExit`); a restarting monitor
/// waits out Docker's back-off, then re-executes itself to start the
/// container again.
///
/// Why re-execute rather than loop: a start needs a single-threaded process
/// (clone with new namespaces, the v1 cgroup moves) and fresh descriptors;
/// after a run the monitor has had a helper thread (`MonitorPlacement`) and
/// holds the previous run's relay. `execve` gives both back with the same
/// PID, so the record's `MonitorPid` stays true throughout.
///
/// A user's `stop`, `kill` or `rm -f` cancels: it sets `HasBeenManuallyStopped`
/// under the lock (so an exit it causes is not restarted) and, while the
/// monitor waits, records the container Exited and sends it SIGTERM
/// (`Lifecycle.cancelRestart`). The monitor commits a restart only under
/// the same lock, and only if the record still says it waits.
enum MonitorRestart {
    /// Waits `delayMs` (SIGTERM, SIGINT or SIGHUP end the wait), then, if the
    /// record still says restarting, re-executes this monitor to start the
    /// container again. Returns only if the restart did not happen.
    static func awaitRestart(root: String, id: String, delayMs: Int) {
        let interrupted = sleep(milliseconds: delayMs)
        let store = ContainerStore(layout: StoreLayout(root: root))
        let me = getpid()
        let commit = try? FileLock.withLock(store.lockPath(id)) { () throws(BerthError) -> Bool in
            guard case .ok(var c) = store.loadRecord(id: id), c.state.status == .restarting,
                c.state.monitorPid == me
            else { return false }
            if interrupted || c.manuallyStopped {
                c.state.setRestartCanceled()
                try store.save(c)
                return false
            }
            c.state.setStartPending(monitorPid: me, monitorStartTime: ProcessTable.startTime(me) ?? 0)
            try store.saveWithoutSync(c)
            return true
        }
        guard commit == true else { return }
        reexecute(root: root, id: id, delayMs: delayMs)
        // Only if execve failed.
        recordFailedRestart(root: root, id: id, .syscall("execve", "/proc/self/exe to restart the container", .current))
    }

    /// A restart that could not start: Exited, with the reason.
    static func recordFailedRestart(root: String, id: String, _ error: BerthError) {
        let store = ContainerStore(layout: StoreLayout(root: root))
        _ = try? store.update(id) { (c: inout Container) throws(BerthError) in
            guard c.state.status == .restarting else { return }
            c.state.setStartFailed(exitCode: error.exitCode, error: error.message)
        }
    }

    /// Sleeps up to `milliseconds`; true if a termination signal cut it short.
    private static func sleep(milliseconds: Int) -> Bool {
        let signals = berth_signalfd([SIGTERM, SIGINT, SIGHUP], 3)
        defer { if signals >= 0 { close(signals) } }
        let deadline = Timestamp.monotonicMilliseconds() + Int64(milliseconds)
        while true {
            let left = deadline - Timestamp.monotonicMilliseconds()
            if left <= 0 { return false }
            var p = pollfd(fd: signals, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, Int32(clamping: left))
            if n > 0 { return true }
            if n < 0 && errno != EINTR { usleep(UInt32(clamping: left * 1000)); return false }
        }
    }

    /// `berth --root ROOT __monitor ID --restarted MS`, in this process:
    /// only stdio survives (the monitor's are /dev/null), and no signal
    /// stays blocked.
    private static func reexecute(root: String, id: String, delayMs: Int) {
        let args = ["berth", "--root", root, "__monitor", id, "--restarted", String(delayMs)]
        berth_close_from(3)
        berth_unblock_signals()
        let argv = args.map { strdup($0) } + [nil]
        execv("/proc/self/exe", argv)
        argv.forEach { free($0) }
    }
}

extension MonitorSession {
    /// PID 1 exited: record `restarting` if the policy restarts it (and
    /// count the restart, as Docker counts it when it decides), else
    /// `exited`. Runs under the container lock, so a user's stop either
    /// came first (and cancels) or finds the restart to cancel.
    func recordExit(_ c: inout Container, code: Int32, oomKilled: Bool) {
        let ran = c.state.startedAt.map { Timestamp.now.asDouble - $0.asDouble } ?? 0
        guard c.restartPolicy.restarts(exitCode: code, restartCount: c.restartCount, stopped: c.manuallyStopped) else {
            c.state.setStopped(exitCode: code, oomKilled: oomKilled)
            return
        }
        c.restartCount += 1
        c.state.setRestarting(exitCode: code, oomKilled: oomKilled)
        restartDelayMs = RestartBackoff.next(previousMs: previousBackoffMs, ranSeconds: ran)
    }
}
