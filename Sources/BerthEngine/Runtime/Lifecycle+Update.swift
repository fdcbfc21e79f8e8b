/// `update`: a container's limits and restart policy changed in place,
/// running or not. One place for `berth update` and the API's
/// `POST /containers/ID/update`, so both change the same things the same way.
extension Lifecycle {
    /// Applies the limits `change` gives (only those; nil fields keep the
    /// container's) and `policy`; a running container's cgroup is written
    /// at once, a stopped one gets them at its next start.
    @discardableResult
    public func update(_ ref: String, change: Resources, policy: RestartPolicy?) throws(BerthError) -> Container {
        let found = try containers.find(ref)
        let updated = try containers.update(found.id) { (c: inout Container) throws(BerthError) in
            var r = c.resources
            if let v = change.memory { r.memory = v }
            if let v = change.memorySwap { r.memorySwap = v }
            if let v = change.nanoCpus { r.nanoCpus = v }
            if let v = change.cpuShares { r.cpuShares = v }
            if let v = change.cpusetCpus { r.cpusetCpus = v }
            if let v = change.pidsLimit { r.pidsLimit = v }
            if let v = change.cpuPeriod { r.cpuPeriod = v }
            if let v = change.cpuQuota { r.cpuQuota = v }
            if let v = change.cpusetMems { r.cpusetMems = v }
            if let v = change.memoryReservation { r.memoryReservation = v }
            try r.validate()
            if let policy {
                if c.autoRemove && !policy.isNone {
                    throw .invalid("Restart policy cannot be updated because AutoRemove is enabled for the container")
                }
                c.restartPolicy = policy
            }
            if c.state.isActive && !change.isEmpty {
                // Only what changed is written, but memory with its swap
                // and the CFS pair whole (cpu.max holds both numbers).
                var written = change.memory != nil ? r : change
                if change.cfs != nil { (written.cpuPeriod, written.cpuQuota) = (r.cpuPeriod, r.cpuQuota) }
                try Cgroup(path: c.cgroupPath).apply(written)
            }
            c.resources = r
        }
        events.record("update", found)
        return updated
    }
}
