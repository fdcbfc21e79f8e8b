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
            "Filter output based on conditions provided (status=, name=, id=, ancestor=, exited=, before=, since=, volume=, network=, label=)"
    )
    static let format = Flag.string(
        "format",
        help:
            "Format output using a Go template ({{.ID}} {{.Image}} {{.Command}} {{.RunningFor}} {{.Status}} {{.Names}} {{.State}}), or table, or json"
    )
    static let size = Flag.bool("size", short: "s", help: "Display total file sizes of each container's own layer")

    let spec = CommandSpec(
        "ps", aliases: ["container ls", "container list", "container ps"], summary: "List containers",
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
        // Only what the columns, `--format` fields and filters read is decoded.
        var list = lifecycle.listedContainers(.listing)
        let last = try args.value(Self.last) ?? -1
        let showAll = args[Self.all] || last > 0 || args[Self.latest]
        let filter = try ContainerFilter(
            args[Self.filter], containers: lifecycle.containers,
            images: ImageStore(layout: lifecycle.layout))
        filter.select(&list, all: showAll, limit: args[Self.latest] ? 1 : last)
        let noTrunc = args[Self.noTrunc]
        if args[Self.quiet] {
            list.forEach { ctx.print(noTrunc ? $0.id : $0.shortID) }
            return 0
        }
        let template = try format.map { (f) throws(BerthError) in try ctx.listingTemplate(f, table: Self.table) }
        if let template {
            // {{.Label "k"}}: the container's label, empty when it has none, as Docker's.
            let objects = list.map { c in
                TemplateObject.context(
                    Self.type, row(c, noTrunc: noTrunc, size: showSize ? size(lifecycle, c) : nil), labels: c.labels)
            }
            ctx.printRaw(try template.renderAll(objects, titles: Self.titles))
            return 0
        }
        var header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
        if showSize { header.append("SIZE") }
        let now = Timestamp.now.asDouble
        ctx.printRaw(
            Table.render(
                header,
                list.map { c in
                    var cells = columns(c, noTrunc: noTrunc, now: now).map(\.1)
                    if showSize { cells.append(size(lifecycle, c)) }
                    return cells
                }))
        return 0
    }

    private func size(_ lifecycle: Lifecycle, _ c: Container) -> String {
        let env = StorageEnvironment(storeRoot: lifecycle.layout.root, driverDirectory: lifecycle.layout.driver(c.storage))
        guard let driver = try? lifecycle.registry.storageDriver(c.storage, env) else { return "" }
        return Format.size(driver.size(containerDirectory: lifecycle.layout.container(c.id)))
    }

    /// The default table's columns of a row, in order, by template field.
    func columns(_ c: Container, noTrunc: Bool, now: Double) -> [(String, String)] {
        var command = c.command.joined(separator: " ")
        if !noTrunc && command.count > 20 { command = String(command.prefix(19)) + "…" }
        return [
            ("ID", noTrunc ? c.id : c.shortID), ("Image", c.imageName), ("Command", "\"" + command + "\""),
            ("RunningFor", Format.duration(seconds: now - c.created.asDouble) + " ago"),
            ("Status", Self.status(c, now: now)),
            ("Ports", c.state.isActive && c.forwardsPorts ? Self.displayablePorts(c) : ""), ("Names", c.name),
        ]
    }

    /// One row as JSON, for `--format`: the table's columns and the rest.
    func row(_ c: Container, noTrunc: Bool, size: String?) -> JSON {
        let now = Timestamp.now.asDouble
        var members = columns(c, noTrunc: noTrunc, now: now).map { ($0.0, JSON.string($0.1)) }
        // In the order Docker's context lists them.
        members.insert(("CreatedAt", .string(c.created.goString())), at: 4)
        members.append(("State", .string(c.state.status.rawValue)))
        let volumes = c.mounts.filter { $0.kind == .volume }
        members += [
            ("Networks", .string(c.networkMode)),
            ("Mounts", .string(c.mounts.map(\.source).filter { !$0.isEmpty }.joined(separator: ","))),
            ("Labels", .string(ContainerLabels.joined(c.labels))), ("LocalVolumes", .string(String(volumes.count))),
        ]
        if let size { members.append(("Size", .string(size))) }
        return .object(members)
    }

    /// Docker's PORTS column (its `DisplayablePorts`): sorted by container
    /// port, a run of consecutive ports published on the same port numbers
    /// shown as one range (`0.0.0.0:8080-8082->8080-8082/tcp`), exposed ports
    /// nothing publishes likewise (`7000-7002/tcp`), other bindings each as
    /// `IP:HOSTPORT->PORT/PROTO`, after the ranges.
    static func displayablePorts(_ c: Container) -> String { displayablePorts(c.ports, exposed: c.exposedPorts) }

    static func displayablePorts(_ ports: [PortBinding], exposed: [String] = []) -> String {
        let published = Set(ports.map { "\($0.containerPort)/\($0.proto)" })
        // An exposed port nothing publishes: no host IP, grouped by its protocol alone.
        let unpublished = exposed.filter { !published.contains($0) }.compactMap { key -> PortBinding? in
            let parts = key.split(separator: "/")
            guard parts.count == 2, let port = UInt16(parts[0]) else { return nil }
            return PortBinding(hostIP: "", hostPort: port, containerPort: port, proto: String(parts[1]))
        }
        let sorted = (ports + unpublished).sorted {
            ($0.containerPort, $0.hostIP, $0.hostPort, $0.proto) < ($1.containerPort, $1.hostIP, $1.hostPort, $1.proto)
        }
        var groups: [(key: String, first: UInt16, last: UInt16)] = []
        var open: [String: Int] = [:]  // key → index of its open group
        var result: [String] = [], mappings: [String] = []
        func form(_ g: (key: String, first: UInt16, last: UInt16)) -> String {
            let parts = g.key.split(separator: "/", omittingEmptySubsequences: false)
            let range = g.first == g.last ? "\(g.first)" : "\(g.first)-\(g.last)"
            return parts[0].isEmpty ? "\(range)/\(parts[1])" : "\(parts[0]):\(range)->\(range)/\(parts[1])"
        }
        for p in sorted {
            guard p.hostPort == p.containerPort else { mappings.append(p.psText); continue }
            let key = "\(p.hostIP)/\(p.proto)"
            if let i = open[key] {
                if p.containerPort == groups[i].last &+ 1 {
                    groups[i].last = p.containerPort
                    continue
                }
                result.append(form(groups[i]))
                groups[i] = (key, p.containerPort, p.containerPort)
            } else {
                open[key] = groups.count
                groups.append((key, p.containerPort, p.containerPort))
            }
        }
        return (result + groups.map(form) + mappings).joined(separator: ", ")
    }

    /// Docker's STATUS column: `Created`, `Up 8 seconds`, `Up 2 minutes (Paused)`, `Exited (137) About a minute ago`.
    static func status(_ c: Container, now: Double) -> String {
        switch c.state.status {
        case .running, .paused:
            let up = "Up " + Format.duration(seconds: now - (c.state.startedAt?.asDouble ?? now))
            if c.state.status == .paused { return up + " (Paused)" }
            return c.state.health.map { up + " (\($0.status.psText))" } ?? up
        case .exited:
            let ago = Format.duration(seconds: now - (c.state.finishedAt?.asDouble ?? now))
            return "Exited (\(c.state.exitCode)) \(ago) ago"
        case .dead: return "Dead"
        case .restarting:
            // Docker's: the last exit code and how long ago, while the back-off runs.
            let ago = Format.duration(seconds: now - (c.state.finishedAt?.asDouble ?? now))
            return "Restarting (\(c.state.exitCode)) \(ago) ago"
        case .removing: return "Removal In Progress"
        case .created: return "Created"
        }
    }
}

extension Container {
    /// `ps`'s STATUS wording, for the API service's container list.
    public func statusText(now: Double) -> String { PsCommand.status(self, now: now) }
}
