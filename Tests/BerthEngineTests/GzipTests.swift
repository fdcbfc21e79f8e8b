import Testing
import BerthCore
@testable import BerthEngine

@Suite("gzip")
struct GzipTests {
    /// Compressible but not trivial: 300 KiB, more than one zlib buffer.
    private let sample: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 / 7) ^ ($0 % 251)) }

    private func gunzip(_ bytes: [UInt8], name: String = "test.tar.gz") throws(BerthError) -> [UInt8] {
        try GzipDecompressor(MemorySource(bytes), name: name).readAll()
    }

    @Test("what the compressor writes, the decompressor restores")
    func roundTrip() throws {
        let compressed = try GzipCompressor.compress(sample)
        #expect(compressed.starts(with: [0x1f, 0x8b]))
        #expect(compressed.count < sample.count)
        #expect(try gunzip(compressed) == sample)
        #expect(try gunzip(try GzipCompressor.compress([])) == [])
    }

    @Test("files made by gzip(1) decompress, and gzip(1) accepts what Berth compresses")
    func interoperatesWithGzipTool() throws {
        let dir = makeTempDirectory("gzip")
        defer { removeTree(dir) }
        writeBytes(dir + "/plain", sample)
        #expect(shell("gzip -9 -c \(dir)/plain > \(dir)/tool.gz") == 0)
        #expect(try gunzip(readBytes(dir + "/tool.gz")) == sample)
        writeBytes(dir + "/berth.gz", try GzipCompressor.compress(sample, level: 1))
        #expect(shell("gzip -t \(dir)/berth.gz && gzip -dc \(dir)/berth.gz | cmp -s - \(dir)/plain") == 0)
    }

    @Test("concatenated gzip members decompress to the concatenated data")
    func concatenatedMembers() throws {
        let a = Array("first member\n".utf8), b = Array(sample.prefix(70_000))
        let joined = try GzipCompressor.compress(a) + GzipCompressor.compress([]) + GzipCompressor.compress(b)
        #expect(try gunzip(joined) == a + b)
        // Zero padding after the last member (tape blocking) is ignored.
        #expect(try gunzip(joined + [UInt8](repeating: 0, count: 1000)) == a + b)
    }

    @Test("a truncated gzip file is reported as incomplete, whatever the cut", arguments: [1, 10, 20, 500, 5000])
    func truncated(cut: Int) throws {
        let compressed = try GzipCompressor.compress(sample)
        let error = failure { () throws(BerthError) in try gunzip(Array(compressed.dropLast(cut)), name: "img.tar.gz") }
        #expect(
            error?.message.contains("read archive img.tar.gz: unexpected end of gzip data") == true,
            "\(String(describing: error))")
    }

    @Test("corrupt gzip data is refused with zlib's own message")
    func corrupt() throws {
        var compressed = try GzipCompressor.compress(sample)
        for i in 20..<60 { compressed[i] ^= 0x5a }
        let error = failure { () throws(BerthError) in try gunzip(compressed) }
        #expect(error?.message.contains("corrupt gzip data (inflate: ") == true, "\(String(describing: error))")

        let garbage: [UInt8] = [0x1f, 0x8b] + (0..<600).map { UInt8(truncatingIfNeeded: $0 &* 97) }
        let garbageError = failure { () throws(BerthError) in try gunzip(garbage) }
        #expect(garbageError?.message.contains("corrupt gzip data") == true, "\(String(describing: garbageError))")
    }

    @Test("garbage after the last member is refused")
    func trailingGarbage() throws {
        let bytes = try GzipCompressor.compress(sample.prefix(100).map { $0 }) + Array("junk".utf8)
        let error = failure { () throws(BerthError) in try gunzip(bytes) }
        #expect(error?.message.contains("trailing garbage") == true)
    }

    @Test("archive input sniffs gzip, passes plain data through and refuses xz, zstd and bzip2")
    func sniffing() throws {
        let dir = makeTempDirectory("sniff")
        defer { removeTree(dir) }
        writeBytes(dir + "/plain", sample)
        #expect(shell("cd \(dir) && gzip -k plain && xz -k plain && zstd -q plain && bzip2 -k plain") == 0)
        #expect(try ArchiveInput.open(path: dir + "/plain").readAll() == sample)
        #expect(try ArchiveInput.open(path: dir + "/plain.gz").readAll() == sample)
        for (suffix, tool) in [("xz", "xz -d"), ("zst", "zstd -d"), ("bz2", "bzip2 -d")] {
            let error = failure { () throws(BerthError) in try ArchiveInput.open(path: "\(dir)/plain.\(suffix)") }
            #expect(
                error?.message.contains("-compressed; decompress it first (\(tool)) or use a plain or gzip tar") == true,
                "\(String(describing: error))")
        }
        let missing = failure { () throws(BerthError) in try ArchiveInput.open(path: dir + "/nope.tar") }
        #expect(missing?.message.contains("ENOENT") == true)
    }
}
