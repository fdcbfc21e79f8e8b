import BerthEngine

/// `berth images`: REPOSITORY, TAG, IMAGE ID, CREATED, SIZE, as Docker prints them.
struct ImagesCommand: Command {
    static let all = Flag.bool(
        "all", short: "a", help: "Show all images (default hides intermediate images)")
    static let quiet = Flag.bool("quiet", short: "q", help: "Only show image IDs")
    static let noTrunc = Flag.bool("no-trunc", help: "Don't truncate output")
    static let filter = Flag.strings(
        "filter", short: "f", value: "filter",
        help: "Filter output based on conditions provided (dangling=true|false, reference=, label=, before=, since=)")
    static let format = Flag.string(
        "format",
        help:
            "Format output using a Go template ({{.Repository}} {{.Tag}} {{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}}), or table, or json"
    )

    let spec = CommandSpec(
        "images", aliases: ["image ls", "image list"],
        summary: "List images",
        flags: [Self.all, Self.filter, Self.format, Self.noTrunc, Self.quiet],
        arguments: [ArgSpec("REPOSITORY[:TAG]", completion: .images, optional: true)], max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = try ctx.images()
        let template = try args[Self.format].map { (f) throws(BerthError) in try ctx.listingTemplate(f, table: Self.table) }
        let hidden = args[Self.all] ? [] : BuildCache.parents(in: store.layout)
        // `--filter`: the same filters the API's image list takes (ImageFilter).
        let filters = try ImageFilter(args[Self.filter], store: store)
        let rows = try selectedRows(
            store, filter: args.positionals.first, filters: filters, noTrunc: args[Self.noTrunc], hiding: hidden)
        if args[Self.quiet] {
            var seen = Set<String>()
            for row in rows where seen.insert(row.id).inserted { ctx.print(row.id) }
            return 0
        }
        if let template {
            ctx.printRaw(
                try template.renderAll(
                    rows.map { TemplateObject.context("*formatter.ImageContext", $0.json) },
                    titles: Self.titles))
            return 0
        }
        ctx.printRaw(
            Table.render(
                ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
                rows.map { [$0.repository, $0.tag, $0.id, $0.createdSince, $0.size] }))
        return 0
    }

    static let titles = [
        "Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID",
        "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
        "Digest": "DIGEST", "VirtualSize": "VIRTUAL SIZE", "Containers": "CONTAINERS",
    ]
    static let table = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}"

    struct Row {
        var repository, tag, id, createdSince, createdAt, size: String
        var json: JSON {
            .object([
                ("Repository", .string(repository)), ("Tag", .string(tag)), ("ID", .string(id)),
                ("CreatedSince", .string(createdSince)), ("CreatedAt", .string(createdAt)),
                ("Size", .string(size)), ("Digest", .string("<none>")), ("VirtualSize", .string(size)),
                ("Containers", .string("N/A")),
            ])
        }
    }

    /// One row per tag (an untagged image shows `<none>`), newest first.
    /// `hiding`: untagged images a build made other images from
    /// (Docker's intermediate images).
    private func selectedRows(
        _ store: ImageStore, filter: String?, filters: ImageFilter, noTrunc: Bool, hiding: Set<String>
    ) throws(BerthError) -> [Row] {
        let filterRef = try filter.map { (text) throws(BerthError) in try ImageReference(parsing: text) }
        let now = Timestamp.now.asDouble
        let images = store.all().sorted { ($0.created ?? Timestamp(seconds: 0)) > ($1.created ?? Timestamp(seconds: 0)) }
        var rows: [Row] = []
        for image in images where !(image.tags.isEmpty && hiding.contains(image.id)) && filters.matches(image) {
            let created = image.created ?? Timestamp(seconds: 0)
            let since = Format.duration(seconds: now - created.asDouble) + " ago"
            let id = noTrunc ? image.id : image.shortID
            let size = Format.size(store.size(of: image))
            let tags: [(String, String)] =
                image.tags.isEmpty ? [("<none>", "<none>")] : filters.tags(of: image).map { ($0.repository, $0.tag) }
            for (repo, tag) in tags {
                if let filterRef {
                    let wantsTag = filter?.contains(":") == true && !(filter?.hasSuffix("/") ?? false)
                    if repo != filterRef.repository || (wantsTag && tag != filterRef.tag) { continue }
                }
                rows.append(
                    Row(
                        repository: repo, tag: tag, id: id, createdSince: since,
                        createdAt: created.goString(), size: size))
            }
        }
        return rows
    }
}
