import BerthCore

/// Runs a script — a file, or stdin when it is not a terminal — through the
/// `Interpreter`, with the same `execute` as the REPL. The first failing
/// command that is not guarded stops the script with `FILE:LINE: error: …`
/// on stderr (stdin is named `-`) and its exit code; a syntax error stops it
/// before anything runs, with `FILE:LINE:COL: error: …`.
public struct ScriptRunner {
    let registry: PluginRegistry
    let execute: ExecuteCommand
    let errorOutput: (String) -> Void
    let io: (any ScriptIO)?

    /// - Parameters:
    ///   - errorOutput: receives each error line, newline included
    ///     (default: stderr).
    ///   - io: the script's streams (default: the process's, with captures
    ///     through fd 1).
    public init(
        registry: PluginRegistry, execute: @escaping ExecuteCommand,
        errorOutput: ((String) -> Void)? = nil, io: (any ScriptIO)? = nil
    ) {
        self.registry = registry
        self.execute = execute
        self.errorOutput = errorOutput ?? { writeOut($0, to: 2) }
        self.io = io
    }

    /// Runs the script in a file.
    public func run(file path: String) -> Int32 {
        let text: String
        do {
            text = try FileSystem.readText(path)
        } catch {
            errorOutput("Error: \(error)\n")
            return error.exitCode
        }
        return run(source: text, name: path)
    }

    /// Runs standard input as a script named `-`.
    public func runStandardInput() -> Int32 {
        let bytes = (try? FileDescriptor(rawValue: 0).readAll()) ?? []
        return run(source: String(decoding: bytes, as: UTF8.self), name: "-")
    }

    /// Runs script text; `name` prefixes error lines.
    public func run(source: String, name: String) -> Int32 {
        let interpreter = Interpreter(
            registry: registry, execute: execute,
            io: io ?? StandardScriptIO(errorOutput: errorOutput),
            stopOnError: true, file: name)
        switch interpreter.run(source: source, name: name) {
        case .finished(let status), .exit(let status): return status
        }
    }
}
