#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth network ls`.
struct NetworkListCommand: Command {
    static let quiet = Flag.bool("quiet", short: "q", help: "Only display network IDs")
    static let noTrunc = Flag.bool("no-trunc", help: "Do not truncate the output")
    static let filter = Flag.strings(
        "filter", short: "f", value: "filter",
        help: "Provide filter values (name=, id=, label=, driver=, scope=, type=custom|builtin, dangling=true|false)")
    static let format = Flag.string(
        "format",
        help: "Format output using a Go template ({{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.Subnet}}), or table, or json")

    let spec = CommandSpec(
        "network ls", aliases: ["network list"], summary: "List networks",
        flags: [Self.filter, Self.quiet, Self.noTrunc, Self.format],
        max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let template = try args[Self.format].map { (f) throws(BerthError) in
            try ctx.listingTemplate(f, table: "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}")
        }
        let filter = try NetworkFilter(args[Self.filter])
        let store = NetworkStore(layout: try ctx.openStore())
        let networks = store.all().filter { filter.matches(NetworkFilter.Row($0, store: store)) }
        let noTrunc = args[Self.noTrunc]
        var labelsByName: [String: [(String, String)]] = [:]
        // host and none are modes, not stored networks; Docker lists them too.
        var rows: [JSON] = networks.map { n in
            labelsByName[n.name] = n.labels
            return .object([
                ("ID", .string(noTrunc ? n.id : String(n.id.prefix(12)))), ("Name", .string(n.name)),
                ("Driver", .string("bridge")), ("Scope", .string("local")), ("Subnet", .string(n.subnet.description)),
                ("IPv6", .string("false")), ("Internal", .string("false")),
                ("Labels", .string(n.labels.map { "\($0.0)=\($0.1)" }.joined(separator: ","))),
                ("CreatedAt", .string(n.created.goString(fraction: true))),
            ])
        }
        for mode in ["host", "none"] {
            let driver = mode == "host" ? "host" : "null"
            let row = NetworkFilter.Row(id: mode, name: mode, driver: driver, labels: [], builtin: true, inUse: false)
            guard filter.matches(row) else { continue }
            rows.append(
                .object([
                    ("ID", .string(mode)), ("Name", .string(mode)), ("Driver", .string(driver)),
                    ("Scope", .string("local")), ("Subnet", .string("")), ("IPv6", .string("false")),
                    ("Internal", .string("false")), ("Labels", .string("")), ("CreatedAt", .string("")),
                ]))
        }
        rows.sort { ($0["Name"]?.stringValue ?? "") < ($1["Name"]?.stringValue ?? "") }
        if args[Self.quiet] { rows.forEach { ctx.print($0["ID"]?.stringValue ?? "") }; return 0 }
        if let template {
            ctx.printRaw(
                try template.renderAll(
                    rows.map { r in
                        TemplateObject.context(
                            "*network.networkContext", r, labels: labelsByName[r["Name"]?.stringValue ?? ""] ?? [])
                    },
                    titles: [
                        "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                        "Subnet": "SUBNET", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS",
                        "CreatedAt": "CREATED AT",
                    ]))
            return 0
        }
        ctx.printRaw(
            Table.render(
                ["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                rows.map { r in
                    ["ID", "Name", "Driver", "Scope"].map { r[$0]?.stringValue ?? "" }
                }))
        return 0
    }
}
