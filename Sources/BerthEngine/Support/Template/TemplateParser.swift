/// Builds the node tree from tokens, checking what Go checks at parse time:
/// functions are defined, variables declared, `{{end}}`s match, `{{break}}`
/// is inside `{{range}}`.
struct TemplateParser {
    private let tokens: [TemplateToken]
    private let src: [UInt8]
    private let functions: Set<String>
    private var index = 0
    private var variables: [String] = ["$"]
    private var rangeDepth = 0
    /// Nesting of blocks and parentheses; Go stops at a limit too, so a
    /// hostile format cannot exhaust the stack.
    private var depth = 0
    static let maxDepth = 100

    static func parse(_ source: String, functions: Set<String>) throws(BerthError) -> [TemplateNode] {
        var parser = TemplateParser(tokens: try TemplateLexer.lex(source), src: Array(source.utf8), functions: functions)
        let (nodes, stop) = try parser.list()
        if let stop { throw parser.fail("unexpected {{\(stop)}}") }
        return nodes
    }

    private init(tokens: [TemplateToken], src: [UInt8], functions: Set<String>) {
        self.tokens = tokens
        self.src = src
        self.functions = functions
    }

    private var current: TemplateToken { tokens[index] }

    private func fail(_ message: String) -> BerthError {
        TemplateError.parse(message, line: TemplateError.line(of: current.pos, in: src))
    }

    private mutating func next() -> TemplateToken {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    private mutating func skipSpace() { while current.kind == .space { index += 1 } }

    private mutating func expectClose(_ context: String) throws(BerthError) {
        skipSpace()
        guard current.kind == .rightDelim else { throw fail("unexpected \(describe(current)) in \(context)") }
        _ = next()
    }

    private func describe(_ t: TemplateToken) -> String {
        switch t.kind {
        case .eof: return "EOF"
        case .rightDelim: return "\"}}\""
        default: return "\"\(t.text)\""
        }
    }

    /// Nodes up to `{{end}}` or `{{else}}` (returned as the stop word), or EOF (nil).
    private mutating func list() throws(BerthError) -> ([TemplateNode], String?) {
        var nodes: [TemplateNode] = []
        while true {
            let t = next()
            switch t.kind {
            case .eof: return (nodes, nil)
            case .text(let s): nodes.append(.text(s))
            case .leftDelim:
                skipSpace()
                if case .keyword(let word) = current.kind {
                    _ = next()
                    switch word {
                    case "end":
                        try expectClose("end")
                        return (nodes, "end")
                    case "else": return (nodes, "else")
                    case "if", "with", "range": nodes.append(try branch(word))
                    case "break", "continue":
                        guard rangeDepth > 0 else { throw fail("{{\(word)}} outside {{range}}") }
                        try expectClose(word)
                        nodes.append(word == "break" ? .breakLoop : .continueLoop)
                    default: throw fail("{{\(word)}} is not supported by Berth's templates; write the text inline")
                    }
                } else {
                    let pipe = try pipeline("command", allowDeclare: true)
                    try expectClose("command")
                    nodes.append(.action(pipe))
                }
            default: throw fail("unexpected \(describe(t))")
            }
        }
    }

    private mutating func branch(_ word: String) throws(BerthError) -> TemplateNode {
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth { throw fail("exceeded maximum template depth (\(Self.maxDepth))") }
        let mark = variables.count
        defer { variables.removeLast(variables.count - mark) }
        let kind = TemplateBranch.Kind(rawValue: word)!
        let pipe = try pipeline(word, allowDeclare: true, isRange: kind == .range)
        try expectClose(word)
        if kind == .range { rangeDepth += 1 }
        let (body, stop) = try list()
        if kind == .range { rangeDepth -= 1 }
        guard let stop else { throw fail("unexpected EOF") }
        guard stop == "else" else { return .branch(kind, pipe, body, nil) }
        skipSpace()
        // `{{else if …}}` / `{{else with …}}`: a nested branch that shares our `{{end}}`.
        if case .keyword(let chained) = current.kind,
            (chained == "if" && kind == .ifBranch) || (chained == "with" && kind == .with)
        {
            _ = next()
            let nested = try branch(chained)
            return .branch(kind, pipe, body, [nested])
        }
        try expectClose("else")
        let (elseBody, elseStop) = try list()
        guard elseStop == "end" else { throw fail(elseStop == nil ? "unexpected EOF" : "expected end; found {{else}}") }
        return .branch(kind, pipe, body, elseBody)
    }

    /// `[$x [, $y] := | $x =] command { | command }`.
    private mutating func pipeline(
        _ context: String, allowDeclare: Bool, isRange: Bool = false,
        closedBy close: TemplateToken.Kind = .rightDelim
    ) throws(BerthError) -> TemplatePipe {
        skipSpace()
        var pipe = TemplatePipe(pos: current.pos)
        if allowDeclare, case .variable = current.kind { try declarations(&pipe, isRange: isRange) }
        while true {
            skipSpace()
            if current.kind == close || current.kind == .eof {
                if pipe.commands.isEmpty { throw fail("missing value for \(context)") }
                return pipe
            }
            if current.kind == .pipe {
                guard !pipe.commands.isEmpty else { throw fail("missing value for \(context)") }
                _ = next()
                skipSpace()
                if current.kind == close { throw fail("missing command after |") }
                continue
            }
            pipe.commands.append(try command(close))
        }
    }

    private mutating func declarations(_ pipe: inout TemplatePipe, isRange: Bool) throws(BerthError) {
        let start = index
        var names: [String] = []
        while case .variable(let name) = current.kind {
            _ = next()
            skipSpace()
            names.append(name)
            if current.kind == .comma && isRange && names.count < 2 { _ = next(); skipSpace(); continue }
            if current.kind == .declare || current.kind == .assign {
                let assign = current.kind == .assign
                _ = next()
                if assign {
                    for name in names where !variables.contains(name) { throw fail("undefined variable \"\(name)\"") }
                } else {
                    variables += names
                }
                pipe.declarations = names
                pipe.isAssignment = assign
                return
            }
            break
        }
        index = start  // not a declaration: `$x.Field | …`
    }

    private mutating func command(_ close: TemplateToken.Kind) throws(BerthError) -> TemplateCommand {
        var cmd = TemplateCommand(pos: current.pos)
        while true {
            skipSpace()
            if current.kind == close || current.kind == .pipe || current.kind == .eof { break }
            cmd.args.append(try operand())
            if current.kind != .space && current.kind != close && current.kind != .pipe {
                throw fail("unexpected \(describe(current)) in operand")
            }
        }
        if cmd.args.isEmpty { throw fail("empty command") }
        if case .null = cmd.args[0].kind, cmd.args.count == 1 { throw fail("nil is not a command") }
        return cmd
    }

    private mutating func operand() throws(BerthError) -> TemplateOperand {
        let t = next()
        var op: TemplateOperand
        switch t.kind {
        case .dot: op = TemplateOperand(kind: .dot, pos: t.pos, text: ".")
        case .null: op = TemplateOperand(kind: .null, pos: t.pos, text: "nil")
        case .bool(let b): op = TemplateOperand(kind: .literal(.bool(b)), pos: t.pos, text: t.text)
        case .char(let c): op = TemplateOperand(kind: .literal(.int(c)), pos: t.pos, text: t.text)
        case .string(let s): op = TemplateOperand(kind: .literal(.string(s)), pos: t.pos, text: t.text)
        case .number(let text):
            guard let value = Self.number(text) else { throw fail("bad number syntax: \"\(text)\"") }
            op = TemplateOperand(kind: .literal(value), pos: t.pos, text: text)
        case .field(let name):
            var chain = [name]
            while case .field(let more) = current.kind { chain.append(more); _ = next() }
            return TemplateOperand(kind: .field(chain), pos: t.pos, text: "." + chain.joined(separator: "."))
        case .variable(let name):
            guard variables.contains(name) else { throw fail("undefined variable \"\(name)\"") }
            op = TemplateOperand(kind: .variable(name, []), pos: t.pos, text: name)
        case .identifier(let name):
            guard functions.contains(name) else { throw fail("function \"\(name)\" not defined") }
            return TemplateOperand(kind: .function(name), pos: t.pos, text: name)
        case .leftParen:
            depth += 1
            defer { depth -= 1 }
            if depth > Self.maxDepth { throw fail("exceeded maximum template depth (\(Self.maxDepth))") }
            let pipe = try pipeline("parenthesized pipeline", allowDeclare: true, closedBy: .rightParen)
            guard current.kind == .rightParen else { throw fail("unclosed left paren") }
            _ = next()
            op = TemplateOperand(kind: .pipe(pipe, []), pos: t.pos, text: "(" + pipe.text + ")")
        default: throw fail("unexpected \(describe(t)) in operand")
        }
        // A field chain after a term: `$x.A.B`, `(pipe).A`.
        var chain: [String] = []
        while case .field(let more) = current.kind { chain.append(more); _ = next() }
        guard !chain.isEmpty else { return op }
        switch op.kind {
        case .variable(let name, _): op.kind = .variable(name, chain)
        case .pipe(let pipe, _): op.kind = .pipe(pipe, chain)
        default: throw fail("unexpected . after term \"\(op.text)\"")
        }
        op.text += "." + chain.joined(separator: ".")
        return op
    }

    /// Go's number literals: ints (decimal, 0x, 0o, 0b, with `_`) and floats.
    static func number(_ text: String) -> TemplateValue? {
        var body = text.replacingAll("_", "")
        var negative = false
        if body.hasPrefix("-") || body.hasPrefix("+") { negative = body.hasPrefix("-"); body.removeFirst() }
        let lower = body.lowercased()
        var magnitude: UInt64?
        if lower.hasPrefix("0x") {
            magnitude = UInt64(lower.dropFirst(2), radix: 16)
        } else if lower.hasPrefix("0o") {
            magnitude = UInt64(lower.dropFirst(2), radix: 8)
        } else if lower.hasPrefix("0b") {
            magnitude = UInt64(lower.dropFirst(2), radix: 2)
        } else if lower.count > 1, lower.hasPrefix("0"), lower.allSatisfy(\.isNumber) {
            magnitude = UInt64(lower.dropFirst(), radix: 8)
        } else if !lower.contains(where: { $0 == "." || $0 == "e" }) {
            magnitude = UInt64(lower)
        }
        if let magnitude {
            if negative, magnitude <= UInt64(Int64.max) + 1 { return .int(Int64(bitPattern: 0 &- magnitude)) }
            if !negative, magnitude <= UInt64(Int64.max) { return .int(Int64(magnitude)) }
        }
        guard !lower.hasPrefix("0x"), let f = Double(lower) else { return nil }
        return .float(negative ? -f : f)
    }
}
