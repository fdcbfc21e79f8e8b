import BerthCommands
import BerthCore
import BerthEngine

/// The image endpoints served: list, inspect, tag, remove.
struct ImageRoutes {
    let engine: Engine

    /// `GET /images/json?filters=`: one entry per image, Docker's
    /// `ImageSummary`; `docker images NAME` sends `reference=NAME`.
    func list(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let store = engine.images
        let filter = try ImageFilter(try FilterQuery.flags(r.query["filters"]), store: store)
        let users = engine.lifecycle.containers.all()
        let images = store.all().filter(filter.matches).sorted { ($0.created?.asDouble ?? 0) > ($1.created?.asDouble ?? 0) }
        return .json(
            .array(
                images.map { image in
                    let size = store.size(of: image)
                    return .object([
                        ("Id", .string(image.id)), ("ParentId", .string("")),
                        ("RepoTags", .strings(filter.tags(of: image).map(\.description))),
                        ("RepoDigests", .strings(store.repoDigests(of: image.id))),
                        ("Created", .int(image.created?.seconds ?? 0)), ("Size", .int(size)),
                        ("SharedSize", .int(-1)), ("VirtualSize", .int(size)),
                        ("Labels", image.runConfig["Labels"] ?? .object([])),
                        ("Containers", .int(users.filter { $0.image == image.id }.count)),
                    ])
                }))
    }

    /// `GET /images/NAME/json`: what `berth inspect` prints for an image,
    /// plus `ContainerConfig`, which docker-compose 1.29 reads.
    func inspect(_ name: String) throws(BerthError) -> APIResponse {
        let store = engine.images
        let image = try store.resolve(name)
        var doc = ImageInspect.json(image, store)
        doc = doc.setting("ContainerConfig", ImageInspect.dockerConfig(.object([])))
        doc = doc.setting("VirtualSize", .int(store.size(of: image)))
        // Go clients decode these as times: "" does not parse, the zero time does.
        doc = doc.setting("Metadata", .object([("LastTagTime", .string(Container.zeroTime))]))
        if doc["Created"]?.stringValue?.isEmpty != false { doc = doc.setting("Created", .string(Container.zeroTime)) }
        return .json(doc)
    }

    /// `GET /images/NAME/history`: newest first, as `berth history` reads
    /// the config's history against its layers: `{Id, Created, CreatedBy,
    /// Tags, Size, Comment}`, `<missing>` for all but the top entry.
    func history(_ name: String) throws(BerthError) -> APIResponse {
        let store = engine.images
        let image = try store.resolve(name)
        let history = image.config["history"]?.arrayValue ?? []
        let layers = image.diffIDs
        var layerIndex = layers.count - 1
        var items: [JSON] = []
        for (i, entry) in history.enumerated().reversed() {
            let empty = entry["empty_layer"]?.boolValue ?? false
            let size = empty || layerIndex < 0 ? 0 : store.layerSize(layers[layerIndex])
            if !empty { layerIndex -= 1 }
            let created = entry["created"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            let top = i == history.count - 1
            items.append(
                .object([
                    ("Id", .string(top ? image.id : "<missing>")), ("Created", .int(created?.seconds ?? 0)),
                    ("CreatedBy", .string(entry["created_by"]?.stringValue ?? "")),
                    ("Tags", top ? .strings(image.tags.map(\.description)) : .null), ("Size", .int(size)),
                    ("Comment", .string(entry["comment"]?.stringValue ?? "")),
                ]))
        }
        return .json(.array(items))
    }

    /// `POST /images/NAME/tag?repo=&tag=`: 201.
    func tag(_ name: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        guard let repo = r.query["repo"], !repo.isEmpty else { throw .invalid("tag needs a repository (?repo=)") }
        let tag = r.query["tag"].flatMap { $0.isEmpty ? nil : $0 }
        let target = try ImageReference(parsing: tag.map { repo + ":" + $0 } ?? repo)
        let store = engine.images
        try FileLock.withLock(store.layout.imageLock) { () throws(BerthError) in
            try store.setTag(target, to: try store.resolve(name).id)
        }
        return .empty(201)
    }

    /// `DELETE /images/NAME?force=`: `[{"Untagged": …}, {"Deleted": …}]`.
    func remove(_ name: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        if r.query.bool("noprune") { throw CreateRequest.unsupported("noprune") }
        let store = engine.images
        let lines = try FileLock.withLock(store.layout.imageLock) { () throws(BerthError) -> [String] in
            try store.remove(name, force: r.query.bool("force"))
        }
        return .json(
            .array(
                lines.compactMap { line in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2 else { return nil }
                    return .object([(String(parts[0]), .string(parts[1].trimmingPrefixSpace))])
                }))
    }
}

extension Substring {
    fileprivate var trimmingPrefixSpace: String { String(drop { $0 == " " }) }
}
