#if canImport(Glibc)
import Glibc
#endif

/// The subordinate id ranges `--userns auto` and `keep-id` containers hold,
/// recorded in `ROOT/userns.json` and changed only under
/// `locks/userns.lock` with atomic writes, so two concurrent creates never
/// get overlapping ranges and a removed container gives its range back.
///
/// Ranges come from the `containers` user's lines in /etc/subuid and
/// /etc/subgid (Podman's default user for `--userns=auto`).
/// `BERTH_TEST_SUBUID` and `BERTH_TEST_SUBGID` name other files: they exist
/// for the integration tests, which must not edit the host's files.
public struct UserNamespaceRanges {
    public let layout: StoreLayout
    /// The owner whose subordinate ids Berth takes.
    public static let owner = "containers"
    /// Podman's default size of an automatic range.
    public static let defaultSize: UInt32 = 65536

    public init(layout: StoreLayout) { self.layout = layout }

    var ledger: String { layout.root + "/userns.json" }
    var lock: String { layout.locks + "/userns.lock" }

    /// One container's ranges: `size` uids from `uid`, `size` gids from `gid`.
    struct Entry {
        var container: String
        var uid: UInt32
        var gid: UInt32
        var size: UInt32
        /// The creating `berth`: a range whose container has no directory
        /// is kept while its creator still runs (the create is under way).
        var pid: Int32

        var json: JSON {
            .object([
                ("Container", .string(container)), ("Uid", .int(Int64(uid))), ("Gid", .int(Int64(gid))),
                ("Size", .int(Int64(size))), ("Pid", .int(Int64(pid))),
            ])
        }

        init(container: String, uid: UInt32, gid: UInt32, size: UInt32, pid: Int32) {
            self.container = container; self.uid = uid; self.gid = gid; self.size = size; self.pid = pid
        }

        init?(json: JSON) {
            guard let c = json["Container"]?.stringValue, let u = json["Uid"]?.int64Value, let g = json["Gid"]?.int64Value,
                let s = json["Size"]?.int64Value, (0...Int64(UInt32.max)).contains(u), (0...Int64(UInt32.max)).contains(g),
                (1...Int64(UInt32.max)).contains(s)
            else { return nil }
            self.init(container: c, uid: UInt32(u), gid: UInt32(g), size: UInt32(s), pid: Int32(json["Pid"]?.intValue ?? 0))
        }
    }

    /// The subid file's path (the host's unless a test names another).
    static func file(_ kind: String) -> String {
        let variable = kind == "uid" ? "BERTH_TEST_SUBUID" : "BERTH_TEST_SUBGID"
        if let p = getenv(variable), !String(cString: p).isEmpty { return String(cString: p) }
        return "/etc/sub" + kind
    }

    /// The `containers` user's ranges in a subid file (`NAME:START:COUNT` lines).
    static func owned(_ path: String) -> [(start: UInt32, size: UInt32)] {
        guard let text = try? FileSystem.readText(path) else { return [] }
        var out: [(start: UInt32, size: UInt32)] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == Substring(owner), let start = UInt32(parts[1]), let size = UInt32(parts[2]),
                size > 0, UInt64(start) + UInt64(size) <= UInt64(UInt32.max)
            else { continue }
            out.append((start, size))
        }
        return out
    }

    /// Takes an unused range of `size` uids and gids for `container`.
    /// A ledger that cannot be read is rebuilt from the containers' records
    /// (`warn` says so in one line): reading it as empty would hand out
    /// ranges running containers hold, and their roots would be one user.
    public func allocate(
        container: String, size: UInt32, warn: (String) -> Void = { _ in }
    ) throws(BerthError) -> (uid: UInt32, gid: UInt32) {
        let uidFile = Self.file("uid"), gidFile = Self.file("gid")
        let uidRanges = Self.owned(uidFile), gidRanges = Self.owned(gidFile)
        guard !uidRanges.isEmpty, !gidRanges.isEmpty else {
            throw BerthError(
                .unavailable,
                "--userns=auto needs subordinate ids for the user \(Self.owner): add a line like '\(Self.owner):2147483647:2147483648' to \(uidRanges.isEmpty ? uidFile : gidFile) (and to \(uidRanges.isEmpty ? gidFile : uidFile) if it lacks one); see docs/userns.md"
            )
        }
        try FileSystem.makeDirectories(layout.locks)
        return try UserNamespaceStores.withOthers(layout.root) {
            others throws(BerthError) -> (uid: UInt32, gid: UInt32) in
            try allocateHere(container: container, size: size, others: others, warn: warn)
        }
    }

    /// The allocation in this store's ledger, the other stores' ranges counted as taken.
    private func allocateHere(
        container: String, size: UInt32, others: [(uid: UInt32, gid: UInt32, size: UInt32)], warn: (String) -> Void
    ) throws(BerthError) -> (uid: UInt32, gid: UInt32) {
        let uidFile = Self.file("uid"), gidFile = Self.file("gid")
        let uidRanges = Self.owned(uidFile), gidRanges = Self.owned(gidFile)
        return try FileLock.withLock(lock) { () throws(BerthError) -> (uid: UInt32, gid: UInt32) in
            var entries: [Entry]
            if let loaded = load() {
                entries = live(loaded)
            } else {
                entries = rebuilt()
                warn(
                    "\(ledger) could not be read; rebuilt it from the records of \(entries.count) containers with --userns=auto or keep-id"
                )
            }
            // Every container's map counts as taken, the ledger's or not:
            // a range is never handed out twice even if the ledger lost it.
            let explicit = recordedMaps()
            let takenUIDs =
                entries.map { ($0.uid, $0.size) } + explicit.flatMap { $0.uids.map { ($0.hostID, $0.size) } }
                + others.map { ($0.uid, $0.size) }
            let takenGIDs =
                entries.map { ($0.gid, $0.size) } + explicit.flatMap { $0.gids.map { ($0.hostID, $0.size) } }
                + others.map { ($0.gid, $0.size) }
            guard let uid = Self.firstFree(size, in: uidRanges, taken: takenUIDs),
                let gid = Self.firstFree(size, in: gidRanges, taken: takenGIDs)
            else {
                throw BerthError(
                    .unavailable,
                    "--userns=auto: no free range of \(size) ids is left in the \(Self.owner) lines of \(uidFile) and \(gidFile) (\(entries.count) containers hold ranges); remove containers or add subordinate ids"
                )
            }
            entries.append(Entry(container: container, uid: uid, gid: gid, size: size, pid: getpid()))
            try save(entries)
            return (uid, gid)
        }
    }

    /// The maps of every container of this store: those made with
    /// `--uidmap`/`--gidmap` (not in the ledger), so an automatic range never
    /// overlaps them either, as Podman's `auto` avoids every container's
    /// map, and those of `auto`/`keep-id` as a second account. The records
    /// are read as they are, without the per-container locks (taking one
    /// under the userns lock could deadlock with `rm`, which takes them in
    /// the other order).
    func recordedMaps() -> [IDMap] { records().compactMap(\.idMap) }

    /// The readable container records of this store.
    func records() -> [Container] {
        FileSystem.list(layout.containers).compactMap { id in
            guard let text = try? FileSystem.readText(layout.containerRecord(id)),
                let json = try? JSONParser.parse(text), let c = try? Container(json: json)
            else { return nil }
            return c
        }
    }

    /// The ledger's entries as the records of `auto`/`keep-id` containers
    /// show them: the range starts where the lowest non-identity host id is
    /// (keep-id also maps the user's own id to itself).
    func rebuilt() -> [Entry] {
        records().compactMap { c -> Entry? in
            guard !c.usernsMode.isEmpty, let map = c.idMap else { return nil }
            let uids = map.uids.filter { !($0.containerID == $0.hostID && $0.size == 1) }
            let gids = map.gids.filter { !($0.containerID == $0.hostID && $0.size == 1) }
            guard let u = uids.map(\.hostID).min(), let g = gids.map(\.hostID).min() else { return nil }
            let size = c.usernsMode.hasPrefix("auto") ? uids.reduce(UInt32(0)) { $0 + $1.size } : Self.defaultSize
            return Entry(container: c.id, uid: u, gid: g, size: size, pid: 0)
        }
    }

    /// Gives back a removed container's range (nothing if it held none).
    public func release(container: String) {
        guard FileSystem.exists(ledger) else { return }
        try? FileLock.withLock(lock) { () throws(BerthError) in
            guard let entries = load() else { return }  // the next allocation rebuilds it
            let kept = entries.filter { $0.container != container }
            if kept.count != entries.count { try save(kept) }
        }
    }

    /// The lowest start in `ranges` where `size` ids fit beside every taken range.
    static func firstFree(
        _ size: UInt32, in ranges: [(start: UInt32, size: UInt32)], taken: [(UInt32, UInt32)]
    ) -> UInt32? {
        let busy = taken.map { (UInt64($0.0), UInt64($0.0) + UInt64($0.1)) }.sorted { $0.0 < $1.0 }
        for range in ranges {
            var start = UInt64(range.start)
            let end = UInt64(range.start) + UInt64(range.size)
            // Past every taken range it overlaps; moving past one may land in another.
            var moved = true
            while moved {
                moved = false
                for (a, b) in busy where b > start && a < start + UInt64(size) {
                    start = b
                    moved = true
                }
            }
            if start + UInt64(size) <= end { return UInt32(start) }
        }
        return nil
    }

    /// The ledger's entries; [] when there is none yet, nil when it cannot
    /// be read or parsed (or is not the ledger's shape).
    func load() -> [Entry]? {
        guard FileSystem.exists(ledger) else { return [] }
        guard let text = try? FileSystem.readText(ledger), let json = try? JSONParser.parse(text),
            let ranges = json["Ranges"]?.arrayValue
        else { return nil }
        return ranges.compactMap(Entry.init(json:))
    }

    /// Entries whose container exists, or whose create is still running.
    func live(_ entries: [Entry]) -> [Entry] {
        entries.filter { FileSystem.exists(layout.container($0.container)) || ($0.pid > 0 && kill($0.pid, 0) == 0) }
    }

    func save(_ entries: [Entry]) throws(BerthError) {
        try FileSystem.writeAtomically(
            ledger, text: JSON.object([("Ranges", .array(entries.map(\.json)))]).pretty(indent: 2) + "\n")
    }
}
