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
    /// `volume create -o`: what is mounted on the mountpoint while the volume is in use.
    public var options = VolumeOptions()

    public var json: JSON {
        .object([
            ("CreatedAt", .string(created.rfc3339)), ("Driver", .string("local")),
            ("Labels", .object(labels.map { ($0.0, .string($0.1)) })), ("Mountpoint", .string(mountpoint)),
            ("Name", .string(name)), ("Options", options.json), ("Scope", .string("local")),
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
    public func create(_ name: String?, labels: [(String, String)] = [], options: VolumeOptions = VolumeOptions())
        throws(BerthError) -> Volume
    {
        try FileSystem.makeDirectories(directory, mode: 0o700)
        let volumeName = name ?? RandomID.hex64()
        if let name { try VolumeNames.validate(name) }
        return try FileLock.withLock(lockPath) { () throws(BerthError) -> Volume in
            if let existing = try? get(volumeName) { return existing }
            let staging = try layout.makeStaging("volume")
            if mkdir(staging + "/_data", 0o755) != 0 { throw .syscall("mkdir", staging + "/_data", .current) }
            var volume = Volume(
                name: volumeName, created: .now, anonymous: name == nil, labels: labels,
                mountpoint: dataPath(volumeName))
            volume.options = options
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
        var volume = Volume(
            name: name, created: json["CreatedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) ?? .now,
            anonymous: json["Anonymous"]?.boolValue ?? false, labels: labels, mountpoint: dataPath(name))
        volume.options = VolumeOptions(json: json["Options"])
        return volume
    }

    /// Whether `path` is a mount point now, in this thread's mount
    /// namespace (/proc/thread-self: `cp` works in a private one).
    static func isMounted(_ path: String) -> Bool {
        let real = FileSystem.realPath(path)
        return ((try? FileSystem.readText("/proc/thread-self/mountinfo")) ?? "").split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && String(fields[4]).replacingAll("\\040", " ") == real
        }
    }

    /// A volume with `-o` options is mounted on its `_data` by the first
    /// container that starts with it (under the volume lock, so two starts
    /// do not mount it twice).
    public func mountIfNeeded(_ name: String) throws(BerthError) {
        let volume = try get(name)
        guard !volume.options.isEmpty else { return }
        try FileLock.withLock(lockPath) { () throws(BerthError) in
            guard !Self.isMounted(volume.mountpoint) else { return }
            try volume.options.mount(on: volume.mountpoint)
        }
    }

    /// And unmounted when the last running container that uses it stops
    /// (`except`: the one stopping, whose record still says running): a
    /// tmpfs volume's data goes with it, as in Docker.
    public func releaseIfUnused(_ name: String, except id: String) {
        guard let volume = try? get(name), !volume.options.isEmpty else { return }
        try? FileLock.withLock(lockPath) { () throws(BerthError) in
            let inUse = users(name).contains { $0.id != id && ($0.state.isActive || $0.starting) }
            guard !inUse, Self.isMounted(volume.mountpoint) else { return }
            _ = umount2(volume.mountpoint, Int32(MNT_DETACH))
        }
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
            // Never remove through a mount: a bind volume shows the user's own directory.
            let data = dataPath(name)
            if Self.isMounted(data) && umount2(data, Int32(MNT_DETACH)) != 0 || Self.isMounted(data) {
                throw .syscall(
                    "unmount volume \(name) at", data, .current, fix: "unmount it (umount \(data)) and remove it again")
            }
            let doomed = layout.tmp + "/rmvolume-\(getpid())-\(name.prefix(12))"
            if rename(directory + "/" + name, doomed) != 0 { throw .syscall("rename", directory + "/" + name, .current) }
            try FileSystem.removeTree(doomed)
        }
    }
}
