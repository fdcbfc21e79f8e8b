import CBerthLog
import CBerthLinux

/// A JSON value that keeps object keys in order, so `inspect` prints fields in
/// Docker's order and image configs hash the same every time.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// An integer value.
    public static func int<T: BinaryInteger>(_ value: T) -> JSON { .number(Double(value)) }

    /// A string array.
    public static func strings(_ values: [String]) -> JSON { .array(values.map(JSON.string)) }

    /// A string array, or null when nil (Docker prints `null` for unset lists).
    public static func strings(_ values: [String]?) -> JSON { values.map { strings($0) } ?? .null }

    /// Member lookup on an object (nil for other values or a missing key).
    /// Keys of another length are passed over without a string comparison:
    /// a record's decoder looks up about a hundred keys in objects of
    /// dozens, and `ps` decodes every record (docs/benchmarks.md, "Scale").
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        let length = key.utf8.count
        for (name, value) in members where name.utf8.count == length && name == key { return value }
        return nil
    }

    /// The string value, if this is a string.
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    /// The numeric value as Int, if this is a number. Fractions are cut off
    /// and values beyond Int's range are clamped to it (JSON numbers are
    /// doubles: Int64.max itself reads back as 2^63), so a record written by
    /// an older or hostile writer never traps a reader; NaN is nil.
    public var intValue: Int? { int64Value.map { Int($0) } }
    /// The numeric value as Int64, clamped like `intValue`.
    public var int64Value: Int64? {
        guard case .number(let n) = self else { return nil }
        return JSON.clampedInt64(n)
    }
    /// The numeric value as Int32, clamped to Int32's range (PIDs, exit codes).
    public var int32Value: Int32? { int64Value.map { Int32(clamping: $0) } }
    /// The numeric value as UInt64, clamped to 0 and UInt64's range (start times).
    public var uint64Value: UInt64? {
        guard case .number(let n) = self, !n.isNaN else { return nil }
        if n <= 0 { return 0 }
        if n >= 18_446_744_073_709_551_616.0 { return .max }
        return UInt64(n)
    }

    /// A double as Int64 without trapping: truncated toward zero, clamped to
    /// Int64's range; nil for NaN.
    public static func clampedInt64(_ n: Double) -> Int64? {
        if n.isNaN { return nil }
        if n >= 9_223_372_036_854_775_808.0 { return .max }
        if n <= -9_223_372_036_854_775_808.0 { return .min }
        return Int64(n)
    }
    /// The boolean value, if this is a bool.
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// The elements, if this is an array.
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a }; return nil }
    /// The string elements of an array (nil if not an array).
    public var stringArray: [String]? { arrayValue?.compactMap(\.stringValue) }

    /// Returns a copy with `key` set (replaced in place, or appended).
    public func setting(_ key: String, _ value: JSON) -> JSON {
        guard case .object(var members) = self else { return self }
        if let index = members.firstIndex(where: { $0.0 == key }) {
            members[index].1 = value
        } else {
            members.append((key, value))
        }
        return .object(members)
    }
}

// MARK: - Serialisation

extension JSON {
    /// Compact text (`{"a":1}`), used for files whose bytes are hashed.
    public var compact: String { compact(escapingHTML: true) }

    /// Compact text; `escapingHTML: false` keeps `<`, `>` and `&` as they are,
    /// as Docker's template `json` function does.
    public func compact(escapingHTML: Bool) -> String {
        var out = ""
        write(&out, indent: nil, level: 0, html: escapingHTML)
        return out
    }

    /// Indented text, as `docker inspect` prints it (four spaces).
    public func pretty(indent: Int = 4) -> String {
        var out = ""
        write(&out, indent: indent, level: 0, html: true)
        return out
    }

    private func write(_ out: inout String, indent: Int?, level: Int, html: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += JSON.format(n)
        case .string(let s): JSON.quote(s, into: &out, html: html)
        case .array(let items):
            writeContainer(&out, "[", "]", items.count, indent, level) { i, out in
                items[i].write(&out, indent: indent, level: level + 1, html: html)
            }
        case .object(let members):
            writeContainer(&out, "{", "}", members.count, indent, level) { i, out in
                JSON.quote(members[i].0, into: &out, html: html)
                out += indent == nil ? ":" : ": "
                members[i].1.write(&out, indent: indent, level: level + 1, html: html)
            }
        }
    }

    private func writeContainer(
        _ out: inout String, _ open: String, _ close: String, _ count: Int,
        _ indent: Int?, _ level: Int, _ element: (Int, inout String) -> Void
    ) {
        out += open
        guard count > 0 else { out += close; return }
        for i in 0..<count {
            if i > 0 { out += "," }
            if let indent { out += "\n" + String(repeating: " ", count: indent * (level + 1)) }
            element(i, &out)
        }
        if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
        out += close
    }

    static func format(_ n: Double) -> String {
        // Whole numbers print as integers up to Int64's range (2^63, the
        // double Int64.max becomes, prints as Int64.max, as Docker prints it).
        if n.isFinite, n == n.rounded(), abs(n) <= 9_223_372_036_854_775_808.0, let i = clampedInt64(n) { return String(i) }
        // Above that, up to 2^64 (the double UInt64.max becomes): as a
        // UInt64, so a uint64 field (an OCI rlimit of RLIM_INFINITY) parses.
        if n == n.rounded(), n > 0, n <= 18_446_744_073_709_551_616.0 {
            return n == 18_446_744_073_709_551_616.0 ? String(UInt64.max) : String(UInt64(n))
        }
        return "\(n)"
    }

    /// `quote(String(decoding: bytes, as: UTF8.self))` as UTF-8 bytes, in
    /// one pass over the raw bytes (berth_json_escape): each maximal
    /// ill-formed subsequence becomes U+FFFD, as that decoding does, and the
    /// escapes are `quote`'s. The container log encodes every byte a
    /// container writes with it, so it must not build a String scalar by
    /// scalar: that cost more than the whole relay.
    static func quoteBytes(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { quoteBytes($0, into: &out) }
    }

    static func quoteBytes(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { quoteBytes($0, into: &out) }
    }

    static func quoteBytes(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        // Room for the worst case, every byte a \u00XX.
        let quoted = [UInt8](unsafeUninitializedCapacity: utf8.count * 6 + 2) { buffer, count in
            buffer[0] = 34
            let n = berth_json_escape(utf8.baseAddress, utf8.count, buffer.baseAddress! + 1)
            buffer[n + 1] = 34
            count = n + 2
        }
        out.append(contentsOf: quoted)
    }

    static func quote(_ s: String, into out: inout String, html: Bool = true) {
        out += "\""
        // Most strings (IDs, paths, names) hold nothing to escape: appended
        // whole, not scalar by scalar, which was most of a record's encoding.
        let plain = !s.utf8.contains { b in
            b < 0x20 || b == 0x22 || b == 0x5C || (html && (b == 0x3C || b == 0x3E || b == 0x26))
        }
        if plain {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<" where html: out += "\\u003c"  // as Go's encoder does, so output matches Docker's
            case ">" where html: out += "\\u003e"
            case "&" where html: out += "\\u0026"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
