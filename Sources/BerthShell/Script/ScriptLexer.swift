/// Splits script text into tokens with line:column positions.
///
/// Words follow the shell: whitespace separates them; `'…'` is literal;
/// `"…"` keeps `$` expansions and honours `\"`, `\\`, `\$`; a backslash
/// outside quotes takes the next character literally, and before a newline
/// joins the lines; `#` at the start of a word comments to the end of the
/// line. `;`, newline, `&&` and `||` end a command; `{` and `}` are braces
/// only as whole words, so `{{.State}}` stays a word. `$(` lexes the
/// command inside up to its `)`, nested at most `maxDepth` deep.
///
/// Every loop advances, every recursion is depth-bounded: any input ends in
/// tokens or a positioned `ScriptSyntaxError`.
struct ScriptLexer {
    static let maxDepth = 32

    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line: Int
    private var column = 1

    init(_ text: String, firstLine: Int = 1) {
        scalars = Array(text.unicodeScalars)
        line = firstLine
    }

    /// Every token of the text, ending with `.end`.
    static func tokenize(_ text: String) throws(ScriptSyntaxError) -> [Token] {
        var lexer = ScriptLexer(text)
        return try lexer.tokens(depth: 0, captureOpenedAt: nil)
    }

    private var position: SourcePosition { SourcePosition(line: line, column: column) }
    private var atEnd: Bool { index >= scalars.count }
    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private mutating func advance() {
        guard index < scalars.count else { return }
        if scalars[index] == "\n" { line += 1; column = 1 } else { column += 1 }
        index += 1
    }

    /// Tokens up to the end of the text, or, inside `$(`, up to its `)`.
    private mutating func tokens(depth: Int, captureOpenedAt open: SourcePosition?) throws(ScriptSyntaxError) -> [Token] {
        var out: [Token] = []
        while true {
            guard let c = peek() else {
                if let open { throw ScriptSyntaxError("unterminated $(", at: open, incomplete: true) }
                out.append(Token(kind: .end, position: position))
                return out
            }
            let here = position
            switch c {
            case " ", "\t", "\r":
                advance()
            case "\n":
                advance()
                out.append(Token(kind: .newline, position: here))
            case "#":
                while let d = peek(), d != "\n" { advance() }
            case ";":
                advance()
                out.append(Token(kind: .semicolon, position: here))
            case "&" where peek(1) == "&":
                advance(); advance()
                out.append(Token(kind: .and, position: here))
            case "|" where peek(1) == "|":
                advance(); advance()
                out.append(Token(kind: .or, position: here))
            case ")" where open != nil:
                advance()
                out.append(Token(kind: .end, position: here))
                return out
            case "\\" where peek(1) == "\n":
                advance(); advance()
            default:
                let word = try lexWord(depth: depth, inCapture: open != nil)
                if let bare = word.bareText, bare == "{" || bare == "}" {
                    out.append(Token(kind: bare == "{" ? .leftBrace : .rightBrace, position: here))
                } else {
                    out.append(Token(kind: .word(word), position: here))
                }
            }
        }
    }

    private mutating func lexWord(depth: Int, inCapture: Bool) throws(ScriptSyntaxError) -> RawWord {
        let start = position
        var segments: [RawWord.Segment] = []
        var text = ""
        func flush() {
            if !text.isEmpty { segments.append(.text(text, quoted: false)); text = "" }
        }
        loop: while let c = peek() {
            switch c {
            case " ", "\t", "\r", "\n", ";":
                break loop
            case "&" where peek(1) == "&":
                break loop
            case "|" where peek(1) == "|":
                break loop
            case ")" where inCapture:
                break loop
            case "\\":
                let at = position
                advance()
                guard let next = peek() else {
                    throw ScriptSyntaxError("unterminated line continuation (\\ at the end)", at: at, incomplete: true)
                }
                advance()
                if next != "\n" {
                    flush()
                    segments.append(.text(String(next), quoted: true))
                }
            case "'":
                flush()
                let at = position
                advance()
                var quoted = ""
                while true {
                    guard let d = peek() else {
                        throw ScriptSyntaxError("unterminated single quote", at: at, incomplete: true)
                    }
                    advance()
                    if d == "'" { break }
                    quoted.unicodeScalars.append(d)
                }
                segments.append(.text(quoted, quoted: true))
            case "\"":
                flush()
                try lexDoubleQuoted(into: &segments, depth: depth)
            case "$":
                flush()
                segments.append(try lexDollar(quoted: false, depth: depth))
            default:
                text.unicodeScalars.append(c)
                advance()
            }
        }
        flush()
        return RawWord(segments: segments, position: start)
    }

    private mutating func lexDoubleQuoted(into segments: inout [RawWord.Segment], depth: Int) throws(ScriptSyntaxError) {
        let at = position
        advance()
        var text = ""
        var wroteSomething = false
        func flush() {
            if !text.isEmpty { segments.append(.text(text, quoted: true)); text = ""; wroteSomething = true }
        }
        while true {
            guard let c = peek() else {
                throw ScriptSyntaxError("unterminated double quote", at: at, incomplete: true)
            }
            switch c {
            case "\"":
                advance()
                flush()
                // `""` is still a word: an empty quoted text keeps it.
                if !wroteSomething { segments.append(.text("", quoted: true)) }
                return
            case "\\":
                advance()
                guard let next = peek() else { continue }  // the EOF case above reports it
                if next == "\"" || next == "\\" || next == "$" {
                    text.unicodeScalars.append(next)
                    advance()
                } else if next == "\n" {
                    advance()
                } else {
                    text.unicodeScalars.append("\\")
                }
            case "$":
                flush()
                segments.append(try lexDollar(quoted: true, depth: depth))
                wroteSomething = true
            default:
                text.unicodeScalars.append(c)
                advance()
            }
        }
    }

    /// `$name`, `${name}`, `$1`, `$?`, `$#`, `$@`, `$(…)`; a lone `$` is literal.
    private mutating func lexDollar(quoted: Bool, depth: Int) throws(ScriptSyntaxError) -> RawWord.Segment {
        let at = position
        advance()  // $
        guard let c = peek() else { return .text("$", quoted: quoted) }
        switch c {
        case "(":
            advance()
            guard depth < Self.maxDepth else {
                throw ScriptSyntaxError("$( nested more than \(Self.maxDepth) deep", at: at)
            }
            let inner = try tokens(depth: depth + 1, captureOpenedAt: at)
            return .capture(inner, quoted: quoted, position: at)
        case "{":
            advance()
            var name = ""
            while true {
                guard let d = peek() else {
                    throw ScriptSyntaxError("unterminated ${", at: at, incomplete: true)
                }
                advance()
                if d == "}" { break }
                name.unicodeScalars.append(d)
            }
            // `${name:-default}`: the default is literal text.
            let bare = name.range(of: ":-").map { String(name[..<$0.lowerBound]) } ?? name
            guard Self.isVariableName(bare) else {
                throw ScriptSyntaxError("bad substitution ${\(name)}: a name, a number, ?, # or @ goes inside", at: at)
            }
            return .variable(name, quoted: quoted)
        case "?", "#", "@":
            advance()
            return .variable(String(c), quoted: quoted)
        case "0"..."9":
            advance()
            return .variable(String(c), quoted: quoted)
        default:
            guard Self.isNameStart(c) else { return .text("$", quoted: quoted) }
            var name = ""
            while let d = peek(), Self.isNameStart(d) || ("0"..."9").contains(d) {
                name.unicodeScalars.append(d)
                advance()
            }
            return .variable(name, quoted: quoted)
        }
    }

    static func isNameStart(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_"
    }

    /// An identifier, a number, or one of `?`, `#`, `@`.
    static func isVariableName(_ name: String) -> Bool {
        if name == "?" || name == "#" || name == "@" { return true }
        if !name.isEmpty && name.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) { return name.count < 6 }
        return isIdentifier(name)
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, isNameStart(first) else { return false }
        return name.unicodeScalars.allSatisfy { isNameStart($0) || ("0"..."9").contains($0) }
    }
}
