/// A parsed Dockerfile, by Docker's parser rules (moby/buildkit's
/// `frontend/dockerfile/parser`): parser directives only at the very top,
/// comment lines dropped (also inside a continuation), a line ending in the
/// escape character (not itself escaped) continuing onto the next line as
/// it is, leading blanks kept, blank lines inside a continuation skipped.
/// Pure logic: no file system, so it is unit-tested directly.
public struct Dockerfile: Sendable, Equatable {
    /// The escape character (`\`, or `` ` `` from `# escape=`` ` ``).
    public var escape: Character = "\\"
    /// The `# syntax=` directive, recorded (Berth has one frontend).
    public var syntax: String?
    /// The instructions in order.
    public var instructions: [Instruction] = []
    /// `Empty continuation line found in: …` warnings, as Docker prints them.
    public var warnings: [String] = []

    /// Parses the text of a Dockerfile.
    public static func parse(_ text: String) throws(BerthError) -> Dockerfile {
        var file = Dockerfile()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        var index = 0
        try file.readDirectives(lines, &index)
        while index < lines.count {
            let start = index
            let first = lines[index].drop { $0 == " " || $0 == "\t" }
            index += 1
            if first.isEmpty || first.hasPrefix("#") { continue }
            var (text, continues) = file.continuation(String(first))
            var sawEmpty = false
            while continues && index < lines.count {
                let line = lines[index]
                index += 1
                let trimmed = line.drop { $0 == " " || $0 == "\t" }
                if trimmed.hasPrefix("#") { continue }
                if trimmed.isEmpty {
                    sawEmpty = true
                    continue
                }
                let (more, again) = file.continuation(line)
                text += more
                continues = again
            }
            if sawEmpty { file.warnings.append("[WARNING]: Empty continuation line found in:\n    \(text)") }
            let instruction = try Instruction.parse(text, line: start + 1, escape: file.escape)
            try instruction.refuseHeredoc()
            file.instructions.append(instruction)
        }
        guard !file.instructions.isEmpty else {
            throw .invalid("the Dockerfile cannot be empty; add a FROM instruction")
        }
        return file
    }

    /// `# key = value` lines at the top; the first other line ends them.
    private mutating func readDirectives(_ lines: [String], _ index: inout Int) throws(BerthError) {
        var seen = Set<String>()
        while index < lines.count, let (key, value) = Self.directive(lines[index]) {
            guard seen.insert(key).inserted else {
                throw .invalid("dockerfile parse error on line \(index + 1): only one \(key) parser directive can be used")
            }
            switch key {
            case "escape":
                guard value == "\\" || value == "`" else {
                    throw .invalid(
                        "dockerfile parse error on line \(index + 1): invalid escape token '\(value)' does not match ` or \\")
                }
                escape = Character(value)
            case "syntax": syntax = value
            default: break  // `check`: recorded by Docker for its linter; nothing to do
            }
            index += 1
        }
    }

    /// A directive line's key (lowercased) and value, or nil.
    static func directive(_ line: String) -> (String, String)? {
        let chars = Array(line)
        var i = 0
        func blanks() { while i < chars.count && (chars[i] == " " || chars[i] == "\t") { i += 1 } }
        guard chars.first == "#" else { return nil }
        i = 1
        blanks()
        let keyStart = i
        while i < chars.count && (chars[i].isLetter || chars[i].isNumber) { i += 1 }
        let key = String(chars[keyStart..<i]).lowercased()
        blanks()
        guard !key.isEmpty, i < chars.count, chars[i] == "=" else { return nil }
        i += 1
        let value = String(chars[i...]).trimmingBlanks
        guard ["syntax", "escape", "check"].contains(key), !value.isEmpty else { return nil }
        return (key, value)
    }

    /// A line without its continuation mark, and whether it continues.
    func continuation(_ line: String) -> (String, Bool) {
        var chars = Array(line)
        while let last = chars.last, last == " " || last == "\t" { chars.removeLast() }
        guard chars.last == escape else { return (line, false) }
        // An escaped escape (`x\\`) is a literal character, not a continuation.
        if chars.count >= 2 && chars[chars.count - 2] == escape { return (line, false) }
        chars.removeLast()
        return (String(chars), true)
    }
}

/// One instruction: its keyword, its `--flags` and the text after them.
public struct Instruction: Sendable, Equatable {
    /// Upper-cased keyword (`RUN`).
    public var keyword: String
    /// `--name=value` flags in order (a bare `--name` has value nil).
    public var flags: [(name: String, value: String?)]
    /// The text after the keyword and the flags.
    public var text: String
    /// The instruction as written, continuations joined (Docker's step line).
    public var original: String
    /// The line it starts on.
    public var line: Int

    public static func == (a: Instruction, b: Instruction) -> Bool {
        a.keyword == b.keyword && a.text == b.text && a.original == b.original && a.line == b.line
            && a.flags.map(\.name) == b.flags.map(\.name) && a.flags.map(\.value) == b.flags.map(\.value)
    }

    static let known: Set<String> = [
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    ]

    /// Splits an instruction line (continuations already joined).
    public static func parse(_ line: String, line number: Int, escape: Character = "\\") throws(BerthError) -> Instruction {
        let trimmed = line.trimmingBlanks
        let word = String(trimmed.prefix { $0 != " " && $0 != "\t" })
        let keyword = word.uppercased()
        guard known.contains(keyword) else {
            throw .invalid(
                "dockerfile parse error on line \(number): unknown instruction: \(word); see https://docs.docker.com/engine/reference/builder/"
            )
        }
        var rest = Substring(trimmed.dropFirst(word.count)).drop { $0 == " " || $0 == "\t" }
        var flags: [(String, String?)] = []
        // ONBUILD's flags belong to the instruction it wraps.
        while keyword != "ONBUILD", rest.hasPrefix("--") {
            let flag = rest.prefix { $0 != " " && $0 != "\t" }
            rest = rest.dropFirst(flag.count).drop { $0 == " " || $0 == "\t" }
            if flag == "--" { break }
            let body = flag.dropFirst(2)
            if let eq = body.firstIndex(of: "=") {
                flags.append((String(body[..<eq]), String(body[body.index(after: eq)...])))
            } else {
                flags.append((String(body), nil))
            }
        }
        return Instruction(
            keyword: keyword, flags: flags, text: String(rest).trimmingTrailingBlanks, original: trimmed, line: number)
    }

    /// Heredocs (`RUN <<EOF`) are BuildKit's: the classic parser would read
    /// their bodies as instructions. Refused with one clear line instead.
    func refuseHeredoc() throws(BerthError) {
        guard ["RUN", "COPY", "ADD"].contains(keyword) else { return }
        let chars = Array(text)
        var i = 0
        while i + 2 < chars.count {
            if chars[i] == "<", chars[i + 1] == "<", i == 0 || chars[i - 1] == " " || chars[i - 1].isNumber {
                var j = i + 2
                if j < chars.count, chars[j] == "-" { j += 1 }
                if j < chars.count, chars[j] == "\"" || chars[j] == "'" { j += 1 }
                if j < chars.count, chars[j].isLetter || chars[j] == "_" {
                    throw .invalid(
                        "dockerfile parse error on line \(line): heredocs (\(keyword) <<…) need BuildKit; Berth does not support them yet: write the lines in the \(keyword) with && or copy a script"
                    )
                }
            }
            i += 1
        }
    }

    /// The value of `--name`, nil if absent.
    public func flag(_ name: String) -> String? {
        flags.last { $0.name == name }.map { $0.value ?? "true" }
    }

    /// Refuses flags outside `allowed`, and repeated ones, as Docker does.
    public func checkFlags(_ allowed: [String]) throws(BerthError) {
        var seen = Set<String>()
        for f in flags {
            guard allowed.contains(f.name) else {
                throw .invalid("dockerfile parse error on line \(line): Unknown flag: \(f.name)")
            }
            guard seen.insert(f.name).inserted else {
                throw .invalid("dockerfile parse error on line \(line): Duplicate flag specified: \(f.name)")
            }
        }
    }

    /// The exec form (`["a", "b"]`) if the text is a JSON array of strings;
    /// nil for the shell form. Anything that is not valid JSON is shell form,
    /// as in Docker; an array with a non-string element is an error.
    public func execForm() throws(BerthError) -> [String]? {
        guard text.hasPrefix("[") else { return nil }
        guard let parsed = try? JSONParser.parse(text), let items = parsed.arrayValue else { return nil }
        var strings: [String] = []
        for item in items {
            guard let s = item.stringValue else {
                throw .invalid("dockerfile parse error on line \(line): \(keyword) expects a JSON array of strings")
            }
            strings.append(s)
        }
        return strings
    }

    /// COPY/ADD/VOLUME arguments: a JSON array, else words split on blanks
    /// (quotes are not honoured there, as in Docker).
    public func words() -> [String] {
        if text.hasPrefix("["), let parsed = try? JSONParser.parse(text), let items = parsed.arrayValue,
            items.allSatisfy({ $0.stringValue != nil })
        {
            return items.compactMap(\.stringValue)
        }
        return text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }

    /// ENV and LABEL pairs before expansion: `k=v` words (quotes and escapes
    /// kept for the expander), or the legacy `ENV k rest of line`.
    public func pairs(escape: Character) throws(BerthError) -> [(String, String)] {
        let words = ShellWords.splitKeepingQuotes(text, escape: escape)
        guard let first = words.first else {
            throw .invalid("dockerfile parse error on line \(line): \(keyword) requires at least one argument")
        }
        if !first.contains("=") {
            guard words.count > 1 else {
                throw .invalid("dockerfile parse error on line \(line): \(keyword) must have two arguments")
            }
            let value = text.dropFirst(first.count).drop { $0 == " " || $0 == "\t" }
            return [(first, String(value))]
        }
        var result: [(String, String)] = []
        for word in words {
            guard let eq = word.firstIndex(of: "="), eq != word.startIndex else {
                throw .invalid(
                    "dockerfile parse error on line \(line): \(keyword) names can not be blank; write \(keyword) KEY=VALUE")
            }
            result.append((String(word[..<eq]), String(word[word.index(after: eq)...])))
        }
        return result
    }
}

extension String {
    var trimmingBlanks: String {
        String(drop { $0 == " " || $0 == "\t" }).trimmingTrailingBlanks
    }

    var trimmingTrailingBlanks: String {
        var s = Substring(self)
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
