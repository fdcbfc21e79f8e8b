#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth update`: change a container's limits, running or not.
struct UpdateCommand: Command {
    let spec = CommandSpec(
        "update", aliases: ["container update"], summary: "Update configuration of one or more containers",
        flags: ContainerFlags.resourceFlags + RestartFlags.all,
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let change = try ContainerFlags.resources(args)
        // `--restart`: the policy the monitor reads at the next exit.
        let policy = try args[RestartFlags.restart].map { (t) throws(BerthError) in try RestartPolicy.parse(t) }
        guard !change.isEmpty || policy != nil else {
            throw BerthError("you must provide one or more flags when using this command")
        }
        let lifecycle = try ctx.lifecycle()
        return ctx.forEach(args.positionals, printName: true) { (ref) throws(BerthError) in
            let found = try lifecycle.containers.find(ref)
            try lifecycle.containers.update(found.id) { (c: inout Container) throws(BerthError) in
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
            lifecycle.events.record("update", found)
        }
    }
}
