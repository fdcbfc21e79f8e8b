#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// The build cache: for each (parent image, step) the image that step
/// made, one small file per key under `ROOT/cache/build/`. Docker's classic
/// builder searches the parent's children and compares their recorded
/// configs; the parent ID already fixes the config, so the step text (after
/// expansion, with RUN's ARGs and COPY/ADD's content checksum) is the rest
/// of the key. An entry whose image was removed is a miss. Safe to delete.
public struct BuildCache {
    let layout: StoreLayout

    private func path(parent: String, step: String) -> String {
        layout.buildCache + "/" + Digest.hex(Digest.sha256(Array("\(parent)\n\(step)".utf8)))
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
        _ = try? FileSystem.makeDirectories(layout.buildCache)
        let json = JSON.object([("parent", .string(parent)), ("image", .string(image))])
        try? FileSystem.writeAtomically(path(parent: parent, step: step), text: json.compact)
    }

    /// Every image a build step made another stored image from: Docker's
    /// "intermediate" images, which `images` hides unless they are tagged or
    /// `-a` is given.
    public static func parents(in layout: StoreLayout) -> Set<String> {
        var result = Set<String>()
        for name in FileSystem.list(layout.buildCache) {
            guard let json = try? JSONParser.parse(FileSystem.read(layout.buildCache + "/" + name)),
                let parent = json["parent"]?.stringValue, let child = json["image"]?.stringValue,
                FileSystem.exists(layout.image(child))
            else { continue }
            result.insert(parent)
        }
        return result
    }

    /// Every recorded step: (parent, image it made).
    static func entries(in layout: StoreLayout) -> [(parent: String, image: String)] {
        FileSystem.list(layout.buildCache).compactMap { name in
            guard let json = try? JSONParser.parse(FileSystem.read(layout.buildCache + "/" + name)),
                let parent = json["parent"]?.stringValue, let image = json["image"]?.stringValue
            else { return nil }
            return (parent, image)
        }
    }

    /// The image a build made `id` from, if it is an intermediate image
    /// that nothing needs once `id` is gone: stored, untagged, with no other
    /// stored child. `rmi` removes such parents too, as Docker's does.
    public static func orphanedParent(of id: String, in layout: StoreLayout, tagged: Set<String>) -> String? {
        let all = entries(in: layout)
        guard let parent = all.first(where: { $0.image == id })?.parent, parent != id, parent.hasPrefix("sha256:"),
            FileSystem.exists(layout.image(parent)), !tagged.contains(parent)
        else { return nil }
        let otherChildren = all.filter { $0.parent == parent && $0.image != id && FileSystem.exists(layout.image($0.image)) }
        return otherChildren.isEmpty ? parent : nil
    }
}
