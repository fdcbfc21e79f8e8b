/// A place in script text, both 1-based.
public struct SourcePosition: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// A script that does not parse: what is wrong and where. `incomplete` means
/// the text simply ended too early (an open quote, block, `$(`, a trailing
/// `\` or `&&`), so the REPL asks for another line instead of failing.
public struct ScriptSyntaxError: Error, Sendable, Equatable {
    public var message: String
    public var position: SourcePosition
    public var incomplete: Bool

    public init(_ message: String, at position: SourcePosition, incomplete: Bool = false) {
        self.message = message
        self.position = position
        self.incomplete = incomplete
    }

    /// `FILE:LINE:COL: error: MESSAGE`.
    public func rendered(file: String) -> String {
        "\(file):\(position.line):\(position.column): error: \(message)"
    }
}

/// What the lexer hands the parser.
struct Token: Sendable {
    enum Kind: Sendable {
        case word(RawWord)
        case newline, semicolon, and, or, leftBrace, rightBrace, end
    }

    var kind: Kind
    var position: SourcePosition

    var isEnd: Bool { if case .end = kind { return true } else { return false } }

    /// The word's text when it is one unquoted literal (keywords, names).
    var bareWord: String? {
        guard case .word(let word) = kind else { return nil }
        return word.bareText
    }
}

/// A word as lexed: `$(…)` still holds tokens, which the parser parses.
struct RawWord: Sendable {
    enum Segment: Sendable {
        case text(String, quoted: Bool)
        case variable(String, quoted: Bool)
        case capture([Token], quoted: Bool, position: SourcePosition)
    }

    var segments: [Segment]
    var position: SourcePosition

    /// The text of a word made only of unquoted literal text.
    var bareText: String? {
        var out = ""
        for segment in segments {
            guard case .text(let text, quoted: false) = segment else { return nil }
            out += text
        }
        return out
    }
}
