#if canImport(Glibc)
import Glibc
#endif

/// An errno value with the name and text a user can search for.
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    /// The raw errno value.
    public let rawValue: Int32

    /// Wraps a raw errno value.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current errno.
    public static var current: Errno { Errno(errno) }

    public static let ENOENT = Errno(Glibc.ENOENT)
    public static let EEXIST = Errno(Glibc.EEXIST)
    public static let EINTR = Errno(Glibc.EINTR)
    public static let EBUSY = Errno(Glibc.EBUSY)
    public static let ENOTDIR = Errno(Glibc.ENOTDIR)
    public static let EISDIR = Errno(Glibc.EISDIR)
    public static let ENOTEMPTY = Errno(Glibc.ENOTEMPTY)
    public static let EXDEV = Errno(Glibc.EXDEV)
    public static let ELOOP = Errno(Glibc.ELOOP)
    public static let EACCES = Errno(Glibc.EACCES)
    public static let EPERM = Errno(Glibc.EPERM)
    public static let EINVAL = Errno(Glibc.EINVAL)
    public static let ENOSYS = Errno(Glibc.ENOSYS)
    public static let EAGAIN = Errno(Glibc.EAGAIN)
    public static let ESRCH = Errno(Glibc.ESRCH)
    public static let ECHILD = Errno(Glibc.ECHILD)
    public static let ENOEXEC = Errno(Glibc.ENOEXEC)
    public static let E2BIG = Errno(Glibc.E2BIG)
    public static let EMFILE = Errno(Glibc.EMFILE)
    public static let ENFILE = Errno(Glibc.ENFILE)

    /// `ENOENT (No such file or directory)`.
    public var description: String {
        let text = String(cString: strerror(rawValue))
        return "\(name ?? "errno \(rawValue)") (\(text))"
    }

    /// The symbolic name of the values Berth's messages meet. A switch, not
    /// a dictionary: a dictionary literal is built (and its generic type
    /// looked up by the runtime) the first time any error is formatted,
    /// which was every command that found an optional file missing.
    var name: String? {
        switch rawValue {
        case Glibc.EPERM: "EPERM"
        case Glibc.ENOENT: "ENOENT"
        case Glibc.ESRCH: "ESRCH"
        case Glibc.EINTR: "EINTR"
        case Glibc.EIO: "EIO"
        case Glibc.EBADF: "EBADF"
        case Glibc.ECHILD: "ECHILD"
        case Glibc.EAGAIN: "EAGAIN"
        case Glibc.ENOMEM: "ENOMEM"
        case Glibc.EACCES: "EACCES"
        case Glibc.EBUSY: "EBUSY"
        case Glibc.EEXIST: "EEXIST"
        case Glibc.EXDEV: "EXDEV"
        case Glibc.ENOTDIR: "ENOTDIR"
        case Glibc.EISDIR: "EISDIR"
        case Glibc.EINVAL: "EINVAL"
        case Glibc.ENOSPC: "ENOSPC"
        case Glibc.EROFS: "EROFS"
        case Glibc.ELOOP: "ELOOP"
        case Glibc.ENOSYS: "ENOSYS"
        case Glibc.ENOTEMPTY: "ENOTEMPTY"
        case Glibc.ENAMETOOLONG: "ENAMETOOLONG"
        case Glibc.EOPNOTSUPP: "EOPNOTSUPP"
        case Glibc.ENOEXEC: "ENOEXEC"
        case Glibc.E2BIG: "E2BIG"
        case Glibc.EMFILE: "EMFILE"
        case Glibc.ENFILE: "ENFILE"
        default: nil
        }
    }
}

/// Retries a call while it fails with EINTR; returns its result or throws errno.
@inlinable
public func retryingEINTR<T: BinaryInteger>(_ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let err = Errno.current
        if err != .EINTR { throw err }
    }
}

/// Runs a system call again while it fails with EINTR; returns its result
/// as the call gave it (-1 with `errno` set for any other failure), for
/// callers that branch on EAGAIN or end of file themselves.
@discardableResult
public func ignoringEINTR<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result != -1 || errno != EINTR { return result }
    }
}

/// waitpid(2) for one child, EINTR retried; its raw wait status, or nil
/// when it is not (or no longer) this process's child.
@discardableResult
public func waitForChild(_ pid: pid_t, options: Int32 = 0) -> Int32? {
    var status: Int32 = 0
    let reaped = ignoringEINTR { waitpid(pid, &status, options) }
    return reaped == pid ? status : nil
}
