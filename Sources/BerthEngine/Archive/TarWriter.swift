import BerthCore

/// Writes a tar stream: ustar headers, with a PAX extended header in front
/// of any entry that ustar cannot describe exactly (names over 100 bytes,
/// long link targets, sizes of 8 GiB and more, large ids, sub-second mtimes,
/// xattrs). Content is streamed with `writeContent`; `finish()` writes the
/// two zero blocks that end the archive.
///
/// The writer does not sanitise paths: it writes what it is given, which is
/// also how the tests build hostile archives.
public final class TarWriter {
    private let sink: any ByteSink
    private var contentRemaining: Int64 = 0
    private var paddingAfterContent = 0
    private var currentPath: String?
    private var finished = false

    /// Writes the archive into `sink`.
    public init(_ sink: any ByteSink) { self.sink = sink }

    /// Writes an entry whose content is `content` (empty for non-files).
    public func append(_ entry: TarEntry, content: [UInt8] = []) throws(BerthError) {
        var entry = entry
        if entry.kind == .regular { entry.size = Int64(content.count) }
        try begin(entry)
        if !content.isEmpty { try writeContent(content) }
        try end()
    }

    /// Writes an entry's header; follow with `writeContent` for exactly
    /// `entry.size` bytes (regular files) and then `end()`.
    public func begin(_ entry: TarEntry) throws(BerthError) {
        guard currentPath == nil, !finished else {
            throw BerthError("write archive: entry \"\(entry.path)\" started before the previous one ended")
        }
        let size = entry.kind == .regular ? entry.size : 0
        var pax: [UInt8] = []
        let pathBytes = Array(entry.path.utf8), linkBytes = Array(entry.linkTarget.utf8)
        if pathBytes.count > 100 || !entry.path.allSatisfy(\.isASCII) { pax += TarFormat.paxRecord("path", pathBytes) }
        if linkBytes.count > 100 || !entry.linkTarget.allSatisfy(\.isASCII) { pax += TarFormat.paxRecord("linkpath", linkBytes) }
        if !TarFormat.fitsOctal(size, width: 12) { pax += TarFormat.paxRecord("size", Array(String(size).utf8)) }
        if !TarFormat.fitsOctal(Int64(entry.uid), width: 8) { pax += TarFormat.paxRecord("uid", Array(String(entry.uid).utf8)) }
        if !TarFormat.fitsOctal(Int64(entry.gid), width: 8) { pax += TarFormat.paxRecord("gid", Array(String(entry.gid).utf8)) }
        if entry.userName.utf8.count > 32 { pax += TarFormat.paxRecord("uname", Array(entry.userName.utf8)) }
        if entry.groupName.utf8.count > 32 { pax += TarFormat.paxRecord("gname", Array(entry.groupName.utf8)) }
        if entry.mtimeNanoseconds != 0 || !TarFormat.fitsOctal(entry.mtimeSeconds, width: 12) {
            let time = TarFormat.formatTime(seconds: entry.mtimeSeconds, nanoseconds: entry.mtimeNanoseconds)
            pax += TarFormat.paxRecord("mtime", Array(time.utf8))
        }
        for name in entry.xattrs.keys.sorted() { pax += TarFormat.paxRecord("SCHILY.xattr." + name, entry.xattrs[name]!) }

        if !pax.isEmpty {
            var header = TarEntry(path: paxHeaderName(entry.path), kind: .regular, size: Int64(pax.count))
            header.mtimeSeconds = max(0, min(entry.mtimeSeconds, 0o77777777777))
            try writeHeader(header, typeflag: UInt8(ascii: "x"))
            try sink.write(pax)
            try writeZeros(padding(Int64(pax.count)))
        }
        var plain = entry
        plain.size = size
        try writeHeader(plain, typeflag: typeflag(entry.kind))
        currentPath = entry.path
        contentRemaining = size
        paddingAfterContent = padding(size)
    }

    /// Writes the next part of the current entry's content.
    public func writeContent(_ bytes: UnsafeRawBufferPointer) throws(BerthError) {
        guard currentPath != nil, Int64(bytes.count) <= contentRemaining else {
            throw BerthError("write archive: more content than the declared size of \"\(currentPath ?? "?")\"")
        }
        try sink.write(bytes)
        contentRemaining -= Int64(bytes.count)
    }

    /// Writes the next part of the current entry's content.
    public func writeContent(_ bytes: [UInt8]) throws(BerthError) {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { copy.deallocate() }
        copy.copyBytes(from: bytes)
        try writeContent(UnsafeRawBufferPointer(copy))
    }

    /// Ends the current entry, padding its content to a whole block.
    public func end() throws(BerthError) {
        guard let path = currentPath else { return }
        guard contentRemaining == 0 else {
            throw BerthError(
                "write archive: entry \"\(path)\" ended \(contentRemaining) bytes short of its declared size; "
                    + "the file changed while it was archived, try again")
        }
        try writeZeros(paddingAfterContent)
        currentPath = nil
    }

    /// Writes the end-of-archive marker (two zero blocks).
    public func finish() throws(BerthError) {
        try end()
        guard !finished else { return }
        try writeZeros(2 * TarFormat.blockSize)
        finished = true
    }

    private func writeHeader(_ entry: TarEntry, typeflag: UInt8) throws(BerthError) {
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: TarFormat.blockSize, alignment: 16)
        defer { block.deallocate() }
        block.initializeMemory(as: UInt8.self, repeating: 0)
        TarFormat.setString(block, TarFormat.name, entry.path.utf8)
        TarFormat.setNumber(block, TarFormat.mode, Int64(entry.mode & 0o7777))
        TarFormat.setNumber(block, TarFormat.uid, Int64(entry.uid))
        TarFormat.setNumber(block, TarFormat.gid, Int64(entry.gid))
        TarFormat.setNumber(block, TarFormat.size, entry.size)
        TarFormat.setNumber(block, TarFormat.mtime, max(0, entry.mtimeSeconds))
        block[TarFormat.typeflag] = typeflag
        TarFormat.setString(block, TarFormat.linkname, entry.linkTarget.utf8)
        TarFormat.setString(block, TarFormat.magic, "ustar\0".utf8)
        TarFormat.setString(block, TarFormat.version, "00".utf8)
        TarFormat.setString(block, TarFormat.uname, entry.userName.utf8)
        TarFormat.setString(block, TarFormat.gname, entry.groupName.utf8)
        TarFormat.setNumber(block, TarFormat.devmajor, Int64(entry.deviceMajor))
        TarFormat.setNumber(block, TarFormat.devminor, Int64(entry.deviceMinor))
        TarFormat.writeChecksum(block)
        try sink.write(UnsafeRawBufferPointer(block))
    }

    private func typeflag(_ kind: TarEntry.Kind) -> UInt8 {
        switch kind {
        case .regular: UInt8(ascii: "0")
        case .hardLink: UInt8(ascii: "1")
        case .symbolicLink: UInt8(ascii: "2")
        case .characterDevice: UInt8(ascii: "3")
        case .blockDevice: UInt8(ascii: "4")
        case .directory: UInt8(ascii: "5")
        case .fifo: UInt8(ascii: "6")
        }
    }

    /// `PaxHeaders/<last component>`, as GNU tar names its pax headers
    /// (readers that do not know pax extract it as a harmless small file).
    private func paxHeaderName(_ path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? "entry"
        return "PaxHeaders/" + String(decoding: Array(base.utf8).prefix(80), as: UTF8.self)
    }

    private func padding(_ size: Int64) -> Int {
        let rest = Int(size % Int64(TarFormat.blockSize))
        return rest == 0 ? 0 : TarFormat.blockSize - rest
    }

    private func writeZeros(_ count: Int) throws(BerthError) {
        guard count > 0 else { return }
        try sink.write([UInt8](repeating: 0, count: count))
    }
}
