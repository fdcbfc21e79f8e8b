#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth stats`: CPU %, memory usage / limit, net I/O, block I/O, PIDs.
struct StatsCommand: Command {
    static let all = Flag.bool("all", short: "a", help: "Show all containers (default shows just running)")
    static let noStream = Flag.bool("no-stream", help: "Disable streaming stats and only pull the first result")
    static let noTrunc = Flag.bool("no-trunc", help: "Do not truncate output")
    static let format = Flag.string(
        "format",
        help:
            "Format output using a Go template ({{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDs}}), or table, or json"
    )

    let spec = CommandSpec(
        "stats", aliases: ["container stats"], summary: "Display a live stream of container(s) resource usage statistics",
        flags: [Self.all, Self.noStream, Self.noTrunc, Self.format],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running", "paused"]), repeats: true, optional: true)])

    static let titles = [
        "ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
        "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
    ]

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let template = try args[Self.format].map { (f) throws(BerthError) in
            try ctx.listingTemplate(
                f,
                table:
                    "table {{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t{{.MemPerc}}\\t{{.NetIO}}\\t{{.BlockIO}}\\t{{.PIDs}}"
            )
        }
        var previous: [String: (UInt64, Double)] = [:]
        var first = true
        while true {
            var list =
                args.positionals.isEmpty
                ? lifecycle.containers.all()
                : try args.positionals.map {
                    (name) throws(BerthError) in try lifecycle.containers.find(name)
                }
            if !args[Self.all] && args.positionals.isEmpty { list = list.filter { $0.state.isActive } }
            // The first sample needs a second reading for a CPU rate.
            var samples = sample(list, &previous)
            if first { usleep(500_000); samples = sample(list, &previous); first = false }
            let rows = samples.map { row($0.0, $0.1, $0.2, noTrunc: args[Self.noTrunc]) }
            if !args[Self.noStream] && ctx.stdoutIsTerminal { ctx.printRaw("\u{1b}[2J\u{1b}[H") }
            if let template {
                ctx.printRaw(
                    try template.renderAll(
                        rows.map { TemplateObject.context("*container.statsContext", $0) },
                        titles: Self.titles))
            } else {
                let header = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]
                let keys = ["ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs"]
                ctx.printRaw(Table.render(header, rows.map { r in keys.map { r[$0]?.stringValue ?? "" } }))
            }
            if args[Self.noStream] { return 0 }
            if Interruption.requested { return 130 }
            usleep(1_000_000)
        }
    }

    private func sample(_ list: [Container], _ previous: inout [String: (UInt64, Double)]) -> [(Container, Double, Cgroup.Usage)]
    {
        let now = Timestamp.now.asDouble
        return list.map { c in
            var usage = c.state.isActive ? Cgroup(path: c.cgroupPath).usage() : Cgroup.Usage()
            // Rootless: no cgroup to count in, so the PID namespace's processes.
            if c.state.isActive && Cgroup(path: c.cgroupPath).isNone { usage.pids = c.processIDs().count }
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

/// Received and sent bytes of a process's network namespace (loopback
/// excluded); public for the API service's stats.
public enum NetworkCounters {
    public static func read(pid: Int32) -> (Int64, Int64) {
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
