import BerthEngine

/// `berth plugin inspect NAME`: a registration as JSON.
struct PluginInspectCommand: Command {
    let spec = CommandSpec(
        "plugin inspect", summary: "Show a plugin's metadata as JSON",
        arguments: [ArgSpec("NAME", completion: .plugins, repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var found: [JSON] = []
        for name in args.positionals {
            let matches = ctx.registry.all.filter { $0.id == name }
            guard !matches.isEmpty else {
                throw BerthError("plugin inspect: no plugin named \"\(name)\"; list them with 'berth plugin ls'")
            }
            for reg in matches {
                var fields: [(String, JSON)] = [
                    ("Kind", .string(reg.kind.rawValue)), ("Id", .string(reg.id)),
                    ("Origin", .string(reg.origin.description)),
                    ("Version", .string(reg.version)),
                    ("Description", .string(reg.description)),
                ]
                if case .command(let make) = reg.factory {
                    let spec = make().spec
                    fields.append(("Usage", .string(spec.usageLine)))
                    fields.append(("Flags", .strings(spec.flags.map { "--" + $0.long })))
                }
                found.append(.object(fields))
            }
        }
        ctx.print(JSON.array(found).pretty())
        return 0
    }
}
