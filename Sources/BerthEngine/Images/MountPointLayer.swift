#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// The empty files a container's `/etc/hosts`, `/etc/hostname` and
/// `/etc/resolv.conf` are bound over, as a read-only layer on top of the
/// image's: made once per image and shared by its containers. Docker makes
/// the same "init" layer once per container.
///
/// Without it each start made the three files in the container's writable
/// layer, with `/etc` copied up to hold them: four inodes and a copy-up per
/// `run`, which a filesystem that scans past recently freed inodes (ext4
/// without a journal) makes every later run pay for (docs/benchmarks.md);
/// and they showed in `diff` and in a `commit`'s layer, where Docker's do not.
///
/// Only what the image lacks goes in: a target the image has as a file is
/// bound over as before, and an image whose `/etc` is not a directory (a
/// link, say) gets no layer, so the mount points are made as before.
public enum MountPointLayer {
    /// The bind targets under `/etc` (Monitor.writeEtcFiles).
    static let targets = ["hosts", "hostname", "resolv.conf"]

    /// Whether a container's root gets the layer: the default backend, which
    /// binds the three files; overlay, where it is one more lower dir; no
    /// user namespace, whose layers are shifted or idmapped per container.
    public static func applies(to c: Container) -> Bool {
        c.storage == "overlay" && c.isolation == "namespaces" && c.idMap == nil && !Rootless.isActive
    }

    /// The layers of a container's root, lowest first: the image's, then
    /// this layer where it applies. It is made here the first time; if it
    /// cannot be, the root is the image's alone and nothing else changes.
    public static func layers(for c: Container, image: Image, images: ImageStore) throws(BerthError) -> [LayerDirectory] {
        let base = try images.layerDirectories(of: image)
        guard applies(to: c), let top = ensure(image: image, layers: base, layout: images.layout) else { return base }
        return base + [top]
    }

    /// The layer of `image`, made if missing; nil where the image gets none.
    static func ensure(image: Image, layers: [LayerDirectory], layout: StoreLayout) -> LayerDirectory? {
        let hex = Digest.hex(image.id)
        let path = layout.mountPointLayer(image.id)
        let layer = LayerDirectory(digest: "sha256:" + hex, path: path)
        switch kind(path) {
        case S_IFDIR: return layer
        case 0: break
        // Anything else there (a link, a file) is not a layer Berth made: no
        // lower dir is ever taken from it, and the root is the image's alone.
        default: return nil
        }
        let topFirst = layers.reversed().map(\.path)
        var etc: stat? = nil
        switch find(["etc"], topFirst) {
        case .directory(let st): etc = st
        case .absent: break
        case .file, .other: return nil
        }
        let missing = targets.filter {
            if case .absent = find(["etc", $0], topFirst) { return true }
            return false
        }
        guard let staging = try? layout.makeStaging("mountpoints") else { return nil }
        guard build(staging, etc: etc, files: missing) else {
            try? FileSystem.removeTree(staging)
            return nil
        }
        try? FileSystem.makeDirectories(layout.mountPointLayers)
        if rename(staging, path) != 0 {
            // Another berth made it first (ENOTEMPTY, EEXIST): use theirs.
            try? FileSystem.removeTree(staging)
            return kind(path) == S_IFDIR ? layer : nil
        }
        return layer
    }

    /// The file type of `path` itself (`S_IFDIR`…), 0 when nothing is there.
    private static func kind(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0
    }

    /// `etc/` with the image's mode, owner and times, and an empty 0644 file
    /// for each name in `files`.
    private static func build(_ dir: String, etc: stat?, files: [String]) -> Bool {
        guard chmod(dir, 0o755) == 0 else { return false }
        let etcPath = dir + "/etc"
        let mode = etc.map { mode_t($0.st_mode) & 0o7777 } ?? 0o755
        guard mkdir(etcPath, 0o700) == 0,
            chown(etcPath, etc?.st_uid ?? 0, etc?.st_gid ?? 0) == 0,
            chmod(etcPath, mode) == 0
        else { return false }
        for name in files {
            let fd = open(etcPath + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return false }
            let ok = fchmod(fd, 0o644) == 0
            close(fd)
            guard ok else { return false }
        }
        if let etc {
            var times = [etc.st_atim, etc.st_mtim]
            _ = utimensat(AT_FDCWD, etcPath, &times, AT_SYMLINK_NOFOLLOW)
        }
        return true
    }

    /// What a path is in the image's merged view, read from its layers as
    /// overlayfs reads them: the topmost layer that has it decides; a
    /// whiteout deletes it; an opaque directory hides what lies below it.
    enum Found {
        case absent
        case file
        case directory(stat)
        case other
    }

    static func find(_ parts: [String], _ topFirst: [String]) -> Found {
        layers: for layer in topFirst {
            var dir = layer
            for (i, part) in parts.enumerated() {
                let path = dir + "/" + part
                var st = stat()
                if lstat(path, &st) != 0 {
                    if i > 0 && ChangeScanner.isOpaque(dir) { return .absent }
                    continue layers
                }
                let type = st.st_mode & S_IFMT
                if type == S_IFCHR && st.st_rdev == 0 { return .absent }
                if i == parts.count - 1 {
                    return type == S_IFDIR ? .directory(st) : type == S_IFREG ? .file : .other
                }
                // A file or a link where the path goes on hides every lower layer's directory.
                guard type == S_IFDIR else { return .other }
                dir = path
            }
        }
        return .absent
    }
}

extension ImageStore {
    /// Deletes the mount-point layers of images not in `images` (those
    /// left: `removeUnusedLayers` read them once for both kinds of layer).
    func removeMountPointLayers(except images: [Image]) {
        let ids = Set(images.map { Digest.hex($0.id) })
        for hex in FileSystem.list(layout.mountPointLayers) where !ids.contains(hex) {
            let doomed = layout.tmp + "/rmmounts-\(getpid())-\(hex.prefix(12))"
            if rename(layout.mountPointLayers + "/" + hex, doomed) == 0 { try? FileSystem.removeTree(doomed) }
        }
    }
}
