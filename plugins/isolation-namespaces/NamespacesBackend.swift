#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine
import CBerthLinux

/// The `namespaces` backend: new PID, mount, UTS, IPC and network namespaces,
/// pivot_root into the container root, Docker's default capabilities, and the
/// /proc and /sys paths Docker masks or makes read-only.
public struct NamespacesBackend: ContainerRuntime {
    public let name = "namespaces"
    public let isolates = true

    /// A backend instance.
    public init() {}

    /// The registration the executable adds to the registry.
    public static let registration = Registration.runtime(
        id: "namespaces",
        description: "Linux namespaces (pid, mnt, uts, ipc, net), pivot_root, Docker's default capabilities",
        origin: .inTree("isolation-namespaces"),
        { NamespacesBackend() })

    /// Nil when namespaces work here. The probe is real: a child tries to
    /// unshare every namespace a container gets, because a seccomp filter or
    /// a sandbox can refuse them even where /proc/self/ns lists them. A
    /// success is remembered until reboot (`NamespacesProbe`).
    /// `BERTH_NAMESPACES=off` declares them unavailable (for sandboxes where
    /// the probe itself is unwelcome, and to test the fallback).
    public func unavailableReason() -> String? {
        if let off = getenv("BERTH_NAMESPACES"), String(cString: off) == "off" {
            return "namespaces are turned off (BERTH_NAMESPACES=off)"
        }
        if geteuid() != 0 { return "namespaces need root (run berth as root)" }
        let flags =
            berth_clone_newpid() | berth_clone_newns() | berth_clone_newuts() | berth_clone_newipc()
            | berth_clone_newnet()
        guard let err = NamespacesProbe.refusal(flags: flags) else { return nil }
        return "the kernel refused new namespaces (unshare: \(err))"
    }

    /// PID 1 is cloned into a user namespace of its own with the others.
    public func userNamespaceRefusal() -> String? { nil }

    public func plan(for request: IsolationRequest) throws(BerthError) -> IsolationPlan {
        var flags = berth_clone_newpid() | berth_clone_newns() | berth_clone_newuts() | berth_clone_newipc()
        if !request.hostNetwork { flags |= berth_clone_newnet() }
        // --pid/--ipc/--uts host or container:NAME: the engine joins those instead.
        flags &= ~request.sharedNamespaces
        // A user namespace is cloned together with the others, so it owns
        // them: the container's root is root only over its own namespaces.
        if request.userNamespace { flags |= berth_clone_newuser() }
        return IsolationPlan(
            cloneFlags: flags, pivotRoot: true, capabilities: DockerDefaults.capabilityMask,
            maskedPaths: DockerDefaults.maskedPaths, readonlyPaths: DockerDefaults.readonlyPaths,
            ptyInside: true)
    }
}
