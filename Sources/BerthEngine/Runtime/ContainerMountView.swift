#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The container's files as the container sees them, for `cp`: its root
/// with its bind mounts, volumes and the `/etc/hosts`, `/etc/hostname` and
/// `/etc/resolv.conf` Berth gives it mounted over it, running or stopped
/// (Docker's daemon mounts a container's volumes for `cp` the same way).
///
/// The mounts are made in a private mount namespace of the calling thread
/// only (unshare(CLONE_NEWNS), the rest of the host stays a slave, so
/// nothing made here is seen outside), every target is resolved inside the
/// root with openat2(RESOLVE_IN_ROOT) and mounted through /proc/self/fd, so a
/// symlink in the container can never place a mount on a host path. When
/// `body` returns, the thread goes back to the host's namespace and its
/// working directory, and the private namespace, having no member left,
/// takes every mount made here with it: nothing to unmount, even on error.
///
/// tmpfs mounts live only inside a running container's own namespace;
/// as in Docker, `cp` does not see them and reads the layer beneath.
public struct ContainerMountView {
    public let layout: StoreLayout
    public let container: Container
    public let rootfs: String

    public init(layout: StoreLayout, container: Container, rootfs: String) {
        self.layout = layout
        self.container = container
        self.rootfs = rootfs
    }

    /// What is mounted over the root, in the order the monitor mounts it:
    /// Berth's /etc files (if the container ever started with them), then
    /// the user's binds and volumes.
    public var mounts: [MountSpec] {
        let dir = layout.container(container.id)
        let etc = ["hosts", "hostname", "resolv.conf"].filter { FileSystem.exists(dir + "/" + $0) }.map {
            MountSpec(kind: .bind, source: dir + "/" + $0, target: "/etc/" + $0)
        }
        return etc + container.mounts.filter { $0.kind != .tmpfs }
    }

    /// Runs `body` with the mounts in place (no namespace at all when the
    /// container has none).
    public func with<T>(_ body: () throws(BerthError) -> T) throws(BerthError) -> T {
        let specs = mounts
        if specs.isEmpty { return try body() }
        let hostNamespace: FileDescriptor
        let cwd: FileDescriptor
        do {
            hostNamespace = try FileDescriptor.open("/proc/thread-self/ns/mnt", O_RDONLY)
        } catch {
            throw .syscall("open", "/proc/thread-self/ns/mnt", error, fix: "cp through mounts needs /proc mounted")
        }
        defer { hostNamespace.close() }
        do { cwd = try FileDescriptor.open(".", berth_o_path() | O_DIRECTORY) } catch {
            throw .syscall("open", "the working directory", error)
        }
        defer { cwd.close() }
        guard berth_unshare(berth_clone_newns()) == 0 else {
            throw .syscall(
                "unshare(CLONE_NEWNS) for", "the mounts of \(container.name)", .current,
                fix: "cp through a container's mounts needs CAP_SYS_ADMIN; run berth as root")
        }
        defer {
            // Back to the host's namespace; setns also moves the thread to
            // its root, so the working directory is restored after it.
            if berth_setns(hostNamespace.rawValue, berth_clone_newns()) != 0 || fchdir(cwd.rawValue) != 0 {
                fatalError("cp: cannot return to the host's mount namespace: \(Errno.current)")
            }
        }
        guard mount(nil, "/", nil, UInt(MS_REC | MS_SLAVE), nil) == 0 else {
            throw .syscall("make / a slave mount in", "cp's private namespace", .current)
        }
        let prep = MountPreparation(rootfs: rootfs, volumes: VolumeStore(layout: layout))
        // The mount points exist once the container has started; for one that
        // never did they are made now, and an empty volume filled from the
        // image, as Docker does at create (else the first start would find
        // the volume no longer empty and skip it).
        let neverStarted = container.state.startedAt == nil
        for m in specs {
            try prep.prepare(m, prefill: neverStarted)
            try prep.hostBind(m)
        }
        return try body()
    }

    /// Whether `dir` (a descriptor inside the root) lies on a mount other
    /// than the root's own, and whether that filesystem is read-only: what
    /// Docker checks before a copy in.
    public static func placement(of dir: FileDescriptor, root: FileDescriptor) -> (onMount: Bool, readonly: Bool) {
        var fs = statvfs()
        let readonly = fstatvfs(dir.rawValue, &fs) == 0 && fs.f_flag & UInt(ST_RDONLY) != 0
        let a = mountID(dir), b = mountID(root)
        return (a != nil && a != b, readonly)
    }

    /// The `mnt_id:` of an open descriptor (/proc/self/fdinfo).
    private static func mountID(_ fd: FileDescriptor) -> String? {
        let text = (try? FileSystem.readText("/proc/self/fdinfo/\(fd.rawValue)")) ?? ""
        return text.split(separator: "\n").first { $0.hasPrefix("mnt_id:") }.map { String($0.dropFirst(7)).trimmingSpaces }
    }
}
