#if canImport(Glibc)
import Glibc
#endif

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

    /// `2022-10-18T15:43:16.000000000+00:00`: the time as Podman's k8s-file writes it.
    static func k8sTime(_ t: Timestamp) -> String {
        var text = t.rfc3339
        if text.hasSuffix("Z") { text.removeLast() }
        let frac = text.firstIndex(of: ".").map { text.distance(from: $0, to: text.endIndex) - 1 } ?? -1
        text += frac < 0 ? ".000000000" : String(repeating: "0", count: 9 - frac)
        return text + "+00:00"
    }
}

/// The monitor's side: appends entries, rotating by `max-size`/`max-file`
/// as Docker's json-file does (`container.log` becomes `container.log.1`,
/// that `.2`, …; with `max-file=1` the file starts over), so a container
/// that writes a lot keeps at most `max-file` files of about `max-size`.
final class LogWriter {
    let path: String
    let config: LogConfig
    private var fd: FileDescriptor?
    private var size: Int64 = 0

    init(path: String, config: LogConfig) {
        self.path = path
        self.config = config
        guard config.driver != .none else { return }
        open()
    }

    private func open() {
        fd = try? FileDescriptor.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o640)
        var st = stat()
        size = fd.map { fstat($0.rawValue, &st) == 0 ? Int64(st.st_size) : 0 } ?? 0
    }

    /// Writes whole entries (lines); rotates between entries when the next
    /// would take the file past `max-size`. An entry larger than `max-size`
    /// gets a file of its own.
    func write(_ bytes: [UInt8]) {
        guard fd != nil, !bytes.isEmpty else { return }
        guard let max = config.maxSize else { return append(bytes[...]) }
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count {
                let next = Monitor.newline(in: bytes, from: end).map { $0 + 1 } ?? bytes.count
                if size + Int64(next - start) > max && (end > start || size > 0) { break }
                end = next
            }
            if end == start {  // the next entry does not fit after what the file holds
                rotate()
                continue
            }
            append(bytes[start..<end])
            start = end
        }
    }

    private func append(_ bytes: ArraySlice<UInt8>) {
        guard let fd else { return }
        if (try? fd.writeAll(Array(bytes))) != nil { size += Int64(bytes.count) }
    }

    /// Shifts the rotated files up by one (dropping the oldest) and starts a new file.
    private func rotate() {
        if config.maxFile <= 1 {
            if let fd { _ = ftruncate(fd.rawValue, 0) }
            size = 0
            return
        }
        for n in stride(from: config.maxFile - 1, through: 2, by: -1) {
            _ = rename(path + ".\(n - 1)", path + ".\(n)")
        }
        _ = rename(path, path + ".1")
        fd?.close()
        open()
    }

    func close() {
        fd?.close()
        fd = nil
    }
}
