import BerthEngine

/// `berth container inspect`: Docker's, containers only (an image's name is
/// "No such container").
struct ContainerInspectCommand: Command {
    static let format = Flag.string(
        "format", short: "f", help: "Format output using a Go template ({{.State.Status}}, {{json .Mounts}}), or json")

    let spec = CommandSpec(
        "container inspect", summary: "Display detailed information on one or more containers",
        flags: [Self.format],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        try InspectCommand.inspect(args.positionals, type: "container", format: args[Self.format], ctx)
    }
}
