import BerthCore

/// A reference to an image in a registry, parsed as Docker parses it:
/// `busybox` is `docker.io/library/busybox:latest`, `team/app` is
/// `docker.io/team/app:latest`, and a first component with a `.` or `:`, or
/// `localhost`, is a registry (`127.0.0.1:5000/ns/app:v2`). A `@sha256:…`
/// suffix pins a digest (a tag may come before it).
public struct RemoteReference: Sendable, Equatable, CustomStringConvertible {
    /// `docker.io`, `127.0.0.1:5000`, `quay.io`.
    public var domain: String
    /// The repository inside the registry: `library/busybox`.
    public var path: String
    /// The tag; nil only when a digest is given without one.
    public var tag: String?
    /// `sha256:HEX` when pinned.
    public var digest: String?

    public init(parsing text: String) throws(BerthError) {
        var rest = text
        if let at = text.firstIndex(of: "@") {
            let digest = String(text[text.index(after: at)...])
            guard Digest.isDigest(digest), digest.dropFirst(7).allSatisfy({ !$0.isUppercase }) else {
                throw BerthError("invalid reference format \"\(text)\": the digest must be sha256: and 64 lowercase hex digits")
            }
            self.digest = digest
            rest = String(text[..<at])
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = String(rest[..<colon])
        }
        if tag == nil && digest == nil { tag = "latest" }
        // Validate name and tag with the local parser's rules.
        _ = try ImageReference(parsing: rest + ":" + (tag ?? "latest"))
        var domain = "docker.io"
        var path = rest
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" {
                domain = String(first)
                path = String(rest[rest.index(after: slash)...])
            }
        }
        if domain == "index.docker.io" { domain = "docker.io" }
        if domain == "docker.io" && !path.contains("/") { path = "library/" + path }
        self.domain = domain
        self.path = path
        self.tag = tag
    }

    /// The name as Docker shows it: `busybox`, `team/app`, `127.0.0.1:5000/ns/app`.
    public var familiarName: String {
        guard domain == "docker.io" else { return domain + "/" + path }
        let parts = path.split(separator: "/")
        if parts.count == 2 && parts[0] == "library" { return String(parts[1]) }
        return path
    }

    /// `docker.io/library/busybox`.
    public var fullName: String { domain + "/" + path }

    /// What goes after `/manifests/` in a request: the digest if pinned, else the tag.
    public var reference: String { digest ?? tag ?? "latest" }

    /// The local tag a pull sets, nil for a digest-only reference.
    public var localTag: ImageReference? {
        guard let tag else { return nil }
        return ImageReference(repository: familiarName, tag: tag)
    }

    /// `busybox:latest`, `busybox@sha256:…`, `busybox:1@sha256:…`.
    public var description: String {
        var text = familiarName
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest }
        return text
    }
}
