#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// `load`: images from a tar that `save` (Berth's, Docker's or Podman's)
/// wrote, in either layout: Docker's `manifest.json` (with `blobs/sha256/…`
/// paths, or the older `HEX/layer.tar` and `HEX.json`) or an OCI image
/// layout (`index.json`, nested indexes followed, linux/ARCH picked from a
/// multi-platform index).
///
/// The archive is untrusted. It is unpacked with the safe `LayerExtractor`
/// into private staging; every path read from `manifest.json` or an index is
/// refused if it is absolute or climbs with `..`, and is opened with
/// openat2(RESOLVE_IN_ROOT), so a symlink in the archive cannot lead out
/// either. Each OCI blob must hash to its name, and each layer's
/// uncompressed tar to the config's `diff_ids[i]`.
///
/// Every new layer is extracted (into staging) before anything is
/// committed; the commit (layers, configs, tags) runs under the image lock
/// and is undone if any step of it fails, so a failed load leaves the store
/// exactly as it was. A layer already in the store — by its canonical diff
/// ID or by a recorded source digest — is reused without being extracted.
public struct ImageLoader: Sendable {
    /// An image that was loaded: its ID and the tags now pointing at it.
    public struct Loaded: Sendable {
        public var id: String
        public var tags: [ImageReference]
    }

    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

    /// Loads every image in the archive read from `source` (plain or gzip);
    /// `name` is what messages call it.
    public func load(from source: FileSource, name: String) throws(BerthError) -> [Loaded] {
        let staging = try store.layout.makeStaging("load")
        defer { try? FileSystem.removeTree(staging) }
        let unpacked = staging + "/archive"
        if mkdir(unpacked, 0o700) != 0 { throw .syscall("mkdir", unpacked, .current) }
        _ = try LayerExtractor().extract(from: try ArchiveInput.decompressing(source, name: name), name: name, into: unpacked)
        let archive = try LoadArchive(path: unpacked, name: name)
        let plans = try archive.images()
        if plans.isEmpty { throw BerthError("load \(name): the archive holds no image") }

        // Extract every layer that is not in the store yet, before committing anything.
        var layers: [String: PreparedLayer] = [:]  // by incoming diff ID
        var prepared: [PreparedImage] = []
        for plan in plans {
            let config: JSON
            do { config = try JSONParser.parse(plan.configBytes) } catch {
                throw BerthError("load \(name): the image config \(plan.configField) is not valid JSON (\(error.message))")
            }
            let diffIDs = config["rootfs"]?["diff_ids"]?.stringArray ?? []
            guard diffIDs.count == plan.layers.count else {
                throw BerthError(
                    "load \(name): the image config \(plan.configField) lists \(diffIDs.count) layers "
                        + "(rootfs.diff_ids) but its manifest lists \(plan.layers.count); refusing an inconsistent archive")
            }
            var canonical: [String] = []
            for (i, (layer, diffID)) in zip(plan.layers, diffIDs).enumerated() {
                guard Digest.isDigest(diffID) else {
                    throw BerthError("load \(name): diff_ids[\(i)] \"\(diffID)\" of \(plan.configField) is not a sha256 digest")
                }
                if let known = layers[diffID] { canonical.append(known.diffID); continue }
                if let stored = store.findLayer(matching: diffID) {
                    layers[diffID] = PreparedLayer(diffID: stored, staging: nil, size: 0)
                    canonical.append(stored)
                    continue
                }
                let dir = staging + "/layer-\(layers.count)"
                let made = try extract(layer, expecting: diffID, index: i, archive: archive, into: dir)
                layers[diffID] = made
                canonical.append(made.diffID)
            }
            var bytes = plan.configBytes
            if canonical != diffIDs {
                // Foreign layers whose tars were not canonical: the config
                // names the layers as Berth stores them, so the ID changes.
                let rootfs = (config["rootfs"] ?? .object([])).setting("diff_ids", .strings(canonical))
                bytes = Array(config.setting("rootfs", rootfs).compact.utf8)
            }
            prepared.append(PreparedImage(configBytes: bytes, tags: plan.tags, sourceDiffIDs: diffIDs, diffIDs: canonical))
        }
        return try FileLock.withLock(store.layout.imageLock) { () throws(BerthError) -> [Loaded] in
            try commit(prepared, layers, staging: staging, name: name)
        }
    }

    struct PreparedLayer {
        var diffID: String
        var staging: String?
        var size: Int64
    }

    struct PreparedImage {
        var configBytes: [UInt8]
        var tags: [ImageReference]
        var sourceDiffIDs: [String]
        var diffIDs: [String]
    }

    private func extract(
        _ layer: LoadArchive.LayerRef, expecting diffID: String, index: Int, archive: LoadArchive,
        into dir: String
    ) throws(BerthError) -> PreparedLayer {
        let file = try archive.open(layer.components, field: layer.field, blob: layer.blobDigest)
        defer { file.close() }
        let label = "\(archive.name): \(layer.path)"
        return try Self.stageLayer(
            from: try ArchiveInput.decompressing(file, name: label), label: label, into: dir,
            expecting: diffID
        ) { got in
            .integrity(
                "load \(archive.name): layer \(layer.path) has digest \(got), which does not match "
                    + "the image config's diff_ids[\(index)] \(diffID); refusing a corrupt or altered archive")
        }
    }

    /// Unpacks one untrusted layer stream into `dir/diff` (whiteouts in
    /// overlay's form), checks that its diff ID is the one the image config
    /// names (`mismatch` words the refusal), and computes the canonical ID
    /// it is stored under. `load` and `pull` both stage layers here.
    static func stageLayer(
        from source: any ByteSource, label: String, into dir: String, expecting diffID: String,
        mismatch: (String) -> BerthError
    ) throws(BerthError) -> PreparedLayer {
        if mkdir(dir, 0o700) != 0 || mkdir(dir + "/diff", 0o755) != 0 { throw .syscall("mkdir", dir, .current) }
        let summary = try LayerExtractor(convertWhiteouts: true).extract(from: source, name: label, into: dir + "/diff")
        guard summary.diffID == diffID else { throw mismatch(summary.diffID) }
        let canonical = try CanonicalLayer.digest(of: dir + "/diff").diffID
        return PreparedLayer(diffID: canonical, staging: dir, size: FileSystem.contentSize(dir + "/diff"))
    }

    /// Moves layers in, writes configs, sets tags; on any failure undoes
    /// what it did. Runs under the image lock. `pull` commits through it too.
    func commit(
        _ images: [PreparedImage], _ layers: [String: PreparedLayer], staging: String,
        name: String
    ) throws(BerthError) -> [Loaded] {
        let layout = store.layout
        let oldRepositories = try? FileSystem.read(layout.repositories)
        var movedLayers: [String] = []
        var writtenConfigs: [String] = []
        var sourceDigests: [(String, String)] = []  // (canonical, incoming) for layers already stored
        do throws(BerthError) {
            for (incoming, layer) in layers.sorted(by: { $0.key < $1.key }) {
                guard let dir = layer.staging else {
                    guard FileSystem.isDirectory(layout.layerDiff(layer.diffID)) else {
                        throw BerthError(
                            "load \(name): layer \(layer.diffID) was removed from the store while loading; try again")
                    }
                    continue
                }
                if FileSystem.isDirectory(layout.layerDiff(layer.diffID)) {
                    sourceDigests.append((layer.diffID, incoming))
                    continue
                }
                if try store.commitLayer(staging: dir, diffID: layer.diffID, size: layer.size, sourceDigests: [incoming]) {
                    movedLayers.append(layer.diffID)
                }
            }
            var loaded: [Loaded] = []
            for image in images {
                let id = Digest.sha256(image.configBytes)
                if !FileSystem.exists(layout.image(id)) {
                    try store.addImage(configBytes: image.configBytes)
                    writtenConfigs.append(id)
                }
                for tag in image.tags { try store.setTag(tag, to: id) }
                if let i = loaded.firstIndex(where: { $0.id == id }) {
                    loaded[i].tags += image.tags.filter { !loaded[i].tags.contains($0) }
                } else {
                    loaded.append(Loaded(id: id, tags: image.tags))
                }
            }
            for (diffID, incoming) in sourceDigests { try? store.addSourceDigests([incoming], to: diffID) }
            return loaded
        } catch {
            var cleanup: [String] = []
            if let oldRepositories {
                if (try? FileSystem.writeAtomically(layout.repositories, oldRepositories)) == nil {
                    cleanup.append("repositories.json")
                }
            } else {
                unlink(layout.repositories)
            }
            for id in writtenConfigs { unlink(layout.image(id)) }
            for diffID in movedLayers {
                let doomed = staging + "/undo-" + Digest.hex(diffID)
                if rename(layout.layer(diffID), doomed) != 0 { cleanup.append(layout.layer(diffID)) }
            }
            if !cleanup.isEmpty {
                throw error.withCleanup(BerthError("could not restore \(cleanup.joined(separator: ", "))"))
            }
            throw error
        }
    }
}

/// The unpacked outer tar of `load`, and the images its manifests describe.
struct LoadArchive {
    /// One layer as the manifest names it.
    struct LayerRef {
        var path: String
        var components: [String]
        var field: String
        /// The blob's digest when the path is `blobs/sha256/HEX` (checked on open).
        var blobDigest: String?
    }

    /// One image as the manifest describes it.
    struct Plan {
        var configBytes: [UInt8]
        var configField: String
        var layers: [LayerRef]
        var tags: [ImageReference]
    }

    let root: FileDescriptor
    let name: String

    init(path: String, name: String) throws(BerthError) {
        do { root = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) } catch {
            throw .syscall("open", path, error)
        }
        self.name = name
    }

    /// The images, from `manifest.json` if there is one, else from `index.json`.
    func images() throws(BerthError) -> [Plan] {
        if exists(["manifest.json"]) { return try dockerImages() }
        if exists(["index.json"]) { return try ociImages() }
        throw BerthError(
            "load \(name): the archive has neither manifest.json nor index.json; "
                + "it is not an image archive (for a root filesystem tar use 'berth import')")
    }

    // MARK: Docker's manifest.json

    private func dockerImages() throws(BerthError) -> [Plan] {
        let manifest = try json(["manifest.json"], field: "manifest.json")
        guard let entries = manifest.arrayValue else {
            throw BerthError("load \(name): manifest.json is not a JSON array")
        }
        var plans: [Plan] = []
        for (i, entry) in entries.enumerated() {
            let field = "manifest.json[\(i)]"
            guard let configPath = entry["Config"]?.stringValue else {
                throw BerthError("load \(name): \(field) has no Config")
            }
            let configRef = try ref(configPath, field: "\(field) Config")
            let configBytes = try read(configRef.components, field: configRef.field, blob: configRef.blobDigest)
            var tags: [ImageReference] = []
            for tag in entry["RepoTags"]?.stringArray ?? [] {
                do { tags.append(try ImageReference(parsing: tag)) } catch {
                    throw BerthError("load \(name): \(field) RepoTags \"\(tag)\": \(error.message)")
                }
            }
            var layers: [LayerRef] = []
            for (j, layer) in (entry["Layers"]?.arrayValue ?? []).enumerated() {
                guard let path = layer.stringValue else {
                    throw BerthError("load \(name): \(field) Layers[\(j)] is not a string")
                }
                layers.append(try ref(path, field: "\(field) Layers[\(j)]"))
            }
            plans.append(Plan(configBytes: configBytes, configField: configPath, layers: layers, tags: tags))
        }
        return plans
    }

    // MARK: OCI index.json

    private func ociImages() throws(BerthError) -> [Plan] {
        let index = try json(["index.json"], field: "index.json")
        var plans: [Plan] = []
        try collect(index, field: "index.json", names: [], depth: 0, into: &plans)
        return plans
    }

    private func collect(
        _ index: JSON, field: String, names: [ImageReference], depth: Int,
        into plans: inout [Plan]
    ) throws(BerthError) {
        guard depth < 8 else { throw BerthError("load \(name): \(field): indexes nested too deeply") }
        var manifests = index["manifests"]?.arrayValue ?? []
        // A multi-platform index: keep this machine's platform.
        let platforms = manifests.compactMap { $0["platform"] }
        if !platforms.isEmpty {
            let wanted = manifests.filter {
                $0["platform"]?["os"]?.stringValue == "linux"
                    && $0["platform"]?["architecture"]?.stringValue == ImageConfig.hostArchitecture
            }
            let others = manifests.filter { $0["platform"] == nil }
            if wanted.isEmpty && others.isEmpty {
                let listed = platforms.map { "\($0["os"]?.stringValue ?? "?")/\($0["architecture"]?.stringValue ?? "?")" }
                throw BerthError(
                    "load \(name): \(field) has no image for linux/\(ImageConfig.hostArchitecture) "
                        + "(it has \(listed.joined(separator: ", ")))")
            }
            manifests = wanted.isEmpty ? others : [wanted[0]]
        }
        for (i, descriptor) in manifests.enumerated() {
            let here = "\(field) manifests[\(i)]"
            var refs = names
            if let named = imageName(descriptor["annotations"]) { refs = [named] }
            let mediaType = descriptor["mediaType"]?.stringValue ?? ""
            guard let digest = descriptor["digest"]?.stringValue else { throw BerthError("load \(name): \(here) has no digest") }
            let bytes = try readBlob(digest, field: "\(here) digest")
            let child: JSON
            do { child = try JSONParser.parse(bytes) } catch {
                throw BerthError("load \(name): \(here) \(digest) is not valid JSON")
            }
            let childType = child["mediaType"]?.stringValue ?? mediaType
            if childType == OCIMediaType.index || childType == OCIMediaType.dockerManifestList
                || (child["manifests"] != nil && child["layers"] == nil)
            {
                try collect(child, field: "blob \(digest)", names: refs, depth: depth + 1, into: &plans)
                continue
            }
            guard let configDigest = child["config"]?["digest"]?.stringValue else {
                throw BerthError("load \(name): manifest \(digest) has no config")
            }
            let configBytes = try readBlob(configDigest, field: "manifest \(digest) config")
            var layers: [LayerRef] = []
            for (j, layer) in (child["layers"]?.arrayValue ?? []).enumerated() {
                let field = "manifest \(digest) layers[\(j)]"
                guard let d = layer["digest"]?.stringValue else { throw BerthError("load \(name): \(field) has no digest") }
                layers.append(try blobRef(d, field: field))
            }
            plans.append(Plan(configBytes: configBytes, configField: "blob \(configDigest)", layers: layers, tags: refs))
        }
    }

    /// The image name an index entry carries: containerd's full name, else an
    /// OCI ref.name that is a whole reference (Podman's), not only a tag (Docker's).
    private func imageName(_ annotations: JSON?) -> ImageReference? {
        if let full = annotations?[OCIMediaType.containerdName]?.stringValue, let ref = try? ImageReference(parsing: full) {
            return ref
        }
        if let refName = annotations?[OCIMediaType.refName]?.stringValue, refName.contains(":") || refName.contains("/"),
            let ref = try? ImageReference(parsing: refName)
        {
            return ref
        }
        return nil
    }

    // MARK: Confined paths

    /// A path from a manifest as components below the archive root; absolute
    /// paths and `..` are refused, naming the field.
    func ref(_ path: String, field: String) throws(BerthError) -> LayerRef {
        let parts = path.split(separator: "/").map(String.init).filter { $0 != "." }
        guard !path.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty, !path.utf8.contains(0) else {
            throw BerthError("load \(name): \(field) \"\(path)\" points outside the archive; refusing an unsafe archive")
        }
        var blob: String?
        if parts.count == 3, parts[0] == "blobs", parts[1] == "sha256" { blob = "sha256:" + parts[2] }
        return LayerRef(path: path, components: parts, field: field, blobDigest: blob)
    }

    private func blobRef(_ digest: String, field: String) throws(BerthError) -> LayerRef {
        guard Digest.isDigest(digest), digest.dropFirst(7).allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw BerthError("load \(name): \(field) \"\(digest)\" is not a sha256 digest; refusing an unsafe archive")
        }
        return LayerRef(
            path: "blobs/sha256/" + Digest.hex(digest), components: ["blobs", "sha256", Digest.hex(digest)],
            field: field, blobDigest: digest)
    }

    private func exists(_ components: [String]) -> Bool {
        guard let fd = try? FileDescriptor.openInRoot(root, components.joined(separator: "/"), O_RDONLY) else { return false }
        fd.close()
        return true
    }

    /// Opens a regular file of the archive for reading; with `blob`, first
    /// checks that its content hashes to that digest.
    func open(_ components: [String], field: String, blob: String?) throws(BerthError) -> FileSource {
        let path = components.joined(separator: "/")
        let fd: FileDescriptor
        do { fd = try FileDescriptor.openInRoot(root, path, O_RDONLY) } catch {
            throw BerthError(
                "load \(name): \(field) \"\(path)\" is not in the archive (\(error)); refusing an incomplete archive")
        }
        let st: stat
        do { st = try fd.stat() } catch { fd.close(); throw .syscall("fstat", path, error) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            fd.close()
            throw BerthError("load \(name): \(field) \"\(path)\" is not a regular file; refusing an inconsistent archive")
        }
        if let blob {
            let hashing = HashingSource(FileSource(descriptor: fd, name: path, owned: false))
            try hashing.drainToEnd()
            guard hashing.digest == blob else {
                fd.close()
                throw BerthError(
                    "load \(name): blob \(path) hashes to \(hashing.digest), not to its name; "
                        + "refusing a corrupt or altered archive")
            }
            if lseek(fd.rawValue, 0, SEEK_SET) != 0 { fd.close(); throw .syscall("lseek", path, .current) }
        }
        return FileSource(descriptor: fd, name: "\(name): \(path)")
    }

    func read(_ components: [String], field: String, blob: String?) throws(BerthError) -> [UInt8] {
        let file = try open(components, field: field, blob: blob)
        defer { file.close() }
        return try file.readAll()
    }

    private func readBlob(_ digest: String, field: String) throws(BerthError) -> [UInt8] {
        let ref = try blobRef(digest, field: field)
        return try read(ref.components, field: field, blob: digest)
    }

    private func json(_ components: [String], field: String) throws(BerthError) -> JSON {
        let bytes = try read(components, field: field, blob: nil)
        do { return try JSONParser.parse(bytes) } catch {
            throw BerthError("load \(name): \(field) is not valid JSON (\(error.message))")
        }
    }
}
