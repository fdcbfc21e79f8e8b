#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// Docker's human-readable sizes and durations (go-units), so columns read
/// exactly as Docker users expect.
public enum Format {
    /// `4.26MB`, `812kB`, `0B`: decimal units, three significant digits.
    public static func size(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return significant3(value) + units[unit]
    }

    /// `%.3g` without Foundation: 3 significant digits, trailing zeros dropped.
    public static func significant3(_ value: Double) -> String {
        if value == 0 { return "0" }
        let decimals = value >= 100 ? 0 : (value >= 10 ? 1 : 2)
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals > 0 && rounded >= (decimals == 2 ? 10 : 100) { return significant3(rounded) }
        var text = String(Int64(rounded))
        if decimals > 0 {
            let frac = Int64((rounded * scale).rounded()) % Int64(scale)
            var digits = String(frac)
            digits = String(repeating: "0", count: decimals - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            if !digits.isEmpty { text += "." + digits }
        }
        return text
    }

    /// go-units HumanDuration: `Less than a second`, `About a minute`, `3 hours`.
    public static func duration(seconds: Double) -> String {
        // Clamped: a damaged or hostile timestamp must not trap the conversion.
        let seconds = seconds.isFinite ? min(max(seconds, -1e15), 1e15) : 0
        let s = Int(seconds)
        if s < 1 { return "Less than a second" }
        if s == 1 { return "1 second" }
        if s < 60 { return "\(s) seconds" }
        let minutes = s / 60
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        let hours = Int((seconds / 3600).rounded())
        if hours == 1 { return "About an hour" }
        if hours < 48 { return "\(hours) hours" }
        if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
        if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
        if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
        return "\(Int(seconds / 3600) / 24 / 365) years"
    }

    /// The first 12 hex digits of an ID, as Docker's short IDs.
    public static func shortID(_ id: String) -> String {
        let hex = id.hasPrefix("sha256:") ? String(id.dropFirst(7)) : id
        return String(hex.prefix(12))
    }
}

/// A point in time with nanoseconds, printed as RFC 3339 like Docker's JSON.
public struct Timestamp: Sendable, Equatable, Comparable {
    /// Seconds since the Unix epoch.
    public var seconds: Int64
    /// Nanoseconds within the second.
    public var nanoseconds: Int64

    /// Wraps a time.
    public init(seconds: Int64, nanoseconds: Int64 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The current time (CLOCK_REALTIME).
    public static var now: Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
    }

    /// Milliseconds on CLOCK_MONOTONIC, for deadlines that a clock change
    /// must not move.
    public static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Fractional seconds since the epoch.
    public var asDouble: Double { Double(seconds) + Double(nanoseconds) / 1e9 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    /// `2026-11-29T03:45:12.123456789Z`.
    public var rfc3339: String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return Self.dateTime(parts, separator: "T") + fraction + "Z"
    }

    /// Go's `time.Time.String()` in the local zone, as Docker's CLI prints
    /// `{{.CreatedAt}}`: `2022-10-18 15:43:16 +0000 UTC`; with `fraction`,
    /// the nanoseconds without trailing zeros (`… 15:43:16.5 +0000 UTC`, as
    /// `network ls` shows a network's creation time).
    public func goString(fraction withFraction: Bool = false) -> String {
        var t = time_t(seconds)
        var parts = tm()
        localtime_r(&t, &parts)
        let offset = Int(parts.tm_gmtoff)
        let zone = parts.tm_zone.map { String(cString: $0) } ?? "UTC"
        let sign = offset < 0 ? "-" : "+"
        let minutes = abs(offset) / 60
        return Self.dateTime(parts, separator: " ") + (withFraction ? fraction : "")
            + " \(sign)\(Self.pad(minutes / 60))\(Self.pad(minutes % 60)) \(zone)"
    }

    /// `.5`, `.123456789`: the nanoseconds without trailing zeros; empty when 0.
    private var fraction: String {
        guard nanoseconds > 0 else { return "" }
        var digits = Self.pad(Int(nanoseconds), 9)
        while digits.hasSuffix("0") { digits.removeLast() }
        return "." + digits
    }

    /// `YYYY-MM-DD` SEPARATOR `hh:mm:ss` of broken-down time.
    private static func dateTime(_ parts: tm, separator: String) -> String {
        "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1))-\(pad(Int(parts.tm_mday)))\(separator)"
            + "\(pad(Int(parts.tm_hour))):\(pad(Int(parts.tm_min))):\(pad(Int(parts.tm_sec)))"
    }

    /// `v` with leading zeros to `width` digits.
    private static func pad(_ v: Int, _ width: Int = 2) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// Parses RFC 3339 (`Z` or `±hh:mm` offsets, optional fraction).
    public init?(rfc3339 text: String) {
        var text = text
        guard let parsed = text.withUTF8({ Self.parse(rfc3339: $0) }) else { return nil }
        self = parsed
    }

    /// Parses the bytes in place, with no string made for each number and
    /// no `timegm` (which takes the zone lock): every record has three times,
    /// and `ps` reads every record.
    static func parse(rfc3339 b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        func num(_ from: Int, _ len: Int) -> Int64? {
            guard from + len <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<from + len {
                guard b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int64(b[i] - UInt8(ascii: "0"))
            }
            return v
        }
        // The separators are checked too: twenty digits are not a time.
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
            let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
            (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s <= 60
        else { return nil }
        // Days since the epoch of a proleptic Gregorian date (H. Hinnant's
        // `days_from_civil`); linear in the day, so February 31 is March 3
        // (2 or 3), as timegm normalises it.
        let year = mo <= 2 ? y - 1 : y
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        var seconds = days * 86_400 + h * 3600 + mi * 60 + s
        var i = 19
        var nanos: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, (48...57).contains(b[i]) {
                if digits < 9 { nanos = nanos * 10 + Int64(b[i] - 48); digits += 1 }
                i += 1
            }
            for _ in digits..<9 { nanos *= 10 }
        }
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"),
            let oh = num(i + 1, 2), let om = num(i + 4, 2)
        {
            let offset = oh * 3600 + om * 60
            seconds -= b[i] == UInt8(ascii: "+") ? offset : -offset
        } else if i < b.count, b[i] != UInt8(ascii: "Z") && b[i] != UInt8(ascii: "z") {
            return nil  // neither a zone nor a fraction: not RFC 3339
        }
        return Timestamp(seconds: seconds, nanoseconds: nanos)
    }
}

/// Random identifiers from the kernel's CSPRNG.
public enum RandomID {
    /// 64 lowercase hex digits, like a Docker container ID.
    public static func hex64() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        _ = bytes.withUnsafeMutableBytes { getrandom($0.baseAddress, 32, 0) }
        // Docker re-rolls IDs whose short form is all digits, so they never
        // read as numbers (e.g. in `ps` parsing by scripts).
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8](repeating: 0, count: 64)
        for (i, b) in bytes.enumerated() {
            text[2 * i] = digits[Int(b >> 4)]
            text[2 * i + 1] = digits[Int(b & 0xf)]
        }
        if text.prefix(12).allSatisfy({ $0 < UInt8(ascii: "a") }) { return hex64() }
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether `text` has the form of a container ID (64 lowercase hex digits).
    public static func isContainerID(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// A uniformly random integer in 0..<bound.
    public static func below(_ bound: Int) -> Int {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { getrandom($0.baseAddress, 8, 0) }
        return Int(value % UInt64(bound))
    }
}
