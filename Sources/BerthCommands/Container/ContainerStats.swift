#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth update`: change a container's limits, running or not.
struct UpdateCommand: Command {
    let spec = CommandSpec(
        "update", aliases: ["container update"], summary: "Update configuration of one or more containers",
        flags: ContainerFlags.resourceFlags,
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let change = try ContainerFlags.resources(args)
        guard !change.isEmpty else { throw BerthError("you must provide one or more flags when using this command") }
        let lifecycle = try ctx.lifecycle()
        return ctx.forEach(args.positionals, printName: true) { (ref) throws(BerthError) in
            let found = try lifecycle.containers.find(ref)
            try lifecycle.containers.update(found.id) { (c: inout Container) throws(BerthError) in
                var r = c.resources
                if let v = change.memory { r.memory = v }
                if let v = change.memorySwap { r.memorySwap = v }
                if let v = change.nanoCpus { r.nanoCpus = v }
                if let v = change.cpuShares { r.cpuShares = v }
                if let v = change.cpusetCpus { r.cpusetCpus = v }
                if let v = change.pidsLimit { r.pidsLimit = v }
                try r.validate()
                if c.state.isActive { try Cgroup(path: c.cgroupPath).apply(change.memory != nil ? r : change) }
                c.resources = r
            }
            lifecycle.events.record("update", found)
        }
    }
}

/// `berth stats`: CPU %, memory usage / limit, net I/O, block I/O, PIDs.
struct StatsCommand: Command {
    let spec = CommandSpec(
        "stats", aliases: ["container stats"], summary: "Display a live stream of container(s) resource usage statistics",
        flags: [FlagSpec("all", short: "a", help: "Show all containers (default shows just running)"),
                FlagSpec("no-stream", help: "Disable streaming stats and only pull the first result"),
                FlagSpec("no-trunc", help: "Do not truncate output"),
                FlagSpec("format", value: "string", help: "Format output using a Go template ({{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDs}}), or table, or json")],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running", "paused"]), repeats: true, optional: true)])

    static let titles = ["ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
                         "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
                         "BlockIO": "BLOCK I/O", "PIDs": "PIDS"]

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let template = try args.string("format").map { (f) throws(BerthError) in
            try ctx.listingTemplate(f, table: "table {{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t{{.MemPerc}}\\t{{.NetIO}}\\t{{.BlockIO}}\\t{{.PIDs}}")
        }
        var previous: [String: (UInt64, Double)] = [:]
        var first = true
        while true {
            var list = args.positionals.isEmpty ? lifecycle.containers.all() : try args.positionals.map {
                (name) throws(BerthError) in try lifecycle.containers.find(name)
            }
            if !args.bool("all") && args.positionals.isEmpty { list = list.filter { $0.state.isActive } }
            // The first sample needs a second reading for a CPU rate.
            var samples = sample(list, &previous)
            if first { usleep(500_000); samples = sample(list, &previous); first = false }
            let rows = samples.map { row($0.0, $0.1, $0.2, noTrunc: args.bool("no-trunc")) }
            if !args.bool("no-stream") && ctx.stdoutIsTerminal { ctx.printRaw("\u{1b}[2J\u{1b}[H") }
            if let template {
                ctx.printRaw(try template.renderAll(rows.map { TemplateObject.context("*container.statsContext", $0) },
                                                    titles: Self.titles))
            } else {
                let header = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]
                let keys = ["ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs"]
                ctx.printRaw(Table.render(header, rows.map { r in keys.map { r[$0]?.stringValue ?? "" } }))
            }
            if args.bool("no-stream") { return 0 }
            if Interruption.requested { return 130 }
            usleep(1_000_000)
        }
    }

    private func sample(_ list: [Container], _ previous: inout [String: (UInt64, Double)]) -> [(Container, Double, Cgroup.Usage)] {
        let now = Timestamp.now.asDouble
        return list.map { c in
            let usage = c.state.isActive ? Cgroup(path: c.cgroupPath).usage() : Cgroup.Usage()
            var cpu = 0.0
            if let (lastCPU, lastTime) = previous[c.id], now > lastTime, usage.cpuNanoseconds >= lastCPU {
                cpu = Double(usage.cpuNanoseconds - lastCPU) / ((now - lastTime) * 1e9) * 100
            }
            previous[c.id] = (usage.cpuNanoseconds, now)
            return (c, cpu, usage)
        }
    }

    private func row(_ c: Container, _ cpu: Double, _ u: Cgroup.Usage, noTrunc: Bool) -> JSON {
        let hostMemory = Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE)))
        let limit = u.memoryLimit > 0 && u.memoryLimit < hostMemory ? u.memoryLimit : hostMemory
        let net = NetworkCounters.read(pid: c.state.isActive ? c.state.pid : 0)
        return .object([
            ("ID", .string(noTrunc ? c.id : c.shortID)), ("Container", .string(c.shortID)), ("Name", .string(c.name)),
            ("CPUPerc", .string(Self.percent(cpu))),
            ("MemUsage", .string("\(Self.binary(u.memoryBytes)) / \(Self.binary(limit))")),
            ("MemPerc", .string(Self.percent(limit > 0 ? Double(u.memoryBytes) * 100 / Double(limit) : 0))),
            ("NetIO", .string("\(Format.size(net.0)) / \(Format.size(net.1))")),
            ("BlockIO", .string("\(Format.size(u.blockRead)) / \(Format.size(u.blockWrite))")),
            ("PIDs", .string(String(u.pids))),
        ])
    }

    static func percent(_ v: Double) -> String {
        let hundredths = Int((v * 100).rounded())
        let frac = hundredths % 100
        return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)%"
    }

    /// Docker prints memory in binary units: `1.5MiB / 31.3GiB`.
    static func binary(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return Format.significant3(value) + units[unit]
    }
}

/// Received and sent bytes of a process's network namespace (loopback excluded).
enum NetworkCounters {
    static func read(pid: Int32) -> (Int64, Int64) {
        guard pid > 0, let text = try? FileSystem.readText("/proc/\(pid)/net/dev") else { return (0, 0) }
        var rx: Int64 = 0, tx: Int64 = 0
        for line in text.split(separator: "\n").dropFirst(2) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, String(parts[0]).trimmingSpaces != "lo" else { continue }
            let f = parts[1].split(separator: " ")
            if f.count > 8 { rx += Int64(f[0]) ?? 0; tx += Int64(f[8]) ?? 0 }
        }
        return (rx, tx)
    }
}

/// `berth events`: the store's event log, replayed and followed.
struct EventsCommand: Command {
    let spec = CommandSpec(
        "events", aliases: ["system events"], summary: "Get real time events from the store",
        flags: [FlagSpec("since", value: "string", help: "Show all events created since timestamp (RFC 3339, Unix seconds, or 10m ago)"),
                FlagSpec("until", value: "string", help: "Stream events until this timestamp"),
                FlagSpec("filter", short: "f", value: "filter", help: "Filter output (container=, event=, image=, type=container)"),
                FlagSpec("format", value: "string", help: "Format the output using a Go template ({{json .}}, {{.Action}}, {{.Actor.Attributes.name}}), or json")],
        max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let log = EventLog(layout: try ctx.openStore())
        let now = Timestamp.now
        let since = try args.string("since").map { (t) throws(BerthError) in try Self.time(t, now: now) }
        let until = try args.string("until").map { (t) throws(BerthError) in try Self.time(t, now: now) }
        let filters = try Filters(args.strings("filter"), known: ["container", "event", "image", "type"])
        let template = try args.string("format").map { (f) throws(BerthError) -> Template in
            let t = try Template(f, style: .plain, errorPrefix: "")   // Docker's events print Go's error bare
            // As Docker, run it once on an empty event so a bad field fails now, not at the first event.
            _ = try t.render(Self.value(Event(time: Timestamp(seconds: 0), action: "", id: "", attributes: [])))
            return t
        }
        var offset = 0
        if since == nil && until == nil { _ = log.read(from: &offset) }   // no --since: only new events, as Docker
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
            case "container": return name.hasPrefix(value) || e.id.hasPrefix(value)   // Docker's FuzzyMatch
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
        let actor = TemplateObject(typeName: "events.Actor", fields: [("ID", .string(e.id)), ("Attributes", attributes)],
                                   json: json["Actor"])
        return .object(TemplateObject(typeName: "*events.Message", fields: [
            ("Status", .string(e.action)), ("ID", .string(e.id)), ("From", TemplateValue(json["from"] ?? .string(""))),
            ("Type", .string("container")), ("Action", .string(e.action)), ("Actor", .object(actor)),
            ("Scope", .string("local")), ("Time", .int(e.time.seconds)),
            ("TimeNano", .int(e.time.seconds * 1_000_000_000 + e.time.nanoseconds)),
        ], json: json))
    }

    /// RFC 3339, Unix seconds (with a fraction), or a Go duration meaning that long ago (`10m`, `1h30m`, `90s`).
    /// Anything else (`bogus`, `inf`, a time beyond year 9999) is refused, as Docker refuses it.
    static func time(_ text: String, now: Timestamp) throws(BerthError) -> Timestamp {
        let invalid = BerthError("invalid value for time: \"\(text)\": use RFC 3339 (2026-01-02T15:04:05Z), Unix seconds or a duration like 10m")
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
