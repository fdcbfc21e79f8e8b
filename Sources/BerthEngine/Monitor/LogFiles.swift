#if canImport(Glibc)
import Glibc
#endif
import CBerthLog

/// A container's log on disk: `container.log`, and after rotation
/// `container.log.1` (the newest rotated) up to `container.log.N`, in the
/// format of its driver. The monitor writes it through `LogWriter`; `logs`
/// reads it through `LogReader`.
public enum LogFiles {
    /// The files that exist, oldest first, the current one last.
    public static func paths(_ base: String) -> [String] {
        var rotated: [String] = []
        var n = 1
        while FileSystem.exists(base + ".\(n)") {
            rotated.append(base + ".\(n)")
            n += 1
        }
        return rotated.reversed() + (FileSystem.exists(base) ? [base] : [])
    }
}

/// One log entry, however its driver wrote it.
public struct LogEntry: Sendable {
    public var stream: String
    /// The time as written in the file (shown by `logs -t`).
    public var timeText: String
    public var time: Timestamp?
    /// The output, with its newline if it had one.
    public var text: [UInt8]

    /// Parses one line of a json-file (`{"log":…,"stream":…,"time":…}`) or
    /// k8s-file (`TIME STREAM F|P TEXT`) log; nil for a line of neither.
    public static func parse(_ line: ArraySlice<UInt8>, driver: LogConfig.Driver) -> LogEntry? {
        switch driver {
        case .k8sFile:
            let fields = line.split(separator: 32, maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3 else { return nil }
            let timeText = String(decoding: fields[0], as: UTF8.self)
            var text = fields.count == 4 ? Array(fields[3]) : []
            if fields[2].first == UInt8(ascii: "F") { text.append(10) }
            return LogEntry(
                stream: String(decoding: fields[1], as: UTF8.self), timeText: timeText,
                time: Timestamp(rfc3339: timeText), text: text)
        default:
            guard let json = try? JSONParser.parse(Array(line)) else { return nil }
            let timeText = json["time"]?.stringValue ?? ""
            return LogEntry(
                stream: json["stream"]?.stringValue ?? "stdout", timeText: timeText, time: Timestamp(rfc3339: timeText),
                text: Array((json["log"]?.stringValue ?? "").utf8))
        }
    }
}

/// The monitor's side: the container's output cut into entries (one per
/// line, as Docker's json-file, so `logs --tail N` counts lines and `logs
/// -t` stamps each), in the driver's format, rotated by `max-size`/`max-file`
/// as Docker's json-file does (`container.log` becomes `container.log.1`,
/// that `.2`, …; with `max-file=1` the file starts over). The work is done
/// by `berth_log_*` in C (CBerthLog), which the small `berth-monitor` that
/// takes over a long-running container's relay uses too, so both write the
/// same bytes.
final class LogWriter {
    private var log: OpaquePointer?

    init(path: String, config: LogConfig) {
        let driver: berth_log_driver
        switch config.driver {
        case .jsonFile: driver = BERTH_LOG_JSON_FILE
        case .k8sFile: driver = BERTH_LOG_K8S_FILE
        case .none: driver = BERTH_LOG_NONE
        }
        log = berth_log_open(path, Int32(driver.rawValue), config.maxSize ?? 0, Int32(clamping: config.maxFile))
    }

    deinit { close() }

    /// Logs what the container wrote on stdout (or stderr).
    func append(stderr: Bool, _ bytes: [UInt8]) {
        guard let log, !bytes.isEmpty else { return }
        let stream = stderr ? BERTH_LOG_STDERR : BERTH_LOG_STDOUT
        bytes.withUnsafeBufferPointer { berth_log_append(log, Int32(stream.rawValue), $0.baseAddress, $0.count) }
    }

    /// Writes the partial lines (PID 1 exited).
    func flush() { if let log { berth_log_flush(log) } }

    /// A partial line waits for its newline.
    var hasPartial: Bool { log.map { berth_log_has_partial($0) != 0 } ?? false }

    func close() {
        if let log { berth_log_close(log) }
        log = nil
    }
}
