#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth network prune [-f] [--filter …]`: removes every user network no container uses.
struct NetworkPruneCommand: Command {
    static let force = Flag.bool("force", short: "f", help: "Do not prompt for confirmation")

    let spec = CommandSpec(
        "network prune", summary: "Remove all unused networks",
        flags: [PruneFilter.flag, Self.force], max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let filter = try PruneFilter(args[PruneFilter.flag])
        let warning =
            "WARNING! This will remove all custom networks not used by at least one container.\n" + Confirmation.question
        guard Confirmation.ask(ctx, warning, force: args[Self.force]) else { return 0 }
        Prune.section(ctx, "Deleted Networks:", Prune.networks(NetworkStore(layout: try ctx.openStore()), filter))
        return 0
    }
}
