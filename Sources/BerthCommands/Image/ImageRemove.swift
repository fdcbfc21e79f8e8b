import BerthEngine

/// `berth rmi [-f] IMAGE...`: untag, and delete images no tag or container
/// still needs, with their unshared layers.
struct RmiCommand: Command {
    static let force = Flag.bool("force", short: "f", help: "Force removal of the image")

    let spec = CommandSpec(
        "rmi", aliases: ["image rm", "image remove"],
        summary: "Remove one or more images",
        flags: [Self.force],
        arguments: [ArgSpec("IMAGE", completion: .images, repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = try ctx.images()
        var status: Int32 = 0
        for name in args.positionals {
            do throws(BerthError) {
                let lines = try FileLock.withLock(store.layout.imageLock) { () throws(BerthError) in
                    try store.remove(name, force: args[Self.force])
                }
                lines.forEach(ctx.print)
            } catch {
                ctx.warn("Error: \(error)")
                status = error.exitCode(engine: ExitCode.general)
            }
        }
        return status
    }
}
