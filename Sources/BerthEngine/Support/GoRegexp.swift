/// A regular expression in Go's RE2 syntax that answers only "does it match
/// somewhere in this string", in time linear in the string (a Thompson NFA
/// run as a Pike VM, without captures).
///
/// Docker's filters (`ps --filter name=`, `volume ls --filter name=`) are Go
/// `regexp.MatchString` calls, which never backtrack. Swift's `Regex` does,
/// so `^(a|a)*$` against a 31-character name ran for more than 20 seconds;
/// here every pattern costs at most (pattern size × name length) steps.
/// For a yes/no answer greedy and non-greedy quantifiers mean the same, and
/// there are no captures to report, so neither is modelled.
///
/// The syntax is Go's: literals, `.`, `[…]` with ranges, negation, escapes
/// and `[:alpha:]`-style classes, `\d \D \s \S \w \W` (ASCII, as Go's),
/// `\pL`/`\p{Lu}`/`\PN` (Unicode general categories; scripts such as
/// `\p{Greek}` are refused), `\Q…\E`, `\a \f \t \n \r \v \x7F \x{10FFFF}`
/// and octal `\0`…, anchors `^ $ \A \z \b \B`, groups `( )`, `(?: )`,
/// `(?P<name> )`, `(?<name> )`, flags `(?imsU)`, `(?i: )`, `(?-i)`,
/// alternation and `* + ? {n} {n,} {n,m}` with an optional `?`. Errors are
/// Go's wording: `error parsing regexp: missing closing ): `(``.
public struct GoRegexp: Sendable {
    /// Go's bound on `{n,m}`.
    static let maxRepeat = 1000
    /// Compiled programs larger than this are refused, as Go refuses
    /// patterns whose expansion is too large (`(a{1000}){1000}`).
    static let maxProgram = 20_000
    /// Groups nested deeper than this are refused (Go's limit is 1000).
    static let maxDepth = 1000

    let program: [RegexInstruction]

    /// Compiles `pattern`, or throws Go's message (without the
    /// `error parsing regexp: ` prefix, which `description` adds).
    public init(_ pattern: String) throws(GoRegexpError) {
        var parser = GoRegexpParser(pattern)
        let node = try parser.parseAll()
        var compiler = GoRegexpCompiler(pattern: pattern)
        try compiler.emit(node)
        compiler.program.append(.match)
        program = compiler.program
    }

    /// Whether the expression matches anywhere in `text` (Go's `MatchString`).
    public func matches(_ text: String) -> Bool {
        let input = Array(text.unicodeScalars)
        var current = RegexThreads(count: program.count)
        var next = RegexThreads(count: program.count)
        var stack: [Int] = []
        for i in 0...input.count {
            let prev = i > 0 ? input[i - 1] : nil
            let here = i < input.count ? input[i] : nil
            // An unanchored search: a new thread starts at every position.
            if addThread(0, to: &current, prev: prev, next: here, at: i, stack: &stack) { return true }
            guard let c = here else { break }
            next.clear()
            for pc in current.dense {
                if case .consume(let m) = program[pc], m.matches(c) {
                    if addThread(
                        pc + 1, to: &next, prev: c, next: i + 1 < input.count ? input[i + 1] : nil, at: i + 1, stack: &stack)
                    {
                        return true
                    }
                }
            }
            swap(&current, &next)
        }
        return false
    }

    /// Follows splits, jumps and assertions from `pc` at one position;
    /// answers whether `.match` was reached.
    private func addThread(
        _ start: Int, to list: inout RegexThreads, prev: Unicode.Scalar?, next: Unicode.Scalar?, at: Int, stack: inout [Int]
    ) -> Bool {
        stack.removeAll(keepingCapacity: true)
        stack.append(start)
        while let pc = stack.popLast() {
            guard list.insert(pc) else { continue }
            switch program[pc] {
            case .match: return true
            case .jump(let to): stack.append(to)
            case .split(let a, let b):
                stack.append(b)
                stack.append(a)
            case .assert(let kind): if kind.holds(prev: prev, next: next) { stack.append(pc + 1) }
            case .consume: break
            }
        }
        return false
    }
}

/// A sparse set of program counters, cleared in constant time.
struct RegexThreads {
    var dense: [Int] = []
    var sparse: [Int]

    init(count: Int) { sparse = Array(repeating: 0, count: count) }

    mutating func clear() { dense.removeAll(keepingCapacity: true) }

    /// Adds `pc`; false when it was already there.
    mutating func insert(_ pc: Int) -> Bool {
        let i = sparse[pc]
        if i < dense.count && dense[i] == pc { return false }
        sparse[pc] = dense.count
        dense.append(pc)
        return true
    }
}

/// Go's parse error: the error code and the fragment it concerns.
public struct GoRegexpError: Error, Sendable, CustomStringConvertible {
    public let code: String
    public let fragment: String
    /// `error parsing regexp: CODE: `FRAGMENT``, as Go's `regexp.Compile`.
    public var description: String { "error parsing regexp: \(code): `\(fragment)`" }
}

enum RegexInstruction: Sendable {
    case consume(RegexScalar)
    case split(Int, Int)
    case jump(Int)
    case assert(RegexAssertion)
    case match
}

enum RegexAssertion: Sendable {
    case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary

    func holds(prev: Unicode.Scalar?, next: Unicode.Scalar?) -> Bool {
        switch self {
        case .beginText: return prev == nil
        case .endText: return next == nil
        case .beginLine: return prev == nil || prev == "\n"
        case .endLine: return next == nil || next == "\n"
        case .wordBoundary: return Self.isWord(prev) != Self.isWord(next)
        case .notWordBoundary: return Self.isWord(prev) == Self.isWord(next)
        }
    }

    /// Go's `\b` is ASCII: `[0-9A-Za-z_]`.
    static func isWord(_ c: Unicode.Scalar?) -> Bool {
        guard let c else { return false }
        return RegexCharClass.word.contains(c.value)
    }
}

/// What one input character must be.
struct RegexScalar: Sendable {
    var cls: RegexCharClass
    var negated = false
    var foldCase = false

    func matches(_ c: Unicode.Scalar) -> Bool {
        var hit = cls.contains(c.value)
        if !hit && foldCase {
            hit = Self.caseVariants(c).contains { cls.contains($0.value) }
        }
        return hit != negated
    }

    /// The other cases of `c` that are single scalars (Go's simple folding).
    static func caseVariants(_ c: Unicode.Scalar) -> [Unicode.Scalar] {
        if c.isASCII {
            let v = c.value
            if v >= 0x41 && v <= 0x5A { return [Unicode.Scalar(v + 32)!] }
            if v >= 0x61 && v <= 0x7A { return [Unicode.Scalar(v - 32)!] }
            return []
        }
        let p = c.properties
        return [p.lowercaseMapping, p.uppercaseMapping, p.titlecaseMapping].compactMap { s in
            let scalars = Array(s.unicodeScalars)
            return scalars.count == 1 && scalars[0] != c ? scalars[0] : nil
        }
    }
}

/// A set of code points: ranges, plus Unicode general categories.
struct RegexCharClass: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    var categories: [(Set<Unicode.GeneralCategory>, Bool)] = []  // (categories, negated)

    static let digit = RegexCharClass(ranges: [0x30...0x39])
    static let space = RegexCharClass(ranges: [0x09...0x0A, 0x0C...0x0D, 0x20...0x20])
    static let word = RegexCharClass(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    static let all = RegexCharClass(ranges: [0...0x10FFFF])
    static let notNewline = RegexCharClass(ranges: [0...0x09, 0x0B...0x10FFFF])

    func contains(_ v: UInt32) -> Bool {
        if ranges.contains(where: { $0.contains(v) }) { return true }
        guard !categories.isEmpty, let s = Unicode.Scalar(v) else { return false }
        let cat = s.properties.generalCategory
        return categories.contains { set, negated in set.contains(cat) != negated }
    }

    /// The complement within 0…0x10FFFF of a class made of ranges only
    /// (`\D`, `\S`, `\W`, `[:^alpha:]`; `\P…` is a negated category instead).
    func inverted() -> RegexCharClass {
        var out = RegexCharClass()
        var start: UInt32 = 0
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if r.lowerBound > start { out.ranges.append(start...(r.lowerBound - 1)) }
            start = max(start, r.upperBound &+ 1)
        }
        if start <= 0x10FFFF { out.ranges.append(start...0x10FFFF) }
        return out
    }

    mutating func formUnion(_ other: RegexCharClass) {
        ranges += other.ranges
        categories += other.categories
    }
}
