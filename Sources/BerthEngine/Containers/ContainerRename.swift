extension Lifecycle {
    /// `rename OLD NEW`, shared by the CLI and the API service: the new
    /// name is checked and claimed under the name lock, so two renames (or
    /// a rename and a create) cannot both take it.
    public func rename(_ ref: String, to newName: String) throws(BerthError) {
        try ContainerNames.validate(newName)
        let container = try containers.find(ref)
        let index = ContainerNameIndex(layout: layout)
        try index.ensure(containers)
        try FileLock.withLock(layout.containerLock) { () throws(BerthError) in
            if let other = try containers.owner(of: newName) {
                throw .conflict(
                    "Conflict. The container name \"/\(newName)\" is already in use by container \"\(other.id)\". You have to remove (or rename) that container to be able to reuse that name."
                )
            }
            // The new link before the record says so, the old one dropped after
            // (ContainerNameIndex): a crash leaves a stale link, never a missing one.
            try index.claim(newName, for: container.id)
            try containers.update(container.id) { (c: inout Container) throws(BerthError) in c.name = newName }
            index.release(container.name, of: container.id)
        }
        // A link names its container where dockerd's follows it by ID: the
        // containers linked to the old name now name the new one (their
        // aliases stay), so their next start still finds it.
        let old = container.name
        for parent in containers.all() where parent.networkOptions.links.contains(where: { $0.name == old }) {
            _ = try? containers.update(parent.id) { (c: inout Container) throws(BerthError) in
                c.networkOptions.links = c.networkOptions.links.map {
                    $0.name == old ? ContainerLink(name: newName, alias: $0.alias) : $0
                }
            }
        }
    }
}
