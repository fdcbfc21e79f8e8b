import BerthCore
import BerthEngine

/// `POST /containers/create`'s body turned into the options `berth create`
/// takes, so a container made over the API gets exactly what the same
/// flags give on the command line: the same parsers, the same checks, the
/// same confinement defaults. A field Berth does not implement is refused
/// with a 400 naming it when it asks for anything but the default, never
/// dropped: a dropped `PidMode: host` or `Sysctls` would give a container
/// other than the one asked for, and a dropped `Healthcheck` would be
/// reported as healthy by no one.
enum CreateRequest {
    /// Config keys read here; anything else must be empty.
    static let configKeys: Set<String> = [
        "Image", "Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Hostname", "Domainname", "MacAddress", "Tty",
        "OpenStdin",
        "AttachStdin", "AttachStdout", "AttachStderr", "StdinOnce", "ExposedPorts", "Volumes", "StopSignal",
        "StopTimeout", "HostConfig", "NetworkingConfig", "Labels", "Healthcheck",
    ]
    /// HostConfig keys read here.
    static let hostKeys: Set<String> = [
        "Binds", "Mounts", "Tmpfs", "PortBindings", "PublishAllPorts", "NetworkMode", "AutoRemove", "Privileged",
        "CapAdd", "CapDrop", "SecurityOpt", "GroupAdd", "Devices", "ReadonlyRootfs", "Memory", "MemorySwap",
        "NanoCpus", "CpuShares", "CpusetCpus", "PidsLimit", "VolumesFrom", "RestartPolicy", "LogConfig",
        "ConsoleSize", "Isolation", "CgroupnsMode", "MemorySwappiness", "ExtraHosts", "Dns", "DnsOptions",
        "DnsSearch", "CpuPeriod", "CpuQuota", "MemoryReservation", "CpusetMems", "Ulimits", "ShmSize", "Init",
        "Sysctls", "PidMode", "IpcMode", "UTSMode", "OomScoreAdj", "UsernsMode", "OomKillDisable", "Links", "CgroupParent",
        "DeviceCgroupRules",
        "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
    ]

    static func options(_ body: JSON, name: String?) throws(BerthError) -> CreateOptions {
        guard case .object(let members) = body else { throw .invalid("the request body needs to be a JSON object") }
        guard let image = body["Image"]?.stringValue, !image.isEmpty else {
            throw .invalid("Config cannot be empty in order to create a container")
        }
        for (key, value) in members where !configKeys.contains(key) && !isEmpty(value) {
            throw unsupported(key)
        }
        let host = body["HostConfig"] ?? .object([])
        if case .object(let hostMembers) = host {
            for (key, value) in hostMembers where !hostKeys.contains(key) && !isEmpty(value) {
                throw unsupported("HostConfig." + key)
            }
        }
        try checkTypes(body, host)
        try checkDefaults(host)
        let endpoint = try endpoints(body["NetworkingConfig"], network: nonEmpty(host["NetworkMode"])).primary
        // The first network's endpoint links become the container's (the
        // others' are added when the route connects those networks).
        let endpointLinks = endpoint.links
        var o = CreateOptions(image: image)
        o.name = name.flatMap { $0.isEmpty ? nil : $0 }
        o.command = try strings(body["Cmd"], "Cmd") ?? []
        if let entry = try strings(body["Entrypoint"], "Entrypoint") {
            // Docker's `[]` and `[""]` reset the image's; more words than
            // one are the first as the entrypoint and the rest before Cmd,
            // which runs the same argv.
            let words = entry.filter { !$0.isEmpty }
            o.entrypoint = words.first ?? ""
            if words.count > 1 { o.command = Array(words.dropFirst()) + o.command }
        }
        o.env = try strings(body["Env"], "Env") ?? []
        o.workdir = nonEmpty(body["WorkingDir"])
        o.user = nonEmpty(body["User"])
        o.hostname = nonEmpty(body["Hostname"])
        o.domainname = nonEmpty(body["Domainname"])
        o.cgroupParent = nonEmpty(host["CgroupParent"])
        o.deviceCgroupRules = try strings(host["DeviceCgroupRules"], "HostConfig.DeviceCgroupRules") ?? []
        o.tty = body["Tty"]?.boolValue ?? false
        o.interactive = body["OpenStdin"]?.boolValue ?? false
        o.stopSignal = nonEmpty(body["StopSignal"])
        if let s = o.stopSignal, Signals.number(s) == nil { throw .invalid("invalid signal: \(s)") }
        o.stopTimeout = body["StopTimeout"]?.intValue
        o.autoRemove = host["AutoRemove"]?.boolValue ?? false
        o.readOnly = host["ReadonlyRootfs"]?.boolValue ?? false
        o.publishAll = host["PublishAllPorts"]?.boolValue ?? false
        if let mode = nonEmpty(host["NetworkMode"]), mode != "default" { o.network = mode }
        o.publish = try ports(host["PortBindings"])
        // `--expose`: the ports no binding publishes (the CLI lists the published ones too).
        if case .object(let exposed)? = body["ExposedPorts"] {
            let published = Set(
                (host["PortBindings"].flatMap { v -> [String]? in
                    guard case .object(let m) = v else { return nil }
                    return m.map(\.0)
                }) ?? [])
            o.expose = exposed.map(\.0).filter { !published.contains($0) }
        }
        if case .object(let labels)? = body["Labels"] {
            o.labels = labels.map { $0.0 + "=" + ($0.1.stringValue ?? "") }
        }
        if let policy = host["RestartPolicy"], let name = nonEmpty(policy["Name"]), name != "no" {
            let count = policy["MaximumRetryCount"]?.intValue ?? 0
            o.restartPolicy = try RestartPolicy.parse(count > 0 ? "\(name):\(count)" : name)
        }
        o.networkOptions.extraHosts = try strings(host["ExtraHosts"], "HostConfig.ExtraHosts") ?? []
        o.networkOptions.links = try (strings(host["Links"], "HostConfig.Links") ?? []).map {
            (t) throws(BerthError) in try ContainerLink.parse(t)
        }
        for link in endpointLinks where !o.networkOptions.links.contains(link) { o.networkOptions.links.append(link) }
        o.networkOptions.dns = try strings(host["Dns"], "HostConfig.Dns") ?? []
        o.networkOptions.dnsOptions = try strings(host["DnsOptions"], "HostConfig.DnsOptions") ?? []
        o.networkOptions.dnsSearch = try strings(host["DnsSearch"], "HostConfig.DnsSearch") ?? []
        o.networkOptions.aliases = endpoint.aliases
        o.networkOptions.ipAddress = endpoint.ip
        o.networkOptions.macAddress = nonEmpty(body["MacAddress"]) ?? endpoint.mac
        o.mounts = try mounts(body, host)
        o.volumesFrom = try strings(host["VolumesFrom"], "HostConfig.VolumesFrom") ?? []
        o.security.privileged = host["Privileged"]?.boolValue ?? false
        o.security.capAdd = try strings(host["CapAdd"], "HostConfig.CapAdd") ?? []
        o.security.capDrop = try strings(host["CapDrop"], "HostConfig.CapDrop") ?? []
        o.security.options = try strings(host["SecurityOpt"], "HostConfig.SecurityOpt") ?? []
        o.groupAdd = try strings(host["GroupAdd"], "HostConfig.GroupAdd") ?? []
        o.devices = try (host["Devices"]?.arrayValue ?? []).map { (d) throws(BerthError) -> DeviceMapping in
            let path = d["PathOnHost"]?.stringValue ?? ""
            let inside = d["PathInContainer"]?.stringValue ?? ""
            let perms = d["CgroupPermissions"]?.stringValue ?? ""
            return try DeviceMapping.parse(
                [path, inside.isEmpty ? path : inside, perms.isEmpty ? "rwm" : perms].joined(separator: ":"))
        }
        o.resources = try resources(host)
        o.process = try process(host)
        o.logConfig = try logConfig(host["LogConfig"])
        o.healthcheck = try healthcheck(body["Healthcheck"])
        o.userns = try userns(host["UsernsMode"])
        return o
    }

    /// `UsernsMode`: `host` (or empty) is no user namespace, as dockerd;
    /// `auto`, `auto:size=N` and `keep-id` are Podman's API values, given to
    /// the engine exactly as `--userns` gives them. Anything else is the
    /// request's fault, said the way dockerd's 400 says it.
    static func userns(_ v: JSON?) throws(BerthError) -> String? {
        guard let mode = nonEmpty(v), mode != "host" else { return nil }
        guard (try? UsernsMode.parse(mode)) != nil else {
            let shown = mode.count > 64 ? String(mode.prefix(64)) + "…" : mode
            throw .invalid(
                "invalid UsernsMode \"\(shown)\": use host, auto, auto:size=N (N from 1 to 2147483648) or keep-id")
        }
        return mode
    }

    /// `Ulimits`, `ShmSize`, `Init`, `Sysctls`, `OomScoreAdj` and the
    /// namespace modes, through the parsers of `--ulimit`, `--sysctl`,
    /// `--pid`/`--ipc`/`--uts` (the same checks and refusals as the flags).
    static func process(_ host: JSON) throws(BerthError) -> ProcessSettings {
        var p = ProcessSettings()
        p.initProcess = host["Init"]?.boolValue ?? false
        for u in host["Ulimits"]?.arrayValue ?? [] {
            guard let name = u["Name"]?.stringValue, let soft = u["Soft"]?.int64Value else {
                throw .invalid("HostConfig.Ulimits needs {\"Name\", \"Soft\", \"Hard\"} objects")
            }
            if let h = u["Hard"], h != .null, h.int64Value == nil {
                throw .invalid("HostConfig.Ulimits: Hard of \(name) needs to be a number")
            }
            let hard = u["Hard"]?.int64Value ?? soft
            let limit = try Ulimit.parse("\(name)=\(soft):\(hard)")
            p.ulimits.removeAll { $0.name == limit.name }
            p.ulimits.append(limit)
        }
        if let size = host["ShmSize"]?.int64Value, size != 0 {
            guard size > 0 else { throw .invalid("SHM size can not be less than 0") }
            p.shmSize = size
        }
        if case .object(let sysctls)? = host["Sysctls"] {
            for (key, value) in sysctls {
                let s = try Sysctl.parse(key + "=" + (value.stringValue ?? ""))
                p.sysctls.removeAll { $0.key == s.key }
                p.sysctls.append(s)
            }
        }
        if let adj = host["OomScoreAdj"]?.intValue, adj != 0 { p.oomScoreAdj = adj }
        p.namespaces = try NamespaceModes.parse(
            pid: nonEmpty(host["PidMode"]), ipc: nonEmpty(host["IpcMode"]), uts: nonEmpty(host["UTSMode"]),
            cgroup: nonEmpty(host["CgroupnsMode"]))
        return p
    }

    /// `LogConfig {Type, Config}` as `--log-driver TYPE --log-opt K=V…`;
    /// an empty `Type` is the default driver.
    static func logConfig(_ v: JSON?) throws(BerthError) -> LogConfig {
        guard let v, !isEmpty(v) else { return LogConfig() }
        var options: [String] = []
        if case .object(let members)? = v["Config"] {
            for (key, value) in members {
                guard let text = value.stringValue else { throw .invalid("HostConfig.LogConfig.Config.\(key) needs a string") }
                options.append(key + "=" + text)
            }
        }
        return try LogConfig.parse(driver: nonEmpty(v["Type"]), options: options)
    }

    /// `Healthcheck {Test, Interval, Timeout, StartPeriod, Retries}` (nanoseconds),
    /// as `--health-*` give it; merged over the image's at create.
    static func healthcheck(_ v: JSON?) throws(BerthError) -> HealthConfig? {
        guard let v, !isEmpty(v) else { return nil }
        guard case .object(let members) = v else { throw .invalid("Healthcheck needs to be an object") }
        for (key, value) in members
        where !["Test", "Interval", "Timeout", "StartPeriod", "Retries"].contains(key) && !isEmpty(value) {
            throw unsupported("Healthcheck." + key)
        }
        var c = HealthConfig()
        c.test = try strings(v["Test"], "Healthcheck.Test") ?? []
        if let kind = c.test.first, !["CMD", "CMD-SHELL", "NONE"].contains(kind) {
            throw .invalid("Healthcheck.Test needs to start with CMD, CMD-SHELL or NONE, not \(kind)")
        }
        c.interval = v["Interval"]?.int64Value ?? 0
        c.timeout = v["Timeout"]?.int64Value ?? 0
        c.startPeriod = v["StartPeriod"]?.int64Value ?? 0
        c.retries = v["Retries"]?.intValue ?? 0
        for (value, name) in [(c.interval, "Interval"), (c.timeout, "Timeout"), (c.startPeriod, "StartPeriod")]
        where value < 0 {
            throw .invalid("\(name) in Healthcheck cannot be negative")
        }
        return c
    }

    /// Values that mean "not asked for": what the Go CLI sends for a flag not given.
    static func isEmpty(_ v: JSON) -> Bool {
        switch v {
        case .null: return true
        case .bool(let b): return !b
        case .number(let n): return n == 0
        case .string(let s): return s.isEmpty
        case .array(let a): return a.isEmpty
        case .object(let o): return o.isEmpty
        }
    }

    static func unsupported(_ field: String) -> BerthError {
        .invalid("\(field) is not supported by Berth; remove it from the request (see docs/api.md)")
    }

    /// The scalar fields read here, by the JSON type dockerd decodes them
    /// into: a value of another type (`"Init": "yes"`) is dockerd's 400, never
    /// read as "not given".
    static let types: [(keys: [String], type: String, check: @Sendable (JSON) -> Bool)] = [
        (
            [
                "Tty", "OpenStdin", "AttachStdin", "AttachStdout", "AttachStderr", "StdinOnce", "HostConfig.AutoRemove",
                "HostConfig.ReadonlyRootfs", "HostConfig.PublishAllPorts", "HostConfig.Privileged", "HostConfig.Init",
                "HostConfig.OomKillDisable",
            ], "bool", { $0.boolValue != nil }
        ),
        (
            [
                "StopTimeout", "HostConfig.Memory", "HostConfig.MemorySwap", "HostConfig.NanoCpus", "HostConfig.CpuShares",
                "HostConfig.PidsLimit", "HostConfig.CpuPeriod", "HostConfig.CpuQuota", "HostConfig.MemoryReservation",
                "HostConfig.ShmSize", "HostConfig.OomScoreAdj", "HostConfig.MemorySwappiness",
            ], "int64", { $0.int64Value != nil }
        ),
        (
            [
                "Image", "WorkingDir", "User", "Hostname", "Domainname", "MacAddress", "StopSignal", "HostConfig.NetworkMode",
                "HostConfig.CpusetCpus",
                "HostConfig.CpusetMems", "HostConfig.PidMode", "HostConfig.IpcMode", "HostConfig.UTSMode",
                "HostConfig.Isolation", "HostConfig.CgroupnsMode", "HostConfig.UsernsMode",
            ], "string", { $0.stringValue != nil }
        ),
    ]

    private static func checkTypes(_ body: JSON, _ host: JSON) throws(BerthError) {
        for (keys, type, check) in types {
            for key in keys {
                let value = key.hasPrefix("HostConfig.") ? host[String(key.dropFirst(11))] : body[key]
                guard let value, value != .null, !check(value) else { continue }
                throw .invalid("json: cannot unmarshal \(value.compact) into Go struct field \(key) of type \(type)")
            }
        }
        if case .object(let sysctls)? = host["Sysctls"] {
            for (key, value) in sysctls where value.stringValue == nil {
                throw .invalid(
                    "json: cannot unmarshal \(value.compact) into Go struct field HostConfig.Sysctls[\(key)] of type string")
            }
        }
    }

    /// Fields read here whose only supported value is Docker's default.
    private static func checkDefaults(_ host: JSON) throws(BerthError) {
        if let iso = nonEmpty(host["Isolation"]), iso != "default" { throw unsupported("HostConfig.Isolation") }
    }

    /// One endpoint of `NetworkingConfig.EndpointsConfig`: the network, its
    /// `Aliases` (`--network-alias`), `IPAMConfig.IPv4Address` (`--ip`) and
    /// `MacAddress` (`--mac-address`, API 1.44; older clients send `Config.MacAddress`).
    struct Endpoint {
        var network: String
        var aliases: [String] = []
        /// `Links` (`web:alias`), docker-compose's `links:` on a user network.
        var links: [ContainerLink] = []
        var ip: String?
        var mac: String?
    }

    /// `NetworkingConfig.EndpointsConfig`: the endpoint of the `NetworkMode`
    /// network (the CLI's `--network`; `bridge` or `default` without one),
    /// which create leases as `berth create` does, and the others, which
    /// the route connects once the container exists (API 1.44 takes several
    /// networks at create; docker-py and compose 2 send them). Any endpoint
    /// field other than those two is refused by name.
    static func endpoints(_ v: JSON?, network: String?) throws(BerthError) -> (primary: Endpoint, others: [Endpoint]) {
        var primary = Endpoint(network: network ?? "bridge")
        var others: [Endpoint] = []
        if case .object(let endpoints)? = v?["EndpointsConfig"] {
            for (name, value) in endpoints {
                var endpoint = Endpoint(network: name)
                if case .object(let fields) = value {
                    for (key, field) in fields where !isEmpty(field) {
                        switch key {
                        case "Aliases": endpoint.aliases = try strings(field, "Aliases") ?? []
                        case "Links":
                            endpoint.links = try (strings(field, "Links") ?? []).map {
                                (t) throws(BerthError) in try ContainerLink.parse(t)
                            }
                        case "MacAddress": endpoint.mac = field.stringValue
                        case "IPAMConfig":
                            guard case .object(let ipam) = field else { continue }
                            for (k, x) in ipam where !isEmpty(x) {
                                guard k == "IPv4Address" else {
                                    throw unsupported("NetworkingConfig.EndpointsConfig.\(name).IPAMConfig.\(k)")
                                }
                                endpoint.ip = x.stringValue
                            }
                        default: throw unsupported("NetworkingConfig.EndpointsConfig.\(name).\(key)")
                        }
                    }
                }
                if name == (network ?? "default") || (network == nil && name == "bridge") {
                    primary.links = endpoint.links
                    primary.aliases = endpoint.aliases
                    primary.ip = endpoint.ip
                    primary.mac = endpoint.mac
                } else {
                    // Berth gives a fixed address on the first network only.
                    if endpoint.mac != nil { throw unsupported("NetworkingConfig.EndpointsConfig.\(name).MacAddress") }
                    others.append(endpoint)
                }
            }
        }
        if case .object(let members)? = v {
            for (key, value) in members where key != "EndpointsConfig" && !isEmpty(value) {
                throw unsupported("NetworkingConfig." + key)
            }
        }
        return (primary, others)
    }

    static func nonEmpty(_ v: JSON?) -> String? {
        guard let s = v?.stringValue, !s.isEmpty else { return nil }
        return s
    }

    /// A list of strings; Docker also takes one string for Cmd and Entrypoint.
    static func strings(_ v: JSON?, _ field: String) throws(BerthError) -> [String]? {
        switch v {
        case nil, .null?: return nil
        case .string(let s)?: return [s]
        case .array(let items)?:
            var out: [String] = []
            for item in items {
                guard let s = item.stringValue else { throw .invalid("\(field) needs to be a list of strings") }
                out.append(s)
            }
            return out
        default: throw .invalid("\(field) needs to be a list of strings")
        }
    }

    /// `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}` as `-p` values.
    static func ports(_ v: JSON?) throws(BerthError) -> [String] {
        guard case .object(let entries)? = v else { return [] }
        var out: [String] = []
        for (port, bindings) in entries {
            for b in bindings.arrayValue ?? [.object([])] {
                let ip = b["HostIp"]?.stringValue ?? ""
                let hostPort = b["HostPort"]?.stringValue ?? ""
                out.append((ip.isEmpty ? "" : ip + ":") + hostPort + ":" + port)
            }
        }
        return out
    }

    /// `Binds`, `Mounts`, `Tmpfs` and the anonymous `Volumes`, through the
    /// parsers of `-v`, `--mount` and `--tmpfs`.
    static func mounts(_ body: JSON, _ host: JSON) throws(BerthError) -> [MountSpec] {
        var out: [MountSpec] = []
        for bind in try strings(host["Binds"], "HostConfig.Binds") ?? [] { out.append(try MountSpec.parseVolume(bind)) }
        for m in host["Mounts"]?.arrayValue ?? [] {
            for key in ["BindOptions", "VolumeOptions"] where !(m[key].map(isEmpty) ?? true) {
                throw unsupported("HostConfig.Mounts.\(key)")
            }
            var parts = ["type=" + (m["Type"]?.stringValue ?? "volume")]
            if let s = nonEmpty(m["Source"]) { parts.append("source=" + s) }
            parts.append("target=" + (m["Target"]?.stringValue ?? ""))
            if m["ReadOnly"]?.boolValue == true { parts.append("readonly") }
            if let size = m["TmpfsOptions"]?["SizeBytes"]?.int64Value, size > 0 { parts.append("tmpfs-size=\(size)") }
            if let mode = m["TmpfsOptions"]?["Mode"]?.intValue, mode > 0 { parts.append("tmpfs-mode=" + String(mode, radix: 8)) }
            out.append(try MountSpec.parseMount(parts.joined(separator: ",")))
        }
        if case .object(let tmpfs)? = host["Tmpfs"] {
            for (path, opts) in tmpfs {
                let o = opts.stringValue ?? ""
                out.append(try MountSpec.parseTmpfs(o.isEmpty ? path : path + ":" + o))
            }
        }
        if case .object(let volumes)? = body["Volumes"] {
            for (path, _) in volumes where !out.contains(where: { $0.target == path }) {
                out.append(try MountSpec.parseVolume(path))
            }
        }
        return out
    }

    static func resources(_ host: JSON) throws(BerthError) -> Resources {
        var r = Resources()
        if let m = host["Memory"]?.int64Value, m != 0 {
            guard m > 0 else { throw .invalid("invalid HostConfig.Memory \(m): it needs to be positive") }
            r.memory = m
        }
        if let s = host["MemorySwap"]?.int64Value, s != 0 { r.memorySwap = s }
        if let n = host["NanoCpus"]?.int64Value, n != 0 {
            guard n > 0 else { throw .invalid("invalid HostConfig.NanoCpus \(n): it needs to be positive") }
            r.nanoCpus = n
        }
        if let c = host["CpuShares"]?.int64Value, c != 0 { r.cpuShares = c }
        r.cpusetCpus = nonEmpty(host["CpusetCpus"])
        if let p = host["PidsLimit"]?.int64Value, p != 0 { r.pidsLimit = p }
        // `--cpu-period`, `--cpu-quota`, `--cpuset-mems`, `--memory-reservation`:
        // 0 or "" is the flag not given; the factory checks them as for the CLI.
        if let v = host["CpuPeriod"]?.int64Value, v != 0 { r.cpuPeriod = v }
        if let v = host["CpuQuota"]?.int64Value, v != 0 { r.cpuQuota = v }
        r.cpusetMems = nonEmpty(host["CpusetMems"])
        if let v = host["MemoryReservation"]?.int64Value, v != 0 { r.memoryReservation = v }
        // `--oom-kill-disable`, `--memory-swappiness` (-1 or null: not given).
        if host["OomKillDisable"]?.boolValue == true { r.oomKillDisable = true }
        if let s = host["MemorySwappiness"]?.int64Value, s != -1 { r.memorySwappiness = s }
        // `--device-read-bps` and the rest: [{"Path":"/dev/sda","Rate":1048576}].
        func throttles(_ key: String, _ flag: String, bytes: Bool) throws(BerthError) -> [ThrottleDevice] {
            guard let v = host[key], !isEmpty(v) else { return [] }
            guard let list = v.arrayValue else { throw .invalid("HostConfig.\(key) must be a list of {Path, Rate}") }
            return try list.map { (entry) throws(BerthError) in
                guard let path = entry["Path"]?.stringValue, let rate = entry["Rate"]?.int64Value, rate >= 0 else {
                    throw .invalid("HostConfig.\(key): each entry needs a Path and a Rate of at least 0")
                }
                return try ThrottleDevice.parse("\(path):\(rate)", flag: flag, bytes: bytes)
            }
        }
        r.blockIO.readBps = try throttles("BlkioDeviceReadBps", "device-read-bps", bytes: true)
        r.blockIO.writeBps = try throttles("BlkioDeviceWriteBps", "device-write-bps", bytes: true)
        r.blockIO.readIOps = try throttles("BlkioDeviceReadIOps", "device-read-iops", bytes: false)
        r.blockIO.writeIOps = try throttles("BlkioDeviceWriteIOps", "device-write-iops", bytes: false)
        return r
    }
}
