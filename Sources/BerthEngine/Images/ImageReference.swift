/// An image reference as Docker parses it: `busybox`, `busybox:1.36`,
/// `localhost:5000/team/app:v2`. Docker Hub names are kept in their familiar
/// form (`docker.io/library/busybox` is stored and shown as `busybox`).
public struct ImageReference: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The repository, familiar form (`busybox`, `localhost:5000/team/app`).
    public var repository: String
    /// The tag (`latest` when none was given).
    public var tag: String

    /// `busybox:latest`.
    public var description: String { "\(repository):\(tag)" }

    /// Parses a reference; the error uses Docker's wording.
    public init(parsing text: String) throws(BerthError) {
        guard !text.isEmpty else { throw BerthError("invalid reference format: the image name is empty") }
        if text.contains("@") {
            throw BerthError(
                "invalid reference format \"\(text)\": digest references are not supported here; use REPOSITORY[:TAG]")
        }
        var name = text
        var tag = "latest"
        // A colon after the last slash separates the tag; one before it is a registry port.
        if let colon = text.lastIndex(of: ":"), !text[colon...].contains("/") {
            name = String(text[..<colon])
            tag = String(text[text.index(after: colon)...])
        }
        try ImageReference.validate(name: name, tag: tag, original: text)
        for prefix in ["docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"]
        where name.hasPrefix(prefix) {
            name = String(name.dropFirst(prefix.count))
            break
        }
        self.repository = name
        self.tag = tag
    }

    /// A reference from parts already known to be valid.
    public init(repository: String, tag: String) {
        self.repository = repository
        self.tag = tag
    }

    private static func validate(name: String, tag: String, original: String) throws(BerthError) {
        // Docker's NameTotalLengthMax: a longer name is refused before
        // anything is made of it (a 5,000-character tag was stored and listed).
        guard name.utf8.count <= 255 else {
            throw BerthError(
                "invalid reference format: repository name (\(name.prefix(40))…, \(name.utf8.count) characters) must not be more than 255 characters"
            )
        }
        if name.contains(where: { $0.isUppercase }) {
            throw BerthError("invalid reference format \"\(original)\": repository name must be lowercase")
        }
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        for (i, part) in components.enumerated() {
            let allowed: (Character) -> Bool =
                i == 0 && components.count > 1
                ? { $0.isLetter || $0.isNumber || "._-:".contains($0) }
                : { ($0.isLetter && $0.isASCII) || $0.isNumber || "._-".contains($0) }
            guard !part.isEmpty, part.allSatisfy(allowed),
                part.first!.isLetter || part.first!.isNumber
            else {
                throw BerthError(
                    "invalid reference format \"\(original)\": repository name component \"\(part)\" must be lowercase letters, digits and separators (. _ -)"
                )
            }
        }
        guard !tag.isEmpty, tag.count <= 128, tag.first != "." && tag.first != "-",
            tag.allSatisfy({ ($0.isLetter && $0.isASCII) || $0.isNumber || "._-".contains($0) })
        else {
            throw BerthError(
                "invalid reference format \"\(original)\": a tag is up to 128 letters, digits, '.', '_' or '-', not starting with '.' or '-'"
            )
        }
    }
}
