#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth volume prune`: removes unused anonymous volumes (`-a`: every unused one).
struct VolumePruneCommand: Command {
    static let all = Flag.bool("all", short: "a", help: "Remove all unused volumes, not just anonymous ones")
    static let filter = Flag.strings(
        "filter", value: "filter", help: "Provide filter values (e.g. 'label=<key>=<value>', 'label!=<key>')")
    static let force = Flag.bool("force", short: "f", help: "Do not prompt for confirmation")

    let spec = CommandSpec(
        "volume prune", summary: "Remove unused local volumes",
        flags: [Self.all, Self.filter, Self.force], max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let filter = try PruneFilter(args[Self.filter])
        try Prune.checkVolumeFilter(filter)
        let warning =
            (args[Self.all]
                ? "WARNING! This will remove all local volumes not used by at least one container.\n"
                : "WARNING! This will remove anonymous local volumes not used by at least one container.\n")
            + Confirmation.question
        guard Confirmation.ask(ctx, warning, force: args[Self.force]) else { return 0 }
        let removed = Prune.volumes(VolumeStore(layout: try ctx.openStore()), all: args[Self.all], filter)
        Prune.section(ctx, "Deleted Volumes:", removed.deleted)
        ctx.print("Total reclaimed space: \(Format.size(removed.reclaimed))")
        return 0
    }
}
