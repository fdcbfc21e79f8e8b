#if canImport(Glibc)
import Glibc
#endif

/// A named volume: a directory in the store, outside every container layer,
/// so its data outlives the containers that use it.
public struct Volume: Sendable {
    public var name: String
    public var created: Timestamp
    public var anonymous: Bool
    public var labels: [(String, String)]
    public var mountpoint: String

    public var json: JSON {
        .object([
            ("CreatedAt", .string(created.rfc3339)), ("Driver", .string("local")),
            ("Labels", .object(labels.map { ($0.0, .string($0.1)) })), ("Mountpoint", .string(mountpoint)),
            ("Name", .string(name)), ("Options", .object([])), ("Scope", .string("local")),
            ("Anonymous", .bool(anonymous)),
        ])
    }
}

/// `ROOT/volumes/NAME/{volume.json,_data}`.
public struct VolumeStore: Sendable {
    public let layout: StoreLayout
    public init(layout: StoreLayout) { self.layout = layout }

    var directory: String { layout.root + "/volumes" }
    public func dataPath(_ name: String) -> String { directory + "/" + name + "/_data" }
    var lockPath: String { layout.volumeLock }

    /// Creates a volume (an existing name is returned as it is, as Docker does).
    @discardableResult
    public func create(_ name: String?, labels: [(String, String)] = []) throws(BerthError) -> Volume {
        try FileSystem.makeDirectories(directory, mode: 0o700)
        let volumeName = name ?? RandomID.hex64()
        if let name { try VolumeNames.validate(name) }
        return try FileLock.withLock(lockPath) { () throws(BerthError) -> Volume in
            if let existing = try? get(volumeName) { return existing }
            let staging = try layout.makeStaging("volume")
            if mkdir(staging + "/_data", 0o755) != 0 { throw .syscall("mkdir", staging + "/_data", .current) }
            let volume = Volume(
                name: volumeName, created: .now, anonymous: name == nil, labels: labels,
                mountpoint: dataPath(volumeName))
            try FileSystem.writeAtomically(staging + "/volume.json", text: volume.json.pretty(indent: 2))
            if rename(staging, directory + "/" + volumeName) != 0 {
                let err = Errno.current
                try? FileSystem.removeTree(staging)
                throw .syscall("rename", staging, err)
            }
            return volume
        }
    }

    public func get(_ name: String) throws(BerthError) -> Volume {
        guard let json = try? JSONParser.parse(FileSystem.read(directory + "/" + name + "/volume.json")) else {
            throw .notFound("get \(name): no such volume; list volumes with 'berth volume ls'")
        }
        var labels: [(String, String)] = []
        if case .object(let members)? = json["Labels"] { labels = members.compactMap { k, v in v.stringValue.map { (k, $0) } } }
        return Volume(
            name: name, created: json["CreatedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) ?? .now,
            anonymous: json["Anonymous"]?.boolValue ?? false, labels: labels, mountpoint: dataPath(name))
    }

    public func all() -> [Volume] { FileSystem.list(directory).compactMap { try? get($0) } }

    /// Containers (any state) that mount the volume.
    public func users(_ name: String) -> [Container] {
        ContainerStore(layout: layout).all().filter { $0.mounts.contains { $0.kind == .volume && $0.source == name } }
    }

    /// Removes a volume no container uses.
    public func remove(_ name: String) throws(BerthError) {
        _ = try get(name)
        try FileLock.withLock(lockPath) { () throws(BerthError) in
            let users = self.users(name)
            guard users.isEmpty else {
                throw .conflict(
                    "remove \(name): volume is in use - [\(users.map(\.id).joined(separator: ", "))]; remove those containers first"
                )
            }
            let doomed = layout.tmp + "/rmvolume-\(getpid())-\(name.prefix(12))"
            if rename(directory + "/" + name, doomed) != 0 { throw .syscall("rename", directory + "/" + name, .current) }
            try FileSystem.removeTree(doomed)
        }
    }
}
