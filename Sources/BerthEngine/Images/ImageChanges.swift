/// Applies Dockerfile instructions given with `import --change` / `commit
/// --change` to an image's run config, as Docker does.
public enum ImageChanges {
    /// The instructions accepted, in Docker's spelling.
    public static let supported = [
        "CMD", "ENTRYPOINT", "ENV", "WORKDIR", "USER", "LABEL", "EXPOSE", "STOPSIGNAL", "VOLUME", "HEALTHCHECK",
    ]

    /// Returns `config` with each change applied in order.
    public static func apply(_ changes: [String], to config: JSON) throws(BerthError) -> JSON {
        var config = config
        for change in changes {
            let trimmed = change.drop { $0 == " " }
            let keyword = String(trimmed.prefix { $0 != " " && $0 != "\t" }).uppercased()
            let rest = String(trimmed.dropFirst(keyword.count).drop { $0 == " " || $0 == "\t" })
            config = try applyOne(keyword, rest, change, config)
        }
        return config
    }

    private static func applyOne(
        _ keyword: String, _ rest: String, _ change: String,
        _ config: JSON
    ) throws(BerthError) -> JSON {
        switch keyword {
        case "CMD": return config.setting("Cmd", .strings(try commandForm(rest, change)))
        case "ENTRYPOINT": return config.setting("Entrypoint", .strings(try commandForm(rest, change)))
        case "WORKDIR": return config.setting("WorkingDir", .string(rest))
        case "USER": return config.setting("User", .string(rest))
        case "STOPSIGNAL": return config.setting("StopSignal", .string(rest))
        case "HEALTHCHECK": return config.setting("Healthcheck", try healthcheck(rest, change))
        case "ENV": return config.setting("Env", .strings(mergeEnv(config["Env"]?.stringArray ?? [], try pairs(rest, change))))
        case "LABEL":
            var labels = config["Labels"] ?? .object([])
            for (k, v) in try pairs(rest, change) { labels = labels.setting(k, .string(v)) }
            return config.setting("Labels", labels)
        case "EXPOSE":
            var ports = config["ExposedPorts"] ?? .object([])
            for port in rest.split(separator: " ") {
                ports = ports.setting(port.contains("/") ? String(port) : "\(port)/tcp", .object([]))
            }
            return config.setting("ExposedPorts", ports)
        case "VOLUME":
            var volumes = config["Volumes"] ?? .object([])
            // JSON form (`VOLUME ["/a", "/b"]`) or paths separated by spaces (`VOLUME /data /logs`).
            let paths =
                rest.hasPrefix("[") ? try commandForm(rest, change) : rest.split(whereSeparator: \.isWhitespace).map(String.init)
            for path in paths where !path.isEmpty {
                volumes = volumes.setting(path, .object([]))
            }
            return config.setting("Volumes", volumes)
        default:
            throw BerthError(
                "dockerfile parse error: unknown or unsupported instruction \"\(keyword)\" in --change \"\(change)\"; supported: \(supported.joined(separator: ", "))"
            )
        }
    }

    /// `["sh","-c","x"]` (exec form) or `x y` (shell form → `/bin/sh -c "x y"`).
    static func commandForm(_ text: String, _ change: String) throws(BerthError) -> [String] {
        guard text.hasPrefix("[") else { return ["/bin/sh", "-c", text] }
        guard let items = (try? JSONParser.parse(text))?.arrayValue,
            items.allSatisfy({ $0.stringValue != nil })
        else {
            throw BerthError(
                "dockerfile parse error: \"\(change)\" is not a JSON array of strings; write it as CMD [\"sh\", \"-c\", \"...\"] or in shell form"
            )
        }
        return items.compactMap(\.stringValue)
    }

    /// `K=V K2="a b"` or the legacy `K V` form.
    static func pairs(_ text: String, _ change: String) throws(BerthError) -> [(String, String)] {
        if !text.contains("="), let space = text.firstIndex(of: " ") {
            return [(String(text[..<space]), String(text[text.index(after: space)...]))]
        }
        var result: [(String, String)] = []
        for word in splitRespectingQuotes(text) {
            guard let eq = word.firstIndex(of: "="), eq != word.startIndex else {
                throw BerthError("dockerfile parse error: \"\(word)\" in --change \"\(change)\" must be KEY=VALUE")
            }
            result.append((String(word[..<eq]), String(word[word.index(after: eq)...])))
        }
        return result
    }

    static func splitRespectingQuotes(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        for c in text {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == " " {
                if !current.isEmpty { words.append(current); current = "" }
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Sets `K=V` entries, replacing earlier values of the same key.
    public static func mergeEnv(_ env: [String], _ pairs: [(String, String)]) -> [String] {
        var result = env
        for (key, value) in pairs {
            result.removeAll { $0 == key || $0.hasPrefix(key + "=") }
            result.append("\(key)=\(value)")
        }
        return result
    }
}
