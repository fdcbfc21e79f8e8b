#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine
import BerthCommands
import BerthShell
import StorageOverlay
import StorageCopy

// The only place that wires plugins to the engine: the engine never imports
// a plugin, and a plugin never imports another.
let registry = Registry()
Builtins.register(into: registry)
registry.register(OverlayDriver.registration)
registry.register(CopyDriver.registration)

exit(Launcher.main(arguments: CommandLine.arguments, registry: registry,
                   completionSource: { root in StoreCompletionSource(root: root) }))
