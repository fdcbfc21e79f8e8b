/// Lexical cleaning of the paths stored in a layer archive.
enum ArchivePath {
    /// The outcome of cleaning an archive path.
    enum Cleaned: Equatable {
        /// Components below the layer root; empty for the root itself.
        case inside([String])
        /// A `..` climbs above the root.
        case escapes
        /// The name contains a NUL byte, which no system call could take
        /// faithfully (the kernel would see a different, shorter name).
        case invalid
    }

    /// Cleans `name` as GNU tar does: a leading `/` or `./` is dropped (so
    /// absolute names land inside the root), empty and `.` components vanish,
    /// and `..` removes the previous component. Symlinks are not consulted:
    /// they are resolved later by the kernel, confined to the root.
    static func clean(_ name: String) -> Cleaned {
        if name.utf8.contains(0) { return .invalid }
        var parts: [String] = []
        for part in name.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                if parts.isEmpty { return .escapes }
                parts.removeLast()
            default: parts.append(String(part))
            }
        }
        return .inside(parts)
    }
}
