#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// Health checks (Docker's HEALTHCHECK, `--health-*`), run for the monitor
/// by a helper it starts beside PID 1: `berth --root ROOT __health ID
/// MONITORPID`. A probe is an exec into the container through the engine's
/// exec path, its output to an unnamed file and killed at its timeout; so
/// it is a process of its own rather than part of the monitor's loop, which
/// must never wait on a probe while it relays output.
///
/// Every `interval` it probes (while paused it waits), and records the
/// result in the container's `State.Health` under the container lock, only
/// while the record still names the PID 1 it was started for. It ends when
/// PID 1 exits (a pidfd) or the monitor dies (parent-death signal), and the
/// monitor kills it when PID 1 exits.
public enum HealthMonitor {
    /// Docker's cap on a probe's recorded output.
    static let maxOutput = 4096

    /// Starts the helper from the monitor; its PID, or 0 when the container
    /// has no health check (or it could not start: the container runs on).
    /// The monitor may have threads by now, so the child does nothing but
    /// C calls between fork and exec.
    static func spawn(root: String, container: Container) -> pid_t {
        guard container.healthcheck?.isEnabled == true else { return 0 }
        let args = ["berth", "--root", root, "__health", container.id, String(getpid())]
        let argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let pid = fork()
        if pid == 0 {
            berth_close_from(3)
            berth_unblock_signals()
            execv("/proc/self/exe", argv)
            _exit(127)
        }
        return max(0, pid)
    }

    /// Ends the helper (PID 1 has exited).
    static func stop(_ pid: pid_t) {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        _ = waitForChild(pid)
    }

    /// The helper's process: probes until PID 1 or the monitor is gone.
    public static func main(root: String, id: String, monitor: pid_t, registry: PluginRegistry) -> Int32 {
        _ = berth_set_parent_death_signal(SIGKILL)
        guard getppid() == monitor else { return 0 }  // the monitor died before the line above
        let lifecycle = Lifecycle(layout: StoreLayout(root: root), registry: registry)
        guard let c = try? lifecycle.containers.load(id: id), c.state.isActive, let config = c.healthcheck,
            let command = config.command
        else { return 0 }
        let pid1 = c.state.pid
        let pid1Start = c.state.pidStartTime
        let pidfd = berth_pidfd_open(pid1)
        guard pidfd >= 0 else { return 0 }
        let intervalMs = Int32(clamping: config.effectiveInterval / 1_000_000)
        while true {
            var p = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, intervalMs)
            if n > 0 || (n < 0 && errno != EINTR) { return 0 }  // PID 1 exited
            guard let now = try? lifecycle.containers.load(id: id), now.state.pid == pid1,
                now.state.pidStartTime == pid1Start, now.state.isActive
            else { return 0 }
            if now.state.status == .paused { continue }
            let result = probe(lifecycle, id: id, command: command, timeout: config.effectiveTimeout)
            var changed: HealthStatus?
            let recorded = try? lifecycle.containers.update(id) { (c: inout Container) throws(BerthError) in
                guard c.state.pid == pid1, c.state.pidStartTime == pid1Start, c.state.isActive else {
                    throw .invalidState("container \(id) no longer runs the PID 1 this probe was for")
                }
                changed = c.state.recordProbe(result, retries: config.effectiveRetries, startPeriod: config.startPeriod)
            }
            guard let recorded else { return 0 }
            if let changed { lifecycle.events.record("health_status: \(changed.rawValue)", recorded) }
        }
    }

    /// One probe: exec the command, output to an unnamed file, killed at
    /// the timeout (exit code -1 and Docker's words), as Docker records it.
    static func probe(_ lifecycle: Lifecycle, id: String, command: [String], timeout: Int64) -> HealthResult {
        let start = Timestamp.now
        let path = lifecycle.layout.tmp + "/health-\(getpid())-\(RandomID.hex64().prefix(8))"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 { unlink(path) }
        defer { if fd >= 0 { close(fd) } }
        guard fd >= 0 else {
            return HealthResult(
                start: start, end: .now, exitCode: -1, output: "create the probe's output file \(path): \(Errno.current)")
        }
        var options = ExecOptions(command: command)
        options.output = fd
        options.timeoutMs = Int32(clamping: timeout / 1_000_000)
        do throws(BerthError) {
            let code = try Executor(lifecycle: lifecycle).run(id, options, stdio: [-1, -1, -1])
            if code == Executor.timedOut {
                return HealthResult(
                    start: start, end: .now, exitCode: -1,
                    output: "Health check exceeded timeout (\(GoDuration.format(timeout)))")
            }
            var bytes = [UInt8](repeating: 0, count: maxOutput)
            let n = pread(fd, &bytes, maxOutput, 0)
            return HealthResult(
                start: start, end: .now, exitCode: Int(code), output: String(decoding: bytes.prefix(max(0, n)), as: UTF8.self))
        } catch {
            return HealthResult(start: start, end: .now, exitCode: -1, output: error.message)
        }
    }
}
