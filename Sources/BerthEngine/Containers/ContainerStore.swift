#if canImport(Glibc)
import Glibc
#endif

/// The containers of a store: creation with unique names, lookup by name or
/// ID prefix, locked updates, and removal.
public struct ContainerStore: Sendable {
    /// The store's paths.
    public let layout: StoreLayout

    /// The container store of a layout.
    public init(layout: StoreLayout) { self.layout = layout }

    func recordPath(_ id: String) -> String { layout.containerRecord(id) }
    /// The lock serialising one container's transitions.
    public func lockPath(_ id: String) -> String { layout.locks + "/container-\(id).lock" }

    /// Every container, newest first, with states made truthful.
    public func all() -> [Container] {
        FileSystem.list(layout.containers).compactMap { try? load(id: $0) }
            .sorted { $0.created > $1.created }
    }

    /// Loads one container. A container recorded as running whose PID 1 is
    /// gone (its monitor was killed) is reported as exited.
    public func load(id: String) throws(BerthError) -> Container {
        let text: [UInt8]
        do { text = try FileSystem.read(recordPath(id)) } catch {
            throw .notFound("No such container: \(id)")
        }
        var container = try Container(json: try JSONParser.parse(text))
        if container.state.isActive && !ProcessTable.isAlive(container.state.pid, startTime: container.state.pidStartTime)
            && !(container.state.monitorPid > 0
                 && ProcessTable.isAlive(container.state.monitorPid, startTime: container.state.monitorStartTime)) {
            // PID 1 is gone and so is its monitor, which would have recorded the exit.
            container.state.setLost()
        }
        return container
    }

    /// Finds a container by exact name, full ID or unique ID prefix.
    public func find(_ text: String) throws(BerthError) -> Container {
        let name = String(text.drop { $0 == "/" })
        let ids = FileSystem.list(layout.containers)
        if ids.contains(name) { return try load(id: name) }
        let all = ids.compactMap { try? load(id: $0) }
        if let byName = all.first(where: { $0.name == name }) { return byName }
        let matches = all.filter { $0.id.hasPrefix(name) }
        if matches.count == 1, !name.isEmpty { return matches[0] }
        if matches.count > 1 {
            throw BerthError("multiple containers match ID prefix \"\(text)\"; give more digits or the name")
        }
        throw .notFound("No such container: \(text)")
    }

    /// Writes a container record atomically.
    public func save(_ container: Container) throws(BerthError) {
        try FileSystem.writeAtomically(recordPath(container.id), text: container.json.pretty(indent: 2) + "\n")
    }

    /// Reads, changes and writes a container under its lock; returns the result.
    @discardableResult
    public func update(_ id: String, _ change: (inout Container) throws(BerthError) -> Void) throws(BerthError) -> Container {
        try FileLock.withLock(lockPath(id)) { () throws(BerthError) -> Container in
            var container = try load(id: id)
            try change(&container)
            try save(container)
            return container
        }
    }

    /// Creates a container: the storage driver prepares its root in private
    /// staging, then, under the containers lock, the name is checked and the
    /// staging directory renamed into place. Of two creates with one name,
    /// exactly one wins; a killed `berth` leaves only staging, which is swept.
    ///
    /// With `generateName` the name was generated, not chosen by the user:
    /// if it is taken, `generateName(0)`, `(1)`… are tried under the same
    /// lock (then the short ID, as Docker does), so a generated name never
    /// makes a create fail. The returned container has the name it got.
    public func create(_ container: Container, driver: any StorageDriver, layers: [LayerDirectory],
                       generateName: ((Int) -> String)? = nil) throws(BerthError) -> Container {
        let staging = try layout.makeStaging("create")
        var container = container
        do throws(BerthError) {
            try driver.create(containerDirectory: staging, layers: layers)
            try FileSystem.writeAtomically(staging + "/" + StoreLayout.containerRecord, text: container.json.pretty(indent: 2) + "\n")
            try FileLock.withLock(layout.containerLock) { () throws(BerthError) in
                let existing = all()
                if let other = existing.first(where: { $0.name == container.name }) {
                    let taken = Set(existing.map(\.name))
                    guard let generateName,
                          let free = ContainerNames.firstFree(id: container.id, isTaken: taken.contains, generate: generateName) else {
                        throw .conflict("Conflict. The container name \"/\(container.name)\" is already in use by container \"\(other.id)\". You have to remove (or rename) that container to be able to reuse that name.")
                    }
                    container.name = free
                    try FileSystem.writeAtomically(staging + "/" + StoreLayout.containerRecord, text: container.json.pretty(indent: 2) + "\n")
                }
                if rename(staging, layout.container(container.id)) != 0 {
                    throw .syscall("rename", "\(staging) to \(layout.container(container.id))", .current)
                }
                FileSystem.syncDirectory(of: layout.container(container.id))
            }
            return container
        } catch {
            try? driver.remove(containerDirectory: staging)
            try? FileSystem.removeTree(staging)
            throw error
        }
    }

    /// Deletes a stopped container's files: storage, record and lock.
    public func delete(_ container: Container, driver: any StorageDriver) throws(BerthError) {
        let dir = layout.container(container.id)
        // Rename first: a crash half-way leaves garbage in tmp/, never a half container.
        let doomed = layout.tmp + "/rm-\(getpid())-\(container.id.prefix(12))"
        try driver.unmount(containerDirectory: dir)
        if rename(dir, doomed) != 0 && errno != ENOENT { throw .syscall("rename", dir, .current) }
        try driver.remove(containerDirectory: doomed)
        try FileSystem.removeTree(doomed)
        unlink(lockPath(container.id))
    }

    /// Whether a name is free.
    public func isNameFree(_ name: String) -> Bool { !all().contains { $0.name == name } }
}
