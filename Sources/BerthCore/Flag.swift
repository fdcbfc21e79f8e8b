/// Anything that declares one flag: a typed `Flag` or a bare `FlagSpec`.
/// A `CommandSpec` lists its flags as these, so a command writes
/// `flags: [Self.detach, Self.name]` with the very keys it reads.
public protocol AnyFlag: Sendable {
    /// The declaration used for parsing, help and completion.
    var spec: FlagSpec { get }
}

extension FlagSpec: AnyFlag {
    /// A bare declaration is its own spec (external plugins declare flags this way).
    public var spec: FlagSpec { self }
}

/// A flag declared once, as a value, and read back through that same value,
/// so a misspelt flag name does not compile:
///
///     static let detach = Flag.bool("detach", short: "d", help: "Run container in background")
///     static let time = Flag.int("time", short: "t", help: "Seconds to wait", default: "10")
///     let spec = CommandSpec("stop", summary: "…", flags: [Self.detach, Self.time])
///     …
///     if args[Self.detach] { … }                  // Bool, String?, [String]: a subscript
///     let timeout = try args.value(Self.time)      // Int?: a throwing read
///
/// `Value` says what reading gives: `Bool` for a switch, `String?` for the
/// last value of a flag (nil when not given), `[String]` for every value of a
/// repeatable flag, and `Int?` for an integer. Reads that cannot fail are
/// subscripts (`args[flag]`); an integer can be malformed, so it is read
/// with `try args.value(flag)`, which throws the usage error naming the flag.
/// A string flag's `default` is shown in help only: the reader gets nil when
/// the flag is not given (a command tells "not given" from "given the default").
public struct Flag<Value>: AnyFlag {
    /// The declaration used for parsing, help and completion.
    public let spec: FlagSpec

    /// Only the constructors below make a key, so a key's `Value` always
    /// matches how its spec parses (a `Flag<Bool>` is always a switch).
    fileprivate init(_ spec: FlagSpec) { self.spec = spec }

    /// The long name without dashes.
    public var long: String { spec.long }
}

extension Flag where Value == Bool {
    /// A switch (`--rm`, `-d`, `--sig-proxy=false`). `default` is what it
    /// reads when not given; a switch that defaults to true shows that in
    /// help and is turned off with `--NAME=false`.
    public static func bool(
        _ long: String, short: Character? = nil, help: String,
        default defaultValue: Bool = false
    ) -> Flag<Bool> {
        Flag(FlagSpec(long, short: short, help: help, default: defaultValue ? "true" : nil))
    }
}

extension Flag where Value == String? {
    /// A flag with one value; given again, the last one wins. `value` is the
    /// placeholder shown in help (`string`, `bytes`, `file`).
    public static func string(
        _ long: String, short: Character? = nil, value: String = "string", help: String,
        completion: Completion = .none, default defaultValue: String? = nil
    ) -> Flag<String?> {
        Flag(FlagSpec(long, short: short, value: value, help: help, completion: completion, default: defaultValue))
    }
}

extension Flag where Value == [String] {
    /// A repeatable flag (`-e A -e B`): every value, in the order given.
    public static func strings(
        _ long: String, short: Character? = nil, value: String = "list", help: String,
        completion: Completion = .none, default defaultValue: String? = nil
    ) -> Flag<[String]> {
        Flag(FlagSpec(long, short: short, value: value, help: help, completion: completion, default: defaultValue))
    }
}

extension Flag where Value == Int? {
    /// An integer flag; read with `try args.value(flag)`, nil when not given.
    public static func int(
        _ long: String, short: Character? = nil, value: String = "int", help: String,
        completion: Completion = .none, default defaultValue: String? = nil
    ) -> Flag<Int?> {
        Flag(FlagSpec(long, short: short, value: value, help: help, completion: completion, default: defaultValue))
    }
}

extension ParsedArguments {
    /// A switch's value: the last one given, else its default.
    public subscript(flag: Flag<Bool>) -> Bool {
        guard let last = values[flag.long]?.last else { return flag.spec.defaultValue == "true" }
        return last == "true"
    }

    /// A flag's last value, nil when not given.
    public subscript(flag: Flag<String?>) -> String? { values[flag.long]?.last }

    /// Every value of a repeatable flag, in order; empty when not given.
    public subscript(flag: Flag<[String]>) -> [String] { values[flag.long] ?? [] }

    /// An integer flag's last value, nil when not given; a value that is
    /// not an integer is the usage error naming the flag (exit 125).
    public func value(_ flag: Flag<Int?>) throws(BerthError) -> Int? {
        guard let text = values[flag.long]?.last else { return nil }
        guard let value = Int(text) else {
            throw .usage("invalid argument \"\(text)\" for \"--\(flag.long)\" flag: expected an integer")
        }
        return value
    }

    /// Whether the flag was given at all, whatever its kind.
    public func isSet(_ flag: some AnyFlag) -> Bool { values[flag.spec.long] != nil }
}
