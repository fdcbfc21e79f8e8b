/// Column output like Docker's (Go's tabwriter with minwidth 10, padding 3):
/// each column is as wide as its widest cell plus three spaces, at least 10.
public enum Table {
    /// Renders rows under a header; the last column is never padded.
    public static func render(_ header: [String], _ rows: [[String]]) -> String {
        align([header] + rows)
    }

    /// Lines whose cells are separated by tabs (a `--format 'table …\t…'`
    /// output), aligned the same way.
    public static func align(tabbed lines: [String]) -> String {
        align(lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) })
    }

    /// Every cell but a row's last is padded to its column's width.
    ///
    /// Written for a thousand rows (`ps` with 1,000 containers): each cell's
    /// runes are counted once, from its bytes, the padding strings are made
    /// once a width, and every line is appended to the output in place.
    static func align(_ rows: [[String]]) -> String {
        var lengths: [[Int]] = []
        lengths.reserveCapacity(rows.count)
        var widths: [Int] = []
        var bytes = 0
        for row in rows {
            var counts: [Int] = []
            counts.reserveCapacity(row.count)
            for (i, cell) in row.enumerated() {
                // Runes, as Go counts them: the UTF-8 bytes that begin a scalar.
                var text = cell
                let runes = text.withUTF8 { utf8 in
                    var runes = 0
                    for b in utf8 where b & 0xC0 != 0x80 { runes += 1 }
                    return runes
                }
                counts.append(runes)
                bytes += text.utf8.count
                guard i < row.count - 1 else { continue }
                if i >= widths.count { widths.append(0) }
                widths[i] = max(widths[i], max(10, runes + 3))
            }
            lengths.append(counts)
        }
        var pads: [String] = Array(repeating: "", count: (widths.max() ?? 0) + 1)
        for i in pads.indices { pads[i] = String(repeating: " ", count: i) }
        var out = ""
        out.reserveCapacity(bytes + rows.count * (widths.reduce(0, +) + 1))
        for (r, row) in rows.enumerated() {
            for (i, cell) in row.enumerated() {
                out += cell
                if i < row.count - 1 { out += pads[widths[i] - lengths[r][i]] }
            }
            while out.utf8.last == UInt8(ascii: " ") { out.removeLast() }
            out += "\n"
        }
        return out
    }
}
