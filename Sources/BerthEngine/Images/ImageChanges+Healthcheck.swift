/// `HEALTHCHECK` in `import --change` and `commit --change` (moby's commit
/// accepts it): `NONE`, or `[--interval=D] [--timeout=D] [--start-period=D]
/// [--retries=N] CMD command`, the command in shell form (`CMD-SHELL`) or
/// exec form (`CMD`). It replaces the whole `Healthcheck`, as in a Dockerfile.
extension ImageChanges {
    static func healthcheck(_ text: String, _ change: String) throws(BerthError) -> JSON {
        var rest = Substring(text)
        var c = HealthConfig()
        while rest.hasPrefix("--") {
            let word = rest.prefix { $0 != " " && $0 != "\t" }
            rest = rest.dropFirst(word.count).drop { $0 == " " || $0 == "\t" }
            let parts = word.dropFirst(2).split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                throw BerthError(
                    "dockerfile parse error: HEALTHCHECK option \"\(word)\" needs a value (--interval=30s) in --change \"\(change)\""
                )
            }
            if parts[0] == "retries" {
                guard let n = Int(parts[1]), n >= 0 else {
                    throw BerthError(
                        "dockerfile parse error: --retries \(parts[1]) in --change \"\(change)\" must be a whole number of 0 or more"
                    )
                }
                c.retries = n
                continue
            }
            guard let ns = GoDuration.parse(parts[1]), ns == 0 || ns >= 1_000_000 else {
                throw BerthError(
                    "dockerfile parse error: HEALTHCHECK --\(parts[0]) \(parts[1]) in --change \"\(change)\": give a duration of 0 or at least 1ms (30s, 500ms)"
                )
            }
            switch parts[0] {
            case "interval": c.interval = ns
            case "timeout": c.timeout = ns
            case "start-period": c.startPeriod = ns
            default:
                throw BerthError(
                    "dockerfile parse error: unknown HEALTHCHECK option --\(parts[0]) in --change \"\(change)\"; use --interval, --timeout, --start-period or --retries"
                )
            }
        }
        let kind = String(rest.prefix { $0 != " " && $0 != "\t" }).uppercased()
        let command = String(rest.dropFirst(kind.count).drop { $0 == " " || $0 == "\t" })
        switch kind {
        case "NONE":
            guard command.isEmpty else {
                throw BerthError("dockerfile parse error: HEALTHCHECK NONE takes no arguments (in --change \"\(change)\")")
            }
            c.test = ["NONE"]
        case "CMD":
            guard !command.isEmpty else {
                throw BerthError("dockerfile parse error: Missing command after HEALTHCHECK CMD (in --change \"\(change)\")")
            }
            c.test = command.hasPrefix("[") ? ["CMD"] + (try commandForm(command, change)) : ["CMD-SHELL", command]
        default:
            throw BerthError(
                "dockerfile parse error: Unknown type \"\(kind)\" in HEALTHCHECK (try CMD) in --change \"\(change)\"")
        }
        return c.json
    }
}
