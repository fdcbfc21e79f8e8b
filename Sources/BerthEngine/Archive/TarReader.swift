import BerthCore

/// Reads a tar stream entry by entry, never holding a file's content in
/// memory: call `next()` for each header, then `readContent(into:)` to stream
/// the entry's data (any unread data is skipped by the following `next()`).
///
/// Understands ustar and POSIX pax (`x` and global `g` headers: path,
/// linkpath, size, uid, gid, uname, gname, fractional mtime,
/// `SCHILY.xattr.*`), GNU long names and links (`L`, `K`), base-256 numbers
/// and both checksum conventions. It is strict about the end: a stream that
/// stops before the end-of-archive zero block is reported as truncated, since
/// GNU tar, busybox and Docker always write one.
public final class TarReader {
    /// What errors call the archive, e.g. `busybox.tar`.
    public let name: String
    private let source: any ByteSource
    private let block = UnsafeMutableRawBufferPointer.allocate(byteCount: TarFormat.blockSize, alignment: 16)
    private var current: TarEntry?
    private var contentRemaining: Int64 = 0
    private var paddingRemaining: Int64 = 0
    private var globalPax: [(key: String, value: [UInt8])] = []
    private var headersRead = 0
    private var ended = false
    private var lastPath: String?

    /// Limits on metadata held in memory, so a hostile archive cannot make
    /// Berth allocate gigabytes for one "name".
    static let maxLongName: Int64 = 1 << 20
    static let maxPaxHeader: Int64 = 16 << 20

    /// Reads the tar stream in `source`; `name` is used in error messages.
    public init(_ source: any ByteSource, name: String) {
        self.source = source
        self.name = name
    }

    deinit { block.deallocate() }

    /// The next entry, or nil after the end-of-archive marker. Skips whatever
    /// content of the previous entry was not read.
    public func next() throws(BerthError) -> TarEntry? {
        guard !ended else { return nil }
        try skipRest()
        var longName: String?
        var longLink: String?
        var pax: [(key: String, value: [UInt8])] = []
        while true {
            let entryLabel = longName ?? lastPath
            guard try readBlock(context: entryLabel) else {
                throw headersRead == 0
                    ? BerthError("read archive \(name): not a tar archive (the file is empty)")
                    : truncated(lastPath.map { "after entry \"\($0)\"" } ?? "in the archive")
            }
            let raw = UnsafeRawBufferPointer(block)
            if raw.allSatisfy({ $0 == 0 }) {
                if longName != nil || longLink != nil || !pax.isEmpty {
                    throw corrupt("an extended header is not followed by an entry")
                }
                ended = true
                return nil
            }
            guard TarFormat.checksumMatches(raw) else {
                if headersRead == 0 {
                    throw BerthError("read archive \(name): not a tar archive (no valid tar header at the start)")
                }
                throw corrupt("bad header checksum after entry \"\(lastPath ?? "?")\"")
            }
            headersRead += 1
            var entry = try parseHeader(raw)
            let type = raw[TarFormat.typeflag]
            switch type {
            case UInt8(ascii: "L"):
                longName = cString(try readMetadata(entry, limit: Self.maxLongName))
            case UInt8(ascii: "K"):
                longLink = cString(try readMetadata(entry, limit: Self.maxLongName))
            case UInt8(ascii: "x"):
                pax += try parsePax(try readMetadata(entry, limit: Self.maxPaxHeader), entry: entry)
            case UInt8(ascii: "g"):
                globalPax += try parsePax(try readMetadata(entry, limit: Self.maxPaxHeader), entry: entry)
            default:
                if let longName { entry.path = longName }
                if let longLink { entry.linkTarget = longLink }
                for record in globalPax + pax { try apply(record, to: &entry) }
                entry.kind = try kind(type, entry)
                if entry.kind == .regular && entry.path.hasSuffix("/") && (type == 0 || type == UInt8(ascii: "0")) {
                    entry.kind = .directory  // pre-POSIX tars mark directories only with a trailing slash
                }
                lastPath = entry.path
                // Only regular files have content; other types' size field is
                // ignored by tar except for hard links, which may carry data.
                contentRemaining = entry.kind == .regular || entry.kind == .hardLink ? entry.size : 0
                paddingRemaining = padding(contentRemaining)
                if entry.kind != .regular { entry.size = 0 }
                current = entry
                return entry
            }
        }
    }

    /// Reads the current entry's content; returns 0 at its end.
    public func readContent(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        guard contentRemaining > 0, buffer.count > 0 else { return 0 }
        let want = Int(min(Int64(buffer.count), contentRemaining))
        let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
        if n == 0 { throw truncated("in entry \"\(current?.path ?? "?")\"") }
        contentRemaining -= Int64(n)
        return n
    }

    /// Skips the rest of the current entry's content and padding.
    private func skipRest() throws(BerthError) {
        let total = contentRemaining + paddingRemaining
        guard total > 0 else { return }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
        defer { scratch.deallocate() }
        var left = total
        while left > 0 {
            let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<Int(min(left, 65536))]))
            if n == 0 { throw truncated("in entry \"\(current?.path ?? "?")\"") }
            left -= Int64(n)
        }
        contentRemaining = 0
        paddingRemaining = 0
    }

    /// Fills `block`; false at a clean end of stream, throws if it ends mid-block.
    private func readBlock(context: String?) throws(BerthError) -> Bool {
        let n = try source.readFully(into: block)
        if n == 0 { return false }
        if n < TarFormat.blockSize {
            if headersRead == 0 { throw BerthError("read archive \(name): not a tar archive (shorter than one tar block)") }
            throw truncated(context.map { "in the header after entry \"\($0)\"" } ?? "in a header")
        }
        return true
    }

    private func parseHeader(_ raw: UnsafeRawBufferPointer) throws(BerthError) -> TarEntry {
        let magic = Array(raw[TarFormat.magic])
        var path = TarFormat.string(raw, TarFormat.name)
        // Only POSIX ustar has the prefix field; GNU's "ustar  " header keeps
        // access/change times and sparse data in the same bytes.
        if magic == Array("ustar\0".utf8) {
            let prefix = TarFormat.string(raw, TarFormat.prefix)
            if !prefix.isEmpty { path = prefix + "/" + path }
        }
        func number(_ field: Range<Int>, _ label: String) throws(BerthError) -> Int64 {
            guard let value = TarFormat.number(raw, field) else {
                throw corrupt("invalid \(label) field in the header of \"\(path)\"")
            }
            return value
        }
        var entry = TarEntry(path: path, kind: .regular)
        entry.mode = UInt32(truncatingIfNeeded: try number(TarFormat.mode, "mode")) & 0o7777
        entry.uid = UInt32(truncatingIfNeeded: try number(TarFormat.uid, "uid"))
        entry.gid = UInt32(truncatingIfNeeded: try number(TarFormat.gid, "gid"))
        entry.size = try number(TarFormat.size, "size")
        if entry.size < 0 { throw corrupt("negative size in the header of \"\(path)\"") }
        entry.mtimeSeconds = try number(TarFormat.mtime, "mtime")
        entry.linkTarget = TarFormat.string(raw, TarFormat.linkname)
        entry.userName = TarFormat.string(raw, TarFormat.uname)
        entry.groupName = TarFormat.string(raw, TarFormat.gname)
        let type = raw[TarFormat.typeflag]
        if type == UInt8(ascii: "3") || type == UInt8(ascii: "4") {
            entry.deviceMajor = UInt32(truncatingIfNeeded: try number(TarFormat.devmajor, "devmajor"))
            entry.deviceMinor = UInt32(truncatingIfNeeded: try number(TarFormat.devminor, "devminor"))
        }
        return entry
    }

    private func kind(_ type: UInt8, _ entry: TarEntry) throws(BerthError) -> TarEntry.Kind {
        switch type {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): return .regular
        case UInt8(ascii: "1"): return .hardLink
        case UInt8(ascii: "2"): return .symbolicLink
        case UInt8(ascii: "3"): return .characterDevice
        case UInt8(ascii: "4"): return .blockDevice
        case UInt8(ascii: "5"): return .directory
        case UInt8(ascii: "6"): return .fifo
        case UInt8(ascii: "S"):
            throw BerthError(
                "read archive \(name): entry \"\(entry.path)\" is a GNU sparse file, which Berth does not "
                    + "support; recreate the archive without --sparse")
        default:
            let shown = type >= 0x20 && type < 0x7f ? "'\(Character(Unicode.Scalar(type)))'" : "0x\(String(type, radix: 16))"
            throw BerthError(
                "read archive \(name): entry \"\(entry.path)\" has unsupported type \(shown); "
                    + "recreate the archive with GNU tar or docker export")
        }
    }

    /// Reads the whole (bounded) content of a metadata entry (L, K, x, g).
    private func readMetadata(_ entry: TarEntry, limit: Int64) throws(BerthError) -> [UInt8] {
        guard entry.size <= limit else {
            throw corrupt("extended header of \(entry.size) bytes (\"\(entry.path)\") exceeds the \(limit >> 20) MiB limit")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(Int(entry.size), 1), alignment: 1)
        defer { buffer.deallocate() }
        let n = try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<Int(entry.size)]))
        if n < Int(entry.size) { throw truncated("in an extended header after entry \"\(lastPath ?? "?")\"") }
        let data = Array(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        contentRemaining = 0
        paddingRemaining = padding(entry.size)
        current = entry
        try skipRest()
        return data
    }

    private func parsePax(_ data: [UInt8], entry: TarEntry) throws(BerthError) -> [(key: String, value: [UInt8])] {
        guard let records = TarFormat.parsePax(data) else {
            throw corrupt("malformed pax header before entry after \"\(lastPath ?? "?")\"")
        }
        return records
    }

    private func apply(_ record: (key: String, value: [UInt8]), to entry: inout TarEntry) throws(BerthError) {
        let text = String(decoding: record.value, as: UTF8.self)
        func number() throws(BerthError) -> Int64 {
            guard let value = Int64(text), value >= 0 else {
                throw corrupt("invalid pax \(record.key)=\(text) for \"\(entry.path)\"")
            }
            return value
        }
        switch record.key {
        case "path": entry.path = text
        case "linkpath": entry.linkTarget = text
        case "size": entry.size = try number()
        case "uid": entry.uid = UInt32(truncatingIfNeeded: try number())
        case "gid": entry.gid = UInt32(truncatingIfNeeded: try number())
        case "uname": entry.userName = text
        case "gname": entry.groupName = text
        case "mtime":
            guard let time = TarFormat.parseTime(text) else { throw corrupt("invalid pax mtime=\(text) for \"\(entry.path)\"") }
            (entry.mtimeSeconds, entry.mtimeNanoseconds) = time
        default:
            if record.key.hasPrefix("SCHILY.xattr.") {
                entry.xattrs[String(record.key.dropFirst("SCHILY.xattr.".count))] = record.value
            } else if record.key.hasPrefix("GNU.sparse.") {
                throw BerthError(
                    "read archive \(name): entry \"\(entry.path)\" is a GNU sparse file, which Berth does "
                        + "not support; recreate the archive without --sparse")
            }
        // Other keys (atime, ctime, comment, charset, LIBARCHIVE.*) do not
        // change what is extracted.
        }
    }

    private func cString(_ data: [UInt8]) -> String {
        String(decoding: data.prefix(while: { $0 != 0 }), as: UTF8.self)
    }

    private func padding(_ size: Int64) -> Int64 {
        let rest = size % Int64(TarFormat.blockSize)
        return rest == 0 ? 0 : Int64(TarFormat.blockSize) - rest
    }

    private func truncated(_ location: String) -> BerthError {
        BerthError(
            "read archive \(name): truncated archive: unexpected end of data \(location); "
                + "the file is incomplete, copy it again")
    }

    private func corrupt(_ detail: String) -> BerthError {
        BerthError("read archive \(name): corrupt archive: \(detail); the file is damaged, copy it again")
    }
}
