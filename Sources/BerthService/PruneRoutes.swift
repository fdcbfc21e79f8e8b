import BerthCommands
import BerthCore
import BerthEngine

/// `POST /{containers,images,volumes,networks}/prune`: `berth … prune -f`'s
/// selection and removal (`Prune`), dockerd's response shapes.
struct PruneRoutes {
    let engine: Engine

    /// The `filters` parameter as prune flags, and the keys taken out first.
    private func filters(_ r: APIRequest, taking special: String? = nil) throws(BerthError) -> (PruneFilter, [String]) {
        var taken: [String] = []
        var rest: [String] = []
        for flag in try FilterQuery.flags(r.query["filters"]) {
            if let special, flag.hasPrefix(special + "=") {
                taken.append(String(flag.dropFirst(special.count + 1)))
            } else {
                rest.append(flag)
            }
        }
        return (try PruneFilter(rest), taken)
    }

    func containers(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let (filter, _) = try filters(r)
        let ctx = CommandContext(root: engine.root, registry: engine.registry)
        let removed = Prune.containers(engine.lifecycle, filter, ctx)
        return .json(
            .object([("ContainersDeleted", .strings(removed.deleted)), ("SpaceReclaimed", .int(removed.reclaimed))]))
    }

    /// `dangling=false` prunes every unused image (`image prune -a`).
    func images(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let (filter, dangling) = try filters(r, taking: "dangling")
        let all = dangling.contains { ["false", "0"].contains($0.lowercased()) }
        let removed = try Prune.images(engine.images, all: all, filter, registry: engine.registry)
        let items: [JSON] = removed.lines.compactMap { line in
            if line.hasPrefix("untagged: ") { return .object([("Untagged", .string(String(line.dropFirst(10))))]) }
            if line.hasPrefix("deleted: ") { return .object([("Deleted", .string(String(line.dropFirst(9))))]) }
            return nil
        }
        return .json(.object([("ImagesDeleted", .array(items)), ("SpaceReclaimed", .int(removed.reclaimed))]))
    }

    /// `all=true` (API 1.42) prunes named volumes too, not only anonymous ones.
    func volumes(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let (filter, all) = try filters(r, taking: "all")
        try Prune.checkVolumeFilter(filter)
        let removed = Prune.volumes(
            VolumeStore(layout: engine.layout), all: all.contains { ["true", "1"].contains($0.lowercased()) }, filter)
        return .json(.object([("VolumesDeleted", .strings(removed.deleted)), ("SpaceReclaimed", .int(removed.reclaimed))]))
    }

    func networks(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let (filter, _) = try filters(r)
        return .json(.object([("NetworksDeleted", .strings(Prune.networks(NetworkStore(layout: engine.layout), filter)))]))
    }
}
