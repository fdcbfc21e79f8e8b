#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth volume inspect NAME...`.
struct VolumeInspectCommand: Command {
    static let format = Flag.string("format", short: "f", help: "Format output using a Go template")

    let spec = CommandSpec(
        "volume inspect", summary: "Display detailed information on one or more volumes",
        flags: [Self.format],
        arguments: [ArgSpec("VOLUME", repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = VolumeStore(layout: try ctx.openStore())
        var found: [JSON] = []
        let status = ctx.forEach(args.positionals, printName: false) { (name) throws(BerthError) in
            found.append(try store.get(name).json)
        }
        try ctx.printInspected(found, format: args[Self.format])
        return status
    }
}
