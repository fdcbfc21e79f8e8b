#if canImport(Glibc)
import Glibc
#endif

/// Networks and their address leases in a store.
///
/// ```
/// ROOT/networks/NAME.json     the network (name, ID, subnet, gateway, bridge device)
/// ROOT/networks/NAME.leases   {"10.88.0.2": {"Container": ID, "Name": NAME, "Pid": CREATOR}}
/// ROOT/locks/network-NAME.lock
/// ```
///
/// Leases change only under the network's lock, so concurrent `run`s never
/// get one address. A lease is live while its container's directory exists,
/// or while the process that took it (a `create` not yet done) is alive; any
/// other lease is free again, so a crash never leaks an address.
public struct NetworkStore: Sendable {
    public let layout: StoreLayout

    public init(layout: StoreLayout) { self.layout = layout }

    func recordPath(_ name: String) -> String { layout.networks + "/\(name).json" }
    func leasePath(_ name: String) -> String { layout.networks + "/\(name).leases" }
    func lockPath(_ name: String) -> String { layout.locks + "/network-\(name).lock" }
    var allLock: String { layout.networkLock }

    public struct Lease: Sendable {
        public var container: String
        public var name: String
        public var pid: Int32
        /// `--network-alias` names, resolved by peers like the name.
        public var aliases: [String] = []
        /// Given with `--ip`: never handed to another container while this one exists.
        public var fixed = false
    }

    // MARK: records

    /// The network called `name` (the default `bridge` is written on first use).
    public func get(_ name: String) throws(BerthError) -> NetworkRecord {
        try FileSystem.makeDirectories(layout.networks, mode: 0o700)
        if let text = try? FileSystem.read(recordPath(name)) {
            return try NetworkRecord(json: try JSONParser.parse(text))
        }
        if name == "bridge" {
            return try FileLock.withLock(allLock) { () throws(BerthError) -> NetworkRecord in
                if let text = try? FileSystem.read(recordPath(name)) {
                    return try NetworkRecord(json: try JSONParser.parse(text))
                }
                let config = StoreConfig.load(layout)
                guard config.bridgeName.utf8.count <= 15, !config.bridgeName.isEmpty else {
                    throw BerthError(
                        "config.json: bridgeName \(config.bridgeName) must be 1 to 15 characters (a Linux interface name)")
                }
                let subnet = try defaultBridgeSubnet(config)
                let record = NetworkRecord(name: "bridge", id: RandomID.hex64(), subnet: subnet, bridge: config.bridgeName)
                try FileSystem.writeAtomically(recordPath(name), text: record.json.pretty(indent: 2) + "\n")
                return record
            }
        }
        throw .notFound("network \(name) not found; list networks with 'berth network ls'")
    }

    /// Finds a network by name, full ID or unique ID prefix.
    public func find(_ ref: String) throws(BerthError) -> NetworkRecord {
        if let found = try? get(ref) { return found }
        let matches = all().filter { $0.id.hasPrefix(ref) }
        if matches.count == 1 { return matches[0] }
        throw .notFound("network \(ref) not found; list networks with 'berth network ls'")
    }

    /// Every stored network, the default one included, by name.
    public func all() -> [NetworkRecord] {
        var list = FileSystem.list(layout.networks).filter { $0.hasSuffix(".json") }
            .compactMap { name -> NetworkRecord? in
                guard let text = try? FileSystem.read(layout.networks + "/" + name) else { return nil }
                return try? NetworkRecord(json: JSONParser.parse(text))
            }
        if !list.contains(where: \.isDefault), let b = try? get("bridge") { list.append(b) }
        return list.sorted { $0.name < $1.name }
    }

    /// The longest network name: its lock file, `network-NAME.lock`, must fit in NAME_MAX (255).
    public static let maxNameLength = 200

    /// `network create`: a new user network with the given or the next free
    /// subnet, its labels and its `Attachable` mark.
    public func create(
        _ name: String, subnet given: String?, labels: [(String, String)] = [], attachable: Bool = false
    ) throws(BerthError) -> NetworkRecord {
        guard !NetworkRecord.predefined.contains(name) else {
            throw BerthError(.permission, "operation is not permitted on predefined \(name) network ")
        }
        let chars = Array(name)
        // The name is a file name (NAME.json, NAME.leases, network-NAME.lock): it must fit in one.
        guard chars.count <= Self.maxNameLength else {
            throw BerthError(
                .invalidArgument,
                "invalid network name \"\(name.prefix(32))…\": \(chars.count) characters, at most \(Self.maxNameLength) are allowed"
            )
        }
        guard !chars.isEmpty, chars.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) else {
            throw BerthError(.invalidArgument, "invalid network name \"\(name)\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        _ = try get("bridge")
        return try FileLock.withLock(allLock) { () throws(BerthError) -> NetworkRecord in
            let existing = all()
            if existing.contains(where: { $0.name == name }) {
                throw .conflict("network with name \(name) already exists")
            }
            let subnet: Subnet
            if let given {
                guard let s = Subnet(given) else {
                    throw BerthError(
                        .invalidArgument, "invalid subnet \(given): use an IPv4 subnet like 10.90.0.0/24 with the host bits zero")
                }
                if let clash = existing.first(where: { $0.subnet.overlaps(s) }) {
                    throw BerthError(
                        "invalid pool request: Pool overlaps with other one on this address space (\(clash.name) has \(clash.subnet))"
                    )
                }
                subnet = s
            } else {
                subnet = try nextFreeSubnet(excluding: existing.map(\.subnet))
            }
            let id = RandomID.hex64()
            var record = NetworkRecord(name: name, id: id, subnet: subnet, bridge: "br-" + id.prefix(12))
            record.labels = labels
            record.attachable = attachable
            try FileSystem.writeAtomically(recordPath(name), text: record.json.pretty(indent: 2) + "\n")
            return record
        }
    }

    /// The first subnet of the pool that overlaps no network of this store,
    /// no host route and no address on any host interface.
    private func nextFreeSubnet(excluding used: [Subnet]) throws(BerthError) -> Subnet {
        let config = StoreConfig.load(layout)
        guard let pool = Subnet(config.networkPool), config.networkPoolPrefix >= pool.prefix, config.networkPoolPrefix <= 30
        else {
            throw BerthError("config.json: networkPool \(config.networkPool)/\(config.networkPoolPrefix) is not a usable pool")
        }
        let taken = used + HostRoutes.subnets() + HostRoutes.addresses().map(\.subnet)
        if let free = AddressPool(base: pool, size: config.networkPoolPrefix).firstFree(taken) { return free }
        throw BerthError(
            "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network; give --subnet or widen networkPool in config.json"
        )
    }

    /// The default network's subnet, chosen when its record is first
    /// written: `bridgeSubnet` if config.json gives one; else the subnet of
    /// the bridge device if it already exists with an address (another store
    /// with the same `bridgeName` made it: the stores share it, as
    /// `HostLeases` expects); else, as Docker does for docker0, the first
    /// subnet of `bridgePools` that overlaps no host route, no host address
    /// and no other network of this store.
    private func defaultBridgeSubnet(_ config: StoreConfig) throws(BerthError) -> Subnet {
        if let given = config.bridgeSubnet {
            guard let subnet = Subnet(given) else {
                throw BerthError("config.json: bridgeSubnet \(given) is not an IPv4 subnet like 172.17.0.0/16")
            }
            return subnet
        }
        let addresses = HostRoutes.addresses()
        if let mine = addresses.first(where: { $0.interface == config.bridgeName }) { return mine.subnet }
        var taken = HostRoutes.subnets() + addresses.map(\.subnet)
        taken += FileSystem.list(layout.networks).filter { $0.hasSuffix(".json") }.compactMap { name -> Subnet? in
            guard let text = try? FileSystem.read(layout.networks + "/" + name) else { return nil }
            return (try? NetworkRecord(json: JSONParser.parse(text)))?.subnet
        }
        for pool in config.bridgePools {
            if let free = pool.firstFree(taken) { return free }
        }
        throw BerthError(
            "no subnet of bridgePools (\(config.bridgePools.map(\.description).joined(separator: ", "))) is free on this host: each overlaps a route or an address here; set bridgeSubnet in config.json"
        )
    }

    /// `network rm`: refused while any container holds a lease on it.
    public func remove(_ ref: String) throws(BerthError) {
        // host and none are modes with no record; bridge has one.
        if ref == "host" || ref == "none" {
            throw BerthError(.permission, "\(ref) is a pre-defined network and cannot be removed")
        }
        let record = try find(ref)
        if NetworkRecord.predefined.contains(record.name) {
            throw BerthError(.permission, "\(record.name) is a pre-defined network and cannot be removed")
        }
        try FileLock.withLock(lockPath(record.name)) { () throws(BerthError) in
            if !liveLeases(record.name).isEmpty {
                // dockerd's 403 (libnetwork's ActiveEndpointsError is Forbidden).
                throw BerthError(
                    .permission, "error while removing network: network \(record.name) id \(record.id) has active endpoints")
            }
            HostNetwork.removeBridge(record.bridge)
            unlink(leasePath(record.name))
            unlink(recordPath(record.name))
        }
        unlink(lockPath(record.name))
    }

    /// Whether any container holds an address on the network.
    public func inUse(_ name: String) -> Bool { !liveLeases(name).isEmpty }

    // MARK: leases

    func readLeases(_ network: String) -> [IPv4: Lease] {
        guard let text = try? FileSystem.read(leasePath(network)), case .object(let members)? = try? JSONParser.parse(text) else {
            return [:]
        }
        var leases: [IPv4: Lease] = [:]
        for (key, value) in members {
            guard let ip = IPv4(key), let id = value["Container"]?.stringValue else { continue }
            leases[ip] = Lease(
                container: id, name: value["Name"]?.stringValue ?? "", pid: value["Pid"]?.int32Value ?? 0,
                aliases: value["Aliases"]?.stringArray ?? [], fixed: value["Fixed"]?.boolValue ?? false)
        }
        return leases
    }

    func isLive(_ lease: Lease) -> Bool {
        if FileSystem.exists(layout.container(lease.container)) { return true }
        return lease.pid > 0 && (kill(lease.pid, 0) == 0 || errno == EPERM)
    }

    /// The leases whose containers exist (or are being created).
    public func liveLeases(_ network: String) -> [IPv4: Lease] { readLeases(network).filter { isLive($0.value) } }

    private func writeLeases(_ network: String, _ leases: [IPv4: Lease]) throws(BerthError) {
        let json = JSON.object(
            leases.keys.sorted().map { ip in
                let l = leases[ip]!
                var members: [(String, JSON)] = [
                    ("Container", .string(l.container)), ("Name", .string(l.name)), ("Pid", .int(l.pid)),
                ]
                if !l.aliases.isEmpty { members.append(("Aliases", .strings(l.aliases))) }
                if l.fixed { members.append(("Fixed", .bool(true))) }
                return (ip.description, .object(members))
            })
        try FileSystem.writeAtomically(leasePath(network), text: json.pretty(indent: 2) + "\n")
    }

    /// Leases an address for a container (its `preferred` one if still free;
    /// exactly `fixed`, `--ip`, or an error), recording its aliases.
    public func lease(
        _ network: NetworkRecord, container: String, name: String,
        preferred: IPv4? = nil, fixed: IPv4? = nil, aliases: [String] = []
    ) throws(BerthError) -> NetworkEndpoint {
        try FileLock.withLock(lockPath(network.name)) { () throws(BerthError) -> NetworkEndpoint in
            var leases = liveLeases(network.name)
            if let mine = leases.first(where: { $0.value.container == container }) {
                return endpoint(network, mine.key)
            }
            // Other stores on the same bridge count too (HostLeases): the
            // choice and its record in the host ledger happen under one lock.
            let root = FileSystem.realPath(layout.root)
            let address = try HostNetwork.withLock { () throws(BerthError) -> IPv4 in
                let elsewhere = HostLeases.live(network.bridge).filter {
                    $0.value.root != root || $0.value.container != container
                }
                let free = { (ip: IPv4) in leases[ip] == nil && elsewhere[ip] == nil && ip != network.gateway }
                var chosen: IPv4?
                if let fixed {
                    try Self.checkFixed(fixed, network)
                    guard free(fixed) else {
                        throw .conflict(
                            "Address already in use: \(fixed) on network \(network.name) is another container's; give a free address or leave out --ip"
                        )
                    }
                    chosen = fixed
                } else if let preferred, network.subnet.contains(preferred), free(preferred) {
                    chosen = preferred
                } else {
                    var ip = network.gateway.value + 1
                    while ip <= network.subnet.lastHost.value {
                        if free(IPv4(ip)) { chosen = IPv4(ip); break }
                        ip += 1
                    }
                }
                guard let chosen else {
                    throw BerthError(
                        "no available IPv4 addresses on network \(network.name) (\(network.subnet)); remove containers or use a larger --subnet"
                    )
                }
                try HostLeases.claimLocked(chosen, on: network.bridge, root: root, container: container)
                return chosen
            }
            leases[address] = Lease(container: container, name: name, pid: getpid(), aliases: aliases, fixed: fixed != nil)
            try writeLeases(network.name, leases)
            return endpoint(network, address)
        }
    }

    /// `--ip`: an address of the network's subnet that is neither its
    /// network address, its gateway (the bridge's) nor its broadcast address.
    static func checkFixed(_ ip: IPv4, _ network: NetworkRecord) throws(BerthError) {
        guard network.subnet.contains(ip) else {
            throw .invalid(
                "Invalid address \(ip): It does not belong to any of this network's subnets (\(network.name) has \(network.subnet))"
            )
        }
        guard ip != network.gateway else {
            throw .conflict("Address already in use: \(ip) is the gateway of network \(network.name); give another --ip")
        }
        guard ip.value > network.subnet.base.value, ip <= network.subnet.lastHost else {
            throw .invalid(
                "Invalid address \(ip): the network or broadcast address of \(network.subnet); give a host address for --ip")
        }
    }

    private func endpoint(_ n: NetworkRecord, _ ip: IPv4) -> NetworkEndpoint {
        NetworkEndpoint(
            network: n.name, networkID: n.id, address: ip, prefix: n.subnet.prefix, gateway: n.gateway, bridge: n.bridge)
    }

    /// Gives a container's address back (and drops leases of containers that are gone).
    public func release(_ network: String, container: String) {
        try? FileLock.withLock(lockPath(network)) { () throws(BerthError) in
            let leases = liveLeases(network).filter { $0.value.container != container }
            try writeLeases(network, leases)
            rewriteHosts(network, leases)
        }
        if let record = try? get(network) {
            HostLeases.release(on: record.bridge, root: FileSystem.realPath(layout.root), container: container)
        }
    }

    /// Records a container's new name in its lease (the name other
    /// containers on a user network resolve it by).
    public func renameLease(_ network: String, container: String, to name: String) {
        try? FileLock.withLock(lockPath(network)) { () throws(BerthError) in
            var leases = liveLeases(network)
            guard let (ip, lease) = leases.first(where: { $0.value.container == container }), lease.name != name else { return }
            leases[ip]?.name = name
            try writeLeases(network, leases)
        }
    }

    /// Rewrites `/etc/hosts` of every container on a user network (in place:
    /// running containers see it through their bind mount).
    public func refreshHosts(_ network: String) {
        try? FileLock.withLock(lockPath(network)) { () throws(BerthError) in
            rewriteHosts(network, liveLeases(network))
        }
    }

    /// Every member's hosts file from its record, as its start writes it
    /// (its `--add-host` lines and its peers' aliases kept).
    private func rewriteHosts(_ network: String, _ leases: [IPv4: Lease]) {
        guard network != "bridge" else { return }  // the default network does not resolve names, as in Docker
        let containers = ContainerStore(layout: layout)
        for (_, lease) in leases {
            let path = layout.container(lease.container) + "/hosts"
            guard FileSystem.exists(path), case .ok(let c) = containers.loadRecord(id: lease.container) else { continue }
            // A container on several user networks (`network connect`) lists its peers on each of them.
            var peers = Self.peers(leases, except: lease.container)
            for e in c.endpoints where e.network != network && e.network != "bridge" {
                peers += Self.peers(liveLeases(e.network), except: lease.container)
            }
            let links = (try? ResolvedLinks.resolve(c, in: containers, strict: false))?.hosts ?? []
            let text = HostsFile.hosts(for: c, peers: peers, gateway: hostGateway(for: c), links: links)
            HostsFile.writeInPlace(path, text)
        }
    }

    /// The peers of a container on a user network, for its hosts file at
    /// start: each address with its names (the container's, then its aliases).
    public func peers(_ network: String, except container: String) -> [(IPv4, String)] {
        guard network != "bridge" else { return [] }
        return Self.peers(liveLeases(network), except: container)
    }

    static func peers(_ leases: [IPv4: Lease], except container: String) -> [(IPv4, String)] {
        leases.filter { $0.value.container != container }.sorted { $0.key < $1.key }
            .map { ($0.key, ([$0.value.name] + $0.value.aliases).joined(separator: " ")) }
    }

    /// What `--add-host NAME:host-gateway` maps to: the gateway of the
    /// container's network (a host address it routes through), else the
    /// default bridge's, as Docker maps it to docker0's address.
    public func hostGateway(for c: Container) -> IPv4? {
        guard c.networkOptions.extraHosts.contains(where: { $0.hasSuffix(":" + NetworkOptions.hostGateway) }) else {
            return nil
        }
        return c.endpoint?.gateway ?? (try? get("bridge"))?.gateway
    }
}

/// `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf` as Docker writes them.
public enum HostsFile {
    static let base =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"

    /// The hosts file of a container: loopback (on the host's network, the
    /// host's own file), its `--add-host` lines (Docker's place for them),
    /// itself, and its peers with their aliases.
    public static func hosts(for c: Container, peers: [(IPv4, String)], gateway: IPv4?, links: [(IPv4, String)] = [])
        -> String
    {
        var text = c.hostNetwork ? ((try? FileSystem.readText("/etc/hosts")) ?? base) : base
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += c.networkOptions.hostLines(gateway: gateway)
        for (ip, names) in links { text += "\(ip)\t\(names)\n" }
        if !c.hostNetwork, let address = c.endpoint?.address {
            text += "\(address)\t\(c.hostname)\(c.name == c.hostname ? "" : " " + c.name)\n"
        }
        for (ip, peer) in peers { text += "\(ip)\t\(peer)\n" }
        return text
    }

    /// A container's resolv.conf. Without `--dns*`: the host's (on the host
    /// network as it is; otherwise without loopback nameservers, unreachable
    /// from a container's namespace, and Google's public DNS if none is
    /// left, as Docker does). Each of `--dns`, `--dns-search`,
    /// `--dns-option` given replaces the host's lines of its kind, written in
    /// Docker's order (search, nameservers, options); `--dns-search .` means none.
    public static func resolvConf(for c: Container) -> String {
        let host = (try? FileSystem.readText("/etc/resolv.conf")) ?? ""
        let o = c.networkOptions
        if c.hostNetwork && o.dns.isEmpty && o.dnsSearch.isEmpty && o.dnsOptions.isEmpty { return host }
        var lines: [String] = []
        var servers: [String] = []
        var search: [String] = []
        var options: [String] = []
        for line in host.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            switch words.first {
            case "nameserver":
                if !c.hostNetwork && words.count > 1 && (words[1].hasPrefix("127.") || words[1] == "::1") { continue }
                servers.append(words.count > 1 ? words[1] : "")
            case "search", "domain": search = Array(words.dropFirst())
            case "options": options += words.dropFirst()
            default: break
            }
            lines.append(String(line))
        }
        if o.dns.isEmpty && o.dnsSearch.isEmpty && o.dnsOptions.isEmpty {
            if servers.isEmpty { lines += ["nameserver 8.8.8.8", "nameserver 8.8.4.4"] }
            return lines.joined(separator: "\n") + "\n"
        }
        if !o.dns.isEmpty { servers = o.dns } else if servers.isEmpty { servers = ["8.8.8.8", "8.8.4.4"] }
        if !o.dnsSearch.isEmpty { search = o.dnsSearch }
        if !o.dnsOptions.isEmpty { options = o.dnsOptions }
        var text = ""
        if !search.isEmpty && search.joined(separator: " ").trimmingSpaces != "." {
            text += "search " + search.joined(separator: " ") + "\n"
        }
        for s in servers { text += "nameserver \(s)\n" }
        if !options.isEmpty { text += "options " + options.joined(separator: " ") + "\n" }
        return text
    }

    /// Truncates and rewrites a file keeping its inode (bind mounts follow inodes).
    static func writeInPlace(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = writeFully(fd, Array(text.utf8))
    }
}

/// Docker's `default-address-pools` entry: subnets of `size` bits carved
/// from `base`, tried in order.
public struct AddressPool: Sendable, Equatable, CustomStringConvertible {
    public var base: Subnet
    public var size: Int

    public init(base: Subnet, size: Int) { self.base = base; self.size = size }

    /// Docker's default pools: 172.17.0.0/16 … 172.31.0.0/16, then
    /// 192.168.0.0/16 in /20s. The default bridge takes the first free one.
    public static let dockerDefaults: [AddressPool] =
        (17...31).map { AddressPool(base: Subnet(base: IPv4(0xAC00_0000 | UInt32($0) << 16), prefix: 16), size: 16) }
        + [AddressPool(base: Subnet(base: IPv4(0xC0A8_0000), prefix: 16), size: 20)]

    public var description: String { "\(base)/\(size)" }

    /// The first subnet that overlaps none of `taken`.
    public func firstFree(_ taken: [Subnet]) -> Subnet? {
        guard size >= base.prefix, size <= 30 else { return nil }
        let step = UInt64(1) << UInt64(32 - size)
        var next = UInt64(base.base.value)
        let end = next + (UInt64(1) << UInt64(32 - base.prefix))
        while next < end {
            let candidate = Subnet(base: IPv4(UInt32(next)), prefix: size)
            if !taken.contains(where: { $0.overlaps(candidate) }) { return candidate }
            next += step
        }
        return nil
    }
}

/// The host's IPv4 routes, so a new network never hides one of them.
enum HostRoutes {
    /// Every IPv4 address on a host interface (up or down), with its subnet.
    static func addresses() -> [(interface: String, subnet: Subnet)] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var found: [(interface: String, subnet: Subnet)] = []
        var item = list
        while let entry = item {
            defer { item = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET),
                let mask = entry.pointee.ifa_netmask
            else { continue }
            let ip = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            let bits = mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            found.append((String(cString: entry.pointee.ifa_name), Subnet(base: IPv4(ip), prefix: bits.nonzeroBitCount)))
        }
        return found
    }

    static func subnets() -> [Subnet] {
        guard let text = try? FileSystem.readText("/proc/net/route") else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard f.count > 7, let dst = UInt32(f[1], radix: 16), let mask = UInt32(f[7], radix: 16), mask != 0 else {
                return nil
            }
            return Subnet(base: IPv4(dst.byteSwapped), prefix: mask.nonzeroBitCount)
        }
    }
}
