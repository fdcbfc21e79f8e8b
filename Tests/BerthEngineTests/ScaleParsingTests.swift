import Testing
import BerthCore
#if canImport(Glibc)
import Glibc
#endif
@testable import BerthEngine

/// The byte scanners that replaced per-line strings where a command reads
/// something whose size grows with the number of containers: the host's
/// mount table (every monitor's exit and every `rm`), /proc/PID/stat (every
/// container `ps` lists) and the records themselves (JSON strings and numbers).
@Suite("byte scanners for many containers")
struct ScaleParsingTests {
    func startTime(_ text: String) -> UInt64? {
        Array(text.utf8).withUnsafeBufferPointer { ProcessTable.startTime(stat: $0) }
    }

    @Test("field 22 of /proc/PID/stat, after the last ')' of the command name; a zombie or a short line is nil")
    func statField() {
        let tail = " 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 0 20 0 1 0 4242 1000 10\n"
        #expect(startTime("123 (sleep) S" + tail) == 4242)
        #expect(startTime("123 (a) b) (c d) R" + tail) == 4242, "a name with ') (' and spaces")
        #expect(startTime("123 (sleep) Z" + tail) == nil, "a zombie is not alive")
        #expect(startTime("123 (sleep) S 1 1 0") == nil)
        #expect(startTime("no parenthesis at all") == nil)
        #expect(startTime("") == nil)
        #expect(startTime("1 (x) S 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999 1") == nil, "overflow")
        let me = ProcessTable.startTime(getpid())
        #expect(me != nil && ProcessTable.isAlive(getpid(), startTime: me!))
        #expect(!ProcessTable.isAlive(getpid(), startTime: me! + 1), "another start time is another process")
    }

    @Test("mount points below a path, deepest first, with mountinfo's octal escapes, and no false prefix")
    func mountinfo() {
        let table = """
            22 1 0:21 / /proc rw,nosuid - proc proc rw
            100 22 0:50 / /store/containers/abc/merged rw,relatime - overlay overlay rw,lowerdir=/a:/b,upperdir=/u,workdir=/w
            101 100 0:51 / /store/containers/abc/merged/proc rw - proc proc rw
            102 22 0:52 / /store/containers/abcdef/merged rw - overlay overlay rw
            103 22 0:53 / /store/containers/abc\\040d/x rw - tmpfs tmpfs rw
            104 22 0:54 / /store/containers/abc rw - tmpfs tmpfs rw

            """
        let bytes = Array(table.utf8)
        #expect(
            MountPreparation.mountPoints(under: "/store/containers/abc", in: bytes) == [
                "/store/containers/abc/merged/proc", "/store/containers/abc/merged",
            ])
        #expect(MountPreparation.mountPoints(under: "/store/containers/abc d", in: bytes) == ["/store/containers/abc d/x"])
        #expect(MountPreparation.mountPoints(under: "/nothing", in: bytes).isEmpty)
        // /proc/self/mountstats: the mount point is the fifth field there too.
        let stats = """
            device proc mounted on /proc with fstype proc
            device overlay mounted on /store/containers/abc/merged with fstype overlay
            device none mounted on /store/containers/abc\\040d/x with fstype tmpfs
            device server:/export mounted on /store/containers/abc/nfs with fstype nfs4 statvers=1.1
            \topts:\trw,vers=4.2
            device overlay mounted on /store/containers/abcdef/merged with fstype overlay

            """
        let statBytes = Array(stats.utf8)
        #expect(
            MountPreparation.mountPoints(under: "/store/containers/abc", in: statBytes) == [
                "/store/containers/abc/merged", "/store/containers/abc/nfs",
            ])
        #expect(MountPreparation.mountPoints(under: "/store/containers/abc d", in: statBytes) == ["/store/containers/abc d/x"])
        // And the host's own: /sys has mounts below it (cgroups at least).
        #expect(!MountPreparation.mountPoints(under: "/sys").isEmpty)
        #expect(MountPreparation.mountPoints(under: "/store", in: Array("12 1 0:1 /".utf8)).isEmpty, "a cut line")
        #expect(MountPreparation.escapedMountPath("a b\\c") == "a\\040b\\134c")
        #expect(MountPreparation.unescapedMountPath("a\\040b\\134c") == "a b\\c")
    }

    @Test("JSON strings with and without escapes, and numbers, decode as before")
    func json() throws {
        let doc = try JSONParser.parse(#"{"a": "plain", "b": "x\"y\\z\n\u00e9\ud83d\ude00", "c": [1, -2.5, 3e2], "d": ""}"#)
        #expect(doc["a"]?.stringValue == "plain")
        #expect(doc["b"]?.stringValue == "x\"y\\z\né😀")
        #expect(doc["c"] == .array([.number(1), .number(-2.5), .number(300)]))
        #expect(doc["d"]?.stringValue == "")
        #expect(throws: BerthError.self) { try JSONParser.parse(#"{"a": "unterminated}"#) }
        #expect(throws: BerthError.self) { try JSONParser.parse(#"{"a": "esc\"#) }
        #expect(throws: BerthError.self) { try JSONParser.parse("[1, 2x]") }
    }
}
