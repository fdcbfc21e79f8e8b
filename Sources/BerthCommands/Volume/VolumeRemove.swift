#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth volume rm NAME...`: refused while a container uses it.
struct VolumeRemoveCommand: Command {
    static let force = Flag.bool("force", short: "f", help: "Do not error if the volume does not exist")

    let spec = CommandSpec(
        "volume rm", aliases: ["volume remove"], summary: "Remove one or more volumes",
        flags: [Self.force],
        arguments: [ArgSpec("VOLUME", repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = VolumeStore(layout: try ctx.openStore())
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in
            if args[Self.force], (try? store.get(name)) == nil { return }
            try store.remove(name)
        }
    }
}
