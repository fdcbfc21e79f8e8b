import BerthCore

/// What a line runs through: the words of one command → its exit code, or a
/// `BerthError` for a command that could not run or failed. The launcher's
/// executor looks the command up, parses and runs it; tests inject fakes.
public typealias ExecuteCommand = ([String]) throws(BerthError) -> Int32

/// The words the shell answers itself, the same in the REPL, in scripts and
/// in one-command mode. A registered command of the same name wins.
enum ShellBuiltins {
    /// Declarations, so completion and `help` know them like any command.
    static let specs: [CommandSpec] = [
        CommandSpec(
            "help", summary: "Show the command list, or one command's help",
            arguments: [ArgSpec("COMMAND", completion: .commands, repeats: true, optional: true)]),
        CommandSpec(
            "exit", aliases: ["quit"], summary: "Leave the shell or script",
            arguments: [ArgSpec("STATUS", optional: true)], max: 1),
        CommandSpec(
            "echo", summary: "Print words (-n: no newline)",
            arguments: [ArgSpec("WORD", repeats: true, optional: true)]),
        CommandSpec(
            "source", summary: "Run a script's statements here, keeping its functions and variables",
            arguments: [ArgSpec("FILE", completion: .files)], min: 1, max: 1),
        CommandSpec(
            "test", summary: "Compare strings or numbers: test A == B, [ A -lt B ]",
            arguments: [ArgSpec("EXPRESSION", repeats: true, optional: true)]),
    ]

    /// Whether `word` names a built-in not shadowed by a registered command.
    static func handles(_ word: String, _ registry: PluginRegistry) -> Bool {
        ["help", "exit", "quit"].contains(word) && registry.command(for: [word]) == nil
    }

    /// `help` → the overview; `help CMD…` → that command's page.
    static func help(_ words: [String], _ registry: PluginRegistry, interactive: Bool) throws(BerthError) -> String {
        guard !words.isEmpty else { return Help.overview(registry.commands) }
        if let (command, _) = registry.command(for: words) { return Help.render(command.spec) }
        if let builtin = specs.first(where: { $0.name == words[0] || $0.aliases.contains(words[0]) }) {
            return Help.render(builtin)
        }
        throw unknownCommand(words.joined(separator: " "), interactive: interactive)
    }

    /// `exit [STATUS]`.
    static func exitStatus(_ words: [String], default status: Int32) throws(BerthError) -> Int32 {
        guard let text = words.first else { return status }
        guard words.count == 1, let value = Int32(text), (0...255).contains(value) else {
            throw .usage("exit takes one status between 0 and 255, not \"\(words.joined(separator: " "))\"")
        }
        return value
    }

    /// The error for a word that is no command.
    static func unknownCommand(_ name: String, interactive: Bool) -> BerthError {
        let hint = interactive ? "run 'help'" : "run 'berth --help'"
        return BerthError(.arguments, "unknown command \"\(name)\" for \"berth\"; \(hint) for the list")
    }
}

/// Writes text on a file descriptor, ignoring a closed pipe.
func writeOut(_ text: String, to fd: Int32 = 1) {
    try? FileDescriptor(rawValue: fd).write(text)
}
