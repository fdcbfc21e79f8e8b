/// A token of a Go template, with its byte offset in the source (for the
/// `:LINE:COL:` of error messages).
struct TemplateToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case text(String)
        case leftDelim, rightDelim
        case field(String)  // `.Name` (without the dot)
        case variable(String)  // `$x`, `$`
        case dot
        case identifier(String)  // a function name
        case keyword(String)  // if, else, end, range, with, break, continue, define, template, block
        case string(String)  // quoted or raw, unescaped
        case char(Int64)
        case number(String)
        case bool(Bool)
        case null
        case pipe, leftParen, rightParen, declare, assign, comma
        case space
        case eof
    }
    var kind: Kind
    var pos: Int
    /// The source text of the token (for error contexts).
    var text: String
}

/// Splits a template into tokens as Go's text/template lexer does: text
/// outside `{{ }}`, trim markers `{{- ` and ` -}}`, comments `{{/* */}}`.
struct TemplateLexer {
    private let src: [UInt8]
    private var i = 0
    private(set) var tokens: [TemplateToken] = []
    private var parenDepth = 0

    static let keywords: Set<String> = ["if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"]

    /// Lexes `source`; a lexical error names the line as Go does (`template: :1: unclosed action`).
    static func lex(_ source: String) throws(BerthError) -> [TemplateToken] {
        var lexer = TemplateLexer(src: Array(source.utf8))
        try lexer.run()
        return lexer.tokens
    }

    private init(src: [UInt8]) { self.src = src }

    private func fail(_ message: String, at pos: Int) -> BerthError {
        TemplateError.parse(message, line: TemplateError.line(of: pos, in: src))
    }

    private func starts(_ s: String, at p: Int) -> Bool {
        let b = Array(s.utf8)
        return p + b.count <= src.count && Array(src[p..<p + b.count]) == b
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }

    private mutating func emit(_ kind: TemplateToken.Kind, _ start: Int) {
        tokens.append(TemplateToken(kind: kind, pos: start, text: String(decoding: src[start..<i], as: UTF8.self)))
    }

    private mutating func run() throws(BerthError) {
        var trimNext = false
        while i < src.count {
            var end = i
            while end < src.count && !starts("{{", at: end) { end += 1 }
            var textStart = i
            var textEnd = end
            if trimNext { while textStart < textEnd && Self.isSpace(src[textStart]) { textStart += 1 } }
            let trimLeft =
                end < src.count && starts("{{- ", at: end) || starts("{{-\t", at: end)
                || starts("{{-\n", at: end) || starts("{{-\r", at: end)
            if trimLeft { while textEnd > textStart && Self.isSpace(src[textEnd - 1]) { textEnd -= 1 } }
            if textEnd > textStart {
                tokens.append(
                    TemplateToken(
                        kind: .text(String(decoding: src[textStart..<textEnd], as: UTF8.self)),
                        pos: textStart, text: ""))
            }
            i = end
            trimNext = false
            guard i < src.count else { break }
            trimNext = try action(trimLeft: trimLeft)
        }
        tokens.append(TemplateToken(kind: .eof, pos: src.count, text: ""))
    }

    /// Lexes one `{{ … }}`; returns whether it ended with ` -}}`.
    private mutating func action(trimLeft: Bool) throws(BerthError) -> Bool {
        let open = i
        i += trimLeft ? 3 : 2
        // A comment: `{{/* … */}}`, possibly with trim markers.
        var c = i
        while trimLeft && c < src.count && Self.isSpace(src[c]) { c += 1 }
        if starts("/*", at: c) {
            guard let close = find("*/", from: c + 2) else { throw fail("unclosed comment", at: open) }
            i = close + 2
            if starts("}}", at: i) { i += 2; return false }
            if starts(" -}}", at: i) { i += 4; return true }
            throw fail("comment ends before closing delimiter", at: open)
        }
        emit(.leftDelim, open)
        parenDepth = 0
        while true {
            guard i < src.count else { throw fail("unclosed action", at: open) }
            if Self.isSpace(src[i]) {
                let start = i
                while i < src.count && Self.isSpace(src[i]) { i += 1 }
                if starts("-}}", at: i) && !starts("}}", at: start) {
                    if parenDepth > 0 { throw fail("unclosed left paren", at: open) }
                    i += 3
                    emit(.rightDelim, i - 3)
                    return true
                }
                emit(.space, start)
                continue
            }
            if starts("}}", at: i) {
                if parenDepth > 0 { throw fail("unclosed left paren", at: open) }
                i += 2
                emit(.rightDelim, i - 2)
                return false
            }
            try lexItem(open)
        }
    }

    private func find(_ s: String, from: Int) -> Int? {
        var p = from
        while p < src.count { if starts(s, at: p) { return p }; p += 1 }
        return nil
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c >= 0x80
    }

    private mutating func lexItem(_ open: Int) throws(BerthError) {
        let start = i
        let c = src[i]
        switch c {
        case UInt8(ascii: "|"): i += 1; emit(.pipe, start)
        case UInt8(ascii: ","): i += 1; emit(.comma, start)
        case UInt8(ascii: "("): i += 1; parenDepth += 1; emit(.leftParen, start)
        case UInt8(ascii: ")"):
            i += 1
            parenDepth -= 1
            if parenDepth < 0 { throw fail("unexpected right paren", at: start) }
            emit(.rightParen, start)
        case UInt8(ascii: ":"):
            guard starts(":=", at: i) else { throw fail("expected :=", at: start) }
            i += 2; emit(.declare, start)
        case UInt8(ascii: "="): i += 1; emit(.assign, start)
        case UInt8(ascii: "\""): try quoted(open)
        case UInt8(ascii: "`"):
            guard let close = find("`", from: i + 1) else { throw fail("unterminated raw quoted string", at: start) }
            let value = String(decoding: src[(i + 1)..<close], as: UTF8.self)
            i = close + 1
            emit(.string(value), start)
        case UInt8(ascii: "'"): try char()
        case UInt8(ascii: "$"):
            i += 1
            while i < src.count && Self.isAlnum(src[i]) { i += 1 }
            emit(.variable(String(decoding: src[start..<i], as: UTF8.self)), start)
        case UInt8(ascii: "."):
            if i + 1 < src.count && src[i + 1] >= 48 && src[i + 1] <= 57 { number(); return }
            i += 1
            guard i < src.count && Self.isAlnum(src[i]) else { emit(.dot, start); return }
            while i < src.count && Self.isAlnum(src[i]) { i += 1 }
            emit(.field(String(decoding: src[(start + 1)..<i], as: UTF8.self)), start)
        case UInt8(ascii: "+"), UInt8(ascii: "-"), 48...57: number()
        default:
            guard Self.isAlnum(c) else {
                throw fail("unexpected \(Self.quoteRune(c)) in command", at: start)
            }
            while i < src.count && Self.isAlnum(src[i]) { i += 1 }
            let word = String(decoding: src[start..<i], as: UTF8.self)
            switch word {
            case "true", "false": emit(.bool(word == "true"), start)
            case "nil": emit(.null, start)
            default: emit(Self.keywords.contains(word) ? .keyword(word) : .identifier(word), start)
            }
        }
    }

    private static func quoteRune(_ c: UInt8) -> String { "\"" + String(UnicodeScalar(c)) + "\"" }

    private mutating func number() {
        let start = i
        if src[i] == UInt8(ascii: "+") || src[i] == UInt8(ascii: "-") { i += 1 }
        while i < src.count {
            let c = src[i]
            let exponentSign =
                (c == UInt8(ascii: "+") || c == UInt8(ascii: "-")) && i > start
                && (src[i - 1] | 0x20) == UInt8(ascii: "e") && !starts("0x", at: start) && !starts("0X", at: start)
            guard Self.isAlnum(c) || c == UInt8(ascii: ".") || exponentSign else { break }
            i += 1
        }
        emit(.number(String(decoding: src[start..<i], as: UTF8.self)), start)
    }

    private mutating func quoted(_ open: Int) throws(BerthError) {
        let start = i
        i += 1
        var bytes: [UInt8] = []
        while true {
            guard i < src.count, src[i] != 10 else { throw fail("unterminated quoted string", at: start) }
            let c = src[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < src.count else { throw fail("unterminated quoted string", at: start) }
                i += 1
                bytes += try escape()
                continue
            }
            bytes.append(c)
            i += 1
        }
        emit(.string(String(decoding: bytes, as: UTF8.self)), start)
    }

    /// Go's escapes after a backslash: \n \t \r \\ \" \' \a \b \f \v \xHH \uHHHH \UHHHHHHHH \OOO.
    private mutating func escape() throws(BerthError) -> [UInt8] {
        let c = src[i]
        i += 1
        switch c {
        case UInt8(ascii: "n"): return [10]
        case UInt8(ascii: "t"): return [9]
        case UInt8(ascii: "r"): return [13]
        case UInt8(ascii: "a"): return [7]
        case UInt8(ascii: "b"): return [8]
        case UInt8(ascii: "f"): return [12]
        case UInt8(ascii: "v"): return [11]
        case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): return [c]
        case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = c == UInt8(ascii: "x") ? 2 : (c == UInt8(ascii: "u") ? 4 : 8)
            guard i + count <= src.count, let v = UInt32(String(decoding: src[i..<i + count], as: UTF8.self), radix: 16)
            else { throw fail("invalid syntax in quoted string", at: i) }
            i += count
            if count == 2 { return [UInt8(v)] }
            guard let scalar = UnicodeScalar(v) else { throw fail("invalid syntax in quoted string", at: i) }
            return Array(String(Character(scalar)).utf8)
        case 48...55:
            guard i + 2 <= src.count, let v = UInt8(String(decoding: src[(i - 1)..<i + 2], as: UTF8.self), radix: 8)
            else { throw fail("invalid syntax in quoted string", at: i) }
            i += 2
            return [v]
        default: throw fail("invalid syntax in quoted string", at: i)
        }
    }

    private mutating func char() throws(BerthError) {
        let start = i
        i += 1
        var value: Int64
        if i < src.count && src[i] == UInt8(ascii: "\\") {
            i += 1
            let bytes = try escape()
            value = Int64(String(decoding: bytes, as: UTF8.self).unicodeScalars.first?.value ?? UInt32(bytes.first ?? 0))
        } else {
            var end = i + 1
            while end < src.count && src[end] & 0xC0 == 0x80 { end += 1 }
            guard end <= src.count else { throw fail("unterminated character constant", at: start) }
            value = Int64(String(decoding: src[i..<end], as: UTF8.self).unicodeScalars.first?.value ?? 0)
            i = end
        }
        guard i < src.count && src[i] == UInt8(ascii: "'") else { throw fail("unterminated character constant", at: start) }
        i += 1
        emit(.char(value), start)
    }
}
