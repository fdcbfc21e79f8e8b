#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth network create [--subnet CIDR] NAME`.
struct NetworkCreateCommand: Command {
    let spec = CommandSpec(
        "network create", summary: "Create a network",
        flags: [FlagSpec("subnet", value: "string", help: "Subnet in CIDR format (default: the next free one of the pool)"),
                FlagSpec("driver", short: "d", value: "string", help: "Driver to manage the Network (only bridge)", default: "bridge")],
        arguments: [ArgSpec("NETWORK")], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        if let driver = args.string("driver"), driver != "bridge" {
            throw BerthError("network driver \(driver) is not supported; Berth has only the bridge driver")
        }
        let record = try NetworkStore(layout: try ctx.openStore()).create(args.positionals[0], subnet: args.string("subnet"))
        ctx.print(record.id)
        return 0
    }
}

/// `berth network ls`.
struct NetworkListCommand: Command {
    let spec = CommandSpec(
        "network ls", aliases: ["network list"], summary: "List networks",
        flags: [FlagSpec("quiet", short: "q", help: "Only display network IDs"),
                FlagSpec("no-trunc", help: "Do not truncate the output"),
                FlagSpec("format", value: "string", help: "Format output using a Go template ({{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.Subnet}}), or table, or json")],
        max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let template = try args.string("format").map { (f) throws(BerthError) in
            try ctx.listingTemplate(f, table: "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}")
        }
        let networks = NetworkStore(layout: try ctx.openStore()).all()
        let noTrunc = args.bool("no-trunc")
        // host and none are modes, not stored networks; Docker lists them too.
        var rows: [JSON] = networks.map { n in
            .object([("ID", .string(noTrunc ? n.id : String(n.id.prefix(12)))), ("Name", .string(n.name)),
                     ("Driver", .string("bridge")), ("Scope", .string("local")), ("Subnet", .string(n.subnet.description)),
                     ("IPv6", .string("false")), ("Internal", .string("false")), ("Labels", .string(""))])
        }
        for mode in ["host", "none"] {
            rows.append(.object([("ID", .string(mode)), ("Name", .string(mode)), ("Driver", .string(mode == "host" ? "host" : "null")),
                                 ("Scope", .string("local")), ("Subnet", .string("")), ("IPv6", .string("false")),
                                 ("Internal", .string("false")), ("Labels", .string(""))]))
        }
        rows.sort { ($0["Name"]?.stringValue ?? "") < ($1["Name"]?.stringValue ?? "") }
        if args.bool("quiet") { rows.forEach { ctx.print($0["ID"]?.stringValue ?? "") }; return 0 }
        if let template {
            ctx.printRaw(try template.renderAll(rows.map { TemplateObject.context("*network.networkContext", $0, labels: []) },
                                                titles: ["ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                                                         "Subnet": "SUBNET", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS"]))
            return 0
        }
        ctx.printRaw(Table.render(["NETWORK ID", "NAME", "DRIVER", "SCOPE"], rows.map { r in
            ["ID", "Name", "Driver", "Scope"].map { r[$0]?.stringValue ?? "" }
        }))
        return 0
    }
}

/// `berth network inspect NETWORK...`.
struct NetworkInspectCommand: Command {
    let spec = CommandSpec(
        "network inspect", summary: "Display detailed information on one or more networks",
        flags: [FlagSpec("format", short: "f", value: "string", help: "Format output using a Go template")],
        arguments: [ArgSpec("NETWORK", repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let store = NetworkStore(layout: lifecycle.layout)
        let containers = lifecycle.containers.all()
        var found: [JSON] = []
        let status = ctx.forEach(args.positionals, printName: false) { (name) throws(BerthError) in
            let n = try store.find(name)
            let members = containers.compactMap { c -> (id: String, name: String, endpoint: NetworkEndpoint)? in
                guard let e = c.endpoint, e.network == n.name else { return nil }
                return (c.id, c.name, e)
            }
            found.append(n.inspect(containers: members))
        }
        try ctx.printInspected(found, format: args.string("format"))
        return status
    }
}

/// `berth network rm NETWORK...`: refused while a container is on it.
struct NetworkRemoveCommand: Command {
    let spec = CommandSpec(
        "network rm", aliases: ["network remove"], summary: "Remove one or more networks",
        flags: [FlagSpec("force", short: "f", help: "Do not error if the network does not exist")],
        arguments: [ArgSpec("NETWORK", repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = NetworkStore(layout: try ctx.openStore())
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in
            if args.bool("force"), (try? store.find(name)) == nil { return }
            try store.remove(name)
        }
    }
}

/// `berth network prune [-f] [--filter …]`: removes every user network no container uses.
struct NetworkPruneCommand: Command {
    let spec = CommandSpec(
        "network prune", summary: "Remove all unused networks",
        flags: [PruneFilter.flag, FlagSpec("force", short: "f", help: "Do not prompt for confirmation")], max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let filter = try PruneFilter(args.strings("filter"))
        let warning = "WARNING! This will remove all custom networks not used by at least one container.\n" + Confirmation.question
        guard Confirmation.ask(ctx, warning, force: args.bool("force")) else { return 0 }
        Prune.section(ctx, "Deleted Networks:", Prune.networks(NetworkStore(layout: try ctx.openStore()), filter))
        return 0
    }
}

/// `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`.
struct PortCommand: Command {
    let spec = CommandSpec(
        "port", aliases: ["container port"], summary: "List port mappings or a specific mapping for the container",
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil)), ArgSpec("PRIVATE_PORT[/PROTO]", optional: true)],
        min: 1, max: 2)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let container = try ctx.lifecycle().containers.find(args.positionals[0])
        var ports = container.ports
        if args.positionals.count > 1 {
            var want = args.positionals[1]
            if !want.contains("/") { want += "/tcp" }
            ports = ports.filter { $0.key == want }
            guard !ports.isEmpty else {
                throw BerthError("No public port '\(want)' published for \(container.name)")
            }
            ports.forEach { ctx.print("\($0.hostIP):\($0.hostPort)") }
            return 0
        }
        ports.forEach { ctx.print("\($0.key) -> \($0.hostIP):\($0.hostPort)") }
        return 0
    }
}
