/// `.dockerignore` with Docker's rules (moby/patternmatcher): patterns are
/// anchored at the context root and cleaned like Go's `filepath.Clean`; `*`
/// and `?` never match `/`; `**` matches any number of directories; a path
/// is excluded when it or any parent matches; `!` makes an exception; the
/// last matching pattern wins.
public struct IgnorePatterns: Sendable {
    struct Pattern: Sendable {
        var glob: [Character]
        var exception: Bool
    }

    var patterns: [Pattern] = []

    /// Whether any pattern is an exception: then an excluded directory must
    /// still be walked, since something under it may be let back in.
    public var hasExceptions: Bool { patterns.contains { $0.exception } }

    public var isEmpty: Bool { patterns.isEmpty }

    public init() {}

    /// Reads the text of a `.dockerignore`.
    public init(parsing text: String) throws(BerthError) {
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if raw.hasPrefix("#") { continue }  // only a `#` in column 1 is a comment
            var line = String(raw).trimmingBlanks
            if line.hasSuffix("\r") { line = String(line.dropLast()).trimmingBlanks }
            guard !line.isEmpty else { continue }
            var exception = false
            if line.hasPrefix("!") {
                exception = true
                line = String(line.dropFirst()).trimmingBlanks
                guard !line.isEmpty else {
                    throw .invalid("error reading .dockerignore: illegal exclusion pattern: \"!\"")
                }
            }
            var cleaned = Self.clean(line)
            if cleaned.hasPrefix("/") { cleaned = String(cleaned.dropFirst()) }
            if cleaned.isEmpty || cleaned == "." { continue }
            patterns.append(Pattern(glob: Array(cleaned), exception: exception))
        }
    }

    /// Adds an exception for a path (the Dockerfile and `.dockerignore`
    /// are always sent, as Docker's CLI does).
    mutating func keep(_ path: String) {
        patterns.append(Pattern(glob: Array(path), exception: true))
    }

    /// Whether `path` (relative to the context root, no leading `/`) is excluded.
    public func excludes(_ path: String) -> Bool {
        guard !patterns.isEmpty else { return false }
        let parents = Self.parents(of: path)
        var excluded = false
        for p in patterns {
            var matched = Glob.match(p.glob, Array(path))
            if !matched { matched = parents.contains { Glob.match(p.glob, Array($0)) } }
            if matched { excluded = !p.exception }
        }
        return excluded
    }

    static func parents(of path: String) -> [String] {
        var result: [String] = []
        var current = ""
        let parts = path.split(separator: "/")
        for part in parts.dropLast() {
            current = current.isEmpty ? String(part) : current + "/" + part
            result.append(current)
        }
        return result
    }

    /// Go's `filepath.Clean` for relative and absolute slash paths.
    static func clean(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var out: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if let last = out.last, last != ".." {
                    out.removeLast()
                } else if !absolute {
                    out.append(part)
                }
                continue
            }
            out.append(part)
        }
        let joined = out.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}

/// Shell-style globs: `*` and `?` stop at `/`, `[...]` classes, the escape
/// `\`, and `**` crossing directories (`**/` also matches nothing).
enum Glob {
    static func hasMeta(_ s: String) -> Bool { s.contains { "*?[\\".contains($0) } }

    static func match(_ pattern: String, _ name: String) -> Bool { match(Array(pattern), Array(name)) }

    static func match(_ p: [Character], _ s: [Character]) -> Bool { match(p, 0, s, 0) }

    private static func match(_ p: [Character], _ pi: Int, _ s: [Character], _ si: Int) -> Bool {
        var pi = pi
        var si = si
        while pi < p.count {
            let c = p[pi]
            if c == "*" {
                if pi + 1 < p.count, p[pi + 1] == "*" {
                    // `**/` matches nothing or any run ending in `/`; `**` anything.
                    var rest = pi + 2
                    if rest < p.count, p[rest] == "/" {
                        rest += 1
                        if match(p, rest, s, si) { return true }
                        var k = si
                        while k < s.count {
                            if s[k] == "/", match(p, rest, s, k + 1) { return true }
                            k += 1
                        }
                        return false
                    }
                    for k in si...s.count where match(p, rest, s, k) { return true }
                    return false
                }
                var k = si
                while true {
                    if match(p, pi + 1, s, k) { return true }
                    if k >= s.count || s[k] == "/" { return false }
                    k += 1
                }
            }
            guard si < s.count else { return false }
            switch c {
            case "?":
                if s[si] == "/" { return false }
            case "[":
                guard let (matched, next) = matchClass(p, pi + 1, s[si]) else { return false }
                if !matched { return false }
                pi = next
                si += 1
                continue
            case "\\":
                pi += 1
                guard pi < p.count, p[pi] == s[si] else { return false }
            default:
                if c != s[si] { return false }
            }
            pi += 1
            si += 1
        }
        return si == s.count
    }

    /// `[abc]`, `[^a-z]`: whether `ch` matches, and the index after `]`.
    private static func matchClass(_ p: [Character], _ start: Int, _ ch: Character) -> (Bool, Int)? {
        var i = start
        var negate = false
        if i < p.count, p[i] == "^" || p[i] == "!" {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < p.count {
            if p[i] == "]" && !first { return (matched != negate, i + 1) }
            first = false
            var lo = p[i]
            if lo == "\\", i + 1 < p.count {
                i += 1
                lo = p[i]
            }
            var hi = lo
            if i + 2 < p.count, p[i + 1] == "-", p[i + 2] != "]" {
                hi = p[i + 2]
                i += 2
            }
            if ch >= lo && ch <= hi && ch != "/" { matched = true }
            i += 1
        }
        return nil
    }
}
