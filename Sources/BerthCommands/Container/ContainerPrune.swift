#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth container prune [-f] [--filter …]`: removes every stopped container.
struct ContainerPruneCommand: Command {
    static let force = Flag.bool("force", short: "f", help: "Do not prompt for confirmation")

    let spec = CommandSpec(
        "container prune", summary: "Remove all stopped containers",
        flags: [PruneFilter.flag, Self.force], max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let filter = try PruneFilter(args[PruneFilter.flag])
        let warning = "WARNING! This will remove all stopped containers.\n" + Confirmation.question
        guard Confirmation.ask(ctx, warning, force: args[Self.force]) else { return 0 }
        let removed = Prune.containers(try ctx.lifecycle(), filter, ctx)
        Prune.section(ctx, "Deleted Containers:", removed.deleted)
        ctx.print("Total reclaimed space: \(Format.size(removed.reclaimed))")
        return 0
    }
}
