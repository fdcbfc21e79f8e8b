#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import CBerthLinux

/// Remembers, until the next boot, that this host lets berth make a
/// container's namespaces, so that every `create` need not prove it again.
///
/// The probe (a child that unshares pid, mount, uts, ipc and network
/// namespaces, then exits) cost a `run` 1 to 3 ms: the fork of the CLI, a
/// new network namespace, and the child's exit, which waits for an RCU grace
/// period to tear the mount namespace down. The answer can only change with
/// the kernel's or the sandbox's rules, so a success is written to
/// `/run/berth/namespaces-probe` (a tmpfs: gone at reboot) with what it
/// depended on: the boot, the user namespace, and that the prober ran under
/// no seccomp filter. A process under a filter (a sandbox that may refuse
/// `unshare`) always probes; a failure is never remembered. Deleting the
/// file makes the next `create` probe again.
enum NamespacesProbe {
    static let path = "/run/berth/namespaces-probe"

    /// Nil when namespaces work here (remembered or just probed), else why not.
    static func refusal(flags: Int32) -> Errno? {
        let key = currentKey()
        if let key, (try? FileSystem.readText(path)) == key { return nil }
        let err = berth_probe_unshare(flags)
        guard err == 0 else { return Errno(err) }
        if let key {
            let dir = FileSystem.parent(of: path)
            try? FileSystem.makeDirectories(dir)
            FileSystem.removeStaleTempFiles(in: dir)  // a writer killed before its rename
            try? FileSystem.writeAtomically(path, Array(key.utf8), mode: 0o644, durable: false)
        }
        return nil
    }

    /// `BOOT_ID user-ns-inode`, or nil when this process runs under a seccomp
    /// filter (or the facts cannot be read): then the probe is not remembered.
    static func currentKey() -> String? {
        // prctl, not /proc/self/status's `Seccomp:` line: the same answer
        // without the kernel formatting and this parsing the whole file.
        guard berth_seccomp_mode() == 0,
            let boot = try? FileSystem.readText("/proc/sys/kernel/random/boot_id")
        else { return nil }
        var st = stat()
        guard stat("/proc/self/ns/user", &st) == 0 else { return nil }
        return boot.filter { !$0.isWhitespace } + " " + String(st.st_ino) + "\n"
    }
}
