#if canImport(Glibc)
import Glibc
#endif

/// Facts about host processes from /proc.
public enum ProcessTable {
    /// The start time of `pid` (field 22 of /proc/PID/stat, in clock ticks
    /// since boot), or nil if it does not exist. Comparing it with a recorded
    /// value tells a live process from a recycled PID.
    public static func startTime(_ pid: Int32) -> UInt64? {
        guard pid > 0, let text = try? FileSystem.readText("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19 else { return nil }
        if fields[0] == "Z" { return nil }  // a zombie is dead for our purposes
        return UInt64(fields[19])
    }

    /// Whether `pid` is alive and is the process that started at `startTime`.
    public static func isAlive(_ pid: Int32, startTime: UInt64) -> Bool {
        guard let now = Self.startTime(pid) else { return false }
        return startTime == 0 || now == startTime
    }
}
