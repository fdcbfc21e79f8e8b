#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// The `oci` backend: Berth writes a standard OCI bundle and drives an OCI
/// runtime (runc, crun, or any binary given with `--runtime PATH`) through its
/// CLI, so runtimes can be compared on identical bundles
/// (`bench --isolation namespaces,oci:runc,oci:crun`).
public struct OCIBackend: IsolationBackend {
    public let name = "oci"
    public let isolates = true

    public init() {}

    public static let registration = Registration(
        kind: .isolation, id: "oci",
        description: "an external OCI runtime (--runtime runc|crun|PATH) on a bundle Berth writes",
        origin: .inTree("isolation-oci"),
        factory: .isolation { OCIBackend() })

    public func unavailableReason() -> String? {
        geteuid() == 0 ? nil : "OCI runtimes need root here (run berth as root)"
    }

    /// Finds the runtime binary: a path, or a name on PATH.
    public static func resolve(_ runtime: String) -> String? {
        if runtime.contains("/") { return access(runtime, X_OK) == 0 ? runtime : nil }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") where access("\(dir)/\(runtime)", X_OK) == 0 { return "\(dir)/\(runtime)" }
        return nil
    }

    public func plan(for request: IsolationRequest) throws(BerthError) -> IsolationPlan {
        let runtime = request.runtime ?? "runc"
        guard let path = Self.resolve(runtime) else {
            throw BerthError("OCI runtime \"\(runtime)\" not found; install it (apt-get install -y \(runtime)) or give --runtime PATH")
        }
        // The same namespaces, capabilities and masks as the native backend, so comparisons are fair.
        var plan = IsolationPlan(cloneFlags: 0, pivotRoot: true, capabilities: DockerDefaults.capabilityMask,
                                 maskedPaths: DockerDefaults.maskedPaths, readonlyPaths: DockerDefaults.readonlyPaths,
                                 ptyInside: true)
        plan.ociRuntime = path
        return plan
    }
}
