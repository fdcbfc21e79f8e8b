import BerthCore
@testable import BerthShell

/// Script streams kept in strings: writes go to the innermost capture, or
/// to `output`; files come from a dictionary.
final class FakeScriptIO: ScriptIO {
    var output = ""
    var errors = ""
    var files: [String: String] = [:]
    private var captures: [String] = []

    func write(_ text: String) {
        if captures.isEmpty { output += text } else { captures[captures.count - 1] += text }
    }
    func writeError(_ text: String) { errors += text }
    func beginCapture() throws(BerthError) { captures.append("") }
    func endCapture() -> String { captures.popLast() ?? "" }
    func readFile(_ path: String) throws(BerthError) -> String {
        guard let text = files[path] else { throw BerthError("open \(path): ENOENT (No such file or directory)") }
        return text
    }
}

/// A fake engine: `create` prints a new ID, `fail` returns 3, `boom` throws,
/// `inspect` prints a state; everything run is recorded.
final class FakeShell {
    let io = FakeScriptIO()
    let registry = PluginRegistry()
    var ran: [[String]] = []
    var created = 0

    func interpreter(stopOnError: Bool = true, file: String = "t.berth") -> Interpreter {
        Interpreter(
            registry: registry,
            execute: { [unowned self] (argv: [String]) throws(BerthError) -> Int32 in
                ran.append(argv)
                switch argv.first {
                case "create":
                    created += 1
                    io.write("id\(created)\n")
                    return 0
                case "inspect": io.write("running\n"); return 0
                case "lines": io.write("a\nb\n\nc\n"); return 0
                case "big": io.write(String(repeating: "x", count: 1 << 20) + "\n"); return 0
                case "inc": io.write("\((Int(argv.last ?? "") ?? 0) + 1)\n"); return 0
                case "fail": return 3
                case "boom": throw BerthError("no such container: nope", exitCode: 125)
                default: return 0
                }
            }, io: io, stopOnError: stopOnError, file: file)
    }

    /// Runs a script; returns its status.
    @discardableResult
    func run(_ source: String, stopOnError: Bool = true, name: String = "t.berth") -> Int32 {
        switch interpreter(stopOnError: stopOnError, file: name).run(source: source, name: name) {
        case .finished(let s), .exit(let s): return s
        }
    }
}

/// The parse error for `text`, if any.
func syntaxError(_ text: String) -> ScriptSyntaxError? {
    do {
        _ = try ScriptParser.parse(text)
        return nil
    } catch {
        return error
    }
}
