#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// The flags `create` and `run` share, in Docker's spelling.
enum ContainerFlags {
    static let name = Flag.string("name", help: "Assign a name to the container")
    static let interactive = Flag.bool("interactive", short: "i", help: "Keep STDIN open even if not attached")
    static let tty = Flag.bool("tty", short: "t", help: "Allocate a pseudo-TTY")
    static let env = Flag.strings("env", short: "e", help: "Set environment variables (KEY=VALUE, or KEY to copy it from here)")
    static let envFile = Flag.strings("env-file", help: "Read in a file of environment variables", completion: .files)
    static let workdir = Flag.string("workdir", short: "w", help: "Working directory inside the container")
    static let user = Flag.string("user", short: "u", help: "Username or UID (format: <name|uid>[:<group|gid>])")
    static let hostname = Flag.string("hostname", short: "h", help: "Container host name")
    static let domainname = Flag.string("domainname", help: "Container NIS domain name")
    static let cgroupParent = Flag.string("cgroup-parent", help: "Optional parent cgroup for the container")
    static let entrypoint = Flag.string("entrypoint", help: "Overwrite the default ENTRYPOINT of the image")
    static let rm = Flag.bool("rm", help: "Automatically remove the container when it exits")
    static let isolation = Flag.string(
        "isolation", help: "Isolation backend (namespaces, chroot, oci, oci:runc, oci:crun)",
        completion: .pluginsOfKind("isolation"))
    static let runtime = Flag.string(
        "runtime", help: "OCI runtime for --isolation oci (runc, crun, or a path)", completion: .words(["runc", "crun"]))
    static let storage = Flag.string("storage", help: "Storage driver (overlay, copy)", completion: .pluginsOfKind("storage"))
    static let network = Flag.string(
        "network", help: "Connect a container to a network (bridge, none, host, or a network's name)",
        completion: .words(["bridge", "none", "host"]))
    static let publish = Flag.strings(
        "publish", short: "p", help: "Publish a container's port(s) to the host ([IP:]HOSTPORT:CONTAINERPORT[/tcp|udp])")
    static let publishAll = Flag.bool("publish-all", short: "P", help: "Publish all exposed ports to random ports")
    static let readOnly = Flag.bool("read-only", help: "Mount the container's root filesystem as read only")
    static let stopSignal = Flag.string("stop-signal", help: "Signal to stop the container", default: "SIGTERM")
    static let stopTimeout = Flag.int("stop-timeout", help: "Timeout (in seconds) to stop a container")
    static let volume = Flag.strings(
        "volume", short: "v", help: "Bind mount a volume (HOST-DIR:CONTAINER-DIR[:ro], NAME:CONTAINER-DIR, CONTAINER-DIR)",
        completion: .files)
    static let mount = Flag.strings(
        "mount", value: "mount", help: "Attach a filesystem mount (type=bind|volume|tmpfs,source=,target=,readonly)")
    static let tmpfs = Flag.strings("tmpfs", help: "Mount a tmpfs directory (PATH[:OPTIONS])")
    static let volumesFrom = Flag.strings(
        "volumes-from", help: "Mount volumes from the specified container(s) (CONTAINER[:ro|rw])", completion: .containers(nil))
    static let device = Flag.strings(
        "device", help: "Add a host device to the container (HOST[:CONTAINER][:PERMISSIONS], permissions of r, w, m)",
        completion: .files)
    static let pull = Flag.string(
        "pull", help: "Pull image before running (\"always\", \"missing\", \"never\")",
        completion: .words(["always", "missing", "never"]), default: "missing")
    static let platform = Flag.string(
        "platform", help: "Set platform if server is multi-platform capable (default linux/\(ImageConfig.hostArchitecture))")
    static let privileged = Flag.bool(
        "privileged", help: "Give extended privileges to this container: all capabilities, no masked paths")
    static let capAdd = Flag.strings(
        "cap-add", help: "Add Linux capabilities (NET_ADMIN, CAP_SYS_TIME, ALL)",
        completion: .words(Capabilities.names.map { String($0.dropFirst(4)) } + ["ALL"]))
    static let capDrop = Flag.strings(
        "cap-drop", help: "Drop Linux capabilities (CHOWN, ALL)",
        completion: .words(Capabilities.names.map { String($0.dropFirst(4)) } + ["ALL"]))
    static let securityOpt = Flag.strings(
        "security-opt", help: "Security options (no-new-privileges, seccomp=PROFILE.json, seccomp=unconfined)", completion: .files
    )
    static let groupAdd = Flag.strings("group-add", help: "Add additional groups to join (name or GID)")
    static let userns = Flag.string(
        "userns", help: "User namespace to use (host, auto, auto:size=N, keep-id)",
        completion: .words(["host", "auto", "keep-id"]))
    static let uidmap = Flag.strings(
        "uidmap", help: "Run the container in a user namespace with this UID map (CONTAINER_ID:HOST_ID:AMOUNT)")
    static let gidmap = Flag.strings(
        "gidmap", help: "Run the container in a user namespace with this GID map (CONTAINER_ID:HOST_ID:AMOUNT)")
    static let logDriver = Flag.string(
        "log-driver", help: "Logging driver for the container (json-file, k8s-file, none)",
        completion: .words(LogConfig.Driver.allCases.map(\.rawValue)))
    static let logOpt = Flag.strings("log-opt", help: "Log driver options (max-size=10m, max-file=3)")
    static let memory = Flag.string("memory", short: "m", value: "bytes", help: "Memory limit (e.g. 512m, 1g)")
    static let memorySwap = Flag.string(
        "memory-swap", value: "bytes", help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    static let cpus = Flag.string("cpus", value: "decimal", help: "Number of CPUs (e.g. 0.5)")
    static let cpuShares = Flag.int("cpu-shares", short: "c", help: "CPU shares (relative weight)")
    static let cpusetCpus = Flag.string("cpuset-cpus", help: "CPUs in which to allow execution (0-3, 0,1)")
    static let pidsLimit = Flag.int("pids-limit", help: "Tune container pids limit (set -1 for unlimited)")
    static let oomKillDisable = Flag.bool("oom-kill-disable", help: "Disable OOM Killer")
    static let volumeDriver = Flag.string(
        "volume-driver", help: "Optional volume driver for the container (Berth has one: local)")
    static let deviceCgroupRule = Flag.strings(
        "device-cgroup-rule", help: "Add a rule to the cgroup allowed devices list (TYPE MAJOR:MINOR ACCESS)")
    static let deviceReadBps = Flag.strings("device-read-bps", help: "Limit read rate (bytes per second) from a device")
    static let deviceWriteBps = Flag.strings("device-write-bps", help: "Limit write rate (bytes per second) to a device")
    static let deviceReadIOps = Flag.strings("device-read-iops", help: "Limit read rate (IO per second) from a device")
    static let deviceWriteIOps = Flag.strings("device-write-iops", help: "Limit write rate (IO per second) to a device")
    static let memorySwappiness = Flag.int(
        "memory-swappiness", help: "Tune container memory swappiness (0 to 100) (default -1)")
    static let cpuPeriod = Flag.int("cpu-period", help: "Limit CPU CFS (Completely Fair Scheduler) period")
    static let cpuQuota = Flag.int("cpu-quota", help: "Limit CPU CFS (Completely Fair Scheduler) quota")
    static let cpusetMems = Flag.string("cpuset-mems", help: "MEMs in which to allow execution (0-3, 0,1)")
    static let memoryReservation = Flag.string("memory-reservation", value: "bytes", help: "Memory soft limit")
    static let label = Flag.strings("label", short: "l", help: "Set meta data on a container (KEY=VALUE, or KEY)")
    static let labelFile = Flag.strings("label-file", help: "Read in a line delimited file of labels", completion: .files)
    static let net = Flag.string(
        "net", help: "Connect a container to a network (the same as --network)", completion: .words(["bridge", "none", "host"]))
    static let cidfile = Flag.string("cidfile", value: "file", help: "Write the container ID to the file", completion: .files)
    static let quiet = Flag.bool("quiet", short: "q", help: "Suppress the pull output")
    static let addHost = Flag.strings("add-host", help: "Add a custom host-to-IP mapping (HOST:IP, IP may be host-gateway)")
    static let link = Flag.strings("link", help: "Add link to another container (NAME[:ALIAS])")
    static let dns = Flag.strings("dns", help: "Set custom DNS servers")
    static let dnsOption = Flag.strings("dns-option", help: "Set DNS options")
    static let dnsSearch = Flag.strings("dns-search", help: "Set custom DNS search domains")
    static let ip = Flag.string("ip", help: "IPv4 address (e.g., 172.30.100.104) on a user network")
    static let networkAlias = Flag.strings("network-alias", help: "Add network-scoped alias for the container")
    static let macAddress = Flag.string("mac-address", help: "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
    static let expose = Flag.strings("expose", help: "Expose a port or a range of ports (80, 7000-7010/udp)")

    /// Every flag `create` and `run` take, in help order.
    static let create: [any AnyFlag] =
        [
            name, interactive, tty, env, envFile, workdir, user, hostname, domainname, cgroupParent, entrypoint, rm, isolation,
            runtime,
            storage,
            network, publish, publishAll, readOnly, stopSignal, stopTimeout, volume, mount, tmpfs, volumesFrom, device, pull,
            platform, privileged, capAdd, capDrop, securityOpt, groupAdd, userns, uidmap, gidmap, oomKillDisable,
            memorySwappiness, deviceCgroupRule, volumeDriver, RegistryFlags.disableContentTrust, deviceReadBps, deviceWriteBps,
            deviceReadIOps, deviceWriteIOps,
        ] + resourceFlags + metadataAndNetworkFlags + processFlags + RestartFlags.all + HealthFlags.all + logFlags

    /// Labels, the ID file, quiet pulls and the network's names and addresses.
    static let metadataAndNetworkFlags: [any AnyFlag] = [
        label, labelFile, net, cidfile, quiet, addHost, link, dns, dnsOption, dnsSearch, ip, networkAlias, macAddress, expose,
    ]

    /// How the monitor keeps the container's output.
    static let logFlags: [any AnyFlag] = [logDriver, logOpt]

    /// The limits `update` changes, also taken by `create` and `run`.
    static let resourceFlags: [any AnyFlag] = [
        memory, memorySwap, memoryReservation, cpus, cpuPeriod, cpuQuota, cpuShares, cpusetCpus, cpusetMems, pidsLimit,
    ]

    /// The resource flags given (only those; `update` changes just these).
    static func resources(_ args: ParsedArguments) throws(BerthError) -> Resources {
        var r = Resources()
        r.memory = try args[Self.memory].map { (t) throws(BerthError) in try Resources.bytes(t, flag: Self.memory.long) }
        if r.memory == 0 { r.memory = nil }  // Docker's --memory=0: no limit
        r.memorySwap = try args[Self.memorySwap].map { (t) throws(BerthError) in
            try Resources.bytes(t, flag: Self.memorySwap.long)
        }
        r.nanoCpus = try args[Self.cpus].map { (t) throws(BerthError) in try Resources.nanoCPUs(t) }
        r.cpuShares = try args.value(Self.cpuShares).map(Int64.init)
        r.cpusetCpus = args[Self.cpusetCpus]
        r.pidsLimit = try args.value(Self.pidsLimit).map(Int64.init)
        r.cpuPeriod = try args.value(Self.cpuPeriod).map(Int64.init)
        r.cpuQuota = try args.value(Self.cpuQuota).map(Int64.init)
        r.cpusetMems = args[Self.cpusetMems]
        r.memoryReservation = try args[Self.memoryReservation].map { (t) throws(BerthError) in
            try Resources.bytes(t, flag: Self.memoryReservation.long)
        }
        return r
    }

    static func options(_ args: ParsedArguments) throws(BerthError) -> CreateOptions {
        try RegistryFlags.checkContentTrust(args)
        // Every volume Berth makes is the local driver's, so `local` is what
        // happens anyway; another driver would be a plugin Berth cannot load.
        if let driver = args[Self.volumeDriver], !driver.isEmpty, driver != "local" {
            throw .usage(
                "--volume-driver \(quoted(driver)): Berth has no volume plugins, only the local driver; drop the flag or give local"
            )
        }
        var o = CreateOptions(image: args.positionals[0])
        o.command = Array(args.positionals.dropFirst())
        o.entrypoint = args[Self.entrypoint]
        o.name = args[Self.name]
        o.env = args[Self.env]
        o.envFiles = args[Self.envFile]
        o.workdir = args[Self.workdir]
        o.user = args[Self.user]
        o.hostname = args[Self.hostname]
        o.domainname = args[Self.domainname]
        o.cgroupParent = args[Self.cgroupParent]
        o.tty = args[Self.tty]
        o.interactive = args[Self.interactive]
        o.autoRemove = args[Self.rm]
        o.isolation = args[Self.isolation]
        o.runtime = args[Self.runtime]
        o.storage = args[Self.storage]
        o.network = try network(args)
        o.publish = args[Self.publish]
        o.publishAll = args[Self.publishAll]
        o.expose = args[Self.expose]
        o.readOnly = args[Self.readOnly]
        o.stopSignal = args[Self.stopSignal]
        o.stopTimeout = try args.value(Self.stopTimeout)
        o.resources = try resources(args)
        // create and run only: `update` has neither.
        if args[Self.oomKillDisable] { o.resources.oomKillDisable = true }
        if let s = try args.value(Self.memorySwappiness), s != -1 { o.resources.memorySwappiness = Int64(s) }
        func throttles(_ flag: Flag<[String]>, bytes: Bool) throws(BerthError) -> [ThrottleDevice] {
            try args[flag].map { (t) throws(BerthError) in try ThrottleDevice.parse(t, flag: flag.long, bytes: bytes) }
        }
        o.resources.blockIO.readBps = try throttles(Self.deviceReadBps, bytes: true)
        o.resources.blockIO.writeBps = try throttles(Self.deviceWriteBps, bytes: true)
        o.resources.blockIO.readIOps = try throttles(Self.deviceReadIOps, bytes: false)
        o.resources.blockIO.writeIOps = try throttles(Self.deviceWriteIOps, bytes: false)
        o.mounts =
            try args[Self.volume].map { (t) throws(BerthError) in try MountSpec.parseVolume(t) }
            + args[Self.mount].map { (t) throws(BerthError) in try MountSpec.parseMount(t) }
            + args[Self.tmpfs].map { (t) throws(BerthError) in try MountSpec.parseTmpfs(t) }
        o.volumesFrom = args[Self.volumesFrom]
        o.security.privileged = args[Self.privileged]
        o.security.capAdd = args[Self.capAdd]
        o.security.capDrop = args[Self.capDrop]
        o.security.options = args[Self.securityOpt]
        o.groupAdd = args[Self.groupAdd]
        o.userns = args[Self.userns]
        o.idMap = try IDMap.parse(uidmap: args[Self.uidmap], gidmap: args[Self.gidmap])
        _ = try UsernsMode.parse(o.userns)
        o.devices = try args[Self.device].map { (t) throws(BerthError) in try DeviceMapping.parse(t) }
        o.deviceCgroupRules = args[Self.deviceCgroupRule]
        for rule in o.deviceCgroupRules { _ = try DeviceRule.parse(rule) }
        o.process = try process(args)
        o.labels = args[Self.label]
        o.labelFiles = args[Self.labelFile]
        o.networkOptions.extraHosts = args[Self.addHost]
        o.networkOptions.dns = args[Self.dns]
        o.networkOptions.dnsOptions = args[Self.dnsOption]
        o.networkOptions.dnsSearch = args[Self.dnsSearch]
        o.networkOptions.ipAddress = args[Self.ip]
        o.networkOptions.aliases = args[Self.networkAlias]
        o.networkOptions.macAddress = args[Self.macAddress]
        o.networkOptions.links = try args[Self.link].map { (t) throws(BerthError) in try ContainerLink.parse(t) }
        try o.networkOptions.validate()
        try RestartFlags.apply(args, to: &o)
        try HealthFlags.apply(args, to: &o)
        o.logConfig = try LogConfig.parse(driver: args[Self.logDriver], options: args[Self.logOpt])
        if let s = o.stopSignal, Signals.number(s) == nil {
            throw BerthError("invalid signal: \(s); use a name like SIGTERM or a number")
        }
        return o
    }

    /// `--network` or its alias `--net` (Docker takes both); naming two
    /// different networks is refused, as Berth joins one network at create.
    static func network(_ args: ParsedArguments) throws(BerthError) -> String? {
        let long = args[Self.network], short = args[Self.net]
        if let long, let short, long != short {
            throw .usage(
                "conflicting options: --network \(long) and --net \(short) name different networks; give one (--net is another spelling of --network)"
            )
        }
        return long ?? short
    }

    /// `run`/`create`: pulls the image as `--pull` says, showing nothing of
    /// the pull with `-q` (Docker still says the image was not found locally).
    static func pull(_ ctx: CommandContext, _ args: ParsedArguments, _ image: String) throws(BerthError) -> String {
        try ctx.implicitPull(
            image, policy: args[Self.pull] ?? "missing", platform: args[Self.platform], quiet: args[Self.quiet])
    }

    static let containerArgs = [
        ArgSpec("IMAGE", completion: .images), ArgSpec("COMMAND", optional: true),
        ArgSpec("ARG", repeats: true, optional: true),
    ]
}
