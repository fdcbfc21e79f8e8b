#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// Opens the archive a user names (`load -i`, `import`): a file or `-` for
/// standard input, plain or gzip-compressed, sniffed from its first bytes.
public enum ArchiveInput {
    /// Opens `path` (`-` = standard input) and returns a source of the
    /// *uncompressed* tar stream. bzip2, xz and zstd are recognised and
    /// refused with the command that decompresses them.
    public static func open(path: String) throws(BerthError) -> any ByteSource {
        let file: FileSource
        if path == "-" {
            file = FileSource(descriptor: FileDescriptor(rawValue: STDIN_FILENO), name: "standard input", owned: false)
        } else {
            file = try FileSource(path: path)
        }
        return try decompressing(file, name: file.name)
    }

    /// Wraps `file` in a decompressor if its first bytes say it is gzip.
    public static func decompressing(_ file: FileSource, name: String) throws(BerthError) -> any ByteSource {
        let magic = try file.peek(10)
        if magic.starts(with: [0x1f, 0x8b]) { return try GzipDecompressor(file, name: name) }
        let refused: [(magic: [UInt8], format: String, tool: String)] = [
            ([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz", "xz -d"),
            ([0x28, 0xb5, 0x2f, 0xfd], "zstd", "zstd -d"),
        ]
        // "BZh" alone could begin a plain tar's first file name, so bzip2 also
        // needs the level digit and a block (or end-of-stream) magic.
        if magic.count == 10, magic.starts(with: [0x42, 0x5a, 0x68]), (0x31...0x39).contains(magic[3]),
            magic[4...].elementsEqual([0x31, 0x41, 0x59, 0x26, 0x53, 0x59])
                || magic[4...].elementsEqual([0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
        {
            throw BerthError(
                "read archive \(name): the file is bzip2-compressed; decompress it first "
                    + "(bzip2 -d) or use a plain or gzip tar")
        }
        for format in refused where magic.starts(with: format.magic) {
            throw BerthError(
                "read archive \(name): the file is \(format.format)-compressed; decompress it first "
                    + "(\(format.tool)) or use a plain or gzip tar")
        }
        return file
    }
}
