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
    public func withRoot<T>(_ c: Container, _ body: (String) throws(BerthError) -> T) throws(BerthError) -> T {
        let driver = try lifecycle.driver(for: c)
        let dir = lifecycle.layout.container(c.id)
        let wasMounted = driver.isMounted(containerDirectory: dir)
        let layers = try MountPointLayer.layers(
            for: c, image: try lifecycle.images.load(id: c.image), images: lifecycle.images)
        let root = try driver.mountRoot(of: c, directory: dir, layers: layers)
        defer {
            if !wasMounted, (try? lifecycle.containers.load(id: c.id))?.state.isActive != true {
                try? driver.unmount(containerDirectory: dir)
            }
        }
        return try body(root)
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
