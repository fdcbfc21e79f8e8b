/// A container: what it was created with (immutable) and its state.
public struct Container: Sendable {
    public static let zeroTime = "0001-01-01T00:00:00Z"

    public var id: String
    /// The name without Docker's leading slash.
    public var name: String
    public var created: Timestamp
    /// The image ID (`sha256:…`).
    public var image: String
    /// The image as the user named it (`busybox`), for `ps`.
    public var imageName: String
    /// The command: entrypoint + cmd resolved at create time.
    public var command: [String]
    public var env: [String]
    public var workingDir: String
    public var user: String
    public var hostname: String
    /// `--domainname` (empty: none), Docker's `Config.Domainname`.
    public var domainname = ""
    public var tty: Bool
    public var openStdin: Bool
    public var autoRemove: Bool
    public var isolation: String
    /// The OCI runtime for the `oci` backend (`runc`, `crun`, a path); empty otherwise.
    public var runtime: String = ""
    public var storage: String
    /// `none`, `host`, `bridge` (the default network) or a user network's name.
    public var networkMode: String
    /// The container's address on its network (bridge modes), leased at create, released at rm.
    public var endpoint: NetworkEndpoint?
    /// Networks joined by `network connect`, beyond the first: interface
    /// `eth1` for the first of them, `eth2`…, in this order.
    public var connected: [NetworkEndpoint] = []
    /// Every network endpoint, the first network's first.
    public var endpoints: [NetworkEndpoint] { (endpoint.map { [$0] } ?? []) + connected }
    /// Published ports (`-p`, `-P`), host ports resolved at create.
    public var ports: [PortBinding] = []
    /// `Config.ExposedPorts` (`80/tcp`): the image's, `--expose`'s and the
    /// published ones, sorted by port; `-P` publishes the first two kinds.
    public var exposedPorts: [String] = []
    /// Whether the container shares the host's network stack.
    public var hostNetwork: Bool { networkMode == "host" }
    public var readonlyRoot: Bool
    public var stopSignal: String
    public var stopTimeout: Int?
    /// The container's cgroup directory (v2, or v1's freezer one), shown as
    /// `CgroupPath` as Podman shows its own.
    public var cgroupPath: String
    /// `--cgroup-parent` as given, shown as `HostConfig.CgroupParent` as
    /// dockerd shows it ("" when not given).
    public var cgroupParent = ""
    /// Resource limits (`--memory`, `--cpus`, …), changeable with `update`.
    public var resources: Resources
    /// Binds, volumes and tmpfs mounts, in the order they are mounted.
    public var mounts: [MountSpec]
    /// `--privileged`, `--cap-add`, `--cap-drop`, `--security-opt`.
    public var security = SecuritySettings()
    /// `--group-add`: supplementary groups, names resolved in the image at start.
    public var groupAdd: [String] = []
    /// `--device` mappings (HostConfig.Devices); the nodes are looked up at each start.
    public var devices: [DeviceMapping] = []
    /// `--device-cgroup-rule`s as given (HostConfig.DeviceCgroupRules), checked at create.
    public var deviceCgroupRules: [String] = []
    /// `--log-driver`, `--log-opt` (HostConfig.LogConfig).
    public var logConfig = LogConfig()
    /// `--init`, `--ulimit`, `--shm-size`, `--sysctl`, `--oom-score-adj`.
    public var process = ProcessSettings()
    /// `Config.Labels`: the image's labels overlaid with `-l`/`--label-file`, sorted by key.
    public var labels: [(String, String)] = []
    /// `--add-host`, `--dns*`, `--ip`, `--network-alias`.
    public var networkOptions = NetworkOptions()
    /// `--userns` as given (`auto`, `auto:size=N`, `keep-id`; empty: the
    /// host's, or explicit `--uidmap`/`--gidmap`).
    public var usernsMode = ""
    /// The container's user namespace maps; nil: it runs in the host's.
    public var idMap: IDMap?
    /// How its root filesystem is shown owned by the namespace's ids
    /// (the storage driver's `idMappingMethod`, e.g. `idmapped-mounts`).
    public var rootfsIDMapping = ""
    public var state: ContainerState
    /// `--restart`: what the monitor does when PID 1 exits.
    public var restartPolicy = RestartPolicy()
    /// Restarts made by the policy since a user last started the container.
    public var restartCount = 0
    /// A user stopped it (`stop`, `kill`, `rm -f`): the policy does not
    /// restart it, and `unless-stopped` stays down after a reboot (Docker's
    /// `HasBeenManuallyStopped`). A user's `start` clears it.
    public var manuallyStopped = false
    /// `Config.Healthcheck`: the user's `--health-*` over the image's
    /// HEALTHCHECK, merged at create; nil when neither has one.
    public var healthcheck: HealthConfig?
    /// Where the store keeps volumes, for the Mounts view in `inspect`.
    public var volumesRoot: String = ""
    /// Settings later features add, kept opaque.
    public var extra: [(String, JSON)]

    // What `ContainerStore.load` found out, never stored (docs/lifecycle.md).

    /// Why the record could not be read; the container is then a `dead`
    /// placeholder that only `rm` acts on.
    public var recordDamage: String?
    /// The recorded monitor is gone without having recorded an end: what it
    /// held (cgroup, veth, port rules, mounts) is left for stop, start or rm.
    public var monitorLost = false
    /// A live monitor is starting the container and has not yet recorded
    /// the outcome (its child is held before exec until it has).
    public var starting = false
    /// Read for a listing (`ContainerStore.View.listing`): only what `ps`
    /// shows and filters on was decoded, the rest has its defaults. Such a
    /// value is never saved (`ContainerStore.save` refuses it).
    public internal(set) var listingOnly = false

    /// Describes a new container.
    public init(
        id: String, name: String, image: String, imageName: String, command: [String], env: [String],
        workingDir: String, user: String, hostname: String, tty: Bool, openStdin: Bool,
        autoRemove: Bool, isolation: String, storage: String
    ) {
        self.id = id
        self.name = name
        self.created = .now
        self.image = image
        self.imageName = imageName
        self.command = command
        self.env = env
        self.workingDir = workingDir
        self.user = user
        self.hostname = hostname
        self.tty = tty
        self.openStdin = openStdin
        self.autoRemove = autoRemove
        self.isolation = isolation
        self.storage = storage
        self.networkMode = "none"
        self.readonlyRoot = false
        self.stopSignal = "SIGTERM"
        self.stopTimeout = nil
        self.cgroupPath = ""
        self.resources = Resources()
        self.mounts = []
        self.state = ContainerState()
        self.extra = []
    }

    public var shortID: String { Format.shortID(id) }

    /// The stored document: Docker's inspect layout, so `inspect` is mostly this file.
    public var json: JSON {
        .object([
            ("Id", .string(id)),
            ("Created", .string(created.rfc3339)),
            ("Path", .string(command.first ?? "")),
            ("Args", .strings(Array(command.dropFirst()))),
            ("State", state.json),
            ("Image", .string(image)),
            ("RestartCount", .int(restartCount)),
            ("HasBeenManuallyStopped", .bool(manuallyStopped)),
            ("Name", .string("/" + name)),
            ("Driver", .string(storage)),
            ("Isolation", .string(isolation)),
            ("CgroupPath", .string(cgroupPath)),
            (
                "HostConfig",
                .object(
                    [
                        ("AutoRemove", .bool(autoRemove)),
                        ("RestartPolicy", restartPolicy.json),
                        ("Runtime", .string(runtime.isEmpty ? "berth" : runtime)),
                        ("NetworkMode", .string(networkMode)),
                        ("PortBindings", PortBinding.map(ports)),
                        ("ReadonlyRootfs", .bool(readonlyRoot)),
                        ("CgroupParent", .string(cgroupParent)),
                        ("Mounts", .array(mounts.map(\.record))),
                        ("Privileged", .bool(security.privileged)),
                        ("CapAdd", security.capAdd.isEmpty ? .null : .strings(security.capAdd)),
                        ("CapDrop", security.capDrop.isEmpty ? .null : .strings(security.capDrop)),
                        ("SecurityOpt", security.options.isEmpty ? .null : .strings(security.options)),
                        ("GroupAdd", groupAdd.isEmpty ? .null : .strings(groupAdd)),
                        ("Devices", .array(devices.map(\.json))),
                        ("DeviceCgroupRules", deviceCgroupRules.isEmpty ? .null : .strings(deviceCgroupRules)),
                        ("LogConfig", logConfig.json),
                        ("UsernsMode", .string(usernsMode)),
                    ] + idMappingsJSON + resources.json + networkOptions.hostConfigJSON(name: name) + process.json)
            ),
            (
                "Mounts",
                .array(
                    mounts.map { $0.json(mountpoint: $0.kind == .volume ? volumesRoot + "/" + $0.source + "/_data" : $0.source) })
            ),
            (
                "Config",
                .object(
                    [
                        ("Hostname", .string(hostname)), ("Domainname", .string(domainname)), ("User", .string(user)),
                        ("Tty", .bool(tty)),
                        ("OpenStdin", .bool(openStdin)), ("Env", env.isEmpty ? .null : .strings(env)), ("Cmd", .strings(command)),
                        ("Image", .string(imageName)), ("WorkingDir", .string(workingDir)),
                        ("StopSignal", .string(stopSignal)),
                        ("StopTimeout", stopTimeout.map { .int($0) } ?? .null),
                        ("Labels", .object(labels.map { ($0.0, .string($0.1)) })),
                        ("ExposedPorts", exposedPorts.isEmpty ? .null : .object(exposedPorts.map { ($0, .object([])) })),
                    ] + (healthcheck.map { [("Healthcheck", $0.json)] } ?? []))
            ),
            ("NetworkSettings", networkSettings),
            ("VolumesRoot", .string(volumesRoot)),
            ("Extra", .object(extra)),
        ])
    }

    /// Podman's `HostConfig.IDMappings` (`CONTAINER:HOST:AMOUNT` strings),
    /// with how the root filesystem's owners were shifted; absent without a map.
    var idMappingsJSON: [(String, JSON)] {
        guard let idMap else { return [] }
        return [
            (
                "IDMappings",
                .object([
                    ("UidMap", .strings(idMap.uids.map(\.text))), ("GidMap", .strings(idMap.gids.map(\.text))),
                    ("RootfsMapping", .string(rootfsIDMapping)),
                ])
            )
        ]
    }

    /// Docker's `NetworkSettings`: the address at the top level and per network.
    var networkSettings: JSON {
        let e = endpoint
        var entry: JSON =
            e?.json
            ?? .object([
                ("NetworkID", .string("")), ("Gateway", .string("")),
                ("IPAddress", .string("")), ("IPPrefixLen", .int(0)),
                ("MacAddress", .string("")),
            ])
        if case .object(var members) = entry, networkOptions.ipAddress != nil || !networkOptions.aliases.isEmpty {
            let ipam = networkOptions.ipAddress.map { JSON.object([("IPv4Address", .string($0))]) } ?? .null
            members += [("IPAMConfig", ipam), ("Aliases", .strings(networkOptions.aliases))]
            entry = .object(members)
        }
        // slirp4netns has no lease: while the container runs its tap0 has
        // the fixed address `--configure` gives, which Podman shows here.
        let slirp = e == nil && networkMode == Slirp.mode && state.isActive
        let gateway: String = e?.gateway.description ?? (slirp ? Slirp.gateway : "")
        let address: String = e?.address.description ?? (slirp ? Slirp.containerAddress : "")
        let prefix: Int = e?.prefix ?? (slirp ? Slirp.prefixLength : 0)
        return .object([
            ("Bridge", .string("")),
            ("SandboxKey", .string(state.isActive && !hostNetwork ? "/proc/\(state.pid)/ns/net" : "")),
            ("Ports", PortBinding.map(ports)),
            ("Gateway", .string(gateway)),
            ("IPAddress", .string(address)),
            ("IPPrefixLen", .int(prefix)),
            ("MacAddress", .string(e?.mac ?? "")),
            // After `network disconnect` of the first network only the others are left, as in Docker.
            (
                "Networks",
                .object(
                    (e != nil || networkMode == "none" || networkMode == "host" ? [(networkMode, entry)] : [])
                        + connected.map { ($0.network, $0.json) })
            ),
        ])
    }

    /// Reads a stored document.
    public init(json: JSON) throws(BerthError) {
        guard let id = json["Id"]?.stringValue, let config = json["Config"], let host = json["HostConfig"] else {
            throw BerthError("container record is damaged (no Id/Config); remove it with 'berth rm -f'")
        }
        self.id = id
        name = String((json["Name"]?.stringValue ?? "").drop { $0 == "/" })
        created = json["Created"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) ?? Timestamp(seconds: 0)
        image = json["Image"]?.stringValue ?? ""
        imageName = config["Image"]?.stringValue ?? ""
        command = config["Cmd"]?.stringArray ?? []
        env = config["Env"]?.stringArray ?? []
        workingDir = config["WorkingDir"]?.stringValue ?? "/"
        user = config["User"]?.stringValue ?? ""
        hostname = config["Hostname"]?.stringValue ?? ""
        domainname = config["Domainname"]?.stringValue ?? ""
        tty = config["Tty"]?.boolValue ?? false
        openStdin = config["OpenStdin"]?.boolValue ?? false
        autoRemove = host["AutoRemove"]?.boolValue ?? false
        runtime = host["Runtime"]?.stringValue.flatMap { $0 == "berth" ? nil : $0 } ?? ""
        isolation = json["Isolation"]?.stringValue ?? ""
        storage = json["Driver"]?.stringValue ?? ""
        networkMode = host["NetworkMode"]?.stringValue ?? "none"
        let modeEntry = json["NetworkSettings"]?["Networks"]?[networkMode]
        if let modeEntry { endpoint = NetworkEndpoint(network: networkMode, json: modeEntry) }
        networkOptions = NetworkOptions(hostConfig: host, endpoint: modeEntry)
        if case .object(let networks)? = json["NetworkSettings"]?["Networks"] {
            let first = networkMode
            connected = networks.filter { $0.0 != first }.compactMap { NetworkEndpoint(network: $0.0, json: $0.1) }
        }
        if case .object(let bindings)? = host["PortBindings"] {
            for (key, list) in bindings {
                for b in list.arrayValue ?? [] {
                    if let p = PortBinding(
                        record: .object([
                            ("ContainerPort", .string(key)),
                            ("HostIp", b["HostIp"] ?? .string("0.0.0.0")),
                            ("HostPort", b["HostPort"] ?? .string("")),
                        ]))
                    {
                        ports.append(p)
                    }
                }
            }
        }
        readonlyRoot = host["ReadonlyRootfs"]?.boolValue ?? false
        stopSignal = config["StopSignal"]?.stringValue ?? "SIGTERM"
        stopTimeout = config["StopTimeout"]?.intValue
        labels = ContainerLabels.of(config: config)
        if case .object(let exposed)? = config["ExposedPorts"] { exposedPorts = exposed.map(\.0) }
        if let path = json["CgroupPath"]?.stringValue {
            cgroupPath = path
            cgroupParent = host["CgroupParent"]?.stringValue ?? ""
        } else {
            // A record from before CgroupPath kept the path in CgroupParent.
            cgroupPath = host["CgroupParent"]?.stringValue ?? ""
            cgroupParent = Cgroup(path: cgroupPath).givenParent(id: id)
        }
        resources = Resources(json: host)
        mounts = (host["Mounts"]?.arrayValue ?? []).compactMap(MountSpec.init(record:))
        security.privileged = host["Privileged"]?.boolValue ?? false
        security.capAdd = host["CapAdd"]?.stringArray ?? []
        security.capDrop = host["CapDrop"]?.stringArray ?? []
        security.options = host["SecurityOpt"]?.stringArray ?? []
        groupAdd = host["GroupAdd"]?.stringArray ?? []
        devices = (host["Devices"]?.arrayValue ?? []).compactMap(DeviceMapping.init(json:))
        deviceCgroupRules = host["DeviceCgroupRules"]?.stringArray ?? []
        logConfig = LogConfig(json: host["LogConfig"])
        usernsMode = host["UsernsMode"]?.stringValue ?? ""
        if let m = host["IDMappings"] {
            idMap = IDMap(uidTexts: m["UidMap"]?.stringArray ?? [], gidTexts: m["GidMap"]?.stringArray ?? [])
            rootfsIDMapping = m["RootfsMapping"]?.stringValue ?? ""
        }
        process = ProcessSettings(hostConfig: host)
        volumesRoot = json["VolumesRoot"]?.stringValue ?? ""
        state = ContainerState(json: json["State"] ?? .object([]))
        restartPolicy = RestartPolicy(json: host["RestartPolicy"])
        restartCount = max(0, json["RestartCount"]?.intValue ?? 0)
        manuallyStopped = json["HasBeenManuallyStopped"]?.boolValue ?? false
        healthcheck = HealthConfig(json: config["Healthcheck"])
        if case .object(let members)? = json["Extra"] { extra = members } else { extra = [] }
    }
}

extension Container {
    /// The members of a record that `ps` and its filters read, and that
    /// `ContainerStore.load` needs to make the state truthful. With 1,000
    /// containers, building the rest of each record (HostConfig's dozens of
    /// settings, the environment) was a third of `ps`'s time
    /// (docs/benchmarks.md, "Scale").
    static let listingSelection = JSONSelection([
        ("Id", nil), ("Created", nil), ("Name", nil), ("Image", nil), ("Driver", nil), ("Isolation", nil),
        ("CgroupPath", nil), ("State", nil), ("Extra", nil),
        ("Config", JSONSelection([("Image", nil), ("Cmd", nil), ("Labels", nil), ("ExposedPorts", nil)])),
        ("HostConfig", JSONSelection([("NetworkMode", nil), ("PortBindings", nil), ("Mounts", nil)])),
        ("NetworkSettings", JSONSelection([("Networks", nil)])),
    ])

    /// What the container asks of its backend.
    public var isolationRequest: IsolationRequest {
        var request = IsolationRequest(
            hostNetwork: hostNetwork, readonlyRoot: readonlyRoot, runtime: runtime.isEmpty ? nil : runtime,
            sharedNamespaces: process.namespaces.shared)
        request.userNamespace = idMap != nil
        return request
    }
}

extension IsolationBackend {
    /// The backend's plan for this container, with its security settings applied.
    public func plan(for container: Container) throws(BerthError) -> IsolationPlan {
        try plan(for: container.isolationRequest).confined(by: container.security)
    }
}
