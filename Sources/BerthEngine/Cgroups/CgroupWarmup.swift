#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux
import Synchronization

/// Overlaps the slowest step of a container start with the work before it.
///
/// Moving a process into a cgroup (writing `cgroup.procs`) takes the kernel's
/// global cgroup migration lock for writing, and the first writer after a quiet
/// spell waits for a whole RCU grace period: 6 to 16 ms on this 2-core machine,
/// more than everything else `run` does. A writer that comes while the lock is
/// still warm (within about one grace period of the previous one) pays
/// nothing. So a start begins with a throw-away child that makes a no-op move
/// (itself, into the cgroup it is already in); the grace period then passes
/// while Berth writes the record, mounts the root and starts the monitor, and
/// the monitor's real move finds the lock warm.
///
/// Only where a move happens at all: on cgroup v2 the monitor clones the
/// container straight into its cgroup (`CLONE_INTO_CGROUP`), with no move.
/// Measured in docs/benchmarks.md.
public enum CgroupWarmup {
    /// How many `around`s are running in this process: only the outermost
    /// starts a warm-up (`run` wraps create and start, and `Lifecycle.start`
    /// wraps itself for every other caller).
    private static let depth = Atomic<Int>(0)

    /// Runs `body` with a warm-up started before it and reaped after it.
    public static func around<T>(
        environment: [String: String] = [:],
        _ body: () throws(BerthError) -> T
    ) throws(BerthError) -> T {
        let outermost = depth.add(1, ordering: .relaxed).oldValue == 0
        defer { depth.subtract(1, ordering: .relaxed) }
        let pid = outermost ? start(environment: environment) : 0
        defer { reap(pid) }
        return try body()
    }

    /// The no-op move, in the background; 0 when there is nothing to warm.
    /// The one the CLI's constructor began at its exec (cgroup_early.c), if
    /// it did, rather than a second.
    static func start(environment: [String: String]) -> Int32 {
        let early = berth_cgroup_touch_take_early()
        if early > 0 { return early }
        guard Cgroup.forContainer("", environment: environment).version == "v1",
            let procs = ownFreezerProcs()
        else { return 0 }
        return max(0, berth_cgroup_touch(procs))
    }

    static func reap(_ pid: Int32) {
        guard pid > 0 else { return }
        waitForChild(pid)
    }

    /// `cgroup.procs` of this process's own freezer cgroup (v1), found as
    /// the constructor finds it (`berth_own_freezer_procs`).
    static func ownFreezerProcs() -> String? {
        var buffer = [CChar](repeating: 0, count: 4200)
        guard berth_own_freezer_procs(&buffer, buffer.count) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
