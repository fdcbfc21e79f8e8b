import BerthCommands
import BerthCore
import BerthEngine

/// `/volumes`: the store's named volumes, as `berth volume …`.
struct VolumeRoutes {
    let engine: Engine

    var store: VolumeStore { VolumeStore(layout: engine.layout) }

    /// `GET /volumes?filters=`: `{"Volumes": [...], "Warnings": []}`, filtered as `volume ls --filter`.
    func list(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let filter = try VolumeFilter(try FilterQuery.flags(r.query["filters"]))
        let volumes = store.all().filter { filter.matches($0, store) }
        return .json(.object([("Volumes", .array(volumes.map(\.json))), ("Warnings", .array([]))]))
    }

    /// `POST /volumes/create {Name, Driver, DriverOpts, Labels}`: 201 with the volume.
    func create(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let body = try r.json()
        if let driver = CreateRequest.nonEmpty(body["Driver"]), driver != "local" {
            throw .invalid("volume driver \(driver) is not supported by Berth; it has the local driver only")
        }
        if let opts = body["DriverOpts"], !CreateRequest.isEmpty(opts) { throw CreateRequest.unsupported("DriverOpts") }
        var labels: [(String, String)] = []
        if case .object(let members)? = body["Labels"] {
            labels = members.map { ($0.0, $0.1.stringValue ?? "") }
        }
        let volume = try store.create(CreateRequest.nonEmpty(body["Name"]), labels: labels)
        return .json(volume.json, status: 201)
    }

    func inspect(_ name: String) throws(BerthError) -> APIResponse { .json(try store.get(name).json) }

    /// `DELETE /volumes/NAME`: 204; 409 while a container uses it.
    func remove(_ name: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        if r.query.bool("force") {
            // dockerd's force only ignores a missing volume; it never removes one in use.
            guard (try? store.get(name)) != nil else { return .empty(204) }
        }
        try store.remove(name)
        return .empty(204)
    }
}

/// `/networks`: the store's bridge networks, as `berth network …`.
struct NetworkRoutes {
    let engine: Engine

    var store: NetworkStore { NetworkStore(layout: engine.layout) }

    /// Docker's inspect document, with the containers attached.
    private func document(_ n: NetworkRecord) -> JSON {
        let members = engine.lifecycle.containers.all().compactMap {
            c -> (id: String, name: String, endpoint: NetworkEndpoint)? in
            guard let e = c.endpoint, e.network == n.name else { return nil }
            return (c.id, c.name, e)
        }
        return n.inspect(containers: members)
    }

    /// `GET /networks?filters=`: filtered as `network ls --filter`, with
    /// `host` and `none` as dockerd lists them.
    func list(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let filter = try NetworkFilter(try FilterQuery.flags(r.query["filters"]))
        let networks = store.all().filter { filter.matches(NetworkFilter.Row($0, store: store)) }
        var documents = networks.map(document)
        let containers = engine.lifecycle.containers.all()
        for mode in ["host", "none"] {
            let row = NetworkFilter.Row(
                id: mode, name: mode, driver: mode == "host" ? "host" : "null", labels: [], builtin: true, inUse: false)
            if filter.matches(row), let doc = NetworkRecord.modeDocument(mode, containers: containers) {
                documents.append(doc)
            }
        }
        return .json(.array(documents))
    }

    func inspect(_ ref: String) throws(BerthError) -> APIResponse {
        if let mode = NetworkRecord.modeDocument(ref, containers: engine.lifecycle.containers.all()) { return .json(mode) }
        return .json(document(try store.find(ref)))
    }

    /// `POST /networks/create`: 201 `{"Id", "Warning"}`. Served as Berth can
    /// honour it: `Labels` and `Attachable` are kept and shown, a duplicate
    /// name is always refused (what `CheckDuplicate` asks for; dockerd 1.44
    /// ignores it the same way), one IPv4 `Subnet`; what Berth's bridges
    /// cannot do (`Internal`, IPv6, driver options, another driver, a fixed
    /// gateway or range) is refused with a 400 naming it, never dropped.
    func create(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let body = try r.json()
        guard let name = CreateRequest.nonEmpty(body["Name"]) else { throw .invalid("network name is required") }
        if let driver = CreateRequest.nonEmpty(body["Driver"]), driver != "bridge" {
            throw .invalid("network driver \(driver) is not supported by Berth; it has bridge networks only")
        }
        if let opts = body["Options"], case .object(let members) = opts, let first = members.first {
            throw CreateRequest.unsupported("network driver option \(first.0) (Options)")
        }
        for key in ["Internal", "EnableIPv6", "Ingress", "ConfigFrom", "ConfigOnly", "Scope"]
        where !(body[key].map(CreateRequest.isEmpty) ?? true) {
            throw CreateRequest.unsupported(key)
        }
        var labels: [(String, String)] = []
        if case .object(let members)? = body["Labels"] {
            for (key, value) in members {
                guard let text = value.stringValue else { throw .invalid("network label \(key) needs a string value") }
                labels.append((key, text))
            }
        }
        var subnet: String?
        if let ipam = body["IPAM"] {
            if let driver = CreateRequest.nonEmpty(ipam["Driver"]), driver != "default" {
                throw CreateRequest.unsupported("IPAM.Driver")
            }
            let configs = ipam["Config"]?.arrayValue ?? []
            guard configs.count <= 1 else { throw CreateRequest.unsupported("more than one IPAM.Config") }
            if let c = configs.first {
                for key in ["IPRange", "Gateway", "AuxiliaryAddresses"] where !(c[key].map(CreateRequest.isEmpty) ?? true) {
                    throw CreateRequest.unsupported("IPAM.Config." + key)
                }
                subnet = CreateRequest.nonEmpty(c["Subnet"])
            }
            if let o = ipam["Options"], !CreateRequest.isEmpty(o) { throw CreateRequest.unsupported("IPAM.Options") }
        }
        let record = try store.create(
            name, subnet: subnet, labels: labels, attachable: body["Attachable"]?.boolValue ?? false)
        return .json(.object([("Id", .string(record.id)), ("Warning", .string(""))]), status: 201)
    }

    /// `POST /networks/ID/connect {Container, EndpointConfig}`: 200, as
    /// `berth network connect` (a running container gets the interface at
    /// once, a created one at its start), with `EndpointConfig.Aliases`,
    /// `Links` (docker-compose's `links:`) and `IPAMConfig.IPv4Address`; any
    /// other endpoint field is refused by name.
    func connect(_ ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        let body = try r.json()
        guard let container = CreateRequest.nonEmpty(body["Container"]) else {
            throw .invalid("a container to connect is required (Container)")
        }
        _ = try engine.lifecycle.containers.find(container)  // dockerd looks the container up first
        let network = try store.find(ref).name
        var aliases: [String] = []
        var links: [ContainerLink] = []
        var ip: String?
        if case .object(let fields)? = body["EndpointConfig"] {
            for (key, value) in fields where !CreateRequest.isEmpty(value) {
                switch key {
                case "Aliases": aliases = try CreateRequest.strings(value, "EndpointConfig.Aliases") ?? []
                case "Links":
                    links = try (CreateRequest.strings(value, "EndpointConfig.Links") ?? []).map {
                        (t) throws(BerthError) in try ContainerLink.parse(t)
                    }
                case "IPAMConfig":
                    guard case .object(let ipam) = value else {
                        throw .invalid("EndpointConfig.IPAMConfig needs to be an object")
                    }
                    for (k, x) in ipam where !CreateRequest.isEmpty(x) {
                        guard k == "IPv4Address" else { throw CreateRequest.unsupported("EndpointConfig.IPAMConfig.\(k)") }
                        ip = x.stringValue
                    }
                default: throw CreateRequest.unsupported("EndpointConfig.\(key)")
                }
            }
        }
        try engine.lifecycle.connect(network: network, container: container, ip: ip, aliases: aliases, links: links)
        return .empty(200)
    }

    /// `POST /networks/ID/disconnect {Container, Force}`: 200, as `berth
    /// network disconnect [-f]`.
    func disconnect(_ ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        let body = try r.json()
        guard let container = CreateRequest.nonEmpty(body["Container"]) else {
            throw .invalid("a container to disconnect is required (Container)")
        }
        _ = try engine.lifecycle.containers.find(container)
        try engine.lifecycle.disconnect(network: ref, container: container, force: body["Force"]?.boolValue ?? false)
        return .empty(200)
    }

    /// `DELETE /networks/ID`: 204.
    func remove(_ ref: String) throws(BerthError) -> APIResponse {
        try store.remove(ref)
        return .empty(204)
    }
}
