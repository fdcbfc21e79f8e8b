import BerthEngine

/// `berth system df [-v]`: what images, containers and layers cost on disk,
/// with shared layers counted once: the tutorial's closing question ("why is
/// the sum of image sizes larger than the disk used?") made visible.
struct SystemDfCommand: Command {
    static let verbose = Flag.bool("verbose", short: "v", help: "Show detailed information on space usage")
    static let format = Flag.string(
        "format",
        help:
            "Format the summary using a Go template ({{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}), or table, or json"
    )

    let spec = CommandSpec(
        "system df", summary: "Show disk usage of images, containers and layers (shared layers counted once)",
        flags: [Self.format, Self.verbose], max: 0)

    static let titles = [
        "Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE",
    ]

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let template = try args[Self.format].map { (f) throws(BerthError) in
            try ctx.listingTemplate(
                f, table: "table {{.Type}}\\t{{.TotalCount}}\\t{{.Active}}\\t{{.Size}}\\t{{.Reclaimable}}")
        }
        if template != nil && args[Self.verbose] {
            throw BerthError(.invalidArgument, "--format applies to the summary; drop --verbose or --format")
        }
        let lifecycle = try ctx.lifecycle()
        let usage = DiskUsage(lifecycle)
        if let template {
            // Docker's *formatter.diskUsageContext rows, one per type.
            let rows = usage.summaryRows().map { r in
                TemplateObject.context(
                    "*formatter.diskUsageContext",
                    .object(zip(["Type", "TotalCount", "Active", "Size", "Reclaimable"], r).map { ($0, .string($1)) }),
                    labels: [])
            }
            ctx.printRaw(try template.renderAll(rows, titles: Self.titles))
            return 0
        }
        ctx.printRaw(Table.render(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], usage.summaryRows()))
        guard args[Self.verbose] else { return 0 }
        ctx.print("\nImages space usage:\n")
        ctx.printRaw(
            Table.render(
                ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"],
                usage.imageRows()))
        ctx.print("\nContainers space usage:\n")
        ctx.printRaw(
            Table.render(
                ["CONTAINER ID", "IMAGE", "COMMAND", "STORAGE", "SIZE", "CREATED", "STATUS", "NAMES"],
                usage.containerRows()))
        ctx.print("\nLayers space usage:\n")
        ctx.printRaw(Table.render(["LAYER", "SIZE", "DISK", "IMAGES", "CONTAINERS"], usage.layerRows()))
        return 0
    }
}

/// The figures behind `system df`.
struct DiskUsage {
    let lifecycle: Lifecycle
    let images: [Image]
    let containers: [Container]
    let layerSize: [String: Int64]

    init(_ lifecycle: Lifecycle) {
        self.lifecycle = lifecycle
        images = lifecycle.images.all()
        containers = lifecycle.containers.all()
        var sizes: [String: Int64] = [:]
        for id in Set(images.flatMap(\.diffIDs)) { sizes[id] = lifecycle.images.layerSize(id) }
        layerSize = sizes
    }

    func users(of layer: String) -> [Image] { images.filter { $0.diffIDs.contains(layer) } }

    func containerSize(_ c: Container) -> Int64 {
        guard let driver = try? lifecycle.driver(for: c) else { return 0 }
        return driver.size(containerDirectory: lifecycle.layout.container(c.id))
    }

    func summaryRows() -> [[String]] {
        let used = Set(containers.map(\.image))
        let total = layerSize.values.reduce(0, +)
        let activeLayers = Set(images.filter { used.contains($0.id) }.flatMap(\.diffIDs))
        let reclaimImages = layerSize.filter { !activeLayers.contains($0.key) }.values.reduce(0, +)
        let sizes = containers.map { ($0, containerSize($0)) }
        let containerTotal = sizes.reduce(0) { $0 + $1.1 }
        let reclaimContainers = sizes.filter { !$0.0.state.isActive }.reduce(0) { $0 + $1.1 }
        return [
            [
                "Images", String(images.count), String(images.filter { used.contains($0.id) }.count),
                Format.size(total), reclaimable(reclaimImages, of: total),
            ],
            [
                "Containers", String(containers.count), String(containers.filter(\.state.isActive).count),
                Format.size(containerTotal), reclaimable(reclaimContainers, of: containerTotal),
            ],
            volumeRow(),
        ]
    }

    /// Volumes live outside every container layer; in use = mounted by any container.
    private func volumeRow() -> [String] {
        let store = VolumeStore(layout: lifecycle.layout)
        let used = Set(containers.flatMap { $0.mounts.filter { $0.kind == .volume }.map(\.source) })
        let volumes = store.all().map { ($0.name, FileSystem.contentSize($0.mountpoint)) }
        let total = volumes.reduce(0) { $0 + $1.1 }
        let unused = volumes.filter { !used.contains($0.0) }.reduce(0) { $0 + $1.1 }
        return [
            "Local Volumes", String(volumes.count), String(volumes.filter { used.contains($0.0) }.count),
            Format.size(total), reclaimable(unused, of: total),
        ]
    }

    private func reclaimable(_ part: Int64, of total: Int64) -> String {
        let percent = total > 0 ? Int((Double(part) * 100 / Double(total)).rounded()) : 0
        return "\(Format.size(part)) (\(percent)%)"
    }

    func imageRows() -> [[String]] {
        let now = Timestamp.now.asDouble
        return images.flatMap { image -> [[String]] in
            let size = image.diffIDs.reduce(0) { $0 + (layerSize[$1] ?? 0) }
            let shared = image.diffIDs.filter { users(of: $0).count > 1 }.reduce(0) { $0 + (layerSize[$1] ?? 0) }
            let created = image.created.map { Format.duration(seconds: now - $0.asDouble) + " ago" } ?? ""
            let count = containers.filter { $0.image == image.id }.count
            let tags = image.tags.isEmpty ? [ImageReference(repository: "<none>", tag: "<none>")] : image.tags
            return tags.map {
                [
                    $0.repository, $0.tag, image.shortID, created, Format.size(size),
                    Format.size(shared), Format.size(size - shared), String(count),
                ]
            }
        }
    }

    func containerRows() -> [[String]] {
        let now = Timestamp.now.asDouble
        return containers.map { c in
            [
                c.shortID, c.imageName, "\"\(c.command.joined(separator: " ").prefix(20))\"", c.storage,
                Format.size(containerSize(c)), Format.duration(seconds: now - c.created.asDouble) + " ago",
                PsCommand.status(c, now: now), c.name,
            ]
        }
    }

    func layerRows() -> [[String]] {
        layerSize.keys.sorted().map { id in
            let imageUsers = users(of: id)
            let ids = Set(imageUsers.map(\.id))
            return [
                Format.shortID(id), Format.size(layerSize[id] ?? 0),
                Format.size(FileSystem.diskUsage(lifecycle.layout.layer(id))),
                String(imageUsers.count), String(containers.filter { ids.contains($0.image) }.count),
            ]
        }
    }
}
