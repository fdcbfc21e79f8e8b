#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// Finding what a command's words run: a script function, a shell
/// built-in, or a registered command through `execute`.
extension Interpreter {
    /// Words the shell answers itself; no function may take these names.
    static let builtinNames: Set<String> = [
        "echo", "test", "[", "true", "false", "exit", "quit", "source", "return", "break", "continue", "help",
    ]

    func dispatch(_ argv: [String]) throws(ScriptInterrupt) -> Int32 {
        guard let name = argv.first else { return status }
        let args = Array(argv.dropFirst())
        if let function = functions[name] { return try call(function.definition, file: function.file, args) }
        if registry.command(for: argv) == nil && Self.builtinNames.contains(name) && name != "help" {
            return try builtin(name, args)
        }
        do {
            return try execute(argv)
        } catch {
            throw .error(error)
        }
    }

    private func builtin(_ name: String, _ args: [String]) throws(ScriptInterrupt) -> Int32 {
        switch name {
        case "echo":
            var words = args
            var newline = true
            if words.first == "-n" { newline = false; words.removeFirst() }
            io.write(words.joined(separator: " ") + (newline ? "\n" : ""))
            return 0
        case "true": return 0
        case "false": return 1
        case "test", "[":
            var words = args
            if name == "[" {
                guard words.last == "]" else { throw .error(BerthError("[ needs a closing ]", exitCode: 2)) }
                words.removeLast()
            }
            do {
                return try TestExpression.evaluate(words) ? 0 : 1
            } catch {
                throw .error(error)
            }
        case "exit", "quit":
            let code: Int32
            do {
                code = try ShellBuiltins.exitStatus(args, default: status)
            } catch {
                throw .error(error)
            }
            throw .exit(code)
        case "return":
            guard frames[frames.count - 1].isFunction else {
                throw .error(BerthError("return outside a function"))
            }
            guard let text = args.first else { throw .returned(status) }
            guard args.count == 1, let code = Int32(text), (0...255).contains(code) else {
                throw .error(BerthError("return takes one status between 0 and 255, not \"\(args.joined(separator: " "))\""))
            }
            throw .returned(code)
        case "break", "continue":
            guard frames[frames.count - 1].loopDepth > 0 else {
                throw .error(BerthError("\(name) outside a loop"))
            }
            throw name == "break" ? .breakLoop : .continueLoop
        case "source":
            guard args.count == 1 else { throw .error(BerthError("source takes one FILE")) }
            return try source(args[0])
        default:
            throw .error(ShellBuiltins.unknownCommand(name, interactive: interactive))
        }
    }

    /// `source FILE`: runs the file's statements here, so its functions and
    /// variables stay. A relative path is taken from the sourcing script's
    /// directory (the working directory in the REPL and for stdin).
    private func source(_ path: String) throws(ScriptInterrupt) -> Int32 {
        var resolved = path
        if !path.hasPrefix("/"), file != "-", file != "repl", let slash = file.lastIndex(of: "/") {
            resolved = String(file[...slash]) + path
        }
        guard sourceDepth < Self.maxSourceDepth else {
            throw .error(BerthError("source nested more than \(Self.maxSourceDepth) deep (does \(path) source itself?)"))
        }
        let text: String
        let block: ScriptBlock
        do {
            text = try io.readFile(resolved)
        } catch {
            throw .error(error)
        }
        do {
            block = try ScriptParser.parse(text)
        } catch {
            throw .error(BerthError(error.rendered(file: resolved).replacingFirst(": error: ", with: ": ")))
        }
        let outer = file
        file = resolved
        sourceDepth += 1
        defer {
            file = outer
            sourceDepth -= 1
        }
        status = 0
        try run(block)
        return status
    }

    // MARK: - Functions

    /// `fn NAME … { }`: remembers the body and registers a command, so help,
    /// `plugin ls` and completion show it. Built-in names are refused.
    func define(_ definition: FunctionDefinition) throws(ScriptInterrupt) {
        let name = definition.name
        if Self.builtinNames.contains(name) || ScriptParser.keywords.contains(name) {
            throw .error(BerthError("cannot define function \"\(name)\": it is a shell built-in; pick another name"))
        }
        let isOurs = registry.all(.command).contains { reg in
            if case .script = reg.origin, reg.id == name { return true }
            return false
        }
        if !isOurs && (registry.contains(.command, name) || registry.command(for: [name]) != nil) {
            throw .error(BerthError("cannot define function \"\(name)\": a built-in command has that name; pick another name"))
        }
        functions[name] = (definition, file)
        let command = ScriptFunctionCommand(definition, file: file, owner: owner)
        let summary = command.spec.summary
        registry.replace(
            Registration(
                kind: .command, id: name, description: summary,
                origin: .script("\(file):\(definition.position.line)"),
                factory: .command { command }))
        status = 0
    }

    func call(_ definition: FunctionDefinition, file defined: String, _ args: [String]) throws(ScriptInterrupt) -> Int32 {
        if let parameters = definition.parameters, parameters.count != args.count {
            let names = parameters.joined(separator: " ")
            throw .error(BerthError("\(definition.name) takes \(parameters.count) argument(s) (\(names)), got \(args.count)"))
        }
        guard frames.count < Self.maxCallDepth else {
            throw .error(BerthError("function calls nested more than \(Self.maxCallDepth) deep in \(definition.name)"))
        }
        var frame = ScriptFrame(name: definition.name, arguments: args, isFunction: true)
        for (parameter, value) in zip(definition.parameters ?? [], args) { frame.locals[parameter] = .string(value) }
        frames.append(frame)
        let outer = file
        file = defined
        defer {
            frames.removeLast()
            file = outer
        }
        status = 0
        do {
            try run(definition.body)
        } catch {
            guard case .returned(let code) = error else { throw error }
            status = code
        }
        return status
    }

    /// A function run through the registry (another command's `invoke`).
    func callFromRegistry(_ name: String, _ args: [String]) throws(BerthError) -> Int32 {
        guard let function = functions[name] else { throw BerthError("no script function \(name)") }
        do {
            return try call(function.definition, file: function.file, args)
        } catch {
            switch error {
            case .error(let e): throw e
            case .failed(let code), .exit(let code), .returned(let code): return code
            case .breakLoop, .continueLoop: return status
            case .interrupted: throw .interrupted
            }
        }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }

    func range(of target: String) -> Range<String.Index>? {
        guard !target.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<(index(i, offsetBy: target.count)) }
            i = index(after: i)
        }
        return nil
    }
}
