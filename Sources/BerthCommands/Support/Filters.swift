import BerthEngine

/// `--filter KEY=VALUE` flags as Docker reads them: different keys are
/// ANDed, the same key given again is ORed (`-f status=created -f
/// status=exited` lists both), except `label`, whose values are ANDed
/// (moby's `MatchKVList`: every label given must be there; docker-compose
/// selects a project's containers with two of them).
public struct Filters {
    /// Values per key, keys in the order first given.
    public private(set) var values: [(String, [String])] = []

    /// Parses `KEY=VALUE` flags, refusing keys not in `known`.
    public init(_ flags: [String], known: [String]) throws(BerthError) {
        for flag in flags {
            let parts = flag.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw BerthError(.invalidArgument, "bad format of filter (expected name=value): \(flag)")
            }
            guard known.contains(parts[0]) else {
                throw BerthError(.invalidArgument, "invalid filter '\(parts[0])'; use one of: \(known.joined(separator: ", "))")
            }
            if let i = values.firstIndex(where: { $0.0 == parts[0] }) {
                values[i].1.append(parts[1])
            } else {
                values.append((parts[0], [parts[1]]))
            }
        }
    }

    /// Whether every key has some value for which `test` holds (every value, for `label`).
    public func matches(_ test: (String, String) -> Bool) -> Bool {
        values.allSatisfy { key, vals in
            key == "label" ? vals.allSatisfy { test(key, $0) } : vals.contains { test(key, $0) }
        }
    }

    /// `dangling=` takes a boolean in Docker's four spellings; anything else
    /// is one error line (images, volumes and networks check it alike).
    static func checkDangling(_ value: String) throws(BerthError) {
        guard ["true", "false", "1", "0"].contains(value) else {
            throw BerthError(.invalidArgument, "invalid filter 'dangling=\(value)'; use dangling=true or dangling=false")
        }
    }

    /// Docker's `name=`: an unanchored regular expression in Go's syntax,
    /// matched in linear time (`GoRegexp`); an invalid one is one error line
    /// with Go's wording.
    static func regex(_ pattern: String, key: String) throws(BerthError) -> GoRegexp {
        do {
            return try GoRegexp(pattern)
        } catch {
            throw BerthError(.invalidArgument, "invalid filter '\(key)=\(pattern)': \(error)")
        }
    }
}

/// `ps --filter`: status, name (regexp), id (prefix), ancestor (image name,
/// name:tag, short or long ID), exited, before, since, volume, network, label.
/// Public for the API service (`GET /containers/json?filters=`), which
/// filters with the same rules as `ps --filter`.
public struct ContainerFilter {
    static let keys = ["status", "name", "id", "ancestor", "exited", "before", "since", "volume", "network", "label", "health"]
    /// `health=`: Docker's three words, and `none` for a container without a check.
    static let healths = ["starting", "healthy", "unhealthy", "none"]
    static let statuses = ContainerStatus.allCases.map(\.rawValue)

    let filters: Filters
    private var regexes: [String: GoRegexp] = [:]
    private var ancestors: [String: Image] = [:]  // filter value → image
    private var imagesOfContainers: [String: Image] = [:]  // a container's image ID → image, for ancestor=
    private var before: Timestamp?
    private var since: Timestamp?

    public init(_ flags: [String], containers: ContainerStore, images: ImageStore) throws(BerthError) {
        filters = try Filters(flags, known: Self.keys)
        for (key, values) in filters.values {
            for value in values {
                switch key {
                case "status":
                    guard Self.statuses.contains(value) else {
                        throw .invalid("invalid filter 'status=\(value)'; use one of: \(Self.statuses.joined(separator: ", "))")
                    }
                case "name": regexes[value] = try Filters.regex(value, key: key)
                case "health":
                    guard Self.healths.contains(value) else {
                        throw .invalid("invalid filter 'health=\(value)'; use one of: \(Self.healths.joined(separator: ", "))")
                    }
                case "exited":
                    guard Int32(value) != nil else {
                        throw BerthError(.invalidArgument, "invalid filter 'exited=\(value)'; use an exit code such as exited=0")
                    }
                case "before", "since":
                    // The store's own lookup: a name, an ID, or a prefix that is
                    // neither empty nor ambiguous.
                    let c = try containers.find(value)
                    // Several values: the strictest bound, as Docker keeps the last one found.
                    if key == "before" {
                        before = min(before ?? c.created, c.created)
                    } else {
                        since = max(since ?? c.created, c.created)
                    }
                case "ancestor":
                    if let image = try? images.resolve(value) { ancestors[value] = image }
                default: break
                }
            }
        }
        if !ancestors.isEmpty {
            for c in containers.all(.listing) where imagesOfContainers[c.image] == nil {
                if let image = try? images.load(id: c.image) { imagesOfContainers[c.image] = image }
            }
        }
    }

    /// `ps`'s and `GET /containers/json`'s selection, in place: the running
    /// containers unless `all` (a restarting one counts as running: Docker's
    /// `Running` is true between its restarts), those this filter matches,
    /// the first `limit` of them (<= 0: every one). In place, because a
    /// `filter` copies every record it keeps, dozens of fields each.
    ///
    /// The kept records are moved to the front (swapped, never copied: a
    /// record is dozens of fields, and with 1,000 containers the copies
    /// `removeAll` made were a tenth of `ps`'s time on its main thread).
    public func select(_ list: inout [Container], all: Bool, limit: Int) {
        let anyFilter = !filters.values.isEmpty
        var kept = 0
        for i in list.indices {
            if limit > 0 && kept == limit { break }
            guard all || list[i].state.isActive || list[i].state.status == .restarting else { continue }
            guard !anyFilter || matches(list[i]) else { continue }
            if i != kept { list.swapAt(i, kept) }
            kept += 1
        }
        if kept < list.count { list.removeSubrange(kept...) }
    }

    public func matches(_ c: Container) -> Bool {
        filters.matches { key, value in
            switch key {
            case "status": return c.state.status.rawValue == value
            case "name":
                guard let regex = regexes[value] else { return false }
                return regex.matches(c.name) || regex.matches("/" + c.name)
            case "id": return c.id.hasPrefix(value)
            case "health": return (c.state.health?.status.rawValue ?? "none") == value
            case "exited": return c.state.status == .exited && Int32(value) == c.state.exitCode
            case "before": return before.map { c.created < $0 } ?? false
            case "since": return since.map { c.created > $0 } ?? false
            case "ancestor":
                if let ancestor = ancestors[value], let image = imagesOfContainers[c.image],
                    Self.descends(image, from: ancestor)
                {
                    return true
                }
                return Self.normalized(c.imageName) == Self.normalized(value)
            case "volume":
                return c.mounts.contains { ($0.kind == .volume && $0.source == value) || $0.target == value }
            case "network": return c.networkMode == value || c.endpoints.contains { $0.network == value }
            case "label":
                let parts = value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard let label = c.labels.first(where: { $0.0 == parts[0] }) else { return false }
                return parts.count == 1 || label.1 == parts[1]
            default: return false
            }
        }
    }

    /// Whether `image` is `ancestor` or was built on it (`commit`, `build`):
    /// Berth keeps no parent links, so, as the layers say, the ancestor's
    /// layers and history are where the image's begin.
    static func descends(_ image: Image, from ancestor: Image) -> Bool {
        if image.id == ancestor.id { return true }
        let layers = image.diffIDs, base = ancestor.diffIDs
        let history = image.config["history"]?.arrayValue ?? [], baseHistory = ancestor.config["history"]?.arrayValue ?? []
        return !base.isEmpty && layers.count >= base.count && Array(layers.prefix(base.count)) == base
            && history.count > baseHistory.count && Array(history.prefix(baseHistory.count)) == baseHistory
    }

    /// `busybox` and `busybox:latest` name the same image; so do `docker.io/library/busybox` and `busybox`.
    static func normalized(_ name: String) -> String {
        guard let ref = try? ImageReference(parsing: name) else { return name }
        return ref.description
    }
}
