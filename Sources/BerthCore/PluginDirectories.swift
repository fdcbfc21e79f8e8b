/// Where external plugins are looked for, in order: the store's `plugins/`,
/// `~/.berth/plugins`, then every directory in `BERTH_PLUGIN_PATH`
/// (colon-separated). The first plugin of a name wins.
public enum PluginDirectories {
    /// The protocol version plugins are spoken to with (docs/plugins.md).
    public static let protocolVersion = "1"

    public static func list(root: String, environment: [String: String]) -> [String] {
        var dirs = [root + "/plugins"]
        if let home = environment["HOME"], !home.isEmpty { dirs.append(home + "/.berth/plugins") }
        if let extra = environment["BERTH_PLUGIN_PATH"] {
            dirs += extra.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        return dirs
    }

    /// One plugin directory and the names in it (sorted; empty when it is
    /// missing). Listed once per `berth` start and shared by the executable
    /// and script discoverers, which used to open every directory each.
    public struct Listing: Sendable {
        public let directory: String
        public let files: [String]
    }

    /// The plugin directories, in order, each with its files.
    public static func scan(root: String, environment: [String: String]) -> [Listing] {
        list(root: root, environment: environment).map { Listing(directory: $0, files: FileSystem.list($0)) }
    }

    /// `berth-NAME` → `NAME` (nil for other files); `.berth` scripts keep no suffix.
    public static func commandName(_ file: String, script: Bool) -> String? {
        guard file.hasPrefix("berth-") else { return nil }
        let rest = String(file.dropFirst(6))
        if script { return rest.hasSuffix(".berth") ? String(rest.dropLast(6)) : nil }
        return rest.contains(".") ? nil : rest
    }
}
