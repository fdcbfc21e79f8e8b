/// Store-wide defaults, from `ROOT/config.json`:
/// `{"storage": "overlay", "isolation": "namespaces", "registries": {...}}`. A missing file or key
/// means the built-in default.
public struct StoreConfig: Sendable, Equatable {
    /// The default storage driver for new containers.
    public var storage: String = "overlay"
    /// The default isolation backend for new containers.
    public var isolation: String = "namespaces"
    /// Registry mirrors and plain-HTTP registries (`"registries"`); see `RegistrySettings`.
    public var registries = RegistrySettings()

    /// The defaults.
    public init() {}

    /// Reads the store's config; unreadable files fall back to defaults.
    public static func load(_ layout: StoreLayout) -> StoreConfig {
        var config = StoreConfig()
        guard let json = try? JSONParser.parse(FileSystem.read(layout.config)) else { return config }
        if let s = json["storage"]?.stringValue { config.storage = s }
        if let i = json["isolation"]?.stringValue { config.isolation = i }
        config.registries = RegistrySettings(json: json["registries"])
        return config
    }
}
