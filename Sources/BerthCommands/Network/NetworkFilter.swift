import BerthEngine

/// `network ls --filter` and the API's `GET /networks?filters=`, with
/// Docker's keys: `name=` and `id=` (unanchored regular expressions, as
/// moby matches them), `label=KEY[=VALUE]` (every one given), `driver=`,
/// `scope=local`, `type=custom|builtin`, `dangling=true|false` (a user
/// network no container is on).
public struct NetworkFilter {
    /// What a filter looks at of one network (or of the `host`/`none` modes).
    public struct Row {
        public var id: String
        public var name: String
        public var driver: String
        public var labels: [(String, String)]
        public var builtin: Bool
        public var inUse: Bool

        public init(id: String, name: String, driver: String, labels: [(String, String)], builtin: Bool, inUse: Bool) {
            self.id = id; self.name = name; self.driver = driver; self.labels = labels
            self.builtin = builtin; self.inUse = inUse
        }

        /// A stored network's row.
        public init(_ n: NetworkRecord, store: NetworkStore) {
            self.init(
                id: n.id, name: n.name, driver: "bridge", labels: n.labels,
                builtin: NetworkRecord.predefined.contains(n.name), inUse: store.inUse(n.name))
        }
    }

    let filters: Filters
    private var regexes: [String: GoRegexp] = [:]

    public init(_ flags: [String]) throws(BerthError) {
        filters = try Filters(flags, known: ["dangling", "driver", "id", "label", "name", "scope", "type"])
        for (key, values) in filters.values {
            for value in values {
                switch key {
                case "dangling": try Filters.checkDangling(value)
                case "type":
                    guard ["custom", "builtin"].contains(value) else {
                        throw BerthError(.invalidArgument, "invalid filter: 'type'='\(value)'; use type=custom or type=builtin")
                    }
                case "name", "id": regexes[key + "=" + value] = try Filters.regex(value, key: key)
                default: break
                }
            }
        }
    }

    public func matches(_ r: Row) -> Bool {
        filters.matches { key, value in
            switch key {
            case "name": return regexes["name=" + value].map { $0.matches(r.name) } ?? false
            case "id": return regexes["id=" + value].map { $0.matches(r.id) } ?? false
            case "driver": return r.driver == value
            case "scope": return value == "local"
            case "type": return r.builtin == (value == "builtin")
            case "dangling": return (!r.builtin && !r.inUse) == (value == "true" || value == "1")
            case "label":
                let parts = value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard let label = r.labels.first(where: { $0.0 == parts[0] }) else { return false }
                return parts.count == 1 || label.1 == parts[1]
            default: return false
            }
        }
    }
}
