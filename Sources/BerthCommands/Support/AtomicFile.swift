#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// Writes a file through a temp name and renames it into place, so a failed
/// export never leaves a truncated tar that looks whole.
enum AtomicFile {
    static func write(_ path: String, _ body: (FileSink) throws(BerthError) -> Void) throws(BerthError) {
        let tmp = "\(path).tmp-\(getpid())"
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644) } catch {
            throw .syscall("create", path, error, fix: "check that the directory exists and is writable")
        }
        do throws(BerthError) {
            try body(FileSink(descriptor: fd, name: path))
            do { try fd.sync() } catch { throw .syscall("fsync", path, error) }
            fd.close()
            if rename(tmp, path) != 0 { throw .syscall("rename", tmp, .current) }
        } catch {
            fd.close()
            unlink(tmp)
            throw error
        }
    }
}
