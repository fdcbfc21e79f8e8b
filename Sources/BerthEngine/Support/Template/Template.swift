/// A Go template as Docker's `--format` and `inspect -f` use them: the
/// text/template language (actions, `if`/`else if`/`with`/`range`, variables,
/// pipelines, `{{-`/`-}}` trimming, comments) with Go's builtin functions and
/// Docker's (`json`, `split`, `join`, `title`, `lower`, `upper`, `pad`,
/// `truncate`). See docs/formatting.md.
public struct Template: Sendable {
    /// How a command reads its format string.
    public enum Style: Sendable {
        /// `ps`, `images`, `network ls`, `volume ls`, `stats`: Docker's
        /// formatter strips a `table` prefix, trims spaces and turns the
        /// two-character escapes `\t` and `\n` into tabs and newlines.
        case listing
        /// `inspect -f`, `events --format`: the text as given.
        case plain
    }

    /// Whether the format began with `table` (print a header row).
    public let isTable: Bool
    private let nodes: [TemplateNode]
    private let source: [UInt8]

    /// What error messages start with (Docker's CLI: `Template parsing error: `
    /// for listings and inspect, nothing for events).
    public let errorPrefix: String

    /// Parses a format; errors read as Docker's (`Template parsing error:
    /// template: :1: function "foo" not defined`) and exit 1. The keyword
    /// `json` means `{{json .}}`.
    public init(
        _ format: String, style: Style = .listing,
        errorPrefix: String = "Template parsing error: "
    ) throws(BerthError) {
        self.errorPrefix = errorPrefix
        var text = format == "json" ? "{{json .}}" : format
        isTable = style == .listing && text.hasPrefix("table")
        if style == .listing {
            if isTable { text = String(text.dropFirst(5)) }
            // strings.Trim(format, " "): spaces only, not tabs.
            text = String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
            text = text.replacingAll("\\t", "\t").replacingAll("\\n", "\n")
        }
        source = Array(text.utf8)
        do {
            nodes = try TemplateParser.parse(text, functions: TemplateFunctions.names)
        } catch {
            throw BerthError(.invalidArgument, errorPrefix + error.message)
        }
    }

    /// Renders the template against a value; `errorPrefix` overrides the
    /// one given at parse time.
    public func render(_ value: TemplateValue, errorPrefix: String? = nil) throws(BerthError) -> String {
        var evaluator = TemplateEvaluator(src: source, functions: TemplateFunctions(), root: value)
        do {
            try evaluator.run(nodes, dot: value)
        } catch {
            throw BerthError(.invalidArgument, (errorPrefix ?? self.errorPrefix) + error.message)
        }
        return evaluator.output
    }

    /// Whether a `.Name` operand anywhere reads the field (`ps` computes
    /// sizes only when the format shows `{{.Size}}`, as Docker does).
    public func uses(field: String) -> Bool { fieldNames(nodes).contains(field) }

    /// Renders against a JSON document as `inspect` does: objects are maps
    /// where an unknown key is an error, and `.ID` also reads `Id`.
    public func render(_ json: JSON) throws(BerthError) -> String {
        try render(TemplateValue(json))
    }

    /// Every row rendered, one per line. A `table` format gets its header
    /// (the template run over the column titles, with Docker's functions
    /// passing titles through) and its tab-separated cells aligned in
    /// columns as Docker's tabwriter does; other formats keep their tabs.
    public func renderAll(_ rows: [TemplateValue], titles: [String: String]) throws(BerthError) -> String {
        var out = ""
        for r in rows { out += try render(r) + "\n" }
        guard isTable else { return out }
        var lines = [header(titles: titles)]
        lines += out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        return Table.align(tabbed: lines)
    }

    /// The header row for `table` formats: `{{.ID}}` becomes its column title
    /// (`CONTAINER ID` via `titles`), a field without a title its name in capitals.
    public func header(titles: [String: String]) -> String {
        var members = titles.map { ($0.key, TemplateValue.string($0.value)) }
        for name in fieldNames(nodes) where titles[name] == nil { members.append((name, .string(name.uppercased()))) }
        let value = TemplateValue.map(members, strict: false)
        var evaluator = TemplateEvaluator(src: source, functions: TemplateFunctions(header: true), root: value)
        // Docker ignores errors here: the header is whatever was written.
        try? evaluator.run(nodes, dot: value)
        return evaluator.output
    }

    /// The first field names used by `.Name` operands, for header titles.
    private func fieldNames(_ nodes: [TemplateNode]) -> [String] {
        var names: [String] = []
        func visit(_ pipe: TemplatePipe) {
            for cmd in pipe.commands {
                for arg in cmd.args {
                    if case .field(let chain) = arg.kind { names.append(chain[0]) }
                    if case .pipe(let inner, _) = arg.kind { visit(inner) }
                }
            }
        }
        for node in nodes {
            switch node {
            case .action(let pipe): visit(pipe)
            case .branch(_, let pipe, let body, let otherwise):
                visit(pipe)
                names += fieldNames(body) + fieldNames(otherwise ?? [])
            default: break
            }
        }
        return names
    }
}

extension String {
    /// Replaces every occurrence of `target`.
    public func replacingAll(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }

    /// The string without leading and trailing spaces and tabs.
    /// By UTF-8 index: the reversed views of the obvious version are generic
    /// types the runtime builds from their mangled names on first use.
    public var trimmingSpaces: String {
        let bytes = utf8
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start = bytes.index(after: start) }
        while start < end {
            let last = bytes.index(before: end)
            guard bytes[last] == 0x20 || bytes[last] == 0x09 else { break }
            end = last
        }
        return String(self[start..<end])
    }
}
