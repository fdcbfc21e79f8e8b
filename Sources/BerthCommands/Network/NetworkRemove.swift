#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth network rm NETWORK...`: refused while a container is on it.
struct NetworkRemoveCommand: Command {
    static let force = Flag.bool("force", short: "f", help: "Do not error if the network does not exist")

    let spec = CommandSpec(
        "network rm", aliases: ["network remove"], summary: "Remove one or more networks",
        flags: [Self.force],
        arguments: [ArgSpec("NETWORK", repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = NetworkStore(layout: try ctx.openStore())
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in
            if args[Self.force], (try? store.find(name)) == nil { return }
            try store.remove(name)
        }
    }
}
