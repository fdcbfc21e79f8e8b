#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import CBerthLinux

/// Where a running container's root filesystem is mounted.
///
/// For the engine's own start with a mount namespace and `pivot_root` (the
/// namespaces backend), without a user namespace, the storage driver makes
/// the root as a detached mount (`StorageDriver.mountDetached`) and PID 1
/// attaches it in its own namespace: the host's mount table never holds
/// it, no process unmounts it (it ends with that namespace), and every new
/// mount namespace on the host, each container's included, copies a table
/// without one overlay per running container.
///
/// Everything else (the chroot and OCI backends, a user namespace, rootless,
/// a driver or kernel without detached mounts, a root already mounted) keeps
/// the root mounted on the host, as before. `ContainerFiles.withRoot` reaches
/// a root that lives inside a container through that container's namespace.
public enum RootPlacement {
    /// Whether the container's next start mounts its root inside PID 1's
    /// mount namespace (if the driver can).
    public static func inside(_ c: Container, backend: any ContainerRuntime) -> Bool {
        guard c.idMap == nil, !Rootless.isActive, !onHostForBench, let plan = try? backend.plan(for: c) else {
            return false
        }
        return plan.ociRuntime == nil && plan.pivotRoot && plan.cloneFlags & berth_clone_newns() != 0
    }

    /// `BERTH_BENCH_ROOT_ON_HOST=1`: every root mounted on the host, for a
    /// benchmark comparing the two placements with one binary.
    static let onHostForBench = getenv("BERTH_BENCH_ROOT_ON_HOST").map { String(cString: $0) == "1" } ?? false
}
