#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth network inspect NETWORK...`.
struct NetworkInspectCommand: Command {
    static let format = Flag.string("format", short: "f", help: "Format output using a Go template")

    let spec = CommandSpec(
        "network inspect", summary: "Display detailed information on one or more networks",
        flags: [Self.format],
        arguments: [ArgSpec("NETWORK", repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let store = NetworkStore(layout: lifecycle.layout)
        let containers = lifecycle.containers.all()
        var found: [JSON] = []
        let status = ctx.forEach(args.positionals, printName: false) { (name) throws(BerthError) in
            if let mode = NetworkRecord.modeDocument(name, containers: containers) { return found.append(mode) }
            let n = try store.find(name)
            let members = containers.compactMap { c -> (id: String, name: String, endpoint: NetworkEndpoint)? in
                guard let e = c.endpoints.first(where: { $0.network == n.name }) else { return nil }
                return (c.id, c.name, e)
            }
            found.append(n.inspect(containers: members))
        }
        try ctx.printInspected(found, format: args[Self.format])
        return status
    }
}
