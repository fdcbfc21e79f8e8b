#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `logs --since/--until` values, read as Docker's `timetypes.GetTimestamp`:
/// a Go duration before now (`10m`, `1h30m`, `1.5h`), an RFC 3339 time or
/// a prefix of one (`2022-10-18`, `2022-10-18T15:43`; local time unless it
/// has a zone), or Unix seconds with an optional fraction (`1666107796.5`).
enum LogTime {
    static func parse(_ value: String, flag: String, now: Timestamp = .now) throws(BerthError) -> Timestamp {
        let invalid = BerthError(
            .invalidArgument,
            "invalid value for \"\(flag)\": failed to parse value as time or duration: \"\(value)\"; "
                + "use a duration (10m, 1h30m), an RFC 3339 time or Unix seconds")
        if value != "0", let nanos = goDuration(value) {
            let t = Double(now.seconds) * 1e9 + Double(now.nanoseconds) - nanos
            return Timestamp(seconds: Int64((t / 1e9).rounded(.down)), nanoseconds: 0)
        }
        if value.contains("-") {
            guard let t = dateTime(value) else { throw invalid }
            return t
        }
        // Unix seconds, optionally with up to nine digits of fraction.
        let parts = value.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let seconds = Int64(parts[0]), seconds >= 0 else { throw invalid }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 9, let n = Int64(digits), n >= 0 else { throw invalid }
            nanos = n * Int64(pow(10.0, Double(9 - digits.count)))
        }
        return Timestamp(seconds: seconds, nanoseconds: nanos)
    }

    /// Go's `time.ParseDuration` in nanoseconds: a sign, then numbers with
    /// units `ns us µs ms s m h`; nil if it is not one.
    static func goDuration(_ text: String) -> Double? {
        var s = Substring(text)
        var sign = 1.0
        if s.first == "-" || s.first == "+" { sign = s.first == "-" ? -1 : 1; s = s.dropFirst() }
        if s == "0" { return 0 }
        guard !s.isEmpty else { return nil }
        let units: [(String, Double)] = [
            ("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        var total = 0.0
        while !s.isEmpty {
            let number = s.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, number != ".", let n = Double(number) else { return nil }
            s = s.dropFirst(number.count)
            guard let unit = units.first(where: { s.hasPrefix($0.0) && !(($0.0 == "m") && s.hasPrefix("ms")) })
            else { return nil }
            s = s.dropFirst(unit.0.count)
            total += n * unit.1
        }
        // Go's durations are int64 nanoseconds (about 292 years): beyond, not a duration.
        guard total <= 9.2e18 else { return nil }
        return sign * total
    }

    /// `2006-01-02`, `2006-01-02T15`, `2006-01-02T15:04`, `2006-01-02T15:04:05`
    /// with an optional fraction and an optional zone (`Z`, `+07:00`); no zone
    /// is local time, as in Docker.
    static func dateTime(_ text: String) -> Timestamp? {
        var body = Substring(text)
        var offset: Int64?
        if body.hasSuffix("Z") || body.hasSuffix("z") {
            offset = 0; body = body.dropLast()
        } else if body.count > 6, let sign = body.dropLast(5).last, sign == "+" || sign == "-",
            body.suffix(3).first == ":", body.count > 10
        {
            let zone = body.suffix(5)
            guard let h = Int64(zone.prefix(2)), let m = Int64(zone.suffix(2)), h < 24, m < 60 else { return nil }
            offset = (h * 3600 + m * 60) * (sign == "-" ? -1 : 1)
            body = body.dropLast(6)
        }
        let halves = body.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        let date = halves[0].split(separator: "-", omittingEmptySubsequences: false)
        guard date.count == 3, date[0].count == 4, date[1].count == 2, date[2].count == 2,
            let y = Int32(date[0]), let mo = Int32(date[1]), let d = Int32(date[2]), (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        var h: Int32 = 0, mi: Int32 = 0, sec: Int32 = 0, nanos: Int64 = 0
        if halves.count == 2 {
            var clock = halves[1]
            if let dot = clock.firstIndex(of: ".") {
                let frac = clock[clock.index(after: dot)...]
                guard !frac.isEmpty, frac.count <= 9, let n = Int64(frac) else { return nil }
                nanos = n * Int64(pow(10.0, Double(9 - frac.count)))
                clock = clock[..<dot]
            }
            let fields = clock.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...3).contains(fields.count), fields.allSatisfy({ $0.count == 2 && Int32($0) != nil }) else { return nil }
            h = Int32(fields[0])!
            if fields.count > 1 { mi = Int32(fields[1])! }
            if fields.count > 2 { sec = Int32(fields[2])! }
            guard h < 24, mi < 60, sec < 61 else { return nil }
        }
        var parts = tm()
        parts.tm_year = y - 1900; parts.tm_mon = mo - 1; parts.tm_mday = d
        parts.tm_hour = h; parts.tm_min = mi; parts.tm_sec = sec
        let seconds: Int64
        if let offset {
            seconds = Int64(timegm(&parts)) - offset
        } else {
            parts.tm_isdst = -1
            seconds = Int64(mktime(&parts))
        }
        return Timestamp(seconds: seconds, nanoseconds: nanos)
    }
}
