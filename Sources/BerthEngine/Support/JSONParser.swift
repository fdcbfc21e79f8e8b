/// Parses JSON text into `JSON`. Errors name the byte offset.
///
/// The parser reads the bytes in place (an `UnsafeBufferPointer` that lives
/// only inside `parse`): `ps` parses every container's record, and the
/// array's bounds checks and reference counting were a good part of that.
public struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    /// How deep the arrays and objects nest here: bounded, so hostile text
    /// (`[[[[…`) is an error, not a stack overflow.
    private var depth = 0
    static let maxDepth = 512

    /// Parses a complete document.
    public static func parse(_ text: String) throws(BerthError) -> JSON {
        try parse(Array(text.utf8))
    }

    /// Parses a complete document from UTF-8 bytes.
    public static func parse(_ bytes: [UInt8]) throws(BerthError) -> JSON {
        try parse(bytes, selecting: nil)
    }

    /// Parses a complete document, building only the object members that
    /// `selection` names (at any depth it describes); the others are read
    /// as strictly as the rest (a damaged member still fails the parse) but
    /// passed over without making their strings, arrays and objects. A
    /// value where the selection expects an object is built whole.
    public static func parse(_ bytes: [UInt8], selecting selection: JSONSelection?) throws(BerthError) -> JSON {
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<JSON, BerthError> in
            var parser = JSONParser(bytes: buffer)
            do throws(BerthError) {
                let value = try parser.value(selecting: selection)
                parser.skipSpace()
                guard parser.index == buffer.count else { throw parser.fail("trailing characters") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func fail(_ what: String) -> BerthError {
        BerthError("invalid JSON at offset \(index): \(what)")
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0a, 0x0d, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func value() throws(BerthError) -> JSON {
        skipSpace()
        guard index < bytes.count else { throw fail("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return try number()
        }
    }

    private mutating func value(selecting selection: JSONSelection?) throws(BerthError) -> JSON {
        guard let selection else { return try value() }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return try value() }
        return try object(selecting: selection)
    }

    /// An object of which only the selected members are built.
    private mutating func object(selecting selection: JSONSelection) throws(BerthError) -> JSON {
        index += 1
        try enter()
        defer { depth -= 1 }
        var members: [(String, JSON)] = []
        members.reserveCapacity(selection.members.count)
        if closesAtOnce(UInt8(ascii: "}")) { return .object(members) }
        repeat {
            try expectKey()
            let keyStart = index
            let plain = try skipString()
            var chosen: Int?
            if plain {
                // The key's bytes between its quotes, compared in place.
                let from = keyStart + 1, count = index - 1 - from
                for (m, member) in selection.members.enumerated() where member.key.count == count {
                    var i = 0
                    while i < count && member.key[i] == bytes[from + i] { i += 1 }
                    if i == count {
                        chosen = m
                        break
                    }
                }
            } else {
                index = keyStart
                let key = Array(try string().utf8)
                chosen = selection.members.firstIndex { $0.key == key }
            }
            try expectColon()
            if let chosen {
                let member = selection.members[chosen]
                members.append((member.name, try value(selecting: member.inner)))
            } else {
                try skipValue()
            }
        } while try another(UInt8(ascii: "}"), in: "object")
        return .object(members)
    }

    /// Reads one value as `value` does, building nothing.
    private mutating func skipValue() throws(BerthError) {
        skipSpace()
        guard index < bytes.count else { throw fail("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            try enter()
            defer { depth -= 1 }
            if closesAtOnce(UInt8(ascii: "}")) { return }
            repeat {
                try expectKey()
                _ = try skipString()
                try expectColon()
                try skipValue()
            } while try another(UInt8(ascii: "}"), in: "object")
        case UInt8(ascii: "["):
            index += 1
            try enter()
            defer { depth -= 1 }
            if closesAtOnce(UInt8(ascii: "]")) { return }
            repeat { try skipValue() } while try another(UInt8(ascii: "]"), in: "array")
        case UInt8(ascii: "\""): _ = try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number()
        }
    }

    /// Passes over a string with the checks `string` makes; answers whether
    /// it had no escape (its bytes are then exactly its text).
    private mutating func skipString() throws(BerthError) -> Bool {
        index += 1
        var plain = true
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            if c == UInt8(ascii: "\"") { return plain }
            guard c == UInt8(ascii: "\\") else { continue }
            plain = false
            guard index < bytes.count else { break }
            let e = bytes[index]
            index += 1
            if e == UInt8(ascii: "u") { _ = try unicodeEscape() }
        }
        throw fail("unterminated string")
    }

    /// Compares in place: a record holds dozens of `false` and `null`, and
    /// the two arrays made for each, with a string made for each number,
    /// were 7 ms of the 60 ms of CPU `ps` took over 1,000 containers.
    private mutating func literal(_ word: StaticString) throws(BerthError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("expected \(word)") }
        let w = word.utf8Start
        for i in 0..<count where bytes[index + i] != w[i] { throw fail("expected \(word)") }
        index += count
    }

    private mutating func enter() throws(BerthError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("nested deeper than \(Self.maxDepth) levels") }
    }

    private mutating func object() throws(BerthError) -> JSON {
        index += 1
        try enter()
        defer { depth -= 1 }
        var members: [(String, JSON)] = []
        if closesAtOnce(UInt8(ascii: "}")) { return .object(members) }
        repeat {
            try expectKey()
            let key = try string()
            try expectColon()
            members.append((key, try value()))
        } while try another(UInt8(ascii: "}"), in: "object")
        return .object(members)
    }

    private mutating func array() throws(BerthError) -> JSON {
        index += 1
        try enter()
        defer { depth -= 1 }
        var items: [JSON] = []
        if closesAtOnce(UInt8(ascii: "]")) { return .array(items) }
        repeat { items.append(try value()) } while try another(UInt8(ascii: "]"), in: "array")
        return .array(items)
    }

    // The punctuation of objects and arrays, shared by the parse that builds
    // and the one that passes over.

    /// Just after `{` or `[`: whether `closer` follows at once (and is passed).
    private mutating func closesAtOnce(_ closer: UInt8) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == closer else { return false }
        index += 1
        return true
    }

    /// Where a member's key must begin.
    private mutating func expectKey() throws(BerthError) {
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
    }

    /// The `:` after a key.
    private mutating func expectColon() throws(BerthError) {
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
        index += 1
    }

    /// After a member or an item: true at `,` (another follows), false at
    /// `closer` (passed); anything else is an error naming `what`.
    private mutating func another(_ closer: UInt8, in what: StaticString) throws(BerthError) -> Bool {
        skipSpace()
        guard index < bytes.count else { throw fail("unterminated \(what)") }
        if bytes[index] == UInt8(ascii: ",") {
            index += 1
            return true
        }
        guard bytes[index] == closer else { throw fail("expected ',' or '\(Character(Unicode.Scalar(closer)))'") }
        index += 1
        return false
    }

    private mutating func string() throws(BerthError) -> String {
        index += 1
        // Most strings have no escape: one slice to one String, no copying
        // byte by byte (`ps` decodes every container record).
        let start = index
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index - 1]), as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") { break }
            index += 1
        }
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard index < bytes.count else { break }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "u"): out += Array(String(try unicodeEscape()).utf8)
            default: out.append(e)
            }
        }
        throw fail("unterminated string")
    }

    private mutating func hex4() throws(BerthError) -> UInt32 {
        guard index + 4 <= bytes.count,
            let v = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
        else {
            throw fail("bad \\u escape")
        }
        index += 4
        return v
    }

    private mutating func unicodeEscape() throws(BerthError) -> Character {
        var code = try hex4()
        if (0xD800..<0xDC00).contains(code), index + 6 <= bytes.count,
            bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
        {
            index += 2
            let low = try hex4()
            code = 0x10000 + ((code - 0xD800) << 10) + (low &- 0xDC00)
        }
        return Character(Unicode.Scalar(code) ?? "\u{FFFD}")
    }

    private mutating func number() throws(BerthError) -> JSON {
        let start = index
        scan: while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "e"), UInt8(ascii: "E"):
                index += 1
            default: break scan
            }
        }
        // Most numbers are small integers (sizes, PIDs, times): read at once,
        // exactly as Double would (15 digits are below 2^53), no string made.
        let digitsFrom = start < index && bytes[start] == UInt8(ascii: "-") ? start + 1 : start
        if index > digitsFrom, index - digitsFrom <= 15,
            bytes[digitsFrom..<index].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        {
            var value: Int64 = 0
            for b in bytes[digitsFrom..<index] { value = value * 10 + Int64(b - UInt8(ascii: "0")) }
            return .number(digitsFrom > start ? -Double(value) : Double(value))
        }
        guard let n = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else {
            throw fail("unexpected character")
        }
        // 1e999 would become infinity, which JSON cannot write back (as Go's
        // decoder, refuse it rather than store a record that no longer parses).
        guard n.isFinite else { throw fail("number out of range") }
        return .number(n)
    }
}

/// Which members of a JSON object `JSONParser.parse(_:selecting:)` builds:
/// each by its key, whole (`nil`) or with a selection of its own members.
public struct JSONSelection: Sendable {
    let members: [(name: String, key: [UInt8], inner: JSONSelection?)]

    /// The members to build, each with what to build of it (nil: all of it).
    public init(_ members: [(String, JSONSelection?)]) {
        self.members = members.map { ($0.0, Array($0.0.utf8), $0.1) }
    }
}
