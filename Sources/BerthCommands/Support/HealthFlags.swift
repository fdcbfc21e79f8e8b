import BerthEngine

/// `--health-*` and `--no-healthcheck` for `create` and `run`: Docker's
/// flags, checks and words; durations in Go's syntax (`1m30s`, `500ms`).
enum HealthFlags {
    static let cmd = Flag.string("health-cmd", help: "Command to run to check health")
    static let interval = Flag.string(
        "health-interval", value: "duration", help: "Time between running the check (ms|s|m|h) (default 0s)")
    static let timeout = Flag.string(
        "health-timeout", value: "duration", help: "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
    static let retries = Flag.int("health-retries", help: "Consecutive failures needed to report unhealthy")
    static let startPeriod = Flag.string(
        "health-start-period", value: "duration",
        help: "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
    static let noHealthcheck = Flag.bool("no-healthcheck", help: "Disable any container-specified HEALTHCHECK")

    static let all: [any AnyFlag] = [cmd, interval, timeout, retries, startPeriod, noHealthcheck]

    /// The user's health settings (nil: none given, the image's apply as they are).
    static func apply(_ args: ParsedArguments, to o: inout CreateOptions) throws(BerthError) {
        let given = [cmd.long, interval.long, timeout.long, retries.long, startPeriod.long].contains { args.values[$0] != nil }
        if args[Self.noHealthcheck] {
            if given { throw .invalid("--no-healthcheck conflicts with --health-* options") }
            o.healthcheck = HealthConfig(test: ["NONE"])
            return
        }
        guard given else { return }
        var c = HealthConfig()
        if let command = args[Self.cmd], !command.isEmpty { c.test = ["CMD-SHELL", command] }
        c.interval = try duration(args, Self.interval)
        c.timeout = try duration(args, Self.timeout)
        c.startPeriod = try duration(args, Self.startPeriod)
        c.retries = try args.value(Self.retries) ?? 0
        for (value, flag) in [(c.interval, interval), (c.timeout, timeout), (c.startPeriod, startPeriod)] where value < 0 {
            throw .invalid("--\(flag.long) cannot be negative")
        }
        if c.retries < 0 { throw .invalid("--health-retries cannot be negative") }
        o.healthcheck = c
    }

    private static func duration(_ args: ParsedArguments, _ flag: Flag<String?>) throws(BerthError) -> Int64 {
        guard let text = args[flag] else { return 0 }
        guard let ns = GoDuration.parse(text) else {
            throw .usage("invalid argument \"\(text)\" for \"--\(flag.long)\" flag: time: invalid duration \"\(text)\"")
        }
        return ns
    }
}
