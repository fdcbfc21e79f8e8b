/// The parsed form of a template (Go's parse tree, reduced to what the
/// evaluator needs). Every node keeps its source offset and Go's printed form
/// of it, so execution errors read `template: :1:2: executing "" at <.Foo>: …`.
indirect enum TemplateNode: Sendable {
    case text(String)
    case action(TemplatePipe)
    /// `if`/`with`/`range` with their pipeline, body and optional `else` list.
    case branch(TemplateBranch.Kind, TemplatePipe, [TemplateNode], [TemplateNode]?)
    case breakLoop, continueLoop
}

enum TemplateBranch {
    enum Kind: String, Sendable { case ifBranch = "if", with, range }
}

/// `$x := cmd | cmd …`.
struct TemplatePipe: Sendable {
    var declarations: [String] = []
    /// `$x = …` (assigns an existing variable) rather than `$x := …`.
    var isAssignment = false
    var commands: [TemplateCommand] = []
    var pos: Int
    var text: String {
        let head = declarations.isEmpty ? "" : declarations.joined(separator: ", ") + (isAssignment ? " = " : " := ")
        return head + commands.map(\.text).joined(separator: " | ")
    }
}

/// One command of a pipeline: a function with its arguments, or a single operand.
struct TemplateCommand: Sendable {
    var args: [TemplateOperand] = []
    var pos: Int
    var text: String { args.map(\.text).joined(separator: " ") }
}

/// An operand: a literal, `.`, `.Field.Chain`, `$var.Chain`, a function
/// name, or `(pipeline).Chain`.
struct TemplateOperand: Sendable {
    indirect enum Kind: Sendable {
        case dot
        case null
        case literal(TemplateValue)
        case field([String])
        case variable(String, [String])
        case function(String)
        case pipe(TemplatePipe, [String])
    }
    var kind: Kind
    var pos: Int
    /// Go's printed form of the node, used in error contexts.
    var text: String
}

/// Go's error texts: `template: :LINE: …` while parsing,
/// `template: :LINE:COL: executing "" at <NODE>: …` while executing.
/// `Template` puts the command's prefix in front (Docker's CLI says
/// `Template parsing error: ` for most commands) and exits 1.
enum TemplateError {
    static func parse(_ message: String, line: Int) -> BerthError {
        BerthError(.invalidArgument, "template: :\(line): \(message)")
    }

    static func execute(_ message: String, at pos: Int, context: String, in src: [UInt8]) -> BerthError {
        let line = self.line(of: pos, in: src)
        var lineStart = 0
        for (index, byte) in src.prefix(pos).enumerated() where byte == 10 { lineStart = index + 1 }
        let column = pos - lineStart
        return BerthError(.invalidArgument, "template: :\(line):\(column): executing \"\" at <\(context)>: \(message)")
    }

    static func line(of pos: Int, in src: [UInt8]) -> Int {
        1 + src.prefix(min(pos, src.count)).filter { $0 == 10 }.count
    }
}
