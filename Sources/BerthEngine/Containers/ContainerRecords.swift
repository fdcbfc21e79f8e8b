/// A read-only view of the containers in a store: what image-level commands
/// need to know (`rmi` refuses images that containers use).
public struct ContainerRecords: Sendable {
    /// The store's paths.
    public let layout: StoreLayout

    /// The container records of a layout.
    public init(layout: StoreLayout) { self.layout = layout }

    /// A container's identity and the image it was made from.
    public struct Summary: Sendable {
        public var id: String
        public var name: String
        public var image: String
        public var status: String
        /// Running and paused containers cannot lose their image even with `-f`.
        public var isRunning: Bool { status == "running" || status == "paused" }
    }

    /// Every container with a readable `container.json`.
    public func all() -> [Summary] {
        FileSystem.list(layout.containers).compactMap { id in
            guard let json = try? JSONParser.parse(FileSystem.read(layout.container(id) + "/container.json")) else {
                return nil
            }
            return Summary(id: id, name: json["Name"]?.stringValue ?? "",
                           image: json["Image"]?.stringValue ?? "",
                           status: json["State"]?["Status"]?.stringValue ?? "created")
        }
    }
}
