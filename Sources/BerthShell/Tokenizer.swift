import BerthCore

/// Shell-like word splitting for REPL lines and script lines: whitespace
/// separates words; `'…'` is literal; `"…"` honours `\"`, `\\` and `\$`;
/// a backslash outside quotes takes the next character literally (and a
/// backslash before a newline joins lines); `#` at the start of a word begins
/// a comment. Completion uses it to find the word under the cursor and to
/// escape candidates; statements are parsed by `ScriptParser`.
public enum Tokenizer {
    /// The kinds of quote a word can be left open in.
    public enum Quote: Character, Sendable {
        case single = "'"
        case double = "\""
    }

    /// What the completer needs to know about a line cut at the cursor.
    public struct Partial: Sendable, Equatable {
        /// The complete words before the current one.
        public var words: [String]
        /// The current word's text with quotes and escapes removed ("" when the
        /// cursor follows whitespace).
        public var current: String
        /// Where the current word starts, as a UTF-8 byte offset into the line
        /// (the line's length when no word has started).
        public var currentStart: Int
        /// The quote the cursor is inside, if any.
        public var openQuote: Quote?
        /// Whether the cursor is inside a comment (nothing to complete).
        public var inComment: Bool
    }

    /// Splits a complete line into words. `line` and `column` in errors are
    /// 1-based; `firstLine` is the number of the text's first line (scripts
    /// pass the line a continued command starts on).
    public static func split(_ text: String, firstLine: Int = 1) throws(BerthError) -> [String] {
        let scan = Scanner(text, firstLine: firstLine)
        if let quote = scan.openQuote {
            let kind = quote.kind == .double ? "double" : "single"
            throw BerthError.usage("unterminated \(kind) quote at \(quote.line):\(quote.column)")
        }
        return scan.words.map(\.text)
    }

    /// Describes a line cut at the cursor, for completion. Never fails: an
    /// open quote is reported, not thrown.
    public static func partial(_ textBeforeCursor: String) -> Partial {
        let scan = Scanner(textBeforeCursor, firstLine: 1)
        var words = scan.words
        var current = ""
        var start = textBeforeCursor.utf8.count
        if scan.wordOpen, let last = words.popLast() {
            current = last.text
            start = last.start
        }
        return Partial(
            words: words.map(\.text), current: current, currentStart: start,
            openQuote: scan.openQuote?.kind, inComment: scan.inComment)
    }

    /// Quotes a word for insertion on a line so that it splits back to itself:
    /// inside an open quote only what that quote needs, outside it backslashes.
    public static func escape(_ word: String, inside quote: Quote?) -> String {
        var out = ""
        for ch in word {
            switch quote {
            case .single?:
                // A single quote cannot appear inside single quotes: close,
                // escape, reopen.
                out += ch == "'" ? "'\\''" : String(ch)
            case .double?:
                if ch == "\"" || ch == "\\" || ch == "$" { out.append("\\") }
                out.append(ch)
            case nil:
                if " \t\n'\"\\#$&;|<>()*?[]{}`!".contains(ch) { out.append("\\") }
                out.append(ch)
            }
        }
        return out
    }
}

/// One pass over the text; records words and the state at the end.
private struct Scanner {
    struct Word { var text: String; var start: Int }
    struct OpenQuote { var kind: Tokenizer.Quote; var line: Int; var column: Int }

    var words: [Word] = []
    /// Whether the last word was still being read when the text ended.
    var wordOpen = false
    var openQuote: OpenQuote?
    var inComment = false

    init(_ text: String, firstLine: Int) {
        let scalars = Array(text.unicodeScalars)
        var offsets: [Int] = []  // UTF-8 offset of each scalar
        offsets.reserveCapacity(scalars.count)
        var offset = 0
        for s in scalars { offsets.append(offset); offset += UTF8.width(s) }

        var line = firstLine, column = 1
        var word = ""
        var inWord = false
        var wordStart = 0
        var quote: OpenQuote?
        var i = 0

        func advance(_ s: Unicode.Scalar) {
            if s == "\n" { line += 1; column = 1 } else { column += 1 }
        }

        while i < scalars.count {
            let s = scalars[i]
            if inComment {
                if s == "\n" { inComment = false }
                advance(s); i += 1
                continue
            }
            if let q = quote {
                if q.kind == .single {
                    if s == "'" { quote = nil } else { word.unicodeScalars.append(s) }
                } else if s == "\"" {
                    quote = nil
                } else if s == "\\" && i + 1 < scalars.count {
                    let next = scalars[i + 1]
                    if next == "\"" || next == "\\" || next == "$" {
                        word.unicodeScalars.append(next)
                        advance(s); i += 1
                        advance(next); i += 1
                        continue
                    }
                    if next == "\n" {  // line continuation inside double quotes
                        advance(s); i += 1
                        advance(next); i += 1
                        continue
                    }
                    word.unicodeScalars.append(s)
                } else if s == "\\" {
                    // A trailing backslash inside quotes at the cursor: keep waiting.
                } else {
                    word.unicodeScalars.append(s)
                }
                advance(s); i += 1
                continue
            }
            switch s {
            case " ", "\t", "\n", "\r":
                if inWord { words.append(Word(text: word, start: wordStart)); word = ""; inWord = false }
            case "\\":
                if i + 1 < scalars.count {
                    let next = scalars[i + 1]
                    advance(s); i += 1
                    advance(next); i += 1
                    if next == "\n" { continue }  // joins lines
                    if !inWord { inWord = true; wordStart = offsets[i - 2] }
                    word.unicodeScalars.append(next)
                    continue
                }
                // A trailing backslash: the word starts but has no text yet.
                if !inWord { inWord = true; wordStart = offsets[i] }
            case "#" where !inWord:
                inComment = true
            case "'", "\"":
                if !inWord { inWord = true; wordStart = offsets[i] }
                quote = OpenQuote(kind: s == "'" ? .single : .double, line: line, column: column)
            default:
                if !inWord { inWord = true; wordStart = offsets[i] }
                word.unicodeScalars.append(s)
            }
            advance(s); i += 1
        }
        if inWord {
            words.append(Word(text: word, start: wordStart))
            wordOpen = true
        }
        openQuote = quote
    }
}
