#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The sealed exec trampoline every container process runs its command
/// through (`Sources/CBerthLinux/sealed_exec.c`), so that the host's berth
/// binary is never what /proc/self/exe names while a container's command is
/// being executed (CVE-2019-5736).
enum SealedExec {
    /// A fresh sealed memfd, or -1 where Berth has no trampoline for this
    /// architecture (the command is then exec'd directly; docs/security.md).
    static func trampoline() throws(BerthError) -> Int32 {
        let fd = berth_trampoline_fd()
        if fd < 0 && errno != ENOSYS {
            throw .syscall(
                "memfd_create", "the exec trampoline", .current,
                fix: "Berth needs memfd_create and file sealing (Linux 3.17+)")
        }
        return fd
    }

    /// A fresh sealed memfd holding berth-init (`run --init`), which takes
    /// the trampoline's place: same contract, and it is as far from the
    /// host's files as the trampoline is.
    static func initProcess() throws(BerthError) -> Int32 {
        let fd = berth_init_fd()
        guard fd >= 0 else {
            throw .syscall(
                "memfd_create", "the init process (--init)", .current,
                fix: "Berth needs memfd_create and file sealing (Linux 3.17+); or drop --init")
        }
        return fd
    }
}

/// berth-init's program (`scripts/init/init.c`), for a backend that hands
/// its runtime a file rather than a memfd (the oci backend).
public enum InitProgram {
    /// The static ELF's bytes; nil where this build has none.
    public static var bytes: [UInt8]? {
        var pointer: UnsafePointer<UInt8>?
        let size = berth_init_program(&pointer)
        guard size > 0, let pointer else { return nil }
        return Array(UnsafeBufferPointer(start: pointer, count: size))
    }

    /// Where the oci backend mounts it, read-only, as Docker mounts docker-init.
    public static let containerPath = "/sbin/docker-init"
}
