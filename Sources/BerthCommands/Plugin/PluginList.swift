import BerthEngine

/// `berth plugin ls`: every registered command, isolation backend and
/// storage driver with its kind and origin.
struct PluginListCommand: Command {
    static let kind = Flag.string(
        "kind", help: "Only show one kind (command, isolation, storage)", completion: .words(PluginKind.allCases.map(\.rawValue)))
    static let quiet = Flag.bool("quiet", short: "q", help: "Only show ids")

    let spec = CommandSpec(
        "plugin ls", aliases: ["plugin list", "plugins"],
        summary: "List commands, isolation backends and storage drivers with their kind and origin",
        flags: [Self.kind, Self.quiet], max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var entries = ctx.registry.all
        if let kind = args[Self.kind] {
            guard let k = PluginKind(rawValue: kind) else {
                throw BerthError("plugin ls: unknown kind \"\(kind)\"; use command, isolation or storage")
            }
            entries = entries.filter { $0.kind == k }
        }
        if args[Self.quiet] {
            entries.forEach { ctx.print($0.id) }
            return 0
        }
        let order = PluginKind.allCases
        entries.sort { (order.firstIndex(of: $0.kind)!, $0.id) < (order.firstIndex(of: $1.kind)!, $1.id) }
        var rows = entries.map { [$0.kind.rawValue, $0.id, $0.origin.description, $0.version, $0.description] }
        if args[Self.kind] == nil || args[Self.kind] == "command" {
            rows += ctx.registry.rejections.map { r in
                let file = FileSystem.baseName(r.path)
                let name = file.hasPrefix("berth-") ? String(file.dropFirst(6)) : file
                return ["command", name, r.path, "-", "REJECTED: " + r.reason]
            }
        }
        ctx.printRaw(Table.render(["KIND", "ID", "ORIGIN", "VERSION", "DESCRIPTION"], rows))
        return 0
    }
}
