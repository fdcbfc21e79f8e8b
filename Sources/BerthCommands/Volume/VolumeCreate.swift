#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth volume create [NAME]`.
struct VolumeCreateCommand: Command {
    static let label = Flag.strings("label", help: "Set metadata for a volume (KEY=VALUE)")
    static let name = Flag.string("name", help: "Specify volume name")

    let spec = CommandSpec(
        "volume create", summary: "Create a volume",
        flags: [Self.label, Self.name],
        arguments: [ArgSpec("VOLUME", optional: true)], max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let labels = args[Self.label].map { l -> (String, String) in
            let p = l.split(separator: "=", maxSplits: 1).map(String.init)
            return (p[0], p.count > 1 ? p[1] : "")
        }
        let name = args.positionals.first ?? args[Self.name]
        ctx.print(try VolumeStore(layout: try ctx.openStore()).create(name, labels: labels).name)
        return 0
    }
}
