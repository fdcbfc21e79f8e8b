/// The parsed form of a script: statements in blocks.
public struct ScriptBlock: Sendable {
    var statements: [ScriptStatement]
}

/// A word after parsing: literal text, variables and captures, each
/// remembering whether it was inside double quotes (no word splitting).
struct ScriptWord: Sendable {
    enum Segment: Sendable {
        case text(String, quoted: Bool)
        case variable(String, quoted: Bool)
        case capture(ScriptBlock, quoted: Bool)
    }

    var segments: [Segment]
    var position: SourcePosition
}

/// One command with its words, as written at the CLI, maybe `!`-negated or
/// guarded with `try`.
struct SimpleCommand: Sendable {
    var words: [ScriptWord]
    var negated: Bool
    var tried: Bool
    var position: SourcePosition
}

/// `a && b || c`: commands joined by `&&`/`||`, evaluated left to right.
struct AndOrList: Sendable {
    enum Operator: Sendable { case and, or }
    var first: SimpleCommand
    var rest: [(Operator, SimpleCommand)]
    var position: SourcePosition { first.position }
}

/// `fn name(a, b) { … }`.
struct FunctionDefinition: Sendable {
    var name: String
    /// nil: no parameter list, any number of arguments.
    var parameters: [String]?
    var body: ScriptBlock
    var position: SourcePosition
}

indirect enum ScriptStatement: Sendable {
    case run(AndOrList)
    case assign(name: String, value: [ScriptWord], isList: Bool, position: SourcePosition)
    case ifElse(condition: AndOrList, then: ScriptBlock, otherwise: ScriptBlock?, position: SourcePosition)
    case forIn(variable: String, items: [ScriptWord], body: ScriptBlock, position: SourcePosition)
    case whileLoop(condition: AndOrList, body: ScriptBlock, position: SourcePosition)
    case function(FunctionDefinition)

    var position: SourcePosition {
        switch self {
        case .run(let list): return list.position
        case .assign(_, _, _, let p), .ifElse(_, _, _, let p), .forIn(_, _, _, let p), .whileLoop(_, _, let p):
            return p
        case .function(let def): return def.position
        }
    }
}
