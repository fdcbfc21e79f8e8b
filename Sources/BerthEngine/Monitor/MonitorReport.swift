/// The one line a monitor writes on its report pipe once PID 1 runs (or
/// could not start), and the CLI reads: encoded and decoded here only, so
/// the two sides cannot drift apart.
public enum MonitorReport: Sendable, Equatable {
    /// PID 1 runs: its host PID and start time, and the monitor's PID.
    case started(pid: Int32, startTime: UInt64, monitor: Int32)
    /// PID 1 never ran: Docker's exit code for why (125, 126, 127) and the message.
    case failed(code: Int32, message: String)

    /// What a monitor that died before reporting leaves the CLI with.
    static let silent = MonitorReport.failed(
        code: ExitCode.runEngine,
        message: "the container's monitor exited without reporting; see 'berth logs' or try another --isolation to compare")

    /// `ok PID START MONITOR` or `err CODE MESSAGE`, one line.
    public var line: String {
        switch self {
        case .started(let pid, let start, let monitor): "ok \(pid) \(start) \(monitor)\n"
        case .failed(let code, let message): "err \(code) \(message.replacingAll("\n", " "))\n"
        }
    }

    /// Reads a line written by `line`; anything else is `silent`.
    public init(line: String) {
        let words = line.split(separator: " ", maxSplits: 2).map(String.init)
        switch words.first {
        case "ok" where words.count >= 2:
            let rest = words.count > 2 ? words[2].split(separator: " ").map(String.init) : []
            self = .started(
                pid: Int32(words[1]) ?? 0, startTime: UInt64(rest.first ?? "") ?? 0,
                monitor: Int32(rest.dropFirst().first ?? "") ?? 0)
        case "err" where words.count >= 2:
            self = .failed(
                code: Int32(words[1]) ?? ExitCode.runEngine,
                message: words.count > 2 ? words[2] : "unknown error")
        default:
            self = Self.silent
        }
    }
}
