#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// A build's claim on the containers it makes (RUN's, COPY's): each is
/// marked with the path of a lock file (`ROOT/locks/build-ID.lock`) that the
/// building `berth` holds (flock) from start to end. A build killed with
/// SIGKILL cannot remove its container, but the kernel drops its lock, so
/// `orphanedBuildContainers` tells a dead build's containers from a live
/// one's without trusting PIDs.
final class BuildOwnership {
    let path: String
    private let fd: Int32

    /// Takes a fresh lock for this build. A sweep unlinks a dead build's
    /// file only while holding its lock, so the lock is kept only once the
    /// path is seen to still name the locked file.
    init(layout: StoreLayout) throws(BerthError) {
        try FileSystem.makeDirectories(layout.locks)
        while true {
            let path = layout.locks + "/build-\(RandomID.hex64().prefix(16)).lock"
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd < 0 {
                if errno == EEXIST { continue }
                throw .syscall("open lock", path, .current, fix: "check that the store directory is writable")
            }
            guard ignoringEINTR({ flock(fd, LOCK_EX) }) == 0 else {
                let err = Errno.current
                close(fd)
                throw .syscall("flock", path, err)
            }
            var mine = stat(), named = stat()
            if fstat(fd, &mine) == 0 && stat(path, &named) == 0 && mine.st_ino == named.st_ino && mine.st_dev == named.st_dev {
                self.path = path
                self.fd = fd
                return
            }
            close(fd)  // swept between open and flock: take another
        }
    }

    /// The build is over and its containers are removed: the lock file goes
    /// first (a sweep that finds no file treats the build as ended), then
    /// the lock.
    deinit {
        unlink(path)
        close(fd)
    }

    /// Whether the build that holds (or held) `path` is gone: the file is
    /// missing, or its lock can be taken. With `unlinking`, a dead build's
    /// file is removed while its lock is held.
    @discardableResult
    static func isDead(_ path: String, unlinking: Bool = false) -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 { return errno == ENOENT }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        if unlinking { unlink(path) }
        flock(fd, LOCK_UN)
        return true
    }
}

extension Container {
    /// The lock of the build that made this container (RUN's, COPY's); nil
    /// for a user's container. Kept in the record's `Extra`.
    public var buildLock: String? { extra.first { $0.0 == "BuildLock" }?.1.stringValue }
}

extension Lifecycle {
    /// Removes the containers of builds that died without removing them (a
    /// `berth build` killed mid-RUN), and their builds' lock files; answers
    /// the removed containers' IDs. A live build's containers are left alone.
    /// `among`: the store's containers when the caller has just read them,
    /// so that they are not all read twice (`listedContainers`).
    ///
    /// The lock files of the dead builds whose containers were removed go
    /// too. Without `among` (a build starting), every dead build's lock file
    /// is swept; with it (`ps`), the locks directory is not listed: it holds
    /// a lock file a container, and reading it on every `ps` cost as much as
    /// reading the containers directory.
    @discardableResult
    public func removeOrphanedBuildContainers(among all: [Container]? = nil) -> [String] {
        var removed: [String] = []
        var dead: [String: Bool] = [:]
        for c in all ?? containers.all() {
            guard let lock = c.buildLock, lock.hasPrefix(layout.locks + "/build-") else { continue }
            let isDead = dead[lock] ?? BuildOwnership.isDead(lock)
            dead[lock] = isDead
            guard isDead else { continue }
            if (try? remove(c.id, force: true, volumes: true)) != nil { removed.append(c.id) }
        }
        for (lock, isDead) in dead where isDead { BuildOwnership.isDead(lock, unlinking: true) }
        guard all == nil else { return removed }
        // Lock files of killed builds (whether or not they had a container then).
        for name in FileSystem.list(layout.locks) where name.hasPrefix("build-") && name.hasSuffix(".lock") {
            BuildOwnership.isDead(layout.locks + "/" + name, unlinking: true)
        }
        return removed
    }

    /// Every container, newest first, as `ps` and `GET /containers/json`
    /// list them: a build killed mid-RUN left its container, which is
    /// removed here and not listed. The records are read once, as much of
    /// each as `view` says.
    public func listedContainers(_ view: ContainerStore.View = .whole) -> [Container] {
        var list = containers.all(view)
        let orphans = Set(removeOrphanedBuildContainers(among: list))
        if !orphans.isEmpty { list.removeAll { orphans.contains($0.id) } }
        return list
    }
}
