import BerthEngine

/// `berth image inspect`: Docker's, images only (a container's name is
/// "No such image").
struct ImageInspectCommand: Command {
    static let format = Flag.string(
        "format", short: "f", help: "Format output using a Go template ({{.Id}}, {{json .RootFS}}), or json")

    let spec = CommandSpec(
        "image inspect", summary: "Display detailed information on one or more images",
        flags: [Self.format],
        arguments: [ArgSpec("IMAGE", completion: .images, repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        try InspectCommand.inspect(args.positionals, type: "image", format: args[Self.format], ctx)
    }
}
