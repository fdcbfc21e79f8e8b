#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// The image list's filters, Docker's keys: `reference=` (a glob, as moby's
/// `FamiliarMatch`, against `name:tag` and against `name`), `dangling=true|false`
/// (no tag), `label=KEY[=VALUE]` (every one given), `before=`/`since=` (an
/// image by name or ID: created before or after it).
public struct ImageFilter {
    let filters: Filters
    private var bounds: [String: Timestamp] = [:]

    public init(_ flags: [String], store: ImageStore) throws(BerthError) {
        filters = try Filters(flags, known: ["before", "dangling", "label", "reference", "since"])
        for (key, values) in filters.values {
            for value in values {
                switch key {
                case "dangling": try Filters.checkDangling(value)
                case "before", "since":
                    let image = try store.resolve(value)
                    bounds[key + "=" + value] = image.created ?? Timestamp(seconds: 0)
                default: break
                }
            }
        }
    }

    public func matches(_ image: Image) -> Bool {
        filters.matches { key, value in
            switch key {
            case "dangling": return image.tags.isEmpty == (value == "true" || value == "1")
            case "reference":
                return image.tags.contains { t in
                    Self.glob(value, t.description) || Self.glob(value, t.repository)
                }
            case "before", "since":
                guard let bound = bounds[key + "=" + value], let created = image.created else { return false }
                return key == "before" ? created < bound : created > bound
            case "label":
                let parts = value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard case .object(let labels)? = image.runConfig["Labels"],
                    let label = labels.first(where: { $0.0 == parts[0] })
                else { return false }
                return parts.count == 1 || label.1.stringValue == parts[1]
            default: return false
            }
        }
    }

    /// The tags a listing shows: with `reference=` only those it matches, as
    /// dockerd trims `RepoTags` (one image tagged twice lists once).
    public func tags(of image: Image) -> [ImageReference] {
        let patterns = filters.values.first { $0.0 == "reference" }?.1 ?? []
        guard !patterns.isEmpty else { return image.tags }
        return image.tags.filter { t in patterns.contains { Self.glob($0, t.description) || Self.glob($0, t.repository) } }
    }

    /// Go's `path.Match`: `*` and `?` stop at `/`, as fnmatch's FNM_PATHNAME.
    static func glob(_ pattern: String, _ text: String) -> Bool { fnmatch(pattern, text, FNM_PATHNAME) == 0 }
}
