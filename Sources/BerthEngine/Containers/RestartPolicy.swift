/// `--restart`: what the monitor does when PID 1 exits, as Docker's
/// `HostConfig.RestartPolicy` {Name, MaximumRetryCount}.
public struct RestartPolicy: Sendable, Equatable {
    /// Docker's four policy names.
    public enum Name: String, Sendable, CaseIterable {
        case no, always
        case onFailure = "on-failure"
        case unlessStopped = "unless-stopped"
    }

    public var name: Name = .no
    /// `on-failure:N`: at most N restarts (0: no limit, as Docker).
    public var maximumRetryCount = 0

    public init(name: Name = .no, maximumRetryCount: Int = 0) {
        self.name = name
        self.maximumRetryCount = maximumRetryCount
    }

    /// Whether the policy never restarts (`no`, the default).
    public var isNone: Bool { name == .no }

    /// Parses `no`, `always`, `unless-stopped`, `on-failure[:N]` with the
    /// checks and words of Docker's CLI (the format) and daemon (the values).
    public static func parse(_ text: String) throws(BerthError) -> RestartPolicy {
        if text.isEmpty { return RestartPolicy() }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else { throw .invalid("invalid restart policy format") }
        var count = 0
        if parts.count == 2 {
            guard let n = Int(parts[1]) else { throw .invalid("maximum retry count must be an integer") }
            count = n
        }
        guard let name = Name(rawValue: parts[0]) else {
            throw .invalid(
                "invalid restart policy '\(parts[0])'; use no, always, on-failure[:max-retries] or unless-stopped")
        }
        if name == .onFailure {
            guard count >= 0 else { throw .invalid("maximum retry count cannot be negative") }
        } else if count != 0 {
            throw .invalid("maximum retry count cannot be used with restart policy '\(name.rawValue)'")
        }
        return RestartPolicy(name: name, maximumRetryCount: count)
    }

    /// Whether an exit is followed by a restart (moby's restart manager):
    /// `always` after any exit, `unless-stopped` unless a user stopped it,
    /// `on-failure` after a non-zero exit while fewer than N restarts were
    /// made. A user's stop cancels every policy (`stopped`), as Docker's
    /// `stop` cancels its restart manager.
    public func restarts(exitCode: Int32, restartCount: Int, stopped: Bool) -> Bool {
        if stopped { return false }
        switch name {
        case .no: return false
        case .always, .unlessStopped: return true
        case .onFailure:
            return exitCode != 0 && (maximumRetryCount == 0 || restartCount < maximumRetryCount)
        }
    }

    /// The record's `HostConfig.RestartPolicy`.
    var json: JSON {
        .object([("Name", .string(name.rawValue)), ("MaximumRetryCount", .int(maximumRetryCount))])
    }

    init(json: JSON?) {
        name = json?["Name"]?.stringValue.flatMap(Name.init(rawValue:)) ?? .no
        maximumRetryCount = max(0, json?["MaximumRetryCount"]?.intValue ?? 0)
    }
}

/// Docker's wait before a restart: 100 ms, doubled after each exit, at most
/// a minute, and back to 100 ms once the container had run 10 seconds.
public enum RestartBackoff {
    public static let initialMs = 100
    public static let maxMs = 60_000

    /// The wait after an exit, given the previous wait (0: none yet) and how
    /// long PID 1 ran.
    public static func next(previousMs: Int, ranSeconds: Double) -> Int {
        let previous = ranSeconds >= 10 ? 0 : previousMs
        return previous <= 0 ? initialMs : min(maxMs, previous * 2)
    }
}
