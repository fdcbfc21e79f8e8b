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
        let lifecycle = try ctx.lifecycle()
        let newName = args.positionals[1]
        try ContainerNames.validate(newName)
        let container = try lifecycle.containers.find(args.positionals[0])
        try FileLock.withLock(lifecycle.layout.containerLock) { () throws(BerthError) in
            if let other = lifecycle.containers.all().first(where: { $0.name == newName }) {
                throw .conflict(
                    "Conflict. The container name \"/\(newName)\" is already in use by container \"\(other.id)\". You have to remove (or rename) that container to be able to reuse that name."
                )
            }
            try lifecycle.containers.update(container.id) { (c: inout Container) throws(BerthError) in c.name = newName }
        }
        return 0
    }
}
