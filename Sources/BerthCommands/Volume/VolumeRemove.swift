#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth volume rm NAME...`: refused while a container uses it.
struct VolumeRemoveCommand: Command {
    static let force = Flag.bool("force", short: "f", help: "Do not error if the volume does not exist")
    static let all = Flag.bool("all", short: "a", help: "Remove all volumes; one in use is refused (Podman)")

    let spec = CommandSpec(
        "volume rm", aliases: ["volume remove"], summary: "Remove one or more volumes",
        flags: [Self.force, Self.all],
        arguments: [ArgSpec("VOLUME", repeats: true)], min: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        if args[Self.all] == !args.positionals.isEmpty {
            // Podman's words for both mistakes.
            if args[Self.all] { throw .usage("choose either one or more volumes or all; see 'berth volume rm --help'") }
            throw .arguments("\"berth volume rm\" requires at least 1 argument; usage: \(spec.usageLine)")
        }
        let store = VolumeStore(layout: try ctx.openStore())
        let names = args[Self.all] ? store.all().map(\.name) : args.positionals
        return ctx.forEach(names, printName: true) { (name) throws(BerthError) in
            if args[Self.force], (try? store.get(name)) == nil { return }
            try store.remove(name)
        }
    }
}
