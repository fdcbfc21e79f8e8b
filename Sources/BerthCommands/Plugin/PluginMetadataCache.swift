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
/// validation are kept, and only if the file was the same before and after
/// the call and was not changed in the last two seconds (a rewrite within
/// one timestamp tick would look unchanged). The file is rewritten only when
/// an entry was added or its plugin is gone, and a store that cannot be
/// written simply goes without it. What the stat cannot see (a wrapper
/// script whose target changed) needs `rm ROOT/plugin-metadata.json`.
struct PluginMetadataCache {
    let path: String
    private var entries: [String: (stat: String, output: String)] = [:]
    private var changed = false

    init(root: String) {
        path = root + "/plugin-metadata.json"
        // Opened directly: a missing cache is the usual case, and going
        // through FileSystem.read would format an error message to drop.
        guard let fd = try? FileDescriptor.open(path, O_RDONLY) else { return }
        defer { fd.close() }
        guard let text = try? fd.readAll(), case .object(let members)? = try? JSONParser.parse(text) else { return }
        for (key, value) in members {
            guard let s = value["Stat"]?.stringValue, let o = value["Output"]?.stringValue else { continue }
            entries[key] = (s, o)
        }
    }

    /// The identity of the file at `path`, or nil if it cannot be read or
    /// changed too recently to be trusted.
    static func identity(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let now = Timestamp.now.seconds
        guard now - Int64(st.st_ctim.tv_sec) >= 2, now - Int64(st.st_mtim.tv_sec) >= 2 else { return nil }
        return
            "\(st.st_dev):\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec):\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
    }

    /// The remembered answer of the plugin at `plugin`, if the file is unchanged.
    func lookup(_ plugin: String) -> String? {
        guard let id = Self.identity(plugin), let entry = entries[plugin], entry.stat == id else { return nil }
        return entry.output
    }

    /// Remembers a validated answer, if the file's identity taken `before`
    /// the call still holds (no upgrade swapped it in meanwhile).
    mutating func store(_ plugin: String, output: String, before: String?) {
        guard let before, Self.identity(plugin) == before else { return }
        entries[plugin] = (before, output)
        changed = true
    }

    /// Forgets a remembered answer that no longer passes validation.
    mutating func forget(_ plugin: String) {
        if entries.removeValue(forKey: plugin) != nil { changed = true }
    }

    /// Writes the entries back, without those whose plugin file is gone, if
    /// anything changed. Entries of plugins this invocation did not look at
    /// (another HOME, another BERTH_PLUGIN_PATH) stay.
    func save() {
        let kept = entries.filter { FileSystem.exists($0.key) }
        guard changed || kept.count != entries.count, FileSystem.isDirectory(FileSystem.parent(of: path)) else { return }
        let json = JSON.object(
            kept.keys.sorted().map { key in
                (key, .object([("Stat", .string(kept[key]!.stat)), ("Output", .string(kept[key]!.output))]))
            })
        try? FileSystem.writeAtomically(path, text: json.pretty(indent: 2) + "\n")
    }
}
