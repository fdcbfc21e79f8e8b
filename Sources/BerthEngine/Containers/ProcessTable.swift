#if canImport(Glibc)
import Glibc
#endif

/// Facts about host processes from /proc.
public enum ProcessTable {
    /// The start time of `pid` (field 22 of /proc/PID/stat, in clock ticks
    /// since boot), or nil if it does not exist. Comparing it with a recorded
    /// value tells a live process from a recycled PID.
    ///
    /// Read into a stack buffer and scanned as bytes: `ps` asks this for
    /// every container's monitor, so with 1,000 containers a String and an
    /// array of fields per call were a good part of its time.
    ///
    /// `proc`: an open descriptor of /proc (`ContainerStore.all` holds one), so that a
    /// caller asking about many processes walks `/proc` once, not once a
    /// process; -1 opens the full path.
    public static func startTime(_ pid: Int32, proc: Int32 = -1) -> UInt64? {
        guard pid > 0 else { return nil }
        let fd = proc >= 0 ? openat(proc, "\(pid)/stat", O_RDONLY | O_CLOEXEC) : open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // One read: procfs makes the whole line at the first read, and field
        // 22 is within the first few hundred bytes (the command name is at
        // most 64). A second read only to see the end cost `ps` a system
        // call a running container.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buffer -> UInt64? in
            var got: Int
            repeat { got = read(fd, buffer.baseAddress!, buffer.count) } while got < 0 && errno == EINTR
            return got > 0 ? startTime(stat: UnsafeBufferPointer(rebasing: buffer[..<got])) : nil
        }
    }

    /// Field 22 of a /proc/PID/stat text, nil for a zombie or a short text.
    static func startTime(stat b: UnsafeBufferPointer<UInt8>) -> UInt64? {
        // The command name (field 2) may contain spaces and parentheses: start after the last ')'.
        var i = b.count - 1
        while i >= 0 && b[i] != UInt8(ascii: ")") { i -= 1 }
        guard i >= 0 else { return nil }
        i += 1
        var field = 2
        while i < b.count && field < 22 {
            if b[i] == UInt8(ascii: " ") {
                field += 1
                // Field 3 is the state: a zombie is dead for our purposes.
                if field == 3 && i + 1 < b.count && b[i + 1] == UInt8(ascii: "Z") { return nil }
            }
            i += 1
        }
        guard field == 22 else { return nil }
        var value: UInt64 = 0
        var digits = 0
        while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b[i] - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = a
            digits += 1
            i += 1
        }
        return digits > 0 ? value : nil
    }

    /// Whether `pid` is alive and is the process that started at `startTime`.
    public static func isAlive(_ pid: Int32, startTime: UInt64, proc: Int32 = -1) -> Bool {
        guard let now = Self.startTime(pid, proc: proc) else { return false }
        return startTime == 0 || now == startTime
    }
}
