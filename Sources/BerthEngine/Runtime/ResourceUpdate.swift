extension Lifecycle {
    /// `update`: sets the limits given in `change` (nil fields keep theirs),
    /// validated as a whole, applied at once to a running container's
    /// cgroup, then recorded. Shared by the CLI and the API service.
    public func update(_ ref: String, _ change: Resources) throws(BerthError) {
        let found = try containers.find(ref)
        _ = try containers.update(found.id) { (c: inout Container) throws(BerthError) in
            var r = c.resources
            if let v = change.memory { r.memory = v }
            if let v = change.memorySwap { r.memorySwap = v }
            if let v = change.nanoCpus { r.nanoCpus = v }
            if let v = change.cpuShares { r.cpuShares = v }
            if let v = change.cpusetCpus { r.cpusetCpus = v }
            if let v = change.pidsLimit { r.pidsLimit = v }
            try r.validate()
            if c.state.isActive { try Cgroup(path: c.cgroupPath).apply(change.memory != nil ? r : change) }
            c.resources = r
        }
        events.record("update", found)
    }
}
