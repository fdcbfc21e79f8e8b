#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine

/// The `oci` backend: Berth writes a standard OCI bundle and drives an OCI
/// runtime (runc, crun, or any binary given with `--runtime PATH`) through its
/// CLI, so runtimes can be compared on identical bundles
/// (`bench --isolation namespaces,oci:runc,oci:crun`).
public struct OCIBackend: ContainerRuntime {
    public let name = "oci"
    public let isolates = true

    public init() {}

    public static let registration = Registration.runtime(
        id: "oci",
        description: "an external OCI runtime (--runtime runc|crun|PATH) on a bundle Berth writes",
        origin: .inTree("isolation-oci"),
        { OCIBackend() })

    /// `berth bundle`, which writes the same OCI bundle for `runc run` by hand.
    public static let bundleCommand = Registration.command({ BundleCommand() }, origin: .inTree("isolation-oci"))

    public func unavailableReason() -> String? {
        if Rootless.isActive {
            return "it does not run rootless: Berth gives runc and crun no rootless configuration "
                + "(user namespace mappings, no cgroups) yet; use the namespaces backend (docs/rootless.md)"
        }
        return geteuid() == 0 ? nil : "OCI runtimes need root here (run berth as root)"
    }

    /// Finds the runtime binary: a path, or a name on PATH.
    public static func resolve(_ runtime: String) -> String? {
        if runtime.contains("/") { return access(runtime, X_OK) == 0 ? runtime : nil }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") where access("\(dir)/\(runtime)", X_OK) == 0 { return "\(dir)/\(runtime)" }
        return nil
    }

    /// The runtime a container records: `--runtime` or runc, found on PATH
    /// now so that a missing one fails at create, not at start.
    public func runtime(for requested: String?) throws(BerthError) -> String {
        let runtime = requested ?? "runc"
        _ = try plan(for: IsolationRequest(runtime: runtime))
        return runtime
    }

    public func plan(for request: IsolationRequest) throws(BerthError) -> IsolationPlan {
        let runtime = request.runtime ?? "runc"
        guard let path = Self.resolve(runtime) else {
            throw BerthError(
                "OCI runtime \"\(runtime)\" not found; install it (apt-get install -y \(runtime)) or give --runtime PATH")
        }
        // The same namespaces, capabilities and masks as the native backend, so comparisons are fair.
        var plan = IsolationPlan(
            cloneFlags: 0, pivotRoot: true, capabilities: DockerDefaults.capabilityMask,
            maskedPaths: DockerDefaults.maskedPaths, readonlyPaths: DockerDefaults.readonlyPaths,
            ptyInside: true)
        plan.ociRuntime = path
        return plan
    }

    // MARK: ContainerRuntime: everything goes through the runtime's CLI

    public func run(_ session: MonitorSession, readyFD: Int32, waitAttach: Bool) {
        let c = session.container
        do throws(BerthError) {
            guard let binary = try plan(for: IsolationRequest(hostNetwork: c.hostNetwork, runtime: c.runtime)).ociRuntime else {
                throw BerthError("the oci backend named no runtime for container \(c.name)")
            }
            OCIMonitor(session: session, binary: binary).run(readyFD: readyFD, waitAttach: waitAttach)
        } catch {
            session.begin(readyFD: readyFD)
            session.failStart(error)
        }
    }

    public func signal(_ container: Container, in layout: StoreLayout, _ signal: Int32) throws(BerthError) {
        try cli(container, layout).run(["kill", container.id, String(signal)])
    }

    public func pause(_ container: Container, in layout: StoreLayout) throws(BerthError) {
        try cli(container, layout).run(["pause", container.id])
    }

    public func resume(_ container: Container, in layout: StoreLayout) throws(BerthError) {
        try cli(container, layout).run(["resume", container.id])
    }

    /// A monitor killed before its `delete` leaves the runtime's state behind.
    public func delete(_ container: Container, in layout: StoreLayout) {
        try? cli(container, layout).run(["delete", "--force", container.id])
    }

    private func cli(_ c: Container, _ layout: StoreLayout) throws(BerthError) -> RuntimeCLI {
        guard let binary = try plan(for: IsolationRequest(runtime: c.runtime)).ociRuntime else {
            throw BerthError("the oci backend named no runtime for container \(c.name)")
        }
        return RuntimeCLI(binary: binary, layout: layout, containerDirectory: layout.container(c.id))
    }
}
