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
        let shifted = environment.driverDirectory + "/shifted"
        let cache = shifted + "/" + key
        if !FileSystem.exists(cache) { try buildShiftedCopy(cache, layers: layers, idMap: idMap, identity: identity) }
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
