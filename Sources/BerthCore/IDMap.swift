/// One line of a user namespace's uid_map or gid_map: `size` ids from
/// `containerID` inside are `hostID`… outside.
public struct IDRange: Sendable, Equatable {
    public var containerID: UInt32
    public var hostID: UInt32
    public var size: UInt32

    public init(containerID: UInt32, hostID: UInt32, size: UInt32) {
        self.containerID = containerID
        self.hostID = hostID
        self.size = size
    }

    /// Podman's `CONTAINER:HOST:AMOUNT`.
    public var text: String { "\(containerID):\(hostID):\(size)" }

    func hostID(of id: UInt32) -> UInt32? {
        id >= containerID && UInt64(id) < UInt64(containerID) + UInt64(size) ? hostID + (id - containerID) : nil
    }

    func containerID(of id: UInt32) -> UInt32? {
        id >= hostID && UInt64(id) < UInt64(hostID) + UInt64(size) ? containerID + (id - hostID) : nil
    }
}

/// The uid and gid maps of a container's user namespace (`--uidmap`,
/// `--gidmap`, `--userns auto|keep-id`), as the monitor writes them to
/// /proc/PID/uid_map and gid_map and idmapped mounts use them.
public struct IDMap: Sendable, Equatable {
    public var uids: [IDRange]
    public var gids: [IDRange]

    /// The kernel takes at most this many lines per map (since Linux 4.15).
    public static let maxLines = 340

    public init(uids: [IDRange], gids: [IDRange]) {
        self.uids = uids
        self.gids = gids
    }

    /// The host uid and gid of the container's root: who owns what the
    /// container's root makes, and whose ids overlayfs writes its upper layer with.
    public var rootOnHost: (uid: UInt32, gid: UInt32) {
        (hostUID(0) ?? uids.first?.hostID ?? 0, hostGID(0) ?? gids.first?.hostID ?? 0)
    }

    public func hostUID(_ id: UInt32) -> UInt32? { uids.lazy.compactMap { $0.hostID(of: id) }.first }
    public func hostGID(_ id: UInt32) -> UInt32? { gids.lazy.compactMap { $0.hostID(of: id) }.first }
    /// The container's view of a host id; ids the map does not cover show
    /// as the kernel's overflow id, 65534, as they do inside.
    public func containerUID(_ id: UInt32) -> UInt32 { uids.lazy.compactMap { $0.containerID(of: id) }.first ?? 65534 }
    public func containerGID(_ id: UInt32) -> UInt32 { gids.lazy.compactMap { $0.containerID(of: id) }.first ?? 65534 }

    /// The text of /proc/PID/uid_map (`INSIDE OUTSIDE COUNT` lines).
    public var uidMapText: String { Self.procText(uids) }
    public var gidMapText: String { Self.procText(gids) }

    static func procText(_ ranges: [IDRange]) -> String {
        ranges.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
    }

    /// `--uidmap`/`--gidmap` values, Podman's syntax: each
    /// `CONTAINER_ID:HOST_ID:AMOUNT`. Given only one of the two, the other
    /// is the same map, as in Podman. Nil when neither is given.
    public static func parse(uidmap: [String], gidmap: [String]) throws(BerthError) -> IDMap? {
        guard !uidmap.isEmpty || !gidmap.isEmpty else { return nil }
        let uids = try ranges(uidmap, flag: "--uidmap")
        let gids = try ranges(gidmap, flag: "--gidmap")
        // Each map given is checked under its own flag's name; a copied one is the same.
        if !uids.isEmpty { try check(uids, flag: "--uidmap") }
        if !gids.isEmpty { try check(gids, flag: "--gidmap") }
        return IDMap(uids: uids.isEmpty ? gids : uids, gids: gids.isEmpty ? uids : gids)
    }

    static func ranges(_ values: [String], flag: String) throws(BerthError) -> [IDRange] {
        var out: [IDRange] = []
        for text in values {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            func bad(_ why: String) -> BerthError {
                .invalid("invalid argument \"\(shown(text))\" for \"\(flag)\" flag: \(why)")
            }
            guard parts.count == 3 else { throw bad("use CONTAINER_ID:HOST_ID:AMOUNT, e.g. 0:100000:65536") }
            var numbers: [UInt32] = []
            for part in parts {
                guard !part.isEmpty, part.utf8.count <= 10, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                    let n = UInt64(part), n <= UInt64(UInt32.max)
                else {
                    throw bad("\(shown(String(part))) is not an id: give a whole number from 0 to 4294967295")
                }
                numbers.append(UInt32(n))
            }
            guard numbers[2] > 0 else { throw bad("the amount is 0: map at least one id") }
            for (value, side) in [(numbers[0], "container"), (numbers[1], "host")]
            where UInt64(value) + UInt64(numbers[2]) > UInt64(UInt32.max) {
                throw bad("the \(side) ids \(value)…\(UInt64(value) + UInt64(numbers[2]) - 1) go past 4294967294, the last id")
            }
            out.append(IDRange(containerID: numbers[0], hostID: numbers[1], size: numbers[2]))
        }
        return out
    }

    /// What the kernel would refuse, said before anything is made: more
    /// than 340 lines, ranges that overlap on either side, a map that does
    /// not give the container a root (Berth builds the container's root as
    /// its uid 0 and gid 0).
    public func validate() throws(BerthError) {
        try Self.check(uids, flag: "--uidmap")
        try Self.check(gids, flag: "--gidmap")
    }

    static func check(_ ranges: [IDRange], flag: String) throws(BerthError) {
        guard ranges.count <= Self.maxLines else {
            throw .invalid(
                "\(flag): \(ranges.count) ranges, but the kernel takes at most \(Self.maxLines); merge adjacent ranges")
        }
        for (i, a) in ranges.enumerated() {
            for b in ranges[(i + 1)...] {
                for (x, y, side) in [
                    (a.containerID, b.containerID, "container"), (a.hostID, b.hostID, "host"),
                ] {
                    if UInt64(x) < UInt64(y) + UInt64(b.size) && UInt64(y) < UInt64(x) + UInt64(a.size) {
                        throw .invalid(
                            "\(flag) \(a.text) and \(b.text) overlap in their \(side) ids; give ranges that do not overlap")
                    }
                }
            }
        }
        let hasRoot = ranges.contains { $0.containerID == 0 }
        guard hasRoot else {
            throw .invalid(
                "\(flag) maps no container id 0: the container needs a root; start a range at 0 (0:HOST_ID:AMOUNT)")
        }
    }

    /// Reads `CONTAINER:HOST:AMOUNT` lines back from a record.
    public init?(uidTexts: [String], gidTexts: [String]) {
        guard let u = try? Self.ranges(uidTexts, flag: ""), let g = try? Self.ranges(gidTexts, flag: ""),
            !u.isEmpty, !g.isEmpty
        else { return nil }
        self.init(uids: u, gids: g)
    }
}
