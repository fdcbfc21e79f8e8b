#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `--cidfile FILE` of `run` and `create`: the new container's ID is written
/// to FILE. As Docker's CLI, the file is claimed before anything is pulled
/// or created, and an existing one (a file, a directory, even a dangling
/// symlink) is refused, so a second `run` with the same file never takes
/// over the first's and no user file is ever overwritten. If the create
/// fails, the claimed (still empty) file is removed again.
struct CIDFile {
    private let path: String
    private let fd: FileDescriptor

    /// Claims `path` with an exclusive create; nil path: no file.
    static func claim(_ path: String?) throws(BerthError) -> CIDFile? {
        guard let path else { return nil }
        var st = stat()
        if lstat(path, &st) == 0 {
            throw BerthError("Container ID file found, make sure the other container isn't running or delete \(path)")
        }
        do {
            let fd = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o644)
            return CIDFile(path: path, fd: fd)
        } catch {
            throw .syscall(
                "Failed to create the container ID file", path, error, fix: "check that its directory exists and is writable")
        }
    }

    /// Writes the ID (no newline, as Docker writes it) and closes the file.
    func write(_ id: String) throws(BerthError) {
        defer { fd.close() }
        do { try fd.write(id) } catch { throw .syscall("write the container ID file", path, error) }
    }

    /// The create failed: the empty file goes.
    func discard() {
        fd.close()
        unlink(path)
    }
}
