/// Docker's `image inspect` document built from an OCI config.
public enum ImageInspect {
    public static func json(_ image: Image, _ store: ImageStore) -> JSON {
        let c = image.config
        let comment = c["history"]?.arrayValue?.last?["comment"]?.stringValue ?? ""
        return .object([
            ("Id", .string(image.id)),
            ("RepoTags", .strings(image.tags.map(\.description))),
            ("RepoDigests", .strings(store.repoDigests(of: image.id))),
            ("Parent", .string("")),
            ("Comment", .string(comment)),
            ("Created", c["created"] ?? .string("")),
            ("Author", c["author"] ?? .string("")),
            ("Config", dockerConfig(image.runConfig)),
            ("Architecture", c["architecture"] ?? .string("")),
            ("Os", c["os"] ?? .string("linux")),
            ("Size", .int(store.size(of: image))),
            ("RootFS", .object([("Type", .string("layers")), ("Layers", .strings(image.diffIDs))])),
            ("Metadata", .object([("LastTagTime", .string(""))])),
        ])
    }

    /// The OCI run config with the fields Docker always prints.
    public static func dockerConfig(_ config: JSON) -> JSON {
        let keys = [
            "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
            "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir",
            "Entrypoint", "OnBuild", "Labels",
        ]
        let defaults: [String: JSON] = [
            "Hostname": .string(""), "Domainname": .string(""), "User": .string(""),
            "AttachStdin": .bool(false), "AttachStdout": .bool(false),
            "AttachStderr": .bool(false), "Tty": .bool(false), "OpenStdin": .bool(false),
            "StdinOnce": .bool(false), "Image": .string(""), "WorkingDir": .string(""),
        ]
        var members = keys.map { ($0, config[$0] ?? defaults[$0] ?? .null) }
        if case .object(let extra) = config {
            members += extra.filter { key, _ in !keys.contains(key) }
        }
        return .object(members)
    }
}
