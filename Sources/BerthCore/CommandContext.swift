#if canImport(Glibc)
import Glibc
#endif

/// What a running command can reach: the store, the registry, its streams,
/// and a way to run other commands (for `help` and scripts).
public final class CommandContext: @unchecked Sendable {
    /// The store root selected by `--root` or `BERTH_ROOT`.
    public let root: String
    /// The plugin registry.
    public let registry: PluginRegistry
    /// Standard input.
    public var stdin: FileDescriptor
    /// Standard output.
    public var stdout: FileDescriptor
    /// Standard error.
    public var stderr: FileDescriptor
    /// Whether the command runs inside the interactive REPL.
    public var interactive: Bool
    /// The environment the command sees.
    public var environment: [String: String]
    /// Runs another command line through the registry; returns its exit code.
    public var invoke: ((_ argv: [String]) -> Int32)?

    /// Creates a context on the process's standard streams.
    public init(
        root: String, registry: PluginRegistry, interactive: Bool = false,
        environment: [String: String] = [:]
    ) {
        self.root = root
        self.registry = registry
        self.stdin = FileDescriptor(rawValue: 0)
        self.stdout = FileDescriptor(rawValue: 1)
        self.stderr = FileDescriptor(rawValue: 2)
        self.interactive = interactive
        self.environment = environment
    }

    /// Prints a line on stdout. A closed pipe (e.g. `| head`) is not an error.
    public func print(_ line: String) { try? stdout.write(line + "\n") }

    /// Prints a line on stderr.
    public func warn(_ line: String) { try? stderr.write(line + "\n") }

    /// Whether stdout is a terminal.
    public var stdoutIsTerminal: Bool { isatty(stdout.rawValue) == 1 }
}
