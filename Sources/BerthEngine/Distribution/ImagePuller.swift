#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import BerthCore

/// What `pull` and `push` report as they go, for Docker's progress display.
public enum TransferEvent: Sendable {
    /// A line of its own: `latest: Pulling from library/busybox`, `Digest: …`.
    case line(String)
    /// The state of one layer (`id` is 12 hex digits): `Pulling fs layer`,
    /// `Downloading` with bytes so far and total, `Pull complete`…
    case layer(id: String, status: String, current: Int64? = nil, total: Int64? = nil)
}

/// The platform a pull picks from a multi-platform index.
public struct Platform: Sendable, Equatable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    public init(os: String = "linux", architecture: String = ImageConfig.hostArchitecture, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// `linux/amd64`, `linux/arm64/v8`.
    public init(parsing text: String) throws(BerthError) {
        let parts = text.split(separator: "/").map(String.init)
        guard parts.count == 2 || parts.count == 3, !parts.contains(where: \.isEmpty) else {
            throw .invalid("invalid platform \"\(text)\": use OS/ARCH[/VARIANT], e.g. linux/amd64")
        }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    public var description: String { "\(os)/\(architecture)" + (variant.map { "/" + $0 } ?? "") }
}

/// `pull`: an image from a registry speaking the OCI distribution API.
///
/// The manifest is negotiated (Docker v2 schema 2, OCI, and their
/// multi-platform lists), the platform picked, the config fetched and
/// checked; each layer whose diff ID is already in the store (by canonical
/// ID or source digest) is `Already exists`, the others are downloaded side
/// by side (up to three at once, each resumed with a Range request if the
/// connection drops) into staging files, checked against their digest and
/// length, then extracted in order with the safe extractor and checked
/// against the config's `diff_ids`. Only when everything is in staging is
/// it committed under the image lock, with `load`'s all-or-nothing commit.
public struct ImagePuller: Sendable {
    public let store: ImageStore
    public var settings: RegistrySettings
    public var auths: AuthStore
    public var platform = Platform()
    /// Layers downloaded at once.
    public var concurrency = 3

    public init(store: ImageStore) {
        self.store = store
        settings = StoreConfig.load(store.layout).registries
        auths = AuthStore(layout: store.layout)
    }

    /// What a pull did.
    public struct Result: Sendable {
        /// The image ID in the store.
        public var id: String
        /// The digest of the manifest (or index) named by the reference.
        public var digest: String
        /// Whether nothing new had to be stored.
        public var upToDate: Bool
    }

    /// A manifest and where it came from.
    struct Fetched {
        var bytes: [UInt8]
        var json: JSON
        var mediaType: String
        var digest: String
    }

    private enum Outcome {
        case found(Fetched)
        case refused(BerthError)
    }

    /// Pulls `ref`, reporting progress through `report`.
    /// One layer of the image being pulled: its blob, the config's diff ID
    /// for it, and the stored layer that already has that content, if any.
    struct Layer: Sendable { var digest: String; var size: Int64?; var diffID: String; var stored: String? }

    /// Pulls `ref`: manifest (the first mirror that has it), config, the
    /// layers not yet stored (in parallel, resumable, digest-checked), then
    /// extraction in order and one commit under the image lock.
    public func pull(_ ref: RemoteReference, report: @escaping @Sendable (TransferEvent) -> Void) throws(BerthError) -> Result {
        let (client, top) = try locate(ref)
        report(.line("\(ref.tag ?? ref.digest!): Pulling from \(ref.path)"))
        let manifest = try pickPlatform(client, top, ref: ref)
        let (configBytes, config, diffIDs) = try fetchConfig(client, manifest, ref: ref)
        let layers = try layerPlan(manifest, diffIDs: diffIDs, ref: ref)
        let staging = try store.layout.makeStaging("pull")
        defer { try? FileSystem.removeTree(staging) }
        let fetched = try download(layers, from: client, into: staging, report: report)
        let (prepared, canonical) = try extract(layers, from: staging, ref: ref, report: report)
        var bytes = configBytes
        if canonical != diffIDs {
            let rootfs = (config["rootfs"] ?? .object([])).setting("diff_ids", .strings(canonical))
            bytes = Array(config.setting("rootfs", rootfs).compact.utf8)
        }
        let imageID = Digest.sha256(bytes)
        let tags = ref.localTag.map { [$0] } ?? []
        let upToDate =
            fetched == 0 && FileSystem.exists(store.layout.image(imageID))
            && tags.allSatisfy { tag in store.repositories().contains { $0.0 == tag && $0.1 == imageID } }
        let loader = ImageLoader(store: store)
        try FileLock.withLock(store.layout.imageLock) { () throws(BerthError) in
            if !upToDate {
                let image = ImageLoader.PreparedImage(configBytes: bytes, tags: tags, sourceDiffIDs: diffIDs, diffIDs: canonical)
                _ = try loader.commit([image], prepared, staging: staging, name: ref.description)
            }
            // Docker's RepoDigests: the digest the registry served, so that
            // NAME@DIGEST runs and inspects this image.
            try store.setRepoDigest(ref.familiarName, digest: top.digest, to: imageID)
        }
        report(.line("Digest: \(top.digest)"))
        report(.line(upToDate ? "Status: Image is up to date for \(ref)" : "Status: Downloaded newer image for \(ref)"))
        return Result(id: imageID, digest: top.digest, upToDate: upToDate)
    }

    /// The first endpoint (mirrors, then the registry) that has the
    /// manifest; it serves the whole pull.
    private func locate(_ ref: RemoteReference) throws(BerthError) -> (RegistryClient, Fetched) {
        var refusals: [BerthError] = []
        var failures: [BerthError] = []
        for endpoint in settings.pullEndpoints(for: ref.domain) {
            let client = RegistryClient(
                endpoint: endpoint, repository: ref.path,
                credentials: auths.credentials(for: endpoint.name), actions: "pull")
            do throws(BerthError) {
                switch try fetchManifest(client, ref.reference, shown: ref) {
                case .found(let manifest): return (client, manifest)
                case .refused(let error): refusals.append(error)
                }
            } catch {
                failures.append(error)
            }
        }
        throw refusals.first ?? failures.first ?? BerthError("pull \(ref): no registry to ask")
    }

    /// The image config the manifest names, checked against its digest, and its diff IDs.
    private func fetchConfig(
        _ client: RegistryClient, _ manifest: Fetched,
        ref: RemoteReference
    ) throws(BerthError) -> ([UInt8], JSON, [String]) {
        guard let configDigest = manifest.json["config"]?["digest"]?.stringValue, Digest.isDigest(configDigest) else {
            throw .integrity("the manifest of \(ref) (\(manifest.digest)) has no config digest; it is not an image manifest")
        }
        let configBytes = try client.blobBytes(configDigest)
        let config: JSON
        do { config = try JSONParser.parse(configBytes) } catch {
            throw .integrity("the image config of \(ref) (\(configDigest)) is not valid JSON (\(error.message))")
        }
        return (configBytes, config, config["rootfs"]?["diff_ids"]?.stringArray ?? [])
    }

    /// The manifest's layers matched with the config's diff IDs, and which
    /// of them the store already has.
    private func layerPlan(_ manifest: Fetched, diffIDs: [String], ref: RemoteReference) throws(BerthError) -> [Layer] {
        let descriptors = manifest.json["layers"]?.arrayValue ?? []
        guard diffIDs.count == descriptors.count, diffIDs.allSatisfy(Digest.isDigest) else {
            throw .integrity(
                "the image config of \(ref) lists \(diffIDs.count) layers but its manifest \(descriptors.count); refusing an inconsistent image"
            )
        }
        var layers: [Layer] = []
        for (i, d) in descriptors.enumerated() {
            guard let digest = d["digest"]?.stringValue, Digest.isDigest(digest),
                digest.dropFirst(7).allSatisfy({ !$0.isUppercase })
            else {
                throw .integrity("the manifest of \(ref) has no valid digest for layers[\(i)]")
            }
            let media = d["mediaType"]?.stringValue ?? ""
            if media.contains("zstd") {
                throw .unavailable(
                    "layer \(digest) of \(ref) is zstd-compressed (\(media)); Berth reads only gzip and plain tar layers")
            }
            layers.append(
                Layer(
                    digest: digest, size: d["size"]?.int64Value, diffID: diffIDs[i],
                    stored: store.findLayer(matching: diffIDs[i])))
        }
        return layers
    }

    /// Downloads each missing blob once, `concurrency` at a time, into
    /// `staging`; the first failure (by layer order) stops the rest and is
    /// thrown. Returns how many blobs were fetched.
    private func download(
        _ layers: [Layer], from client: RegistryClient, into staging: String,
        report: @escaping @Sendable (TransferEvent) -> Void
    ) throws(BerthError) -> Int {
        var toFetch: [Layer] = []
        for layer in layers {
            let id = Self.shortID(layer.digest)
            if layer.stored != nil {
                report(.layer(id: id, status: "Already exists"))
            } else if !toFetch.contains(where: { $0.digest == layer.digest }) {
                toFetch.append(layer)
                report(.layer(id: id, status: "Pulling fs layer"))
            }
        }
        let failed = Mutex<[Int: BerthError]>([:])
        let fetchList = toFetch
        let width = concurrency
        if fetchList.count > width {
            for layer in fetchList.dropFirst(width) { report(.layer(id: Self.shortID(layer.digest), status: "Waiting")) }
        }
        Parallel.forEach(fetchList.count, width: width) { i in
            let layer = fetchList[i]
            let id = Self.shortID(layer.digest)
            if !failed.withLock({ $0.isEmpty }) { return }
            do throws(BerthError) {
                try client.downloadBlob(
                    layer.digest, size: layer.size, to: staging + "/" + Digest.hex(layer.digest),
                    progress: { report(.layer(id: id, status: "Downloading", current: $0, total: layer.size)) },
                    shouldStop: { !failed.withLock { $0.isEmpty } })
                report(.layer(id: id, status: "Verifying Checksum"))
                report(.layer(id: id, status: "Download complete"))
            } catch {
                failed.withLock { $0[i] = error }
            }
        }
        if let (_, error) = failed.withLock({ $0 }).sorted(by: { $0.key < $1.key }).first { throw error }
        return fetchList.count
    }

    /// Extracts the downloaded layers in order (the stored ones are reused),
    /// each checked against its diff ID; returns them and the canonical IDs.
    private func extract(
        _ layers: [Layer], from staging: String, ref: RemoteReference,
        report: @escaping @Sendable (TransferEvent) -> Void
    ) throws(BerthError)
        -> ([String: ImageLoader.PreparedLayer], [String])
    {
        var prepared: [String: ImageLoader.PreparedLayer] = [:]
        var canonical: [String] = []
        for (i, layer) in layers.enumerated() {
            if let known = prepared[layer.diffID] { canonical.append(known.diffID); continue }
            if let stored = layer.stored {
                prepared[layer.diffID] = ImageLoader.PreparedLayer(diffID: stored, staging: nil, size: 0)
                canonical.append(stored)
                continue
            }
            let id = Self.shortID(layer.digest)
            let blob = staging + "/" + Digest.hex(layer.digest)
            let file = try FileSource(path: blob)
            defer { file.close() }
            let total = layer.size
            report(.layer(id: id, status: "Extracting", current: 0, total: total))
            let label = "layer \(layer.digest) of \(ref)"
            let isGzip = try file.peek(2) == [0x1f, 0x8b]
            _ = try ArchiveInput.decompressing(file, name: label)  // refuses xz, zstd, bzip2 with the fix
            let counting = CountingSource(file) { report(.layer(id: id, status: "Extracting", current: $0, total: total)) }
            let source: any ByteSource = isGzip ? try GzipDecompressor(counting, name: label) : counting
            let made = try ImageLoader.stageLayer(
                from: source, label: label, into: staging + "/layer-\(i)",
                expecting: layer.diffID
            ) { got in
                .integrity(
                    "layer \(layer.digest) of \(ref) unpacks to \(got), not to the config's diff_ids[\(i)] \(layer.diffID); refusing a corrupt or altered image"
                )
            }
            prepared[layer.diffID] = made
            canonical.append(made.diffID)
            unlink(blob)
            report(.layer(id: id, status: "Pull complete"))
        }
        return (prepared, canonical)
    }

    static func shortID(_ digest: String) -> String { String(Digest.hex(digest).prefix(12)) }

    /// GET a manifest; `.refused` when the registry answered but has no such
    /// manifest or will not show it, so the next mirror can be tried.
    private func fetchManifest(_ client: RegistryClient, _ reference: String, shown: RemoteReference) throws(BerthError)
        -> Outcome
    {
        let response = try client.send(
            "GET", client.url("manifests/\(reference)"), headers: [("Accept", RegistryMediaType.accept)])
        switch response.status {
        case 200: break
        case 401, 403:
            let text = RegistryClient.errorText(try? response.readBody()) ?? "authentication required"
            return .refused(client.unauthorized(text))
        case 404:
            let text = RegistryClient.errorText(try? response.readBody()) ?? "manifest unknown"
            let name =
                reference.hasPrefix("sha256:") ? "\(shown.familiarName)@\(reference)" : "\(shown.familiarName):\(reference)"
            return .refused(.notFound("manifest for \(name) not found: \(text)"))
        default:
            return .refused(client.failure("manifest \(reference) of \(shown.path)", response))
        }
        let bytes = try response.readBody(limit: 4 << 20)
        let digest = Digest.sha256(bytes)
        if reference.hasPrefix("sha256:"), digest != reference {
            throw .integrity(
                "manifest \(reference) from \(client.endpoint.name) hashes to \(digest); refusing a corrupt or altered manifest")
        }
        if let claimed = response.header("Docker-Content-Digest"), Digest.isDigest(claimed), claimed != digest {
            throw .integrity(
                "manifest \(reference) from \(client.endpoint.name) hashes to \(digest), not to the \(claimed) the registry claims; refusing it"
            )
        }
        let json: JSON
        do { json = try JSONParser.parse(bytes) } catch {
            throw .integrity("manifest \(reference) from \(client.endpoint.name) is not valid JSON")
        }
        let contentType = response.header("Content-Type")?.split(separator: ";").first.map { String($0).trimmingSpaces } ?? ""
        let mediaType = json["mediaType"]?.stringValue ?? contentType
        if json["schemaVersion"]?.intValue == 1 || mediaType.contains("prettyjws")
            || mediaType.hasSuffix("manifest.v1+json") && !mediaType.contains("vnd.oci")
        {
            throw BerthError("\(shown) is a Docker schema 1 image, which Berth does not read; push it again with a current tool")
        }
        return .found(Fetched(bytes: bytes, json: json, mediaType: mediaType, digest: digest))
    }

    /// The image manifest for this platform: `fetched` itself, or the
    /// matching entry of an index.
    private func pickPlatform(_ client: RegistryClient, _ fetched: Fetched, ref: RemoteReference) throws(BerthError) -> Fetched {
        let isIndex =
            fetched.mediaType == RegistryMediaType.ociIndex || fetched.mediaType == RegistryMediaType.dockerList
            || (fetched.json["manifests"] != nil && fetched.json["layers"] == nil)
        guard isIndex else { return fetched }
        let entries = fetched.json["manifests"]?.arrayValue ?? []
        let matching = entries.filter {
            $0["platform"]?["os"]?.stringValue == platform.os
                && $0["platform"]?["architecture"]?.stringValue == platform.architecture
                && (platform.variant == nil || $0["platform"]?["variant"]?.stringValue == platform.variant)
        }
        guard let entry = matching.first, let digest = entry["digest"]?.stringValue, Digest.isDigest(digest) else {
            let listed = entries.compactMap { e -> String? in
                guard let p = e["platform"] else { return nil }
                return "\(p["os"]?.stringValue ?? "?")/\(p["architecture"]?.stringValue ?? "?")"
                    + (p["variant"]?.stringValue.map { "/" + $0 } ?? "")
            }
            throw .notFound(
                "no matching manifest for \(platform) in the manifest list entries of \(ref) (it has \(listed.joined(separator: ", "))); choose one with --platform"
            )
        }
        switch try fetchManifest(client, digest, shown: ref) {
        case .found(let child):
            if child.json["manifests"] != nil && child.json["layers"] == nil {
                throw BerthError("the index of \(ref) points at another index (\(digest)); Berth follows one level")
            }
            return child
        case .refused(let error): throw error
        }
    }
}

/// Counts the bytes read through it and reports the running total, at most
/// every 256 KiB (the extraction bar).
final class CountingSource: ByteSource {
    private let upstream: any ByteSource
    private let report: (Int64) -> Void
    private var count: Int64 = 0
    private var reported: Int64 = 0

    init(_ upstream: any ByteSource, report: @escaping (Int64) -> Void) {
        self.upstream = upstream
        self.report = report
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        let n = try upstream.read(into: buffer)
        count += Int64(n)
        if n == 0 || count - reported >= 256 * 1024 {
            reported = count
            report(count)
        }
        return n
    }
}
