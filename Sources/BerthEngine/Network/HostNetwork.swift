#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The host side of container networking: bridges, veth pairs, sysctls and
/// nftables tables. Links are made with rtnetlink in-process (no `ip`); only
/// nftables rules are written with the `nft` program, and only when a bridge
/// appears or disappears or a container publishes ports.
///
/// Bridge and veth devices are host-wide, so every change to them runs
/// under one host-wide lock, `/run/berth/network.lock`, whatever the store.
public enum HostNetwork {
    static let runDirectory = "/run/berth"
    static var lock: String { runDirectory + "/network.lock" }
    static var bridgesDirectory: String { runDirectory + "/bridges" }
    static var forwardMarker: String { runDirectory + "/ip_forward.enabled" }

    /// The host end of a container's veth pair (≤ 15 characters, from the ID,
    /// so `rm -f` after a crash finds it).
    public static func hostVeth(_ containerID: String) -> String { "bv" + containerID.prefix(12) }
    /// The host end for the container's `eth<n>` (n ≥ 1, a network joined by `network connect`).
    public static func hostVeth(_ containerID: String, interface n: Int) -> String {
        n == 0 ? hostVeth(containerID) : hostVeth(containerID) + String(n)
    }
    /// At most `eth0`…`eth9`: the host end's name has one digit to spare.
    public static let maxInterfaces = 10
    /// The nftables table of a container's published ports.
    static func portTable(_ containerID: String) -> String { "berth-c-" + containerID.prefix(12) }
    /// The nftables table of a bridge (masquerade, forward, loopback guard).
    static func bridgeTable(_ bridge: String) -> String { "berth-n-" + bridge }

    /// Runs `body` under the host network lock. Every file under
    /// `/run/berth` is written under this lock, so a `FILE.tmp-PID` found
    /// here is a write whose `berth` was killed before its rename: it is
    /// removed first (only if that process is gone), as the store's own
    /// temp files are when a command opens the store.
    static func withLock<T>(_ body: () throws(BerthError) -> T) throws(BerthError) -> T {
        try FileSystem.makeDirectories(bridgesDirectory, mode: 0o700)
        return try FileLock.withLock(lock) { () throws(BerthError) -> T in
            sweepTempFiles()
            return try body()
        }
    }

    /// Removes temp files of killed writers in `/run/berth` and its
    /// `leases/` and `bridges/` (three small directory reads).
    static func sweepTempFiles() {
        for dir in [runDirectory, HostLeases.directory, bridgesDirectory] {
            FileSystem.removeStaleTempFiles(in: dir)
        }
    }

    private static func netlink() throws(BerthError) -> Int32 {
        let fd = berth_nl_open()
        guard fd >= 0 else { throw .syscall("socket", "NETLINK_ROUTE", .current) }
        return fd
    }

    /// Creates the bridge if missing, then the container's veth pair: the
    /// host end enslaved to the bridge and up, the peer created as `eth0`
    /// directly in the network namespace of `pid` (which configures it itself).
    /// First the address is claimed in the host-wide ledger (`HostLeases`):
    /// after a reboot another store may have handed it out again.
    public static func attach(
        _ endpoint: NetworkEndpoint, containerID: String, storeRoot: String,
        pid: Int32, interface n: Int = 0
    ) throws(BerthError) {
        try withLock { () throws(BerthError) in
            try HostLeases.claimLocked(
                endpoint.address, on: endpoint.bridge, root: FileSystem.realPath(storeRoot),
                container: containerID)
            let fd = try netlink()
            defer { close(fd) }
            let index = try ensureBridge(fd, endpoint)
            let veth = hostVeth(containerID, interface: n)
            _ = berth_nl_delete_link(fd, veth)  // a previous run's, if its namespace is still being torn down
            let mac = endpoint.macBytes
            if berth_nl_create_veth(fd, veth, index, "eth\(n)", pid, mac) != 0 {
                throw .syscall("create veth pair", "\(veth) on \(endpoint.bridge)", .current)
            }
        }
    }

    /// The bridge, its address, sysctls and nftables table, made if missing.
    /// A bridge outlives its containers, so an existing one is checked too:
    /// a firewall reload may have flushed the table, or something turned
    /// ip_forward off (two reads and one netlink request; Docker re-applies
    /// its rules when the daemon starts, Berth when a container does).
    private static func ensureBridge(_ fd: Int32, _ e: NetworkEndpoint) throws(BerthError) -> Int32 {
        var index = berth_nl_index(e.bridge)
        // A bridge Berth did not make (bridgeName naming br0 or virbr0) is
        // used as it is: only Berth's own are checked and repaired.
        if index > 0 && !FileSystem.exists(bridgesDirectory + "/" + e.bridge) { return index }
        if index > 0 {
            let tableThere = berth_nft_table_exists(bridgeTable(e.bridge)) != 0  // 1, or -1: cannot tell, leave it
            // A table from before network isolation is made again (its marker file lacks the current isolation word).
            let isolated = ((try? FileSystem.readText(bridgesDirectory + "/" + e.bridge)) ?? "").contains(isolationMarker)
            if tableThere && isolated && readSysctl("/proc/sys/net/ipv4/ip_forward") != "0"
                && readSysctl("/proc/sys/net/ipv4/conf/\(e.bridge)/route_localnet") == "1"
            {
                return index
            }
            try configureBridge(fd, e, index: index, fresh: false)
            return index
        }
        if berth_nl_create_bridge(fd, e.bridge) != 0 && errno != EEXIST {
            throw .syscall("create bridge", e.bridge, .current)
        }
        index = berth_nl_index(e.bridge)
        guard index > 0 else { throw .syscall("find bridge", e.bridge, Errno(ENODEV)) }
        try configureBridge(fd, e, index: index, fresh: true)
        return index
    }

    /// Address, up, sysctls and the nftables table of a bridge, each step
    /// harmless if already done (the table is flushed and filled again in
    /// one nft batch). Only a `fresh` bridge is deleted on failure: a
    /// repaired one may have containers plugged in.
    private static func configureBridge(_ fd: Int32, _ e: NetworkEndpoint, index: Int32, fresh: Bool) throws(BerthError) {
        if berth_nl_add_address(fd, index, e.gateway.networkOrder, Int32(e.prefix)) != 0 && errno != EEXIST {
            let err = Errno.current
            if fresh { _ = berth_nl_delete_link(fd, e.bridge) }
            throw .syscall("set the bridge address", "\(e.gateway)/\(e.prefix) on \(e.bridge)", err)
        }
        _ = berth_nl_link_up(fd, index)
        // 127.0.0.1-published ports are DNAT'd out of this bridge; the kernel
        // routes a 127/8 source off loopback only with route_localnet.
        writeSysctl("/proc/sys/net/ipv4/conf/\(e.bridge)/route_localnet", "1")
        if readSysctl("/proc/sys/net/ipv4/ip_forward") == "0" {
            writeSysctl("/proc/sys/net/ipv4/ip_forward", "1")
            _ = try? FileSystem.writeAtomically(
                forwardMarker, text: "berth turned ip_forward on; it turns it off with its last bridge\n")
        }
        let subnet = Subnet(base: e.gateway, prefix: e.prefix)
        let table = bridgeTable(e.bridge)
        let rules = """
            table ip \(table)
            flush table ip \(table)
            table ip \(table) {
              chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "\(e.bridge)" ip saddr 127.0.0.0/8 masquerade; ip saddr \(subnet) oifname != "\(e.bridge)" masquerade; }
              chain forwarding { type filter hook forward priority filter; policy accept; \(isolationRules(e.bridge))iifname "\(e.bridge)" accept; oifname "\(e.bridge)" ct state established,related accept; }
              chain localguard { type filter hook prerouting priority raw; policy accept; iifname "\(e.bridge)" ip daddr 127.0.0.0/8 drop; }
            }
            """
        if let failure = Nft.run(rules) {
            if fresh { _ = berth_nl_delete_link(fd, e.bridge) }
            throw BerthError("cannot add the nftables rules of \(e.bridge): \(failure)")
        }
        _ = try? FileSystem.writeAtomically(bridgesDirectory + "/" + e.bridge, text: table + "\n" + isolationMarker + "\n")
    }

    /// The word in a bridge's marker file (`/run/berth/bridges/NAME`) that
    /// says its table has the isolation rules.
    static let isolationMarker = "isolation v2"

    /// Network isolation, as Docker's DOCKER-ISOLATION chains do it: no
    /// packet is forwarded between this bridge and any other bridge Berth
    /// made (of any store, listed in /run/berth/bridges), either way. Each
    /// table names the bridges that existed when it was written; for any two
    /// bridges the newer one's table covers both directions, so nothing has
    /// to be rewritten when a network comes or goes (a gone bridge's name
    /// in an older table matches nothing; a bridge made again gets a new
    /// table listing every other one). A published port stays reachable
    /// from every network, as in Docker (moby#18354): connections Berth's
    /// port rules DNAT'd (`ct status dnat`) are not dropped.
    static func isolationRules(_ bridge: String) -> String {
        let others = FileSystem.list(bridgesDirectory).filter { $0 != bridge && !$0.contains(".tmp-") }.sorted()
        guard !others.isEmpty else { return "" }
        let set = "{ " + others.map { "\"\($0)\"" }.joined(separator: ", ") + " }"
        return "iifname \"\(bridge)\" oifname \(set) ct status & dnat == 0 drop; "
            + "iifname \(set) oifname \"\(bridge)\" ct status & dnat == 0 drop; "
    }

    /// Deletes a container's host veth (its peer goes with it). The bridge
    /// stays, as docker0 does: the next container on the network finds it
    /// ready, so a start costs one veth request instead of a bridge and two
    /// `nft` runs. It goes with its network (`network rm`, `network prune`,
    /// `system reset`).
    public static func detach(containerID: String) {
        _ = try? withLock { () throws(BerthError) in
            guard let fd = try? netlink() else { return }
            defer { close(fd) }
            _ = berth_nl_delete_link(fd, hostVeth(containerID))
            // Those of networks joined later: only names that exist (one ioctl each).
            for n in 1..<maxInterfaces where berth_nl_index(hostVeth(containerID, interface: n)) > 0 {
                _ = berth_nl_delete_link(fd, hostVeth(containerID, interface: n))
            }
        }
    }

    /// Deletes the host end of one interface (`network disconnect`); its peer
    /// inside the container goes with it.
    public static func detach(containerID: String, interface n: Int) {
        _ = try? withLock { () throws(BerthError) in
            guard let fd = try? netlink() else { return }
            defer { close(fd) }
            _ = berth_nl_delete_link(fd, hostVeth(containerID, interface: n))
        }
    }

    /// Configures `eth<n>` inside the network namespace of `pid` from the
    /// host (a helper joins it): address, up, and the default route only
    /// for a container's first network.
    public static func configure(
        _ endpoint: NetworkEndpoint, pid: Int32, interface n: Int, defaultRoute: Bool = false
    ) throws(BerthError) {
        var step: UnsafePointer<CChar>? = nil
        let gateway = defaultRoute ? endpoint.gateway.networkOrder : 0
        let rc = "eth\(n)".withCString { name in
            berth_nl_container_of(pid, name, endpoint.address.networkOrder, Int32(endpoint.prefix), gateway, &step)
        }
        if rc != 0 {
            throw .syscall(step.map { String(cString: $0) } ?? "configure eth\(n)", "eth\(n) on \(endpoint.network)", .current)
        }
    }

    /// Deletes a bridge and its nftables table, unless a container (of this
    /// store or of another one sharing the bridge name) is still plugged in.
    public static func removeBridge(_ bridge: String) {
        _ = try? withLock { () throws(BerthError) in
            guard let fd = try? netlink() else { return }
            defer { close(fd) }
            let exists = berth_nl_index(bridge) > 0
            if exists && !FileSystem.list("/sys/class/net/\(bridge)/brif").isEmpty { return }
            if exists { _ = berth_nl_delete_link(fd, bridge) }
            if FileSystem.exists(bridgesDirectory + "/" + bridge) {
                _ = Nft.run("delete table ip \(bridgeTable(bridge))")
                unlink(bridgesDirectory + "/" + bridge)
            }
            if FileSystem.list(bridgesDirectory).isEmpty && FileSystem.exists(forwardMarker) {
                writeSysctl("/proc/sys/net/ipv4/ip_forward", "0")
                unlink(forwardMarker)
            }
        }
    }

    // MARK: ports

    /// Adds the DNAT rules of a container's published ports (its own table).
    public static func publish(_ ports: [PortBinding], containerID: String, address: IPv4) throws(BerthError) {
        guard !ports.isEmpty else { return }
        var rules: [String] = []
        for p in ports {
            let match = p.hostIP == "0.0.0.0" ? "fib daddr type local" : "ip daddr \(p.hostIP)"
            rules.append("\(match) \(p.proto) dport \(p.hostPort) dnat to \(address):\(p.containerPort)")
        }
        let body = rules.joined(separator: "; ")
        let table = portTable(containerID)
        let script = """
            table ip \(table) {
              chain prerouting { type nat hook prerouting priority dstnat; policy accept; \(body); }
              chain output { type nat hook output priority -100; policy accept; \(body); }
            }
            """
        if let failure = Nft.run(script) {
            throw BerthError("cannot publish ports (nft): \(failure); is nftables available (apt-get install nftables)?")
        }
    }

    /// Removes a container's port rules.
    public static func unpublish(containerID: String) {
        _ = Nft.run("delete table ip \(portTable(containerID))")
    }

    // MARK: sysctls

    static func readSysctl(_ path: String) -> String {
        String(((try? FileSystem.readText(path)) ?? "").filter { $0 != " " && $0 != "\n" })
    }

    static func writeSysctl(_ path: String, _ value: String) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = writeFully(fd, Array(value.utf8))
        close(fd)
    }

    /// Reserves published host ports the way docker-proxy does, by binding
    /// (and, for TCP, listening on) them: another program then cannot take
    /// them, and a taken port is refused. Nothing ever reaches these sockets:
    /// the DNAT rules divert the traffic first. Returns the fds.
    public static func reserve(_ ports: [PortBinding]) throws(BerthError) -> [Int32] {
        var fds: [Int32] = []
        for p in ports {
            let fd = berth_port_bind(p.hostIP, p.hostPort, p.proto == "udp" ? 1 : 0)
            if fd < 0 {
                let err = Errno.current
                fds.forEach { close($0) }
                throw BerthError(
                    "driver failed programming external connectivity: Bind for \(p.hostIP):\(p.hostPort) failed: port is already allocated (\(err)); choose another host port or stop what uses it"
                )
            }
            fds.append(fd)
        }
        return fds
    }

    /// A free host port on `ip` for `-P` or `-p CONTAINERPORT` (the kernel's choice).
    public static func freePort(_ ip: String, proto: String) throws(BerthError) -> UInt16 {
        let fd = berth_port_bind(ip, 0, proto == "udp" ? 1 : 0)
        guard fd >= 0 else { throw .syscall("bind", "\(ip):0", .current) }
        defer { close(fd) }
        let port = berth_port_of(fd)
        guard port > 0 else { throw .syscall("getsockname", "\(ip):0", .current) }
        return UInt16(port)
    }
}

/// Runs `nft -f -`; nil on success, else what it printed.
enum Nft {
    static func run(_ script: String) -> String? {
        for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] where FileSystem.exists(dir + "/nft") {
            return Subprocess.run([dir + "/nft", "-f", "-"], stdin: script)
        }
        return "the nft program is not installed (apt-get install nftables)"
    }
}

/// A short helper process with stdin text, stderr captured.
enum Subprocess {
    /// nil if it exited 0, else its stderr (or why it could not start).
    static func run(_ argv: [String], stdin text: String) -> String? {
        var input: [Int32] = [-1, -1], errs: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&input) == 0, berth_pipe_cloexec(&errs) == 0 else { return "pipe: \(Errno.current)" }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, errs[1], 2)
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
        close(input[0]); close(errs[1])
        guard rc == 0 else { close(input[1]); close(errs[0]); return "\(argv[0]): \(Errno(rc))" }
        _ = writeFully(input[1], Array(text.utf8))
        close(input[1])
        var output: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = ignoringEINTR { read(errs[0], &buf, buf.count) }
            if n <= 0 { break }
            output += buf[0..<n]
        }
        close(errs[0])
        let status = waitForChild(pid) ?? 0
        if status == 0 { return nil }
        let text = String(decoding: output, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        return text.isEmpty ? "\(argv[0]) exited with status \(status)" : text
    }
}
