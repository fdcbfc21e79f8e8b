/// Turns tokens into statements.
///
///     script     = { sep } [ statement { sep { sep } statement } ] { sep }
///     statement  = if | for | while | fn | assignment | and-or
///     and-or     = command { ("&&" | "||") { newline } command }
///     command    = [ "!" ] [ "try" ] word { word }
///     if         = "if" and-or block [ "else" ( if | block ) ]
///     for        = "for" NAME "in" { word } block
///     while      = "while" and-or block
///     fn         = "fn" NAME [ "(" [ NAME { [","] NAME } ] ")" ] block
///     assignment = NAME "=" [ word | "[" { word } "]" ]  |  NAME=word
///     block      = { newline } "{" script "}"
///
/// Blocks and `$(…)` nest at most `maxDepth` deep; a parse error at the end
/// of the text is `incomplete`, which is how the REPL knows to read on.
public struct ScriptParser {
    static let maxDepth = 48
    static let keywords: Set<String> = ["if", "else", "for", "in", "while", "fn", "try", "!"]

    private let tokens: [Token]
    private var index = 0
    private let depth: Int

    private init(tokens: [Token], depth: Int) {
        self.tokens = tokens
        self.depth = depth
    }

    /// Parses a whole script.
    public static func parse(_ text: String) throws(ScriptSyntaxError) -> ScriptBlock {
        let tokens = try ScriptLexer.tokenize(text)
        var parser = ScriptParser(tokens: tokens, depth: 0)
        return try parser.parseScript(openBrace: nil)
    }

    /// Whether the REPL has a whole statement: false while a quote, block,
    /// `$(` or continuation is open.
    public static func isComplete(_ text: String) -> Bool {
        do {
            _ = try parse(text)
            return true
        } catch {
            return !error.incomplete
        }
    }

    // MARK: - Tokens

    private var current: Token { tokens[min(index, tokens.count - 1)] }
    private mutating func next() { if index < tokens.count - 1 { index += 1 } }

    private func unexpected(_ what: String) -> ScriptSyntaxError {
        let token = current
        if token.isEnd {
            return ScriptSyntaxError("unexpected end of input: \(what)", at: token.position, incomplete: true)
        }
        return ScriptSyntaxError("\(what), found \(describe(token))", at: token.position)
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .word: return token.bareWord.map { "\"\($0)\"" } ?? "a word"
        case .newline: return "a newline"
        case .semicolon: return "\";\""
        case .and: return "\"&&\""
        case .or: return "\"||\""
        case .leftBrace: return "\"{\""
        case .rightBrace: return "\"}\""
        case .end: return "the end"
        }
    }

    private mutating func skipNewlines() {
        while case .newline = current.kind { next() }
    }

    // MARK: - Statements

    private mutating func parseScript(openBrace: SourcePosition?) throws(ScriptSyntaxError) -> ScriptBlock {
        var statements: [ScriptStatement] = []
        while true {
            while true {
                if case .newline = current.kind { next(); continue }
                if case .semicolon = current.kind { next(); continue }
                break
            }
            switch current.kind {
            case .end:
                if let openBrace {
                    throw ScriptSyntaxError("unterminated block (missing })", at: openBrace, incomplete: true)
                }
                return ScriptBlock(statements: statements)
            case .rightBrace:
                guard openBrace != nil else { throw ScriptSyntaxError("unexpected } with no block open", at: current.position) }
                next()
                return ScriptBlock(statements: statements)
            default:
                break
            }
            statements.append(try parseStatement())
            switch current.kind {
            case .newline, .semicolon, .end: break
            case .rightBrace where openBrace != nil: break
            default: throw unexpected("expected the end of the statement")
            }
        }
    }

    private mutating func parseStatement() throws(ScriptSyntaxError) -> ScriptStatement {
        let start = current.position
        switch current.bareWord {
        case "if"?: return try parseIf()
        case "for"?: return try parseFor()
        case "while"?:
            next()
            let condition = try parseAndOr()
            return .whileLoop(condition: condition, body: try parseBlock(after: "while condition"), position: start)
        case "fn"?: return try parseFunction()
        case "else"?: throw ScriptSyntaxError("else without if (write it on the line of the }: } else {)", at: start)
        default: break
        }
        if let assignment = try parseAssignment() { return assignment }
        return .run(try parseAndOr())
    }

    private mutating func parseIf() throws(ScriptSyntaxError) -> ScriptStatement {
        let start = current.position
        next()
        let condition = try parseAndOr()
        let then = try parseBlock(after: "if condition")
        var otherwise: ScriptBlock?
        if current.bareWord == "else" {
            next()
            if current.bareWord == "if" {
                otherwise = ScriptBlock(statements: [try parseIf()])
            } else {
                otherwise = try parseBlock(after: "else")
            }
        }
        return .ifElse(condition: condition, then: then, otherwise: otherwise, position: start)
    }

    private mutating func parseFor() throws(ScriptSyntaxError) -> ScriptStatement {
        let start = current.position
        next()
        guard let name = current.bareWord, ScriptLexer.isIdentifier(name) else {
            throw unexpected("expected a variable name after for")
        }
        next()
        guard current.bareWord == "in" else { throw unexpected("expected in after for \(name)") }
        next()
        var raws: [RawWord] = []
        while case .word(let raw) = current.kind {
            raws.append(raw)
            next()
        }
        _ = Self.stripListBrackets(&raws)
        let items = try raws.map { raw throws(ScriptSyntaxError) in try convert(raw) }
        return .forIn(variable: name, items: items, body: try parseBlock(after: "for … in"), position: start)
    }

    /// `fn NAME { … }`, `fn NAME() { … }`, `fn NAME(a, b) { … }`.
    private mutating func parseFunction() throws(ScriptSyntaxError) -> ScriptStatement {
        let start = current.position
        next()
        var header = ""
        while case .word = current.kind {
            guard let text = current.bareWord else { throw unexpected("expected a function name and parameters") }
            header += (header.isEmpty ? "" : " ") + text
            next()
        }
        guard !header.isEmpty else { throw unexpected("expected a function name after fn") }
        var name = header
        var parameters: [String]?
        if let open = header.firstIndex(of: "(") {
            name = String(header[..<open]).trimmingSpaces
            let rest = header[header.index(after: open)...]
            guard rest.hasSuffix(")") else {
                throw ScriptSyntaxError("expected ) to close the parameters of \(name)", at: start, incomplete: false)
            }
            let list = rest.dropLast().split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
            for parameter in list where !ScriptLexer.isIdentifier(parameter) {
                throw ScriptSyntaxError("bad parameter name \"\(parameter)\" in fn \(name)", at: start)
            }
            guard Set(list).count == list.count else {
                throw ScriptSyntaxError("a parameter is named twice in fn \(name)", at: start)
            }
            parameters = list
        }
        guard Self.isFunctionName(name) else {
            throw ScriptSyntaxError("bad function name \"\(name)\": letters, digits, _ and -", at: start)
        }
        let body = try parseBlock(after: "fn \(name)")
        return .function(FunctionDefinition(name: name, parameters: parameters, body: body, position: start))
    }

    static func isFunctionName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ScriptLexer.isNameStart(first) else { return false }
        return name.unicodeScalars.allSatisfy { ScriptLexer.isNameStart($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// `name = value`, `name = [a b]`, `name=value`; nil when not an assignment.
    private mutating func parseAssignment() throws(ScriptSyntaxError) -> ScriptStatement? {
        guard case .word(let first) = current.kind else { return nil }
        let start = current.position
        var valueWords: [RawWord] = []
        let name: String
        if let bare = first.bareText, ScriptLexer.isIdentifier(bare),
            index + 1 < tokens.count, tokens[index + 1].bareWord == "="
        {
            name = bare
            next(); next()
        } else if case .text(let text, quoted: false)? = first.segments.first,
            let eq = text.firstIndex(of: "="), ScriptLexer.isIdentifier(String(text[..<eq]))
        {
            name = String(text[..<eq])
            var rest = first
            let after = String(text[text.index(after: eq)...])
            rest.segments[0] = .text(after, quoted: false)
            if after.isEmpty { rest.segments.removeFirst() }
            if !rest.segments.isEmpty { valueWords.append(rest) }
            next()
        } else {
            return nil
        }
        while case .word(let raw) = current.kind {
            valueWords.append(raw)
            next()
        }
        if Self.stripListBrackets(&valueWords) {
            return .assign(
                name: name, value: try valueWords.map { raw throws(ScriptSyntaxError) in try convert(raw) },
                isList: true, position: start)
        }
        guard valueWords.count <= 1 else {
            throw ScriptSyntaxError("\(name) = takes one value: quote it (\"a b\") or make a list ([a b])", at: start)
        }
        return .assign(
            name: name, value: try valueWords.map { raw throws(ScriptSyntaxError) in try convert(raw) },
            isList: false, position: start)
    }

    /// `[a b c]`: when the first word starts with an unquoted `[` and the
    /// last ends with an unquoted `]`, removes both (and words left empty)
    /// and returns true.
    static func stripListBrackets(_ words: inout [RawWord]) -> Bool {
        guard case .text(let head, quoted: false)? = words.first?.segments.first, head.hasPrefix("["),
            case .text(let tail, quoted: false)? = words.last?.segments.last, tail.hasSuffix("]")
        else { return false }
        words[0].segments[0] = .text(String(head.dropFirst()), quoted: false)
        let last = words.count - 1
        let lastSegment = words[last].segments.count - 1
        if case .text(let t, quoted: false) = words[last].segments[lastSegment], !t.isEmpty {
            words[last].segments[lastSegment] = .text(String(t.dropLast()), quoted: false)
        }
        words = words.compactMap { word in
            var word = word
            word.segments.removeAll { if case .text("", quoted: false) = $0 { return true } else { return false } }
            return word.segments.isEmpty ? nil : word
        }
        return true
    }

    private mutating func parseAndOr() throws(ScriptSyntaxError) -> AndOrList {
        let first = try parseCommand()
        var rest: [(AndOrList.Operator, SimpleCommand)] = []
        while true {
            let op: AndOrList.Operator
            switch current.kind {
            case .and: op = .and
            case .or: op = .or
            default: return AndOrList(first: first, rest: rest)
            }
            next()
            skipNewlines()
            rest.append((op, try parseCommand()))
        }
    }

    private mutating func parseCommand() throws(ScriptSyntaxError) -> SimpleCommand {
        let start = current.position
        var negated = false, tried = false
        if current.bareWord == "!" { negated = true; next() }
        if current.bareWord == "try" { tried = true; next() }
        var words: [ScriptWord] = []
        while case .word(let raw) = current.kind {
            words.append(try convert(raw))
            next()
        }
        guard !words.isEmpty else { throw unexpected("expected a command") }
        return SimpleCommand(words: words, negated: negated, tried: tried, position: start)
    }

    private mutating func parseBlock(after what: String) throws(ScriptSyntaxError) -> ScriptBlock {
        skipNewlines()
        guard case .leftBrace = current.kind else { throw unexpected("expected { after \(what)") }
        let open = current.position
        guard depth < Self.maxDepth else { throw ScriptSyntaxError("blocks nested more than \(Self.maxDepth) deep", at: open) }
        next()
        var inner = ScriptParser(tokens: tokens, depth: depth + 1)
        inner.index = index
        let block = try inner.parseScript(openBrace: open)
        index = inner.index
        return block
    }

    // MARK: - Words

    private func convert(_ raw: RawWord) throws(ScriptSyntaxError) -> ScriptWord {
        var segments: [ScriptWord.Segment] = []
        for segment in raw.segments {
            switch segment {
            case .text(let text, let quoted): segments.append(.text(text, quoted: quoted))
            case .variable(let name, let quoted): segments.append(.variable(name, quoted: quoted))
            case .capture(let inner, let quoted, let position):
                guard depth < Self.maxDepth else { throw ScriptSyntaxError("$( nested too deep", at: position) }
                var parser = ScriptParser(tokens: inner, depth: depth + 1)
                let block = try parser.parseScript(openBrace: nil)
                segments.append(.capture(block, quoted: quoted))
            }
        }
        return ScriptWord(segments: segments, position: raw.position)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
