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
    public func importTar(
        path: String, stdin: FileDescriptor, runConfig: JSON, comment: String,
        tag: ImageReference?, createdBy: String
    ) throws(BerthError) -> String {
        let staging = try store.layout.makeStaging("import")
        do throws(BerthError) {
            let diff = staging + "/diff"
            if mkdir(diff, 0o755) != 0 { throw BerthError.syscall("mkdir", diff, .current) }
            // `import URL`, as Docker's: the archive is fetched into staging first.
            let archive = Self.isURL(path) ? try Self.download(path, into: staging + "/download") : path
            let summary = try LayerExtractor().extract(archive: archive, into: diff)
            unlink(staging + "/download")
            let size = FileSystem.contentSize(diff)
            // The layer is stored under the digest of the tar Berth can write
            // again from it (save), not of the tar as it arrived.
            let diffID = try CanonicalLayer.digest(of: diff).diffID
            return try FileLock.withLock(store.layout.imageLock) { () throws(BerthError) in
                try store.commitLayer(staging: staging, diffID: diffID, size: size, sourceDigests: [summary.diffID])
                let config = ImageConfig.imported(
                    diffID: diffID, runConfig: runConfig,
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

    /// Whether `import` was given a URL rather than a file.
    static func isURL(_ path: String) -> Bool { path.hasPrefix("http://") || path.hasPrefix("https://") }

    /// Fetches `url` (HTTP or HTTPS, certificates checked as for registries) into `file`.
    static func download(_ url: String, into file: String) throws(BerthError) -> String {
        guard let parsed = HTTPURL(url) else {
            throw .invalid("import \(url): not an http:// or https:// URL")
        }
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(file, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600) } catch {
            throw .syscall("create", file, error)
        }
        defer { fd.close() }
        let toFile: HTTPBodyWriter = { (bytes) throws(BerthError) in
            do throws(Errno) { try fd.writeAll(bytes) } catch {
                throw .syscall("write", file, error, fix: "check free space in the store")
            }
        }
        let response = try HTTPClient.send("GET", parsed, sink: { _ in toFile })
        guard response.status == 200 else {
            throw .notFound("import \(url): the server answered \(response.status) \(response.reason); check the URL")
        }
        return file
    }
}
