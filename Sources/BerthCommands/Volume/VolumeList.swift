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

/// `berth volume ls`.
struct VolumeListCommand: Command {
    let spec = CommandSpec(
        "volume ls", aliases: ["volume list"], summary: "List volumes",
        flags: [FlagSpec("quiet", short: "q", help: "Only display volume names"),
                FlagSpec("format", value: "string", help: "Format output using a Go template ({{.Name}} {{.Driver}} {{.Mountpoint}}), or table, or json")],
        max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let template = try args.string("format").map { (f) throws(BerthError) in
            try ctx.listingTemplate(f, table: "table {{.Driver}}\\t{{.Name}}")
        }
        let volumes = VolumeStore(layout: try ctx.openStore()).all()
        if args.bool("quiet") { volumes.forEach { ctx.print($0.name) }; return 0 }
        if let template {
            let rows: [TemplateValue] = volumes.map { v in
                let labels = v.labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                return TemplateObject.context("*volume.volumeContext", .object([
                    ("Driver", .string("local")), ("Name", .string(v.name)), ("Scope", .string("local")),
                    ("Mountpoint", .string(v.mountpoint)), ("Labels", .string(labels)), ("Links", .string("N/A")),
                    ("Size", .string("N/A"))]), labels: v.labels)
            }
            ctx.printRaw(try template.renderAll(rows, titles: ["Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                                                               "Mountpoint": "MOUNTPOINT", "Labels": "LABELS",
                                                               "Links": "LINKS", "Size": "SIZE"]))
            return 0
        }
        ctx.printRaw(Table.render(["DRIVER", "VOLUME NAME"], volumes.map { ["local", $0.name] }))
        return 0
    }
}

/// `berth volume inspect NAME...`.
struct VolumeInspectCommand: Command {
    let spec = CommandSpec(
        "volume inspect", summary: "Display detailed information on one or more volumes",
        flags: [FlagSpec("format", short: "f", value: "string", help: "Format output using a Go template")],
        arguments: [ArgSpec("VOLUME", repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = VolumeStore(layout: try ctx.openStore())
        var found: [JSON] = []
        let status = ctx.forEach(args.positionals, printName: false) { (name) throws(BerthError) in
            found.append(try store.get(name).json)
        }
        try ctx.printInspected(found, format: args.string("format"))
        return status
    }
}

/// `berth volume rm NAME...`: refused while a container uses it.
struct VolumeRemoveCommand: Command {
    let spec = CommandSpec(
        "volume rm", aliases: ["volume remove"], summary: "Remove one or more volumes",
        flags: [FlagSpec("force", short: "f", help: "Do not error if the volume does not exist")],
        arguments: [ArgSpec("VOLUME", repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = VolumeStore(layout: try ctx.openStore())
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in
            if args.bool("force"), (try? store.get(name)) == nil { return }
            try store.remove(name)
        }
    }
}

/// `berth volume prune`: removes unused anonymous volumes (`-a`: every unused one).
struct VolumePruneCommand: Command {
    let spec = CommandSpec(
        "volume prune", summary: "Remove unused local volumes",
        flags: [FlagSpec("all", short: "a", help: "Remove all unused volumes, not just anonymous ones"),
                FlagSpec("filter", value: "filter", help: "Provide filter values (e.g. 'label=<key>=<value>', 'label!=<key>')"),
                FlagSpec("force", short: "f", help: "Do not prompt for confirmation")], max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let filter = try PruneFilter(args.strings("filter"))
        try Prune.checkVolumeFilter(filter)
        let warning = (args.bool("all") ? "WARNING! This will remove all local volumes not used by at least one container.\n"
                                        : "WARNING! This will remove anonymous local volumes not used by at least one container.\n")
            + Confirmation.question
        guard Confirmation.ask(ctx, warning, force: args.bool("force")) else { return 0 }
        let removed = Prune.volumes(VolumeStore(layout: try ctx.openStore()), all: args.bool("all"), filter)
        Prune.section(ctx, "Deleted Volumes:", removed.deleted)
        ctx.print("Total reclaimed space: \(Format.size(removed.reclaimed))")
        return 0
    }
}
