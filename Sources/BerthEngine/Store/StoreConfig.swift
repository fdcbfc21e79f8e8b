/// Store-wide defaults, from `ROOT/config.json`:
/// `{"storage": DRIVER, "isolation": BACKEND, "registries": {...}}`. A missing file or key
/// means the built-in default (for storage and isolation: the registry's default, the first registered).
public struct StoreConfig: Sendable, Equatable {
    /// The default storage driver for new containers; nil: the registry's default.
    public var storage: String?
    /// The default isolation backend for new containers; nil: the registry's default.
    public var isolation: String?
    /// Registry mirrors and plain-HTTP registries (`"registries"`); see `RegistrySettings`.
    public var registries = RegistrySettings()
    /// The default network's bridge device and subnet. Without `bridgeSubnet`
    /// the subnet is the first free one of `bridgePools` (Docker's
    /// `default-address-pools` format: `[{"base": "172.17.0.0/16", "size": 16}]`),
    /// chosen when the default network is first used.
    public var bridgeName: String = "berth0"
    public var bridgeSubnet: String?
    public var bridgePools: [AddressPool] = AddressPool.dockerDefaults
    /// Where `network create` without `--subnet` carves subnets from, and their size.
    public var networkPool: String = "10.89.0.0/16"
    public var networkPoolPrefix: Int = 24

    /// The defaults.
    public init() {}

    /// The isolation backend a new container gets without `--isolation`.
    public func defaultIsolation(_ registry: PluginRegistry) -> String { isolation ?? registry.defaultID(.isolation) ?? "" }
    /// The storage driver a new container gets without `--storage`.
    public func defaultStorage(_ registry: PluginRegistry) -> String { storage ?? registry.defaultID(.storage) ?? "" }

    /// Reads the store's config; unreadable files fall back to defaults.
    public static func load(_ layout: StoreLayout) -> StoreConfig {
        var config = StoreConfig()
        guard let json = try? JSONParser.parse(FileSystem.read(layout.config)) else { return config }
        if let s = json["storage"]?.stringValue { config.storage = s }
        if let i = json["isolation"]?.stringValue { config.isolation = i }
        config.registries = RegistrySettings(json: json["registries"])
        // Docker's daemon.json spelling, beside Berth's own.
        config.registries.insecure += json["insecure-registries"]?.stringArray ?? []
        if let b = json["bridgeName"]?.stringValue { config.bridgeName = b }
        if let b = json["bridgeSubnet"]?.stringValue { config.bridgeSubnet = b }
        if let pools = json["bridgePools"]?.arrayValue {
            config.bridgePools = pools.compactMap { p -> AddressPool? in
                guard let base = p["base"]?.stringValue.flatMap(Subnet.init), let size = p["size"]?.intValue else { return nil }
                return AddressPool(base: base, size: size)
            }
        }
        if let p = json["networkPool"]?.stringValue { config.networkPool = p }
        if let n = json["networkPoolPrefix"]?.intValue { config.networkPoolPrefix = n }
        return config
    }
}
