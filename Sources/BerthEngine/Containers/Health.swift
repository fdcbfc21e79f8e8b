/// A container's health check, Docker's `Config.Healthcheck`: the test
/// (`["CMD-SHELL", "…"]`, `["CMD", …]`, `["NONE"]`, or empty: inherit) and
/// its timings in nanoseconds (0: inherit, then Docker's default).
public struct HealthConfig: Sendable, Equatable {
    public var test: [String] = []
    public var interval: Int64 = 0
    public var timeout: Int64 = 0
    public var startPeriod: Int64 = 0
    public var retries = 0

    public static let defaultInterval: Int64 = 30_000_000_000
    public static let defaultTimeout: Int64 = 30_000_000_000
    public static let defaultRetries = 3

    public init(test: [String] = [], interval: Int64 = 0, timeout: Int64 = 0, startPeriod: Int64 = 0, retries: Int = 0) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.startPeriod = startPeriod
        self.retries = retries
    }

    /// The command a probe runs, or nil when there is no check (no test, `NONE`).
    /// `CMD-SHELL` runs under `/bin/sh -c`, as Docker does on Linux.
    public var command: [String]? {
        guard let kind = test.first else { return nil }
        switch kind {
        case "CMD": return test.count > 1 ? Array(test.dropFirst()) : nil
        case "CMD-SHELL": return test.count > 1 ? ["/bin/sh", "-c", test.dropFirst().joined(separator: " ")] : nil
        default: return nil
        }
    }

    /// Whether probes run.
    public var isEnabled: Bool { command != nil }

    /// The timings with Docker's defaults for those not set.
    public var effectiveInterval: Int64 { interval > 0 ? interval : Self.defaultInterval }
    public var effectiveTimeout: Int64 { timeout > 0 ? timeout : Self.defaultTimeout }
    public var effectiveRetries: Int { retries > 0 ? retries : Self.defaultRetries }

    /// The user's settings over the image's, field by field (moby's merge at create).
    public func merged(over image: HealthConfig?) -> HealthConfig {
        guard let image else { return self }
        var c = self
        if c.test.isEmpty { c.test = image.test }
        if c.interval == 0 { c.interval = image.interval }
        if c.timeout == 0 { c.timeout = image.timeout }
        if c.startPeriod == 0 { c.startPeriod = image.startPeriod }
        if c.retries == 0 { c.retries = image.retries }
        return c
    }

    /// Checks what Docker's daemon checks: a set timing is at least 1 ms, retries not negative.
    public func validate() throws(BerthError) {
        for (value, name) in [(interval, "Interval"), (timeout, "Timeout"), (startPeriod, "StartPeriod")]
        where value != 0 && value < 1_000_000 {
            throw .invalid("\(name) in Healthcheck cannot be less than 1ms")
        }
        if retries < 0 { throw .invalid("Retries in Healthcheck cannot be negative") }
    }

    var json: JSON {
        var members: [(String, JSON)] = [("Test", .strings(test))]
        if interval != 0 { members.append(("Interval", .int(interval))) }
        if timeout != 0 { members.append(("Timeout", .int(timeout))) }
        if startPeriod != 0 { members.append(("StartPeriod", .int(startPeriod))) }
        if retries != 0 { members.append(("Retries", .int(retries))) }
        return .object(members)
    }

    /// Reads Docker's shape (an image config's or a record's); nil if it is not an object.
    public init?(json: JSON?) {
        guard let json, case .object = json else { return nil }
        test = json["Test"]?.stringArray ?? []
        interval = Self.nanoseconds(json["Interval"])
        timeout = Self.nanoseconds(json["Timeout"])
        startPeriod = Self.nanoseconds(json["StartPeriod"])
        retries = max(0, json["Retries"]?.intValue ?? 0)
    }

    private static func nanoseconds(_ value: JSON?) -> Int64 {
        max(0, value?.int64Value ?? 0)
    }
}

/// Docker's three health words.
public enum HealthStatus: String, Sendable {
    case starting, healthy, unhealthy

    /// As `ps` shows it in STATUS: `(health: starting)`, `(healthy)`.
    public var psText: String { self == .starting ? "health: starting" : rawValue }
}

/// One probe's outcome, as Docker logs it: times, exit code (-1: it could
/// not run or exceeded its timeout), output (at most 4096 bytes).
public struct HealthResult: Sendable, Equatable {
    public var start: Timestamp
    public var end: Timestamp
    public var exitCode: Int
    public var output: String

    public init(start: Timestamp, end: Timestamp, exitCode: Int, output: String) {
        self.start = start
        self.end = end
        self.exitCode = exitCode
        self.output = output
    }

    var json: JSON {
        .object([
            ("Start", .string(start.rfc3339)), ("End", .string(end.rfc3339)),
            ("ExitCode", .int(exitCode)), ("Output", .string(output)),
        ])
    }

    init?(json: JSON) {
        guard let s = json["Start"]?.stringValue.flatMap(Timestamp.init(rfc3339:)),
            let e = json["End"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        else { return nil }
        start = s
        end = e
        exitCode = json["ExitCode"]?.intValue ?? -1
        output = json["Output"]?.stringValue ?? ""
    }
}

/// `State.Health`: the status, the failures in a row, the last 5 results.
public struct HealthState: Sendable, Equatable {
    public var status: HealthStatus = .starting
    public var failingStreak = 0
    public var log: [HealthResult] = []

    /// Docker keeps the last five probes.
    public static let logLength = 5

    var json: JSON {
        .object([
            ("Status", .string(status.rawValue)), ("FailingStreak", .int(failingStreak)),
            ("Log", .array(log.map(\.json))),
        ])
    }

    init() {}

    init?(json: JSON?) {
        guard let json, let status = json["Status"]?.stringValue.flatMap(HealthStatus.init(rawValue:)) else { return nil }
        self.status = status
        failingStreak = max(0, json["FailingStreak"]?.intValue ?? 0)
        log = (json["Log"]?.arrayValue ?? []).compactMap(HealthResult.init(json:))
    }
}
