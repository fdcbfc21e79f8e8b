#if canImport(Glibc)
import Glibc
#endif

/// Everything `create` and `run` accept about a new container.
public struct CreateOptions: Sendable {
    public var image: String
    /// Words after the image: the command, replacing the image's CMD.
    public var command: [String] = []
    public var entrypoint: String?
    public var name: String?
    public var env: [String] = []
    public var envFiles: [String] = []
    public var workdir: String?
    public var user: String?
    public var hostname: String?
    /// `--domainname`: the container's NIS domain name.
    public var domainname: String?
    /// `--cgroup-parent`: the cgroup the container's goes under, instead of `berth`.
    public var cgroupParent: String?
    public var tty = false
    public var interactive = false
    public var autoRemove = false
    public var isolation: String?
    /// `--runtime` for `--isolation oci` (also written `--isolation oci:runc`).
    public var runtime: String?
    public var storage: String?
    public var network: String?
    /// `-p [IP:]HOSTPORT:CONTAINERPORT[/PROTO]`.
    public var publish: [String] = []
    /// `--expose` values (`80`, `7000-7010/udp`).
    public var expose: [String] = []
    /// `-P`: publish every port the image exposes on a free host port.
    public var publishAll = false
    public var readOnly = false
    public var stopSignal: String?
    public var stopTimeout: Int?
    public var resources = Resources()
    /// `-v`, `--mount`, `--tmpfs`, in order.
    public var mounts: [MountSpec] = []
    /// `--volumes-from CONTAINER[:ro|rw]`.
    public var volumesFrom: [String] = []
    /// `--privileged`, `--cap-add`, `--cap-drop`, `--security-opt`.
    public var security = SecuritySettings()
    /// `--group-add`.
    public var groupAdd: [String] = []
    /// `--device HOST[:CONTAINER][:PERMISSIONS]`.
    public var devices: [DeviceMapping] = []
    /// `--device-cgroup-rule`.
    public var deviceCgroupRules: [String] = []
    /// `--log-driver`, `--log-opt`.
    public var logConfig = LogConfig()
    /// `--init`, `--ulimit`, `--shm-size`, `--sysctl`, `--oom-score-adj`.
    public var process = ProcessSettings()
    /// `-l/--label KEY[=VALUE]`, applied after the `--label-file` lines.
    public var labels: [String] = []
    /// `--label-file FILE`: KEY=VALUE lines.
    public var labelFiles: [String] = []
    /// `--add-host`, `--dns`, `--dns-option`, `--dns-search`, `--ip`, `--network-alias`.
    public var networkOptions = NetworkOptions()
    /// `--restart`.
    public var restartPolicy = RestartPolicy()
    /// `--health-*`, `--no-healthcheck` (Test `["NONE"]`); nil: the image's as it is.
    public var healthcheck: HealthConfig?
    /// Set by the builder: its lock, recorded so that a killed build's
    /// container is found and removed (`removeOrphanedBuildContainers`).
    var buildLock: String?
    /// `--userns` as given (nil: host).
    public var userns: String?
    /// `--uidmap`/`--gidmap`, parsed and checked.
    public var idMap: IDMap?

    public init(image: String) { self.image = image }
}

/// Makes containers from images, with Docker's rules for the command,
/// environment, working directory and name.
public struct ContainerFactory {
    public let lifecycle: Lifecycle
    /// Where warnings go (the chroot backend's, a fallback).
    public var warn: (String) -> Void
    /// The invoking environment, for `-e NAME` without a value.
    public var environment: [String: String]

    public init(lifecycle: Lifecycle, environment: [String: String], warn: @escaping (String) -> Void) {
        self.lifecycle = lifecycle
        self.environment = environment
        self.warn = warn
    }

    static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Creates the container; nothing is left behind if any step fails.
    public func create(_ o: CreateOptions) throws(BerthError) -> Container {
        let layout = lifecycle.layout
        try layout.ensure()
        let image = try lifecycle.images.resolve(o.image)
        var o = o
        if let iso = o.isolation, let colon = iso.firstIndex(of: ":") {  // `--isolation oci:crun`
            o.runtime = String(iso[iso.index(after: colon)...])
            o.isolation = String(iso[..<colon])
        }
        // Docker accepts the name with its canonical leading slash (`--name /web`).
        let requested = o.name.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
        // A generated name is only a first draw: the store picks another
        // under its lock if a concurrent create took this one meanwhile.
        let name = requested ?? ContainerNames.generate()
        if requested != nil { try ContainerNames.validate(name) }
        let defaults = StoreConfig.load(layout)
        var warnings: [String] = []
        let (backend, networkMode) = try chooseIsolation(o, defaults, &warnings)
        let storage = o.storage ?? defaults.defaultStorage(lifecycle.registry)
        let driver = try lifecycle.registry.storageDriver(
            storage,
            StorageEnvironment(
                storeRoot: layout.root, driverDirectory: layout.driver(storage)))
        var container = try record(
            o, image: image, name: name, backend: backend, networkMode: networkMode,
            storage: storage)
        let userns = try o.usernsMode()
        try checkUserNamespace(&container, mode: userns, explicit: o.idMap, backend: backend, driver: driver)
        let created = try provision(
            &container, o, backend: backend, driver: driver, image: image,
            generatedName: requested == nil, userns: userns)
        warnings.forEach(warn)  // only once the container exists: a refused create says one thing
        return created
    }

    /// The container's record from the options and the image's config,
    /// every value checked: nothing is made yet, so a refusal leaves nothing.
    private func record(
        _ o: CreateOptions, image: Image, name: String, backend: any IsolationBackend,
        networkMode: String, storage: String
    ) throws(BerthError) -> Container {
        let config = image.runConfig
        let id = RandomID.hex64()
        // --uts host: the host's name, as Docker records it.
        let hostname = o.hostname ?? (o.process.namespaces.uts == "host" ? ProcessSettings.hostName() : String(id.prefix(12)))
        // sethostname(2) takes at most 64 bytes (HOST_NAME_MAX): refuse here,
        // not at start, so a refused name creates nothing.
        if hostname.utf8.count > 64 {
            throw .invalid(
                "invalid --hostname \(shown(hostname)): \(hostname.utf8.count) bytes, but the kernel takes at most 64; give a shorter host name"
            )
        }
        // The name is a word of /etc/hosts, its own and that of every
        // container linking to it: white space or a control character in
        // it would add names or lines there.
        if hostname.unicodeScalars.contains(where: { $0.value <= 32 || $0.value == 127 }) {
            throw .invalid(
                "invalid --hostname \(quoted(hostname)): a host name has no white space or control characters")
        }
        var container = Container(
            id: id, name: name, image: image.id, imageName: o.image, command: try resolveCommand(o, config),
            env: try environment(o, config, hostname: hostname), workingDir: o.workdir ?? nonEmpty(config["WorkingDir"]) ?? "/",
            user: o.user ?? nonEmpty(config["User"]) ?? "", hostname: hostname, tty: o.tty,
            openStdin: o.interactive, autoRemove: o.autoRemove, isolation: backend.name, storage: storage)
        container.networkMode = networkMode
        container.runtime = try backend.runtime(for: o.runtime)
        container.readonlyRoot = o.readOnly
        try o.security.validate()
        container.security = o.security
        container.groupAdd = o.groupAdd
        container.stopSignal = o.stopSignal ?? nonEmpty(config["StopSignal"]) ?? "SIGTERM"
        container.stopTimeout = o.stopTimeout
        let cgroupParent = try o.cgroupParent.flatMap { (t) throws(BerthError) in
            t.isEmpty ? nil : try Cgroup.checkedParent(t)
        }
        container.cgroupPath = Cgroup.forContainer(id, environment: environment, parent: cgroupParent).path
        container.cgroupParent = cgroupParent == nil ? "" : o.cgroupParent ?? ""
        try o.resources.validate()
        try Cgroup.checkRootlessLimits(o.resources, cgroup: Cgroup(path: container.cgroupPath))
        try Cgroup.checkVersionLimits(o.resources, cgroup: Cgroup(path: container.cgroupPath))
        if o.resources.oomKillDisable == true && o.resources.memory == nil {
            warn("WARNING: Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous.")
        }
        container.resources = o.resources
        // Docker finds the nodes at start; looking now too refuses a missing
        // one before anything exists (the start looks again: numbers can change).
        for d in o.devices { _ = try d.nodes() }
        if Rootless.isActive && !o.devices.isEmpty {
            throw Rootless.refusal("--device", "a user namespace may not make device nodes")
        }
        container.devices = o.devices
        for rule in o.deviceCgroupRules { _ = try DeviceRule.parse(rule) }
        if Rootless.isActive && !o.deviceCgroupRules.isEmpty {
            throw Rootless.refusal("--device-cgroup-rule", "a rootless container gets no device allowlist of Berth's to add to")
        }
        container.deviceCgroupRules = o.deviceCgroupRules
        try o.process.validate(
            hostNetwork: networkMode == "host", hostnameGiven: o.hostname != nil, isolates: backend.isolates,
            backend: backend.name, containers: lifecycle.containers)
        container.process = o.process
        // Docker's default: a cgroup namespace of its own on cgroup v2, the host's on v1.
        if container.process.namespaces.cgroup.isEmpty {
            let v2 = Cgroup(path: container.cgroupPath).version == "v2"
            container.process.namespaces.cgroup = v2 && backend.isolates ? "private" : "host"
        }
        if let domain = o.domainname, !domain.isEmpty {
            // setdomainname(2) takes at most 64 bytes, in a UTS namespace of the container's own.
            if domain.utf8.count > 64 {
                throw .invalid(
                    "invalid --domainname \(shown(domain)): \(domain.utf8.count) bytes, but the kernel takes at most 64; give a shorter domain name"
                )
            }
            if o.process.namespaces.uts == "host" {
                throw .invalid("Conflicting options: domainname and the UTS mode; drop --domainname or --uts host")
            }
            if !backend.isolates {
                throw .invalid(
                    "--domainname: the \(backend.name) backend has no UTS namespace of its own (it shares the host's); drop --domainname"
                )
            }
            container.domainname = domain
        }
        var labels: [(String, String)] = []
        for file in o.labelFiles {
            labels += try ContainerLabels.parseFile(try Self.readEnvFile(file, what: "label file"), path: file)
        }
        labels += try ContainerLabels.parse(o.labels)
        container.labels = ContainerLabels.merge(image: ContainerLabels.of(config: config), container: labels)
        container.networkOptions = try checkedNetworkOptions(o.networkOptions, backend: backend, networkMode: networkMode)
        if o.autoRemove && !o.restartPolicy.isNone { throw .invalid("Conflicting options: --restart and --rm") }
        container.restartPolicy = o.restartPolicy
        let imageCheck = HealthConfig(json: config["Healthcheck"])
        container.healthcheck = o.healthcheck.map { $0.merged(over: imageCheck) } ?? imageCheck
        if let lock = o.buildLock { container.extra.append(("BuildLock", .string(lock))) }
        try container.healthcheck?.validate()
        container.logConfig = o.logConfig
        guard container.workingDir.hasPrefix("/") else {
            throw .invalid("the working directory '\(container.workingDir)' is invalid; it needs to be an absolute path")
        }
        // A profile file is read, checked and compiled now, and stored as
        // Docker stores it (`seccomp=<the profile's JSON>`).
        container.security.options = try SecurityOptions.resolve(
            o.security.options, backend: backend.name,
            plan: try backend.plan(for: container))
        if !backend.isolates && o.readOnly {
            throw .invalid(
                "the \(backend.name) backend cannot make the root read-only (it has no mount namespace); drop --read-only")
        }
        container.volumesRoot = lifecycle.layout.root + "/volumes"
        var exposed = Set<String>()
        if case .object(let fromImage)? = config["ExposedPorts"] { exposed.formUnion(fromImage.map(\.0)) }
        for text in o.expose { exposed.formUnion(try PortRequest.exposed(text)) }
        container.ports = try resolvePorts(o, exposed: exposed, networkMode: networkMode)
        exposed.formUnion(container.ports.map { "\($0.containerPort)/\($0.proto)" })
        container.exposedPorts = exposed.sorted { (Self.portNumber($0), $0) < (Self.portNumber($1), $1) }
        return container
    }

    /// Takes what the container needs (its address, anonymous volumes, its
    /// directory with the storage driver's layer) and writes it into the
    /// store; on any failure gives back what it took.
    private func provision(
        _ container: inout Container, _ o: CreateOptions, backend: any IsolationBackend,
        driver: any StorageDriver, image: Image, generatedName: Bool, userns: UsernsMode
    ) throws(BerthError) -> Container {
        let volumes = VolumeStore(layout: lifecycle.layout)
        var made: [String] = []
        let networks = NetworkStore(layout: lifecycle.layout)
        var network: NetworkRecord?
        if !["none", "host", Slirp.mode].contains(container.networkMode) {
            network = try networks.get(container.networkMode)
        }
        let id = container.id
        do throws(BerthError) {
            if let network {
                container.endpoint = try networks.lease(
                    network, container: id, name: container.name,
                    fixed: container.networkOptions.ipAddress.flatMap(IPv4.init), aliases: container.networkOptions.aliases)
                container.endpoint?.fixedMac = container.networkOptions.macAddress.flatMap(NetworkOptions.macBytes)
            }
            container.mounts = try resolveMounts(o, backend: backend, volumes, &made)
            try allocateUserNamespace(&container, mode: userns)
            let created = try lifecycle.containers.create(
                container, driver: driver, layers: try lifecycle.images.layerDirectories(of: image),
                generateName: generatedName ? { ContainerNames.generate(retry: $0) } : nil)
            if let network, created.name != container.name {
                networks.renameLease(network.name, container: id, to: created.name)
            }
            lifecycle.events.record("create", created)
            if let network { networks.refreshHosts(network.name) }
            return created
        } catch {
            for name in made { try? volumes.remove(name) }
            UserNamespaceRanges(layout: lifecycle.layout).release(container: id)
            if let network { networks.release(network.name, container: id) }
            throw error
        }
    }

    /// `--add-host`, `--dns*`, `--ip`, `--network-alias` checked against the
    /// network and the backend, with Docker's refusals: a fixed address or
    /// an alias only on a user network; the hosts and resolv.conf lines only
    /// where the container gets its own files (not chroot's host /etc).
    private func checkedNetworkOptions(
        _ n: NetworkOptions, backend: any IsolationBackend, networkMode: String
    ) throws(BerthError) -> NetworkOptions {
        try n.validate()
        let userNetwork = !NetworkRecord.predefined.contains(networkMode) && networkMode != Slirp.mode
        if n.ipAddress != nil && !userNetwork {
            throw .invalid("user specified IP address is supported on user defined networks only")
        }
        if !n.aliases.isEmpty && !userNetwork {
            throw .invalid("network-scoped alias is supported only for containers in user defined networks")
        }
        // Only a veth on a bridge has an address Berth gives (none has no
        // eth0, host is the host's, slirp4netns makes its own tap).
        if n.macAddress != nil && (["none", "host", Slirp.mode].contains(networkMode) || !backend.isolates) {
            throw .invalid(
                "Conflicting options: mac-address and the network mode (\(networkMode)); --mac-address needs a bridge network")
        }
        if n.writesEtcFiles && !backend.isolates {
            throw .invalid(
                "the \(backend.name) backend cannot give the container its own /etc/hosts or /etc/resolv.conf (it has no mount namespace); drop --add-host and --dns*"
            )
        }
        if !n.links.isEmpty {
            // dockerd's refusals, then Berth's for the modes with no network to share.
            if networkMode == "host" {
                throw .invalid(
                    "conflicting options: host type networking can't be used with links. This would result in undefined behavior")
            }
            if networkMode == "none" || networkMode == Slirp.mode || !backend.isolates {
                throw .invalid(
                    "conflicting options: --link needs a network the containers share, and \(backend.isolates ? "--network " + networkMode : "the " + backend.name + " backend") has none; use the default bridge or a user network"
                )
            }
            for link in n.links { _ = try link.container(in: lifecycle.containers) }
        }
        return n
    }

    /// The number of an `80/tcp` key, for sorting.
    private static func portNumber(_ key: String) -> Int { Int(key.split(separator: "/").first ?? "") ?? 0 }

    /// `-p` and `-P` with host ports resolved; a host port that is taken
    /// (by any program, or by a running container of this store) is refused
    /// here, before anything exists.
    private func resolvePorts(_ o: CreateOptions, exposed: Set<String>, networkMode: String) throws(BerthError)
        -> [PortBinding]
    {
        var requests: [PortRequest] = []
        for text in o.publish { requests += try PortRequest.parse(text) }
        var ports = requests.map(\.binding)
        if o.publishAll {
            for key in exposed.sorted(by: { Self.portNumber($0) < Self.portNumber($1) }) {
                let parts = key.split(separator: "/")
                guard let port = parts.first.flatMap({ UInt16($0) }) else { continue }
                let proto = parts.count > 1 ? String(parts[1]) : "tcp"
                if !ports.contains(where: { $0.containerPort == port && $0.proto == proto }) {
                    ports.append(PortBinding(hostIP: "0.0.0.0", hostPort: 0, containerPort: port, proto: proto))
                }
            }
        }
        guard !ports.isEmpty else { return [] }
        if networkMode == "host" {
            warn("WARNING: Published ports are discarded when using host network mode")
            return []
        }
        if networkMode == "none" {
            throw BerthError("--network none has no network to publish ports from; drop -p/-P or use --network bridge")
        }
        for i in ports.indices where ports[i].hostPort == 0 {
            if i < requests.count, let range = requests[i].hostRange {
                ports[i].hostPort = try freePort(in: range, for: ports[i], taken: ports)
            } else {
                // The kernel may hand out the port it just gave (the trial
                // socket is closed): never the same one twice for one container.
                var port = try HostNetwork.freePort(ports[i].hostIP, proto: ports[i].proto)
                for _ in 0..<100 where ports.contains(where: { $0.hostPort == port && $0.proto == ports[i].proto }) {
                    port = try HostNetwork.freePort(ports[i].hostIP, proto: ports[i].proto)
                }
                ports[i].hostPort = port
            }
        }
        try PortCheck.check(ports, lifecycle: lifecycle, except: nil)
        return ports
    }

    /// Docker's `-p 8080-8090:80`: the first host port of the range that no
    /// running container of the store publishes, no earlier `-p` of this one
    /// takes and no program has bound.
    private func freePort(in range: ClosedRange<UInt16>, for p: PortBinding, taken: [PortBinding]) throws(BerthError)
        -> UInt16
    {
        for port in range {
            var candidate = p
            candidate.hostPort = port
            if taken.contains(where: { $0.hostPort == port && $0.proto == p.proto }) { continue }
            if (try? PortCheck.check([candidate], lifecycle: lifecycle, except: nil)) != nil { return port }
        }
        throw .conflict(
            "Bind for \(p.hostIP):\(range.lowerBound)-\(range.upperBound) failed: all ports are allocated; widen the range or stop what uses it"
        )
    }

    /// Checks every mount and creates the volumes it names (anonymous ones
    /// get a random name); `made` lists the anonymous ones, for cleanup.
    private func resolveMounts(
        _ o: CreateOptions, backend: any IsolationBackend, _ volumes: VolumeStore,
        _ made: inout [String]
    ) throws(BerthError) -> [MountSpec] {
        var mounts: [MountSpec] = []
        for spec in o.volumesFrom {
            let parts = spec.split(separator: ":").map(String.init)
            let other = try lifecycle.containers.find(parts[0])
            for var m in other.mounts where m.kind != .tmpfs {
                if parts.count > 1 { m.readonly = parts[1] == "ro" }
                mounts.append(m)
            }
        }
        mounts += o.mounts
        var targets = Set<String>()
        for i in mounts.indices {
            let m = mounts[i]
            let target = "/" + m.target.split(separator: "/").joined(separator: "/")
            guard targets.insert(target).inserted else {
                throw BerthError("duplicate mount point: \(target); give each mount its own target")
            }
            switch m.kind {
            case .bind:
                guard FileSystem.exists(m.source) else {
                    throw BerthError(
                        "invalid mount config for type \"bind\": bind source path does not exist: \(m.source); create it first (Berth does not create bind sources)"
                    )
                }
            case .tmpfs:
                guard backend.isolates else {
                    throw .invalid(
                        "the \(backend.name) backend supports only bind mounts and volumes (it has no mount namespace for tmpfs \(m.target))"
                    )
                }
            case .volume:
                let volume = try volumes.create(m.source.isEmpty ? nil : m.source)
                if m.source.isEmpty { made.append(volume.name) }
                mounts[i].source = volume.name
            }
        }
        return mounts
    }

    private func nonEmpty(_ value: JSON?) -> String? {
        guard let s = value?.stringValue, !s.isEmpty else { return nil }
        return s
    }

    /// ENTRYPOINT + CMD as Docker combines them.
    private func resolveCommand(_ o: CreateOptions, _ config: JSON) throws(BerthError) -> [String] {
        let entrypoint: [String]
        var cmd: [String]
        if let e = o.entrypoint {
            entrypoint = e.isEmpty ? [] : [e]
            cmd = o.command
        } else {
            entrypoint = config["Entrypoint"]?.stringArray ?? []
            cmd = o.command.isEmpty ? (config["Cmd"]?.stringArray ?? []) : o.command
        }
        if o.entrypoint == nil && !o.command.isEmpty { cmd = o.command }
        let full = entrypoint + cmd
        guard !full.isEmpty else {
            throw BerthError("no command specified: the image \(o.image) has no CMD or ENTRYPOINT; give one after the image name")
        }
        return full
    }

    private func environment(_ o: CreateOptions, _ config: JSON, hostname: String) throws(BerthError) -> [String] {
        var pairs: [(String, String)] = []
        for file in o.envFiles {
            pairs += try EnvironmentVariables.parseFile(try Self.readEnvFile(file), path: file, from: environment)
        }
        pairs += try EnvironmentVariables.pairs(o.env, from: environment)
        // The image's and the user's, as dockerd records Config.Env: PATH,
        // HOSTNAME and TERM are added at each start (processEnvironment).
        return ImageChanges.mergeEnv(config["Env"]?.stringArray ?? [], pairs)
    }

    /// The largest `--env-file` read (Docker has no limit, but reads line by
    /// line; Berth reads the whole file, so it bounds it).
    public static let maxEnvFileBytes = 64 << 20

    /// Reads an `--env-file`: only a regular file, at most 64 MiB, so that
    /// `/dev/zero`, a FIFO or a growing log can never make create read for ever.
    static func readEnvFile(_ path: String, what: String = "env file") throws(BerthError) -> String {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(path, O_RDONLY | O_NONBLOCK) } catch {
            throw BerthError("open \(what) \(path): \(error); give a readable file of KEY=VALUE lines")
        }
        defer { fd.close() }
        guard let st = try? fd.stat(), st.st_mode & S_IFMT == S_IFREG else {
            throw BerthError("\(what) \(path) is not a regular file; give a file of KEY=VALUE lines")
        }
        guard st.st_size <= maxEnvFileBytes else {
            throw BerthError(
                "\(what) \(path) is \(Format.size(Int64(st.st_size))), more than the 64MiB Berth reads; give a smaller file")
        }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n: Int
            do { n = try asErrno { try chunk.withUnsafeMutableBytes { try fd.read(into: $0) } } } catch {
                throw .syscall("read \(what)", path, error)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > maxEnvFileBytes {  // it grew while we read
                throw BerthError("\(what) \(path) grew past the 64MiB Berth reads while it was read; give a smaller file")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The backend to use. When the default cannot run here, a backend that
    /// declares it stands in (`standsIn`, the chroot plugin) is used with a
    /// warning; a backend the user named is never swapped.
    private func chooseIsolation(
        _ o: CreateOptions, _ defaults: StoreConfig,
        _ warnings: inout [String]
    ) throws(BerthError) -> (any IsolationBackend, String) {
        var chosen = try lifecycle.registry.isolationBackend(o.isolation ?? defaults.defaultIsolation(lifecycle.registry))
        var fellBack = false
        if let reason = chosen.unavailableReason() {
            let standIns = lifecycle.registry.isolationBackends.filter { $0.standsIn && $0.unavailableReason() == nil }
            guard o.isolation == nil, let standIn = standIns.first else {
                let hint = standIns.isEmpty ? "" : "; try " + standIns.map { "--isolation \($0.name)" }.joined(separator: " or ")
                throw .unavailable("isolation backend \"\(chosen.name)\" cannot run here: \(reason)\(hint)")
            }
            warnings.append(
                "WARNING: \(reason); falling back to --isolation \(standIn.name), which does not isolate processes, users or the network"
            )
            chosen = standIn
            fellBack = true
        }
        var network = o.network ?? (chosen.isolates ? "bridge" : "host")
        if network == "default" { network = "bridge" }
        if Rootless.isActive {
            // A bridge needs a veth in the host's network namespace: root's.
            if o.network == nil || o.network == "default" { network = chosen.isolates ? Slirp.mode : "host" }
            if !["none", "host", Slirp.mode].contains(network) {
                throw Rootless.refusal(
                    "--network \(network)", "bridges and veths need the host's root; use the default (slirp4netns), none or host")
            }
        } else if network == Slirp.mode {
            throw .invalid("--network slirp4netns is for rootless berth; root's containers use bridge networks")
        }
        if !chosen.isolates {
            if !fellBack {
                warnings.append(
                    "WARNING: the \(chosen.name) backend does not isolate processes, users or the network; use it only for trusted images"
                )
            }
            if network != "host" {
                throw .invalid(
                    "the \(chosen.name) backend supports only --network host (it has no network namespace); drop --network \(network)"
                )
            }
        }
        if !["none", "host", Slirp.mode].contains(network) {
            _ = try NetworkStore(layout: lifecycle.layout).get(network)  // "network NAME not found" if it is not
        }
        return (chosen, network)
    }
}
