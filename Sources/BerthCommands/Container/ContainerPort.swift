#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`.
struct PortCommand: Command {
    let spec = CommandSpec(
        "port", aliases: ["container port"], summary: "List port mappings or a specific mapping for the container",
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil)), ArgSpec("PRIVATE_PORT[/PROTO]", optional: true)],
        min: 1, max: 2)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let container = try ctx.lifecycle().containers.find(args.positionals[0])
        // Disconnected from its first network, a container publishes nothing.
        var ports = container.forwardsPorts ? container.ports : []
        if args.positionals.count > 1 {
            var want = args.positionals[1]
            if !want.contains("/") { want += "/tcp" }
            ports = ports.filter { $0.key == want }
            guard !ports.isEmpty else {
                throw BerthError("No public port '\(want)' published for \(container.name)")
            }
            ports.forEach { ctx.print("\($0.hostIP):\($0.hostPort)") }
            return 0
        }
        ports.forEach { ctx.print("\($0.key) -> \($0.hostIP):\($0.hostPort)") }
        return 0
    }
}
