#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// The interactive shell: reads lines, splits them into words, runs them
/// through `execute` and keeps going after any error. `exit`, `quit` and
/// Ctrl-D leave; Ctrl-C abandons the line being typed.
public final class REPL {
    let registry: PluginRegistry
    let editor: LineEditor
    let execute: ExecuteCommand
    let showBanner: Bool

    /// The first screen: what Berth is and three lines to try.
    public static let banner = """
        Berth \(Launcher.version) — daemonless containers, scriptable. Try:
          images                   list the images in the store
          run -it busybox sh       a shell in a new container
          help                     every command; help CMD for one
        Tab completes commands, flags, images and containers; Ctrl-C drops the
        line; Ctrl-D or 'exit' leaves.

        """

    /// - Parameters:
    ///   - editor: where lines come from (its prompt is the REPL's).
    ///   - execute: runs one command's words.
    public init(
        registry: PluginRegistry, editor: LineEditor, execute: @escaping ExecuteCommand,
        showBanner: Bool = true
    ) {
        self.registry = registry
        self.editor = editor
        self.execute = execute
        self.showBanner = showBanner
    }

    /// The completer the REPL's editor should use: the registry's commands
    /// plus the shell's own words.
    public static func completer(registry: PluginRegistry, source: any CompletionSource) -> Completer {
        Completer(registry: registry, source: source, builtins: ShellBuiltins.specs)
    }

    /// Runs until `exit` or end of input; returns the exit status (the last
    /// command's, or the one given to `exit`).
    public func run() -> Int32 {
        if showBanner { writeOut(Self.banner) }
        // Ctrl-C while a command runs must not end the shell, but must stop
        // the command or loop (`Interruption`). A handler, not SIG_IGN: exec
        // resets a handler, so the command's processes still get the default
        // action.
        let previous = editor.isInteractive ? signal(SIGINT, noteInterrupt) : nil
        defer { if editor.isInteractive { signal(SIGINT, previous) } }

        let interpreter = Interpreter(
            registry: registry, execute: execute, io: StandardScriptIO(),
            stopOnError: false, interactive: true, file: "repl")
        var pending = ""
        while true {
            editor.prompt = pending.isEmpty ? Self.prompt : Self.continuationPrompt
            Interruption.clear()
            let line: String
            switch editor.readLine() {
            case .endOfInput: return interpreter.status
            case .cancelled:
                pending = ""  // Ctrl-C drops the whole unfinished block
                continue
            case .line(let text): line = text
            }
            editor.addHistory(line)
            pending += (pending.isEmpty ? "" : "\n") + line
            let block: ScriptBlock
            do {
                block = try ScriptParser.parse(pending)
            } catch {
                if error.incomplete { continue }  // an open quote, block or $(: read on
                writeOut("Error: \(error.position): \(error.message)\n", to: 2)
                pending = ""
                continue
            }
            pending = ""
            let outcome = interpreter.run(block, file: "repl")
            if Interruption.requested { writeOut("\n") }  // the prompt goes under the ^C, as in bash
            if case .exit(let status) = outcome { return status }
        }
    }

    /// The prompt for a new statement.
    public static let prompt = "berth> "
    /// The prompt while a block, quote or `$(` is still open.
    public static let continuationPrompt = "... "
}

private let noteInterrupt: @convention(c) (Int32) -> Void = { _ in Interruption.request() }
