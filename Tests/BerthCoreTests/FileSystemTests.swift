import Testing
import BerthCore
#if canImport(Glibc)
import Glibc
#endif

/// `FileSystem.writeAtomically(durable: false)` swaps the new file in
/// (`RENAME_EXCHANGE`) and unlinks the old one instead of renaming over it
/// (docs/benchmarks.md, "Where the time of `run --rm` goes"): the same
/// all-or-nothing result, no temp file left, and nothing but a regular file
/// is ever swapped away.
@Suite("FileSystem.writeAtomically without fsync")
struct FileSystemTests {
    private func scratch() -> String {
        var template = Array("/tmp/berth-fs-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp: \(errno)") }
        return String(cString: made)
    }

    private func text(_ path: String) -> String? {
        (try? FileSystem.read(path)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("a new file is created; an existing one is replaced by a new inode; no temp file is left")
    func replaces() throws {
        let dir = scratch()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/record.json"
        try FileSystem.writeAtomically(path, Array("one\n".utf8), durable: false)
        #expect(text(path) == "one\n")
        var before = stat()
        #expect(stat(path, &before) == 0)
        try FileSystem.writeAtomically(path, Array("two, longer\n".utf8), durable: false)
        var after = stat()
        #expect(stat(path, &after) == 0)
        #expect(after.st_ino != before.st_ino, "swapped in, not written in place")
        try FileSystem.writeAtomically(path, Array("3\n".utf8), durable: false)
        #expect(text(path) == "3\n")
        #expect(FileSystem.list(dir) == ["record.json"], "left: \(FileSystem.list(dir))")
    }

    @Test("a directory or a symlink at the path is never swapped away: the write fails and leaves it as it was")
    func neverSwapsAwayOtherKinds() throws {
        let dir = scratch()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/record.json"
        #expect(mkdir(path, 0o755) == 0)
        try FileSystem.writeAtomically(dir + "/record.json/keep", Array("mine\n".utf8))
        #expect(throws: BerthError.self) { try FileSystem.writeAtomically(path, Array("x".utf8), durable: false) }
        #expect(FileSystem.isDirectory(path) && text(path + "/keep") == "mine\n", "the directory and its file are intact")
        #expect(FileSystem.list(dir) == ["record.json"], "left: \(FileSystem.list(dir))")

        let target = dir + "/target"
        try FileSystem.writeAtomically(target, Array("target\n".utf8))
        let link = dir + "/link"
        #expect(symlink(target, link) == 0)
        try FileSystem.writeAtomically(link, Array("new\n".utf8), durable: false)
        #expect(FileSystem.readLink(link) == nil && text(link) == "new\n", "the link itself is replaced, as rename does")
        #expect(text(target) == "target\n", "the link's target is untouched")
    }
}
