#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth volume create [NAME]`.
struct VolumeCreateCommand: Command {
    static let label = Flag.strings("label", help: "Set metadata for a volume (KEY=VALUE)")
    static let name = Flag.string("name", help: "Specify volume name")
    static let driver = Flag.string(
        "driver", short: "d", help: "Specify volume driver name (local)", completion: .words(["local"]), default: "local")
    static let opt = Flag.strings(
        "opt", short: "o", value: "map", help: "Set driver specific options (type=tmpfs|none|FSTYPE, device=, o=)")

    let spec = CommandSpec(
        "volume create", summary: "Create a volume",
        flags: [Self.driver, Self.label, Self.name, Self.opt],
        arguments: [ArgSpec("VOLUME", optional: true)], max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let labels = args[Self.label].map { l -> (String, String) in
            let p = l.split(separator: "=", maxSplits: 1).map(String.init)
            return (p[0], p.count > 1 ? p[1] : "")
        }
        let name = args.positionals.first ?? args[Self.name]
        if let driver = args[Self.driver], driver != "local" {
            throw BerthError(
                .notFound,
                "create \(name ?? ""): error looking up volume plugin \(driver): plugin \"\(driver)\" not found; Berth has the local driver"
            )
        }
        let options = try VolumeOptions.parse(args[Self.opt])
        ctx.print(try VolumeStore(layout: try ctx.openStore()).create(name, labels: labels, options: options).name)
        return 0
    }
}
