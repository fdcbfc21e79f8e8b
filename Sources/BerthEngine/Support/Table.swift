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
    static func align(_ rows: [[String]]) -> String {
        // Runes, as Go counts them: the UTF-8 bytes that begin a scalar.
        // Counted once a cell, from the bytes (`ps` aligns a row a container).
        let lengths = rows.map { $0.map { cell in cell.utf8.reduce(0) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 } } }
        var widths: [Int] = []
        for (r, row) in rows.enumerated() {
            for i in row.indices where i < row.count - 1 {
                if i >= widths.count { widths.append(0) }
                widths[i] = max(widths[i], max(10, lengths[r][i] + 3))
            }
        }
        var out = ""
        for (r, row) in rows.enumerated() {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += cell
                if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - lengths[r][i]) }
            }
            while line.utf8.last == UInt8(ascii: " ") { line.removeLast() }
            out += line
            out += "\n"
        }
        return out
    }
}
