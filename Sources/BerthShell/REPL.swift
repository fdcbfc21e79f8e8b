#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// The interactive shell: reads lines, splits them into words, runs them
/// through `execute` and keeps going after any error. `exit`, `quit` and
/// Ctrl-D leave; Ctrl-C abandons the line being typed.
public final class REPL {
    let registry: Registry
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
    public init(registry: Registry, editor: LineEditor, execute: @escaping ExecuteCommand,
                showBanner: Bool = true) {
        self.registry = registry
        self.editor = editor
        self.execute = execute
        self.showBanner = showBanner
    }

    /// The completer the REPL's editor should use: the registry's commands
    /// plus the shell's own words.
    public static func completer(registry: Registry, source: any CompletionSource) -> Completer {
        Completer(registry: registry, source: source, builtins: ShellBuiltins.specs)
    }

    /// Runs until `exit` or end of input; returns the exit status (the last
    /// command's, or the one given to `exit`).
    public func run() -> Int32 {
        if showBanner { writeOut(Self.banner) }
        // Ctrl-C while a command runs must not end the shell. A handler, not
        // SIG_IGN: exec resets a handler, so the command's processes still
        // get the default action.
        let previous = editor.isInteractive ? signal(SIGINT, ignoreInterrupt) : nil
        defer { if editor.isInteractive { signal(SIGINT, previous) } }

        var status: Int32 = 0
        while true {
            let text: String
            switch editor.readLine() {
            case .endOfInput: return status
            case .cancelled: continue
            case .line(let line): text = line
            }
            editor.addHistory(text)
            do throws(BerthError) {
                let words = try Tokenizer.split(text)
                guard let first = words.first else { continue }
                let rest = Array(words.dropFirst())
                if ShellBuiltins.handles(first, registry) {
                    if first == "help" {
                        writeOut(try ShellBuiltins.help(rest, registry, interactive: true))
                        status = 0
                        continue
                    }
                    return try ShellBuiltins.exitStatus(rest, default: status)
                }
                status = try execute(words)
            } catch {
                writeOut("Error: \(error)\n", to: 2)
                status = error.exitCode
            }
        }
    }
}

private let ignoreInterrupt: @convention(c) (Int32) -> Void = { _ in }
