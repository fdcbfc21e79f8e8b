#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth history IMAGE`: the image's layers, newest first.
struct HistoryCommand: Command {
    static let noTrunc = Flag.bool("no-trunc", help: "Don't truncate output")
    static let quiet = Flag.bool("quiet", short: "q", help: "Only show image IDs")
    static let human = Flag.bool(
        "human", short: "H", help: "Print sizes and dates in human readable format", default: true)
    static let format = Flag.string(
        "format",
        help:
            "Format output using a Go template ({{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.CreatedBy}} {{.Size}} {{.Comment}}), or table, or json"
    )

    let spec = CommandSpec(
        "history", aliases: ["image history"], summary: "Show the history of an image",
        flags: [Self.human, Self.noTrunc, Self.quiet, Self.format],
        arguments: [ArgSpec("IMAGE", completion: .images)], min: 1, max: 1)

    static let titles = [
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
        "Size": "SIZE", "Comment": "COMMENT",
    ]
    static let table = "table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}"

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let template = try args[Self.format].map { (f) throws(BerthError) in try ctx.listingTemplate(f, table: Self.table) }
        let store = try ctx.images()
        let image = try store.resolve(args.positionals[0])
        let history = image.config["history"]?.arrayValue ?? []
        let layers = image.diffIDs
        let now = Timestamp.now.asDouble
        let human = args[Self.human], trunc = !args[Self.noTrunc]
        var rows: [JSON] = []
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
            let created = entry["created"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) ?? Timestamp(seconds: 0)
            // As Docker's history formatter: tabs in the command are spaces,
            // and a truncated one is cut to 45 characters with an ellipsis.
            var by = String((entry["created_by"]?.stringValue ?? "").map { $0 == "\t" ? " " : $0 })
            if trunc && by.count > 45 { by = String(by.prefix(44)) + "…" }
            // Entries a build made locally have their image's ID (newest first).
            let back = history.count - 1 - i
            let id = back < chain.count ? (trunc ? Format.shortID(chain[back]) : chain[back]) : "<missing>"
            let createdAt = Self.localRFC3339(created)
            rows.append(
                .object([
                    ("ID", .string(id)),
                    ("CreatedSince", .string(human ? Format.duration(seconds: now - created.asDouble) + " ago" : createdAt)),
                    ("CreatedAt", .string(createdAt)), ("CreatedBy", .string(by)),
                    ("Size", .string(human ? Format.size(size) : String(size))),
                    ("Comment", .string(entry["comment"]?.stringValue ?? "")),
                ]))
        }
        if args[Self.quiet] { rows.forEach { ctx.print($0["ID"]?.stringValue ?? "") }; return 0 }
        if let template {
            ctx.printRaw(
                try template.renderAll(
                    rows.map { TemplateObject.context("*image.historyContext", $0, labels: []) }, titles: Self.titles))
            return 0
        }
        let columns = ["ID", "CreatedSince", "CreatedBy", "Size", "Comment"]
        ctx.printRaw(
            Table.render(
                columns.map { Self.titles[$0] ?? $0 }, rows.map { r in columns.map { r[$0]?.stringValue ?? "" } }))
        return 0
    }

    /// Go's `time.RFC3339` in the local zone, as Docker's `{{.CreatedAt}}` of
    /// history: `2022-10-18T15:43:16Z`, or `…T17:43:16+02:00`.
    static func localRFC3339(_ t: Timestamp) -> String {
        let text = t.goString()  // `2022-10-18 15:43:16 +0000 UTC`
        let f = text.split(separator: " ")
        guard f.count >= 3 else { return t.rfc3339 }
        let zone = f[2] == "+0000" ? "Z" : String(f[2].prefix(3)) + ":" + String(f[2].suffix(2))
        return "\(f[0])T\(f[1])\(zone)"
    }
}
