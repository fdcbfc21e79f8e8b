#if canImport(Glibc)
import Glibc
#endif

/// One lifecycle event, as Docker's `events` reports it.
public struct Event: Sendable {
    public var time: Timestamp
    public var action: String
    public var id: String
    public var attributes: [(String, String)]

    public init(time: Timestamp = .now, action: String, id: String, attributes: [(String, String)]) {
        self.time = time
        self.action = action
        self.id = id
        self.attributes = attributes
    }

    /// Docker's JSON shape (`events --format '{{json .}}'`).
    public var json: JSON {
        let nanos = time.seconds * 1_000_000_000 + time.nanoseconds
        return .object([
            ("status", .string(action)), ("id", .string(id)),
            ("from", .string(attributes.first { $0.0 == "image" }?.1 ?? "")),
            ("Type", .string("container")), ("Action", .string(action)),
            ("Actor", .object([("ID", .string(id)), ("Attributes", .object(attributes.map { ($0.0, .string($0.1)) }))])),
            ("scope", .string("local")), ("time", .int(time.seconds)), ("timeNano", .int(nanos)),
        ])
    }

    init?(json: JSON) {
        guard let action = json["Action"]?.stringValue, let id = json["id"]?.stringValue,
            let nanos = json["timeNano"]?.int64Value
        else { return nil }
        self.action = action
        self.id = id
        self.time = Timestamp(seconds: nanos / 1_000_000_000, nanoseconds: nanos % 1_000_000_000)
        if case .object(let members)? = json["Actor"]?["Attributes"] {
            attributes = members.compactMap { k, v in v.stringValue.map { (k, $0) } }
        } else {
            attributes = []
        }
    }

    /// `2026-11-29T03:45:12.123456789Z container start ID (image=busybox, name=web)`.
    public var line: String {
        let attrs = attributes.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
        return "\(time.rfc3339) container \(action) \(id) (\(attrs))"
    }
}

/// The store's append-only event log (`ROOT/events.log`, one JSON object a
/// line). Every `berth` process and every monitor appends with O_APPEND, so
/// writes from concurrent processes never interleave within a line.
public struct EventLog: Sendable {
    public let path: String

    public init(layout: StoreLayout) { path = layout.events }

    /// Appends an event about a container; failures are ignored (an event
    /// log must never make a lifecycle operation fail).
    public func record(_ action: String, _ c: Container, _ extra: [(String, String)] = []) {
        let event = Event(
            action: action, id: c.id,
            attributes: [("image", c.imageName), ("name", c.name)] + extra)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array((event.json.compact + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Events from byte `offset` on; advances `offset` past whole lines read.
    public func read(from offset: inout Int) -> [Event] {
        guard let bytes = try? FileSystem.read(path), bytes.count > offset else { return [] }
        var end = bytes.count
        while end > offset && bytes[end - 1] != 10 { end -= 1 }
        let chunk = bytes[offset..<end]
        offset = end
        return chunk.split(separator: 10).compactMap { line in
            (try? JSONParser.parse(Array(line))).flatMap(Event.init(json:))
        }
    }
}
