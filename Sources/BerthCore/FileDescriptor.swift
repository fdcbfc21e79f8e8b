#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// An owned file descriptor. Close it with `close()`; every Berth descriptor
/// is opened O_CLOEXEC so none can leak into a container.
public struct FileDescriptor: Sendable, Hashable {
    /// The raw descriptor number.
    public let rawValue: Int32

    /// Wraps a raw descriptor the caller owns.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The working directory, for `*at` calls.
    public static let cwd = FileDescriptor(rawValue: AT_FDCWD)

    /// open(2) with O_CLOEXEC added.
    public static func open(
        _ path: String, _ flags: Int32, mode: mode_t = 0o644,
        relativeTo dir: FileDescriptor = .cwd
    ) throws(Errno) -> FileDescriptor {
        let fd = try retryingEINTR { openat(dir.rawValue, path, flags | O_CLOEXEC, mode) }
        return FileDescriptor(rawValue: fd)
    }

    /// openat2(2) with RESOLVE_IN_ROOT: `path` is resolved as if `root` were
    /// `/`, so neither `..` nor an absolute symlink can leave it. This is what
    /// makes archive extraction and `cp` immune to symlink escapes.
    public static func openInRoot(
        _ root: FileDescriptor, _ path: String, _ flags: Int32,
        mode: mode_t = 0
    ) throws(Errno) -> FileDescriptor {
        let resolve = berth_resolve_in_root() | berth_resolve_no_magiclinks()
        let fd = try retryingEINTR {
            berth_openat2(root.rawValue, path, UInt64(UInt32(bitPattern: flags | O_CLOEXEC)), UInt64(mode), resolve)
        }
        return FileDescriptor(rawValue: fd)
    }

    /// close(2); errors are ignored because Linux always releases the fd.
    public func close() { _ = Glibc.close(rawValue) }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retryingEINTR { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Writes all of `bytes`, looping over short writes.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            let base = bytes.baseAddress!.advanced(by: offset)
            let count = bytes.count - offset
            offset += try retryingEINTR { Glibc.write(rawValue, base, count) }
        }
    }

    /// Writes all of `bytes`.
    public func writeAll(_ bytes: [UInt8]) throws(Errno) {
        try asErrno { try bytes.withUnsafeBytes { try writeAll($0) } }
    }

    /// Writes a UTF-8 string.
    public func write(_ text: String) throws(Errno) { try writeAll(Array(text.utf8)) }

    /// Reads until end of file.
    ///
    /// Reads through an uninitialised stack buffer rather than a zeroed
    /// 64 kB array per call: `ps` reads one record per container, and
    /// zeroing that array for each of 1,000 small files was measurable.
    public func readAll() throws(Errno) -> [UInt8] {
        var out: [UInt8] = []
        var failure: Errno?
        withUnsafeTemporaryAllocation(byteCount: 16384, alignment: 1) { chunk in
            while true {
                do throws(Errno) {
                    let n = try read(into: chunk)
                    if n == 0 { return }
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<n]))
                } catch {
                    failure = error
                    return
                }
            }
        }
        if let failure { throw failure }
        return out
    }

    /// fsync(2).
    public func sync() throws(Errno) { _ = try retryingEINTR { fsync(rawValue) } }

    /// fstat(2).
    public func stat() throws(Errno) -> Glibc.stat {
        var st = Glibc.stat()
        _ = try retryingEINTR { fstat(rawValue, &st) }
        return st
    }
}

/// Runs a closure that can only throw `Errno` through an API whose `rethrows`
/// erases the error type, and restores the type.
@inlinable
public func asErrno<T>(_ body: () throws -> T) throws(Errno) -> T {
    do { return try body() } catch let error as Errno { throw error } catch { throw Errno.EINVAL }
}
