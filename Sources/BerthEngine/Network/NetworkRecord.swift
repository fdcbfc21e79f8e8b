#if canImport(Glibc)
import Glibc
#endif

/// A network: `ROOT/networks/NAME.json`. The default one, `bridge`, is
/// written on first use from the store's config (`bridgeName`, `bridgeSubnet`).
public struct NetworkRecord: Sendable {
    public var name: String
    public var id: String
    public var subnet: Subnet
    public var gateway: IPv4
    /// The Linux bridge device (≤ 15 characters): `berth0`, or `br-` + 12 hex of the ID.
    public var bridge: String
    public var created: Timestamp
    /// `Labels` given at create (the API's `POST /networks/create`; docker-compose
    /// marks its networks with them), shown by inspect and matched by prune's filters.
    public var labels: [(String, String)] = []
    /// `Attachable`: recorded and shown as dockerd does. Every Berth network
    /// takes `network connect` of any container, so it changes nothing else.
    public var attachable = false

    /// The names Docker reserves: the default network and the two modes.
    public static let predefined = ["bridge", "host", "none"]

    public var isDefault: Bool { name == "bridge" }

    public var json: JSON {
        .object(
            [
                ("Name", .string(name)), ("Id", .string(id)), ("Created", .string(created.rfc3339)),
                ("Driver", .string("bridge")), ("Subnet", .string(subnet.description)),
                ("Gateway", .string(gateway.description)), ("Bridge", .string(bridge)),
            ] + (labels.isEmpty ? [] : [("Labels", .object(labels.map { ($0.0, .string($0.1)) }))])
                + (attachable ? [("Attachable", .bool(true))] : []))
    }

    public init(name: String, id: String, subnet: Subnet, bridge: String) {
        self.name = name; self.id = id; self.subnet = subnet; self.gateway = subnet.gateway
        self.bridge = bridge; self.created = .now
    }

    init(json: JSON) throws(BerthError) {
        guard let name = json["Name"]?.stringValue, let id = json["Id"]?.stringValue,
            let subnet = json["Subnet"]?.stringValue.flatMap(Subnet.init),
            let bridge = json["Bridge"]?.stringValue
        else {
            throw BerthError("network record is damaged; remove it from the store's networks/ directory")
        }
        self.name = name; self.id = id; self.subnet = subnet; self.bridge = bridge
        gateway = json["Gateway"]?.stringValue.flatMap(IPv4.init) ?? subnet.gateway
        created = json["Created"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) ?? Timestamp(seconds: 0)
        if case .object(let members)? = json["Labels"] { labels = members.compactMap { k, v in v.stringValue.map { (k, $0) } } }
        attachable = json["Attachable"]?.boolValue ?? false
    }

    /// Docker's `network inspect` document.
    /// `network inspect host` and `none`: the modes Docker lists as networks
    /// beside the bridges (driver `host` and `null`, no addresses), with the
    /// containers that run in that mode. Nil for any other name.
    public static func modeDocument(_ mode: String, containers: [Container]) -> JSON? {
        guard mode == "host" || mode == "none" else { return nil }
        let members = containers.filter { $0.networkMode == mode && $0.state.isActive }.map { c in
            (
                c.id,
                JSON.object([
                    ("Name", .string(c.name)), ("MacAddress", .string("")), ("IPv4Address", .string("")),
                    ("IPv6Address", .string("")),
                ])
            )
        }
        return .object([
            // Go's zero time: modes are never created (the docker CLI parses the field).
            ("Name", .string(mode)), ("Id", .string(mode)), ("Created", .string("0001-01-01T00:00:00Z")),
            ("Scope", .string("local")),
            ("Driver", .string(mode == "host" ? "host" : "null")), ("EnableIPv6", .bool(false)),
            ("IPAM", .object([("Driver", .string("default")), ("Options", .null), ("Config", .array([]))])),
            ("Internal", .bool(false)), ("Attachable", .bool(false)), ("Containers", .object(members)),
            ("Options", .object([])), ("Labels", .object([])),
        ])
    }

    public func inspect(containers: [(id: String, name: String, endpoint: NetworkEndpoint)]) -> JSON {
        .object([
            ("Name", .string(name)), ("Id", .string(id)), ("Created", .string(created.rfc3339)),
            ("Scope", .string("local")), ("Driver", .string("bridge")), ("EnableIPv6", .bool(false)),
            (
                "IPAM",
                .object([
                    ("Driver", .string("default")), ("Options", .object([])),
                    (
                        "Config",
                        .array([
                            .object([
                                ("Subnet", .string(subnet.description)),
                                ("Gateway", .string(gateway.description)),
                            ])
                        ])
                    ),
                ])
            ),
            ("Internal", .bool(false)), ("Attachable", .bool(attachable)),
            (
                "Containers",
                .object(
                    containers.map { c in
                        (
                            c.id,
                            .object([
                                ("Name", .string(c.name)), ("MacAddress", .string(c.endpoint.mac)),
                                ("IPv4Address", .string("\(c.endpoint.address)/\(c.endpoint.prefix)")),
                                ("IPv6Address", .string("")),
                            ])
                        )
                    })
            ),
            // dockerd shows driver options only where they were given: the
            // default bridge's name, and none for a user network (docker-compose
            // compares them with its own and refuses a network that differs).
            ("Options", .object(isDefault ? [("com.docker.network.bridge.name", .string(bridge))] : [])),
            ("Labels", .object(labels.map { ($0.0, .string($0.1)) })),
        ])
    }
}

/// A container's place on a network: its leased address and the network's
/// facts it needs at start, kept in the container record.
public struct NetworkEndpoint: Sendable, Equatable {
    public var network: String
    public var networkID: String
    public var address: IPv4
    public var prefix: Int
    public var gateway: IPv4
    public var bridge: String
    /// N of the container's `ethN`: 0 for the first network, 1… for those
    /// joined by `network connect` (kept, so a disconnect renumbers nothing).
    public var interface = 0
    /// The aliases of a network joined by `network connect` (the first
    /// network's are the container's `networkOptions.aliases`).
    public var aliases: [String] = []
    /// `--mac-address`: the hardware address given instead of Docker's
    /// derived one (02:42 and the IPv4 address).
    public var fixedMac: [UInt8]?
    public var mac: String { fixedMac.map(Self.macText) ?? address.mac }
    /// eth's hardware address, as bytes.
    public var macBytes: [UInt8] {
        fixedMac ?? [0x02, 0x42] + [24, 16, 8, 0].map { UInt8(address.value >> UInt32($0) & 255) }
    }

    static func macText(_ bytes: [UInt8]) -> String {
        bytes.map { b in
            let h = String(b, radix: 16)
            return h.count == 1 ? "0" + h : h
        }.joined(separator: ":")
    }

    public var json: JSON {
        .object(
            [
                ("NetworkID", .string(networkID)), ("Gateway", .string(gateway.description)),
                ("IPAddress", .string(address.description)), ("IPPrefixLen", .int(prefix)),
                ("MacAddress", .string(mac)), ("BerthBridge", .string(bridge)),
            ] + (interface > 0 ? [("BerthInterface", .int(interface))] : [])
                + (aliases.isEmpty ? [] : [("Aliases", .strings(aliases))]))
    }

    public init(network: String, networkID: String, address: IPv4, prefix: Int, gateway: IPv4, bridge: String) {
        self.network = network; self.networkID = networkID; self.address = address; self.prefix = prefix
        self.gateway = gateway; self.bridge = bridge
    }

    init?(network: String, json: JSON) {
        guard let ip = json["IPAddress"]?.stringValue.flatMap(IPv4.init),
            let gw = json["Gateway"]?.stringValue.flatMap(IPv4.init)
        else { return nil }
        self.init(
            network: network, networkID: json["NetworkID"]?.stringValue ?? "", address: ip,
            prefix: min(32, max(0, json["IPPrefixLen"]?.intValue ?? 16)), gateway: gw,
            bridge: json["BerthBridge"]?.stringValue ?? "")
        interface = min(9, max(0, json["BerthInterface"]?.intValue ?? 0))
        // A recorded address other than the derived one was given with --mac-address.
        if let text = json["MacAddress"]?.stringValue, text != address.mac, let bytes = NetworkOptions.macBytes(text) {
            fixedMac = bytes
        }
        aliases = interface > 0 ? json["Aliases"]?.stringArray ?? [] : []
    }
}

/// A published port: `-p [IP:]HOSTPORT:CONTAINERPORT[/PROTO]`.
public struct PortBinding: Sendable, Equatable {
    public var hostIP: String
    public var hostPort: UInt16
    public var containerPort: UInt16
    public var proto: String

    public init(hostIP: String, hostPort: UInt16, containerPort: UInt16, proto: String) {
        self.hostIP = hostIP; self.hostPort = hostPort; self.containerPort = containerPort; self.proto = proto
    }

    /// One binding of a `-p` that names exactly one port (`80`, `8080:80`,
    /// `127.0.0.1::80/udp`); ranges go through `PortRequest.parse`.
    public static func parse(_ text: String) throws(BerthError) -> PortBinding {
        let requests = try PortRequest.parse(text)
        guard requests.count == 1, requests[0].hostRange == nil else {
            throw BerthError(.invalidArgument, "\(text) publishes a range; expected one port")
        }
        return requests[0].binding
    }

    /// `80/tcp`.
    public var key: String { "\(containerPort)/\(proto)" }
    /// `127.0.0.1:18080->80/tcp`, as `docker ps` prints it.
    public var psText: String { "\(hostIP):\(hostPort)->\(key)" }

    var record: JSON {
        .object([
            ("HostIp", .string(hostIP)), ("HostPort", .string(String(hostPort))),
            ("ContainerPort", .string(key)),
        ])
    }

    init?(record: JSON) {
        guard let key = record["ContainerPort"]?.stringValue, let hp = record["HostPort"]?.stringValue.flatMap({ UInt16($0) })
        else { return nil }
        let parts = key.split(separator: "/")
        guard let cp = parts.first.flatMap({ UInt16($0) }) else { return nil }
        self.init(
            hostIP: record["HostIp"]?.stringValue ?? "0.0.0.0", hostPort: hp, containerPort: cp,
            proto: parts.count > 1 ? String(parts[1]) : "tcp")
    }

    /// Docker's `PortBindings`/`Ports` map: `{"80/tcp": [{"HostIp": …, "HostPort": …}]}`.
    public static func map(_ ports: [PortBinding]) -> JSON {
        var keys: [String] = []
        for p in ports where !keys.contains(p.key) { keys.append(p.key) }
        return .object(
            keys.map { key in
                (
                    key,
                    .array(
                        ports.filter { $0.key == key }.map {
                            .object([("HostIp", .string($0.hostIP)), ("HostPort", .string(String($0.hostPort)))])
                        })
                )
            })
    }
}
