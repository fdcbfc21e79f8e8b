/// Where a container is in its lifecycle. The raw values are Docker's words,
/// which the JSON record, `inspect`, `ps --filter status=` and templates use.
public enum ContainerStatus: String, Sendable, CaseIterable {
    case created, running, paused, restarting, removing, exited, dead

    /// Whether PID 1 is alive (running or paused).
    public var isActive: Bool { self == .running || self == .paused }
}

/// The runtime state of a container, as Docker's `State` object.
///
/// Fields change only through the named transitions below (moby's
/// `daemon/container/state.go` does the same: `SetRunning`, `SetStopped`),
/// so that a status never travels without the fields that go with it.
public struct ContainerState: Sendable, Equatable {
    public private(set) var status: ContainerStatus = .created
    /// PID 1's host PID while running.
    public private(set) var pid: Int32 = 0
    /// PID 1's start time (field 22 of /proc/PID/stat), so a recycled PID is never mistaken for it.
    public private(set) var pidStartTime: UInt64 = 0
    /// The monitor's host PID while running.
    public private(set) var monitorPid: Int32 = 0
    /// The monitor's start time, so a recycled PID is never taken for it.
    public private(set) var monitorStartTime: UInt64 = 0
    /// Set by the monitor (with its PID) before it makes anything of a
    /// start, cleared once it records the outcome: a record with this set
    /// and the monitor gone is a start that crashed (docs/lifecycle.md).
    public private(set) var startPending = false
    /// The last exit code (128+N for signal N).
    public private(set) var exitCode: Int32 = 0
    /// Why the last start failed, or why the exit code is unknown.
    public private(set) var error = ""
    public private(set) var oomKilled = false
    public private(set) var startedAt: Timestamp?
    public private(set) var finishedAt: Timestamp?
    /// `State.Health` of a container with a health check: set to starting
    /// by each start, changed by each probe (`recordProbe`), kept after the exit.
    public private(set) var health: HealthState?

    /// A fresh state: Created, never started.
    public init() {}

    /// Whether PID 1 is alive (running or paused).
    public var isActive: Bool { status.isActive }

    // MARK: transitions

    /// A monitor is starting the container; written by the monitor itself
    /// before it makes anything, so a killed CLI or monitor is seen.
    public mutating func setStartPending(monitorPid: Int32, monitorStartTime: UInt64) {
        startPending = true
        self.monitorPid = monitorPid
        self.monitorStartTime = monitorStartTime
    }

    /// PID 1 runs under its monitor. With `healthCheck` its health starts
    /// over as `starting` (the last probes kept), as Docker's each start.
    public mutating func setRunning(
        pid: Int32, pidStartTime: UInt64, monitorPid: Int32, monitorStartTime: UInt64, healthCheck: Bool = false
    ) {
        if healthCheck {
            var h = HealthState()
            h.log = health?.log ?? []
            health = h
        } else {
            health = nil
        }
        startPending = false
        status = .running
        self.pid = pid
        self.pidStartTime = pidStartTime
        self.monitorPid = monitorPid
        self.monitorStartTime = monitorStartTime
        startedAt = .now
        finishedAt = nil
        exitCode = 0
        error = ""
        oomKilled = false
    }

    /// One probe's result (moby's `handleProbeResult`): a pass makes it
    /// healthy and ends the streak; a failure adds to the streak (not while
    /// still starting within the start period) and makes it unhealthy at
    /// `retries`. The last five results are kept. Returns the new status
    /// when it changed.
    public mutating func recordProbe(_ result: HealthResult, retries: Int, startPeriod: Int64) -> HealthStatus? {
        guard var h = health else { return nil }
        let before = h.status
        if result.exitCode == 0 {
            h.failingStreak = 0
            h.status = .healthy
        } else {
            let sinceStart = startedAt.map { (result.start.asDouble - $0.asDouble) * 1e9 } ?? .infinity
            if !(h.status == .starting && sinceStart < Double(startPeriod)) {
                h.failingStreak += 1
                if h.failingStreak >= retries { h.status = .unhealthy }
            }
        }
        h.log = Array((h.log + [result]).suffix(HealthState.logLength))
        health = h
        return h.status == before ? nil : h.status
    }

    /// Every process is frozen.
    public mutating func setPaused() { status = .paused }

    /// The processes are thawed.
    public mutating func setUnpaused() { status = .running }

    /// PID 1 exited with `exitCode` (128+N for signal N).
    public mutating func setStopped(exitCode: Int32, oomKilled: Bool = false, error: String = "") {
        status = .exited
        self.exitCode = exitCode
        self.oomKilled = oomKilled
        self.error = error
        finishedAt = .now
        clearProcesses()
    }

    /// The first process never ran: Docker leaves the container Created, or
    /// Exited if it had run before, with the code and the reason recorded.
    public mutating func setStartFailed(exitCode: Int32, error: String) {
        // A restart that could not start ends the restarting: Exited, as it has run before.
        if status == .restarting { status = .exited } else if status != .exited { status = .created }
        self.exitCode = exitCode
        self.error = error
        clearProcesses()
    }

    /// PID 1 exited and its restart policy restarts it after a back-off:
    /// Docker's `restarting`, with the exit recorded. PID 1 is gone; the
    /// monitor stays (and stays recorded) to wait out the back-off, so a
    /// reader that finds it gone knows the wait was cut short.
    public mutating func setRestarting(exitCode: Int32, oomKilled: Bool = false) {
        status = .restarting
        self.exitCode = exitCode
        self.oomKilled = oomKilled
        error = ""
        finishedAt = .now
        startPending = false
        pid = 0
        pidStartTime = 0
    }

    /// A user's `stop`, `kill` or `rm -f` ended the wait of a restarting
    /// container, or its waiting monitor is gone: Exited with the code it
    /// last exited with, and no process of it left.
    public mutating func setRestartCanceled() {
        status = .exited
        clearProcesses()
    }

    /// Nothing of the container can run again (a start whose monitor died
    /// half-way, a record that does not decode): Docker's `dead`, only `rm`
    /// acts on it.
    public mutating func setDead(_ reason: String) {
        status = .dead
        error = reason
    }

    /// What a lost monitor held has been released by someone else (stop,
    /// start, kill): no process of it is left to wait for.
    public mutating func setMonitorReleased() {
        clearProcesses()
        finishedAt = finishedAt ?? .now
    }

    /// PID 1 and its monitor are both gone without a recorded exit (the
    /// monitor was killed): Exited with Docker's 255 for an unknown code.
    /// The last PIDs stay in the record (hidden from `inspect`, which shows
    /// PIDs of active containers only) so that `rm` knows a monitor ran and
    /// left its port rules and veth for it to release.
    public mutating func setLost() {
        if error.isEmpty {
            exitCode = 255
            error = "the container's monitor is gone; the real exit code is unknown"
        }
        status = .exited
        finishedAt = finishedAt ?? .now
    }

    private mutating func clearProcesses() {
        startPending = false
        pid = 0
        pidStartTime = 0
        monitorPid = 0
        monitorStartTime = 0
    }

    // MARK: the record

    var json: JSON {
        .object(
            [
                // Docker says Running while restarting too: the container is not stopped.
                ("Status", .string(status.rawValue)), ("Running", .bool(isActive || status == .restarting)),
                ("Paused", .bool(status == .paused)),
                ("Restarting", .bool(status == .restarting)), ("OOMKilled", .bool(oomKilled)), ("Dead", .bool(status == .dead)),
                ("Pid", .int(isActive ? pid : 0)), ("PidStartTime", .int(pidStartTime)),
                // Kept whatever the status: a created container with a monitor is one being started.
                ("MonitorPid", .int(monitorPid)),
                ("MonitorStartTime", .int(monitorStartTime)),
                ("StartPending", .bool(startPending)),
                ("ExitCode", .int(exitCode)), ("Error", .string(error)),
                ("StartedAt", .string(startedAt?.rfc3339 ?? Container.zeroTime)),
                ("FinishedAt", .string(finishedAt?.rfc3339 ?? Container.zeroTime)),
            ] + (health.map { [("Health", $0.json)] } ?? []))
    }

    init(json: JSON) {
        status = json["Status"]?.stringValue.flatMap(ContainerStatus.init(rawValue:)) ?? .dead
        pid = max(0, json["Pid"]?.int32Value ?? 0)
        pidStartTime = json["PidStartTime"]?.uint64Value ?? 0
        monitorPid = max(0, json["MonitorPid"]?.int32Value ?? 0)
        monitorStartTime = json["MonitorStartTime"]?.uint64Value ?? 0
        startPending = json["StartPending"]?.boolValue ?? false
        exitCode = json["ExitCode"]?.int32Value ?? 0
        error = json["Error"]?.stringValue ?? ""
        oomKilled = json["OOMKilled"]?.boolValue ?? false
        startedAt = json["StartedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)).flatMap { $0.seconds > 0 ? $0 : nil }
        finishedAt = json["FinishedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)).flatMap { $0.seconds > 0 ? $0 : nil }
        health = HealthState(json: json["Health"])
    }
}
