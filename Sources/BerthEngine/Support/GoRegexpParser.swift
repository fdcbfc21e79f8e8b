/// The parsed expression: what `GoRegexpCompiler` turns into a program.
indirect enum RegexNode {
    case empty
    case chars(RegexScalar)
    case assert(RegexAssertion)
    case concat([RegexNode])
    case alt([RegexNode])
    case rep(RegexNode, min: Int, max: Int?)
}

/// Go's RE2 syntax, parsed by recursive descent with Go's flags (`i`, `m`,
/// `s`, `U`) scoped to the enclosing group, and Go's error codes.
struct GoRegexpParser {
    private let s: [Unicode.Scalar]
    private let pattern: String
    private var i = 0
    private var foldCase = false, multiLine = false, dotNL = false

    init(_ pattern: String) {
        self.pattern = pattern
        s = Array(pattern.unicodeScalars)
    }

    mutating func parseAll() throws(GoRegexpError) -> RegexNode {
        let node = try parseAlternation(depth: 0)
        if i < s.count { throw fail("unexpected )", pattern) }  // only a `)` stops the top level early
        return node
    }

    private func fail(_ code: String, _ fragment: String) -> GoRegexpError {
        GoRegexpError(code: code, fragment: fragment)
    }

    private func text(_ from: Int, _ to: Int) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s[max(0, from)..<min(to, s.count)])
        return String(out)
    }

    private var peek: Unicode.Scalar? { i < s.count ? s[i] : nil }

    private mutating func parseAlternation(depth: Int) throws(GoRegexpError) -> RegexNode {
        guard depth <= GoRegexp.maxDepth else { throw fail("expression nests too deeply", pattern) }
        let saved = (foldCase, multiLine, dotNL)
        defer { (foldCase, multiLine, dotNL) = saved }  // `(?i)` ends with its group
        var branches = [try parseConcatenation(depth: depth)]
        while peek == "|" {
            i += 1
            branches.append(try parseConcatenation(depth: depth))
        }
        return branches.count == 1 ? branches[0] : .alt(branches)
    }

    private mutating func parseConcatenation(depth: Int) throws(GoRegexpError) -> RegexNode {
        var items: [RegexNode] = []
        var lastRepeat: Int?  // where the previous item's repetition operator began
        while let c = peek, c != "|", c != ")" {
            let start = i
            if let repetition = try parseRepetition() {
                let (lo, hi) = repetition
                guard let last = items.popLast() else {
                    throw fail("missing argument to repetition operator", text(start, i))
                }
                if let prior = lastRepeat { throw fail("invalid nested repetition operator", text(prior, i)) }
                if peek == "?" { i += 1 }  // non-greedy: the same yes/no answer
                items.append(.rep(last, min: lo, max: hi))
                lastRepeat = start
                continue
            }
            lastRepeat = nil
            switch c {
            case "(":
                if let node = try parseGroup(depth: depth) { items.append(node) }
            case "[": items.append(.chars(try parseClass()))
            case ".":
                i += 1
                items.append(.chars(RegexScalar(cls: dotNL ? .all : .notNewline)))
            case "^":
                i += 1
                items.append(.assert(multiLine ? .beginLine : .beginText))
            case "$":
                i += 1
                items.append(.assert(multiLine ? .endLine : .endText))
            case "\\":
                if peekAhead(1) == "Q" {
                    i += 2
                    while i < s.count {
                        if s[i] == "\\" && peekAhead(1) == "E" { i += 2; break }
                        items.append(literal(s[i].value))
                        i += 1
                    }
                } else {
                    items.append(try parseEscape())
                }
            default:
                i += 1
                items.append(literal(c.value))
            }
        }
        return items.isEmpty ? .empty : items.count == 1 ? items[0] : .concat(items)
    }

    private func peekAhead(_ n: Int) -> Unicode.Scalar? { i + n < s.count ? s[i + n] : nil }

    private func literal(_ v: UInt32) -> RegexNode {
        .chars(RegexScalar(cls: RegexCharClass(ranges: [v...v]), foldCase: foldCase))
    }

    /// `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` at the cursor, consumed; nil
    /// when there is none (a `{` that is not a repetition is a literal, as Go's).
    private mutating func parseRepetition() throws(GoRegexpError) -> (Int, Int?)? {
        switch peek {
        case "*": i += 1; return (0, nil)
        case "+": i += 1; return (1, nil)
        case "?": i += 1; return (0, 1)
        case "{":
            var j = i + 1
            func number() -> Int? {
                let from = j
                var n = 0
                while j < s.count, ("0"..."9").contains(s[j]) {
                    n = min(n * 10 + Int(s[j].value - 0x30), 100_000)
                    j += 1
                }
                return j > from ? n : nil
            }
            guard let lo = number() else { return nil }
            var hi: Int? = lo
            if j < s.count && s[j] == "," {
                j += 1
                hi = j < s.count && s[j] == "}" ? nil : number()
                if hi == nil && !(j < s.count && s[j] == "}") { return nil }
            }
            guard j < s.count && s[j] == "}" else { return nil }
            let start = i
            i = j + 1
            if lo > GoRegexp.maxRepeat || (hi ?? 0) > GoRegexp.maxRepeat || (hi.map { $0 < lo } ?? false) {
                throw fail("invalid repeat count", text(start, i))
            }
            return (lo, hi)
        default: return nil
        }
    }

    /// A group, or a flag setting `(?i)` (nil: nothing to add).
    private mutating func parseGroup(depth: Int) throws(GoRegexpError) -> RegexNode? {
        let start = i
        i += 1
        let saved = (foldCase, multiLine, dotNL)
        if peek == "?" {
            i += 1
            if peek == "P" || (peek == "<" && peekAhead(1) != "=" && peekAhead(1) != "!") {
                if peek == "P" { i += 1 }
                guard peek == "<" else { throw fail("invalid or unsupported Perl syntax", text(start, i + 1)) }
                i += 1
                let nameStart = i
                while let d = peek, d != ">" { i += 1 }
                guard peek == ">" else { throw fail("invalid named capture", text(start, i)) }
                let name = s[nameStart..<i]
                i += 1
                guard !name.isEmpty, name.allSatisfy({ RegexCharClass.word.contains($0.value) }) else {
                    throw fail("invalid named capture", text(start, i))
                }
            } else {
                var negate = false, sawFlag = false
                flags: while true {
                    guard let c = peek else { throw fail("missing closing )", pattern) }
                    i += 1
                    switch c {
                    case "i": foldCase = !negate
                    case "m": multiLine = !negate
                    case "s": dotNL = !negate
                    case "U": break  // greediness: no effect on a yes/no match
                    case "-" where !negate: negate = true; continue flags
                    case ")" where sawFlag && !(negate && s[i - 2] == "-"):
                        return nil  // `(?i)`: the rest of the enclosing group
                    case ":" where !(negate && s[i - 2] == "-"): break flags
                    default: throw fail("invalid or unsupported Perl syntax", text(start, i))
                    }
                    sawFlag = true
                }
            }
        }
        let inner = try parseAlternation(depth: depth + 1)
        (foldCase, multiLine, dotNL) = saved
        guard peek == ")" else { throw fail("missing closing )", pattern) }
        i += 1
        return inner
    }

    /// `\…` outside a class.
    private mutating func parseEscape() throws(GoRegexpError) -> RegexNode {
        let start = i
        switch peekAhead(1) {
        case "A": i += 2; return .assert(.beginText)
        case "z": i += 2; return .assert(.endText)
        case "b": i += 2; return .assert(.wordBoundary)
        case "B": i += 2; return .assert(.notWordBoundary)
        default: break
        }
        if let m = try parseClassEscape() { return .chars(m) }
        i = start
        return literal(try parseCharEscape())
    }

    /// `\d \D \s \S \w \W \pX \p{X} \PX \p{^X}` at the cursor, consumed; nil
    /// (cursor unmoved) for any other escape.
    private mutating func parseClassEscape() throws(GoRegexpError) -> RegexScalar? {
        let start = i
        guard let c = peekAhead(1) else { return nil }
        let named: [Unicode.Scalar: (RegexCharClass, Bool)] = [
            "d": (.digit, false), "D": (.digit, true), "s": (.space, false), "S": (.space, true),
            "w": (.word, false), "W": (.word, true),
        ]
        if let entry = named[c] {
            let (cls, negated) = entry
            i += 2
            return RegexScalar(cls: negated ? cls.inverted() : cls, foldCase: false)
        }
        guard c == "p" || c == "P" else { return nil }
        i += 2
        var name: String
        if peek == "{" {
            let open = i
            while let d = peek, d != "}" { i += 1 }
            guard peek == "}" else { throw fail("invalid character class range", text(start, i)) }
            name = text(open + 1, i)
            i += 1
        } else {
            guard let d = peek else { throw fail("invalid character class range", text(start, i)) }
            name = String(d)
            i += 1
        }
        var negated = c == "P"
        if name.hasPrefix("^") {
            negated.toggle()
            name.removeFirst()
        }
        if name == "Any" { return RegexScalar(cls: .all, negated: negated) }
        guard let set = Self.categories[name] else { throw fail("invalid character class range", text(start, i)) }
        return RegexScalar(cls: RegexCharClass(categories: [(set, false)]), negated: negated, foldCase: foldCase)
    }

    /// One escaped character: `\n`, `\x41`, `\x{263a}`, `\101`, `\.`.
    private mutating func parseCharEscape() throws(GoRegexpError) -> UInt32 {
        let start = i
        i += 1
        guard let c = peek else { throw fail("trailing backslash at end of expression", "") }
        i += 1
        switch c {
        case "a": return 7
        case "f": return 12
        case "t": return 9
        case "n": return 10
        case "r": return 13
        case "v": return 11
        case "1"..."7" where !(peek.map { ("0"..."7").contains($0) } ?? false):
            throw fail("invalid escape sequence", text(start, i))  // a backreference
        case "0"..."7":
            var v = c.value - 0x30
            for _ in 0..<2 {
                guard let d = peek, ("0"..."7").contains(d) else { break }
                v = v * 8 + d.value - 0x30
                i += 1
            }
            return v
        case "x":
            if peek == "{" {
                i += 1
                let from = i
                while let d = peek, d.properties.isASCIIHexDigit { i += 1 }
                guard peek == "}", i > from, let v = UInt32(text(from, i), radix: 16), v <= 0x10FFFF else {
                    throw fail("invalid escape sequence", text(start, i + 1))
                }
                i += 1
                return v
            }
            guard let a = peek, a.properties.isASCIIHexDigit, let b = peekAhead(1), b.properties.isASCIIHexDigit else {
                throw fail("invalid escape sequence", text(start, i + 2))
            }
            i += 2
            return UInt32(text(i - 2, i), radix: 16)!
        default:
            if c.isASCII && !c.properties.isAlphabetic && !("0"..."9").contains(c) { return c.value }
            throw fail("invalid escape sequence", text(start, i))
        }
    }

    /// `[…]`: ranges, escapes, `[:name:]`, negation.
    private mutating func parseClass() throws(GoRegexpError) -> RegexScalar {
        let start = i
        i += 1
        var negated = false
        if peek == "^" {
            negated = true
            i += 1
        }
        var cls = RegexCharClass()
        var matchers: [RegexScalar] = []  // `\pL` inside a class: kept whole
        var first = true
        while true {
            guard let c = peek else { throw fail("missing closing ]", text(start, s.count)) }
            if c == "]" && !first { i += 1; break }
            first = false
            if c == "[" && peekAhead(1) == ":" {
                if let posix = try parsePosixClass() {
                    cls.formUnion(posix)
                    continue
                }
            }
            let itemStart = i
            if c == "\\", let m = try parseClassEscape() {
                if m.cls.categories.isEmpty && !m.negated {
                    cls.formUnion(m.cls)
                } else if m.cls.categories.isEmpty {
                    cls.formUnion(m.cls.inverted())
                } else {
                    matchers.append(m)
                }
                continue
            }
            let lo = try classScalar()
            if peek == "-", let after = peekAhead(1), after != "]" {
                i += 1
                let hi = try classScalar()
                guard hi >= lo else { throw fail("invalid character class range", text(itemStart, i)) }
                cls.ranges.append(lo...hi)
            } else {
                cls.ranges.append(lo...lo)
            }
        }
        for m in matchers {
            // A negated category inside a class (`[\PL]`): its own entry.
            cls.categories += m.cls.categories.map { ($0.0, m.negated) }
        }
        return RegexScalar(cls: cls, negated: negated, foldCase: foldCase)
    }

    private mutating func classScalar() throws(GoRegexpError) -> UInt32 {
        guard let c = peek else { throw fail("missing closing ]", pattern) }
        if c == "\\" { return try parseCharEscape() }
        i += 1
        return c.value
    }

    /// `[:alpha:]` and `[:^alpha:]`; nil (cursor unmoved) when `[:` does not begin one.
    private mutating func parsePosixClass() throws(GoRegexpError) -> RegexCharClass? {
        var j = i + 2
        while j + 1 < s.count && !(s[j] == ":" && s[j + 1] == "]") { j += 1 }
        guard j + 1 < s.count else { return nil }
        var name = text(i + 2, j)
        let negated = name.hasPrefix("^")
        if negated { name.removeFirst() }
        guard let cls = Self.posix[name] else { throw fail("invalid character class range", text(i, j + 2)) }
        i = j + 2
        return negated ? cls.inverted() : cls
    }

    static let posix: [String: RegexCharClass] = [
        "alnum": RegexCharClass(ranges: [0x30...0x39, 0x41...0x5A, 0x61...0x7A]),
        "alpha": RegexCharClass(ranges: [0x41...0x5A, 0x61...0x7A]),
        "ascii": RegexCharClass(ranges: [0...0x7F]),
        "blank": RegexCharClass(ranges: [0x09...0x09, 0x20...0x20]),
        "cntrl": RegexCharClass(ranges: [0...0x1F, 0x7F...0x7F]),
        "digit": .digit,
        "graph": RegexCharClass(ranges: [0x21...0x7E]),
        "lower": RegexCharClass(ranges: [0x61...0x7A]),
        "print": RegexCharClass(ranges: [0x20...0x7E]),
        "punct": RegexCharClass(ranges: [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E]),
        "space": RegexCharClass(ranges: [0x09...0x0D, 0x20...0x20]),
        "upper": RegexCharClass(ranges: [0x41...0x5A]),
        "word": .word,
        "xdigit": RegexCharClass(ranges: [0x30...0x39, 0x41...0x46, 0x61...0x66]),
    ]

    /// Unicode general categories by Go's names (`L`, `Lu`, …).
    static let categories: [String: Set<Unicode.GeneralCategory>] = {
        typealias G = Unicode.GeneralCategory
        let one: [String: G] = [
            "Lu": .uppercaseLetter, "Ll": .lowercaseLetter, "Lt": .titlecaseLetter, "Lm": .modifierLetter,
            "Lo": .otherLetter, "Mn": .nonspacingMark, "Mc": .spacingMark, "Me": .enclosingMark,
            "Nd": .decimalNumber, "Nl": .letterNumber, "No": .otherNumber, "Pc": .connectorPunctuation,
            "Pd": .dashPunctuation, "Ps": .openPunctuation, "Pe": .closePunctuation, "Pi": .initialPunctuation,
            "Pf": .finalPunctuation, "Po": .otherPunctuation, "Sm": .mathSymbol, "Sc": .currencySymbol,
            "Sk": .modifierSymbol, "So": .otherSymbol, "Zs": .spaceSeparator, "Zl": .lineSeparator,
            "Zp": .paragraphSeparator, "Cc": .control, "Cf": .format, "Cs": .surrogate, "Co": .privateUse,
        ]
        var out = one.mapValues { Set([$0]) }
        for major in ["L", "M", "N", "P", "S", "Z", "C"] {
            out[major] = Set(one.filter { $0.key.hasPrefix(major) }.values)
        }
        return out
    }()
}

/// Turns a `RegexNode` into Pike VM instructions, refusing programs past
/// `GoRegexp.maxProgram` (a nested `{n,m}` multiplies).
struct GoRegexpCompiler {
    let pattern: String
    var program: [RegexInstruction] = []

    private mutating func append(_ inst: RegexInstruction) throws(GoRegexpError) -> Int {
        guard program.count < GoRegexp.maxProgram else {
            throw GoRegexpError(code: "expression too large", fragment: pattern)
        }
        program.append(inst)
        return program.count - 1
    }

    mutating func emit(_ node: RegexNode) throws(GoRegexpError) {
        switch node {
        case .empty: break
        case .chars(let m): _ = try append(.consume(m))
        case .assert(let a): _ = try append(.assert(a))
        case .concat(let items): for item in items { try emit(item) }
        case .alt(let branches):
            var jumps: [Int] = []
            for (n, branch) in branches.enumerated() {
                if n == branches.count - 1 {
                    try emit(branch)
                } else {
                    let split = try append(.split(0, 0))
                    try emit(branch)
                    jumps.append(try append(.jump(0)))
                    program[split] = .split(split + 1, program.count)
                }
            }
            for j in jumps { program[j] = .jump(program.count) }
        case .rep(let inner, let lo, let hi):
            for _ in 0..<lo { try emit(inner) }
            if let hi {
                // (x(x(x)?)?)?: every optional copy may skip to the end.
                var splits: [Int] = []
                for _ in lo..<hi {
                    splits.append(try append(.split(0, 0)))
                    try emit(inner)
                }
                for sp in splits { program[sp] = .split(sp + 1, program.count) }
            } else {
                let loop = try append(.split(0, 0))
                try emit(inner)
                _ = try append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            }
        }
    }
}
