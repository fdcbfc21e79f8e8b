#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// A monitor's claim on its container's directory while PID 1 runs: an
/// exclusive `flock` that the kernel drops when the monitor dies, however
/// it dies. A reader that finds it held knows a monitor of the container
/// is alive, with one `open` and one `flock`; reading the monitor's
/// `/proc/PID/stat` for its start time cost twice that (the kernel formats
/// the whole line), and `ps` asks for every running container
/// (docs/benchmarks.md, "Scale").
///
/// The claim only ever says yes. A reader that can take the lock asks
/// /proc as before: the monitor may be dead, may not have claimed yet (it
/// claims once PID 1 exists, after its first record), may run a build of
/// Berth from before the claim, or may have had its claim refused (below).
///
/// The descriptor is close-on-exec and is opened after PID 1 was forked:
/// no container process inherits a descriptor of a host directory, so a
/// working directory of `/proc/self/fd/N` cannot reach the store
/// (CVE-2024-21626). A restart re-executes the monitor with only stdio
/// (`MonitorRestart`), which drops the claim before the next PID 1 is
/// forked; `berth-monitor` holds it (`--hold`) until it execs the exit's
/// recording, which closes it.
enum MonitorLiveness {
    /// Takes the claim on `directory`; the descriptor, or -1 when it could
    /// not (a reader holding its shared lock for the moment of its check,
    /// five times over; a stale monitor of the container). Never blocks.
    static func claim(_ directory: String) -> Int32 {
        guard let fd = try? FileDescriptor.open(directory, O_RDONLY | O_DIRECTORY) else { return -1 }
        for _ in 0..<5 {
            if flock(fd.rawValue, LOCK_EX | LOCK_NB) == 0 { return fd.rawValue }
            guard errno == EAGAIN || errno == EINTR else { break }
            usleep(200)
        }
        fd.close()
        return -1
    }

    /// Whether a monitor holds the claim on the container directory `path`
    /// (relative to `base`, an open descriptor of the containers directory,
    /// or a full path and `.cwd`).
    static func isHeld(_ path: String, relativeTo base: FileDescriptor) -> Bool {
        guard let fd = try? FileDescriptor.open(path, O_RDONLY | O_DIRECTORY, relativeTo: base) else { return false }
        defer { fd.close() }  // and with it the shared lock, if this took it
        return flock(fd.rawValue, LOCK_SH | LOCK_NB) != 0 && errno == EAGAIN
    }
}
