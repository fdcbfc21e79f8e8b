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
        var widths: [Int] = []
        for row in rows {
            for (i, cell) in row.enumerated() where i < row.count - 1 {
                if i >= widths.count { widths.append(0) }
                widths[i] = max(widths[i], max(10, cell.unicodeScalars.count + 3))  // runes, as Go counts
            }
        }
        var out = ""
        for row in rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += cell
                if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.unicodeScalars.count) }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
