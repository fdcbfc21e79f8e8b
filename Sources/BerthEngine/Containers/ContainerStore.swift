#if canImport(Glibc)
import Glibc
#endif
import BerthCore

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

    /// Every container, newest first, with states made truthful. A container
    /// whose record is damaged is listed too (status `dead`), never hidden:
    /// its monitor, mounts and cgroup may still be there for `rm -f` to end.
    ///
    /// With many containers the records are read and checked on a few
    /// threads (`Parallel`): each load only reads files, and the threads are
    /// joined before this returns, so a `run` later in the same REPL still
    /// finds the process single-threaded and forks its monitor directly.
    ///
    /// `view`: `.listing` decodes only what `ps` shows and filters on
    /// (`Container.listingOnly`).
    public func all(_ view: View = .whole) -> [Container] {
        let ids = FileSystem.list(layout.containers)
        // Each record is opened relative to the containers directory: the
        // store's path is walked once, not once a container.
        let directory = open(layout.containers, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if directory >= 0 { close(directory) } }
        // And each monitor's /proc/PID/stat relative to /proc, for the same reason.
        let proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if proc >= 0 { close(proc) } }
        let width = min(4, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let slots = LoadedRecords(count: ids.count)
        let store = self
        guard ids.count >= Self.parallelFrom, width > 1 else {
            for k in ids.indices {
                if let c = try? load(id: ids[k], in: directory, proc: proc, view: view) { slots.put(c, at: k) }
            }
            return slots.newestFirst()
        }
        // Chunks of neighbouring slots: ties in `created` keep the ID order.
        let chunks = width * 4
        Parallel.forEach(chunks, width: width) { chunk in
            let size = (ids.count + chunks - 1) / chunks
            for k in min(ids.count, chunk * size)..<min(ids.count, (chunk + 1) * size) {
                if let c = try? store.load(id: ids[k], in: directory, proc: proc, view: view) { slots.put(c, at: k) }
            }
        }
        return slots.newestFirst()
    }

    /// How much of each record a read decodes.
    public enum View: Sendable {
        /// Everything: what any change starts from.
        case whole
        /// What `ps` shows and filters on (`Container.listingSelection`).
        case listing
    }

    /// The count of containers from which `all` loads on several threads.
    static let parallelFrom = 64

    /// Loads one container with its state made truthful (docs/lifecycle.md):
    /// - recorded running, PID 1 and monitor gone: `exited`, code 255;
    /// - recorded running, monitor gone, PID 1 alive: still `running`, with
    ///   `monitorLost` set (stop and rm release what the monitor held);
    /// - a start pending (`StartPending`) by a monitor that is alive: `starting` set;
    /// - restarting (waiting out the back-off), its monitor gone: `exited`
    ///   with the last exit code;
    /// - a start pending by a monitor that died before recording a result:
    ///   `dead` (nothing of it runs: its child dies with it, PR_SET_PDEATHSIG);
    /// - a record that does not decode: a `dead` placeholder with `recordDamage`.
    public func load(id: String) throws(BerthError) -> Container { try load(id: id, in: -1) }

    /// `load(id:)` with the record opened relative to `directory`, an open
    /// descriptor of the containers directory (-1: by its full path), and
    /// the processes looked up relative to `proc`, an open descriptor of
    /// /proc (-1: by full paths).
    func load(id: String, in directory: Int32, proc: Int32 = -1, view: View = .whole) throws(BerthError) -> Container {
        var container: Container
        switch loadRecord(id: id, in: directory, view: view) {
        case .missing:
            throw .notFound("No such container: \(id)")
        case .damaged(let text, let reason):
            return damaged(id: id, text: text, reason: reason)
        case .ok(let c):
            container = c
        }
        let s = container.state
        // The monitor's claim first (one open and one flock), /proc when it
        // is not held. The directory by its name in `directory` when open:
        // no path string is made for each of `ps`'s containers.
        func claimed() -> Bool {
            directory >= 0
                ? MonitorLiveness.isHeld(id, relativeTo: FileDescriptor(rawValue: directory))
                : MonitorLiveness.isHeld(layout.container(id), relativeTo: .cwd)
        }
        let monitorAlive =
            s.monitorPid > 0
            && (claimed() || ProcessTable.isAlive(s.monitorPid, startTime: s.monitorStartTime, proc: proc))
        if s.isActive {
            if monitorAlive { return container }
            container.monitorLost = true
            if !ProcessTable.isAlive(s.pid, startTime: s.pidStartTime, proc: proc) {
                // PID 1 is gone and so is its monitor, which would have recorded the exit.
                container.state.setLost()
            }
        } else if s.status == .restarting && !(s.startPending && monitorAlive) {
            // The monitor waiting out a restart's back-off is gone (kill -9,
            // a reboot): nothing restarts it now; it stays Exited with its code.
            if !monitorAlive {
                container.monitorLost = true
                container.state.setRestartCanceled()
            }
        } else if s.startPending {
            if monitorAlive {
                container.starting = true
            } else {
                container.monitorLost = true
                container.state.setDead(
                    "the monitor (pid \(s.monitorPid)) died while starting the container; remove it with 'berth rm -f \(container.shortID)'"
                )
            }
        } else if s.monitorPid > 0 && !monitorAlive {
            container.monitorLost = true  // it ended without its own clean-up (killed in finish)
        }
        return container
    }

    /// What is on disk for one container, before any truth-making.
    enum Record {
        case missing
        case damaged(text: [UInt8], reason: String)
        case ok(Container)
    }

    /// Reads and decodes a record as written (no liveness checks).
    func loadRecord(id: String, in directory: Int32 = -1, view: View = .whole) -> Record {
        let text: [UInt8]
        do {
            text =
                directory >= 0
                ? try FileSystem.read(id + "/" + StoreLayout.containerRecord, relativeTo: FileDescriptor(rawValue: directory))
                : try FileSystem.read(recordPath(id))
        } catch {
            // The directory is renamed in and out whole (create, rm), so one
            // without a record lost it: show it, do not hide it.
            return FileSystem.isDirectory(layout.container(id)) && RandomID.isContainerID(id)
                ? .damaged(text: [], reason: "container.json is missing") : .missing
        }
        do throws(BerthError) {
            var container: Container
            switch view {
            case .whole: container = try Container(json: try JSONParser.parse(text))
            case .listing:
                container = try Container(json: try JSONParser.parse(text, selecting: Container.listingSelection))
                container.listingOnly = true
            }
            guard container.id == id else {
                return .damaged(text: text, reason: "it names another container, \(container.id.prefix(12))")
            }
            return .ok(container)
        } catch {
            return .damaged(text: text, reason: error.message)
        }
    }

    /// A placeholder for a container whose record does not decode: its ID
    /// (the directory's name), whatever name and driver can be read from the
    /// text, the default cgroup path, status `dead` with the reason.
    func damaged(id: String, text: [UInt8], reason: String) -> Container {
        let raw = String(decoding: text, as: UTF8.self)
        let name =
            Self.salvage(raw, "Name").map { String($0.drop { $0 == "/" }) }
            .flatMap { (try? ContainerNames.validate($0)) != nil ? $0 : nil } ?? ""
        let storage = Self.salvage(raw, "Driver") ?? StoreConfig.load(layout).storage ?? ""
        var c = Container(
            id: id, name: name, image: "", imageName: Self.salvage(raw, "Image") ?? "",
            command: [], env: [], workingDir: "/", user: "", hostname: "", tty: false,
            openStdin: false, autoRemove: false, isolation: Self.salvage(raw, "Isolation") ?? "",
            storage: storage)
        var st = stat()
        c.created = stat(layout.container(id), &st) == 0 ? Timestamp(seconds: Int64(st.st_mtim.tv_sec)) : Timestamp(seconds: 0)
        c.cgroupPath = Cgroup.forContainer(id).path
        c.state.setDead("the container record is damaged (\(reason)); remove the container with 'berth rm -f \(id.prefix(12))'")
        c.recordDamage = reason
        return c
    }

    /// The first `"KEY": "value"` string in damaged JSON text (no escapes), if any.
    static func salvage(_ text: String, _ key: String) -> String? {
        guard let range = text.firstRange(of: "\"\(key)\"") else { return nil }
        var rest = text[range.upperBound...].drop { $0 == " " || $0 == "\n" || $0 == "\t" }
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\n" || $0 == "\t" }
        guard rest.first == "\"" else { return nil }
        rest = rest.dropFirst()
        guard let close = rest.firstIndex(where: { $0 == "\"" || $0 == "\\" }), rest[close] == "\"" else { return nil }
        let value = String(rest[..<close])
        return value.isEmpty || value.count > 4096 ? nil : value
    }

    /// Finds a container by full ID, exact name or unique ID prefix (Docker's
    /// order). Decodes one record: IDs are directory names and names are in
    /// the name index, so the cost does not grow with the number of containers.
    public func find(_ text: String) throws(BerthError) -> Container {
        let name = String(text.drop { $0 == "/" })
        guard !name.isEmpty else { throw .notFound("No such container: \(text)") }
        if !name.contains("/"), name != ".", name != "..", FileSystem.isDirectory(layout.container(name)),
            let found = try? load(id: name)
        {
            return found
        }
        if let byName = try owner(of: name) { return byName }
        let matches = FileSystem.list(layout.containers).filter { $0.hasPrefix(name) && RandomID.isContainerID($0) }
        if matches.count > 1 {
            throw BerthError("multiple containers match ID prefix \"\(text)\"; give more digits or the name")
        }
        if let id = matches.first, let found = try? load(id: id) { return found }
        throw .notFound("No such container: \(text)")
    }

    /// The container named `name`, if any, through the name index; a link
    /// whose container is gone or now has another name is no owner.
    func owner(of name: String) throws(BerthError) -> Container? {
        let index = ContainerNameIndex(layout: layout)
        try index.ensure(self)
        guard let id = index.id(of: name), let c = try? load(id: id), c.name == name else { return nil }
        return c
    }

    /// Writes a container record atomically.
    public func save(_ container: Container) throws(BerthError) {
        try refuseListing(container)
        try FileSystem.writeAtomically(recordPath(container.id), text: container.json.pretty(indent: 2) + "\n")
    }

    /// Writes a record atomically but without fsync: a killed process leaves
    /// the old record or the new one (rename), which is all the monitor's
    /// start-time notes need; the `start` that waits for the monitor then
    /// writes the state durably (a `--rm` container's is not written again:
    /// it need not survive a power loss). Saves the two fsyncs per start
    /// that `save` costs (docs/lifecycle.md).
    public func saveWithoutSync(_ container: Container) throws(BerthError) {
        try refuseListing(container)
        let text = container.json.pretty(indent: 2) + "\n"
        try FileSystem.writeAtomically(recordPath(container.id), Array(text.utf8), durable: false)
    }

    /// A listing's partial record written back would lose every setting it
    /// did not read: a programming error, stopped before it reaches the disk.
    private func refuseListing(_ container: Container) throws(BerthError) {
        guard container.listingOnly else { return }
        throw BerthError(
            "internal error: container \(container.shortID) was read for a listing and cannot be saved; report this as a bug")
    }

    /// Reads, changes and writes a container under its lock; returns the result.
    @discardableResult
    public func update(_ id: String, _ change: (inout Container) throws(BerthError) -> Void) throws(BerthError) -> Container {
        try FileLock.withLock(lockPath(id)) { () throws(BerthError) -> Container in
            var container = try load(id: id)
            if container.recordDamage != nil { throw .invalidState(container.state.error) }
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
    ///
    /// A `--rm` container's record is written without fsync (file, staging
    /// directory, `containers/`): a killed `berth` still leaves the record
    /// whole (rename), and after a power loss a container that was to be
    /// removed on exit anyway may be missing or left in `tmp/`, which the
    /// next command sweeps. Everything else is written durably.
    public func create(
        _ container: Container, driver: any StorageDriver, layers: [LayerDirectory],
        generateName: ((Int) -> String)? = nil
    ) throws(BerthError) -> Container {
        let staging = try layout.makeStaging("create")
        var container = container
        let durable = !container.autoRemove
        do throws(BerthError) {
            try driver.create(containerDirectory: staging, layers: layers, disposable: container.autoRemove)
            try FileSystem.writeAtomically(
                staging + "/" + StoreLayout.containerRecord, Array((container.json.pretty(indent: 2) + "\n").utf8),
                durable: durable)
            let index = ContainerNameIndex(layout: layout)
            try index.ensure(self)
            try FileLock.withLock(layout.containerLock) { () throws(BerthError) in
                if let other = try owner(of: container.name) {
                    let isTaken = { (name: String) in ((try? owner(of: name)) ?? nil) != nil }
                    guard let generateName,
                        let free = ContainerNames.firstFree(id: container.id, isTaken: isTaken, generate: generateName)
                    else {
                        throw .conflict(
                            "Conflict. The container name \"/\(container.name)\" is already in use by container \"\(other.id)\". You have to remove (or rename) that container to be able to reuse that name."
                        )
                    }
                    container.name = free
                    try FileSystem.writeAtomically(
                        staging + "/" + StoreLayout.containerRecord,
                        Array((container.json.pretty(indent: 2) + "\n").utf8), durable: durable)
                }
                // The name's link first: a crash after it leaves a stale link
                // (ContainerNameIndex), never a container without one.
                try index.claim(container.name, for: container.id)
                FileSystem.stopBeforeRenameIfAsked(layout.container(container.id))
                if rename(staging, layout.container(container.id)) != 0 {
                    let err = Errno.current
                    index.release(container.name, of: container.id)
                    throw .syscall("rename", "\(staging) to \(layout.container(container.id))", err)
                }
                if durable { FileSystem.syncDirectory(of: layout.container(container.id)) }
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
        try purge(try detach(container, driver: driver), driver: driver)
    }

    /// A container `detach` took out of the store, for `purge`.
    public struct Detached: Sendable {
        /// Where its files now are (`tmp/rm-PID-ID12`).
        public let directory: String
        /// Its dropped name link, held open so that the link's block is
        /// freed by `purge`, not by `detach` (-1: none).
        let nameLink: Int32
    }

    /// The first half of `delete`: the container leaves the store (its root
    /// unmounted, its directory renamed into `tmp/`, its name, lock and user
    /// namespace range released) and is gone for every other command.
    /// Returns where its files now are, for `purge`. Renaming first means a
    /// crash half-way leaves garbage in `tmp/` (swept by the next command
    /// once this process is gone), never a half container.
    public func detach(_ container: Container, driver: any StorageDriver) throws(BerthError) -> Detached {
        let dir = layout.container(container.id)
        let doomed = layout.tmp + "/rm-\(getpid())-\(container.id.prefix(12))"
        // An entry that is not a directory of its own (a symlink to another
        // container's, a file) is no container's storage: only the entry
        // goes (renamed, not followed), never what it points to.
        if FileSystem.isRealDirectory(dir) { try driver.unmount(containerDirectory: dir) }
        if rename(dir, doomed) != 0 && errno != ENOENT { throw .syscall("rename", dir, .current) }
        let link = ContainerNameIndex(layout: layout).release(container.name, of: container.id, holding: true)
        unlink(lockPath(container.id))
        UserNamespaceRanges(layout: layout).release(container: container.id)
        return Detached(directory: doomed, nameLink: link)
    }

    /// The second half of `delete`: removes a detached container's files,
    /// its storage first, and lets its name link's inode go. A `--rm` container's monitor does this after it
    /// has told the client the exit: every directory removed frees a block,
    /// and on a store mounted with `discard` and without a journal each
    /// free is a synchronous discard of 2-3 ms (eight directories for an
    /// overlay container), which `run --rm` need not wait for.
    public func purge(_ detached: Detached, driver: any StorageDriver) throws(BerthError) {
        defer { if detached.nameLink >= 0 { close(detached.nameLink) } }
        if FileSystem.isRealDirectory(detached.directory) { try driver.remove(containerDirectory: detached.directory) }
        try FileSystem.removeTree(detached.directory)
    }

    /// Deletes a container directory when its storage driver is unknown
    /// (a damaged record): unmount what is mounted below it, then remove it.
    func deleteWithoutDriver(_ container: Container) throws(BerthError) {
        let dir = layout.container(container.id)
        let doomed = layout.tmp + "/rm-\(getpid())-\(container.id.prefix(12))"
        MountPreparation.unmountAll(under: dir)
        if rename(dir, doomed) != 0 && errno != ENOENT { throw .syscall("rename", dir, .current) }
        ContainerNameIndex(layout: layout).release(container.name, of: container.id)
        try FileSystem.removeTree(doomed)
        unlink(lockPath(container.id))
        UserNamespaceRanges(layout: layout).release(container: container.id)
    }

    /// Whether a name is free.
    public func isNameFree(_ name: String) -> Bool { ((try? owner(of: name)) ?? nil) == nil }
}

/// The records `ContainerStore.all` reads, one slot an ID, filled by its
/// threads (each writes only its own slots; all are joined before
/// `newestFirst`), then moved, never copied, into one array newest first.
/// A `Container` is a large value with dozens of strings and arrays: with
/// 1,000 containers, copying each into a sorted array and freeing the
/// originals cost `ps` milliseconds of retains, releases and page faults.
private final class LoadedRecords: @unchecked Sendable {
    private let base: UnsafeMutablePointer<Container>
    private let filled: UnsafeMutablePointer<Bool>
    private let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: max(count, 1))
        filled = .allocate(capacity: max(count, 1))
        filled.initialize(repeating: false, count: max(count, 1))
    }

    /// Stores the record of the ID in slot `k`; called once a slot at most.
    func put(_ container: Container, at k: Int) {
        (base + k).initialize(to: container)
        filled[k] = true
    }

    /// The stored records, newest first, ties in slot order; the slots are
    /// left empty.
    func newestFirst() -> [Container] {
        var order = (0..<count).filter { filled[$0] }
        order.sort { a, b in
            let x = base[a].created, y = base[b].created
            return x != y ? x > y : a < b
        }
        let result = [Container](unsafeUninitializedCapacity: order.count) { buffer, initialized in
            for (j, k) in order.enumerated() {
                (buffer.baseAddress! + j).moveInitialize(from: base + k, count: 1)
                filled[k] = false
            }
            initialized = order.count
        }
        return result
    }

    deinit {
        for k in 0..<count where filled[k] { (base + k).deinitialize(count: 1) }
        filled.deallocate()
        base.deallocate()
    }
}
