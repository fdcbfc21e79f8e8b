import BerthEngine

/// `berth network connect [--ip IP] NETWORK CONTAINER`: a running container
/// gets the new interface at once, a stopped one at its next start.
struct NetworkConnectCommand: Command {
    static let ip = Flag.string("ip", help: "IPv4 address (e.g. 172.30.100.104)")
    static let alias = Flag.strings("alias", value: "strings", help: "Add network-scoped alias for the container")

    let spec = CommandSpec(
        "network connect", summary: "Connect a container to a network",
        flags: [Self.ip, Self.alias],
        arguments: [ArgSpec("NETWORK"), ArgSpec("CONTAINER", completion: .containers(nil))], min: 2, max: 2)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        if Rootless.isActive {
            throw Rootless.refusal("network connect", "a bridge network needs the host's root; containers use slirp4netns")
        }
        try lifecycle.connect(
            network: args.positionals[0], container: args.positionals[1], ip: args[Self.ip], aliases: args[Self.alias])
        return 0
    }
}
