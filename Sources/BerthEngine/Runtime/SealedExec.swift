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
}
