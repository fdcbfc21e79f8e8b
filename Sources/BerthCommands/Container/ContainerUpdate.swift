#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth update`: change a container's limits, running or not.
struct UpdateCommand: Command {
    let spec = CommandSpec(
        "update", aliases: ["container update"], summary: "Update configuration of one or more containers",
        flags: ContainerFlags.resourceFlags + RestartFlags.all,
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let change = try ContainerFlags.resources(args)
        // `--restart`: the policy the monitor reads at the next exit.
        let policy = try args[RestartFlags.restart].map { (t) throws(BerthError) in try RestartPolicy.parse(t) }
        guard !change.isEmpty || policy != nil else {
            throw BerthError("you must provide one or more flags when using this command")
        }
        let lifecycle = try ctx.lifecycle()
        return ctx.forEach(args.positionals, printName: true) { (ref) throws(BerthError) in
            try lifecycle.update(ref, change: change, policy: policy)
        }
    }
}
