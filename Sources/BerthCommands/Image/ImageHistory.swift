#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth history IMAGE`: the image's layers, newest first.
struct HistoryCommand: Command {
    static let noTrunc = Flag.bool("no-trunc", help: "Don't truncate output")
    static let quiet = Flag.bool("quiet", short: "q", help: "Only show image IDs")

    let spec = CommandSpec(
        "history", aliases: ["image history"], summary: "Show the history of an image",
        flags: [Self.noTrunc, Self.quiet],
        arguments: [ArgSpec("IMAGE", completion: .images)], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = try ctx.images()
        let image = try store.resolve(args.positionals[0])
        let history = image.config["history"]?.arrayValue ?? []
        let layers = image.diffIDs
        let now = Timestamp.now.asDouble
        var rows: [[String]] = []
        var layerIndex = layers.count - 1
        // Only as far back as each ancestor has exactly one history entry fewer.
        var chain: [String] = []
        for (back, id) in BuildCache.ancestry(of: image.id, in: store.layout).enumerated() {
            let count = (try? store.load(id: id))?.config["history"]?.arrayValue?.count
            guard count == history.count - back else { break }
            chain.append(id)
        }
        for (i, entry) in history.enumerated().reversed() {
            let empty = entry["empty_layer"]?.boolValue ?? false
            let size = empty || layerIndex < 0 ? 0 : store.layerSize(layers[layerIndex])
            if !empty { layerIndex -= 1 }
            let created = entry["created"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            var by = entry["created_by"]?.stringValue ?? ""
            if !args[Self.noTrunc] && by.count > 45 { by = String(by.prefix(44)) + "…" }
            // Entries a build made locally have their image's ID (newest first).
            let back = history.count - 1 - i
            let id = back < chain.count ? (args[Self.noTrunc] ? chain[back] : Format.shortID(chain[back])) : "<missing>"
            rows.append([
                id, created.map { Format.duration(seconds: now - $0.asDouble) + " ago" } ?? "",
                by, Format.size(size), entry["comment"]?.stringValue ?? "",
            ])
        }
        if args[Self.quiet] { rows.forEach { ctx.print($0[0]) }; return 0 }
        ctx.printRaw(Table.render(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], rows))
        return 0
    }
}
