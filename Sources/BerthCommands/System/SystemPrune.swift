#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth system prune [-a] [--volumes] [-f] [--filter …]`: stopped
/// containers, unused networks, dangling (`-a`: unused) images and with
/// `--volumes` unused anonymous volumes, after Docker's warning.
struct SystemPruneCommand: Command {
    static let all = Flag.bool("all", short: "a", help: "Remove all unused images not just dangling ones")
    static let force = Flag.bool("force", short: "f", help: "Do not prompt for confirmation")
    static let volumes = Flag.bool("volumes", help: "Prune anonymous volumes")

    let spec = CommandSpec(
        "system prune", summary: "Remove unused data",
        flags: [Self.all, PruneFilter.flag, Self.force, Self.volumes], max: 0)

    /// Docker's warning for these options (Berth has no build cache, so
    /// Docker's build-cache line is left out).
    static func warning(all: Bool, volumes: Bool, filter: PruneFilter) -> String {
        var items = ["all stopped containers", "all networks not used by at least one container"]
        if volumes { items.append("all anonymous volumes not used by at least one container") }
        items.append(all ? "all images without at least one container associated to them" : "all dangling images")
        var text = "WARNING! This will remove:\n" + items.map { "  - " + $0 + "\n" }.joined()
        if !filter.isEmpty {
            text += "\n  Items to be pruned will be filtered with:\n" + filter.descriptions.map { "  - " + $0 + "\n" }.joined()
        }
        return text + "\n" + Confirmation.question
    }

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let filter = try PruneFilter(args[PruneFilter.flag])
        let all = args[Self.all], volumes = args[Self.volumes]
        if volumes { try Prune.checkVolumeFilter(filter) }
        guard Confirmation.ask(ctx, Self.warning(all: all, volumes: volumes, filter: filter), force: args[Self.force]) else {
            return 0
        }
        let lifecycle = try ctx.lifecycle()
        let containers = Prune.containers(lifecycle, filter, ctx)
        Prune.section(ctx, "Deleted Containers:", containers.deleted)
        Prune.section(ctx, "Deleted Networks:", Prune.networks(NetworkStore(layout: lifecycle.layout), filter))
        var reclaimed = containers.reclaimed
        if volumes {
            let removed = Prune.volumes(VolumeStore(layout: lifecycle.layout), all: false, filter)
            Prune.section(ctx, "Deleted Volumes:", removed.deleted)
            reclaimed += removed.reclaimed
        }
        let images = try Prune.images(lifecycle.images, all: all, filter, registry: lifecycle.registry)
        Prune.section(ctx, "Deleted Images:", images.lines)
        reclaimed += images.reclaimed
        ctx.print("Total reclaimed space: \(Format.size(reclaimed))")
        return 0
    }
}
