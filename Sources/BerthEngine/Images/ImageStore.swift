#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// Images, tags and layers in a store. Every change happens under the image
/// lock and is written atomically, so concurrent `berth` processes and a
/// crash at any point leave a consistent store.
public struct ImageStore: Sendable {
    /// The store's paths.
    public let layout: StoreLayout

    /// The image store of a layout.
    public init(layout: StoreLayout) { self.layout = layout }

    // MARK: Reading

    /// Tags → image IDs.
    public func repositories() -> [(ImageReference, String)] {
        guard let json = try? JSONParser.parse(FileSystem.read(layout.repositories)),
            case .object(let members) = json
        else { return [] }
        return members.compactMap { key, value in
            guard let id = value.stringValue, let ref = try? ImageReference(parsing: key) else { return nil }
            return (ref, id)
        }
    }

    /// Every image in the store.
    public func all() -> [Image] {
        let repos = repositories()
        return FileSystem.list(layout.images).compactMap { name -> Image? in
            guard name.hasSuffix(".json") else { return nil }
            let id = "sha256:" + name.dropLast(5)
            return try? load(id: id, repos: repos)
        }
    }

    /// One image by full ID.
    public func load(id: String, repos: [(ImageReference, String)]? = nil) throws(BerthError) -> Image {
        let config = try JSONParser.parse(try FileSystem.read(layout.image(id)))
        let tags = (repos ?? repositories()).filter { $0.1 == id }.map(\.0)
            .sorted { $0.description < $1.description }
        return Image(id: id, config: config, tags: tags)
    }

    /// Every `NAME@sha256:…` a pull recorded, and its image ID.
    public func repoDigests() -> [(String, String)] {
        guard let json = try? JSONParser.parse(FileSystem.read(layout.repoDigests)),
            case .object(let members) = json
        else { return [] }
        return members.compactMap { key, value in value.stringValue.map { (key, $0) } }
    }

    /// The `NAME@sha256:…` names of one image, sorted (`inspect`'s RepoDigests).
    public func repoDigests(of id: String) -> [String] {
        repoDigests().filter { $0.1 == id }.map(\.0).sorted()
    }

    /// Records that `name@digest` (the manifest a pull fetched) is image
    /// `id`, replacing what it named before. Callers hold the image lock.
    public func setRepoDigest(_ name: String, digest: String, to id: String) throws(BerthError) {
        let key = name + "@" + digest
        try writeRepoDigests(repoDigests().filter { $0.0 != key } + [(key, id)])
    }

    private func writeRepoDigests(_ entries: [(String, String)]) throws(BerthError) {
        let json = JSON.object(entries.sorted { $0.0 < $1.0 }.map { ($0.0, .string($0.1)) })
        try FileSystem.writeAtomically(layout.repoDigests, text: json.pretty(indent: 2) + "\n")
    }

    /// Finds an image by tag, `NAME@DIGEST`, full ID or unique ID prefix, as Docker does.
    public func resolve(_ text: String) throws(BerthError) -> Image {
        if text.contains("@"), let ref = try? RemoteReference(parsing: text), let digest = ref.digest,
            let id = repoDigests().first(where: { $0.0 == ref.familiarName + "@" + digest })?.1
        {
            return try load(id: id)
        }
        let repos = repositories()
        if !text.hasPrefix("sha256:"), let ref = try? ImageReference(parsing: text),
            let id = repos.first(where: { $0.0 == ref })?.1
        {
            return try load(id: id, repos: repos)
        }
        let hex = Digest.hex(text)
        if !hex.isEmpty, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
            let matches = FileSystem.list(layout.images).filter { $0.hasPrefix(hex) && $0.hasSuffix(".json") }
            if matches.count == 1 { return try load(id: "sha256:" + matches[0].dropLast(5), repos: repos) }
            if matches.count > 1 {
                throw BerthError("image ID prefix \"\(text)\" is ambiguous (\(matches.count) images); give more digits")
            }
        }
        var shown = text
        if let ref = try? ImageReference(parsing: text), !text.hasPrefix("sha256:") { shown = ref.description }
        throw .notFound("No such image: \(shown); list images with 'berth images' or add one with 'berth import'")
    }

    /// The bytes an image's layers hold (Docker's SIZE column).
    public func size(of image: Image) -> Int64 {
        image.diffIDs.reduce(0) { $0 + layerSize($1) }
    }

    /// The content size recorded for a layer.
    public func layerSize(_ diffID: String) -> Int64 {
        let meta = try? JSONParser.parse(FileSystem.read(layout.layerMeta(diffID)))
        return meta?["size"]?.int64Value ?? 0
    }

    /// The unpacked layers of an image, lowest first, for a storage driver.
    public func layerDirectories(of image: Image) throws(BerthError) -> [LayerDirectory] {
        try image.diffIDs.map { (diffID) throws(BerthError) -> LayerDirectory in
            let path = layout.layerDiff(diffID)
            guard FileSystem.isDirectory(path) else {
                throw BerthError(
                    "layer \(diffID) of image \(image.shortID) is missing from the store; remove the image with 'berth rmi -f \(image.shortID)' and import it again"
                )
            }
            return LayerDirectory(digest: diffID, path: path)
        }
    }

    // MARK: Writing (callers hold the image lock)

    /// Moves an extracted layer from staging into the store, or drops it if
    /// the same diff ID is already there (layers are shared, never duplicated).
    /// `staging` holds `diff/`; `diffID` is its canonical diff ID
    /// (`CanonicalLayer`), and `sourceDigests` the digests of the tars it was
    /// unpacked from, kept in `layer.json` so a later `load` of the same tar
    /// finds the layer without extracting it. Returns whether the layer was new.
    @discardableResult
    public func commitLayer(
        staging: String, diffID: String, size: Int64,
        sourceDigests: [String] = []
    ) throws(BerthError) -> Bool {
        let target = layout.layer(diffID)
        if FileSystem.isDirectory(target + "/diff") {
            try FileSystem.removeTree(staging)
            try addSourceDigests(sourceDigests, to: diffID)
            return false
        }
        let sources = Self.unique(sourceDigests.filter { $0 != diffID })
        var meta: [(String, JSON)] = [
            ("diffID", .string(diffID)), ("size", .int(size)),
            ("created", .string(Timestamp.now.rfc3339)),
        ]
        if !sources.isEmpty { meta.append(("sourceDigests", .strings(sources))) }
        try FileSystem.writeAtomically(staging + "/" + StoreLayout.layerMeta, text: JSON.object(meta).compact)
        try? FileSystem.removeTree(target)
        if rename(staging, target) != 0 {
            throw .syscall("rename", "\(staging) to \(target)", .current)
        }
        FileSystem.syncDirectory(of: target)
        return true
    }

    /// The digests of the tars a stored layer was unpacked from, other than
    /// its canonical one.
    public func sourceDigests(of diffID: String) -> [String] {
        let meta = try? JSONParser.parse(FileSystem.read(layout.layerMeta(diffID)))
        return meta?["sourceDigests"]?.stringArray ?? []
    }

    /// Records more source digests for a stored layer (no-op if none are new).
    public func addSourceDigests(_ digests: [String], to diffID: String) throws(BerthError) {
        let path = layout.layerMeta(diffID)
        guard let meta = try? JSONParser.parse(FileSystem.read(path)) else { return }
        let old = meta["sourceDigests"]?.stringArray ?? []
        let merged = Self.unique(old + digests.filter { $0 != diffID })
        guard merged != old else { return }
        try FileSystem.writeAtomically(path, text: meta.setting("sourceDigests", .strings(merged)).compact)
    }

    /// The stored layer whose canonical diff ID or one of whose source
    /// digests is `digest`: the layer a tar with that digest unpacks to.
    public func findLayer(matching digest: String) -> String? {
        guard Digest.isDigest(digest) else { return nil }
        if FileSystem.isDirectory(layout.layerDiff(digest)) { return digest }
        for hex in FileSystem.list(layout.layers) {
            let diffID = "sha256:" + hex
            if sourceDigests(of: diffID).contains(digest), FileSystem.isDirectory(layout.layerDiff(diffID)) {
                return diffID
            }
        }
        return nil
    }

    private static func unique(_ digests: [String]) -> [String] {
        var seen = Set<String>()
        return digests.filter { seen.insert($0).inserted }
    }

    /// Writes an image config; returns the image ID (the digest of its bytes).
    public func addImage(config: JSON) throws(BerthError) -> String {
        try addImage(configBytes: Array(config.compact.utf8))
    }

    /// Writes an image config exactly as given (`load` keeps a saved config's
    /// bytes, so the image keeps its ID); returns the image ID.
    @discardableResult
    public func addImage(configBytes bytes: [UInt8]) throws(BerthError) -> String {
        let id = Digest.sha256(bytes)
        try FileSystem.writeAtomically(layout.image(id), bytes)
        return id
    }

    /// Points a tag at an image (moving it away from any other image).
    public func setTag(_ ref: ImageReference, to id: String) throws(BerthError) {
        var repos = repositories().filter { $0.0 != ref }
        repos.append((ref, id))
        try writeRepositories(repos)
    }

    /// Removes a tag; the image stays.
    public func removeTag(_ ref: ImageReference) throws(BerthError) {
        try writeRepositories(repositories().filter { $0.0 != ref })
    }

    private func writeRepositories(_ repos: [(ImageReference, String)]) throws(BerthError) {
        let sorted = repos.sorted { $0.0.description < $1.0.description }
        let json = JSON.object(sorted.map { ($0.0.description, .string($0.1)) })
        try FileSystem.writeAtomically(layout.repositories, text: json.pretty(indent: 2) + "\n")
    }

    /// Deletes an image's config and every layer no other image uses.
    /// Returns the diff IDs of the layers removed.
    public func deleteImage(_ image: Image) throws(BerthError) -> [String] {
        for ref in image.tags { try removeTag(ref) }
        let digests = repoDigests()
        if digests.contains(where: { $0.1 == image.id }) { try writeRepoDigests(digests.filter { $0.1 != image.id }) }
        if unlink(layout.image(image.id)) != 0 && errno != ENOENT {
            throw .syscall("unlink", layout.image(image.id), .current)
        }
        return removeUnusedLayers()
    }

    /// Deletes every layer no image config names: the deleted image's, and
    /// any a crash left between moving a layer in and writing its config.
    /// Callers hold the image lock, so no import is half-way.
    @discardableResult
    public func removeUnusedLayers() -> [String] {
        let images = all()
        let stillUsed = Set(images.flatMap(\.diffIDs))
        var removed: [String] = []
        for hex in FileSystem.list(layout.layers) where !stillUsed.contains("sha256:" + hex) {
            let diffID = "sha256:" + hex
            // Rename first so a crash never leaves a half-deleted layer that
            // looks whole; the sweep of tmp/ finishes the job.
            let doomed = layout.tmp + "/rmlayer-\(getpid())-\(Digest.hex(diffID).prefix(12))"
            if rename(layout.layer(diffID), doomed) == 0 {
                try? FileSystem.removeTree(doomed)
                removed.append(diffID)
            }
        }
        removeMountPointLayers(except: images)
        return removed
    }
}
