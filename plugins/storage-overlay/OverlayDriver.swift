#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import CBerthLinux

/// The `overlay` storage driver: image layers are overlayfs lower dirs shared
/// by every container; each container gets its own upper (its writable layer)
/// and work dir. Creating a container copies nothing.
public struct OverlayDriver: StorageDriver {
    /// Where the driver keeps its short layer links.
    public let environment: StorageEnvironment
    public let name = "overlay"

    /// A driver for one store.
    public init(environment: StorageEnvironment) { self.environment = environment }

    /// The registration the executable adds to the registry.
    public static let registration = Registration(
        kind: .storage, id: "overlay",
        description: "overlayfs copy-on-write: layers shared, one upper dir per container",
        origin: .inTree("storage-overlay"),
        factory: .storage { OverlayDriver(environment: $0) })

    private func upper(_ dir: String) -> String { dir + "/upper" }
    private func work(_ dir: String) -> String { dir + "/work" }
    private func merged(_ dir: String) -> String { dir + "/merged" }

    /// A disposable upper dir (`--rm`) is marked by this extended attribute
    /// of its work dir: a mark with no inode of its own, since every inode a
    /// run makes and deletes costs the next runs on a filesystem that scans
    /// past recently freed ones (ext4 without a journal; docs/benchmarks.md).
    private static let volatileAttribute = "user.berth.volatile"
    /// The mark where the filesystem takes no user xattrs, and the only one
    /// of containers made before the attribute: a file beside the layers.
    private func volatileMarker(_ dir: String) -> String { dir + "/volatile" }

    private func isDisposable(_ dir: String) -> Bool {
        getxattr(work(dir), Self.volatileAttribute, nil, 0) >= 0 || access(volatileMarker(dir), F_OK) == 0
    }

    public func create(containerDirectory dir: String, layers: [LayerDirectory]) throws(BerthError) {
        guard !layers.isEmpty else { throw BerthError("overlay: the image has no layers; import it again") }
        for sub in [upper(dir), work(dir), merged(dir)] {
            if mkdir(sub, 0o755) != 0 && errno != EEXIST { throw .syscall("mkdir", sub, .current) }
        }
    }

    /// A disposable layer is mounted `volatile` (Podman does the same for
    /// `--rm`): overlayfs then never syncs the upper dir, and unmounting it
    /// no longer syncs the whole filesystem under the store, which cost a
    /// `run --rm` one to tens of milliseconds on a busy disk.
    public func create(containerDirectory dir: String, layers: [LayerDirectory], disposable: Bool) throws(BerthError) {
        try create(containerDirectory: dir, layers: layers)
        guard disposable else { return }
        if setxattr(work(dir), Self.volatileAttribute, "1", 1, 0) == 0 { return }
        let fd = open(volatileMarker(dir), O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .syscall("create", volatileMarker(dir), .current) }
        close(fd)
    }

    public func mount(containerDirectory dir: String, layers: [LayerDirectory]) throws(BerthError) -> String {
        let target = merged(dir)
        if isMounted(containerDirectory: dir) { return target }
        // overlayfs lists the top layer first.
        let lowers = layers.reversed().map(\.path)
        let extra = volatileOption(dir)
        let options =
            "lowerdir=\(lowers.joined(separator: ":")),upperdir=\(upper(dir)),workdir=\(work(dir))" + Self.xattrOption + extra
        if options.utf8.count < OverlayDriver.optionLimit {
            try mountOverlay(target, options)
        } else {
            try mountWithShortLinks(target, dir, layers.reversed(), extra)
        }
        return target
    }

    /// Rootless: overlayfs in a user namespace keeps its markers in
    /// `user.overlay.*` (it may not write `trusted.*`), which `userxattr` asks for.
    static var xattrOption: String { Rootless.isActive ? ",userxattr" : "" }

    /// `,volatile` for a disposable layer, else "". A volatile mount leaves
    /// `work/work/incompat/volatile` behind, even after a clean unmount, and
    /// overlayfs refuses to mount that work dir again (a `start` after its
    /// monitor was killed, a `cp` into a created container, then its start):
    /// the layer is disposable, so that mark is removed and the mount goes on.
    private func volatileOption(_ dir: String) -> String {
        guard isDisposable(dir) else { return "" }
        let incompat = work(dir) + "/work/incompat"
        if access(incompat, F_OK) == 0 { try? FileSystem.removeTree(incompat) }
        return ",volatile"
    }

    /// mount(2) copies at most one page of option data; longer strings are
    /// silently cut by the kernel, so we stay below it.
    static let optionLimit = Int(sysconf(Int32(_SC_PAGESIZE))) - 1

    private func mountOverlay(_ target: String, _ options: String) throws(BerthError) {
        var options = options
        if options.hasSuffix(",volatile") {
            if Glibc.mount("overlay", target, "overlay", 0, options) == 0 { return }
            // A kernel before 5.10 has no `volatile` (EINVAL): mount as any
            // other layer; any other failure is reported by that mount too.
            options.removeLast(",volatile".count)
        }
        if Glibc.mount("overlay", target, "overlay", 0, options) != 0 {
            let err = Errno.current
            throw .syscall(
                "mount overlay on", target, err,
                fix: err == .EINVAL ? "check that the kernel has overlayfs and the store is not on overlayfs itself" : nil)
        }
    }

    /// Many layers: mount with short relative links (`l/XXXXXXXX`) from inside
    /// the driver directory, as Docker's overlay2 does, so 128+ layers fit in
    /// one page. chdir is process-wide: this runs before any thread exists.
    private func mountWithShortLinks(
        _ target: String, _ dir: String,
        _ topFirst: [LayerDirectory], _ extra: String
    ) throws(BerthError) {
        let linkDir = environment.driverDirectory + "/l"
        try FileSystem.makeDirectories(linkDir)
        var names: [String] = []
        for layer in topFirst {
            let short = String(layer.digest.split(separator: ":").last!.prefix(20))
            let link = linkDir + "/" + short
            if symlink(layer.path, link) != 0 && errno != EEXIST {
                throw .syscall("symlink", link, .current)
            }
            guard FileSystem.readLink(link) == layer.path else {
                throw BerthError(
                    "overlay: short layer link \(link) points to \(FileSystem.readLink(link) ?? "nothing"), not \(layer.path); remove it and retry"
                )
            }
            names.append("l/" + short)
        }
        let options =
            "lowerdir=\(names.joined(separator: ":")),upperdir=\(upper(dir)),workdir=\(work(dir))" + Self.xattrOption + extra
        guard options.utf8.count < OverlayDriver.optionLimit else {
            throw BerthError(
                "overlay: \(topFirst.count) layers do not fit in one mount (at most about 170); squash the image with 'berth export' and 'berth import'"
            )
        }
        let saved = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if saved >= 0 { _ = fchdir(saved); close(saved) } }
        guard chdir(environment.driverDirectory) == 0 else {
            throw .syscall("chdir", environment.driverDirectory, .current)
        }
        try mountOverlay(target, options)
    }

    public func unmount(containerDirectory dir: String) throws(BerthError) {
        let target = merged(dir)
        guard isMounted(containerDirectory: dir) else { return }
        if umount2(target, 0) != 0 {
            // Busy (a process still has a cwd inside): detach, as Docker does.
            if umount2(target, Int32(MNT_DETACH)) != 0 && errno != EINVAL {
                throw .syscall("umount", target, .current)
            }
        }
    }

    /// A mounted overlay has its own device number, unlike the directory under it.
    public func isMounted(containerDirectory dir: String) -> Bool {
        var a = stat(), b = stat()
        guard lstat(merged(dir), &a) == 0, lstat(dir, &b) == 0 else { return false }
        return a.st_dev != b.st_dev
    }

    public func writableLayer(containerDirectory dir: String) -> String? { upper(dir) }

    public func size(containerDirectory dir: String) -> Int64 { FileSystem.contentSize(upper(dir)) }

    public func remove(containerDirectory dir: String) throws(BerthError) {
        try unmount(containerDirectory: dir)
        Self.detachIDMapStaging(dir)
        for sub in [merged(dir), upper(dir), work(dir)] { try FileSystem.removeTree(sub) }
        // A failure here leaves a record whose directory is gone: the next collection drops it.
        try? releaseShiftedCopy(dir)
    }

    /// Removes the shifted copies no container uses (`image prune`,
    /// `system prune`).
    public func collectGarbage() throws(BerthError) {
        guard FileSystem.exists(shiftedDirectory) else { return }
        try withShiftedLock { collectShiftedCopies() }
    }
}
