#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// Everything `berth` does before a command runs: global options, then the
/// REPL, a script or one command. `main.swift` only registers plugins and
/// calls `main`.
public enum Launcher {
    /// Shown by `--version` and the banner.
    public static let version = berthVersion

    /// The store used without `--root` or `$BERTH_ROOT` by root (a
    /// non-root user's is `Rootless.defaultRoot`).
    public static let defaultRoot = "/var/lib/berth"

    /// Runs berth and returns the process exit status.
    /// - Parameters:
    ///   - arguments: the whole command line, program name first
    ///     (`CommandLine.arguments`).
    ///   - completionSource: makes the store's names source for a root.
    public static func main(
        arguments: [String], registry: PluginRegistry,
        completionSource: @escaping (String) -> any CompletionSource,
        plugins: ((String, [PluginDirectories.Listing]) -> Void)? = nil
    ) -> Int32 {
        let environment = processEnvironment()
        var args = Array(arguments.dropFirst())
        var root =
            environment["BERTH_ROOT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (Rootless.isNonRoot ? Rootless.defaultRoot(environment: environment) : defaultRoot)

        // Global options, before the command only.
        options: while let first = args.first, first.hasPrefix("-"), first != "-" {
            args.removeFirst()
            switch first {
            case "--":
                break options
            case "--root":
                guard let dir = args.first, !dir.isEmpty else {
                    return fail(.usage("flag needs an argument: --root; run 'berth --help'"))
                }
                root = dir
                args.removeFirst()
            case _ where first.hasPrefix("--root="):
                root = String(first.dropFirst("--root=".count))
                guard !root.isEmpty else { return fail(.usage("--root needs a directory; run 'berth --help'")) }
            case "--help", "-h":
                writeOut(Help.overview(registry.commands))
                return 0
            case "--version":
                writeOut("berth version \(version)\n")
                return 0
            default:
                return fail(.usage("unknown flag: \(first); run 'berth --help' for the list"))
            }
        }

        // External plugins: executables (through the hook, which knows their
        // metadata format) and Berth scripts.
        let listings = PluginDirectories.scan(root: root, environment: environment)
        plugins?(root, listings)
        ScriptPlugins.discover(listings, registry: registry)

        let interactive = args.isEmpty && LineEditor.standardInputIsTerminal
        let context = CommandContext(
            root: root, registry: registry, interactive: interactive,
            environment: environment)
        let executor = Executor(registry: registry, context: context, interactive: interactive)
        context.invoke = { [unowned context] argv in
            Executor(registry: registry, context: context, interactive: interactive).runReporting(argv)
        }

        if args.isEmpty {
            if interactive {
                let completer = REPL.completer(registry: registry, source: completionSource(root))
                let editor = LineEditor(
                    prompt: "berth> ",
                    historyFile: LineEditor.defaultHistoryFile(environment: environment),
                    complete: { completer.complete($0) })
                return REPL(registry: registry, editor: editor, execute: executor.execute).run()
            }
            return ScriptRunner(registry: registry, execute: executor.execute).runStandardInput()
        }
        // A script file, unless a command has its name (a stat first: it
        // spares the command look-up, which the executor makes anyway).
        if isRegularFile(args[0]) && registry.command(for: args) == nil && !ShellBuiltins.handles(args[0], registry) {
            return ScriptRunner(registry: registry, execute: executor.execute).run(file: args[0])
        }
        CommandProcess.markOneCommand()
        return executor.runReporting(args)
    }

    private static func fail(_ error: BerthError) -> Int32 {
        writeOut("Error: \(error)\n", to: 2)
        return error.exitCode
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// The environment, read from /proc/self/environ: Swift 6 refuses the C
    /// global `environ`, and this is what the process started with.
    static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        guard let bytes = try? FileSystem.read("/proc/self/environ") else { return result }
        for entry in bytes.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let eq = text.firstIndex(of: "=") else { continue }
            result[String(text[..<eq])] = String(text[text.index(after: eq)...])
        }
        return result
    }
}

/// Looks a command up, parses its arguments and runs it.
struct Executor {
    let registry: PluginRegistry
    let context: CommandContext
    let interactive: Bool

    /// Runs one command line; errors are thrown for the caller to report.
    func execute(_ argv: [String]) throws(BerthError) -> Int32 {
        guard let first = argv.first else { return 0 }
        guard let (command, used) = registry.command(for: argv) else {
            if ShellBuiltins.handles(first, registry) {
                if first == "help" {
                    writeOut(try ShellBuiltins.help(Array(argv.dropFirst()), registry, interactive: interactive))
                    return 0
                }
                return try ShellBuiltins.exitStatus(Array(argv.dropFirst()), default: 0)
            }
            throw ShellBuiltins.unknownCommand(first, interactive: interactive)
        }
        do throws(BerthError) {
            let parsed = try ArgumentParser.parse(Array(argv.dropFirst(used)), spec: command.spec)
            if parsed.helpRequested {
                writeOut(Help.render(command.spec))
                return 0
            }
            return try command.run(parsed, context)
        } catch {
            throw error.settled(engine: command.spec.engineExitCode)
        }
    }

    /// Runs one command line, printing `Error: …` on stderr for a failure.
    func runReporting(_ argv: [String]) -> Int32 {
        do {
            return try execute(argv)
        } catch {
            writeOut("Error: \(error)\n", to: 2)
            return error.exitCode
        }
    }
}
