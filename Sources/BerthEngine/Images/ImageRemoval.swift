extension ImageStore {
    /// `rmi [-f] NAME`, shared by the CLI and the API service (call it
    /// under the image lock): untags, and deletes the image once no tag or
    /// container needs it. Returns Docker's lines, `Untagged: REF` and
    /// `Deleted: ID`, in order.
    public func remove(_ name: String, force: Bool) throws(BerthError) -> [String] {
        let store = self
        let image = try store.resolve(name)
        let byTag = image.tags.first { $0 == (try? ImageReference(parsing: name)) && !name.hasPrefix("sha256:") }
        let users = ContainerStore(layout: store.layout).all().filter { $0.image == image.id }
        if let byTag, image.tags.count > 1 {
            try store.removeTag(byTag)  // other tags keep the image
            return ["Untagged: \(byTag)"]
        }
        if byTag == nil, image.tags.count > 1, !force {
            throw BerthError(
                .conflict,
                "conflict: unable to delete \(image.shortID) (must be forced) - image is referenced in multiple repositories; remove each tag, or use 'berth rmi -f'"
            )
        }
        if let user = users.first {
            if user.state.isActive {
                throw BerthError(
                    .conflict,
                    "conflict: unable to delete \(image.shortID) (cannot be forced) - image is being used by running container \(Format.shortID(user.id)); stop and remove the container first"
                )
            }
            guard force else {
                let what = byTag.map { "remove repository reference \"\($0)\"" } ?? "delete \(image.shortID)"
                throw BerthError(
                    .conflict,
                    "conflict: unable to \(what) (must be forced) - container \(Format.shortID(user.id)) is using its referenced image \(image.shortID); remove the container first, or use 'berth rmi -f'"
                )
            }
            // Forced while a stopped container needs it: untag, keep the image.
            for ref in image.tags { try store.removeTag(ref) }
            return image.tags.map { "Untagged: \($0)" }
        }
        let removed = try store.deleteImage(image)
        return image.tags.map { "Untagged: \($0)" } + ["Deleted: \(image.id)"] + removed.map { "Deleted: \($0)" }
    }
}
