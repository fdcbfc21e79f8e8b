#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth volume create [NAME]`.
struct VolumeCreateCommand: Command {
    let spec = CommandSpec(
        "volume create", summary: "Create a volume",
        flags: [FlagSpec("label", value: "list", help: "Set metadata for a volume (KEY=VALUE)"),
                FlagSpec("name", value: "string", help: "Specify volume name")],
        arguments: [ArgSpec("VOLUME", optional: true)], max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let labels = args.strings("label").map { l -> (String, String) in
            let p = l.split(separator: "=", maxSplits: 1).map(String.init)
            return (p[0], p.count > 1 ? p[1] : "")
        }
        let name = args.positionals.first ?? args.string("name")
        ctx.print(try VolumeStore(layout: try ctx.openStore()).create(name, labels: labels).name)
        return 0
    }
}
