import BerthEngine

/// `berth tag SOURCE TARGET`.
struct TagCommand: Command {
    let spec = CommandSpec(
        "tag", aliases: ["image tag"],
        summary: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
        arguments: [ArgSpec("SOURCE_IMAGE[:TAG]", completion: .images), ArgSpec("TARGET_IMAGE[:TAG]")],
        min: 2, max: 2)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = try ctx.images()
        let target = try ImageReference(parsing: args.positionals[1])
        try FileLock.withLock(store.layout.imageLock) { () throws(BerthError) in
            let image = try store.resolve(args.positionals[0])
            try store.setTag(target, to: image.id)
        }
        return 0
    }
}
