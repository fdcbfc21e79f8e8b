#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// Media types and annotations shared by `save` and `load`.
enum OCIMediaType {
    static let index = "application/vnd.oci.image.index.v1+json"
    static let manifest = "application/vnd.oci.image.manifest.v1+json"
    static let config = "application/vnd.oci.image.config.v1+json"
    static let layer = "application/vnd.oci.image.layer.v1.tar"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let refName = "org.opencontainers.image.ref.name"
    static let containerdName = "io.containerd.image.name"
}

/// `save`: images as one tar holding both an OCI image layout (`oci-layout`,
/// `index.json`, `blobs/sha256/…`) and Docker's `manifest.json` pointing at
/// the same blobs, as Docker 25+ writes it.
///
/// Layers are regenerated from the unpacked directories with the canonical
/// archiver (`CanonicalLayer`) into staging files, so their sizes are known
/// before the tar header is written, and each is checked against its diff ID
/// while it is written: a layer directory changed since it was stored fails
/// the save instead of producing an archive that `load` would refuse.
public struct ImageSaver: Sendable {
    /// One image to save and the tags to record for it.
    public struct Item: Sendable {
        public var image: Image
        public var tags: [ImageReference]
    }

    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

    /// Resolves the names given to `save`. A tag saves that tag; an ID (or
    /// ID prefix) saves the image without tags, as Docker does. Names of one
    /// image are merged.
    public func resolve(_ names: [String]) throws(BerthError) -> [Item] {
        let repos = store.repositories()
        var items: [Item] = []
        for name in names {
            let image = try store.resolve(name)
            var tag: ImageReference?
            if !name.hasPrefix("sha256:"), let ref = try? ImageReference(parsing: name),
                repos.contains(where: { $0.0 == ref && $0.1 == image.id })
            {
                tag = ref
            }
            if let i = items.firstIndex(where: { $0.image.id == image.id }) {
                if let tag, !items[i].tags.contains(tag) { items[i].tags.append(tag) }
            } else {
                items.append(Item(image: image, tags: tag.map { [$0] } ?? []))
            }
        }
        return items
    }

    /// Writes the archive of `items` into `sink`.
    public func save(_ items: [Item], into sink: any ByteSink) throws(BerthError) {
        let staging = try store.layout.makeStaging("save")
        defer { try? FileSystem.removeTree(staging) }
        // Regenerate layers and read configs under the image lock, so an rmi
        // running alongside cannot delete a layer half-way through the walk.
        let (layers, configs) = try FileLock.withLock(store.layout.imageLock) {
            () throws(BerthError) -> ([String: Int64], [String: [UInt8]]) in
            var layers: [String: Int64] = [:]
            var configs: [String: [UInt8]] = [:]
            for item in items {
                configs[item.image.id] = try FileSystem.read(store.layout.image(item.image.id))
                for dir in try store.layerDirectories(of: item.image) where layers[dir.digest] == nil {
                    layers[dir.digest] = try writeLayer(dir, image: item, to: staging + "/" + Digest.hex(dir.digest))
                }
            }
            return (layers, configs)
        }

        let writer = TarWriter(sink)
        try writer.append(Self.entry("blobs/", .directory))
        try writer.append(Self.entry("blobs/sha256/", .directory))
        var written = Set<String>()
        var indexEntries: [JSON] = []
        var dockerEntries: [JSON] = []
        for item in items {
            let id = item.image.id
            let config = configs[id]!
            if written.insert(id).inserted { try writer.append(Self.blob(id), content: config) }
            var layerDescriptors: [JSON] = []
            for diffID in item.image.diffIDs {
                let size = layers[diffID]!
                if written.insert(diffID).inserted {
                    try copyFile(staging + "/" + Digest.hex(diffID), size: size, as: Self.blob(diffID), into: writer)
                }
                layerDescriptors.append(Self.descriptor(OCIMediaType.layer, diffID, size))
            }
            let manifest = Array(
                JSON.object([
                    ("schemaVersion", .int(2)),
                    ("mediaType", .string(OCIMediaType.manifest)),
                    ("config", Self.descriptor(OCIMediaType.config, id, Int64(config.count))),
                    ("layers", .array(layerDescriptors)),
                ]).compact.utf8)
            let manifestDigest = Digest.sha256(manifest)
            if written.insert(manifestDigest).inserted {
                try writer.append(Self.blob(manifestDigest), content: manifest)
            }
            let manifestDescriptor = Self.descriptor(OCIMediaType.manifest, manifestDigest, Int64(manifest.count))
            if item.tags.isEmpty { indexEntries.append(manifestDescriptor) }
            for tag in item.tags {
                indexEntries.append(
                    manifestDescriptor.setting(
                        "annotations",
                        .object([
                            (OCIMediaType.containerdName, .string(Self.fullName(tag))),
                            (OCIMediaType.refName, .string(tag.tag)),
                        ])))
            }
            dockerEntries.append(
                .object([
                    ("Config", .string(Self.blob(id).path)),
                    ("RepoTags", item.tags.isEmpty ? .null : .strings(item.tags.map(\.description))),
                    ("Layers", .strings(item.image.diffIDs.map { Self.blob($0).path })),
                ]))
        }
        let index = JSON.object([
            ("schemaVersion", .int(2)), ("mediaType", .string(OCIMediaType.index)),
            ("manifests", .array(indexEntries)),
        ])
        try writer.append(Self.entry("index.json", .regular), content: Array((index.compact + "\n").utf8))
        try writer.append(Self.entry("manifest.json", .regular), content: Array((JSON.array(dockerEntries).compact + "\n").utf8))
        try writer.append(Self.entry("oci-layout", .regular), content: Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
        try writer.finish()
    }

    /// Writes one layer's canonical tar to `path`, checking its digest; returns its size.
    private func writeLayer(_ dir: LayerDirectory, image item: Item, to path: String) throws(BerthError) -> Int64 {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600) } catch {
            throw .syscall("create", path, error)
        }
        defer { fd.close() }
        let hashing = HashingSink(FileSink(descriptor: fd, name: path))
        try CanonicalLayer.write(dir.path, into: hashing)
        guard hashing.digest == dir.digest else {
            let name = item.tags.first?.description ?? item.image.shortID
            throw BerthError(
                "save: layer \(dir.digest) of image \(name) was changed after it was stored "
                    + "(its files now hash to \(hashing.digest)); refusing to write an archive that does not match "
                    + "the image. Remove the image with 'berth rmi' and import or load it again")
        }
        return hashing.byteCount
    }

    private func copyFile(_ path: String, size: Int64, as entry: TarEntry, into writer: TarWriter) throws(BerthError) {
        let source = try FileSource(path: path)
        defer { source.close() }
        var header = entry
        header.size = size
        try writer.begin(header)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var copied: Int64 = 0
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            try writer.writeContent(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            copied += Int64(n)
        }
        guard copied == size else { throw BerthError("save: staged layer \(path) changed size while it was copied") }
        try writer.end()
    }

    private static func entry(_ path: String, _ kind: TarEntry.Kind) -> TarEntry {
        var e = TarEntry(path: path, kind: kind, mode: kind == .directory ? 0o755 : 0o644)
        e.mtimeSeconds = 0
        return e
    }

    private static func blob(_ digest: String) -> TarEntry { entry("blobs/sha256/" + Digest.hex(digest), .regular) }

    private static func descriptor(_ mediaType: String, _ digest: String, _ size: Int64) -> JSON {
        .object([("mediaType", .string(mediaType)), ("digest", .string(digest)), ("size", .int(size))])
    }

    /// `docker.io/library/busybox:latest` for `busybox:latest`, as containerd names images.
    static func fullName(_ ref: ImageReference) -> String {
        let parts = ref.repository.split(separator: "/")
        let first = parts.first.map(String.init) ?? ""
        if parts.count == 1 { return "docker.io/library/\(ref)" }
        if first.contains(".") || first.contains(":") || first == "localhost" { return ref.description }
        return "docker.io/\(ref)"
    }
}
