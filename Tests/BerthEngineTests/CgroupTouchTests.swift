#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import CBerthLinux
import Testing

/// The cgroup warm-up's child (cgroup_touch.c), on plain files: what it
/// writes and what it leaves alone. On x86-64 it shares the caller's memory,
/// so these check that it reads nothing the caller may change or free.
@Suite struct CgroupTouchTests {
    /// The child writes "0" into the file even when the caller's string is
    /// overwritten as soon as the call returns, exits 0, and leaves the
    /// caller's errno as it was.
    @Test func writesZeroFromItsOwnCopyOfThePath() throws {
        let dir = makeTempDirectory("touch")
        defer { removeTree(dir) }
        for round in 0..<20 {
            let path = "\(dir)/procs-\(round)"
            try FileSystem.writeAtomically(path, text: "")
            var text = Array(path.utf8CString)
            errno = EDOM
            let pid = text.withUnsafeBufferPointer { berth_cgroup_touch($0.baseAddress!) }
            let errnoAfter = errno
            for i in text.indices.dropLast() { text[i] = CChar(UInt8(ascii: "x")) }
            #expect(pid > 0)
            #expect(errnoAfter == EDOM)
            guard pid > 0 else { continue }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            #expect(status == 0, "round \(round): the child's wait status \(status)")
            #expect(try FileSystem.readText(path) == "0", "round \(round)")
        }
    }

    /// A path that is not there stays not there (the child never creates),
    /// and one longer than a path may be is refused before any child starts.
    @Test func createsNothingAndRefusesAnOverlongPath() throws {
        let dir = makeTempDirectory("touch")
        defer { removeTree(dir) }
        let pid = berth_cgroup_touch("\(dir)/missing")
        #expect(pid > 0)
        var status: Int32 = 0
        while pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        #expect(status == 0)
        #expect(!FileSystem.exists("\(dir)/missing"))
        #expect(berth_cgroup_touch(String(repeating: "a", count: 5000)) == -1)
        #expect(errno == ENAMETOOLONG)
    }

    /// The warm-up's path is the freezer cgroup /proc/self/cgroup names for
    /// this process (cgroup v1), and nothing where it names none; a buffer
    /// too small for the path is refused rather than cut short.
    @Test func findsTheOwnFreezerCgroup() throws {
        let text = try FileSystem.readText("/proc/self/cgroup")
        let line = text.split(separator: "\n").map { $0.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false) }
            .first { $0.count == 3 && $0[1].split(separator: ",").contains("freezer") }
        var buffer = [CChar](repeating: 0, count: 4200)
        let rc = berth_own_freezer_procs(&buffer, buffer.count)
        guard let line else {
            #expect(rc == -1, "no freezer line, yet a path was found")
            return
        }
        let expected = "/sys/fs/cgroup/freezer" + (line[2] == "/" ? "" : String(line[2])) + "/cgroup.procs"
        let found = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(rc == (FileSystem.exists(expected) ? 0 : -1))
        if rc == 0 { #expect(found == expected) }
        var small = [CChar](repeating: 0, count: 8)
        #expect(berth_own_freezer_procs(&small, small.count) == -1)
    }
}
