import BerthCore

/// A script function registered as a command, so that `help`, `plugin ls`
/// and Tab completion see it like any other. Running it goes back into the
/// interpreter that defined it.
struct ScriptFunctionCommand: Command {
    /// The interpreter, held weakly: it may be gone while the registry lives on.
    final class Owner: @unchecked Sendable {
        weak var interpreter: Interpreter?
        init(_ interpreter: Interpreter) { self.interpreter = interpreter }
    }

    let spec: CommandSpec
    let owner: Owner

    init(_ definition: FunctionDefinition, file: String, owner: Owner) {
        let arguments: [ArgSpec]
        if let parameters = definition.parameters {
            arguments = parameters.map { ArgSpec($0.uppercased()) }
        } else {
            arguments = [ArgSpec("ARG", repeats: true, optional: true)]
        }
        let where_ = "\(file):\(definition.position.line)"
        spec = CommandSpec(
            definition.name, summary: "Script function (\(where_))", arguments: arguments,
            min: definition.parameters?.count ?? 0, max: definition.parameters?.count,
            interspersed: false,
            details: "Defined with fn at \(where_).")
        self.owner = owner
    }

    func run(_ args: ParsedArguments, _ context: CommandContext) throws(BerthError) -> Int32 {
        guard let interpreter = owner.interpreter else {
            throw BerthError("script function \(spec.name) is gone: the script that defined it has ended")
        }
        return try interpreter.callFromRegistry(spec.name, args.positionals)
    }
}
