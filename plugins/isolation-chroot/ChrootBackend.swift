import BerthCore
import BerthEngine

/// The `chroot` backend: chroot(2) and nothing more, for kernels or sandboxes
/// without namespaces. It does not isolate processes, users, the network,
/// hostnames or IPC: a process inside sees and can signal every host process.
public struct ChrootBackend: ContainerRuntime {
    public let name = "chroot"
    public let isolates = false
    /// Where namespaces cannot run, chroot stands in (with a warning).
    public let standsIn = true

    /// A backend instance.
    public init() {}

    /// The registration the executable adds to the registry.
    public static let registration = Registration.runtime(
        id: "chroot",
        description: "chroot only: no process, network or user isolation (a fallback, not a sandbox)",
        origin: .inTree("isolation-chroot"),
        { ChrootBackend() })

    /// What Berth prints once when a container runs under chroot.
    public static let warning =
        "WARNING: the chroot backend does not isolate processes, users or the network; use it only for trusted images"

    /// Rootless it cannot give a container /dev/null: it makes the nodes in
    /// the container's own layer with mknod, which a user namespace refuses.
    public func unavailableReason() -> String? {
        Rootless.isActive
            ? "it does not run rootless: it makes /dev nodes with mknod, which a user namespace refuses (docs/rootless.md)"
            : nil
    }

    public func plan(for request: IsolationRequest) throws(BerthError) -> IsolationPlan {
        // No seccomp filter either: it would add nothing to a process that
        // keeps every capability and sees the whole host.
        var plan = IsolationPlan(
            cloneFlags: 0, pivotRoot: false, capabilities: .max, maskedPaths: [],
            readonlyPaths: [], ptyInside: false)
        plan.seccomp = false
        return plan
    }
}
