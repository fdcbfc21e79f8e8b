#if canImport(Glibc)
import Glibc
#endif

/// Turns a flat root filesystem tar into a one-layer image.
///
/// The layer is extracted into a private staging directory without holding
/// any lock; only the short commit (move the layer in, write the config,
/// move the tag) runs under the image lock. A refused, truncated or garbage
/// archive — or a `berth` killed half-way — leaves the store as it was: the
/// staging directory is removed now, or swept by the next command.
public struct ImageImporter: Sendable {
    /// The store to import into.
    public let store: ImageStore

    /// An importer for one store.
    public init(store: ImageStore) { self.store = store }

    /// Imports `path` (`-` for stdin) and returns the new image ID.
    public func importTar(path: String, stdin: FileDescriptor, runConfig: JSON, comment: String,
                          tag: ImageReference?, createdBy: String) throws(BerthError) -> String {
        let staging = try store.layout.makeStaging("import")
        do throws(BerthError) {
            let diff = staging + "/diff"
            if mkdir(diff, 0o755) != 0 { throw BerthError.syscall("mkdir", diff, .current) }
            let summary = try LayerExtractor().extract(archive: path, into: diff)
            let size = FileSystem.contentSize(diff)
            // The layer is stored under the digest of the tar Berth can write
            // again from it (save), not of the tar as it arrived.
            let diffID = try CanonicalLayer.digest(of: diff).diffID
            return try FileLock.withLock(store.layout.imageLock) { () throws(BerthError) in
                try store.commitLayer(staging: staging, diffID: diffID, size: size, sourceDigests: [summary.diffID])
                let config = ImageConfig.imported(diffID: diffID, runConfig: runConfig,
                                                  comment: comment, createdBy: createdBy)
                let id = try store.addImage(config: config)
                if let tag { try store.setTag(tag, to: id) }
                return id
            }
        } catch {
            try? FileSystem.removeTree(staging)
            throw error
        }
    }
}
