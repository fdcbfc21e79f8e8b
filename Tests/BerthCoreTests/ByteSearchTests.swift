import Testing
import BerthCore
#if canImport(Glibc)
import Glibc
#endif

/// The byte searches that replaced the string-processing searcher on the
/// paths every command takes (docs/benchmarks.md, "Start-up, 2026-12-02").
@Suite("Byte search in strings")
struct ByteSearchTests {
    @Test("the last occurrence is found, at its byte offset")
    func lastOffset() {
        #expect("a.tmp-1.tmp-22".lastUTF8Offset(of: ".tmp-") == 7)
        #expect(".tmp-".lastUTF8Offset(of: ".tmp-") == 0)
        #expect("x.tmp".lastUTF8Offset(of: ".tmp-") == nil)
        #expect("".lastUTF8Offset(of: "a") == nil)
        #expect("abc".lastUTF8Offset(of: "") == nil)
        #expect("é/freezer/".lastUTF8Offset(of: "/freezer/") == 2, "offsets count bytes, not characters")
    }

    @Test("the first occurrence is found, at its byte offset")
    func firstOffset() {
        #expect("/sys/fs/cgroup/freezer/a/freezer/b".firstUTF8Offset(of: "/freezer/") == 14)
        #expect("abc".firstUTF8Offset(of: "abc") == 0)
        #expect("ab".firstUTF8Offset(of: "abc") == nil)
        #expect("abc".firstUTF8Offset(of: "") == nil)
    }

    @Test("the text after the first or last marker")
    func suffix() {
        #expect("/sys/fs/cgroup/freezer/a/freezer/b".utf8Suffix(after: "/freezer/") == "a/freezer/b")
        #expect("x.json.tmp-1.tmp-22".utf8Suffix(after: ".tmp-", last: true) == "22")
        #expect("x.json".utf8Suffix(after: ".tmp-") == nil)
        #expect("é.tmp-".utf8Suffix(after: ".tmp-") == "")
    }

    @Test("contains compares bytes")
    func contains() {
        #expect("/sys/fs/cgroup/freezer/berth/abc".containsUTF8("/freezer/"))
        #expect(!"/sys/fs/cgroup/unified/berth/abc".containsUTF8("/freezer/"))
        #expect(!"/freezer".containsUTF8("/freezer/"))
        #expect("anything".containsUTF8(""))
    }

    @Test("a stale FILE.tmp-PID is removed, a live writer's and other files are not")
    func staleTempFiles() throws {
        var template = Array("/tmp/berth-bytes-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { Issue.record("mkdtemp: \(errno)"); return }
        let dir = String(cString: made)
        defer { try? FileSystem.removeTree(dir) }
        // A PID that cannot exist (above pid_max's ceiling of 2^22).
        let names = ["a.json.tmp-\(getpid())", "b.json.tmp-9999999", "c.json", "d.tmp-x", "e.tmp-1.tmp-9999998"]
        for name in names { try FileSystem.writeAtomically(dir + "/" + name, Array("x".utf8), durable: false) }
        let removed = FileSystem.removeStaleTempFiles(in: dir)
        #expect(removed.sorted() == ["b.json.tmp-9999999", "e.tmp-1.tmp-9999998"])
        #expect(FileSystem.list(dir) == ["a.json.tmp-\(getpid())", "c.json", "d.tmp-x"])
    }
}
