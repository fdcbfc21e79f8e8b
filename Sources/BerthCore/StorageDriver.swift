/// Where a storage driver keeps its files inside the store.
public struct StorageEnvironment: Sendable {
    /// The store root (`/var/lib/berth`).
    public var storeRoot: String
    /// A directory private to this driver (`ROOT/storage/overlay`).
    public var driverDirectory: String

    /// Describes a driver's place in a store.
    public init(storeRoot: String, driverDirectory: String) {
        self.storeRoot = storeRoot
        self.driverDirectory = driverDirectory
    }
}

/// One image layer as the engine hands it to a driver.
///
/// `path` is the unpacked layer directory in overlay's format: a deleted file
/// is a 0:0 character device, an opaque directory carries the
/// `trusted.overlay.opaque` xattr. Every driver reads this one format.
public struct LayerDirectory: Sendable, Equatable {
    /// The layer's diff ID (`sha256:…` of its uncompressed tar).
    public var digest: String
    /// The unpacked layer directory.
    public var path: String

    /// Describes a layer.
    public init(digest: String, path: String) {
        self.digest = digest
        self.path = path
    }
}

/// Makes a container's root filesystem from an image's layers and owns the
/// container's writable layer. Implementations: `overlay` (copy-on-write)
/// and `copy` (a full copy per container, Docker's `vfs`).
public protocol StorageDriver: Sendable {
    /// The driver's id (`overlay`).
    var name: String { get }

    /// Prepares `containerDirectory` for a new container whose image has
    /// `layers` (lowest first). Nothing is mounted yet.
    func create(containerDirectory: String, layers: [LayerDirectory]) throws(BerthError)

    /// `create` for a container whose writable layer is thrown away when it
    /// exits (`run --rm`): the driver may skip what only makes that layer
    /// survive a power loss (overlay's `volatile`: no sync at unmount).
    func create(containerDirectory: String, layers: [LayerDirectory], disposable: Bool) throws(BerthError)

    /// Makes the root filesystem available and returns its path. Idempotent:
    /// mounting a mounted root returns the same path.
    func mount(containerDirectory: String, layers: [LayerDirectory]) throws(BerthError) -> String

    /// Undoes `mount`. Idempotent.
    func unmount(containerDirectory: String) throws(BerthError)

    /// Whether the root is currently mounted (always true for drivers that do not mount).
    func isMounted(containerDirectory: String) -> Bool

    /// The directory holding only what the container changed (overlay's upper
    /// dir); nil when the driver has to compute changes by comparison.
    func writableLayer(containerDirectory: String) -> String?

    /// Bytes the container's own layer uses on disk.
    func size(containerDirectory: String) -> Int64

    /// Unmounts and deletes every file the driver made for the container.
    func remove(containerDirectory: String) throws(BerthError)

    /// Removes what the driver keeps for containers that are gone (the
    /// overlay driver's shifted copies); run by `image prune` and
    /// `system prune`.
    func collectGarbage() throws(BerthError)

    /// How the driver would show a new container's root owned by a user
    /// namespace's ids, recorded in the container (and its inspect); nil
    /// when it cannot, and `--userns`/`--uidmap` are refused with it.
    func idMappingMethod() -> IDMappingMethod?

    /// `mount` for a container with a user namespace, by the method recorded
    /// at its create: the image's files owned by 0 appear owned by the
    /// map's host id of 0.
    func mount(
        containerDirectory: String, layers: [LayerDirectory], idMap: IDMap, method: IDMappingMethod
    ) throws(BerthError) -> String
}

/// How a container's root is shown owned by its user namespace's ids.
public enum IDMappingMethod: String, Sendable {
    /// The shared layers attached as idmapped mounts (Linux 5.19+ under
    /// overlayfs); the writable layer stores the ids the container sees.
    case idmappedMounts = "idmapped-mounts"
    /// A copy of the layers with every owner shifted, kept per layer chain
    /// and map; the writable layer stores host ids, shifted back by `commit`.
    case chownedCopy = "chowned-copy"
}

extension StorageDriver {
    /// Drivers that keep nothing shared between containers have nothing to collect.
    public func collectGarbage() throws(BerthError) {}

    /// Drivers that cannot shift owners say so.
    public func idMappingMethod() -> IDMappingMethod? { nil }

    public func mount(
        containerDirectory: String, layers: [LayerDirectory], idMap: IDMap, method: IDMappingMethod
    ) throws(BerthError) -> String {
        throw .invalid(
            "the \(name) storage driver cannot give a container a user namespace (it has no idmapped mounts); drop --userns, --uidmap and --gidmap, or use --storage overlay"
        )
    }
}

extension StorageDriver {
    /// Drivers with nothing to skip for a disposable layer make it as any other.
    public func create(containerDirectory: String, layers: [LayerDirectory], disposable: Bool) throws(BerthError) {
        try create(containerDirectory: containerDirectory, layers: layers)
    }
}
