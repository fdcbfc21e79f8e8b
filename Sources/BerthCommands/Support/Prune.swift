#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// The one question every destructive command asks (`container prune`,
/// `image prune`, `network prune`, `volume prune`, `system prune`,
/// `system reset`), so none can forget it or word the answer differently.
enum Confirmation {
    /// Unless `force` (`-f`), prints `warning` and Docker's
    /// ` [y/N] ` on stdout, then reads one line from stdin, a terminal or
    /// not (a script's pipe, as Docker reads it). Only `y` or `yes` (any
    /// case, surrounding blanks ignored) goes on; anything else, an empty
    /// line or the end of input cancels: the command then removes nothing
    /// and exits 0, as Docker 20.10 does.
    static func ask(_ ctx: CommandContext, _ warning: String, force: Bool) -> Bool {
        if force { return true }
        try? ctx.stdout.write(warning + " [y/N] ")
        // One byte at a time, so nothing after the answer's line is
        // consumed; a line of 4 KiB without a newline ends the reading (and
        // cancels), as Docker's buffered ReadLine does.
        var byte: UInt8 = 0
        var answer: [UInt8] = []
        while answer.count < 4096 {
            let n = ignoringEINTR { read(ctx.stdin.rawValue, &byte, 1) }
            if n != 1 || byte == 10 { break }
            answer.append(byte)
        }
        let text = String(decoding: answer.map { $0 == 13 ? 32 : $0 }, as: UTF8.self).lowercased().trimmingSpaces  // CRLF too
        return text == "y" || text == "yes"
    }

    /// Docker's closing question.
    static let question = "Are you sure you want to continue?"
}

/// `--filter` of the prune commands, as Docker reads it: `until=TIME`
/// (RFC 3339, Unix seconds, or a duration meaning that long ago) keeps
/// only objects created at or before TIME; `label=KEY` / `label=KEY=VALUE`
/// (every one must match) and `label!=KEY[=VALUE]` (the object is kept if
/// every one matches). An object without labels matches no `label=` and
/// every `label!=`.
/// Public, with `Prune`, for the API service's prune endpoints.
public struct PruneFilter {
    var until: Timestamp?
    /// `until` as given, for the warning.
    var untilText: String?
    var labels: [String] = []
    var notLabels: [String] = []

    /// Whether any filter was given.
    var isEmpty: Bool { until == nil && labels.isEmpty && notLabels.isEmpty }

    /// Parses `--filter` values; an unknown key is refused, as Docker does.
    public init(_ values: [String], now: Timestamp = .now) throws(BerthError) {
        for value in values {
            guard let eq = value.firstIndex(of: "=") else {
                throw BerthError("bad format of filter (expected name=value): \(value); use until=24h, label=KEY or label!=KEY")
            }
            let key = String(value[..<eq]).lowercased()
            let argument = String(value[value.index(after: eq)...])
            switch key {
            case "until":
                guard until == nil else { throw BerthError("more than one until filter specified; give one --filter until=…") }
                until = try EventsCommand.time(argument, now: now)
                untilText = argument
            case "label": labels.append(argument)
            case "label!": notLabels.append(argument)
            default:
                throw BerthError(
                    "Invalid filter '\(key)'; prune filters are until=TIME, label=KEY[=VALUE] and label!=KEY[=VALUE]")
            }
        }
    }

    /// The filters as Docker lists them in its warning, sorted.
    var descriptions: [String] {
        (labels.map { "label=" + $0 } + notLabels.map { "label!=" + $0 } + (untilText.map { ["until=" + $0] } ?? [])).sorted()
    }

    /// Whether an object created at `created` with `labels` is pruned.
    func matches(created: Timestamp?, labels objectLabels: [(String, String)]) -> Bool {
        if let until, let created, created > until { return false }
        if !labels.isEmpty && !Self.all(labels, match: objectLabels) { return false }
        if !notLabels.isEmpty && Self.all(notLabels, match: objectLabels) { return false }
        return true
    }

    /// Docker's MatchKVList: every `KEY` or `KEY=VALUE` is in `labels`.
    private static func all(_ filters: [String], match labels: [(String, String)]) -> Bool {
        guard !labels.isEmpty else { return false }
        return filters.allSatisfy { filter in
            let parts = filter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let value = labels.first(where: { $0.0 == parts[0] })?.1 else { return false }
            return parts.count == 1 || parts[1] == value
        }
    }

    /// The `--filter` flag every prune takes.
    static let flag = Flag.strings(
        "filter", value: "filter", help: "Provide filter values (e.g. 'until=<timestamp>', 'label=<key>=<value>', 'label!=<key>')"
    )
}

/// The labels of an image config (`--change LABEL`).
func imageLabels(_ config: JSON) -> [(String, String)] {
    guard case .object(let members)? = config["Labels"] else { return [] }
    return members.compactMap { k, v in v.stringValue.map { (k, $0) } }
}

/// What each prune removes; `system prune` runs them in Docker's order.
public enum Prune {
    /// Stopped containers (created, exited, dead) that match the filter. A
    /// container's labels are its record's: its image's overlaid with its
    /// own `run --label`s, merged at create as Docker does.
    public static func containers(_ lifecycle: Lifecycle, _ filter: PruneFilter, _ ctx: CommandContext) -> (
        deleted: [String], reclaimed: Int64
    ) {
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        for c in lifecycle.containers.all() where !c.state.isActive {
            guard filter.matches(created: c.created, labels: c.labels) else { continue }
            let size = FileSystem.diskUsage(lifecycle.layout.container(c.id))
            do throws(BerthError) {
                try lifecycle.remove(c.id, force: false)
                deleted.append(c.id)
                reclaimed += size
            } catch {
                // Gone meanwhile (another prune or rm took it): what was asked for.
                if (try? lifecycle.containers.load(id: c.id)) == nil { continue }
                ctx.warn("Error: \(error)")
            }
        }
        return (deleted, reclaimed)
    }

    /// User networks no container is on (a stopped container keeps its
    /// address, so its network stays), filtered by the labels they were created with.
    public static func networks(_ store: NetworkStore, _ filter: PruneFilter) -> [String] {
        store.all().filter { n in
            !NetworkRecord.predefined.contains(n.name) && filter.matches(created: n.created, labels: n.labels)
                && !store.inUse(n.name)
        }.compactMap { n in (try? store.remove(n.name)) != nil ? n.name : nil }
    }

    /// Unused volumes: anonymous ones, or with `all` named ones too.
    /// Volumes are filtered by label only (Docker refuses `until` here).
    public static func volumes(_ store: VolumeStore, all: Bool, _ filter: PruneFilter) -> (deleted: [String], reclaimed: Int64) {
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        for v in store.all()
        where (all || v.anonymous) && filter.matches(created: nil, labels: v.labels) && store.users(v.name).isEmpty {
            let size = FileSystem.diskUsage(v.mountpoint)
            if (try? store.remove(v.name)) != nil { deleted.append(v.name); reclaimed += size }
        }
        return (deleted, reclaimed)
    }

    /// Refuses `until` for volumes, as Docker's daemon does, before anything is removed.
    public static func checkVolumeFilter(_ filter: PruneFilter) throws(BerthError) {
        if filter.until != nil {
            throw BerthError("Invalid filter 'until': volumes are pruned by label only; drop the until filter or --volumes")
        }
    }

    /// Images no container (running or stopped) uses: untagged (dangling)
    /// ones, or with `all` every one. Returns Docker's `untagged:` and
    /// `deleted:` lines (image, then the layers no other image shares).
    public static func images(
        _ store: ImageStore, all: Bool, _ filter: PruneFilter, registry: PluginRegistry
    ) throws(BerthError) -> (lines: [String], reclaimed: Int64) {
        defer { collectStorage(store.layout, registry) }
        return try FileLock.withLock(store.layout.imageLock) { () throws(BerthError) -> ([String], Int64) in
            let used = Set(ContainerStore(layout: store.layout).all().map(\.image))
            var lines: [String] = []
            var reclaimed: Int64 = 0
            // Dangling, as Docker means it: untagged and no image built from it
            // (build's intermediate images have children). Removing one can
            // leave its parent dangling, so this repeats until nothing is left.
            var skipped = Set<String>()
            while true {
                let parents = all ? [] : BuildCache.parents(in: store.layout)
                let doomed = store.all().sorted(by: { $0.id < $1.id }).filter {
                    !used.contains($0.id) && (all || $0.tags.isEmpty) && !parents.contains($0.id) && !skipped.contains($0.id)
                }
                if doomed.isEmpty { break }
                for image in doomed {
                    guard filter.matches(created: image.created, labels: imageLabels(image.runConfig)) else {
                        skipped.insert(image.id)
                        continue
                    }
                    let sizes = Dictionary(image.diffIDs.map { ($0, store.layerSize($0)) }, uniquingKeysWith: { a, _ in a })
                    let removed = try store.deleteImage(image)
                    lines += image.tags.map { "untagged: \($0)" } + ["deleted: \(image.id)"] + removed.map { "deleted: \($0)" }
                    reclaimed += removed.reduce(0) { $0 + (sizes[$1] ?? 0) }
                }
            }
            return (lines, reclaimed)
        }
    }

    /// Lets every storage driver remove what no container uses any more
    /// (the overlay driver's shifted copies). A driver that fails keeps its
    /// files for the next prune; the prune itself has done its work.
    static func collectStorage(_ layout: StoreLayout, _ registry: PluginRegistry) {
        for driver in registry.all(.storage) {
            let env = StorageEnvironment(storeRoot: layout.root, driverDirectory: layout.driver(driver.id))
            try? registry.storageDriver(driver.id, env).collectGarbage()
        }
    }

    /// Docker's section: a title, one line each, then a blank line.
    static func section(_ ctx: CommandContext, _ title: String, _ lines: [String]) {
        if !lines.isEmpty { ctx.print(title + "\n" + lines.joined(separator: "\n") + "\n") }
    }
}
