#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// What `export`, `diff`, `commit` and `cp` need from a container's files:
/// its root (mounted for the duration, running or not) and its own layer.
public struct ContainerFiles {
    public let lifecycle: Lifecycle

    public init(lifecycle: Lifecycle) { self.lifecycle = lifecycle }

    /// Runs `body` with the container's root mounted, unmounting afterwards
    /// if it was not mounted before (a stopped container).
    ///
    /// A running container whose root PID 1 mounted in its own namespace
    /// (`RootPlacement`) is reached through that namespace: a second mount
    /// of its writable layer would be undefined. Which of the two applies is
    /// decided, and a stopped root mounted, under the container's lock, which
    /// a `start` holds until its monitor has recorded PID 1; a start the
    /// restart policy has begun (a pending start) is waited for first. So a
    /// start never makes a root of its own beside one mounted here, nor this
    /// one beside a start's.
    public func withRoot<T>(_ c: Container, _ body: (String) throws(BerthError) -> T) throws(BerthError) -> T {
        let driver = try lifecycle.driver(for: c)
        let dir = lifecycle.layout.container(c.id)
        var placement = Placement.starting
        for _ in 0..<3 {
            placement = try FileLock.withLock(lifecycle.containers.lockPath(c.id)) {
                () throws(BerthError) -> Placement in
                let now = try lifecycle.containers.load(id: c.id)
                let wasMounted = driver.isMounted(containerDirectory: dir)
                if now.state.isActive && !wasMounted { return .inside(now) }
                if now.starting { return .starting }
                let layers = try MountPointLayer.layers(
                    for: now, image: try lifecycle.images.load(id: now.image), images: lifecycle.images)
                return .host(root: try driver.mountRoot(of: now, directory: dir, layers: layers), wasMounted: wasMounted)
            }
            guard case .starting = placement else { break }
            try lifecycle.awaitPendingStart(c.id)
        }
        let root: String
        let wasMounted: Bool
        switch placement {
        case .inside(let now): return try withRootInside(now, at: driver.rootPath(containerDirectory: dir), body)
        case .host(let r, let w): (root, wasMounted) = (r, w)
        case .starting:
            throw .conflict("container \(c.name) is being started; try again when it runs")
        }
        defer {
            if !wasMounted, (try? lifecycle.containers.load(id: c.id))?.state.isActive != true {
                try? driver.unmount(containerDirectory: dir)
            }
        }
        return try body(root)
    }

    /// Where `withRoot` finds a root.
    private enum Placement {
        /// In the running container's own mount namespace.
        case inside(Container)
        /// On the host (`wasMounted`: before `withRoot` mounted it).
        case host(root: String, wasMounted: Bool)
        /// A start is pending: wait for it.
        case starting
    }

    /// `withRoot` for a running container whose root PID 1 mounted in its
    /// own namespace: a clone of that mount (the root alone, not what the
    /// container mounted below it; the same filesystem, not a second
    /// overlay) is attached at `path` in a private mount namespace of this
    /// thread, as `ContainerMountView` makes one, for the length of `body`.
    /// The host's mount table never holds it; when the thread returns to the
    /// host's namespace the private one has no member left and takes the
    /// clone with it: nothing to unmount, even when `body` fails or berth is
    /// killed.
    private func withRootInside<T>(_ c: Container, at path: String, _ body: (String) throws(BerthError) -> T)
        throws(BerthError) -> T
    {
        let pidfd = berth_pidfd_open(c.state.pid)
        // The PID is PID 1's only if it started when the record says (a
        // pidfd then keeps it from being reused while it is open).
        guard pidfd >= 0, ProcessTable.startTime(c.state.pid) == c.state.pidStartTime else {
            if pidfd >= 0 { close(pidfd) }
            throw .invalidState("container \(c.name) is not running any more; try again")
        }
        var step: UnsafePointer<CChar>? = nil
        let tree = berth_clone_root_of(pidfd, &step)
        let cloneError = Errno.current
        close(pidfd)
        guard tree >= 0 else {
            throw .syscall(
                step.map { String(cString: $0) } ?? "open_tree", "the root of container \(c.name)", cloneError,
                fix: "reaching a running container's root needs CAP_SYS_ADMIN; run berth as root")
        }
        defer { close(tree) }
        let hostNamespace: FileDescriptor
        let cwd: FileDescriptor
        do { hostNamespace = try FileDescriptor.open("/proc/thread-self/ns/mnt", O_RDONLY) } catch {
            throw .syscall("open", "/proc/thread-self/ns/mnt", error)
        }
        defer { hostNamespace.close() }
        do { cwd = try FileDescriptor.open(".", berth_o_path() | O_DIRECTORY) } catch {
            throw .syscall("open", "the working directory", error)
        }
        defer { cwd.close() }
        guard berth_unshare(berth_clone_newns()) == 0 else {
            throw .syscall("unshare(CLONE_NEWNS) for", "the root of \(c.name)", .current)
        }
        defer {
            if berth_setns(hostNamespace.rawValue, berth_clone_newns()) != 0 || fchdir(cwd.rawValue) != 0 {
                fatalError("cannot return to the host's mount namespace: \(Errno.current)")
            }
        }
        guard mount(nil, "/", nil, UInt(MS_REC | MS_SLAVE), nil) == 0 else {
            throw .syscall("make / a slave mount in", "a private namespace for \(c.name)", .current)
        }
        guard berth_attach_mount(tree, path) == 0 else {
            throw .syscall("attach the root of \(c.name) on", path, .current)
        }
        return try body(path)
    }

    /// Writes the container's whole filesystem as one flat tar.
    public func export(_ ref: String, to sink: any ByteSink) throws(BerthError) {
        let c = try lifecycle.containers.find(ref)
        try withRoot(c) { (root) throws(BerthError) in
            let writer = TarWriter(sink)
            var archiver = TreeArchiver()
            archiver.idMap = c.idMap
            try archiver.archive(root: root, into: writer)
            try writer.finish()
        }
    }

    /// One line of `diff`: `A`dded, `C`hanged or `D`eleted, and the path.
    public struct Change: Sendable, Equatable {
        public var kind: Character
        public var path: String
    }

    /// The container's changes against its image, sorted by path, as Docker prints them.
    public func diff(_ ref: String) throws(BerthError) -> [Change] {
        let c = try lifecycle.containers.find(ref)
        let layers = try lifecycle.images.layerDirectories(of: try lifecycle.images.load(id: c.image))
        let image = ImageView(layers: layers)
        let driver = try lifecycle.driver(for: c)
        let mountPoints = ownMountPoints(c, layers: layers)
        if let upper = driver.writableLayer(containerDirectory: lifecycle.layout.container(c.id)) {
            return ChangeScanner.withoutMountPoints(
                ChangeScanner.upper(upper, image: image), mountPoints, in: upper, image: image, idMapped: c.idMap != nil)
        }
        return try withRoot(c) { (root) throws(BerthError) in
            ChangeScanner.withoutMountPoints(
                ChangeScanner.compare(root, image: image), mountPoints, in: root, image: image, idMapped: c.idMap != nil)
        }
    }

    /// The paths of the files a start bound over `/etc/hosts`, `/etc/hostname`
    /// and `/etc/resolv.conf` where the image lacks them, when their mount
    /// points are in the container's own layer (the copy driver, a user
    /// namespace, an OCI runtime: no `MountPointLayer`). What the container
    /// writes there goes to the bound file, never to the layer, so they are
    /// left out of `diff` and of a commit's layer, as Docker's init layer
    /// keeps them out of its own.
    func ownMountPoints(_ c: Container, layers: [LayerDirectory]) -> [String] {
        let dir = lifecycle.layout.container(c.id)
        let topFirst = layers.reversed().map(\.path)
        return MountPointLayer.targets.filter { name in
            guard FileSystem.exists(dir + "/" + name), case .absent = MountPointLayer.find(["etc", name], topFirst) else {
                return false
            }
            return true
        }.map { "/etc/" + $0 }
    }
}

/// An image's merged view, computed from its layers (whiteouts applied):
/// path → metadata. Used by `diff` and `commit` on the copy driver.
struct ImageView {
    var files: [String: stat] = [:]

    init(layers: [LayerDirectory]) {
        for layer in layers { apply(layer.path, "") }
    }

    private mutating func apply(_ dir: String, _ prefix: String) {
        if ChangeScanner.isOpaque(dir) {
            let p = prefix.isEmpty ? "" : prefix + "/"
            files = files.filter { !$0.key.hasPrefix(p) || $0.key == prefix }
        }
        for name in FileSystem.list(dir) {
            let path = prefix + "/" + name
            var st = stat()
            guard lstat(dir + "/" + name, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0 {
                files = files.filter { $0.key != path && !$0.key.hasPrefix(path + "/") }
                continue
            }
            files[path] = st
            if (st.st_mode & S_IFMT) == S_IFDIR { apply(dir + "/" + name, path) }
        }
    }
}

/// Computes `diff` lines.
enum ChangeScanner {
    static func isOpaque(_ path: String) -> Bool {
        var value: UInt8 = 0
        return lgetxattr(path, Rootless.opaqueXattr, &value, 1) == 1 && value == UInt8(ascii: "y")
    }

    /// Overlay: the upper dir holds exactly what changed.
    static func upper(_ upper: String, image: ImageView) -> [ContainerFiles.Change] {
        var out: [ContainerFiles.Change] = []
        func walk(_ dir: String, _ prefix: String) {
            for name in FileSystem.list(dir) {
                let path = prefix + "/" + name
                var st = stat()
                guard lstat(dir + "/" + name, &st) == 0 else { continue }
                if (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0 {
                    if image.files[path] != nil { out.append(.init(kind: "D", path: path)) }
                    continue
                }
                out.append(.init(kind: image.files[path] == nil ? "A" : "C", path: path))
                if (st.st_mode & S_IFMT) == S_IFDIR { walk(dir + "/" + name, path) }
            }
        }
        walk(upper, "")
        return out.sorted { $0.path < $1.path }
    }

    /// Copy driver: compare the container's root with the image's view by metadata.
    static func compare(_ root: String, image: ImageView) -> [ContainerFiles.Change] {
        var out: [ContainerFiles.Change] = []
        var seen = Set<String>()
        func walk(_ dir: String, _ prefix: String) {
            for name in FileSystem.list(dir) {
                let path = prefix + "/" + name
                var st = stat()
                guard lstat(dir + "/" + name, &st) == 0 else { continue }
                seen.insert(path)
                if let old = image.files[path] {
                    if changed(old, st) { out.append(.init(kind: "C", path: path)) }
                } else {
                    out.append(.init(kind: "A", path: path))
                }
                if (st.st_mode & S_IFMT) == S_IFDIR { walk(dir + "/" + name, path) }
            }
        }
        walk(root, "")
        for path in image.files.keys where !seen.contains(path) {
            // Only the topmost deleted path, as Docker reports it.
            let parent = FileSystem.parent(of: path)
            if parent == "/" || seen.contains(parent) { out.append(.init(kind: "D", path: path)) }
        }
        return out.sorted { $0.path < $1.path }
    }

    /// `changes` without the container's own mount points (`mountPoints`),
    /// and without `/etc` when it shows only because they were made in it:
    /// nothing else below it changed, and its type, mode and (without a user
    /// namespace, whose layer holds shifted ids) owner are the image's.
    /// `tree` is the layer or root the changes were read from.
    static func withoutMountPoints(
        _ changes: [ContainerFiles.Change], _ mountPoints: [String], in tree: String, image: ImageView, idMapped: Bool
    ) -> [ContainerFiles.Change] {
        guard !mountPoints.isEmpty else { return changes }
        var out = changes.filter { !mountPoints.contains($0.path) }
        guard out.count < changes.count, let etc = out.firstIndex(where: { $0.path == "/etc" }),
            !out.contains(where: { $0.path.hasPrefix("/etc/") })
        else { return out }
        if etcAsInImage(tree, image.files["/etc"], idMapped: idMapped) { out.remove(at: etc) }
        return out
    }

    /// Whether `tree`'s `/etc` is a directory with the type, mode and (but
    /// in a user namespace) owner of the image's `/etc` (`image`, nil when
    /// the image has none), and not opaque: it is there only to hold mount points.
    static func etcAsInImage(_ tree: String, _ image: stat?, idMapped: Bool) -> Bool {
        var now = stat()
        guard lstat(tree + "/etc", &now) == 0, (now.st_mode & S_IFMT) == S_IFDIR, !isOpaque(tree + "/etc") else {
            return false
        }
        guard let image else { return true }
        return image.st_mode == now.st_mode && (idMapped || (image.st_uid == now.st_uid && image.st_gid == now.st_gid))
    }

    static func changed(_ a: stat, _ b: stat) -> Bool {
        let type = a.st_mode & S_IFMT
        if type != (b.st_mode & S_IFMT) || a.st_mode != b.st_mode || a.st_uid != b.st_uid || a.st_gid != b.st_gid {
            return true
        }
        if type == S_IFDIR { return a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec }
        return a.st_size != b.st_size || a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec
            || a.st_rdev != b.st_rdev
    }
}
