#if canImport(Glibc)
import Glibc
#endif
import BerthCore
@testable import BerthEngine

/// A fresh directory under /tmp, e.g. /tmp/berth-engine-tar-XXXXXX.
func makeTempDirectory(_ label: String) -> String {
    var template = Array("/tmp/berth-engine-\(label)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
}

/// rm -rf (never follows symlinks out of the tree).
func removeTree(_ path: String) { try? FileSystem.removeTree(path) }

/// Runs `/bin/sh -c command` and returns its exit status.
@discardableResult
func shell(_ command: String) -> Int32 {
    var pid: pid_t = 0
    let words: [String] = ["/bin/sh", "-c", command]
    let argv = words.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// Single-quotes a string for /bin/sh.
func quote(_ s: String) -> String {
    "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
}

/// The bytes of a file ([] if unreadable).
func readBytes(_ path: String) -> [UInt8] { (try? FileSystem.read(path)) ?? [] }

/// Writes bytes to a file.
func writeBytes(_ path: String, _ bytes: [UInt8]) {
    try? FileSystem.writeAtomically(path, bytes)
}

/// The error a throwing call produced, or nil if it succeeded.
func failure<T>(_ body: () throws(BerthError) -> T) -> BerthError? {
    do { _ = try body(); return nil } catch { return error }
}

/// Every entry of a tar stream with its content, read through `TarReader`.
func readTar(_ bytes: [UInt8], name: String = "test.tar") throws(BerthError) -> [(entry: TarEntry, content: [UInt8])] {
    let reader = TarReader(MemorySource(bytes), name: name)
    var out: [(entry: TarEntry, content: [UInt8])] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
    defer { buffer.deallocate() }
    while let entry = try reader.next() {
        var content: [UInt8] = []
        while true {
            let n = try reader.readContent(into: buffer)
            if n == 0 { break }
            content += UnsafeRawBufferPointer(rebasing: buffer[..<n])
        }
        out.append((entry, content))
    }
    return out
}

/// A tar stream built with `TarWriter` from (entry, content) pairs.
func buildTar(_ entries: [(TarEntry, [UInt8])], finish: Bool = true) throws(BerthError) -> [UInt8] {
    let sink = MemorySink()
    let writer = TarWriter(sink)
    for (entry, content) in entries { try writer.append(entry, content: content) }
    if finish { try writer.finish() }
    return sink.bytes
}
