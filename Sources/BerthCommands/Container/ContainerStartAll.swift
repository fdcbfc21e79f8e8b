import BerthEngine

/// `start --all [--filter …]` (Podman's): start every stopped container
/// that matches. With `--filter restart-policy=…` it is what a host runs at
/// boot (docs/lifecycle.md's systemd unit): the containers a daemon would
/// have restarted come back, except an `unless-stopped` one a user stopped,
/// as Docker's daemon leaves it down.
enum StartAll {
    static func run(
        _ all: Bool, filters: [String], names: [String], _ lifecycle: Lifecycle, _ ctx: CommandContext
    ) throws(BerthError) -> Int32 {
        guard all else { throw .usage("--filter works with --all only; add --all, or name the containers to start") }
        guard names.isEmpty else {
            throw .usage("--all and container names cannot be used together; give one or the other")
        }
        var policies: [RestartPolicy.Name] = []
        var others: [String] = []
        for f in filters {
            guard f.hasPrefix("restart-policy=") else {
                others.append(f)
                continue
            }
            let value = String(f.dropFirst("restart-policy=".count))
            guard let name = RestartPolicy.Name(rawValue: value) else {
                throw .invalid(
                    "invalid filter 'restart-policy=\(value)'; use one of: "
                        + RestartPolicy.Name.allCases.map(\.rawValue).joined(separator: ", "))
            }
            policies.append(name)
        }
        let filter = try ContainerFilter(others, containers: lifecycle.containers, images: ImageStore(layout: lifecycle.layout))
        let chosen = lifecycle.containers.all().reversed().filter { c in
            guard c.state.status == .created || c.state.status == .exited, filter.matches(c) else { return false }
            guard !policies.isEmpty else { return true }
            return policies.contains(c.restartPolicy.name)
                && !(c.restartPolicy.name == .unlessStopped && c.manuallyStopped)
        }
        return ctx.forEach(chosen.map(\.name), printName: true) { (name) throws(BerthError) in
            try lifecycle.start(name)
        }
    }
}
