#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth unpause`: thaws the cgroup freezer.
struct UnpauseCommand: Command {
    let spec = CommandSpec(
        "unpause", aliases: ["container unpause"], summary: "Unpause all processes within one or more containers",
        arguments: [ArgSpec("CONTAINER", completion: .containers(["paused"]), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in try lifecycle.unpause(name) }
    }
}
