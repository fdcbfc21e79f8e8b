#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth volume ls`.
struct VolumeListCommand: Command {
    static let quiet = Flag.bool("quiet", short: "q", help: "Only display volume names")
    static let format = Flag.string(
        "format", help: "Format output using a Go template ({{.Name}} {{.Driver}} {{.Mountpoint}}), or table, or json")

    static let filter = Flag.strings(
        "filter", short: "f", value: "filter", help: "Provide filter values (dangling=true|false, name=, label=, driver=)")

    let spec = CommandSpec(
        "volume ls", aliases: ["volume list"], summary: "List volumes",
        flags: [Self.filter, Self.quiet, Self.format],
        max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let template = try args[Self.format].map { (f) throws(BerthError) in
            try ctx.listingTemplate(f, table: "table {{.Driver}}\\t{{.Name}}")
        }
        let store = VolumeStore(layout: try ctx.openStore())
        let filter = try VolumeFilter(args[Self.filter])
        let volumes = store.all().filter { filter.matches($0, store) }
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

/// `volume ls --filter`: `dangling=true|false` (whether no container, in any
/// state, uses it), `name=` (an unanchored regular expression, as Docker's
/// filter match), `label=KEY` or `label=KEY=VALUE`, `driver=`.
public struct VolumeFilter {
    let filters: Filters
    private var regexes: [String: GoRegexp] = [:]

    public init(_ flags: [String]) throws(BerthError) {
        filters = try Filters(flags, known: ["dangling", "name", "label", "driver"])
        for (key, values) in filters.values {
            for value in values {
                switch key {
                case "dangling": try Filters.checkDangling(value)
                case "name": regexes[value] = try Filters.regex(value, key: key)
                default: break
                }
            }
        }
    }

    public func matches(_ v: Volume, _ store: VolumeStore) -> Bool {
        filters.matches { key, value in
            switch key {
            case "dangling": return store.users(v.name).isEmpty == (value == "true" || value == "1")
            case "name": return regexes[value].map { $0.matches(v.name) } ?? false
            case "driver": return value == "local"
            case "label":
                let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
                guard let label = v.labels.first(where: { $0.0 == parts[0] }) else { return false }
                return parts.count == 1 || label.1 == parts[1]
            default: return false
            }
        }
    }
}
