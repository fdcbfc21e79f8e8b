#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine
import BerthService
import StorageOverlay
import StorageCopy
import IsolationNamespaces
import IsolationChroot
import IsolationOCI

// `berth-service --root ROOT [--time SECONDS] [URI]`: the Docker Engine API
// over the store at ROOT (docs/api.md); `berth system service` runs it.
// Wired to the same plugins as `berth` (Sources/berth/main.swift): the
// engine never imports a plugin, only executables do.
let registry = PluginRegistry()
registry.register(OverlayDriver.registration)
registry.register(CopyDriver.registration)
registry.register(NamespacesBackend.registration)
registry.register(ChrootBackend.registration)
registry.register(OCIBackend.registration)

let argv = CommandLine.arguments
Rootless.exportMarkers()  // after the arguments are read (Rootless.exportMarkers)
// The service is multi-threaded, so `start` re-executes this binary as the
// container's monitor, and a monitor re-executes it to restart its
// container or run its health checks: the same entries as `berth`'s.
if let code = InternalEntry.run(argv, registry: registry) { exit(code) }

var root = getenv("BERTH_ROOT").map { String(cString: $0) } ?? "/var/lib/berth"
var time = 5
var uri = APIServer.defaultURI
var i = 1
func fail(_ message: String) -> Never {
    _ = try? FileDescriptor(rawValue: 2).write("Error: \(message)\nUsage: berth-service [--root DIR] [--time SECONDS] [URI]\n")
    exit(125)
}
while i < argv.count {
    switch argv[i] {
    case "--root":
        guard i + 1 < argv.count else { fail("--root needs a directory") }
        root = argv[i + 1]
        i += 2
    case "--time", "-t":
        guard i + 1 < argv.count, let n = Int(argv[i + 1]), n >= 0 else { fail("--time needs 0 or more seconds") }
        time = n
        i += 2
    default:
        guard !argv[i].hasPrefix("-") else { fail("unknown flag: \(argv[i])") }
        uri = argv[i]
        i += 1
    }
}
exit(APIServer.run(root: root, registry: registry, uri: uri, idleSeconds: time))
