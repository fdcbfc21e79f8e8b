/// `--log-driver` and `--log-opt`: how the monitor keeps a container's
/// output (Docker's `HostConfig.LogConfig`).
public struct LogConfig: Sendable, Equatable {
    /// The drivers Berth has: Docker's `json-file` and `none`, Podman's `k8s-file`.
    public enum Driver: String, Sendable, CaseIterable {
        case jsonFile = "json-file"
        case k8sFile = "k8s-file"
        case none
    }

    public var driver: Driver = .jsonFile
    /// `max-size`: rotate the file before it grows past this many bytes (nil: never).
    public var maxSize: Int64?
    /// `max-file`: how many files to keep, the current one included (Docker's default 1).
    public var maxFile = 1
    /// The options as given, for `inspect` (`HostConfig.LogConfig.Config`).
    public var options: [(String, String)] = []

    public init() {}

    public static func == (a: LogConfig, b: LogConfig) -> Bool {
        a.driver == b.driver && a.maxSize == b.maxSize && a.maxFile == b.maxFile
            && a.options.map { $0.0 + "=" + $0.1 } == b.options.map { $0.0 + "=" + $0.1 }
    }

    /// `--log-driver NAME --log-opt KEY=VALUE…`, checked as Docker's
    /// json-file driver checks them (`max-size` a positive size in decimal
    /// units, `max-file` at least 1), so a bad value fails at create.
    public static func parse(driver name: String?, options: [String]) throws(BerthError) -> LogConfig {
        var config = LogConfig()
        if let name {
            guard let d = Driver(rawValue: name) else {
                throw BerthError(
                    .invalidArgument,
                    "logger: no log driver named '\(name)' is registered; Berth has \(Driver.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            config.driver = d
        }
        for option in options {
            let parts = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else {
                throw BerthError(.invalidArgument, "invalid key value pair format in log options: \(option); use KEY=VALUE")
            }
            let (key, value) = (parts[0], parts[1])
            if config.driver == .none {
                throw BerthError(.invalidArgument, "unknown log opt '\(key)' for none log driver; the none driver keeps no log")
            }
            switch key {
            case "max-size":
                guard let bytes = humanSize(value), bytes > 0 else {
                    throw BerthError(.invalidArgument, "max-size must be a positive number: \(value); use a size such as 10m")
                }
                config.maxSize = bytes
            case "max-file":
                guard let n = Int(value) else {
                    throw BerthError(.invalidArgument, "strconv.Atoi: parsing \"\(value)\": invalid syntax; max-file is a number")
                }
                guard n >= 1 else { throw BerthError(.invalidArgument, "max-file cannot be less than 1") }
                guard n <= 1000 else { throw BerthError(.invalidArgument, "max-file \(n) is too many; keep at most 1000 files") }
                config.maxFile = n
            default:
                throw BerthError(
                    .invalidArgument,
                    "unknown log opt '\(key)' for \(config.driver.rawValue) log driver; use max-size or max-file")
            }
            config.options.append((key, value))
        }
        return config
    }

    /// Docker's `units.FromHumanSize`: decimal units (`10m` is 10 000 000 bytes), `b`/`B` optional.
    static func humanSize(_ text: String) -> Int64? {
        var number = Substring(text.lowercased())
        if number.hasSuffix("b") { number = number.dropLast() }
        if number.hasSuffix("i") { number = number.dropLast() }
        var scale: Double = 1
        if let unit = number.last, let s = ["k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15][String(unit)] {
            scale = s
            number = number.dropLast()
        }
        let digits = number.trimmingCharacters(in: " ")
        // Docker's form: digits with an optional fraction (no exponent, no sign).
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(digits), value.isFinite, value >= 0,
            value * scale < 9e18
        else { return nil }
        return Int64(value * scale)
    }

    /// `HostConfig.LogConfig`: `{"Type": "json-file", "Config": {"max-size": "10m"}}`.
    public var json: JSON {
        .object([
            ("Type", .string(driver.rawValue)), ("Config", .object(options.map { ($0.0, .string($0.1)) })),
        ])
    }

    /// Reads `HostConfig.LogConfig`; a record from before it existed is json-file, unbounded.
    public init(json: JSON?) {
        guard let json, let type = json["Type"]?.stringValue, let d = Driver(rawValue: type) else { return }
        let given: [String] =
            if case .object(let members)? = json["Config"] {
                members.compactMap { k, v in v.stringValue.map { k + "=" + $0 } }
            } else { [] }
        self = (try? LogConfig.parse(driver: d.rawValue, options: given)) ?? LogConfig()
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
