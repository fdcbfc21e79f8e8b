/// A subset of Go templates as Docker's `--format` and `inspect -f` use them:
/// `{{.Field.Sub}}`, `{{json .Field}}`, `{{upper .X}}`, `{{lower .X}}`,
/// `{{join .List ","}}`, `\t` and `\n` escapes, and the `table` prefix.
public struct Template: Sendable {
    private enum Piece: Sendable { case text(String), action([String]) }
    private let pieces: [Piece]
    /// Whether the format began with `table` (print a header row).
    public let isTable: Bool

    /// Parses a format string; an unterminated `{{` is an error naming it.
    public init(_ format: String) throws(BerthError) {
        var text = format
        isTable = text.hasPrefix("table")
        if isTable { text = String(text.dropFirst(5)).drop { $0 == " " }.description }
        text = text.replacingAll("\\t", "\t").replacingAll("\\n", "\n")
        var pieces: [Piece] = []
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{") {
            if open.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw BerthError("template: unclosed action in \"\(format)\"; close it with }}")
            }
            let words = Template.words(String(rest[open.upperBound..<close.lowerBound]))
            pieces.append(.action(words))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.text(String(rest))) }
        self.pieces = pieces
    }

    /// Renders the template against a value.
    public func render(_ value: JSON) throws(BerthError) -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .text(let t): out += t
            case .action(let words): out += try evaluate(words, value)
            }
        }
        return out
    }

    /// Every row rendered, one per line. A `table` format gets its header
    /// and its tab-separated cells aligned in columns, as Docker's tabwriter
    /// does; other formats keep their tabs as they are.
    public func renderAll(_ rows: [JSON], titles: [String: String]) throws(BerthError) -> String {
        var lines: [String] = []
        for r in rows { lines.append(try render(r)) }
        guard isTable else { return lines.map { $0 + "\n" }.joined() }
        return Table.align(tabbed: [header(titles: titles)] + lines)
    }

    /// The header row for `table` formats: each `{{.Field}}` becomes its
    /// Docker column title (`.ID` → `CONTAINER ID` via `titles`).
    public func header(titles: [String: String]) -> String {
        pieces.map { piece -> String in
            switch piece {
            case .text(let t): return t
            case .action(let words):
                let field = words.last.map { String($0.dropFirst()) } ?? ""
                return titles[field] ?? field.uppercased()
            }
        }.joined()
    }

    private func evaluate(_ words: [String], _ value: JSON) throws(BerthError) -> String {
        guard let first = words.first else { return "" }
        switch first {
        case "json": return lookup(words.dropFirst().first ?? ".", value)?.compact ?? "null"
        case "upper": return plain(lookup(words.dropFirst().first ?? ".", value)).uppercased()
        case "lower": return plain(lookup(words.dropFirst().first ?? ".", value)).lowercased()
        case "join":
            let list = lookup(words.dropFirst().first ?? ".", value)?.arrayValue ?? []
            let sep = words.count > 2 ? words[2] : " "
            return list.map { plain($0) }.joined(separator: sep)
        default:
            guard first.hasPrefix(".") else {
                throw BerthError("template: function \"\(first)\" not defined; use .Field, json, upper, lower or join")
            }
            return plain(lookup(first, value))
        }
    }

    private func lookup(_ path: String, _ value: JSON) -> JSON? {
        var current: JSON? = value
        for key in path.split(separator: ".") { current = current?[String(key)] }
        return current
    }

    /// How Go prints a value with `{{.X}}`: strings bare, lists as `[a b]`, maps as `map[k:v]`.
    private func plain(_ value: JSON?) -> String {
        switch value {
        case nil, .null?: return "<no value>"
        case .string(let s)?: return s
        case .bool(let b)?: return b ? "true" : "false"
        case .number(let n)?: return JSON.format(n)
        case .array(let items)?: return "[" + items.map { plain($0) }.joined(separator: " ") + "]"
        case .object(let members)?: return "map[" + members.map { "\($0.0):\(plain($0.1))" }.joined(separator: " ") + "]"
        }
    }

    private static func words(_ action: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        for c in action.trimmingSpaces {
            if c == "\"" { quoted.toggle(); continue }
            if c == " " && !quoted {
                if !current.isEmpty { words.append(current); current = "" }
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}

extension String {
    /// Replaces every occurrence of `target`.
    public func replacingAll(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }

    /// The string without leading and trailing spaces and tabs.
    public var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
