import BerthEngine

/// `berth rmi [-f] IMAGE...`: untag, and delete images no tag or container
/// still needs, with their unshared layers.
struct RmiCommand: Command {
    static let force = Flag.bool("force", short: "f", help: "Force removal of the image")
    static let all = Flag.bool("all", short: "a", help: "Remove all images, by each of their tags (Podman)")

    let spec = CommandSpec(
        "rmi", aliases: ["image rm", "image remove"],
        summary: "Remove one or more images",
        flags: [Self.force, Self.all],
        arguments: [ArgSpec("IMAGE", completion: .images, repeats: true)], min: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        if args[Self.all] && !args.positionals.isEmpty {
            throw .usage("when using the --all switch, you may not pass any images names or IDs; see 'berth rmi --help'")
        }
        if !args[Self.all] && args.positionals.isEmpty {
            throw .arguments("\"berth rmi\" requires at least 1 argument; usage: \(spec.usageLine)")
        }
        let store = try ctx.images()
        var status: Int32 = 0
        // -a: every image by each of its tags (the last one deletes it), an
        // untagged one by its ID, as Podman removes them all.
        let names =
            args[Self.all]
            ? store.all().flatMap { $0.tags.isEmpty ? [$0.id] : $0.tags.map(\.description) } : args.positionals
        for name in names {
            do throws(BerthError) {
                let lines = try FileLock.withLock(store.layout.imageLock) { () throws(BerthError) in
                    try remove(name, store, force: args[Self.force])
                }
                lines.forEach(ctx.print)
            } catch {
                ctx.warn("Error: \(error)")
                status = error.exitCode(engine: ExitCode.general)
            }
        }
        return status
    }

    func remove(_ name: String, _ store: ImageStore, force: Bool) throws(BerthError) -> [String] {
        let image = try store.resolve(name)
        let byTag = image.tags.first { $0 == (try? ImageReference(parsing: name)) && !name.hasPrefix("sha256:") }
        let users = ContainerStore(layout: store.layout).all().filter { $0.image == image.id }
        if let byTag, image.tags.count > 1 {
            try store.removeTag(byTag)  // other tags keep the image
            return ["Untagged: \(byTag)"]
        }
        if byTag == nil, image.tags.count > 1, !force {
            throw BerthError(
                "conflict: unable to delete \(image.shortID) (must be forced) - image is referenced in multiple repositories; remove each tag, or use 'berth rmi -f'"
            )
        }
        if let user = users.first {
            if user.state.isActive {
                throw BerthError(
                    "conflict: unable to delete \(image.shortID) (cannot be forced) - image is being used by running container \(Format.shortID(user.id)); stop and remove the container first"
                )
            }
            guard force else {
                let what = byTag.map { "remove repository reference \"\($0)\"" } ?? "delete \(image.shortID)"
                throw BerthError(
                    "conflict: unable to \(what) (must be forced) - container \(Format.shortID(user.id)) is using its referenced image \(image.shortID); remove the container first, or use 'berth rmi -f'"
                )
            }
            // Forced while a stopped container needs it: untag, keep the image.
            for ref in image.tags { try store.removeTag(ref) }
            return image.tags.map { "Untagged: \($0)" }
        }
        var lines = image.tags.map { "Untagged: \($0)" } + ["Deleted: \(image.id)"]
        lines += try store.deleteImage(image).map { "Deleted: \($0)" }
        // The untagged images a build made this one from go with it, as in
        // Docker, unless a tag, a container or another image still needs them.
        let containers = ContainerStore(layout: store.layout).all()
        var child = image.id
        while let parent = BuildCache.orphanedParent(
            of: child, in: store.layout, tagged: Set(store.repositories().map(\.1))),
            !containers.contains(where: { $0.image == parent })
        {
            lines.append("Deleted: \(parent)")
            lines += try store.deleteImage(try store.load(id: parent)).map { "Deleted: \($0)" }
            child = parent
        }
        return lines
    }
}

extension ImageStore {
    /// `rmi [-f] NAME` for the API service (call it under the image lock):
    /// Docker's `Untagged: …` and `Deleted: …` lines, in order.
    public func remove(_ name: String, force: Bool) throws(BerthError) -> [String] {
        try RmiCommand().remove(name, self, force: force)
    }
}
