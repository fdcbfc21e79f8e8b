#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine

/// `GET /events?since=&until=&filters=`: the store's event log (every
/// `berth` process and monitor appends to it), replayed from `since` and
/// then followed, one JSON object a line, until `until` or the client
/// leaves. Without `since`, only what happens from now on.
struct EventRoutes {
    let engine: Engine

    static let filterKeys = ["type", "event", "container", "image"]

    func stream(_ r: APIRequest, _ out: Responder) throws(BerthError) -> RouteResult {
        let since = try Self.time(r.query["since"], "since")
        let until = try Self.time(r.query["until"], "until")
        var filters: [(String, [String])] = []
        for flag in try FilterQuery.flags(r.query["filters"]) {
            let kv = flag.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, Self.filterKeys.contains(kv[0]) else {
                throw .invalid("invalid filter '\(kv[0])'; events take: \(Self.filterKeys.joined(separator: ", "))")
            }
            if let i = filters.firstIndex(where: { $0.0 == kv[0] }) {
                filters[i].1.append(kv[1])
            } else {
                filters.append((kv[0], [kv[1]]))
            }
        }
        let log = EventLog(layout: engine.layout)
        var offset = 0
        if since == nil {
            var st = stat()
            offset = stat(log.path, &st) == 0 ? Int(st.st_size) : 0
        }
        out.startStream(contentType: "application/json")
        while out.channel.isActive {
            for e in log.read(from: &offset) where matches(e, filters) {
                let t = e.time.asDouble
                if let since, t < since { continue }
                if let until, t > until { break }
                if !out.write(Array((e.json.compact + "\n").utf8)) { return .streamed }
            }
            if let until, Timestamp.now.asDouble > until { break }
            usleep(100_000)
        }
        out.finish()
        return .streamed
    }

    /// Filters: different keys ANDed, values of one key ORed, as dockerd's.
    private func matches(_ e: Event, _ filters: [(String, [String])]) -> Bool {
        filters.allSatisfy { key, values in
            values.contains { v in
                switch key {
                case "type": return v == "container"
                case "event": return e.action == v
                case "container":
                    return e.id.hasPrefix(v) || e.attributes.contains { $0.0 == "name" && $0.1 == v }
                default: return e.attributes.contains { $0.0 == "image" && $0.1 == v }
                }
            }
        }
    }

    /// Unix seconds (with a fraction), or RFC 3339.
    static func time(_ text: String?, _ name: String) throws(BerthError) -> Double? {
        guard let text, !text.isEmpty else { return nil }
        if let t = Double(text) { return t }
        if let t = Timestamp(rfc3339: text) { return t.asDouble }
        throw .invalid("invalid value for \(name): \(text)")
    }
}
