#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// Runs parsed scripts: the REPL, `berth FILE` and piped stdin all come
/// here. Every command word list goes through `execute` (the registry), with
/// shell built-ins and script functions answered first.
///
/// In a script (`stopOnError`), a failing command that is not guarded (by
/// `try`, `!`, the left side of `&&`/`||`, or an `if`/`while` condition)
/// prints `FILE:LINE: error: …` and ends the run with its status; in the
/// REPL it only sets `$?`.
public final class Interpreter {
    static let maxCallDepth = 100
    static let maxSourceDepth = 32

    let registry: PluginRegistry
    let execute: ExecuteCommand
    let io: any ScriptIO
    let stopOnError: Bool
    /// Whether errors should say `run 'help'` (REPL) or `berth --help`.
    let interactive: Bool

    var globals: [String: ScriptValue] = [:]
    var frames: [ScriptFrame]
    var functions: [String: (definition: FunctionDefinition, file: String)] = [:]
    /// `$?`.
    public internal(set) var status: Int32 = 0
    /// The file whose statements run now (for error lines and `source`).
    var file: String
    /// > 0 while running where a failure must not stop the script.
    var guardDepth = 0
    /// How many `source`s deep the running statement is.
    var sourceDepth = 0
    lazy var owner = ScriptFunctionCommand.Owner(self)

    public init(
        registry: PluginRegistry, execute: @escaping ExecuteCommand, io: any ScriptIO,
        stopOnError: Bool, interactive: Bool = false, file: String = "-"
    ) {
        self.registry = registry
        self.execute = execute
        self.io = io
        self.stopOnError = stopOnError
        self.interactive = interactive
        self.file = file
        frames = [ScriptFrame(name: file, arguments: [], isFunction: false)]
    }

    /// How a run ended.
    public enum Outcome: Equatable, Sendable {
        /// Every statement ran (or the REPL goes on); `$?`.
        case finished(Int32)
        /// `exit N`, or a script stopped by a failure: leave with this status.
        case exit(Int32)
    }

    /// Parses and runs script text named `name` (a syntax error is reported
    /// as `NAME:LINE:COL: error: …` and nothing runs).
    public func run(source: String, name: String) -> Outcome {
        let block: ScriptBlock
        do {
            block = try ScriptParser.parse(source)
        } catch {
            io.writeError(error.rendered(file: name) + "\n")
            return .exit(125)
        }
        return run(block, file: name)
    }

    /// Runs parsed statements.
    public func run(_ block: ScriptBlock, file name: String) -> Outcome {
        file = name
        do {
            try run(block)
            return .finished(status)
        } catch {
            switch error {
            case .exit(let code), .failed(let code): return .exit(code)
            case .returned(let code):
                status = code
                return .finished(code)
            case .breakLoop, .continueLoop:
                return .finished(status)
            case .interrupted:  // the REPL clears the request before its next prompt
                status = 130
                return .finished(130)
            case .error(let e):  // not reached: statements report their own
                io.writeError("Error: \(e)\n")
                return .exit(e.exitCode)
            }
        }
    }

    // MARK: - Statements

    func run(_ block: ScriptBlock) throws(ScriptInterrupt) {
        for statement in block.statements {
            if Interruption.requested { throw .interrupted }
            do {
                try run(statement)
            } catch {
                guard case .error(let e) = error else { throw error }
                try report(e, at: statement.position)
            }
        }
    }

    private func run(_ statement: ScriptStatement) throws(ScriptInterrupt) {
        switch statement {
        case .run(let list):
            try runAndOr(list)
        case .assign(let name, let words, let isList, _):
            status = 0
            var fields: [String] = []
            for word in words { fields += try expand(word) }
            let value: ScriptValue
            if isList {
                value = .list(fields)
            } else if fields.count == 1 {
                value = .string(fields[0])
            } else if words.count == 1, words[0].isSingleSplice {
                value = .list(fields)
            } else {
                value = .string(fields.joined(separator: " "))
            }
            assign(name, value)
        case .ifElse(let condition, let then, let otherwise, _):
            let result = try guarded { () throws(ScriptInterrupt) in try runAndOr(condition) }
            if result == 0 {
                try run(then)
            } else if let otherwise {
                try run(otherwise)
            } else {
                status = 0
            }
        case .forIn(let variable, let items, let body, _):
            var values: [String] = []
            for item in items { values += try expand(item) }
            status = 0
            try loop { () throws(ScriptInterrupt) -> Bool in
                guard !values.isEmpty else { return false }
                assign(variable, .string(values.removeFirst()))
                try run(body)
                return true
            }
        case .whileLoop(let condition, let body, _):
            status = 0
            var last: Int32 = 0
            try loop { () throws(ScriptInterrupt) -> Bool in
                let result = try guarded { () throws(ScriptInterrupt) in try runAndOr(condition) }
                guard result == 0 else { status = last; return false }
                try run(body)
                last = status
                return true
            }
        case .function(let definition):
            try define(definition)
        }
    }

    /// Runs `step` until it returns false, honouring `break` and `continue`.
    private func loop(_ step: () throws(ScriptInterrupt) -> Bool) throws(ScriptInterrupt) {
        frames[frames.count - 1].loopDepth += 1
        defer { frames[frames.count - 1].loopDepth -= 1 }
        while true {
            if Interruption.requested { throw .interrupted }
            do {
                guard try step() else { return }
            } catch {
                switch error {
                case .breakLoop: return
                case .continueLoop: continue
                default: throw error
                }
            }
        }
    }

    /// Runs `body` where failures do not stop the script.
    func guarded<T>(_ body: () throws(ScriptInterrupt) -> T) throws(ScriptInterrupt) -> T {
        guardDepth += 1
        defer { guardDepth -= 1 }
        return try body()
    }

    @discardableResult
    private func runAndOr(_ list: AndOrList) throws(ScriptInterrupt) -> Int32 {
        let commands = [(AndOrList.Operator.and, list.first)] + list.rest
        for (offset, (op, command)) in commands.enumerated() {
            if offset > 0 && ((op == .and && status != 0) || (op == .or && status == 0)) { continue }
            if offset < commands.count - 1 {
                _ = try guarded { () throws(ScriptInterrupt) in try runCommand(command) }
            } else {
                try runCommand(command)
            }
        }
        return status
    }

    private func runCommand(_ command: SimpleCommand) throws(ScriptInterrupt) {
        if command.negated || command.tried {
            guardDepth += 1
        }
        defer { if command.negated || command.tried { guardDepth -= 1 } }
        var argv: [String] = []
        var result: Int32
        do {
            for word in command.words { argv += try expand(word) }
            result = try dispatch(argv)
        } catch {
            guard case .error(let e) = error else { throw error }
            try report(e, at: command.position)
            result = e.exitCode
        }
        // Ctrl-C stops whatever runs this command too, `try` or not.
        if Interruption.requested { status = 130; throw .interrupted }
        if result != 0 && !command.negated && !command.tried {
            status = result
            try reportStatus(argv, result, at: command.position)
        }
        status = command.negated ? (result == 0 ? 1 : 0) : result
    }

    // MARK: - Failures

    /// A thrown error: `FILE:LINE: error: …` and stop, or `Error: …` and go on.
    func report(_ error: BerthError, at position: SourcePosition) throws(ScriptInterrupt) {
        status = error.exitCode
        // Ctrl-C: the ^C on the screen says it all, as in a shell.
        if Interruption.requested && error == .interrupted { throw .interrupted }
        if stopOnError && guardDepth == 0 {
            io.writeError("\(file):\(position.line): error: \(error)\n")
            throw .failed(error.exitCode)
        }
        io.writeError("Error: \(error)\n")
    }

    /// A command that ran and returned non-zero (it printed its own errors).
    private func reportStatus(_ argv: [String], _ code: Int32, at position: SourcePosition) throws(ScriptInterrupt) {
        guard stopOnError && guardDepth == 0 else { return }
        io.writeError("\(file):\(position.line): error: \"\(argv.joined(separator: " "))\" exited with status \(code)\n")
        throw .failed(code)
    }

    // MARK: - Variables

    func assign(_ name: String, _ value: ScriptValue) {
        if frames.count > 1 {
            frames[frames.count - 1].locals[name] = value
        } else {
            globals[name] = value
        }
    }

    /// A variable's value: `$?`, `$#`, `$@`, `$0`, `$N`, a local, a global,
    /// else the process environment (`$HOME`). `${name:-text}` gives `text`
    /// when the name is unset or empty.
    func lookup(_ name: String) throws(ScriptInterrupt) -> ScriptValue {
        if let dash = name.range(of: ":-") {
            let fallback = String(name[dash.upperBound...])
            let value = try? lookup(String(name[..<dash.lowerBound]))
            guard let value, !value.joined.isEmpty else { return .string(fallback) }
            return value
        }
        let frame = frames[frames.count - 1]
        switch name {
        case "?": return .string(String(status))
        case "#": return .string(String(frame.arguments.count))
        case "@": return .list(frame.arguments)
        case "0": return .string(frame.name)
        default: break
        }
        if let n = Int(name) {
            guard n >= 1 && n <= frame.arguments.count else {
                throw .error(BerthError("$\(name) is not set: \(frame.name) got \(frame.arguments.count) argument(s)"))
            }
            return .string(frame.arguments[n - 1])
        }
        if let value = frame.locals[name] ?? globals[name] { return value }
        if let value = getenv(name) { return .string(String(cString: value)) }
        throw .error(BerthError("undefined variable $\(name); set it first with \(name) = VALUE"))
    }

    /// A word's fields: quoted parts join into one word; an unquoted list
    /// variable or `$(…)` splits into several (a capture on whitespace).
    func expand(_ word: ScriptWord) throws(ScriptInterrupt) -> [String] {
        var fields: [String] = []
        var current = ""
        var started = false
        func splice(_ items: [String]) {
            guard let first = items.first else { return }
            current += first
            started = true
            guard items.count > 1 else { return }
            fields.append(current)
            fields += items.dropFirst().dropLast()
            current = items[items.count - 1]
        }
        for segment in word.segments {
            switch segment {
            case .text(let text, _):
                current += text
                started = true
            case .variable(let name, let quoted):
                let value = try lookup(name)
                switch value {
                case .list(let items) where !quoted || name == "@": splice(items)
                default:
                    current += value.joined
                    started = true
                }
            case .capture(let block, let quoted):
                let output = try capture(block)
                if quoted {
                    current += output
                    started = true
                } else {
                    splice(output.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
                }
            }
        }
        if started { fields.append(current) }
        return fields
    }

    /// Runs a block with stdout captured; the output without its trailing
    /// newlines. `exit` inside ends only the capture, as a subshell would.
    private func capture(_ block: ScriptBlock) throws(ScriptInterrupt) -> String {
        do {
            try io.beginCapture()
        } catch {
            throw .error(error)
        }
        var interrupt: ScriptInterrupt?
        do {
            try run(block)
        } catch {
            switch error {
            case .exit(let code): status = code
            default: interrupt = error
            }
        }
        var output = io.endCapture()
        if let interrupt { throw interrupt }
        while output.hasSuffix("\n") { output.removeLast() }
        return output
    }
}

extension ScriptWord {
    /// Whether the word is exactly one unquoted `$(…)` or `$var`, whose
    /// fields an assignment keeps as a list.
    var isSingleSplice: Bool {
        guard segments.count == 1 else { return false }
        switch segments[0] {
        case .capture(_, quoted: false), .variable(_, quoted: false): return true
        default: return false
        }
    }
}
