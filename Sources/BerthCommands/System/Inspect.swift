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
            if type != "image" {
                // Only "no such container" moves on to images; an ambiguous
                // ID prefix is the answer, as Docker's inspect gives it.
                do throws(BerthError) {
                    objects.append(try containers.find(name).json)
                    return
                } catch  where error.kind != .notFound {
                    throw error
                } catch {
                    if type == "container" { throw .notFound("No such container: \(name)") }
                }
            }
            objects.append(ImageInspect.json(try store.resolve(name), store))
        }
        try ctx.printInspected(objects, format: format)
        return status
    }
}
