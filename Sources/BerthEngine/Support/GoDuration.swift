/// Go's `time.Duration` text, which Docker's duration flags take
/// (`--health-interval 1m30s`, `500ms`, `1.5h`) and print.
public enum GoDuration {
    private static let units: [(String, Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]

    private static let twoTo63 = 9_223_372_036_854_775_808.0

    /// Nanoseconds of `text` (a sign, then one or more NUMBER UNIT; `0`
    /// alone is allowed); nil when Go's `time.ParseDuration` would refuse it.
    public static func parse(_ text: String) -> Int64? {
        var rest = Substring(text)
        var negative = false
        if let sign = rest.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1, let value = Double(number) else {
                return nil
            }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            guard let scale = units.first(where: { $0.0 == unit })?.1 else { return nil }
            rest = rest.dropFirst(unit.count)
            total += value * scale
            // Double(Int64.max) rounds up to 2^63, which Int64() traps on:
            // 2^63 itself is Go's largest duration rounded, anything above is out of range.
            guard total <= twoTo63 else { return nil }
        }
        let magnitude = total == twoTo63 ? Int64.max : Int64(total)
        return negative ? -magnitude : magnitude
    }

    /// Go's `Duration.String()`: `30s`, `200ms`, `1m30s`, `1h0m0s`.
    public static func format(_ ns: Int64) -> String {
        if ns == 0 { return "0s" }
        let sign = ns < 0 ? "-" : ""
        let n = ns.magnitude
        if n < 1_000 { return "\(sign)\(n)ns" }
        if n < 1_000_000 { return sign + decimal(n, 1_000) + "µs" }
        if n < 1_000_000_000 { return sign + decimal(n, 1_000_000) + "ms" }
        let hours = n / 3_600_000_000_000
        let minutes = n / 60_000_000_000 % 60
        let seconds = decimal(n % 60_000_000_000, 1_000_000_000) + "s"
        if hours > 0 { return "\(sign)\(hours)h\(minutes)m\(seconds)" }
        if minutes > 0 { return "\(sign)\(minutes)m\(seconds)" }
        return sign + seconds
    }

    /// `value / unit` with the fraction's trailing zeros dropped (Go's way).
    private static func decimal(_ value: UInt64, _ unit: UInt64) -> String {
        let whole = value / unit
        var fraction = String(value % unit)
        if fraction == "0" { return String(whole) }
        let width = String(unit).count - 1
        fraction = String(repeating: "0", count: width - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)"
    }
}
