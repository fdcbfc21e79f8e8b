#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth rename OLD NEW`.
struct RenameCommand: Command {
    let spec = CommandSpec(
        "rename", aliases: ["container rename"], summary: "Rename a container",
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil)), ArgSpec("NEW_NAME")], min: 2, max: 2)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        try ctx.lifecycle().rename(args.positionals[0], to: args.positionals[1])
        return 0
    }
}
