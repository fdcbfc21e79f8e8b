#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import CBerthLinux

/// The fallback where idmapped layers are not available (Linux before
/// 5.19): a copy of the image's layers with every owner shifted through the
/// container's maps, kept in `ROOT/storage/overlay/shifted/KEY/` (KEY: the
/// layer chain and the maps) and shared by every container with that chain
/// and map, as Podman's storage keeps one per map. The upper dir stores
/// host ids; `commit` shifts them back.
extension OverlayDriver {
    func mountShiftedCopy(_ dir: String, layers: [LayerDirectory], idMap: IDMap) throws(BerthError) -> String {
        let identity =
            layers.map(\.digest).joined(separator: "\n") + "\nuid\n" + idMap.uidMapText + "gid\n" + idMap.gidMapText
        let key = Self.fnv1a64(identity)
        let cache = shiftedDirectory + "/" + key
        // Under the shifted lock: the container is recorded as a user of
        // KEY before the copy is looked at, so an `rm` or prune running now
        // either sees the user and keeps the copy, or removed it first and
        // this builds it again.
        try withShiftedLock { () throws(BerthError) in
            try FileSystem.makeDirectories(shiftedDirectory + "/refs/" + key)
            try FileSystem.writeAtomically(shiftedDirectory + "/refs/" + key + "/" + FileSystem.baseName(dir), text: dir)
            collectShiftedCopies()
            if !FileSystem.exists(cache) { try buildShiftedCopy(cache, layers: layers, idMap: idMap, identity: identity) }
        }
        guard (try? FileSystem.readText(cache + "/identity")) == identity else {
            throw BerthError(
                .integrity,
                "overlay: \(cache) holds the shifted layers of another image or map; remove that directory and start again")
        }
        // The container's own root directory and work dir belong to its root.
        let root = idMap.rootOnHost
        for sub in [dir + "/upper", dir + "/work"] where chown(sub, root.uid, root.gid) != 0 {
            throw .syscall("chown", sub, .current)
        }
        let lowers = (0..<layers.count).reversed().map { "shifted/\(key)/\($0)" }
        let options = "lowerdir=\(lowers.joined(separator: ":")),upperdir=\(dir)/upper,workdir=\(dir)/work"
        guard options.utf8.count < OverlayDriver.optionLimit else {
            throw BerthError(
                "overlay: \(layers.count) layers do not fit in one mount; squash the image with 'berth export' and 'berth import'"
            )
        }
        let saved = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if saved >= 0 { _ = fchdir(saved); close(saved) } }
        guard chdir(environment.driverDirectory) == 0 else { throw .syscall("chdir", environment.driverDirectory, .current) }
        let target = dir + "/merged"
        if Glibc.mount("overlay", target, "overlay", 0, options) != 0 {
            throw .syscall("mount overlay on", target, .current)
        }
        return target
    }

    /// Builds the shifted copy in private staging and renames it into
    /// place: a copy killed half-way is never used, and of two starts
    /// building the same one, the second keeps the first's.
    private func buildShiftedCopy(_ cache: String, layers: [LayerDirectory], idMap: IDMap, identity: String) throws(BerthError) {
        let staging = cache + ".tmp-\(getpid())"
        try? FileSystem.removeTree(staging)
        try FileSystem.makeDirectories(staging)
        do throws(BerthError) {
            let uids = idMap.uids.flatMap { [$0.containerID, $0.hostID, $0.size] }
            let gids = idMap.gids.flatMap { [$0.containerID, $0.hostID, $0.size] }
            for (i, layer) in layers.enumerated() {
                let into = staging + "/\(i)"
                if mkdir(into, 0o755) != 0 { throw .syscall("mkdir", into, .current) }
                var failed: UnsafePointer<CChar>? = nil
                guard
                    berth_shifted_copy(layer.path, into, uids, Int32(idMap.uids.count), gids, Int32(idMap.gids.count), &failed)
                        == 0
                else {
                    throw .syscall("copy with shifted owners", failed.map { String(cString: $0) } ?? layer.path, .current)
                }
            }
            try FileSystem.writeAtomically(staging + "/identity", text: identity)
            if rename(staging, cache) != 0 {
                guard errno == EEXIST || errno == ENOTEMPTY else { throw .syscall("rename", "\(staging) to \(cache)", .current) }
                try FileSystem.removeTree(staging)
            }
        } catch {
            try? FileSystem.removeTree(staging)
            throw error
        }
    }

    /// `ROOT/storage/overlay/shifted`: the copies (`KEY/`), copies being
    /// built (`KEY.tmp-PID/`), and who uses each (`refs/KEY/NAME`, holding
    /// the container directory's path).
    var shiftedDirectory: String { environment.driverDirectory + "/shifted" }

    /// Runs `body` holding `shifted/.lock`, which orders recording a user,
    /// building, and removing copies across concurrent berths.
    func withShiftedLock(_ body: () throws(BerthError) -> Void) throws(BerthError) {
        try FileSystem.makeDirectories(shiftedDirectory)
        let lock = try FileLock(shiftedDirectory + "/.lock")
        defer { withExtendedLifetime(lock) {} }
        try body()
    }

    /// `remove`: drops the container as a user of its copy, then removes
    /// every copy no container uses any more.
    func releaseShiftedCopy(_ dir: String) throws(BerthError) {
        guard FileSystem.exists(shiftedDirectory) else { return }
        try withShiftedLock { () throws(BerthError) in
            let name = FileSystem.baseName(dir)
            for key in FileSystem.list(shiftedDirectory + "/refs") {
                try FileSystem.removeTree(shiftedDirectory + "/refs/" + key + "/" + name)
            }
            collectShiftedCopies()
        }
    }

    /// Garbage collection of the shifted copies, under the shifted lock:
    /// a user whose container directory is gone (an `rm` killed half-way)
    /// is dropped; a copy with no user left is removed, renamed to
    /// `KEY.tmp-PID` first so a removal killed half-way never leaves a
    /// partial copy under a name that looks whole (a copy still mounted as
    /// a lower layer is kept all the same); a `KEY.tmp-PID` whose
    /// process is gone (a start or removal that was killed) is removed.
    /// Failures are left for the next collection: they never fail an `rm`.
    func collectShiftedCopies() {
        let refs = shiftedDirectory + "/refs"
        var used = Set<String>()
        for key in FileSystem.list(refs) {
            for name in FileSystem.list(refs + "/" + key) {
                let ref = refs + "/" + key + "/" + name
                if let owner = try? FileSystem.readText(ref), FileSystem.isDirectory(owner) {
                    used.insert(key)
                } else {
                    try? FileSystem.removeTree(ref)
                }
            }
            if !used.contains(key) { rmdir(refs + "/" + key) }
        }
        // A copy some overlay still has as a lower layer is kept whatever
        // the records say (a container started before users were recorded):
        // removing it would pull files from under a running container.
        let mounts = (try? FileSystem.readText("/proc/self/mountinfo")) ?? ""
        for name in FileSystem.list(shiftedDirectory) where name != "refs" && name != ".lock" {
            let path = shiftedDirectory + "/" + name
            if let range = name.ranges(of: ".tmp-").last {
                guard let pid = Int32(name[range.upperBound...]), pid > 0, kill(pid, 0) != 0 && errno == ESRCH else { continue }
                try? FileSystem.removeTree(path)
            } else if !used.contains(name) && !mounts.contains("shifted/" + name + "/") {
                let doomed = path + ".tmp-\(getpid())"
                if rename(path, doomed) == 0 { try? FileSystem.removeTree(doomed) }
            }
        }
    }

    /// FNV-1a, 64 bits, as 16 hex digits: a short directory name. The full
    /// identity is stored beside the copy and compared on every use.
    static func fnv1a64(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
