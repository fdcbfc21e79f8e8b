import BerthCore

/// An image: an OCI image config (its SHA-256 is the image ID) and the tags
/// that point at it.
public struct Image: Sendable {
    /// `sha256:HEX`, the digest of the config file's bytes.
    public var id: String
    /// The OCI image config.
    public var config: JSON
    /// Tags pointing at this image, sorted.
    public var tags: [ImageReference]

    /// The layers' diff IDs, lowest first.
    public var diffIDs: [String] { config["rootfs"]?["diff_ids"]?.stringArray ?? [] }

    /// When the image was made.
    public var created: Timestamp? { config["created"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } }

    /// The runtime part of the config (`Cmd`, `Entrypoint`, `Env`, `WorkingDir`…).
    public var runConfig: JSON { config["config"] ?? .object([]) }

    /// The short ID shown in tables.
    public var shortID: String { Format.shortID(id) }
}

/// Builds OCI image configs.
public enum ImageConfig {
    /// The config of a single-layer image made by `import`, with the run
    /// settings from `--change` and the comment from `--message`.
    public static func imported(diffID: String, runConfig: JSON, comment: String, createdBy: String) -> JSON {
        let now = Timestamp.now.rfc3339
        var history: [(String, JSON)] = [("created", .string(now)), ("created_by", .string(createdBy))]
        if !comment.isEmpty { history.append(("comment", .string(comment))) }
        return .object([
            ("architecture", .string(hostArchitecture)),
            ("config", runConfig),
            ("created", .string(now)),
            ("history", .array([.object(history)])),
            ("os", .string("linux")),
            ("rootfs", .object([("type", .string("layers")), ("diff_ids", .strings([diffID]))])),
        ])
    }

    /// The OCI name of the machine's architecture.
    public static var hostArchitecture: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }
}
