#if canImport(Glibc)
import Glibc
#endif

/// An exclusive advisory lock on a file (flock(2)). Concurrent `berth`
/// processes serialise on these; the kernel drops the lock when a holder dies,
/// so a killed `berth` never leaves the store locked.
public final class FileLock {
    private let fd: FileDescriptor
    /// The lock file's path, for error messages.
    public let path: String

    /// Opens (creating) the lock file and blocks until the lock is held.
    public init(_ path: String) throws(BerthError) {
        self.path = path
        do {
            fd = try FileDescriptor.open(path, O_RDWR | O_CREAT, mode: 0o600)
        } catch {
            throw .syscall("open lock", path, error, fix: "check that the store directory is writable")
        }
        if ignoringEINTR({ flock(fd.rawValue, LOCK_EX) }) != 0 {
            let err = Errno.current
            fd.close()
            throw .syscall("flock", path, err)
        }
    }

    /// Releases the lock.
    deinit {
        flock(fd.rawValue, LOCK_UN)
        fd.close()
    }

    /// Runs `body` holding the lock at `path`.
    public static func withLock<T>(_ path: String, _ body: () throws(BerthError) -> T) throws(BerthError) -> T {
        let lock = try FileLock(path)
        defer { withExtendedLifetime(lock) {} }
        return try body()
    }
}
