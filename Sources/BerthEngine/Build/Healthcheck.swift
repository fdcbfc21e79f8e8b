/// HEALTHCHECK as Docker writes it into the image config:
/// `{"Test": […], "Interval": ns, "Timeout": ns, "StartPeriod": ns,
/// "StartInterval": ns, "Retries": n}`, unset options left out (the runtime
/// defaults them: 30s, 30s, 0s, 5s, 3).
enum Healthcheck {
    static func parse(_ ins: Instruction) throws(BerthError) -> JSON {
        let text = ins.text
        let word = String(text.prefix { $0 != " " && $0 != "\t" }).uppercased()
        let rest = String(text.dropFirst(word.count).drop { $0 == " " || $0 == "\t" })
        if word == "NONE" {
            guard rest.isEmpty, ins.flags.isEmpty else {
                throw .invalid("dockerfile parse error on line \(ins.line): HEALTHCHECK NONE takes no arguments")
            }
            return .object([("Test", .strings(["NONE"]))])
        }
        guard word == "CMD", !rest.isEmpty else {
            throw .invalid("dockerfile parse error on line \(ins.line): HEALTHCHECK needs CMD COMMAND or NONE")
        }
        let inner = Instruction(keyword: "CMD", flags: [], text: rest, original: rest, line: ins.line)
        let test: [String] = try inner.execForm().map { ["CMD"] + $0 } ?? ["CMD-SHELL", rest]
        var fields: [(String, JSON)] = [("Test", .strings(test))]
        for (flag, key) in [
            ("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod"),
            ("start-interval", "StartInterval"),
        ] {
            guard let value = ins.flag(flag) else { continue }
            let ns = try duration(value, flag: flag, line: ins.line)
            if ns != 0 { fields.append((key, .int(ns))) }
        }
        if let value = ins.flag("retries") {
            guard let n = Int(value), n >= 0, n <= Int(Int32.max) else {
                throw .invalid(
                    "dockerfile parse error on line \(ins.line): --retries must be a number of 0 or more, not \"\(value)\"")
            }
            if n != 0 { fields.append(("Retries", .int(n))) }
        }
        return .object(fields)
    }

    /// A Go duration (`1m30s`, `500ms`, `2h`) in nanoseconds: 0, or at least 1ms.
    static func duration(_ text: String, flag: String, line: Int) throws(BerthError) -> Int64 {
        let bad = BerthError.invalid(
            "dockerfile parse error on line \(line): --\(flag): invalid duration \"\(text)\"; write it like 30s, 1m30s or 500ms")
        let units: [(String, Double)] = [
            ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        var chars = Substring(text)
        guard !chars.isEmpty else { throw bad }
        if chars == "0" { return 0 }
        var total = 0.0
        while !chars.isEmpty {
            let number = chars.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { throw bad }
            chars = chars.dropFirst(number.count)
            let unitText = chars.prefix { !$0.isNumber && $0 != "." }
            guard let unit = units.first(where: { $0.0 == unitText }) else { throw bad }
            chars = chars.dropFirst(unitText.count)
            total += value * unit.1
        }
        guard total < 9.2e18 else { throw bad }
        let ns = Int64(total)
        guard ns == 0 || ns >= 1_000_000 else {
            throw .invalid("dockerfile parse error on line \(line): --\(flag) cannot be less than 1ms")
        }
        return ns
    }
}
