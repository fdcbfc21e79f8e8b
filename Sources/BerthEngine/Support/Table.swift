/// Column output like Docker's (Go's tabwriter with minwidth 10, padding 3):
/// each column is as wide as its widest cell plus three spaces, at least 10.
public enum Table {
    /// Renders rows under a header; the last column is never padded.
    public static func render(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let columns = header.count
        var widths = [Int](repeating: 0, count: columns)
        for row in all {
            for (i, cell) in row.enumerated() where i < columns - 1 {
                widths[i] = max(widths[i], max(10, cell.count + 3))
            }
        }
        var out = ""
        for row in all {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += cell
                if i < columns - 1 { line += String(repeating: " ", count: widths[i] - cell.count) }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
