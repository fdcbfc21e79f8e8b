#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// `push`: an image to a registry, as a Docker v2 schema 2 manifest with
/// gzip layers, which Docker, Podman, skopeo and containerd all read.
///
/// Each layer is regenerated with the canonical archiver (`CanonicalLayer`),
/// checked against its diff ID as it is written, and gzipped into staging
/// under the image lock (as `save` does). Then, outside the lock, each
/// blob the registry lacks (HEAD first) is uploaded with a POST and one PUT,
/// then the config, then the manifest under the tag. Uploads run one after
/// the other. A blob the registry lacks in this repository but may hold in
/// another one (a local tag or pull of an image with that layer names a
/// repository of the same registry) is first mounted from there (Docker's
/// `Mounted from REPO`), which uploads nothing.
public struct ImagePusher: Sendable {
    public let store: ImageStore
    public var settings: RegistrySettings
    public var auths: AuthStore

    public init(store: ImageStore) {
        self.store = store
        settings = StoreConfig.load(store.layout).registries
        auths = AuthStore(layout: store.layout)
    }

    public struct Result: Sendable {
        public var digest: String
        public var size: Int
    }

    /// Pushes the local image `name` to `ref` (which must have a tag).
    /// One layer as it is pushed: its gzip blob's digest, size and staged file.
    struct Blob { var digest: String; var size: Int64; var path: String }

    /// Pushes the image `name` to `ref` (a tag): each layer as a gzip blob the
    /// registry does not have yet, the config, then the manifest.
    public func push(
        _ name: String, to ref: RemoteReference,
        report: @escaping @Sendable (TransferEvent) -> Void
    ) throws(BerthError) -> Result {
        guard let tag = ref.tag, ref.digest == nil else {
            throw .invalid("push \(ref): a digest cannot be pushed to; give a tag (REPOSITORY[:TAG])")
        }
        let image: Image
        do { image = try store.resolve(name) } catch {
            throw .notFound("An image does not exist locally with the tag: \(ref.familiarName)")
        }
        let endpoint = settings.pushEndpoint(for: ref.domain)
        let sources = mountSources(for: image.diffIDs, to: ref)
        let client = RegistryClient(
            endpoint: endpoint, repository: ref.path,
            credentials: auths.credentials(for: endpoint.name), actions: "pull,push",
            alsoPull: Array(Set(sources.values.joined())).sorted())
        report(.line("The push refers to repository [\(ref.fullName)]"))
        for diffID in image.diffIDs.reversed() { report(.layer(id: ImagePuller.shortID(diffID), status: "Preparing")) }
        let staging = try store.layout.makeStaging("push")
        defer { try? FileSystem.removeTree(staging) }
        let (configBytes, blobs) = try FileLock.withLock(store.layout.imageLock) {
            () throws(BerthError) -> ([UInt8], [String: Blob]) in
            (try FileSystem.read(store.layout.image(image.id)), try compress(image, name: name, into: staging))
        }
        try upload(
            image.diffIDs.reversed().map { ($0, blobs[$0]!) }, with: client, sources: sources, report: report)
        let configPath = staging + "/config.json"
        try FileSystem.writeAtomically(configPath, configBytes, mode: 0o600)
        if try !client.hasBlob(image.id) {
            try client.uploadBlob(image.id, path: configPath, size: Int64(configBytes.count))
        }
        let manifest = Self.manifest(config: configBytes, id: image.id, layers: image.diffIDs.map { blobs[$0]! })
        try putManifest(manifest, tag: tag, with: client, ref: ref)
        let digest = Digest.sha256(manifest)
        // Docker's RepoDigests after a push: later pushes of these layers
        // to another repository here can mount them from this one.
        try FileLock.withLock(store.layout.imageLock) { () throws(BerthError) in
            try store.setRepoDigest(ref.familiarName, digest: digest, to: image.id)
        }
        report(.line("\(tag): digest: \(digest) size: \(manifest.count)"))
        return Result(digest: digest, size: manifest.count)
    }

    /// Each stored layer written again as a gzip blob in `staging`, checked
    /// against its diff ID so a layer changed in the store is never pushed.
    private func compress(_ image: Image, name: String, into staging: String) throws(BerthError) -> [String: Blob] {
        var made: [String: Blob] = [:]
        for dir in try store.layerDirectories(of: image) where made[dir.digest] == nil {
            let path = staging + "/" + Digest.hex(dir.digest) + ".tar.gz"
            let fd: FileDescriptor
            do throws(Errno) { fd = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600) } catch {
                throw .syscall("create", path, error)
            }
            defer { fd.close() }
            let compressed = HashingSink(FileSink(descriptor: fd, name: path))
            let gzip = try GzipCompressor(compressed, name: path)
            let tar = HashingSink(gzip)
            try CanonicalLayer.write(dir.path, into: tar)
            try gzip.finish()
            guard tar.digest == dir.digest else {
                throw .integrity(
                    "push: layer \(dir.digest) of \(name) was changed after it was stored (its files now hash to \(tar.digest)); "
                        + "refusing to push an image that does not match its config. Remove it with 'berth rmi' and pull or load it again"
                )
            }
            made[dir.digest] = Blob(digest: compressed.digest, size: compressed.byteCount, path: path)
        }
        return made
    }

    /// Uploads the blobs the registry does not have, with Docker's progress lines.
    private func upload(
        _ blobs: [(diffID: String, blob: Blob)], with client: RegistryClient, sources: [String: [String]],
        report: @escaping @Sendable (TransferEvent) -> Void
    ) throws(BerthError) {
        blobs: for (diffID, blob) in blobs {
            let id = ImagePuller.shortID(diffID)
            if try client.hasBlob(blob.digest) {
                report(.layer(id: id, status: "Layer already exists"))
                continue
            }
            for source in sources[diffID] ?? [] {
                if try client.mountBlob(blob.digest, from: source) {
                    report(.layer(id: id, status: "Mounted from \(source)"))
                    continue blobs
                }
            }
            report(.layer(id: id, status: "Pushing", current: 0, total: blob.size))
            let size = blob.size
            try client.uploadBlob(blob.digest, path: blob.path, size: blob.size) {
                report(.layer(id: id, status: "Pushing", current: $0, total: size))
            }
            report(.layer(id: id, status: "Pushed"))
        }
    }

    /// For each layer, the other repositories of `ref`'s registry that local
    /// images with that layer are tagged or were pulled as: where a mount may
    /// find its blob.
    func mountSources(for diffIDs: [String], to ref: RemoteReference) -> [String: [String]] {
        var out: [String: [String]] = [:]
        let digests = store.repoDigests()
        for image in store.all() {
            let names = image.tags.map(\.description) + digests.filter { $0.1 == image.id }.map(\.0)
            let repos = names.compactMap { try? RemoteReference(parsing: $0) }
                .filter { $0.domain == ref.domain && $0.path != ref.path }.map(\.path)
            guard !repos.isEmpty else { continue }
            for diffID in Set(image.diffIDs).intersection(diffIDs) {
                for repo in repos where !(out[diffID] ?? []).contains(repo) { out[diffID, default: []].append(repo) }
            }
        }
        return out.mapValues { $0.sorted() }
    }

    /// A Docker schema 2 manifest for the config and layers.
    static func manifest(config: [UInt8], id: String, layers: [Blob]) -> [UInt8] {
        let layerDescriptors: [JSON] = layers.map { blob in
            .object([
                ("mediaType", .string(RegistryMediaType.dockerLayerGzip)), ("size", .int(blob.size)),
                ("digest", .string(blob.digest)),
            ])
        }
        return Array(
            JSON.object([
                ("schemaVersion", .int(2)),
                ("mediaType", .string(RegistryMediaType.dockerManifest)),
                (
                    "config",
                    .object([
                        ("mediaType", .string(RegistryMediaType.dockerConfig)), ("size", .int(config.count)),
                        ("digest", .string(id)),
                    ])
                ),
                ("layers", .array(layerDescriptors)),
            ]).pretty(indent: 3).utf8)
    }

    private func putManifest(
        _ manifest: [UInt8], tag: String, with client: RegistryClient,
        ref: RemoteReference
    ) throws(BerthError) {
        let put = try client.send(
            "PUT", client.url("manifests/\(tag)"),
            headers: [("Content-Type", RegistryMediaType.dockerManifest)], body: .bytes(manifest))
        if put.status == 401 || put.status == 403 {
            throw client.unauthorized(RegistryClient.errorText(try? put.readBody()) ?? "authentication required")
        }
        guard put.status == 201 || put.status == 200 else { throw client.failure("pushing the manifest of \(ref)", put) }
    }
}
