import BerthEngine

/// `berth image exists IMAGE` (Podman's): exit 0 if the image is in the
/// store, 1 if not, nothing printed.
struct ImageExistsCommand: Command {
    let spec = CommandSpec(
        "image exists", summary: "Check if an image exists in the store (exit 0 if it does, 1 if not)",
        arguments: [ArgSpec("IMAGE", completion: .images)], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = try ctx.images()
        do {
            _ = try store.resolve(args.positionals[0])
            return 0
        } catch  where error.kind == .notFound {
            return 1
        }
    }
}
