/// `-e` and `--env-file` as Docker's CLI reads them (`opts.ValidateEnv`,
/// `opts/envfile.go`), shared by `create`/`run` and `exec`.
public enum EnvironmentVariables {
    /// `-e KEY=VALUE`, or `-e KEY`: the caller's value, and nothing at all
    /// when the caller has none (Docker leaves the variable out). An empty
    /// item or one with no name (`=x`) is refused as Docker's flag check does.
    public static func pairs(_ items: [String], from caller: [String: String]) throws(BerthError) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for item in items {
            let (key, value) = split(item)
            guard !key.isEmpty else {
                throw .usage("invalid argument \"\(item)\" for \"-e, --env\" flag: invalid environment variable: \(item)")
            }
            if let value { pairs.append((key, value)) } else if let inherited = caller[key] { pairs.append((key, inherited)) }
        }
        return pairs
    }

    /// The lines of an env file: a UTF-8 byte-order mark at the start is
    /// dropped, CR line ends too; leading white space is trimmed, empty lines
    /// and `#` comments skipped; `KEY=VALUE` keeps the value as written
    /// (spaces, quotes and all); a bare `KEY` takes the caller's value or is
    /// left out; a name with white space in it (`export K=5`) is refused.
    public static func parseFile(_ text: String, path: String, from caller: [String: String]) throws(BerthError) -> [(
        String, String
    )] {
        var body = Substring(text)
        if body.hasPrefix("\u{FEFF}") { body = body.dropFirst() }
        var pairs: [(String, String)] = []
        // "\r\n" is one Character in Swift: split on every kind of line end.
        for (number, raw) in body.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.drop { $0.isWhitespace }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let (key, value) = split(String(line))
            guard !key.isEmpty else {
                throw .invalid(
                    "invalid env file \(path), line \(number + 1): no variable name before '=' in \"\(line.prefix(80))\"")
            }
            guard !key.contains(where: { $0.isWhitespace }) else {
                throw .invalid(
                    "poorly formatted environment: variable '\(key.prefix(80))' contains whitespaces (env file \(path), line \(number + 1))"
                )
            }
            if let value { pairs.append((key, value)) } else if let inherited = caller[key] { pairs.append((key, inherited)) }
        }
        return pairs
    }

    /// `KEY=VALUE` → (KEY, VALUE); `KEY` → (KEY, nil).
    static func split(_ item: String) -> (String, String?) {
        guard let eq = item.firstIndex(of: "=") else { return (item, nil) }
        return (String(item[..<eq]), String(item[item.index(after: eq)...]))
    }
}

extension Container {
    /// The environment the container's processes start with (PID 1, and
    /// `exec` with its own `tty`), built as dockerd builds it at each start
    /// (`CreateDaemonEnvironment`): the default PATH, HOSTNAME, TERM=xterm
    /// on a terminal and the link variables, then `Env` over them: an entry
    /// replaces the one with its name or is appended; a name with no `=`
    /// removes it. `Env` itself holds only the image's and the user's, as
    /// `inspect` shows them in Docker (records before that held PATH and
    /// HOSTNAME too, which then replace these with the same values).
    public func processEnvironment(tty: Bool, links: [String] = []) -> [String] {
        var result = [ContainerFactory.defaultPath, "HOSTNAME=" + hostname]
        if tty { result.append("TERM=xterm") }
        result += links
        for entry in env {
            let name = entry.prefix { $0 != "=" }
            let at = result.firstIndex { $0.prefix { $0 != "=" } == name }
            if name.count == entry.count {
                if let at { result.remove(at: at) }
            } else if let at {
                result[at] = entry
            } else {
                result.append(entry)
            }
        }
        return result
    }
}
