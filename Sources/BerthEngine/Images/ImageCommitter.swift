#if canImport(Glibc)
import Glibc
#endif

/// What `commit` was asked for.
public struct CommitOptions: Sendable {
    public var tag: ImageReference?
    public var changes: [String] = []
    public var message = ""
    public var author = ""
    public var pause = true
    public init() {}
}

/// `commit`: a new image whose layers are the parent's plus the container's
/// changes as one layer (overlay: its upper dir, whiteouts written as `.wh.`
/// entries; copy: the computed diff).
public struct ImageCommitter {
    public let lifecycle: Lifecycle

    public init(lifecycle: Lifecycle) { self.lifecycle = lifecycle }

    /// Commits the container; returns the new image ID.
    public func commit(_ ref: String, _ o: CommitOptions) throws(BerthError) -> String {
        let c = try lifecycle.containers.find(ref)
        let parent = try lifecycle.images.load(id: c.image)
        let cgroup = Cgroup(path: c.cgroupPath)
        let freeze = o.pause && c.state.status == .running
        if freeze { try cgroup.freeze() }
        defer { if freeze { try? cgroup.thaw() } }
        let layer = try captureLayer(c)
        do throws(BerthError) {
            let config = try newConfig(parent, c, o, diffID: layer.diffID)
            let store = lifecycle.images
            return try FileLock.withLock(lifecycle.layout.imageLock) { () throws(BerthError) -> String in
                try store.commitLayer(staging: layer.staging, diffID: layer.diffID, size: layer.size)
                let id = try store.addImage(config: config)
                if let tag = o.tag { try store.setTag(tag, to: id) }
                return id
            }
        } catch {
            try? FileSystem.removeTree(layer.staging)
            throw error
        }
    }

    /// A container's changes, unpacked into staging (`staging/diff`) and
    /// digested: what `commit` and `build` store as a layer. `isEmpty`: the
    /// container changed nothing (a build records an empty layer then).
    public struct CapturedLayer: Sendable {
        public var staging: String
        public var diffID: String
        public var size: Int64
        public var isEmpty: Bool
    }

    /// Captures the container's writable layer; the caller commits or
    /// removes `staging`.
    public func captureLayer(_ c: Container) throws(BerthError) -> CapturedLayer {
        let staging = try lifecycle.layout.makeStaging("commit")
        do throws(BerthError) {
            let tar = staging + "/layer.tar"
            try writeLayer(c, to: tar)
            if mkdir(staging + "/diff", 0o755) != 0 { throw .syscall("mkdir", staging + "/diff", .current) }
            _ = try LayerExtractor(convertWhiteouts: true).extract(archive: tar, into: staging + "/diff")
            unlink(tar)
            // Stored under the canonical digest of the unpacked layer, which
            // is what save will write (see CanonicalLayer).
            let diffID = try CanonicalLayer.digest(of: staging + "/diff").diffID
            return CapturedLayer(
                staging: staging, diffID: diffID, size: FileSystem.contentSize(staging + "/diff"),
                isEmpty: FileSystem.list(staging + "/diff").isEmpty)
        } catch {
            try? FileSystem.removeTree(staging)
            throw error
        }
    }

    private func writeLayer(_ c: Container, to path: String) throws(BerthError) {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600) } catch {
            throw .syscall("create", path, error)
        }
        defer { fd.close() }
        let writer = TarWriter(FileSink(descriptor: fd, name: path))
        let driver = try lifecycle.driver(for: c)
        if let upper = driver.writableLayer(containerDirectory: lifecycle.layout.container(c.id)) {
            // The container's own mount points stay out, as `diff` leaves them out.
            let layers = try lifecycle.images.layerDirectories(of: try lifecycle.images.load(id: c.image))
            let mountPoints = ContainerFiles(lifecycle: lifecycle).ownMountPoints(c, layers: layers)
            var exclude = Set(mountPoints.map { String($0.dropFirst()) })
            // And `/etc` itself when it is in the layer only to hold them.
            if !mountPoints.isEmpty {
                let image: stat?
                switch MountPointLayer.find(["etc"], layers.reversed().map(\.path)) {
                case .directory(let st): image = st
                case .absent: image = nil
                case .file, .other: image = stat()  // never equal to a directory
                }
                // Listed only once known to be a directory, not a link the container made.
                let names = Set(mountPoints.map { FileSystem.baseName($0) })
                if ChangeScanner.etcAsInImage(upper, image, idMapped: c.idMap != nil),
                    FileSystem.list(upper + "/etc").allSatisfy({ names.contains($0) })
                {
                    exclude.insert("etc")
                }
            }
            var archiver = TreeArchiver(whiteouts: .aufs, exclude: exclude)
            // A chowned copy under the overlay: the writable layer holds host
            // ids, written as the container sees them so the image is portable.
            if c.rootfsIDMapping == IDMappingMethod.chownedCopy.rawValue { archiver.idMap = c.idMap }
            try archiver.archive(root: upper, into: writer)
        } else {
            let files = ContainerFiles(lifecycle: lifecycle)
            let changes = try files.diff(c.id)
            try files.withRoot(c) { (root) throws(BerthError) in try Self.archiveChanges(changes, root: root, writer) }
        }
        try writer.finish()
    }

    /// The copy driver's layer: added and changed entries as they are now,
    /// deleted ones as `.wh.` markers; an added directory brings its tree.
    static func archiveChanges(_ changes: [ContainerFiles.Change], root: String, _ writer: TarWriter) throws(BerthError) {
        var addedTrees: [String] = []
        for change in changes {
            if addedTrees.contains(where: { change.path.hasPrefix($0 + "/") }) { continue }
            let rel = String(change.path.dropFirst())
            let parentRel = FileSystem.parent(of: change.path)
            let name = FileSystem.baseName(change.path)
            if change.kind == "D" {
                let dirPrefix = parentRel == "/" ? "" : String(parentRel.dropFirst()) + "/"
                try writer.append(TarEntry(path: dirPrefix + ".wh." + name, kind: .regular, size: 0, mode: 0o644))
                continue
            }
            let dirfd = open(root + parentRel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard dirfd >= 0 else { throw .syscall("open", root + parentRel, .current) }
            defer { close(dirfd) }
            let added = change.kind == "A"
            try TreeArchiver().archive(entry: name, in: dirfd, as: rel, into: writer, label: root, recursive: added)
            if added { addedTrees.append(change.path) }
        }
    }

    private func newConfig(_ parent: Image, _ c: Container, _ o: CommitOptions, diffID: String) throws(BerthError) -> JSON {
        var run = parent.runConfig
        let entrypoint = run["Entrypoint"]?.stringArray ?? []
        if c.command != entrypoint + (run["Cmd"]?.stringArray ?? []), c.command.starts(with: entrypoint) {
            run = run.setting("Cmd", .strings(Array(c.command.dropFirst(entrypoint.count))))
        }
        // The container's own settings become the image's, as Docker's commit
        // merges the container's config: its environment (less HOSTNAME, which
        // belongs to the container, not the image), working directory and user.
        run = run.setting("Env", .strings(c.env.filter { !$0.hasPrefix("HOSTNAME=") }))
        if !c.workingDir.isEmpty { run = run.setting("WorkingDir", .string(c.workingDir)) }
        run = run.setting("User", .string(c.user))
        run = try ImageChanges.apply(o.changes, to: run)
        let now = Timestamp.now.rfc3339
        var history = parent.config["history"]?.arrayValue ?? []
        var entry: [(String, JSON)] = [("created", .string(now)), ("created_by", .string("berth commit \(c.name)"))]
        if !o.author.isEmpty { entry.append(("author", .string(o.author))) }
        if !o.message.isEmpty { entry.append(("comment", .string(o.message))) }
        history.append(.object(entry))
        var config = parent.config
        config = config.setting("created", .string(now))
        config = config.setting("config", run)
        config = config.setting("history", .array(history))
        config = config.setting(
            "rootfs",
            .object([
                ("type", .string("layers")),
                ("diff_ids", .strings(parent.diffIDs + [diffID])),
            ]))
        if !o.author.isEmpty { config = config.setting("author", .string(o.author)) }
        return config
    }
}
