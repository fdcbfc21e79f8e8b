/// The internal entry points every executable that starts containers must
/// answer, since a monitor re-executes its own binary (`/proc/self/exe`):
/// `berth` and `berth-service` both call this first, so a container started
/// by either gets the same monitor, restarts and health checks.
///
/// - `--root ROOT __monitor ID [--wait-attach] [--size ROWSxCOLS] [--restarted MS]`:
///   the per-container monitor, re-executed by `start` so that it begins
///   single-threaded (and by itself to restart its container under a
///   restart policy).
/// - `--root ROOT __health ID MONITORPID`: a container's health checks,
///   started by its monitor.
/// - `--root ROOT __monitor-exit ID CODE --listener FD --clients LIST
///   --backoff MS`: `berth-monitor` hands PID 1's exit back to be recorded
///   (MonitorHandover).
///
/// Returns the exit code when `argv` is one of them, nil otherwise. Not
/// user commands.
public enum InternalEntry {
    public static func run(_ argv: [String], registry: PluginRegistry) -> Int32? {
        guard argv.count >= 5, argv[1] == "--root" else { return nil }
        func value(after flag: String) -> String? {
            argv.firstIndex(of: flag).flatMap { $0 + 1 < argv.count ? argv[$0 + 1] : nil }
        }
        switch argv[3] {
        case "__monitor":
            return Monitor.main(
                root: argv[2], id: argv[4], readyFD: 3, waitAttach: argv.contains("--wait-attach"),
                windowSize: value(after: "--size").flatMap(WindowSize.init(argument:)), registry: registry,
                restartedAfterMs: value(after: "--restarted").flatMap { Int($0) })
        case "__monitor-exit":
            // `berth-monitor` hands the exit back (MonitorHandover).
            guard argv.count >= 6, let code = Int32(argv[5]),
                let clients = MonitorHandover.parseClients(value(after: "--clients") ?? "")
            else { return nil }
            return Monitor.finishAfterHandover(
                root: argv[2], id: argv[4], code: code, listener: value(after: "--listener").flatMap { Int32($0) } ?? -1,
                clients: clients, backoffMs: value(after: "--backoff").flatMap { Int($0) } ?? 0, registry: registry)
        case "__health":
            guard argv.count >= 6, let monitor = Int32(argv[5]) else { return nil }
            return HealthMonitor.main(root: argv[2], id: argv[4], monitor: monitor, registry: registry)
        default:
            return nil
        }
    }
}
