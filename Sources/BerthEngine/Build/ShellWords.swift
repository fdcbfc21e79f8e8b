/// Docker's variable expansion for the instructions that expand (ADD, COPY,
/// ENV, LABEL, ARG, EXPOSE, FROM, STOPSIGNAL, USER, VOLUME, WORKDIR), after
/// buildkit's `shell/lex.go`: `$n`, `${n}`, `${n:-w}`, `${n-w}`, `${n:+w}`,
/// `${n+w}`, `${n:?m}`, `${n?m}`; single quotes literal; inside double
/// quotes the escape character escapes only `"`, `$` and itself; outside
/// quotes it makes the next character literal. Quotes are removed.
public struct ShellWords {
    /// The escape character of the Dockerfile.
    public let escape: Character
    /// The variables in scope (ENV wins over ARG; the caller merges them).
    public let variables: [String: String]

    public init(escape: Character = "\\", variables: [String: String]) {
        self.escape = escape
        self.variables = variables
    }

    /// The most one expansion may give. A variable defined as itself twice
    /// (`ARG A1=${A0}${A0}`, then A2 of A1…) doubles at each line: without a
    /// bound 30 lines ask for gigabytes (attack review). No program could
    /// take such a value anyway: exec refuses one argument or variable past
    /// 128 KiB (MAX_ARG_STRLEN).
    public static let maxExpansion = 4 << 20

    /// Expands one word (quotes removed, blanks kept).
    public func word(_ text: String) throws(BerthError) -> String {
        var lexer = Lexer(chars: Array(text), escape: escape, variables: variables, split: false)
        return try Self.bounded(lexer.run(), text).joined()
    }

    /// Expands and splits on unquoted blanks, also inside expanded values
    /// (EXPOSE: `P="80 443/udp"` gives two ports).
    public func words(_ text: String) throws(BerthError) -> [String] {
        var lexer = Lexer(chars: Array(text), escape: escape, variables: variables, split: true)
        return try Self.bounded(lexer.run(), text)
    }

    private static func bounded(_ words: [String], _ text: String) throws(BerthError) -> [String] {
        let size = words.reduce(0) { $0 + $1.utf8.count }
        guard size <= maxExpansion else {
            throw .invalid(
                "the expansion of \(shown(text)) is \(size) bytes, more than Berth's \(maxExpansion >> 20) MiB; a variable that refers to itself more than once doubles at each step"
            )
        }
        return words
    }

    /// Splits on blanks outside quotes, keeping quotes and escapes in the
    /// words for a later expansion (ENV/LABEL `k="a b"` is one word).
    public static func splitKeepingQuotes(_ text: String, escape: Character) -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        var escaped = false
        var inWord = false
        for c in text {
            if escaped {
                current.append(c)
                escaped = false
                continue
            }
            if c == escape && quote != "'" {
                current.append(c)
                escaped = true
                inWord = true
                continue
            }
            if let q = quote {
                if c == q { quote = nil }
                current.append(c)
                continue
            }
            if c == "\"" || c == "'" {
                quote = c
                current.append(c)
                inWord = true
            } else if c == " " || c == "\t" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(c)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }
}

private struct Lexer {
    let chars: [Character]
    let escape: Character
    let variables: [String: String]
    let split: Bool
    var i = 0
    var words: [String] = []
    var current = ""
    var inWord = false
    /// How deep `${…}` substitutions nest (bounded: hostile input never
    /// exhausts the stack).
    var depth = 0

    init(chars: [Character], escape: Character, variables: [String: String], split: Bool) {
        self.chars = chars
        self.escape = escape
        self.variables = variables
        self.split = split
    }

    mutating func run() throws(BerthError) -> [String] {
        while i < chars.count {
            let c = chars[i]
            i += 1
            if c == "'" {
                inWord = true
                try singleQuoted()
            } else if c == "\"" {
                inWord = true
                try doubleQuoted()
            } else if c == "$" {
                let value = try dollar()
                appendUnquoted(value)
            } else if c == escape {
                inWord = true
                if i < chars.count {
                    current.append(chars[i])
                    i += 1
                }
            } else if split && (c == " " || c == "\t") {
                endWord()
            } else {
                inWord = true
                current.append(c)
            }
        }
        endWord()
        if !split && words.isEmpty { return [""] }
        return words
    }

    private mutating func endWord() {
        if inWord || !current.isEmpty { words.append(current) }
        current = ""
        inWord = false
    }

    /// An expanded value outside quotes: split on its blanks when splitting.
    private mutating func appendUnquoted(_ value: String) {
        guard split else {
            current += value
            return
        }
        for c in value {
            if c == " " || c == "\t" || c == "\n" {
                endWord()
            } else {
                current.append(c)
                inWord = true
            }
        }
    }

    private mutating func singleQuoted() throws(BerthError) {
        while i < chars.count {
            let c = chars[i]
            i += 1
            if c == "'" { return }
            current.append(c)
        }
        throw .invalid("unexpected end of statement while looking for matching single-quote")
    }

    private mutating func doubleQuoted() throws(BerthError) {
        while i < chars.count {
            let c = chars[i]
            i += 1
            if c == "\"" { return }
            if c == "$" {
                current += try dollar()
            } else if c == escape, i < chars.count, ["\"", "$", escape].contains(chars[i]) {
                current.append(chars[i])
                i += 1
            } else {
                current.append(c)
            }
        }
        throw .invalid("unexpected end of statement while looking for matching double-quote")
    }

    /// After a `$`: a variable reference, or a literal `$`.
    private mutating func dollar() throws(BerthError) -> String {
        guard i < chars.count else { return "$" }
        if chars[i] != "{" {
            let name = readName()
            return name.isEmpty ? "$" : variables[name] ?? ""
        }
        i += 1
        depth += 1
        defer { depth -= 1 }
        guard depth <= 64 else { throw .invalid("bad substitution: ${…} nested more than 64 deep") }
        let name = readName()
        guard !name.isEmpty else { throw .invalid("bad substitution: ${ without a variable name") }
        guard i < chars.count else { throw .invalid("missing '}' after ${\(name)") }
        if chars[i] == "}" {
            i += 1
            return variables[name] ?? ""
        }
        var colon = false
        if chars[i] == ":" {
            colon = true
            i += 1
        }
        guard i < chars.count else { throw .invalid("missing '}' after ${\(name)") }
        let op = chars[i]
        i += 1
        guard ["-", "+", "?"].contains(op) else {
            throw .invalid("unsupported modifier (\(op)) in substitution ${\(name)…}")
        }
        let word = try nested()
        let value = variables[name]
        let set = colon ? !(value ?? "").isEmpty : value != nil
        switch op {
        case "-": return set ? value ?? "" : word
        case "+": return set ? word : ""
        default:
            if set { return value ?? "" }
            throw .invalid("\(name): \(word.isEmpty ? "is not allowed to be unset" : word)")
        }
    }

    /// The word of a `${n:-word}` up to its `}`, itself expanded.
    private mutating func nested() throws(BerthError) -> String {
        var out = ""
        while i < chars.count {
            let c = chars[i]
            i += 1
            switch c {
            case "}": return out
            case "$": out += try dollar()
            case "'":
                while i < chars.count, chars[i] != "'" {
                    out.append(chars[i])
                    i += 1
                }
                i += 1
            case "\"":
                while i < chars.count, chars[i] != "\"" {
                    if chars[i] == "$" {
                        i += 1
                        out += try dollar()
                    } else {
                        out.append(chars[i])
                        i += 1
                    }
                }
                i += 1
            default:
                if c == escape, i < chars.count {
                    out.append(chars[i])
                    i += 1
                } else {
                    out.append(c)
                }
            }
        }
        throw .invalid("missing '}' in a ${…} substitution")
    }

    private mutating func readName() -> String {
        var name = ""
        while i < chars.count, chars[i].isASCII, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" {
            name.append(chars[i])
            i += 1
        }
        return name
    }
}
