import BerthEngine

/// `berth network disconnect [-f] NETWORK CONTAINER`: removes the interface
/// of a network joined by `network connect` and releases its address.
struct NetworkDisconnectCommand: Command {
    static let force = Flag.bool("force", short: "f", help: "Force the container to disconnect from a network")

    let spec = CommandSpec(
        "network disconnect", summary: "Disconnect a container from a network",
        flags: [Self.force],
        arguments: [ArgSpec("NETWORK"), ArgSpec("CONTAINER", completion: .containers(nil))], min: 2, max: 2)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        try ctx.lifecycle().disconnect(network: args.positionals[0], container: args.positionals[1], force: args[Self.force])
        return 0
    }
}
