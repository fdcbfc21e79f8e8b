/// The resource limits Docker's `--memory`, `--memory-swap`, `--cpus`,
/// `--cpu-shares`, `--cpuset-cpus` and `--pids-limit` set (nil: unlimited).
public struct Resources: Sendable, Equatable {
    /// Bytes of memory.
    public var memory: Int64?
    /// Bytes of memory plus swap; -1 for unlimited swap.
    public var memorySwap: Int64?
    /// CPUs × 1e9 (`--cpus 0.5` → 500_000_000).
    public var nanoCpus: Int64?
    /// Relative CPU weight (default 1024).
    public var cpuShares: Int64?
    /// CPUs the container may run on (`0-1`, `0,2`).
    public var cpusetCpus: String?
    /// Maximum number of processes; -1 or 0 for unlimited.
    public var pidsLimit: Int64?

    public init() {}

    /// Whether any limit is set.
    public var isEmpty: Bool { self == Resources() }

    /// Docker's HostConfig fields.
    public var json: [(String, JSON)] {
        [("Memory", .int(memory ?? 0)), ("MemorySwap", .int(memorySwap ?? 0)), ("NanoCpus", .int(nanoCpus ?? 0)),
         ("CpuShares", .int(cpuShares ?? 0)), ("CpusetCpus", .string(cpusetCpus ?? "")),
         ("PidsLimit", pidsLimit.map { JSON.int($0) } ?? .null)]
    }

    /// Reads Docker's HostConfig fields back.
    public init(json: JSON) {
        func positive(_ key: String) -> Int64? { json[key]?.int64Value.flatMap { $0 != 0 ? $0 : nil } }
        memory = positive("Memory")
        memorySwap = positive("MemorySwap")
        nanoCpus = positive("NanoCpus")
        cpuShares = positive("CpuShares")
        cpusetCpus = json["CpusetCpus"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        pidsLimit = json["PidsLimit"]?.int64Value
    }

    /// Parses `512m`, `1g`, `1024k`, `100` (bytes), as Docker's RAMInBytes.
    public static func bytes(_ text: String, flag: String) throws(BerthError) -> Int64 {
        let lower = text.lowercased()
        let units: [(String, Int64)] = [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("tb", 1 << 40),
                                        ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("t", 1 << 40), ("b", 1)]
        for (suffix, scale) in units where lower.hasSuffix(suffix) {
            if let n = Double(lower.dropLast(suffix.count)), n >= 0 { return Int64(n * Double(scale)) }
        }
        if let n = Int64(lower), n >= 0 { return n }
        if lower == "-1" { return -1 }
        throw BerthError("invalid size: '\(text)' for --\(flag); use a number with an optional unit (b, k, m, g), like 512m")
    }

    /// Checks the combinations Docker refuses.
    public func validate() throws(BerthError) {
        if let m = memory, m < 6 * 1024 * 1024 {
            throw BerthError("Minimum memory limit allowed is 6MB; give --memory 6m or more")
        }
        if let s = memorySwap, s != -1 {
            guard let m = memory else {
                throw BerthError("You should always set the Memory limit when using Memoryswap limit, see usage")
            }
            if s < m { throw BerthError("Minimum memoryswap limit should be larger than memory limit, see usage") }
        }
        if let c = nanoCpus, c <= 0 { throw BerthError("Range of CPUs is from 0.01 to the number of CPUs available") }
        if let s = cpusetCpus, !s.allSatisfy({ $0.isNumber || $0 == "," || $0 == "-" }) {
            throw BerthError("Invalid value \(s) for cpuset cpus; use a list like 0-1 or 0,2")
        }
    }
}
