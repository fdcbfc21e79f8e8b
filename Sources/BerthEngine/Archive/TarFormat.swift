/// The byte layout of a tar header block and the encodings shared by
/// `TarReader` and `TarWriter` (POSIX.1-2001 ustar/pax, with GNU extensions).
enum TarFormat {
    static let blockSize = 512

    // Field ranges in the 512-byte ustar header.
    static let name = 0..<100
    static let mode = 100..<108
    static let uid = 108..<116
    static let gid = 116..<124
    static let size = 124..<136
    static let mtime = 136..<148
    static let checksum = 148..<156
    static let typeflag = 156
    static let linkname = 157..<257
    static let magic = 257..<263
    static let version = 263..<265
    static let uname = 265..<297
    static let gname = 297..<329
    static let devmajor = 329..<337
    static let devminor = 337..<345
    static let prefix = 345..<500

    /// The NUL-terminated string in a field.
    static func string(_ block: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: bytes(block, range), as: UTF8.self)
    }

    /// The bytes of a field up to its first NUL.
    static func bytes(_ block: UnsafeRawBufferPointer, _ range: Range<Int>) -> UnsafeRawBufferPointer.SubSequence {
        let field = block[range]
        return field[..<(field.firstIndex(of: 0) ?? range.upperBound)]
    }

    /// A numeric field: octal digits (padded with spaces or NULs), or GNU
    /// base-256 when the top bit of the first byte is set (0x80 positive,
    /// 0xff negative), which GNU tar and Go use for sizes ≥ 8 GiB and large
    /// ids. Returns nil if the field is malformed.
    static func number(_ block: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        let field = block[range]
        let first = field.first!
        if first & 0x80 != 0 {
            var value: Int64 = first == 0xff ? -1 : Int64(first & 0x7f)
            for byte in field.dropFirst() {
                guard value >> 55 == 0 || value >> 55 == -1 else { return nil }
                value = (value << 8) | Int64(byte)
            }
            return value
        }
        var value: Int64 = 0
        var seenDigit = false, ended = false
        for byte in field {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "7") where !ended:
                guard value >> 60 == 0 else { return nil }
                value = value * 8 + Int64(byte - UInt8(ascii: "0"))
                seenDigit = true
            case UInt8(ascii: " ") where !seenDigit:
                continue
            case 0, UInt8(ascii: " "):
                ended = true
            default:
                return nil
            }
        }
        return value
    }

    /// Whether the stored checksum matches. Historic tars summed signed
    /// chars, so both the unsigned and the signed sum are accepted, as GNU
    /// tar and libarchive do.
    static func checksumMatches(_ block: UnsafeRawBufferPointer) -> Bool {
        guard let stored = number(block, checksum) else { return false }
        var unsigned: Int64 = 0, signed: Int64 = 0
        for (i, byte) in block.enumerated() {
            let b = checksum.contains(i) ? UInt8(ascii: " ") : byte
            unsigned += Int64(b)
            signed += Int64(Int8(bitPattern: b))
        }
        return stored == unsigned || stored == signed
    }

    /// Writes the checksum of a header whose other fields are final.
    static func writeChecksum(_ block: UnsafeMutableRawBufferPointer) {
        for i in checksum { block[i] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + Int($1) }
        // Six octal digits, NUL, space: the traditional layout.
        let digits = Array(String(sum, radix: 8).utf8)
        let padded = [UInt8](repeating: UInt8(ascii: "0"), count: 6 - digits.count) + digits + [0, UInt8(ascii: " ")]
        for (i, byte) in padded.enumerated() { block[checksum.lowerBound + i] = byte }
    }

    /// Stores `value` in a numeric field: octal if it fits (leaving room for
    /// the terminating NUL), else base-256. Returns false if even that fails.
    @discardableResult
    static func setNumber(_ block: UnsafeMutableRawBufferPointer, _ range: Range<Int>, _ value: Int64) -> Bool {
        let digits = Array(String(value, radix: 8).utf8)
        if value >= 0 && digits.count <= range.count - 1 {
            let padded = [UInt8](repeating: UInt8(ascii: "0"), count: range.count - 1 - digits.count) + digits + [0]
            for (i, byte) in padded.enumerated() { block[range.lowerBound + i] = byte }
            return true
        }
        guard value >= 0 else { return false }
        block[range.lowerBound] = 0x80
        var rest = value
        for i in range.dropFirst().reversed() {
            block[i] = UInt8(truncatingIfNeeded: rest)
            rest >>= 8
        }
        return rest == 0
    }

    /// Copies a string into a field, truncated to the field's width.
    static func setString(_ block: UnsafeMutableRawBufferPointer, _ range: Range<Int>, _ bytes: some Collection<UInt8>) {
        for (i, byte) in bytes.prefix(range.count).enumerated() { block[range.lowerBound + i] = byte }
    }

    /// Whether the octal form of `value` fits in a field of `width` bytes.
    static func fitsOctal(_ value: Int64, width: Int) -> Bool {
        value >= 0 && String(value, radix: 8).utf8.count <= width - 1
    }

    /// One PAX record: `"<len> <key>=<value>\n"`, where len counts itself.
    static func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
        let body = Array(" \(key)=".utf8) + value + [UInt8(ascii: "\n")]
        var length = body.count + 1
        while String(length).utf8.count + body.count != length { length = String(length).utf8.count + body.count }
        return Array(String(length).utf8) + body
    }

    /// Parses PAX records into key/value pairs; nil if malformed.
    static func parsePax(_ data: [UInt8]) -> [(key: String, value: [UInt8])]? {
        var records: [(key: String, value: [UInt8])] = []
        var offset = 0
        while offset < data.count {
            var length = 0, cursor = offset
            while cursor < data.count, data[cursor] >= UInt8(ascii: "0"), data[cursor] <= UInt8(ascii: "9") {
                length = length * 10 + Int(data[cursor] - UInt8(ascii: "0"))
                guard length <= data.count else { return nil }
                cursor += 1
            }
            // Some writers pad the data area with NULs after the last record.
            if cursor == offset && data[offset...].allSatisfy({ $0 == 0 }) { break }
            guard cursor > offset, cursor < data.count, data[cursor] == UInt8(ascii: " "),
                offset + length <= data.count, data[offset + length - 1] == UInt8(ascii: "\n")
            else { return nil }
            let record = data[(cursor + 1)..<(offset + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            records.append((String(decoding: record[..<equals], as: UTF8.self), Array(record[(equals + 1)...])))
            offset += length
        }
        return records
    }

    /// Parses a PAX time, `seconds[.fraction]`, possibly negative.
    static func parseTime(_ text: String) -> (seconds: Int64, nanoseconds: Int32)? {
        var body = Substring(text)
        let negative = body.hasPrefix("-")
        if negative { body = body.dropFirst() }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = Int64(parts[0]), parts[0].allSatisfy(\.isASCII) else { return nil }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1].prefix(9)
            guard digits.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
            nanos = Int64(digits.isEmpty ? "0" : String(digits))!
            for _ in digits.count..<9 { nanos *= 10 }
        }
        if !negative { return (whole, Int32(nanos)) }
        // -1.25 is 1.25 s before the epoch: seconds -2, nanoseconds 750000000.
        return nanos == 0 ? (-whole, 0) : (-whole - 1, Int32(1_000_000_000 - nanos))
    }

    /// Formats a time for PAX: whole seconds, or seconds and up to nine
    /// fraction digits without trailing zeros.
    static func formatTime(seconds: Int64, nanoseconds: Int32) -> String {
        guard nanoseconds != 0 else { return String(seconds) }
        var whole = seconds, nanos = Int64(nanoseconds)
        var sign = ""
        if whole < 0 { sign = "-"; whole = -whole - 1; nanos = 1_000_000_000 - nanos }
        var fraction = String(nanos)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(sign)\(whole).\(fraction)"
    }
}
