#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// The stores on this host that hold `--userns=auto`/`keep-id` ranges.
///
/// Every store keeps its own ledger (`ROOT/userns.json`), but the ids come
/// from one host-wide pool (the `containers` lines of /etc/subuid): two
/// stores (`--root`) reading only their own ledgers would hand the same
/// range to a container of each, and the two container roots would be one
/// host user (able to signal each other's processes and read each other's
/// files). So a store that takes a range writes its root here, and each
/// allocation, under this file's lock, counts the ranges of every store
/// listed. `BERTH_TEST_USERNS_STORES` names another file for the tests.
struct UserNamespaceStores {
    /// The list, one store root a line.
    static var path: String {
        if let p = getenv("BERTH_TEST_USERNS_STORES"), !String(cString: p).isEmpty { return String(cString: p) }
        return "/var/lib/berth-userns/stores"
    }

    static var lock: String { path + ".lock" }

    /// Runs `body` under the host-wide lock with `root` listed, handing it
    /// the ranges the other listed stores hold; stores that are gone are
    /// dropped from the list.
    static func withOthers<T>(
        _ root: String, _ body: ([(uid: UInt32, gid: UInt32, size: UInt32)]) throws(BerthError) -> T
    ) throws(BerthError) -> T {
        let me = FileSystem.realPath(root)
        let dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !dir.isEmpty { try FileSystem.makeDirectories(dir) }
        return try FileLock.withLock(lock) { () throws(BerthError) -> T in
            let listed = ((try? FileSystem.readText(path)) ?? "").split(separator: "\n").map(String.init)
            var kept: [String] = []
            var taken: [(uid: UInt32, gid: UInt32, size: UInt32)] = []
            for other in listed where !kept.contains(other) && other.hasPrefix("/") && other != me {
                guard FileSystem.exists(other + "/containers") else { continue }
                kept.append(other)
                let ranges = UserNamespaceRanges(layout: StoreLayout(root: other))
                let entries = ranges.load().map(ranges.live) ?? ranges.rebuilt()
                taken += entries.map { ($0.uid, $0.gid, $0.size) }
            }
            kept.append(me)
            if kept != listed {
                try FileSystem.writeAtomically(path, text: kept.map { $0 + "\n" }.joined())
            }
            return try body(taken)
        }
    }
}
