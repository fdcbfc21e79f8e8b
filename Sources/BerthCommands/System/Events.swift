#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth events`: the store's event log, replayed and followed.
struct EventsCommand: Command {
    static let since = Flag.string("since", help: "Show all events created since timestamp (RFC 3339, Unix seconds, or 10m ago)")
    static let until = Flag.string("until", help: "Stream events until this timestamp")
    static let filter = Flag.strings(
        "filter", short: "f", value: "filter", help: "Filter output (container=, event=, image=, type=container)")
    static let format = Flag.string(
        "format", help: "Format the output using a Go template ({{json .}}, {{.Action}}, {{.Actor.Attributes.name}}), or json")

    let spec = CommandSpec(
        "events", aliases: ["system events"], summary: "Get real time events from the store",
        flags: [Self.since, Self.until, Self.filter, Self.format],
        max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let log = EventLog(layout: try ctx.openStore())
        let now = Timestamp.now
        let since = try args[Self.since].map { (t) throws(BerthError) in try Self.time(t, now: now) }
        let until = try args[Self.until].map { (t) throws(BerthError) in try Self.time(t, now: now) }
        let filters = try Filters(args[Self.filter], known: ["container", "event", "image", "type"])
        let template = try args[Self.format].map { (f) throws(BerthError) -> Template in
            let t = try Template(f, style: .plain, errorPrefix: "")  // Docker's events print Go's error bare
            // As Docker, run it once on an empty event so a bad field fails now, not at the first event.
            _ = try t.render(Self.value(Event(time: Timestamp(seconds: 0), action: "", id: "", attributes: [])))
            return t
        }
        var offset = 0
        if since == nil && until == nil { _ = log.read(from: &offset) }  // no --since: only new events, as Docker
        while true {
            for e in log.read(from: &offset) where matches(e, since, until, filters) {
                ctx.print(try template.map { (t) throws(BerthError) in try t.render(Self.value(e)) } ?? e.line)
            }
            if let until, Timestamp.now >= until { return 0 }
            if Interruption.requested { return 130 }
            usleep(100_000)
        }
    }

    /// Docker's filters on an event: `container=` a prefix of the name or ID, `event=`
    /// the action, `image=` the image with or without its tag, `type=container`.
    private func matches(_ e: Event, _ since: Timestamp?, _ until: Timestamp?, _ filters: Filters) -> Bool {
        if let since, e.time < since { return false }
        if let until, e.time > until { return false }
        let name = e.attributes.first { $0.0 == "name" }?.1 ?? ""
        let image = e.attributes.first { $0.0 == "image" }?.1 ?? ""
        return filters.matches { key, value in
            switch key {
            case "container": return name.hasPrefix(value) || e.id.hasPrefix(value)  // Docker's FuzzyMatch
            case "event": return e.action == value
            case "image": return image == value || Self.untagged(image) == value
            default: return value == "container"
            }
        }
    }

    private static func untagged(_ image: String) -> String {
        guard let colon = image.lastIndex(of: ":"), !image[colon...].contains("/") else { return image }
        return String(image[..<colon])
    }

    /// An event as Docker's `events.Message` struct: `.Status`, `.ID`, `.From`,
    /// `.Type`, `.Action`, `.Actor.ID`, `.Actor.Attributes.name`, `.Scope`,
    /// `.Time`, `.TimeNano`; `{{json .}}` prints the JSON form.
    static func value(_ e: Event) -> TemplateValue {
        // Attributes is a Go map in Docker's events.Message: its JSON keys are sorted.
        let sorted = JSON.object(e.attributes.sorted { $0.0 < $1.0 }.map { ($0.0, .string($0.1)) })
        let json = e.json.setting("Actor", .object([("ID", .string(e.id)), ("Attributes", sorted)]))
        let attributes = TemplateValue.map(e.attributes.map { ($0.0, .string($0.1)) }, strict: false)
        let actor = TemplateObject(
            typeName: "events.Actor", fields: [("ID", .string(e.id)), ("Attributes", attributes)],
            json: json["Actor"])
        return .object(
            TemplateObject(
                typeName: "*events.Message",
                fields: [
                    ("Status", .string(e.action)), ("ID", .string(e.id)), ("From", TemplateValue(json["from"] ?? .string(""))),
                    ("Type", .string("container")), ("Action", .string(e.action)), ("Actor", .object(actor)),
                    ("Scope", .string("local")), ("Time", .int(e.time.seconds)),
                    ("TimeNano", .int(e.time.seconds * 1_000_000_000 + e.time.nanoseconds)),
                ], json: json))
    }

    /// RFC 3339, Unix seconds (with a fraction), or a Go duration meaning that long ago (`10m`, `1h30m`, `90s`).
    /// Anything else (`bogus`, `inf`, a time beyond year 9999) is refused, as Docker refuses it.
    static func time(_ text: String, now: Timestamp) throws(BerthError) -> Timestamp {
        let invalid = BerthError(
            "invalid value for time: \"\(text)\": use RFC 3339 (2026-01-02T15:04:05Z), Unix seconds or a duration like 10m")
        if let t = Timestamp(rfc3339: text) { return t }
        // Beyond ±10^11 s (3000 years) a time is a typo, and would overflow Int64.
        let limit = 1e11
        if let seconds = Double(text) {
            guard seconds.isFinite, abs(seconds) < limit else {
                throw BerthError("invalid time \"\(text)\": Unix seconds must be within 3000 years of 1970")
            }
            return Timestamp(seconds: Int64(seconds), nanoseconds: Int64((seconds - seconds.rounded(.down)) * 1e9))
        }
        var total = 0.0, number = "", units = 0
        for c in text {
            if c.isNumber || c == "." { number.append(c); continue }
            guard let n = Double(number) else {
                throw BerthError("invalid time \"\(text)\": use RFC 3339, Unix seconds or a duration like 10m")
            }
            switch c {
            case "h": total += n * 3600
            case "m": total += n * 60
            case "s": total += n
            default: throw invalid
            }
            number = ""
            units += 1
        }
        guard number.isEmpty, total >= 0, total < limit, text.contains(where: { "hms".contains($0) }) else {
            throw BerthError("invalid time \"\(text)\": use RFC 3339, Unix seconds or a duration like 10m")
        }
        let ago = now.asDouble - total
        return Timestamp(seconds: Int64(ago.rounded(.down)), nanoseconds: Int64((ago - ago.rounded(.down)) * 1e9))
    }
}
