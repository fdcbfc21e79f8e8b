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
    /// The default network's bridge device and subnet.
    public var bridgeName: String = "berth0"
    public var bridgeSubnet: String = "10.88.0.0/16"
    /// Where `network create` without `--subnet` carves subnets from, and their size.
    public var networkPool: String = "10.89.0.0/16"
    public var networkPoolPrefix: Int = 24

    /// The defaults.
    public init() {}

    /// Reads the store's config; unreadable files fall back to defaults.
    public static func load(_ layout: StoreLayout) -> StoreConfig {
        var config = StoreConfig()
        guard let json = try? JSONParser.parse(FileSystem.read(layout.config)) else { return config }
        if let s = json["storage"]?.stringValue { config.storage = s }
        if let i = json["isolation"]?.stringValue { config.isolation = i }
        config.registries = RegistrySettings(json: json["registries"])
        if let b = json["bridgeName"]?.stringValue { config.bridgeName = b }
        if let b = json["bridgeSubnet"]?.stringValue { config.bridgeSubnet = b }
        if let p = json["networkPool"]?.stringValue { config.networkPool = p }
        if let n = json["networkPoolPrefix"]?.intValue { config.networkPoolPrefix = n }
        return config
    }
}
