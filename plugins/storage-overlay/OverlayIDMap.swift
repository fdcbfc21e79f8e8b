#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import CBerthLinux

/// Overlay for a container with a user namespace: every lower layer and the
/// directory holding the upper and work dirs are attached as idmapped
/// mounts (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)) through a namespace
/// holding the container's maps, and overlayfs is mounted over those with
/// the container root's host ids as its mounter's. Layers stay shared and
/// unchanged on disk; the upper dir stores the ids the container sees.
/// Linux 5.19 and later take idmapped layers under overlayfs; before that
/// the driver falls back to a chowned copy of the layers (OverlayShiftedCopy).
extension OverlayDriver {
    public func idMappingMethod() -> IDMappingMethod? {
        // Only for the tests of the fallback, which this kernel never needs.
        if let forced = getenv("BERTH_TEST_IDMAP"), String(cString: forced) == IDMappingMethod.chownedCopy.rawValue {
            return .chownedCopy
        }
        var u = utsname()
        guard uname(&u) == 0 else { return .chownedCopy }
        let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2, (parts[0], parts[1]) >= (5, 19) else { return .chownedCopy }
        return .idmappedMounts
    }

    public func mount(
        containerDirectory dir: String, layers: [LayerDirectory], idMap: IDMap, method: IDMappingMethod
    ) throws(BerthError) -> String {
        let target = dir + "/merged"
        if isMounted(containerDirectory: dir) { return target }
        if method == .chownedCopy { return try mountShiftedCopy(dir, layers: layers, idMap: idMap) }
        var step: UnsafePointer<CChar>? = nil
        let userns = berth_userns_fd(idMap.uidMapText, idMap.gidMapText, &step)
        guard userns >= 0 else {
            throw .syscall(
                step.map { String(cString: $0) } ?? "make", "a user namespace for the container's idmapped layers", .current)
        }
        defer { close(userns) }
        // Short relative names, from inside the container directory, keep
        // the options in one page however long the store's path is.
        let staging = "idmap"
        // A start killed here earlier may have left its attachments: gone first.
        Self.detachIDMapStaging(dir)
        try FileSystem.makeDirectories(dir + "/" + staging)
        var attached: [String] = []
        defer {
            for name in attached.reversed() { _ = umount2(dir + "/" + name, Int32(MNT_DETACH)) }
            Self.detachIDMapStaging(dir)
        }
        func attach(_ source: String, _ name: String) throws(BerthError) {
            let path = dir + "/" + name
            if mkdir(path, 0o700) != 0 && errno != EEXIST { throw .syscall("mkdir", path, .current) }
            var failed: UnsafePointer<CChar>? = nil
            guard berth_idmapped_bind(source, path, userns, &failed) == 0 else {
                let err = Errno.current
                throw .syscall(
                    failed.map { String(cString: $0) } ?? "idmap", source, err,
                    fix: "this kernel or filesystem does not take idmapped mounts here; run without --userns")
            }
            attached.append(name)
        }
        var lowers: [String] = []
        for (i, layer) in layers.reversed().enumerated() {
            try attach(layer.path, "\(staging)/\(i)")
            lowers.append("\(staging)/\(i)")
        }
        try attach(dir, "\(staging)/c")
        let options = "lowerdir=\(lowers.joined(separator: ":")),upperdir=\(staging)/c/upper,workdir=\(staging)/c/work"
        guard options.utf8.count < OverlayDriver.optionLimit else {
            throw BerthError(
                "overlay: \(layers.count) layers do not fit in one mount; squash the image with 'berth export' and 'berth import'"
            )
        }
        let saved = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if saved >= 0 { _ = fchdir(saved); close(saved) } }
        guard chdir(dir) == 0 else { throw .syscall("chdir", dir, .current) }
        let root = idMap.rootOnHost
        guard berth_mount_as(root.uid, root.gid, "overlay", "merged", "overlay", options) == 0 else {
            throw .syscall(
                "mount overlay with idmapped layers on", target, .current,
                fix: "this kernel does not take idmapped layers under overlayfs; run without --userns")
        }
        return target
    }

    /// Detaches whatever is still attached under `DIR/idmap` (the layers'
    /// idmapped clones: overlayfs holds its own references once mounted),
    /// then removes the directory; removeTree never crosses a mount, so a
    /// layer is never emptied through one.
    static func detachIDMapStaging(_ dir: String) {
        let staging = dir + "/idmap"
        guard FileSystem.exists(staging) else { return }
        for name in FileSystem.list(staging) {
            while umount2(staging + "/" + name, Int32(MNT_DETACH)) == 0 {}
        }
        try? FileSystem.removeTree(staging)
    }
}
