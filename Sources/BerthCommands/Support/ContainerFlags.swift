#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// The flags `create` and `run` share, in Docker's spelling.
enum ContainerFlags {
    static let create: [FlagSpec] = [
        FlagSpec("name", value: "string", help: "Assign a name to the container"),
        FlagSpec("interactive", short: "i", help: "Keep STDIN open even if not attached"),
        FlagSpec("tty", short: "t", help: "Allocate a pseudo-TTY"),
        FlagSpec("env", short: "e", value: "list", help: "Set environment variables (KEY=VALUE, or KEY to copy it from here)"),
        FlagSpec("env-file", value: "list", help: "Read in a file of environment variables", completion: .files),
        FlagSpec("workdir", short: "w", value: "string", help: "Working directory inside the container"),
        FlagSpec("user", short: "u", value: "string", help: "Username or UID (format: <name|uid>[:<group|gid>])"),
        FlagSpec("hostname", short: "h", value: "string", help: "Container host name"),
        FlagSpec("entrypoint", value: "string", help: "Overwrite the default ENTRYPOINT of the image"),
        FlagSpec("rm", help: "Automatically remove the container when it exits"),
        FlagSpec("isolation", value: "string", help: "Isolation backend (namespaces, chroot, oci, oci:runc, oci:crun)", completion: .pluginsOfKind("isolation")),
        FlagSpec("runtime", value: "string", help: "OCI runtime for --isolation oci (runc, crun, or a path)", completion: .words(["runc", "crun"])),
        FlagSpec("storage", value: "string", help: "Storage driver (overlay, copy)", completion: .pluginsOfKind("storage")),
        FlagSpec("network", value: "string", help: "Connect a container to a network (bridge, none, host, or a network's name)", completion: .words(["bridge", "none", "host"])),
        FlagSpec("publish", short: "p", value: "list", help: "Publish a container's port(s) to the host ([IP:]HOSTPORT:CONTAINERPORT[/tcp|udp])"),
        FlagSpec("publish-all", short: "P", help: "Publish all exposed ports to random ports"),
        FlagSpec("read-only", help: "Mount the container's root filesystem as read only"),
        FlagSpec("stop-signal", value: "string", help: "Signal to stop the container", default: "SIGTERM"),
        FlagSpec("stop-timeout", value: "int", help: "Timeout (in seconds) to stop a container"),
        FlagSpec("volume", short: "v", value: "list", help: "Bind mount a volume (HOST-DIR:CONTAINER-DIR[:ro], NAME:CONTAINER-DIR, CONTAINER-DIR)", completion: .files),
        FlagSpec("mount", value: "mount", help: "Attach a filesystem mount (type=bind|volume|tmpfs,source=,target=,readonly)"),
        FlagSpec("tmpfs", value: "list", help: "Mount a tmpfs directory (PATH[:OPTIONS])"),
        FlagSpec("volumes-from", value: "list", help: "Mount volumes from the specified container(s) (CONTAINER[:ro|rw])", completion: .containers(nil)),
        FlagSpec("pull", value: "string", help: "Pull image before running (\"always\", \"missing\", \"never\")", completion: .words(["always", "missing", "never"]), default: "missing"),
        FlagSpec("platform", value: "string", help: "Set platform if server is multi-platform capable (default linux/\(ImageConfig.hostArchitecture))"),
        FlagSpec("privileged", help: "Give extended privileges to this container: all capabilities, no masked paths"),
        FlagSpec("cap-add", value: "list", help: "Add Linux capabilities (NET_ADMIN, CAP_SYS_TIME, ALL)",
                 completion: .words(Capabilities.names.map { String($0.dropFirst(4)) } + ["ALL"])),
        FlagSpec("cap-drop", value: "list", help: "Drop Linux capabilities (CHOWN, ALL)",
                 completion: .words(Capabilities.names.map { String($0.dropFirst(4)) } + ["ALL"])),
        FlagSpec("security-opt", value: "list", help: "Security options (no-new-privileges, seccomp=PROFILE.json, seccomp=unconfined)", completion: .files),
        FlagSpec("group-add", value: "list", help: "Add additional groups to join (name or GID)"),
    ] + resourceFlags

    static let resourceFlags: [FlagSpec] = [
        FlagSpec("memory", short: "m", value: "bytes", help: "Memory limit (e.g. 512m, 1g)"),
        FlagSpec("memory-swap", value: "bytes", help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
        FlagSpec("cpus", value: "decimal", help: "Number of CPUs (e.g. 0.5)"),
        FlagSpec("cpu-shares", short: "c", value: "int", help: "CPU shares (relative weight)"),
        FlagSpec("cpuset-cpus", value: "string", help: "CPUs in which to allow execution (0-3, 0,1)"),
        FlagSpec("pids-limit", value: "int", help: "Tune container pids limit (set -1 for unlimited)"),
    ]

    /// The resource flags given (only those; `update` changes just these).
    static func resources(_ args: ParsedArguments) throws(BerthError) -> Resources {
        var r = Resources()
        r.memory = try args.string("memory").map { (t) throws(BerthError) in try Resources.bytes(t, flag: "memory") }
        r.memorySwap = try args.string("memory-swap").map { (t) throws(BerthError) in try Resources.bytes(t, flag: "memory-swap") }
        r.nanoCpus = try args.string("cpus").map { (t) throws(BerthError) in try Resources.nanoCPUs(t) }
        r.cpuShares = try args.int("cpu-shares").map(Int64.init)
        r.cpusetCpus = args.string("cpuset-cpus")
        r.pidsLimit = try args.int("pids-limit").map(Int64.init)
        return r
    }

    static func options(_ args: ParsedArguments) throws(BerthError) -> CreateOptions {
        var o = CreateOptions(image: args.positionals[0])
        o.command = Array(args.positionals.dropFirst())
        o.entrypoint = args.string("entrypoint")
        o.name = args.string("name")
        o.env = args.strings("env")
        o.envFiles = args.strings("env-file")
        o.workdir = args.string("workdir")
        o.user = args.string("user")
        o.hostname = args.string("hostname")
        o.tty = args.bool("tty")
        o.interactive = args.bool("interactive")
        o.autoRemove = args.bool("rm")
        o.isolation = args.string("isolation")
        o.runtime = args.string("runtime")
        o.storage = args.string("storage")
        o.network = args.string("network")
        o.publish = args.strings("publish")
        o.publishAll = args.bool("publish-all")
        o.readOnly = args.bool("read-only")
        o.stopSignal = args.string("stop-signal")
        o.stopTimeout = try args.int("stop-timeout")
        o.resources = try resources(args)
        o.mounts = try args.strings("volume").map { (t) throws(BerthError) in try MountSpec.parseVolume(t) }
            + args.strings("mount").map { (t) throws(BerthError) in try MountSpec.parseMount(t) }
            + args.strings("tmpfs").map { (t) throws(BerthError) in try MountSpec.parseTmpfs(t) }
        o.volumesFrom = args.strings("volumes-from")
        o.security.privileged = args.bool("privileged")
        o.security.capAdd = args.strings("cap-add")
        o.security.capDrop = args.strings("cap-drop")
        o.security.options = args.strings("security-opt")
        o.groupAdd = args.strings("group-add")
        if let s = o.stopSignal, Signals.number(s) == nil {
            throw BerthError("invalid signal: \(s); use a name like SIGTERM or a number")
        }
        return o
    }

    static let containerArgs = [ArgSpec("IMAGE", completion: .images), ArgSpec("COMMAND", optional: true),
                                ArgSpec("ARG", repeats: true, optional: true)]
}
