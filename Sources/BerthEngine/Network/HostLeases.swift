#if canImport(Glibc)
import Glibc
#endif

/// Addresses in use on a bridge, host-wide.
///
/// A bridge is a host device, but leases live in a store. Two stores with the
/// default config share `berth0` and 10.88.0.0/16, so each would hand out
/// 10.88.0.2 and two containers would answer ARP for one address. This
/// ledger, one file per bridge in `/run/berth/leases/`, records every store's
/// addresses on the bridge; a store leasing an address skips the ones the
/// ledger holds for other stores' containers.
///
/// ```
/// /run/berth/leases/BRIDGE   {"10.88.0.2": {"Root": STORE, "Container": ID, "Pid": CREATOR}}
/// ```
///
/// Every access runs under the host network lock. An entry is live while its
/// container's directory exists in its store, or while the process that
/// took it is alive (a `create` not yet done), as store leases are; dead
/// entries are dropped on the next write. `/run` starts empty after a boot,
/// when stopped containers still hold store leases: each start claims its
/// address again and is refused if another store's live container has it.
enum HostLeases {
    struct Holder {
        var root: String
        var container: String
        var pid: Int32
    }

    static var directory: String { HostNetwork.runDirectory + "/leases" }
    static func path(_ bridge: String) -> String { directory + "/" + bridge }

    /// The live entries of a bridge, by address.
    static func live(_ bridge: String) -> [IPv4: Holder] {
        guard let text = try? FileSystem.read(path(bridge)), case .object(let members)? = try? JSONParser.parse(text) else {
            return [:]
        }
        var holders: [IPv4: Holder] = [:]
        for (key, value) in members {
            guard let ip = IPv4(key), let root = value["Root"]?.stringValue, let id = value["Container"]?.stringValue else {
                continue
            }
            let holder = Holder(root: root, container: id, pid: value["Pid"]?.int32Value ?? 0)
            if isLive(holder) { holders[ip] = holder }
        }
        return holders
    }

    static func isLive(_ h: Holder) -> Bool {
        if FileSystem.exists(h.root + "/containers/" + h.container) { return true }
        return h.pid > 0 && (kill(h.pid, 0) == 0 || errno == EPERM)
    }

    static func write(_ bridge: String, _ holders: [IPv4: Holder]) throws(BerthError) {
        if holders.isEmpty {  // the last address went: no file, as before the bridge was used
            unlink(path(bridge))
            return
        }
        try FileSystem.makeDirectories(directory, mode: 0o700)
        let json = JSON.object(
            holders.keys.sorted().map { ip in
                let h = holders[ip]!
                return (
                    ip.description,
                    .object([("Root", .string(h.root)), ("Container", .string(h.container)), ("Pid", .int(h.pid))])
                )
            })
        try FileSystem.writeAtomically(path(bridge), text: json.pretty(indent: 2) + "\n")
    }

    /// Records `ip` for the container; refused if another live container has
    /// it. The caller holds the host network lock (`HostNetwork.withLock`).
    static func claimLocked(_ ip: IPv4, on bridge: String, root: String, container: String) throws(BerthError) {
        var holders = live(bridge)
        if let holder = holders[ip] {
            guard holder.root == root && holder.container == container else {
                throw .conflict(
                    "address \(ip) on \(bridge) is in use by container \(holder.container.prefix(12)) of the store \(holder.root); remove one of the two containers, or give one store its own bridgeName and bridgeSubnet in config.json"
                )
            }
            // Already ours (every start after the create): nothing to write.
            if FileSystem.exists(root + "/containers/" + container) { return }
        }
        holders[ip] = Holder(root: root, container: container, pid: getpid())
        try write(bridge, holders)
    }

    /// Forgets the container's address on the bridge.
    static func release(on bridge: String, root: String, container: String) {
        _ = try? HostNetwork.withLock { () throws(BerthError) in
            let holders = live(bridge).filter { $0.value.root != root || $0.value.container != container }
            try write(bridge, holders)
        }
    }
}
