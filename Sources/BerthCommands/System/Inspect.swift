import BerthEngine

/// `berth inspect [-f FORMAT] NAME...`: Docker's JSON for images (containers
/// join when the lifecycle lands).
struct InspectCommand: Command {
    static let format = Flag.string(
        "format", short: "f", help: "Format output using a Go template ({{.Id}}, {{.Config.Cmd}}, {{json .RootFS}}), or json")
    static let type = Flag.string(
        "type", help: "Only inspect objects of the given type (container, image)", completion: .words(["container", "image"]))

    let spec = CommandSpec(
        "inspect",
        summary: "Return low-level information on Berth objects",
        flags: [Self.format, Self.type],
        arguments: [ArgSpec("NAME|ID", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let type = args[Self.type]
        if let type, type != "image" && type != "container" {
            throw BerthError("inspect: unknown type \"\(type)\"; use --type container or --type image")
        }
        return try Self.inspect(args.positionals, type: type, format: args[Self.format], ctx)
    }

    /// Inspects each name as a container, then as an image (or only as the
    /// `type` given: `container inspect`, `image inspect`, `--type`).
    static func inspect(_ names: [String], type: String?, format: String?, _ ctx: CommandContext) throws(BerthError)
        -> Int32
    {
        let store = try ctx.images()
        let containers = ContainerStore(layout: store.layout)
        // A bad format fails before any work, as Docker's.
        if let format, format != "json" { _ = try Template(format, style: .plain) }
        var objects: [JSON] = []
        let status = ctx.forEach(names, printName: false) { (name) throws(BerthError) in
            if type != "image", let container = try? containers.find(name) {
                objects.append(container.json)
            } else if type == "container" {
                throw .notFound("No such container: \(name)")
            } else {
                objects.append(ImageInspect.json(try store.resolve(name), store))
            }
        }
        try ctx.printInspected(objects, format: format)
        return status
    }
}

/// Docker's `image inspect` document built from an OCI config.
enum ImageInspect {
    static func json(_ image: Image, _ store: ImageStore) -> JSON {
        let c = image.config
        let comment = c["history"]?.arrayValue?.last?["comment"]?.stringValue ?? ""
        return .object([
            ("Id", .string(image.id)),
            ("RepoTags", .strings(image.tags.map(\.description))),
            ("RepoDigests", .strings(store.repoDigests(of: image.id))),
            ("Parent", .string("")),
            ("Comment", .string(comment)),
            ("Created", c["created"] ?? .string("")),
            ("Author", c["author"] ?? .string("")),
            ("Config", dockerConfig(image.runConfig)),
            ("Architecture", c["architecture"] ?? .string("")),
            ("Os", c["os"] ?? .string("linux")),
            ("Size", .int(store.size(of: image))),
            ("RootFS", .object([("Type", .string("layers")), ("Layers", .strings(image.diffIDs))])),
            ("Metadata", .object([("LastTagTime", .string(""))])),
        ])
    }

    /// The OCI run config with the fields Docker always prints.
    static func dockerConfig(_ config: JSON) -> JSON {
        let keys = [
            "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
            "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir",
            "Entrypoint", "OnBuild", "Labels",
        ]
        let defaults: [String: JSON] = [
            "Hostname": .string(""), "Domainname": .string(""), "User": .string(""),
            "AttachStdin": .bool(false), "AttachStdout": .bool(false),
            "AttachStderr": .bool(false), "Tty": .bool(false), "OpenStdin": .bool(false),
            "StdinOnce": .bool(false), "Image": .string(""), "WorkingDir": .string(""),
        ]
        var members = keys.map { ($0, config[$0] ?? defaults[$0] ?? .null) }
        if case .object(let extra) = config {
            members += extra.filter { key, _ in !keys.contains(key) }
        }
        return .object(members)
    }
}
