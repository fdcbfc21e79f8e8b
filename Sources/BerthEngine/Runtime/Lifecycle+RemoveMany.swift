#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

extension Lifecycle {
    /// For `rm -f` of several containers: SIGKILL for every running one
    /// first, each with its `kill` event written before the signal, so their
    /// monitors record the exits and release their cgroups and mounts all at
    /// once; then `remove(_:force:signalled:)` of each finds it ended (or
    /// ends it) without sending a second signal. Removing 1,000 running
    /// containers one by one waited for each monitor's exit in turn.
    /// Returns the IDs signalled. Skipped: containers that are not running,
    /// are being started, have a restart policy to cancel first, or whose
    /// record is damaged; `remove` handles those one at a time as before.
    public func killForRemoval(_ refs: [String]) -> Set<String> {
        var signalled: Set<String> = []
        for ref in refs {
            guard let c = try? containers.find(ref), c.recordDamage == nil, c.state.isActive, !c.starting,
                c.restartPolicy.isNone, c.state.pid > 1, !signalled.contains(c.id)
            else { continue }
            let pidfd = berth_pidfd_open(c.state.pid)
            guard pidfd >= 0 else { continue }
            defer { close(pidfd) }
            guard ProcessTable.isAlive(c.state.pid, startTime: c.state.pidStartTime) else { continue }
            events.record("kill", c, [("signal", String(SIGKILL))])
            if berth_pidfd_send_signal(pidfd, SIGKILL) == 0 { signalled.insert(c.id) }
        }
        return signalled
    }
}
