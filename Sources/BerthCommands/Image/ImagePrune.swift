#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth image prune [-a] [-f] [--filter …]`: removes images no container uses.
struct ImagePruneCommand: Command {
    let spec = CommandSpec(
        "image prune", summary: "Remove unused images",
        flags: [FlagSpec("all", short: "a", help: "Remove all unused images, not just dangling ones"),
                PruneFilter.flag,
                FlagSpec("force", short: "f", help: "Do not prompt for confirmation")], max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let filter = try PruneFilter(args.strings("filter"))
        let all = args.bool("all")
        let warning = all ? "WARNING! This will remove all images without at least one container associated to them."
                          : "WARNING! This will remove all dangling images."
        guard Confirmation.ask(ctx, warning + "\n" + Confirmation.question, force: args.bool("force")) else { return 0 }
        let (lines, reclaimed) = try Prune.images(try ctx.images(), all: all, filter)
        Prune.section(ctx, "Deleted Images:", lines)
        ctx.print("Total reclaimed space: \(Format.size(reclaimed))")
        return 0
    }
}
