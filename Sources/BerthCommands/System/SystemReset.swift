import BerthEngine

/// `berth system reset`: the store back to its first day, and the host
/// without anything the store made (Podman's `system reset`).
///
/// Order matters: containers first (each `rm -f` takes its mounts, cgroups,
/// veth, port rules and processes), then the networks' bridges and nftables
/// tables, then the store's files. config.json, auth.json and plugins/ stay:
/// they are settings, not state. Before deleting a store directory by hand,
/// run this, or the default bridge it made stays on the host.
struct SystemResetCommand: Command {
    static let force = Flag.bool("force", short: "f", help: "Do not prompt for confirmation")

    let spec = CommandSpec(
        "system reset", summary: "Remove every container, image, volume and network of the store, and their host devices",
        flags: [Self.force], max: 0)

    /// The store entries a reset deletes (relative to the root).
    static let stateEntries = ["containers", "names", "images", "layers", "volumes", "networks", "storage", "tmp", "events.log"]

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let warning =
            "WARNING! This will remove every container, image, volume and network of \(ctx.root),\n"
            + "and the bridges and nftables rules they made on this host.\n" + Confirmation.question
        guard Confirmation.ask(ctx, warning, force: args[Self.force]) else { return 0 }
        let lifecycle = try ctx.lifecycle()
        let layout = lifecycle.layout
        // The containers lock keeps a concurrent create from slipping a new
        // container (and its mounts) in while the store is taken apart.
        try FileLock.withLock(layout.containerLock) { () throws(BerthError) in
            var failures: [String] = []
            for c in lifecycle.containers.all() {
                do throws(BerthError) { try lifecycle.remove(c.id, force: true, volumes: true) } catch {
                    failures.append("container \(c.name): \(error.message)")
                }
            }
            guard failures.isEmpty else {
                // A container that could not go still holds mounts or devices:
                // deleting the files under it would lose them, so stop here.
                throw BerthError(
                    "system reset stopped, nothing else was removed: \(failures.joined(separator: "; ")); fix that, then run it again"
                )
            }
            // Anything still mounted below the store (a record that did not
            // load, a bind made by hand) could take the files it shows with it.
            let root = FileSystem.realPath(layout.root)
            if let mounted = MountPreparation.mountPoints(under: root).last {
                throw BerthError(
                    "system reset removed the containers but stopped before deleting the store's files: \(mounted) is still mounted; unmount it (umount \(mounted)) and run system reset again"
                )
            }
            for n in NetworkStore(layout: layout).all() { HostNetwork.removeBridge(n.bridge) }
            for entry in Self.stateEntries {
                do throws(BerthError) { try FileSystem.removeTree(layout.root + "/" + entry) } catch {
                    failures.append(error.message)
                }
            }
            guard failures.isEmpty else { throw BerthError("system reset: \(failures.joined(separator: "; "))") }
        }
        return 0
    }
}
