#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth volume ls`.
struct VolumeListCommand: Command {
    static let quiet = Flag.bool("quiet", short: "q", help: "Only display volume names")
    static let format = Flag.string(
        "format", help: "Format output using a Go template ({{.Name}} {{.Driver}} {{.Mountpoint}}), or table, or json")

    let spec = CommandSpec(
        "volume ls", aliases: ["volume list"], summary: "List volumes",
        flags: [Self.quiet, Self.format],
        max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let template = try args[Self.format].map { (f) throws(BerthError) in
            try ctx.listingTemplate(f, table: "table {{.Driver}}\\t{{.Name}}")
        }
        let volumes = VolumeStore(layout: try ctx.openStore()).all()
        if args[Self.quiet] { volumes.forEach { ctx.print($0.name) }; return 0 }
        if let template {
            let rows: [TemplateValue] = volumes.map { v in
                let labels = v.labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                return TemplateObject.context(
                    "*volume.volumeContext",
                    .object([
                        ("Driver", .string("local")), ("Name", .string(v.name)), ("Scope", .string("local")),
                        ("Mountpoint", .string(v.mountpoint)), ("Labels", .string(labels)), ("Links", .string("N/A")),
                        ("Size", .string("N/A")),
                    ]), labels: v.labels)
            }
            ctx.printRaw(
                try template.renderAll(
                    rows,
                    titles: [
                        "Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                        "Mountpoint": "MOUNTPOINT", "Labels": "LABELS",
                        "Links": "LINKS", "Size": "SIZE",
                    ]))
            return 0
        }
        ctx.printRaw(Table.render(["DRIVER", "VOLUME NAME"], volumes.map { ["local", $0.name] }))
        return 0
    }
}
