#if canImport(Glibc)
import Glibc
#endif

/// Go's `fmt.Sprintf` for template values: verbs `%v %+v %s %q %d %x %X %o
/// %b %c %U %e %E %f %F %g %G %t %%`, flags `+ - # 0 space`, width and
/// precision; a verb that does not fit its operand prints Go's `%!d(string=x)`,
/// a missing operand `%!d(MISSING)`, extra operands `%!(EXTRA int=1)`.
enum GoPrintf {
    struct Spec {
        var plus = false, minus = false, sharp = false, zero = false, space = false
        /// `%+v`: struct field names (the plus flag means nothing else for %v).
        var plusV = false
        var width: Int?
        var precision: Int?
    }

    static func format(_ format: String, _ args: [TemplateValue]) -> String {
        var out = ""
        let chars = Array(format.unicodeScalars)
        var i = 0
        var argIndex = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "%" else { out.unicodeScalars.append(c); i += 1; continue }
            i += 1
            var spec = Spec()
            flags: while i < chars.count {
                switch chars[i] {
                case "+": spec.plus = true
                case "-": spec.minus = true
                case "#": spec.sharp = true
                case "0": spec.zero = true
                case " ": spec.space = true
                default: break flags
                }
                i += 1
            }
            spec.width = number(chars, &i)
            if i < chars.count && chars[i] == "." {
                i += 1
                spec.precision = number(chars, &i) ?? 0
            }
            guard i < chars.count else { out += "%!(NOVERB)"; break }
            let verb = chars[i]
            i += 1
            if verb == "%" { out += "%"; continue }
            if verb == "v" { spec.plusV = spec.plus; spec.plus = false }
            guard argIndex < args.count else { out += "%!\(verb)(MISSING)"; continue }
            out += pad(formatOne(verb, args[argIndex], spec), spec)
            argIndex += 1
        }
        if argIndex < args.count {
            out += "%!(EXTRA " + args[argIndex...].map { "\(typeName($0))=\(plain($0))" }.joined(separator: ", ") + ")"
        }
        return out
    }

    /// Go's parsenum: digits as a width or precision. A number past a million
    /// is "crazy long": Go gives up on the rest of the format (it then reads
    /// `%!(NOVERB)`), so nothing pads forever.
    private static func number(_ chars: [Unicode.Scalar], _ i: inout Int) -> Int? {
        var n: Int?
        while i < chars.count, chars[i].isASCII, let d = Int(String(chars[i])) {
            if let current = n, current > 1_000_000 { i = chars.count; return nil }
            n = (n ?? 0) * 10 + d
            i += 1
        }
        return n
    }

    private static func typeName(_ v: TemplateValue) -> String {
        if case .missing = v { return "<nil>" }
        if case .null = v { return "<nil>" }
        return v.goType
    }

    /// `%v` of a value as an operand of print/printf (nil is `<nil>`).
    static func plain(_ v: TemplateValue) -> String {
        if case .missing = v { return "<nil>" }
        return v.printed
    }

    private static func bad(_ verb: Unicode.Scalar, _ v: TemplateValue) -> String {
        switch v {
        case .missing, .null: return "%!\(verb)(<nil>)"
        default: return "%!\(verb)(\(v.goType)=\(plain(v)))"
        }
    }

    private static func pad(_ s: String, _ spec: Spec) -> String {
        guard let width = spec.width else { return s }
        let count = s.unicodeScalars.count
        guard count < width else { return s }
        let fill = width - count
        if spec.minus { return s + String(repeating: " ", count: fill) }
        if spec.zero {
            // Zeros go after a sign, as Go does.
            if let first = s.first, first == "-" || first == "+" {
                return String(first) + String(repeating: "0", count: fill) + s.dropFirst()
            }
            return String(repeating: "0", count: fill) + s
        }
        return String(repeating: " ", count: fill) + s
    }

    private static func formatOne(_ verb: Unicode.Scalar, _ v: TemplateValue, _ spec: Spec) -> String {
        switch v {
        case .missing, .null: return verb == "v" ? "<nil>" : bad(verb, v)
        case .bool(let b): return verb == "v" || verb == "t" ? (b ? "true" : "false") : bad(verb, v)
        case .int(let n): return integer(verb, n, spec) ?? bad(verb, v)
        case .float(let f): return float(verb, f, spec) ?? bad(verb, v)
        case .string(let s): return string(verb, s, spec) ?? bad(verb, v)
        case .list(let items):
            return "["
                + items.map {
                    formatOne(verb, $0, Spec(plus: spec.plus, sharp: spec.sharp, plusV: spec.plusV, precision: spec.precision))
                }
                .joined(separator: " ") + "]"
        case .map(let members, _):
            let inner = Spec(plus: spec.plus, sharp: spec.sharp, plusV: spec.plusV, precision: spec.precision)
            return "map["
                + members.sorted { $0.0 < $1.0 }
                .map { formatOne(verb, .string($0.0), inner) + ":" + formatOne(verb, $0.1, inner) }
                .joined(separator: " ") + "]"
        case .object(let o):
            let inner = Spec(plus: spec.plus, sharp: spec.sharp, plusV: spec.plusV, precision: spec.precision)
            return "{"
                + o.fields.map { (spec.plusV ? $0.0 + ":" : "") + formatOne(verb, $0.1, inner) }
                .joined(separator: " ") + "}"
        }
    }

    private static func integer(_ verb: Unicode.Scalar, _ n: Int64, _ spec: Spec) -> String? {
        let magnitude = n.magnitude
        var digits: String
        var prefix = ""
        switch verb {
        case "d", "v": digits = String(magnitude)
        case "x": digits = String(magnitude, radix: 16); if spec.sharp { prefix = "0x" }
        case "X": digits = String(magnitude, radix: 16).uppercased(); if spec.sharp { prefix = "0X" }
        case "o": digits = String(magnitude, radix: 8); if spec.sharp { prefix = "0" }
        case "O": digits = String(magnitude, radix: 8); prefix = "0o"
        case "b": digits = String(magnitude, radix: 2)
        case "c": return UnicodeScalar(UInt32(truncatingIfNeeded: n)).map { String(Character($0)) } ?? "\u{FFFD}"
        case "q":
            let s = UnicodeScalar(UInt32(truncatingIfNeeded: n)).map { String(Character($0)) } ?? "\u{FFFD}"
            return "'" + (s == "'" ? "\\'" : escaped(s, quote: "\0")) + "'"
        case "U":
            let hex = String(magnitude, radix: 16).uppercased()
            return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        default: return nil
        }
        if let p = spec.precision, digits.count < p { digits = String(repeating: "0", count: p - digits.count) + digits }
        let sign = n < 0 ? "-" : (spec.plus ? "+" : (spec.space ? " " : ""))
        return sign + prefix + digits
    }

    private static func float(_ verb: Unicode.Scalar, _ f: Double, _ spec: Spec) -> String? {
        var text: String
        switch verb {
        case "v",
            "g" where spec.precision == nil:
            text = GoFloat.shortest(f)
        case "G" where spec.precision == nil: text = GoFloat.shortest(f).uppercased()
        case "e", "E", "f", "F", "g", "G":
            let c = verb == "F" ? "f" : String(verb)
            text = cFormat("%.*" + c, spec.precision ?? 6, f)
        default: return nil
        }
        if spec.plus && !text.hasPrefix("-") {
            text = "+" + text
        } else if spec.space && !text.hasPrefix("-") {
            text = " " + text
        }
        return text
    }

    private static func cFormat(_ format: String, _ precision: Int, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        let n = withVaList([Int32(precision), value]) { list in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, 512, format, list) }
        }
        return n > 0 ? String(decoding: buffer.prefix(Int(min(n, 511))).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }

    private static func string(_ verb: Unicode.Scalar, _ s: String, _ spec: Spec) -> String? {
        var s = s
        switch verb {
        case "s", "v":
            if let p = spec.precision { s = String(String.UnicodeScalarView(s.unicodeScalars.prefix(p))) }
            return s
        case "q":
            if spec.sharp && !s.contains("`") && !s.contains(where: { $0.isNewline }) { return "`" + s + "`" }
            return "\"" + escaped(s, quote: "\"") + "\""
        case "x", "X":
            let hex = s.utf8.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
            return verb == "X" ? hex.uppercased() : hex
        default: return nil
        }
    }

    /// strconv.Quote's escapes (printable Unicode is kept).
    static func escaped(_ s: String, quote: Unicode.Scalar) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case quote, "\\": out += "\\" + String(c)
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0B}": out += "\\v"
            default:
                if c.value < 0x20 || c.value == 0x7F {
                    let hex = String(c.value, radix: 16)
                    out += "\\x" + (hex.count < 2 ? "0" : "") + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out
    }
}
