#if canImport(Glibc)
import Glibc
#endif
import BerthCommands
import BerthCore
import BerthEngine

/// `GET /containers/ID/stats?stream=&one-shot=`: the cgroup counters `berth
/// stats` reads, in dockerd's shape; the client computes the CPU share from
/// two samples (`cpu_stats` and `precpu_stats`, with the host's total CPU
/// time), as the docker CLI does. Streamed once a second unless
/// `stream=false`; `one-shot` answers one sample without `precpu_stats`.
struct StatsRoute {
    let engine: Engine

    func stats(_ ref: String, _ r: APIRequest, _ out: Responder) throws(BerthError) -> RouteResult {
        let c = try engine.lifecycle.containers.find(ref)
        let stream = r.query["stream"].map { _ in r.query.bool("stream") } ?? true
        let oneShot = r.query.bool("one-shot")
        out.startStream(contentType: "application/json")
        var previous: JSON = Self.cpuStats(nil)
        var previousRead = Container.zeroTime
        if !stream && !oneShot {
            // dockerd samples twice, a second apart, for a CPU share.
            previous = Self.cpuStats(sample(c.id).1)
            previousRead = Timestamp.now.rfc3339
            usleep(1_000_000)
        }
        repeat {
            let (current, usage) = sample(c.id)
            let now = Timestamp.now.rfc3339
            let cpu = Self.cpuStats(usage)
            var doc: JSON = .object([
                ("read", .string(now)), ("preread", .string(previousRead)), ("id", .string(c.id)),
                ("name", .string("/" + (current?.name ?? c.name))),
                ("pids_stats", .object([("current", .int(usage?.pids ?? 0))])),
                ("cpu_stats", cpu), ("precpu_stats", previous),
                (
                    "memory_stats",
                    usage.map { u in
                        .object([("usage", .int(u.memoryBytes)), ("limit", .int(Self.limit(u))), ("stats", .object([]))])
                    } ?? .object([])
                ),
                (
                    "blkio_stats",
                    .object([
                        (
                            "io_service_bytes_recursive",
                            .array([
                                .object([("op", .string("read")), ("value", .int(usage?.blockRead ?? 0))]),
                                .object([("op", .string("write")), ("value", .int(usage?.blockWrite ?? 0))]),
                            ])
                        )
                    ])
                ),
            ])
            if let current, current.state.isActive, !current.hostNetwork {
                let (rx, tx) = NetworkCounters.read(pid: current.state.pid)
                doc = doc.setting("networks", .object([("eth0", .object([("rx_bytes", .int(rx)), ("tx_bytes", .int(tx))]))]))
            }
            guard out.write(Array((doc.compact + "\n").utf8)) else { return .streamed }
            previous = cpu
            previousRead = now
            if !stream || oneShot || current?.state.isActive != true { break }
            usleep(1_000_000)
        } while out.channel.isActive
        out.finish()
        return .streamed
    }

    /// The container now, and its counters while it runs.
    private func sample(_ id: String) -> (Container?, Cgroup.Usage?) {
        let c = try? engine.lifecycle.containers.load(id: id)
        guard let c, c.state.isActive else { return (c, nil) }
        return (c, Cgroup(path: c.cgroupPath).usage())
    }

    /// The memory limit, or the host's memory when there is none.
    static func limit(_ u: Cgroup.Usage) -> Int64 {
        let host = Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE)))
        return u.memoryLimit > 0 && u.memoryLimit < host ? u.memoryLimit : host
    }

    /// `cpu_stats`: the container's CPU time, the host's (all CPUs, from
    /// /proc/stat, in ns), and the CPUs online.
    static func cpuStats(_ u: Cgroup.Usage?) -> JSON {
        guard let u else { return .object([("cpu_usage", .object([("total_usage", .int(0))])), ("system_cpu_usage", .int(0))]) }
        return .object([
            ("cpu_usage", .object([("total_usage", .int(Int64(u.cpuNanoseconds)))])),
            ("system_cpu_usage", .int(systemNanoseconds())),
            ("online_cpus", .int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))),
        ])
    }

    /// The `cpu` line of /proc/stat (user … steal, in clock ticks) as ns.
    static func systemNanoseconds() -> Int64 {
        guard let text = try? FileSystem.readText("/proc/stat"), let line = text.split(separator: "\n").first,
            line.hasPrefix("cpu ")
        else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { Int64($0) }.reduce(0, +)
        return ticks * 1_000_000_000 / Int64(sysconf(Int32(_SC_CLK_TCK)))
    }
}
