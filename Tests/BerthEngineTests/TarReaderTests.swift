import Testing
import BerthCore
@testable import BerthEngine

@Suite("tar reader and writer")
struct TarReaderTests {
    static let longDir = String(repeating: "d", count: 60) + "/" + String(repeating: "e", count: 60)
    static let longTarget = String(repeating: "/t", count: 70)

    /// A tree with a long path (> 100 bytes), a long symlink target, a hard
    /// link, an empty directory and a 70 000-byte file, archived by `command`
    /// (run in the tree; `OUT` is the archive path).
    private func systemArchive(_ command: String) throws -> (
        entries: [String: (entry: TarEntry, content: [UInt8])], bytes: [UInt8]
    ) {
        let dir = makeTempDirectory("systar")
        defer { removeTree(dir) }
        let script = """
            set -e; mkdir -p \(dir)/src/\(Self.longDir) \(dir)/src/empty; cd \(dir)/src
            printf 'hello\\n' > \(Self.longDir)/file.txt
            head -c 70000 /dev/zero | tr '\\0' 'z' > big
            chmod 4751 big
            ln -s \(Self.longTarget) longlink
            ln \(Self.longDir)/file.txt hardlink
            touch -d '2021-02-03 04:05:06' big
            OUT=\(dir)/out.tar; \(command)
            """
        #expect(shell(script) == 0, "archiving with: \(command)")
        let bytes = readBytes(dir + "/out.tar")
        var entries: [String: (entry: TarEntry, content: [UInt8])] = [:]
        for item in try readTar(bytes) {
            var path = item.entry.path
            if path.hasPrefix("./") { path.removeFirst(2) }
            while path.hasSuffix("/") { path.removeLast() }
            entries[path] = item
        }
        return (entries, bytes)
    }

    private func checkTree(
        _ entries: [String: (entry: TarEntry, content: [UInt8])], hardLinkAt linkPath: String,
        target: String
    ) {
        let file = entries[Self.longDir + "/file.txt"] ?? entries["hardlink"]
        #expect(file?.entry.kind == .regular || file?.entry.kind == .hardLink)
        let regular = [entries[Self.longDir + "/file.txt"], entries["hardlink"]].compactMap { $0 }.first {
            $0.entry.kind == .regular
        }
        #expect(regular?.content == Array("hello\n".utf8))
        #expect(entries[linkPath]?.entry.kind == .hardLink)
        #expect(entries[linkPath]?.entry.linkTarget.hasSuffix(target) == true)
        #expect(entries["big"]?.content.count == 70000)
        #expect(entries["big"]?.content.allSatisfy { $0 == UInt8(ascii: "z") } == true)
        #expect(entries["big"]?.entry.mode == 0o4751)
        #expect(entries["longlink"]?.entry.kind == .symbolicLink)
        #expect(entries["longlink"]?.entry.linkTarget == Self.longTarget)
        #expect(entries["empty"]?.entry.kind == .directory)
        #expect(entries[Self.longDir]?.entry.kind == .directory)
    }

    /// Hard-linked pairs are archived in directory order, so either name may
    /// carry the data and the other the link.
    private func checkTree(_ entries: [String: (entry: TarEntry, content: [UInt8])]) {
        let linked = entries["hardlink"]?.entry.kind == .hardLink ? "hardlink" : Self.longDir + "/file.txt"
        checkTree(entries, hardLinkAt: linked, target: linked == "hardlink" ? Self.longDir + "/file.txt" : "hardlink")
    }

    @Test("GNU tar --format=gnu archives (long names, long link target) read completely")
    func gnuFormat() throws {
        let (entries, bytes) = try systemArchive("tar --format=gnu -cf $OUT .")
        checkTree(entries)
        // The diff ID covers the whole stream, end-of-archive blocks included.
        let hashing = HashingSource(MemorySource(bytes))
        let reader = TarReader(hashing, name: "gnu.tar")
        while try reader.next() != nil {}
        try hashing.drainToEnd()
        #expect(hashing.digest == "sha256:" + SHA256.hex(SHA256.hash(bytes)))
        #expect(hashing.byteCount == Int64(bytes.count))
        #expect(bytes.count % 10240 == 0)
    }

    @Test("GNU tar --format=posix archives (pax headers) read completely, with sub-second mtimes")
    func posixFormat() throws {
        let (entries, _) = try systemArchive("touch -d '2021-02-03 04:05:06.25' empty; tar --format=posix -cf $OUT .")
        checkTree(entries)
        #expect(entries["big"]?.entry.mtimeSeconds == 1_612_325_106)
        #expect(entries["empty"]?.entry.mtimeNanoseconds == 250_000_000)
    }

    @Test("busybox tar archives read completely")
    func busyboxFormat() throws {
        let (entries, _) = try systemArchive("/bin/busybox tar -cf $OUT .")
        checkTree(entries)
    }

    @Test("what TarWriter writes, TarReader and GNU tar read back identically")
    func writerRoundTrip() throws {
        var file = TarEntry(path: "dir/" + String(repeating: "n", count: 150), kind: .regular, mode: 0o6755)
        file.uid = 1234; file.gid = 5678; file.userName = "someone"; file.groupName = "group"
        file.mtimeSeconds = 1_700_000_000; file.mtimeNanoseconds = 123_456_789
        file.xattrs = ["user.comment": Array("hi\0there".utf8), "security.capability": [1, 0, 0, 2]]
        var bigIds = TarEntry(path: "ids", kind: .regular)
        bigIds.uid = 4_000_000_000; bigIds.gid = 3_000_000
        var device = TarEntry(path: "dev/null", kind: .characterDevice, mode: 0o666)
        device.deviceMajor = 1; device.deviceMinor = 3
        let entries: [(TarEntry, [UInt8])] = [
            (TarEntry(path: "dir/", kind: .directory, mode: 0o1777), []),
            (file, Array(repeating: 7, count: 1500)),
            (TarEntry(path: "link", kind: .symbolicLink, mode: 0o777, linkTarget: String(repeating: "x/", count: 80)), []),
            (TarEntry(path: "hard", kind: .hardLink, linkTarget: "ids"), []),
            (bigIds, Array("ids".utf8)),
            (device, []),
            (TarEntry(path: "fifo", kind: .fifo), []),
            (TarEntry(path: "ünïcode", kind: .regular), Array("u".utf8)),
        ]
        let bytes = try buildTar(entries)
        let read = try readTar(bytes)
        #expect(read.count == entries.count)
        for (got, (want, content)) in zip(read, entries) {
            var expected = want
            if expected.kind == .regular { expected.size = Int64(content.count) }
            #expect(got.entry == expected)
            #expect(got.content == content)
        }
        let dir = makeTempDirectory("roundtrip")
        defer { removeTree(dir) }
        writeBytes(dir + "/w.tar", bytes)
        writeBytes(dir + "/expected", Array((entries[1].0.path + "\n" + entries[2].0.path + "\n").utf8))
        #expect(shell("tar -tf \(dir)/w.tar > \(dir)/list && grep -cxF -f \(dir)/expected \(dir)/list | grep -qx 2") == 0)
        #expect(shell("tar --numeric-owner -tvf \(dir)/w.tar | grep -q '^-rwsr-sr-x 1234/5678 .* 2023-11-14 22:13 dir/nnn'") == 0)
    }

    @Test("a file that is not a tar archive is refused as such")
    func notATar() {
        let garbage = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
        for input in [garbage, Array("hello, world\n".utf8), []] {
            let error = failure { () throws(BerthError) in try readTar(input, name: "junk.bin") }
            #expect(error?.message.hasPrefix("read archive junk.bin: not a tar archive") == true, "\(String(describing: error))")
        }
    }

    @Test("truncated archives are reported with the entry where the data ran out")
    func truncated() throws {
        let content = [UInt8](repeating: 0x41, count: 3000)
        let full = try buildTar([
            (TarEntry(path: "etc/", kind: .directory), []),
            (TarEntry(path: "bin/busybox", kind: .regular), content),
        ])
        // Blocks: 0 = etc/, 1 = bin/busybox header, 2...7 = data (3000 bytes + padding), 8...9 = end.
        let cases: [(cut: Int, expect: String)] = [
            (512 + 100, "unexpected end of data in the header after entry \"etc/\""),
            (1024 + 1000, "unexpected end of data in entry \"bin/busybox\""),
            (1024 + 3000, "unexpected end of data in entry \"bin/busybox\""),  // inside the padding
            (1024 + 3072, "unexpected end of data after entry \"bin/busybox\""),  // a block boundary, no end marker
        ]
        for (cut, expect) in cases {
            let error = failure { () throws(BerthError) in try readTar(Array(full.prefix(cut)), name: "busybox.tar") }
            #expect(
                error?.message == "read archive busybox.tar: truncated archive: \(expect); the file is incomplete, copy it again",
                "cut at \(cut): \(String(describing: error))")
        }
        #expect(try readTar(full).count == 2)
        #expect(try readTar(Array(full.prefix(1024 + 3072 + 512))).count == 2)  // one zero block is enough
    }

    @Test("a corrupted header checksum is refused, a signed-sum checksum is accepted")
    func checksums() throws {
        var bytes = try buildTar([
            (TarEntry(path: "a", kind: .regular), Array("x".utf8)),
            (TarEntry(path: "b", kind: .regular), Array("y".utf8)),
        ])
        bytes[1024 + 10] = UInt8(ascii: "Z")
        let error = failure { () throws(BerthError) in try readTar(bytes) }
        #expect(error?.message.contains("bad header checksum after entry \"a\"") == true, "\(String(describing: error))")

        // An old-style writer summing signed chars over a name with high bytes.
        var signed = try buildTar([(TarEntry(path: "\u{e9}", kind: .regular), [])])
        var sum = 0
        for i in 0..<512 { sum += (148..<156).contains(i) ? 32 : Int(Int8(bitPattern: signed[i])) }
        let digits = Array(String(sum, radix: 8).utf8)
        for i in 148..<156 { signed[i] = i - 148 < 6 ? UInt8(ascii: "0") : (i == 154 ? 0 : 32) }
        for (i, d) in digits.reversed().enumerated() { signed[153 - i] = d }
        #expect(try readTar(signed).first?.entry.path == "\u{e9}")
    }

    @Test("GNU sparse files and unknown entry types are refused by name")
    func refusedTypes() throws {
        var bytes = try buildTar([(TarEntry(path: "sparse.img", kind: .regular), [])])
        bytes[156] = UInt8(ascii: "S")
        bytes.withUnsafeMutableBytes { TarFormat.writeChecksum(UnsafeMutableRawBufferPointer(rebasing: $0[..<512])) }
        #expect(
            failure { () throws(BerthError) in try readTar(bytes) }?.message.contains("entry \"sparse.img\" is a GNU sparse file")
                == true)
        bytes[156] = UInt8(ascii: "V")
        bytes.withUnsafeMutableBytes { TarFormat.writeChecksum(UnsafeMutableRawBufferPointer(rebasing: $0[..<512])) }
        #expect(
            failure { () throws(BerthError) in try readTar(bytes) }?.message.contains(
                "entry \"sparse.img\" has unsupported type 'V'") == true)
    }

    @Test("base-256 numeric fields and global pax headers are honoured")
    func base256AndGlobalPax() throws {
        var bytes = try buildTar([(TarEntry(path: "f", kind: .regular), Array("data".utf8))])
        // uid field as GNU base-256: 0x80, then the big-endian value.
        for i in 108..<116 { bytes[i] = 0 }
        bytes[108] = 0x80; bytes[113] = 0x01; bytes[114] = 0x02; bytes[115] = 0x03
        bytes.withUnsafeMutableBytes { TarFormat.writeChecksum(UnsafeMutableRawBufferPointer(rebasing: $0[..<512])) }
        #expect(try readTar(bytes).first?.entry.uid == 0x010203)

        // A 'g' header applies to every later entry.
        let global = TarFormat.paxRecord("gid", Array("4242".utf8))
        var header = TarEntry(path: "pax_global_header", kind: .regular, size: Int64(global.count))
        header.mode = 0o644
        let sink = MemorySink()
        let writer = TarWriter(sink)
        try writer.append(header, content: global)
        var raw = sink.bytes
        raw[156] = UInt8(ascii: "g")
        raw.withUnsafeMutableBytes { TarFormat.writeChecksum(UnsafeMutableRawBufferPointer(rebasing: $0[..<512])) }
        let all = try readTar(raw + bytes)
        #expect(all.map(\.entry.gid) == [4242])
    }
}
