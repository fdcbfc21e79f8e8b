#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine
import BerthCommands
import BerthShell
import StorageOverlay
import StorageCopy
import IsolationNamespaces
import IsolationChroot
import IsolationOCI

// The only place that wires plugins to the engine: the engine never imports
// a plugin, and a plugin never imports another.
let registry = PluginRegistry()
Builtins.register(into: registry)
registry.register(OverlayDriver.registration)
registry.register(CopyDriver.registration)
registry.register(NamespacesBackend.registration)
registry.register(ChrootBackend.registration)
registry.register(OCIBackend.registration)
registry.register(OCIBackend.bundleCommand)

// `berth --root ROOT __monitor ID [--wait-attach] [--size ROWSxCOLS] [--restarted MS]`: the per-container
// monitor, re-executed by `start` so that it begins single-threaded (and by itself to restart its
// container under a restart policy). Not a user command.
let argv = CommandLine.arguments
if argv.count >= 5, argv[1] == "--root", argv[3] == "__monitor" {
    let size = argv.firstIndex(of: "--size").flatMap { $0 + 1 < argv.count ? WindowSize(argument: argv[$0 + 1]) : nil }
    exit(
        Monitor.main(
            root: argv[2], id: argv[4], readyFD: 3, waitAttach: argv.contains("--wait-attach"),
            windowSize: size, registry: registry,
            restartedAfterMs: argv.firstIndex(of: "--restarted").flatMap { $0 + 1 < argv.count ? Int(argv[$0 + 1]) : nil }))
}

// `berth --root ROOT __health ID MONITORPID`: a container's health checks, started by its monitor.
if argv.count >= 6, argv[1] == "--root", argv[3] == "__health", let monitor = Int32(argv[5]) {
    exit(HealthMonitor.main(root: argv[2], id: argv[4], monitor: monitor, registry: registry))
}

exit(
    Launcher.main(
        arguments: argv, registry: registry,
        completionSource: { root in StoreCompletionSource(root: root) },
        plugins: { root, environment in
            ExternalPlugins.discover(root: root, environment: environment, registry: registry)
        }))
