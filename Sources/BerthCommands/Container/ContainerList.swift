import BerthEngine

/// `berth ps`: CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES.
struct PsCommand: Command {
    static let all = Flag.bool("all", short: "a", help: "Show all containers (default shows just running)")
    static let quiet = Flag.bool("quiet", short: "q", help: "Only display container IDs")
    static let noTrunc = Flag.bool("no-trunc", help: "Don't truncate output")
    static let last = Flag.int("last", short: "n", help: "Show n last created containers (includes all states)", default: "-1")
    static let latest = Flag.bool("latest", short: "l", help: "Show the latest created container (includes all states)")
    static let filter = Flag.strings(
        "filter", short: "f", value: "filter",
        help:
            "Filter output based on conditions provided (status=, name=, id=, ancestor=, exited=, before=, since=, volume=, network=)"
    )
    static let format = Flag.string(
        "format",
        help:
            "Format output using a Go template ({{.ID}} {{.Image}} {{.Command}} {{.RunningFor}} {{.Status}} {{.Names}} {{.State}}), or table, or json"
    )
    static let size = Flag.bool("size", short: "s", help: "Display total file sizes of each container's own layer")

    let spec = CommandSpec(
        "ps", aliases: ["container ls", "container list"], summary: "List containers",
        flags: [
            Self.all, Self.quiet, Self.noTrunc, Self.last, Self.latest, Self.filter, Self.format,
            Self.size,
        ], max: 0)

    static let titles = [
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED",
        "CreatedAt": "CREATED AT", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES",
        "State": "STATE", "Size": "SIZE", "Networks": "NETWORKS", "Mounts": "MOUNTS",
        "Labels": "LABELS", "LocalVolumes": "LOCAL VOLUMES",
    ]
    /// Docker's type for a row, named in template errors.
    static let type = "*formatter.ContainerContext"
    /// What `--format table` means: the default columns.
    static let table = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}"

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let format = args[Self.format]
        var showSize = args[Self.size] && !args[Self.quiet]
        if let format {
            // As Docker's ps: the raw format is run once on an empty row before
            // listing, so a bad field fails even with no containers; a format
            // that shows {{.Size}} turns --size on.
            let raw = try Template(format, style: .plain, errorPrefix: "failed to parse template: ")
            let empty = TemplateObject.context(
                Self.type, .object(Self.titles.keys.sorted().map { ($0, .string("")) }), labels: [])
            _ = try raw.render(empty, errorPrefix: "failed to execute template: ")
            showSize = showSize || (raw.uses(field: "Size") && !args[Self.quiet])
        }
        let lifecycle = try ctx.lifecycle()
        var list = lifecycle.containers.all()
        let last = try args.value(Self.last) ?? -1
        let showAll = args[Self.all] || last > 0 || args[Self.latest]
        if !showAll { list = list.filter { $0.state.isActive } }
        let filter = try ContainerFilter(
            args[Self.filter], containers: lifecycle.containers,
            images: ImageStore(layout: lifecycle.layout))
        list = list.filter(filter.matches)
        if args[Self.latest] { list = Array(list.prefix(1)) }
        if last > 0 { list = Array(list.prefix(last)) }
        let noTrunc = args[Self.noTrunc]
        if args[Self.quiet] {
            list.forEach { ctx.print(noTrunc ? $0.id : $0.shortID) }
            return 0
        }
        let template = try format.map { (f) throws(BerthError) in try ctx.listingTemplate(f, table: Self.table) }
        let rows = list.map { row($0, noTrunc: noTrunc, size: showSize ? size(lifecycle, $0) : nil) }
        if let template {
            // Containers carry no labels yet: {{.Label "k"}} is empty, as Docker's for a missing label.
            ctx.printRaw(
                try template.renderAll(rows.map { TemplateObject.context(Self.type, $0, labels: []) }, titles: Self.titles))
            return 0
        }
        var header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
        if showSize { header.append("SIZE") }
        ctx.printRaw(
            Table.render(
                header,
                rows.map { r in
                    header.map { title in Self.titles.first { $0.value == title }.flatMap { r[$0.key]?.stringValue } ?? "" }
                }))
        return 0
    }

    private func size(_ lifecycle: Lifecycle, _ c: Container) -> String {
        let env = StorageEnvironment(storeRoot: lifecycle.layout.root, driverDirectory: lifecycle.layout.driver(c.storage))
        guard let driver = try? lifecycle.registry.storageDriver(c.storage, env) else { return "" }
        return Format.size(driver.size(containerDirectory: lifecycle.layout.container(c.id)))
    }

    /// One row as JSON, for both the table and `--format`.
    func row(_ c: Container, noTrunc: Bool, size: String?) -> JSON {
        let now = Timestamp.now.asDouble
        var command = c.command.joined(separator: " ")
        if !noTrunc && command.count > 20 { command = String(command.prefix(19)) + "…" }
        var members: [(String, JSON)] = [
            ("ID", .string(noTrunc ? c.id : c.shortID)), ("Image", .string(c.imageName)),
            ("Command", .string("\"" + command + "\"")),
            ("RunningFor", .string(Format.duration(seconds: now - c.created.asDouble) + " ago")),
            ("CreatedAt", .string(c.created.rfc3339)), ("Status", .string(c.statusText(now: now))),
            ("Ports", .string(c.state.isActive ? c.ports.map(\.psText).joined(separator: ", ") : "")), ("Names", .string(c.name)),
            ("State", .string(c.state.status.rawValue)),
        ]
        let volumes = c.mounts.filter { $0.kind == .volume }
        members += [
            ("Networks", .string(c.networkMode)),
            ("Mounts", .string(c.mounts.map(\.source).filter { !$0.isEmpty }.joined(separator: ","))),
            ("Labels", .string("")), ("LocalVolumes", .string(String(volumes.count))),
        ]
        if let size { members.append(("Size", .string(size))) }
        return .object(members)
    }
}
