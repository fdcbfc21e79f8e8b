import BerthEngine

/// Statistics per combination and operation.
struct BenchSummary {
    struct Row {
        var combo: BenchCombo
        var operation: String
        var count: Int
        var median, p95, min, max: Double
    }

    let samples: [BenchSample]
    let rows: [Row]
    static let operations = ["create", "start", "exec", "stop", "rm", "disk"]

    init(samples: [BenchSample]) {
        self.samples = samples
        var order: [BenchCombo] = []
        for s in samples where !order.contains(s.combo) { order.append(s.combo) }
        rows = order.flatMap { combo in
            Self.operations.compactMap { op -> Row? in
                let values = samples.filter { $0.combo == combo && $0.operation == op }.map(\.value).sorted()
                guard !values.isEmpty else { return nil }
                return Row(
                    combo: combo, operation: op, count: values.count, median: Self.percentile(values, 50),
                    p95: Self.percentile(values, 95), min: values.first!, max: values.last!)
            }
        }
    }

    /// Nearest-rank percentile; the median of an even count is the mean of the middle two.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        if p == 50 && sorted.count % 2 == 0 { return (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]
    }

    static func show(_ v: Double, _ op: String) -> String {
        op == "disk" ? Format.size(Int64(v)) : Format.significant3(v) + " ms"
    }

    func table() -> String {
        Table.render(
            ["COMBINATION", "OPERATION", "N", "MEDIAN", "P95", "MIN", "MAX"],
            rows.map { r in
                [
                    r.combo.label, r.operation, String(r.count), Self.show(r.median, r.operation), Self.show(r.p95, r.operation),
                    Self.show(r.min, r.operation), Self.show(r.max, r.operation),
                ]
            })
    }

    func csv() -> String {
        "isolation,storage,image,operation,value,unit\n"
            + samples.map { s in
                "\(s.combo.isolation),\(s.combo.storage),\(s.combo.image),\(s.operation),\(s.value),\(s.operation == "disk" ? "bytes" : "ms")"
            }.joined(separator: "\n") + "\n"
    }

    func json() -> JSON {
        .array(
            rows.map { r in
                .object([
                    ("isolation", .string(r.combo.isolation)), ("storage", .string(r.combo.storage)),
                    ("image", .string(r.combo.image)), ("operation", .string(r.operation)),
                    ("unit", .string(r.operation == "disk" ? "bytes" : "ms")), ("n", .int(r.count)),
                    ("median", .number(r.median)), ("p95", .number(r.p95)), ("min", .number(r.min)), ("max", .number(r.max)),
                ])
            })
    }
}

/// A grouped bar chart of medians: one group per operation, one bar per
/// combination, a second panel for disk use; readable at a glance.
struct BenchChart {
    let summary: BenchSummary
    static let colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]

    func svg() -> String {
        var combos: [BenchCombo] = []
        for r in summary.rows where !combos.contains(r.combo) { combos.append(r.combo) }
        let timeOps = BenchSummary.operations.filter { op in op != "disk" && summary.rows.contains { $0.operation == op } }
        let width = 900, height = 560
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"20\" y=\"24\" font-size=\"16\">berth bench: median per step (ms) and disk per container</text>\n"
        out += panel(timeOps, combos, x: 60, y: 50, w: 560, h: 380, unit: "ms")
        out += panel(["disk"], combos, x: 680, y: 50, w: 180, h: 380, unit: "bytes")
        for (i, c) in combos.enumerated() {
            let y = 470 + (i / 3) * 18, x = 60 + (i % 3) * 270
            out += "<rect x=\"\(x)\" y=\"\(y - 10)\" width=\"12\" height=\"12\" fill=\"\(Self.colors[i % Self.colors.count])\"/>"
            out += "<text x=\"\(x + 18)\" y=\"\(y)\">\(c.label)</text>\n"
        }
        return out + "</svg>\n"
    }

    private func panel(_ ops: [String], _ combos: [BenchCombo], x: Int, y: Int, w: Int, h: Int, unit: String) -> String {
        let values = summary.rows.filter { ops.contains($0.operation) }.map(\.median)
        let top = Swift.max(values.max() ?? 1, 1e-9) * 1.1
        var out = "<line x1=\"\(x)\" y1=\"\(y + h)\" x2=\"\(x + w)\" y2=\"\(y + h)\" stroke=\"black\"/>\n"
        out += "<line x1=\"\(x)\" y1=\"\(y)\" x2=\"\(x)\" y2=\"\(y + h)\" stroke=\"black\"/>\n"
        out +=
            "<text x=\"\(x - 5)\" y=\"\(y + 4)\" text-anchor=\"end\">\(BenchSummary.show(top, unit == "ms" ? "ms" : "disk"))</text>\n"
        let groupWidth = Double(w) / Double(Swift.max(ops.count, 1))
        let barWidth = groupWidth * 0.8 / Double(Swift.max(combos.count, 1))
        for (g, op) in ops.enumerated() {
            let gx = Double(x) + Double(g) * groupWidth + groupWidth * 0.1
            for (i, combo) in combos.enumerated() {
                guard let row = summary.rows.first(where: { $0.combo == combo && $0.operation == op }) else { continue }
                let bh = Double(h) * row.median / top
                let bx = gx + Double(i) * barWidth
                out +=
                    "<rect x=\"\(Int(bx))\" y=\"\(Int(Double(y + h) - bh))\" width=\"\(Swift.max(1, Int(barWidth) - 2))\" height=\"\(Int(bh))\" fill=\"\(Self.colors[i % Self.colors.count])\"><title>\(combo.label) \(op): \(BenchSummary.show(row.median, op))</title></rect>\n"
            }
            out += "<text x=\"\(Int(gx + groupWidth * 0.4))\" y=\"\(y + h + 16)\" text-anchor=\"middle\">\(op)</text>\n"
        }
        return out
    }
}
