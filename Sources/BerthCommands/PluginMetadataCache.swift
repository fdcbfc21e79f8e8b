#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// Remembers what each external plugin answered to `berth-plugin-metadata`,
/// so that a `berth` invocation does not run every plugin once more before
/// doing its own work (1–2 ms each, for every command, `run` included).
///
/// `ROOT/plugin-metadata.json`: `{PATH: {"Stat": "DEV:INO:SIZE:MTIME:CTIME", "Output": TEXT}}`.
/// An entry counts only while the file at PATH (symlinks followed) has the
/// same device, inode, size, modification and change times, so replacing,
/// editing or `chmod`ing a plugin asks it again. Only answers that passed
/// validation are kept; the file is rewritten only when it changed, and a
/// store that cannot be written simply goes without it.
struct PluginMetadataCache {
    let path: String
    private var entries: [String: (stat: String, output: String)] = [:]
    private var used: Set<String> = []
    private var changed = false

    init(root: String) {
        path = root + "/plugin-metadata.json"
        guard let text = try? FileSystem.read(path), case .object(let members)? = try? JSONParser.parse(text) else { return }
        for (key, value) in members {
            guard let s = value["Stat"]?.stringValue, let o = value["Output"]?.stringValue else { continue }
            entries[key] = (s, o)
        }
    }

    /// The identity of the file at `path`, or nil if it cannot be read.
    static func identity(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return "\(st.st_dev):\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec):\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
    }

    /// The remembered answer of the plugin at `plugin`, if the file is unchanged.
    mutating func lookup(_ plugin: String) -> String? {
        guard let id = Self.identity(plugin), let entry = entries[plugin], entry.stat == id else { return nil }
        used.insert(plugin)
        return entry.output
    }

    /// Remembers a validated answer.
    mutating func store(_ plugin: String, output: String) {
        guard let id = Self.identity(plugin) else { return }
        entries[plugin] = (id, output)
        used.insert(plugin)
        changed = true
    }

    /// Writes the entries of the plugins seen this time, if anything changed.
    func save() {
        guard changed || used.count != entries.count, FileSystem.isDirectory(FileSystem.parent(of: path)) else { return }
        let json = JSON.object(entries.keys.sorted().filter(used.contains).map { key in
            (key, .object([("Stat", .string(entries[key]!.stat)), ("Output", .string(entries[key]!.output))]))
        })
        try? FileSystem.writeAtomically(path, text: json.pretty(indent: 2) + "\n")
    }
}
