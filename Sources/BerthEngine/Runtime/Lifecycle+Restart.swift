#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

extension Lifecycle {
    /// What a user's `stop`, `kill` and `rm -f` do to a restart policy, as Docker's cancel of its restart
    /// manager: `HasBeenManuallyStopped` is set under the container lock, so
    /// the exit they cause is not restarted (and `unless-stopped` stays down
    /// after a reboot); a container waiting out its back-off is recorded
    /// Exited and its monitor told to end (SIGTERM) and waited for; one whose
    /// restart is under way is waited for until it runs. Returns the
    /// container as it is then. Containers without a policy are untouched.
    @discardableResult
    func cancelRestart(_ id: String) throws(BerthError) -> Container {
        var waiting: (pid: Int32, startTime: UInt64)?
        let c = try FileLock.withLock(containers.lockPath(id)) { () throws(BerthError) -> Container in
            var c = try containers.load(id: id)
            guard !c.restartPolicy.isNone, c.recordDamage == nil else { return c }
            var changed = !c.manuallyStopped
            c.manuallyStopped = true
            if c.state.status == .restarting && !c.starting {
                waiting = (c.state.monitorPid, c.state.monitorStartTime)
                c.state.setRestartCanceled()
                changed = true
            }
            if changed { try containers.save(c) }
            return c
        }
        if let waiting, waiting.pid > 1, ProcessTable.isAlive(waiting.pid, startTime: waiting.startTime) {
            let fd = berth_pidfd_open(waiting.pid)
            if fd >= 0 {
                _ = berth_pidfd_send_signal(fd, SIGTERM)
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, 10_000)
                close(fd)
            }
        }
        guard c.starting else { return c }
        try awaitPendingStart(id)
        return try containers.load(id: id)
    }
}
