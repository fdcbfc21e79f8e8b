#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// Where a script's own output goes and how `$(…)` captures commands'
/// output. The real one redirects file descriptor 1; tests use strings.
public protocol ScriptIO: AnyObject {
    /// Output of `echo` and other shell built-ins.
    func write(_ text: String)
    /// Error lines (`FILE:LINE: error: …`, `Error: …`).
    func writeError(_ text: String)
    /// From now on, stdout goes into a new buffer (nested captures stack).
    func beginCapture() throws(BerthError)
    /// Ends the innermost capture and returns what was written.
    func endCapture() -> String
    /// A `source`d file's text.
    func readFile(_ path: String) throws(BerthError) -> String
}

/// The process's streams. A capture points fd 1 at an unlinked temporary
/// file, so everything a command writes, its child processes included, is
/// caught; a file and not a pipe, because a pipe would fill up (deadlock
/// on big output) and a container monitor that inherited its write end
/// would keep it from ever reaching end-of-file.
public final class StandardScriptIO: ScriptIO {
    private var saved: [(stdout: Int32, file: Int32)] = []
    private let errorOutput: (String) -> Void

    public init(errorOutput: ((String) -> Void)? = nil) {
        self.errorOutput = errorOutput ?? { writeOut($0, to: 2) }
    }

    public func write(_ text: String) { writeOut(text) }
    public func writeError(_ text: String) { errorOutput(text) }

    public func beginCapture() throws(BerthError) {
        let dir = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((dir + "/berth-capture-XXXXXX").utf8CString)
        let file = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard file >= 0 else {
            throw BerthError("cannot capture output: mkstemp in \(dir): \(String(cString: strerror(errno)))")
        }
        _ = fcntl(file, F_SETFD, FD_CLOEXEC)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        let copy = fcntl(1, F_DUPFD_CLOEXEC, 3)
        guard copy >= 0, dup2(file, 1) >= 0 else {
            if copy >= 0 { close(copy) }
            close(file)
            throw BerthError("cannot capture output: dup2: \(String(cString: strerror(errno)))")
        }
        saved.append((copy, file))
    }

    public func endCapture() -> String {
        guard let (copy, file) = saved.popLast() else { return "" }
        _ = dup2(copy, 1)
        close(copy)
        _ = lseek(file, 0, SEEK_SET)
        let bytes = (try? FileDescriptor(rawValue: file).readAll()) ?? []
        close(file)
        return String(decoding: bytes, as: UTF8.self)
    }

    public func readFile(_ path: String) throws(BerthError) -> String {
        try FileSystem.readText(path)
    }
}
