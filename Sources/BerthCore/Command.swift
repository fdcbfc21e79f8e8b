/// What a command-line word completes to, declared by the command itself so
/// that the REPL's completion never keeps a second list.
public enum Completion: Sendable, Equatable {
    /// Nothing to offer.
    case none
    /// File and directory paths.
    case files
    /// Image references (`repo:tag`) and short IDs.
    case images
    /// Container names and short IDs whose state is one of these
    /// (`created`, `running`, `paused`, `exited`); nil means any state.
    case containers(Set<String>?)
    /// Names of registered commands.
    case commands
    /// Registered plugin ids.
    case plugins
    /// A fixed set of words (e.g. storage driver names).
    case words([String])
    /// Registered plugins of one kind (`storage`, `isolation`).
    case pluginsOfKind(String)
}

/// A flag a command accepts, in Docker's style: `--long`, `-s`, `--long=value`.
public struct FlagSpec: Sendable {
    /// The long name without dashes (`name`).
    public var long: String
    /// The one-letter short name, if any (`t`).
    public var short: Character?
    /// The value's placeholder in help (`string`, `int`, `list`); nil for a boolean.
    public var valueName: String?
    /// One line of help.
    public var help: String
    /// What the value completes to.
    public var completion: Completion
    /// The default shown in help.
    public var defaultValue: String?

    /// Declares a flag.
    public init(
        _ long: String, short: Character? = nil, value: String? = nil, help: String,
        completion: Completion = .none, default defaultValue: String? = nil
    ) {
        self.long = long
        self.short = short
        self.valueName = value
        self.help = help
        self.completion = completion
        self.defaultValue = defaultValue
    }

    /// Whether the flag is a boolean switch.
    public var isBoolean: Bool { valueName == nil }
}

/// A positional argument, for help and completion.
public struct ArgSpec: Sendable {
    /// The placeholder in the usage line (`CONTAINER`).
    public var name: String
    /// What it completes to.
    public var completion: Completion
    /// Whether it can be given several times (`CONTAINER...`).
    public var repeats: Bool
    /// Whether it may be left out.
    public var optional: Bool

    /// Declares a positional argument.
    public init(_ name: String, completion: Completion = .none, repeats: Bool = false, optional: Bool = false) {
        self.name = name
        self.completion = completion
        self.repeats = repeats
        self.optional = optional
    }
}

/// Everything about a command except how it runs: name, help, flags, arguments.
public struct CommandSpec: Sendable {
    /// The command word (`images`); a group command uses two words (`plugin ls`).
    public var name: String
    /// Other words that run it (`image ls` for `images`).
    public var aliases: [String]
    /// One line for the command list.
    public var summary: String
    /// Flags it accepts.
    public var flags: [FlagSpec]
    /// Positional arguments, in order.
    public var arguments: [ArgSpec]
    /// Minimum number of positionals.
    public var minArguments: Int
    /// Maximum number of positionals (nil: unbounded).
    public var maxArguments: Int?
    /// When false, the first positional ends flag parsing, so `run IMAGE CMD -x`
    /// passes `-x` to CMD as Docker does.
    public var interspersed: Bool
    /// Longer help text shown under the usage line.
    public var details: String
    /// Hand every word after the command to it untouched (external plugins
    /// parse their own flags; `flags` then serve help and completion only).
    public var passthrough = false
    /// What an engine failure exits with: Docker's CLI uses 125 in `run`
    /// and `create` and 1 elsewhere (`BerthError.Kind.exitCode(engine:)`).
    public var engineExitCode: Int32 = ExitCode.general

    /// Declares a command. `flags` takes typed keys (`Flag`) or bare `FlagSpec`s alike.
    public init(
        _ name: String, aliases: [String] = [], summary: String, flags: [any AnyFlag] = [],
        arguments: [ArgSpec] = [], min: Int = 0, max: Int? = nil,
        interspersed: Bool = true, details: String = "", engineExitCode: Int32 = ExitCode.general
    ) {
        self.name = name
        self.aliases = aliases
        self.summary = summary
        self.flags = flags.map(\.spec)
        self.arguments = arguments
        self.minArguments = min
        self.maxArguments = max
        self.interspersed = interspersed
        self.details = details
        self.engineExitCode = engineExitCode
    }

    /// Looks up a flag by long name.
    public func flag(long: String) -> FlagSpec? { flags.first { $0.long == long } }
    /// Looks up a flag by short letter.
    public func flag(short: Character) -> FlagSpec? { flags.first { $0.short == short } }

    /// `Usage:  berth images [OPTIONS] [REPOSITORY[:TAG]]`
    public var usageLine: String {
        var line = "berth \(name)"
        if !flags.isEmpty { line += " [OPTIONS]" }
        for arg in arguments {
            let word = arg.repeats ? "\(arg.name) [\(arg.name)...]" : arg.name
            line += arg.optional ? " [\(word)]" : " \(word)"
        }
        return line
    }
}

/// A runnable command. Built-in commands and plugins implement this alike.
public protocol Command: Sendable {
    /// The declaration used for parsing, help and completion.
    var spec: CommandSpec { get }
    /// Runs with parsed arguments; returns the exit code.
    func run(_ args: ParsedArguments, _ context: CommandContext) throws(BerthError) -> Int32
}
