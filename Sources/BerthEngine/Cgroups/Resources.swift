#if canImport(Glibc)
import Glibc
#endif

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
    /// The CFS period in microseconds (`--cpu-period`, 1000 to 1000000).
    public var cpuPeriod: Int64?
    /// The CFS quota in microseconds per period (`--cpu-quota`; -1: none).
    public var cpuQuota: Int64?
    /// Memory nodes the container may allocate on (`--cpuset-mems`, `0`, `0-1`).
    public var cpusetMems: String?
    /// The soft memory limit in bytes (`--memory-reservation`): what the
    /// kernel reclaims down to first when the host runs short.
    public var memoryReservation: Int64?
    /// `--oom-kill-disable`: the kernel's OOM killer leaves the container's
    /// processes alone (they wait for memory instead); cgroup v1 only.
    public var oomKillDisable: Bool?
    /// `--memory-swappiness` 0…100: how readily the kernel swaps the
    /// container's anonymous pages out; cgroup v1 only.
    public var memorySwappiness: Int64?
    /// `--device-read-bps` and the other block device throttles.
    public var blockIO = BlockIOThrottle()

    public init() {}

    /// Whether any limit is set.
    public var isEmpty: Bool { self == Resources() }

    /// Docker's HostConfig fields.
    public var json: [(String, JSON)] {
        [
            ("Memory", .int(memory ?? 0)), ("MemorySwap", .int(memorySwap ?? 0)), ("NanoCpus", .int(nanoCpus ?? 0)),
            ("CpuShares", .int(cpuShares ?? 0)), ("CpusetCpus", .string(cpusetCpus ?? "")),
            ("PidsLimit", pidsLimit.map { JSON.int($0) } ?? .null),
            ("CpuPeriod", .int(cpuPeriod ?? 0)), ("CpuQuota", .int(cpuQuota ?? 0)),
            ("CpusetMems", .string(cpusetMems ?? "")), ("MemoryReservation", .int(memoryReservation ?? 0)),
            ("OomKillDisable", .bool(oomKillDisable ?? false)),
            ("MemorySwappiness", memorySwappiness.map { JSON.int($0) } ?? .null),
        ] + blockIO.json
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
        cpuPeriod = positive("CpuPeriod")
        cpuQuota = json["CpuQuota"]?.int64Value.flatMap { $0 != 0 ? $0 : nil }
        cpusetMems = json["CpusetMems"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        memoryReservation = positive("MemoryReservation")
        oomKillDisable = json["OomKillDisable"]?.boolValue == true ? true : nil
        memorySwappiness = json["MemorySwappiness"]?.int64Value.flatMap { $0 >= 0 ? $0 : nil }
        blockIO = BlockIOThrottle(json: json)
    }

    /// The limits only cgroup v1 has (Docker discards them on v2 with a
    /// warning; Berth refuses them there, naming the flag).
    public var v1Only: [String] {
        [(oomKillDisable == true, "--oom-kill-disable"), (memorySwappiness != nil, "--memory-swappiness")]
            .filter(\.0).map(\.1)
    }

    /// Parses `512m`, `1g`, `1024k`, `100` (bytes), as Docker's RAMInBytes.
    /// A size beyond 8 EiB (Int64) is refused here, never wrapped or trapped.
    public static func bytes(_ text: String, flag: String) throws(BerthError) -> Int64 {
        let lower = text.lowercased()
        let units: [(String, Int64)] = [
            ("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("tb", 1 << 40),
            ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("t", 1 << 40), ("b", 1),
        ]
        if lower == "-1" { return -1 }
        if let n = Int64(lower) {
            if n >= 0 { return n }
        } else {
            for (suffix, scale) in units where lower.hasSuffix(suffix) {
                let number = lower.dropLast(suffix.count)
                guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                    let n = Double(number), n.isFinite
                else { break }
                let value = n * Double(scale)
                guard value < 9_223_372_036_854_775_808.0 else {
                    throw BerthError(
                        "invalid size: '\(text)' for --\(flag): it is more than 8 EiB, the largest size the kernel takes")
                }
                return Int64(value)
            }
        }
        throw BerthError("invalid size: '\(text)' for --\(flag); use a number with an optional unit (b, k, m, g), like 512m")
    }

    /// `--cpus`: a decimal number of CPUs as nano-CPUs, as Docker's ParseCPUs
    /// (exact to the nano-CPU, else "value is too precise"). The range is
    /// checked by `validate`.
    public static func nanoCPUs(_ text: String) throws(BerthError) -> Int64 {
        guard let value = Double(text), value.isFinite,
            text.allSatisfy({ $0.isASCII && ($0.isNumber || ".eE+-".contains($0)) })
        else {
            throw BerthError(
                "invalid argument \"\(text)\" for \"--cpus\" flag: failed to parse \(text) as a rational number; give a decimal like 0.5"
            )
        }
        let nano = value * 1e9
        guard nano.magnitude < 9e15 else { throw rangeOfCPUs }
        if let digits = fractionDigits(text), digits > 9 {
            throw BerthError(
                "invalid argument \"\(text)\" for \"--cpus\" flag: value is too precise (the unit is 0.000000001 CPU)")
        }
        return Int64(nano.rounded())
    }

    /// How many digits after the point a decimal (`1.5`, `25e-3`, `100e-11`)
    /// needs once its exponent is applied; nil if it is not one.
    static func fractionDigits(_ text: String) -> Int? {
        let body = text.hasPrefix("-") || text.hasPrefix("+") ? Substring(text.dropFirst()) : Substring(text)
        let parts = body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "e" || $0 == "E" })
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let exponent = parts.count == 2 ? (parts[1].count <= 6 ? Int(parts[1]) : nil) : 0
        guard let exponent else { return nil }
        let mantissa = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard mantissa.count <= 2 else { return nil }
        let fraction = mantissa.count == 2 ? mantissa[1] : ""
        var digits = Substring(mantissa[0] + fraction)
        guard digits.allSatisfy(\.isNumber) else { return nil }
        var shift = exponent - fraction.count
        while digits.last == "0" { digits = digits.dropLast(); shift += 1 }
        return digits.isEmpty ? 0 : max(0, -shift)
    }

    /// Docker's message for `--cpus` out of range.
    static var rangeOfCPUs: BerthError {
        let n = HostCPUs.count
        return BerthError(.invalidArgument, "Range of CPUs is from 0.01 to \(n).00, as there are only \(n) CPUs available")
    }

    /// The kernel's largest `pids.max` (PID_MAX_LIMIT on 64-bit).
    public static let maxPids: Int64 = 4_194_304
    /// The CPU shares the kernel takes (it clamps to these; so does Docker).
    public static let cpuSharesRange: ClosedRange<Int64> = 2...262_144

    /// Checks the combinations Docker refuses, and the values the kernel
    /// would refuse at start, so that a container that is created can start.
    public func validate() throws(BerthError) {
        if let m = memory, m < 6 * 1024 * 1024 {
            throw BerthError(.invalidArgument, "Minimum memory limit allowed is 6MB; give --memory 6m or more")
        }
        if let s = memorySwap, s != -1 {
            guard let m = memory else {
                throw BerthError(
                    .invalidArgument, "You should always set the Memory limit when using Memoryswap limit, see usage")
            }
            if s < m {
                throw BerthError(.invalidArgument, "Minimum memoryswap limit should be larger than memory limit, see usage")
            }
        }
        if let c = nanoCpus, c < 10_000_000 || c > Int64(HostCPUs.count) * 1_000_000_000 { throw Self.rangeOfCPUs }
        if let s = cpuShares, s < 0 {
            throw BerthError(
                .invalidArgument,
                "invalid --cpu-shares \(s): CPU shares must be a positive relative weight (2 to 262144; the default is 1024)")
        }
        if let p = pidsLimit, p > Self.maxPids {
            throw BerthError(
                .invalidArgument,
                "invalid --pids-limit \(p): the kernel allows at most \(Self.maxPids) processes; give -1 for unlimited")
        }
        try validateCFS()
        if let r = memoryReservation {
            if r < 6 * 1024 * 1024 {
                throw BerthError(.invalidArgument, "Minimum memory reservation allowed is 6MB; give 6m or more")
            }
            if let m = memory, m < r {
                throw BerthError(
                    .invalidArgument, "Minimum memory limit can not be less than memory reservation limit, see usage")
            }
        }
        if let s = memorySwappiness, !(0...100).contains(s) {
            throw BerthError(.invalidArgument, "Invalid value: \(s), valid memory swappiness range is 0-100")
        }
        if let s = cpusetMems {
            guard let wanted = HostCPUs.parseList(s) else {
                throw BerthError(.invalidArgument, "Invalid value \(s) for cpuset mems; use a list like 0-1 or 0,2")
            }
            let online = HostCPUs.memoryNodes
            if !wanted.isSubset(of: online.set) {
                throw BerthError(
                    .invalidArgument, "Requested memory nodes are not available - requested \(s), available: \(online.text)")
            }
        }
        try blockIO.validate()
        if let s = cpusetCpus {
            guard let wanted = HostCPUs.parseList(s) else {
                throw BerthError(.invalidArgument, "Invalid value \(s) for cpuset cpus; use a list like 0-1 or 0,2")
            }
            let online = HostCPUs.online
            if !wanted.isSubset(of: online.set) {
                throw BerthError(.invalidArgument, "Requested CPUs are not available - requested \(s), available: \(online.text)")
            }
        }
    }

    /// `--cpu-period`/`--cpu-quota` as Docker's daemon checks them: in the
    /// kernel's range, and not beside `--cpus`, which sets both itself.
    private func validateCFS() throws(BerthError) {
        if nanoCpus != nil && cpuPeriod != nil {
            throw BerthError(.invalidArgument, "Conflicting options: Nano CPUs and CPU Period cannot both be set")
        }
        if nanoCpus != nil && cpuQuota != nil {
            throw BerthError(.invalidArgument, "Conflicting options: Nano CPUs and CPU Quota cannot both be set")
        }
        if let p = cpuPeriod, p < 1000 || p > 1_000_000 {
            throw BerthError(
                .invalidArgument, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
        }
        if let q = cpuQuota, q < -1 || (q > 0 && q < 1000) {
            throw BerthError(.invalidArgument, "CPU cfs quota can not be less than 1ms (i.e. 1000); give -1 for no quota")
        }
    }

    /// The CFS quota and period to write: `--cpus` as a quota over Docker's
    /// 100 ms period, or the two flags (an unset quota is none, an unset
    /// period the kernel's 100 ms). Nil when none of them is set.
    public var cfs: (quota: Int64?, period: Int64)? {
        if let c = nanoCpus { return (c / 10_000, 100_000) }
        guard cpuPeriod != nil || cpuQuota != nil else { return nil }
        return (cpuQuota.flatMap { $0 > 0 ? $0 : nil }, cpuPeriod ?? 100_000)
    }

    /// Docker's swap when only `--memory` is given: as much again (twice
    /// the memory in all), or unlimited (-1) when that is beyond Int64.
    func defaultSwap(_ memory: Int64) -> Int64 {
        let (twice, overflow) = memory.multipliedReportingOverflow(by: 2)
        return overflow ? -1 : twice
    }

    /// Shares as the kernel takes them (Docker clamps the same way).
    public var clampedCpuShares: Int64? {
        cpuShares.map { min(Self.cpuSharesRange.upperBound, max(Self.cpuSharesRange.lowerBound, $0)) }
    }
}

/// The host's CPUs, for `--cpus` and `--cpuset-cpus`.
public enum HostCPUs {
    /// How many CPUs are online (at least 1).
    public static var count: Int { max(1, online.set.count) }

    /// The online CPUs, from /sys/devices/system/cpu/online (`0-1`), as a set and as text.
    public static var online: (set: Set<Int>, text: String) {
        let text =
            ((try? FileSystem.readText("/sys/devices/system/cpu/online")) ?? "")
            .split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
        if let set = parseList(text), !set.isEmpty { return (set, text) }
        let n = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        return (Set(0..<n), n == 1 ? "0" : "0-\(n - 1)")
    }

    /// The online memory nodes (/sys/devices/system/node/online; node 0
    /// alone on a kernel without NUMA), as a set and as text.
    public static var memoryNodes: (set: Set<Int>, text: String) {
        let text =
            ((try? FileSystem.readText("/sys/devices/system/node/online")) ?? "")
            .split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
        if let set = parseList(text), !set.isEmpty { return (set, text) }
        return ([0], "0")
    }

    /// A kernel CPU list (`0-3,5`): nil if it does not parse. Numbers are
    /// bounded (no CPU number above 65535 exists), so a huge range cannot
    /// make a huge set.
    public static func parseList(_ text: String) -> Set<Int>? {
        var set = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 1 || ends.count == 2,
                let low = ends.first.flatMap({ Int($0) }), let high = ends.last.flatMap({ Int($0) }),
                ends.allSatisfy({ $0.allSatisfy(\.isASCII) }),
                low >= 0, low <= high, high <= 65_535
            else { return nil }
            set.formUnion(low...high)
        }
        return set
    }
}
