/// `network connect` and `network disconnect`: a container joins or leaves
/// a network beyond its first. A running (or paused) container gets the new
/// interface at once (`eth1`…: a veth into its network namespace, configured
/// from the host, no default route); a stopped one gets it at its next start.
/// The address is leased at connect and released at disconnect. A
/// container disconnected from its first network (Docker allows it) has
/// only the others, and publishes no ports; the next network it joins
/// becomes its first again (`eth0`, the default route, the published ports).
extension Lifecycle {
    /// `aliases`: more names the container has on that network (`--alias`, the
    /// API's `EndpointConfig.Aliases`), resolved by its peers like its name.
    /// `links`: the API's `EndpointConfig.Links` (`web:alias`), added to
    /// the container's `--link`s: each names its container on a network
    /// both are on.
    public func connect(
        network ref: String, container cref: String, ip: String?, aliases: [String] = [], links: [ContainerLink] = []
    ) throws(BerthError) {
        let networks = NetworkStore(layout: layout)
        let network = try networks.find(ref)
        let found = try containers.find(cref)
        var fixed: IPv4?
        if let ip {
            guard let address = IPv4(ip) else {
                throw BerthError(.invalidArgument, "invalid IPv4 address: \(ip); give one like \(network.gateway)")
            }
            fixed = address
        }
        if !aliases.isEmpty && network.isDefault {
            throw .invalid("network-scoped alias is supported only for containers in user defined networks")
        }
        for a in aliases where a.isEmpty || a.contains(where: { $0.isWhitespace }) {
            throw .invalid("invalid network alias \(quoted(a)): an alias is a host name without white space")
        }
        for link in links { _ = try link.container(in: containers) }
        try FileLock.withLock(containers.lockPath(found.id)) { () throws(BerthError) in
            var c = try containers.load(id: found.id)
            if c.recordDamage != nil { throw .invalidState(c.state.error) }
            if c.hostNetwork || network.name == "host" {
                throw .conflict("container cannot be disconnected from host network or connected to host network")
            }
            if c.networkMode == "none" {
                throw .conflict(
                    "container cannot be connected to multiple networks with one of the networks in private (none) mode")
            }
            if c.endpoints.contains(where: { $0.network == network.name }) {
                throw .conflict("endpoint with name \(c.name) already exists in network \(network.name)")
            }
            let used = Set(c.endpoints.map(\.interface))
            let first = c.endpoint == nil
            guard let n = (first ? [0] : Array(1..<HostNetwork.maxInterfaces)).first(where: { !used.contains($0) }) else {
                throw .conflict(
                    "container \(c.name) has \(HostNetwork.maxInterfaces) networks, Berth's most; disconnect one first")
            }
            // --ip as `run --ip` takes it: in the subnet, not the gateway, free (Docker's errors).
            var endpoint = try networks.lease(network, container: c.id, name: c.name, fixed: fixed, aliases: aliases)
            endpoint.interface = n
            if !first { endpoint.aliases = aliases }
            do throws(BerthError) {
                if c.state.isActive {
                    let pid = try livePid(c)
                    try HostNetwork.attach(endpoint, containerID: c.id, storeRoot: layout.root, pid: pid, interface: n)
                    try HostNetwork.configure(endpoint, pid: pid, interface: n, defaultRoute: first)
                    if first && !c.ports.isEmpty {
                        try HostNetwork.publish(c.ports, containerID: c.id, address: endpoint.address)
                    }
                }
                if first {
                    c.endpoint = endpoint
                    c.networkMode = network.name
                    // The first network's alias and address are shown from these (as `run`'s).
                    c.networkOptions.aliases = aliases
                    c.networkOptions.ipAddress = ip
                } else {
                    c.connected.append(endpoint)
                }
                for link in links where !c.networkOptions.links.contains(link) { c.networkOptions.links.append(link) }
                try containers.save(c)
            } catch {
                if c.state.isActive { HostNetwork.detach(containerID: c.id, interface: n) }
                networks.release(network.name, container: c.id)
                throw error
            }
            networks.refreshHosts(network.name)
        }
    }

    /// `force`: also when the network itself is gone (its record removed by hand).
    public func disconnect(network ref: String, container cref: String, force: Bool) throws(BerthError) {
        let networks = NetworkStore(layout: layout)
        let name: String
        do throws(BerthError) { name = try networks.find(ref).name } catch {
            guard force else { throw error }
            name = ref
        }
        let found = try containers.find(cref)
        try FileLock.withLock(containers.lockPath(found.id)) { () throws(BerthError) in
            var c = try containers.load(id: found.id)
            if c.recordDamage != nil { throw .invalidState(c.state.error) }
            if c.hostNetwork || name == "host" {
                throw .conflict("container cannot be disconnected from host network or connected to host network")
            }
            guard let endpoint = c.endpoints.first(where: { $0.network == name }) else {
                throw .invalidState("container \(c.name) is not connected to network \(name)")
            }
            if c.state.isActive {
                if endpoint.interface == 0 && !c.ports.isEmpty { HostNetwork.unpublish(containerID: c.id) }
                HostNetwork.detach(containerID: c.id, interface: endpoint.interface)
            }
            if endpoint.interface == 0 {
                c.endpoint = nil
                (c.networkOptions.aliases, c.networkOptions.ipAddress) = ([], nil)
            }
            c.connected.removeAll { $0.network == name }
            try containers.save(c)
            networks.release(name, container: c.id)
            // Its own hosts file loses the peers of the network it left.
            let remaining = c.endpoints.filter { $0.network != "bridge" }
            if let other = remaining.first {
                networks.refreshHosts(other.network)
            } else if FileSystem.exists(layout.container(c.id) + "/hosts") {
                let links = (try? ResolvedLinks.resolve(c, in: containers, strict: false))?.hosts ?? []
                HostsFile.writeInPlace(
                    layout.container(c.id) + "/hosts",
                    HostsFile.hosts(for: c, peers: [], gateway: networks.hostGateway(for: c), links: links))
            }
        }
    }

    /// PID 1 of a running container, checked against its recorded start time (never a recycled PID).
    private func livePid(_ c: Container) throws(BerthError) -> Int32 {
        guard c.state.pid > 0, ProcessTable.startTime(c.state.pid) == c.state.pidStartTime else {
            throw .invalidState("container \(c.name) is not running (its PID 1 is gone); start it, or connect it stopped")
        }
        return c.state.pid
    }
}
