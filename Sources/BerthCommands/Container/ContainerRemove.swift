#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth rm [-f]`.
struct RmCommand: Command {
    static let force = Flag.bool("force", short: "f", help: "Force the removal of a running container (uses SIGKILL)")
    static let volumes = Flag.bool("volumes", short: "v", help: "Remove anonymous volumes associated with the container")

    let spec = CommandSpec(
        "rm", aliases: ["container rm", "container remove"], summary: "Remove one or more containers",
        flags: [Self.force, Self.volumes],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let force = args[Self.force]
        return ctx.forEach(args.positionals, printName: true, tolerated: force ? [.notFound] : []) { (ref) throws(BerthError) in
            try lifecycle.remove(ref, force: force, volumes: args[Self.volumes])
        }
    }
}
