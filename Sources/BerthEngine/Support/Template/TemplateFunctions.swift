/// Why a function call failed: Go reports arity and argument types at the
/// node, and anything else as `error calling NAME: …`.
enum TemplateFunctionError: Error {
    case arity(String)
    case argument(Int, String)
    case call(String)
}

/// Go's builtin template functions and Docker's (`json`, `split`, `join`,
/// `title`, `lower`, `upper`, `pad`, `truncate`). For a table header Docker
/// swaps its own functions for ones that return the column title unchanged.
struct TemplateFunctions: Sendable {
    /// Rendering a `table` header: Docker's functions pass the title through.
    var header = false

    static let names: Set<String> = [
        "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge",
        "html", "urlquery", "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
    ]

    func call(_ name: String, _ a: [TemplateValue]) throws(TemplateFunctionError) -> TemplateValue {
        if header, ["json", "split", "join", "lower", "upper", "title", "truncate"].contains(name) {
            guard let first = a.first else { throw .arity("1") }
            return first
        }
        switch name {
        case "not": try arity(a, 1); return .bool(!a[0].isTrue)
        case "len": try arity(a, 1); return try length(a[0])
        case "index": guard !a.isEmpty else { throw .arity("at least 1") }; return try index(a[0], a.dropFirst())
        case "slice": guard !a.isEmpty else { throw .arity("at least 1") }; return try slice(a[0], Array(a.dropFirst()))
        case "print": return .string(Self.sprint(a))
        case "println": return .string(a.map(GoPrintf.plain).joined(separator: " ") + "\n")
        case "printf":
            guard !a.isEmpty else { throw .arity("at least 1") }
            return .string(GoPrintf.format(try string(a, 0), Array(a.dropFirst())))
        case "eq":
            guard a.count >= 2 else { throw .arity("at least 2") }  // Go: missing argument for comparison
            for other in a.dropFirst() where try Self.equal(a[0], other) { return .bool(true) }
            return .bool(false)
        case "ne": try arity(a, 2); return .bool(!(try Self.equal(a[0], a[1])))
        case "lt", "le", "gt", "ge":
            try arity(a, 2)
            let less = try Self.less(a[0], a[1]), equal = try Self.equal(a[0], a[1])
            switch name {
            case "lt": return .bool(less)
            case "le": return .bool(less || equal)
            case "gt": return .bool(!less && !equal)
            default: return .bool(!less)
            }
        case "html": return .string(Self.html(Self.sprint(a)))
        case "urlquery": return .string(Self.urlquery(Self.sprint(a)))
        case "json":
            try arity(a, 1)
            // Docker's encoder does not escape <, > and &, and drops the trailing newline.
            return .string(a[0].json.compact(escapingHTML: false))
        case "split":
            try arity(a, 2)
            let s = try string(a, 0), sep = try string(a, 1)
            if sep.isEmpty { return .list(s.unicodeScalars.map { .string(String($0)) }) }
            return .list(s.split(separator: sep, omittingEmptySubsequences: false).map { .string(String($0)) })
        case "join":
            try arity(a, 2)
            guard case .list(let items) = a[0] else {
                throw .argument(0, "wrong type for value; expected []string; got \(a[0].goType)")
            }
            var parts: [String] = []
            for item in items {
                guard case .string(let s) = item else {
                    throw .argument(0, "wrong type for value; expected []string; got []interface {}")
                }
                parts.append(s)
            }
            return .string(parts.joined(separator: try string(a, 1)))
        case "lower": try arity(a, 1); return .string(try string(a, 0).lowercased())
        case "upper": try arity(a, 1); return .string(try string(a, 0).uppercased())
        case "title": try arity(a, 1); return .string(Self.title(try string(a, 0)))
        case "pad":
            try arity(a, 3)
            let s = try string(a, 0), before = try int(a, 1), after = try int(a, 2)
            guard before >= 0, after >= 0 else { throw .call("strings: negative Repeat count") }
            guard before <= TemplateEvaluator.outputLimit, after <= TemplateEvaluator.outputLimit else {
                throw .call("strings: Repeat output length overflow")
            }
            return .string(String(repeating: " ", count: Int(before)) + s + String(repeating: " ", count: Int(after)))
        case "truncate":
            try arity(a, 2)
            return .string(Self.truncate(try string(a, 0), Int(try int(a, 1))))
        default: throw .call("function \(name) not defined")
        }
    }

    private func arity(_ a: [TemplateValue], _ n: Int) throws(TemplateFunctionError) {
        if a.count != n { throw .arity(String(n)) }
    }

    private func string(_ a: [TemplateValue], _ i: Int) throws(TemplateFunctionError) -> String {
        switch a[i] {
        case .string(let s): return s
        case .missing, .null: throw .argument(i, "invalid value; expected string")
        default: throw .argument(i, "wrong type for value; expected string; got \(a[i].goType)")
        }
    }

    private func int(_ a: [TemplateValue], _ i: Int) throws(TemplateFunctionError) -> Int64 {
        switch a[i] {
        case .int(let n): return n
        case .missing, .null: throw .argument(i, "invalid value; expected int")
        default: throw .argument(i, "wrong type for value; expected int; got \(a[i].goType)")
        }
    }

    private func length(_ v: TemplateValue) throws(TemplateFunctionError) -> TemplateValue {
        switch v {
        case .string(let s): return .int(Int64(s.utf8.count))  // bytes, as Go's len
        case .list(let l): return .int(Int64(l.count))
        case .map(let m, _): return .int(Int64(m.count))
        case .missing, .null: throw .call("len of nil pointer")
        default: throw .call("len of type \(v.goType)")
        }
    }

    private func index(_ item: TemplateValue, _ keys: ArraySlice<TemplateValue>) throws(TemplateFunctionError) -> TemplateValue {
        var current = item
        for key in keys {
            switch (current, key) {
            case (.list(let l), .int(let i)):
                guard i >= 0, i < l.count else { throw .call("index out of range: \(i)") }
                current = l[Int(i)]
            case (.string(let s), .int(let i)):
                let bytes = Array(s.utf8)
                guard i >= 0, i < bytes.count else { throw .call("index out of range: \(i)") }
                current = .int(Int64(bytes[Int(i)]))
            case (.map(let m, _), .string(let k)): current = m.first { $0.0 == k }?.1 ?? .missing
            case (.list, _), (.string, _): throw .call("cannot index slice/array with type \(key.goType)")
            case (.map, _): throw .call("value has type \(key.goType); should be string")
            case (.missing, _), (.null, _): throw .call("index of untyped nil")
            default: throw .call("can't index item of type \(current.goType)")
            }
        }
        return current
    }

    private func slice(_ item: TemplateValue, _ bounds: [TemplateValue]) throws(TemplateFunctionError) -> TemplateValue {
        guard bounds.count <= 2 else { throw .call("too many slice indexes: \(bounds.count)") }
        var idx: [Int] = []
        for b in bounds {
            guard case .int(let n) = b else { throw .call("cannot index slice/array with type \(b.goType)") }
            idx.append(Int(n))
        }
        func range(_ count: Int) throws(TemplateFunctionError) -> Range<Int> {
            let lo = idx.first ?? 0, hi = idx.count > 1 ? idx[1] : count
            guard lo >= 0, lo <= count else { throw .call("index out of range: \(lo)") }
            guard hi >= lo, hi <= count else {
                throw .call(hi < lo ? "invalid slice index: \(lo) > \(hi)" : "index out of range: \(hi)")
            }
            return lo..<hi
        }
        switch item {
        case .string(let s):
            let bytes = Array(s.utf8)
            return .string(String(decoding: bytes[try range(bytes.count)], as: UTF8.self))
        case .list(let l): return .list(Array(l[try range(l.count)]))
        case .missing, .null: throw .call("slice of untyped nil")
        default: throw .call("can't slice item of type \(item.goType)")
        }
    }

    /// fmt.Sprint: a space between operands when neither is a string.
    static func sprint(_ a: [TemplateValue]) -> String {
        var out = ""
        for (i, v) in a.enumerated() {
            if i > 0, !isString(a[i - 1]), !isString(v) { out += " " }
            out += GoPrintf.plain(v)
        }
        return out
    }

    private static func isString(_ v: TemplateValue) -> Bool { if case .string = v { return true }; return false }

    static func equal(_ a: TemplateValue, _ b: TemplateValue) throws(TemplateFunctionError) -> Bool {
        switch (a, b) {
        case (.missing, _), (.null, _), (_, .missing), (_, .null): return a.isNil && b.isNil
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.float(let x), .float(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.list, _), (.map, _), (.object, _): throw .call("non-comparable type \(a.printed): \(a.goType)")
        default: throw .call("incompatible types for comparison")
        }
    }

    static func less(_ a: TemplateValue, _ b: TemplateValue) throws(TemplateFunctionError) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        case (.float(let x), .float(let y)): return x < y
        case (.string(let x), .string(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        case (.int, .float), (.float, .int), (.int, .string), (.string, .int), (.float, .string), (.string, .float):
            throw .call("incompatible types for comparison")
        default: throw .call("invalid type for comparison")
        }
    }

    /// strings.Title: the first letter of each word upper-cased; a word starts
    /// after anything but a letter, digit, underscore or apostrophe-free rune.
    static func title(_ s: String) -> String {
        var out = ""
        var previous: Unicode.Scalar = " "
        for c in s.unicodeScalars {
            out += isSeparator(previous) ? String(c).uppercased() : String(c)
            previous = c
        }
        return out
    }

    private static func isSeparator(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII {
            let v = c.value
            if (48...57).contains(v) || (65...90).contains(v) || (97...122).contains(v) || v == 95 { return false }
            return true
        }
        if c.properties.isAlphabetic || c.properties.numericType != nil { return false }
        return c.properties.isWhitespace
    }

    /// Docker's truncate: at most `n` bytes (never splitting a character).
    static func truncate(_ s: String, _ n: Int) -> String {
        guard s.utf8.count >= n else { return s }
        var out = "", used = 0
        for c in s.unicodeScalars {
            let size = String(c).utf8.count
            if used + size > max(n, 0) { break }
            out.unicodeScalars.append(c)
            used += size
        }
        return out
    }

    static func html(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "'": out += "&#39;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "\0": out += "\u{FFFD}"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func urlquery(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            case UInt8(ascii: " "): out += "+"
            default: out += "%" + String(b, radix: 16).uppercased().leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
