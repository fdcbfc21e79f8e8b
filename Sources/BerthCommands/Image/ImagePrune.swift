#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth image prune [-a] [-f] [--filter …]`: removes images no container uses.
struct ImagePruneCommand: Command {
    static let all = Flag.bool("all", short: "a", help: "Remove all unused images, not just dangling ones")
    static let force = Flag.bool("force", short: "f", help: "Do not prompt for confirmation")

    let spec = CommandSpec(
        "image prune", summary: "Remove unused images",
        flags: [Self.all, PruneFilter.flag, Self.force], max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let filter = try PruneFilter(args[PruneFilter.flag])
        let all = args[Self.all]
        let warning =
            all
            ? "WARNING! This will remove all images without at least one container associated to them."
            : "WARNING! This will remove all dangling images."
        guard Confirmation.ask(ctx, warning + "\n" + Confirmation.question, force: args[Self.force]) else { return 0 }
        let (lines, reclaimed) = try Prune.images(try ctx.images(), all: all, filter, registry: ctx.registry)
        Prune.section(ctx, "Deleted Images:", lines)
        ctx.print("Total reclaimed space: \(Format.size(reclaimed))")
        return 0
    }
}
