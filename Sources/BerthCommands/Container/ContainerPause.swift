#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth pause` / `berth unpause`: the cgroup freezer.
struct PauseCommand: Command {
    let spec = CommandSpec(
        "pause", aliases: ["container pause"], summary: "Pause all processes within one or more containers",
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running"]), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in try lifecycle.pause(name) }
    }
}
