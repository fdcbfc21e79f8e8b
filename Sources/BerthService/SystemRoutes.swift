#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine

/// `/_ping`, `/version`, `/info`: what clients read to negotiate and to
/// show `docker version` and `docker info`.
struct SystemRoutes {
    let engine: Engine

    /// `OK`, with the headers the CLI negotiates from.
    func ping(_ r: APIRequest) -> APIResponse {
        var response = APIResponse.text("OK")
        response.headers += [
            ("Builder-Version", "1"), ("Swarm", "inactive"),
            ("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache"),
        ]
        return response
    }

    func version() -> APIResponse {
        let kernel = Self.uname().release
        let components: JSON = .array([
            .object([
                ("Name", .string("Engine")), ("Version", .string(berthVersion)),
                (
                    "Details",
                    .object([
                        ("ApiVersion", .string(APIVersion.current.description)),
                        ("MinAPIVersion", .string(APIVersion.minimum.description)),
                        ("Os", .string("linux")), ("Arch", .string(ImageConfig.hostArchitecture)),
                        ("KernelVersion", .string(kernel)),
                    ])
                ),
            ])
        ])
        return .json(
            .object([
                ("Platform", .object([("Name", .string("Berth"))])),
                ("Components", components),
                ("Version", .string(berthVersion)), ("ApiVersion", .string(APIVersion.current.description)),
                ("MinAPIVersion", .string(APIVersion.minimum.description)), ("GitCommit", .string("")),
                ("GoVersion", .string("")), ("Os", .string("linux")), ("Arch", .string(ImageConfig.hostArchitecture)),
                ("KernelVersion", .string(kernel)), ("BuildTime", .string("")),
            ]))
    }

    func info() -> APIResponse {
        let containers = engine.lifecycle.containers.all()
        let count = { (s: ContainerStatus) in containers.filter { $0.state.status == s }.count }
        let u = Self.uname()
        let defaults = StoreConfig.load(engine.layout)
        let storage = defaults.storage ?? engine.registry.defaultID(.storage) ?? ""
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        let cgroupV2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
        return .json(
            .object([
                ("ID", .string("")), ("Containers", .int(containers.count)),
                ("ContainersRunning", .int(count(.running))), ("ContainersPaused", .int(count(.paused))),
                ("ContainersStopped", .int(containers.count - count(.running) - count(.paused))),
                ("Images", .int(engine.images.all().count)), ("Driver", .string(storage)),
                ("DriverStatus", .array([])),
                (
                    "Plugins",
                    .object([
                        ("Volume", .strings(["local"])), ("Network", .strings(["bridge", "host", "none"])),
                        ("Authorization", .null), ("Log", .strings(["json-file"])),
                    ])
                ),
                ("MemoryLimit", .bool(true)), ("SwapLimit", .bool(true)), ("CpuCfsPeriod", .bool(true)),
                ("CpuCfsQuota", .bool(true)), ("CPUShares", .bool(true)), ("CPUSet", .bool(true)),
                ("PidsLimit", .bool(true)), ("IPv4Forwarding", .bool(true)), ("Debug", .bool(false)),
                ("NFd", .int(0)), ("OomKillDisable", .bool(false)), ("NGoroutines", .int(0)),
                ("SystemTime", .string(Timestamp.now.rfc3339)), ("LoggingDriver", .string("json-file")),
                ("CgroupDriver", .string("cgroupfs")), ("CgroupVersion", .string(cgroupV2 ? "2" : "1")),
                ("NEventsListener", .int(0)), ("KernelVersion", .string(u.release)),
                ("OperatingSystem", .string(Self.operatingSystem())), ("OSVersion", .string("")),
                ("OSType", .string("linux")), ("Architecture", .string(u.machine)),
                ("IndexServerAddress", .string("https://index.docker.io/v1/")),
                ("RegistryConfig", .null), ("NCPU", .int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))),
                ("MemTotal", .int(Int64(pages) * Int64(pageSize))), ("DockerRootDir", .string(engine.root)),
                ("HttpProxy", .string("")), ("HttpsProxy", .string("")), ("NoProxy", .string("")),
                ("Name", .string(Self.hostname())), ("Labels", .array([])), ("ExperimentalBuild", .bool(false)),
                ("ServerVersion", .string(berthVersion)),
                ("Runtimes", .object([("berth", .object([("path", .string("berth"))]))])),
                ("DefaultRuntime", .string("berth")),
                (
                    "Swarm",
                    .object([
                        ("NodeID", .string("")), ("NodeAddr", .string("")), ("LocalNodeState", .string("inactive")),
                        ("ControlAvailable", .bool(false)), ("Error", .string("")), ("RemoteManagers", .null),
                    ])
                ),
                ("LiveRestoreEnabled", .bool(true)), ("Isolation", .string("")), ("InitBinary", .string("")),
                ("SecurityOptions", .strings(Rootless.securityOptions)), ("Warnings", .array([])),
            ]))
    }

    /// `GET /system/df`: layers counted once (`LayersSize`), images with
    /// their own and shared sizes, containers with their writable layers,
    /// volumes with their use; Berth has no build cache.
    func diskUsage(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let store = engine.images
        let lifecycle = engine.lifecycle
        let containers = lifecycle.containers.all()
        let images = store.all()
        var layerSize: [String: Int64] = [:]
        for id in Set(images.flatMap(\.diffIDs)) { layerSize[id] = store.layerSize(id) }
        let imageRows: [JSON] = images.map { image in
            let own = image.diffIDs.filter { d in images.filter { $0.diffIDs.contains(d) }.count == 1 }
            let size = store.size(of: image)
            let unique = own.reduce(Int64(0)) { $0 + (layerSize[$1] ?? 0) }
            return .object([
                ("Id", .string(image.id)), ("ParentId", .string("")),
                ("RepoTags", .strings(image.tags.map(\.description))),
                ("RepoDigests", .strings(store.repoDigests(of: image.id))), ("Created", .int(image.created?.seconds ?? 0)),
                ("Size", .int(size)), ("SharedSize", .int(size - unique)), ("VirtualSize", .int(size)),
                ("Labels", image.runConfig["Labels"] ?? .object([])),
                ("Containers", .int(containers.filter { $0.image == image.id }.count)),
            ])
        }
        let routes = ContainerRoutes(engine: engine)
        let now = Timestamp.now.asDouble
        let containerRows: [JSON] = containers.map { c in
            let rw = routes.writableSize(c)
            let image = images.first { $0.id == c.image }.map { store.size(of: $0) } ?? 0
            return routes.summary(c, now: now).setting("SizeRw", .int(rw)).setting("SizeRootFs", .int(rw + image))
        }
        let volumes = VolumeStore(layout: engine.layout)
        let volumeRows: [JSON] = volumes.all().map { v in
            v.json.setting(
                "UsageData",
                .object([
                    ("Size", .int(FileSystem.diskUsage(v.mountpoint))), ("RefCount", .int(volumes.users(v.name).count)),
                ]))
        }
        return .json(
            .object([
                ("LayersSize", .int(layerSize.values.reduce(0, +))), ("Images", .array(imageRows)),
                ("Containers", .array(containerRows)), ("Volumes", .array(volumeRows)), ("BuildCache", .array([])),
            ]))
    }

    static func uname() -> (release: String, machine: String) {
        var u = utsname()
        Glibc.uname(&u)
        let field = { (p: UnsafeRawPointer) in String(cString: p.assumingMemoryBound(to: CChar.self)) }
        return withUnsafePointer(to: &u.release) { r in
            withUnsafePointer(to: &u.machine) { m in (field(r), field(m)) }
        }
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        return String(cString: buffer)
    }

    /// PRETTY_NAME from /etc/os-release.
    static func operatingSystem() -> String {
        let text = (try? FileSystem.readText("/etc/os-release")) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            return String(line.dropFirst("PRETTY_NAME=".count)).trimmingQuotes
        }
        return "Linux"
    }
}

extension String {
    fileprivate var trimmingQuotes: String {
        var s = Substring(self)
        if s.hasPrefix("\"") { s = s.dropFirst() }
        if s.hasSuffix("\"") { s = s.dropLast() }
        return String(s)
    }
}
