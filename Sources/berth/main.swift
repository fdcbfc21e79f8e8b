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

// The monitor and health-check entries a container's monitor re-executes
// this binary for (InternalEntry): not user commands.
let argv = CommandLine.arguments
Rootless.exportMarkers()  // after the arguments are read (Rootless.exportMarkers)
if let code = InternalEntry.run(argv, registry: registry) { exit(code) }

exit(
    Launcher.main(
        arguments: argv, registry: registry,
        completionSource: { root in StoreCompletionSource(root: root) },
        plugins: { root, listings in
            ExternalPlugins.discover(root: root, listings, registry: registry)
        }))
