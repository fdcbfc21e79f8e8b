#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The timeout of an exec'd health probe. The process runs as the child of
/// an exec helper (outside the container's PID namespace), so killing the
/// helper alone would leave it running; it is found as the helper's child
/// and killed with its process group (it leads its own session), then the
/// helper ends by itself.
enum ExecProbe {
    /// Waits up to `milliseconds` for the helper to exit; false if it has not.
    static func awaitExit(_ helper: pid_t, milliseconds: Int32) -> Bool {
        let fd = berth_pidfd_open(helper)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        let deadline = Timestamp.monotonicMilliseconds() + Int64(milliseconds)
        while true {
            let left = Int32(clamping: max(0, deadline - Timestamp.monotonicMilliseconds()))
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, left)
            if n > 0 { return true }
            if n == 0 || errno != EINTR { return false }
        }
    }

    /// SIGKILL for the helper's children and their process groups; the
    /// helper then reaps its child and exits (killed first, it would leave
    /// the child a zombie for the container's PID 1, which may never reap it).
    static func kill(_ helper: pid_t) {
        for child in children(of: helper) {
            Glibc.kill(-child, SIGKILL)
            Glibc.kill(child, SIGKILL)
        }
        if !awaitExit(helper, milliseconds: 2_000) { Glibc.kill(helper, SIGKILL) }
    }

    /// PIDs whose parent is `pid` (field 4 of /proc/PID/stat).
    private static func children(of pid: pid_t) -> [pid_t] {
        if let text = try? FileSystem.readText("/proc/\(pid)/task/\(pid)/children") {
            return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { pid_t($0) }
        }
        return FileSystem.list("/proc").compactMap { entry -> pid_t? in
            guard let child = pid_t(entry), let stat = try? FileSystem.readText("/proc/\(entry)/stat"),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == pid ? child : nil
        }
    }
}
