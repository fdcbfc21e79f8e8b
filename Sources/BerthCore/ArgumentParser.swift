/// A command line parsed against a `CommandSpec`.
public struct ParsedArguments: Sendable, Equatable {
    /// Flag values by long name, in the order given; booleans hold "true"/"false".
    public var values: [String: [String]] = [:]
    /// Positional arguments.
    public var positionals: [String] = []
    /// Whether `-h`/`--help` was given.
    public var helpRequested = false

    /// Creates an empty result.
    public init() {}
    // Flags are read through their typed keys (Flag.swift): `args[Self.name]`.
}

/// Parses Docker-style command lines (pflag rules): `-it`, `-n5`, `-n 5`,
/// `--name=x`, `--name x`, `--` ends flags. It never exits the process, so the
/// REPL and scripts can report errors and go on.
public enum ArgumentParser {
    /// Parses `argv` (without the command words) against `spec`.
    public static func parse(_ argv: [String], spec: CommandSpec) throws(BerthError) -> ParsedArguments {
        var result = ParsedArguments()
        if spec.passthrough {
            result.positionals = argv
            return result
        }
        var index = 0
        var flagsDone = false
        while index < argv.count {
            let word = argv[index]
            index += 1
            if flagsDone || word == "-" || !word.hasPrefix("-") {
                result.positionals.append(word)
                if !spec.interspersed { flagsDone = true }
                continue
            }
            if word == "--" { flagsDone = true; continue }
            // `-h` asks for help unless the command has its own -h (run and
            // create: --hostname, as in Docker); `--help` always does.
            if word == "--help" || (word == "-h" && spec.flag(short: "h") == nil) { result.helpRequested = true; continue }
            if word.hasPrefix("--") {
                try parseLong(word, argv, &index, spec, &result)
            } else {
                try parseShort(word, argv, &index, spec, &result)
            }
        }
        if result.helpRequested { return result }
        try checkCount(result.positionals.count, spec)
        return result
    }

    private static func parseLong(
        _ word: String, _ argv: [String], _ index: inout Int,
        _ spec: CommandSpec, _ result: inout ParsedArguments
    ) throws(BerthError) {
        let body = word.dropFirst(2)
        let name = body.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
        let inline: String? =
            body.contains("=") ? String(body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[1]) : nil
        guard let flag = spec.flag(long: name) else {
            throw unknown("--\(name)", spec)
        }
        if flag.isBoolean {
            result.values[flag.long, default: []].append(try boolean(inline ?? "true", flag, spec))
            return
        }
        if let inline {
            result.values[flag.long, default: []].append(inline)
        } else {
            guard index < argv.count else { throw missingValue("--\(name)", spec) }
            result.values[flag.long, default: []].append(argv[index])
            index += 1
        }
    }

    private static func parseShort(
        _ word: String, _ argv: [String], _ index: inout Int,
        _ spec: CommandSpec, _ result: inout ParsedArguments
    ) throws(BerthError) {
        var letters = Substring(word.dropFirst())
        while let letter = letters.first {
            letters = letters.dropFirst()
            if letter == "h" && spec.flag(short: "h") == nil { result.helpRequested = true; continue }
            guard let flag = spec.flag(short: letter) else { throw unknown("-\(letter)", spec, shorthand: true) }
            if flag.isBoolean {
                // `-d=false`, as pflag: the rest of the word is the value.
                if letters.hasPrefix("=") {
                    result.values[flag.long, default: []].append(try boolean(String(letters.dropFirst()), flag, spec))
                    return
                }
                result.values[flag.long, default: []].append("true")
                continue
            }
            var value = String(letters.hasPrefix("=") ? letters.dropFirst() : letters)
            if value.isEmpty {
                guard index < argv.count else { throw missingValue("-\(letter)", spec) }
                value = argv[index]
                index += 1
            }
            result.values[flag.long, default: []].append(value)
            return
        }
    }

    /// A boolean flag's value, spelt any way Go's strconv.ParseBool takes
    /// (Docker's flags go through it): 1, t, T, TRUE, true, True and the
    /// same for false; stored as "true" or "false".
    private static func boolean(_ value: String, _ flag: FlagSpec, _ spec: CommandSpec) throws(BerthError) -> String {
        switch value {
        case "1", "t", "T", "TRUE", "true", "True": return "true"
        case "0", "f", "F", "FALSE", "false", "False": return "false"
        default:
            let name = flag.short.map { "-\($0), --\(flag.long)" } ?? "--\(flag.long)"
            throw .usage(
                "invalid argument \"\(value)\" for \"\(name)\" flag: strconv.ParseBool: parsing \"\(value)\": invalid syntax; see 'berth \(spec.name) --help'"
            )
        }
    }

    private static func checkCount(_ count: Int, _ spec: CommandSpec) throws(BerthError) {
        if count < spec.minArguments {
            let what = spec.minArguments == 1 ? "1 argument" : "at least \(spec.minArguments) arguments"
            throw .arguments("\"berth \(spec.name)\" requires \(what); usage: \(spec.usageLine)")
        }
        if let max = spec.maxArguments, count > max {
            let what = max == 0 ? "no arguments" : "at most \(max) argument\(max == 1 ? "" : "s")"
            throw .arguments("\"berth \(spec.name)\" accepts \(what); usage: \(spec.usageLine)")
        }
    }

    private static func unknown(_ flag: String, _ spec: CommandSpec, shorthand: Bool = false) -> BerthError {
        let what = shorthand ? "unknown shorthand flag: '\(flag.dropFirst())' in \(flag)" : "unknown flag: \(flag)"
        return .usage("\(what); see 'berth \(spec.name) --help'")
    }

    private static func missingValue(_ flag: String, _ spec: CommandSpec) -> BerthError {
        .usage("flag needs an argument: \(flag); see 'berth \(spec.name) --help'")
    }
}
