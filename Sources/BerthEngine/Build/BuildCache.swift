#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// The build cache, under `ROOT/cache/build/`:
///
/// - `steps/KEY`: for each (parent image, step) the image that step made.
///   Docker's classic builder searches the parent's children and compares
///   their recorded configs; the parent ID already fixes the config, so the
///   step text (after expansion, with RUN's ARGs and COPY/ADD's content
///   checksum) is the rest of the key. An entry whose image was removed is a
///   miss; a rebuild with `--no-cache` replaces it.
/// - `parents/HEX`: the image a built image `sha256:HEX` was made from
///   (Docker keeps this "parent" in its image metadata). It makes `images`
///   hide intermediate images, `history` show their IDs, and `rmi`/`image
///   prune` remove a built chain together; it is never replaced.
///
/// Safe to delete: the next build runs every step, and the images already
/// built only lose those three niceties.
public struct BuildCache {
    let layout: StoreLayout

    var steps: String { layout.buildCache + "/steps" }
    static func parentsDirectory(_ layout: StoreLayout) -> String { layout.buildCache + "/parents" }

    private func path(parent: String, step: String) -> String {
        steps + "/" + Digest.hex(Digest.sha256(Array("\(parent)\n\(step)".utf8)))
    }

    /// The image a step made from `parent` before, if it is still stored.
    func lookup(parent: String, step: String) -> String? {
        guard let json = try? JSONParser.parse(FileSystem.read(path(parent: parent, step: step))),
            json["parent"]?.stringValue == parent, let image = json["image"]?.stringValue,
            FileSystem.exists(layout.image(image))
        else { return nil }
        return image
    }

    /// Records what a step made; a failure to record only costs a rebuild.
    func record(parent: String, step: String, image: String) {
        _ = try? FileSystem.makeDirectories(steps)
        let json = JSON.object([("parent", .string(parent)), ("image", .string(image))])
        try? FileSystem.writeAtomically(path(parent: parent, step: step), text: json.compact)
        guard parent.hasPrefix("sha256:") else { return }
        let parents = Self.parentsDirectory(layout)
        _ = try? FileSystem.makeDirectories(parents)
        try? FileSystem.writeAtomically(parents + "/" + Digest.hex(image), text: parent)
    }

    /// Every built image's parent: child ID → parent ID.
    static func parentLinks(in layout: StoreLayout) -> [String: String] {
        let dir = parentsDirectory(layout)
        var links: [String: String] = [:]
        for name in FileSystem.list(dir) where name.count == 64 {
            guard let parent = try? FileSystem.readText(dir + "/" + name), parent.hasPrefix("sha256:") else { continue }
            links["sha256:" + name] = parent
        }
        return links
    }

    /// Every image a build made another stored image from: Docker's
    /// "intermediate" images, which `images` hides unless they are tagged or
    /// `-a` is given, and `image prune` keeps.
    public static func parents(in layout: StoreLayout) -> Set<String> {
        Set(parentLinks(in: layout).filter { FileSystem.exists(layout.image($0.key)) }.map(\.value))
    }

    /// The image a build made `id` from, if it is an intermediate image
    /// that nothing needs once `id` is gone: stored, untagged, with no other
    /// stored child. `rmi` removes such parents too, as Docker's does.
    public static func orphanedParent(of id: String, in layout: StoreLayout, tagged: Set<String>) -> String? {
        let links = parentLinks(in: layout)
        guard let parent = links[id], parent != id, FileSystem.exists(layout.image(parent)), !tagged.contains(parent)
        else { return nil }
        let otherChildren = links.filter { $0.value == parent && $0.key != id && FileSystem.exists(layout.image($0.key)) }
        return otherChildren.isEmpty ? parent : nil
    }

    /// The images a build made `id` from, newest first, starting with `id`
    /// itself: one per history entry, as far back as builds recorded them
    /// (`history` shows these IDs instead of `<missing>`, as Docker does).
    public static func ancestry(of id: String, in layout: StoreLayout) -> [String] {
        let links = parentLinks(in: layout)
        var chain = [id]
        var seen: Set<String> = [id]
        while let parent = links[chain.last!], FileSystem.exists(layout.image(parent)), seen.insert(parent).inserted {
            chain.append(parent)
        }
        return chain
    }
}
