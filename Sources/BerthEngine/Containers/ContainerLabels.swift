/// `-l/--label` and `--label-file` as Docker's CLI reads them, and how a
/// container's labels combine with its image's.
public enum ContainerLabels {
    /// `KEY=VALUE`, or a bare `KEY` (an empty value, as Docker's `run -l
    /// my-label`). A label with no key (`=x`) is refused.
    public static func parse(_ items: [String]) throws(BerthError) -> [(String, String)] {
        var labels: [(String, String)] = []
        for item in items {
            let (key, value) = EnvironmentVariables.split(item)
            guard !key.isEmpty else {
                throw .usage(
                    "invalid argument \(quoted(item)) for \"-l, --label\" flag: bad attribute format: \(quoted(item, marks: false)); give KEY=VALUE"
                )
            }
            labels.append((key, value ?? ""))
        }
        return labels
    }

    /// The lines of a label file, read as Docker reads an env file: leading
    /// white space trimmed, empty lines and `#` comments skipped, `KEY=VALUE`
    /// as written, a bare `KEY` an empty value, a key with white space refused.
    public static func parseFile(_ text: String, path: String) throws(BerthError) -> [(String, String)] {
        var body = Substring(text)
        if body.hasPrefix("\u{FEFF}") { body = body.dropFirst() }
        var labels: [(String, String)] = []
        for (number, raw) in body.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.drop { $0.isWhitespace }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let (key, value) = EnvironmentVariables.split(String(line))
            guard !key.isEmpty, !key.contains(where: { $0.isWhitespace }) else {
                throw .invalid(
                    "invalid label file \(path), line \(number + 1): bad label key '\(quoted(key, marks: false))'; write KEY=VALUE lines, keys without spaces"
                )
            }
            labels.append((key, value ?? ""))
        }
        return labels
    }

    /// The image's labels overlaid with the container's (the container's
    /// win, a later one over an earlier one), sorted by key as Docker's JSON
    /// prints a map.
    public static func merge(image: [(String, String)], container: [(String, String)]) -> [(String, String)] {
        var merged: [String: String] = [:]
        for (k, v) in image + container { merged[k] = v }
        return merged.keys.sorted().map { ($0, merged[$0]!) }
    }

    /// The labels of an image's run config.
    public static func of(config: JSON) -> [(String, String)] {
        guard case .object(let members)? = config["Labels"] else { return [] }
        return members.compactMap { k, v in v.stringValue.map { (k, $0) } }
    }

    /// Docker's `{{.Labels}}` in `ps`: `k=v` joined by commas (sorted here;
    /// Docker's order is a Go map's, random).
    public static func joined(_ labels: [(String, String)]) -> String {
        labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
    }
}
