#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// `--userns`: whose ids the container's processes and files get.
/// `host` (the default): the host's, as in Docker. `auto[:size=N]`: a free
/// range of N (65536) subordinate ids of the `containers` user, recorded in
/// the store. `keep-id`: the invoking user's uid and gid are the same
/// inside; every other id of 0…65535 comes from such a range (run by root,
/// container root is host root, but its capabilities reach only its own
/// namespaces). Explicit maps come from `--uidmap`/`--gidmap`.
public enum UsernsMode: Sendable, Equatable {
    case host
    case auto(size: UInt32)
    case keepID

    /// Parses the flag's value, Podman's spelling; one line for anything else.
    public static func parse(_ text: String?) throws(BerthError) -> UsernsMode {
        guard let text, !text.isEmpty, text != "host" else { return .host }
        if text == "keep-id" { return .keepID }
        if text == "auto" { return .auto(size: UserNamespaceRanges.defaultSize) }
        if text.hasPrefix("auto:") {
            let option = text.dropFirst(5)
            if option.hasPrefix("size="), let n = UInt32(option.dropFirst(5)), n > 0, n <= 1 << 31,
                option.dropFirst(5).allSatisfy({ $0.isASCII && $0.isNumber })
            {
                return .auto(size: n)
            }
            throw .invalid(
                "invalid --userns \(shown(text)): the only option of auto is size=N, a number of ids from 1 to 2147483648")
        }
        throw .invalid("invalid --userns \(shown(text)): use host, auto, auto:size=N or keep-id")
    }

    public var isHost: Bool { self == .host }
}

extension CreateOptions {
    /// The user namespace settings, checked against each other.
    func usernsMode() throws(BerthError) -> UsernsMode {
        let mode = try UsernsMode.parse(userns)
        if !mode.isHost && idMap != nil {
            throw .invalid("--userns \(userns ?? "") and --uidmap/--gidmap conflict: give one of them")
        }
        return mode
    }
}

extension ContainerFactory {
    /// Refuses a user namespace the backend or the driver cannot give,
    /// before anything is made; records how the root's owners are shifted.
    func checkUserNamespace(
        _ container: inout Container, mode: UsernsMode, explicit: IDMap?, backend: any IsolationBackend,
        driver: any StorageDriver
    ) throws(BerthError) {
        guard !mode.isHost || explicit != nil else { return }
        // Rootless, every container already runs in the user's namespace,
        // whose ids are the user's subordinate range: a second map inside it
        // would need ids the pause process's map does not hold.
        if Rootless.isActive {
            throw Rootless.refusal(
                "--userns, --uidmap and --gidmap", "containers already run in your user namespace (berth unshare shows it)")
        }
        if let refusal = backend.userNamespaceRefusal() { throw .invalid(refusal) }
        guard let method = driver.idMappingMethod() else {
            throw .invalid(
                "the \(driver.name) storage driver cannot give a container a user namespace here (it cannot shift the image's owners); drop --userns, --uidmap and --gidmap, or use --storage overlay"
            )
        }
        container.rootfsIDMapping = method.rawValue
        container.idMap = explicit
        if case .auto(let size) = mode {
            container.usernsMode = "auto" + (size == UserNamespaceRanges.defaultSize ? "" : ":size=\(size)")
        }
        if mode == .keepID { container.usernsMode = "keep-id" }
    }

    /// `auto` and `keep-id`: the container's maps from a range taken for it now.
    func allocateUserNamespace(_ container: inout Container, mode: UsernsMode) throws(BerthError) {
        let ranges = UserNamespaceRanges(layout: lifecycle.layout)
        switch mode {
        case .host:
            return
        case .auto(let size):
            let (uid, gid) = try ranges.allocate(container: container.id, size: size, warn: warn)
            container.idMap = IDMap(
                uids: [IDRange(containerID: 0, hostID: uid, size: size)],
                gids: [IDRange(containerID: 0, hostID: gid, size: size)])
        case .keepID:
            let (uid, gid) = try ranges.allocate(container: container.id, size: UserNamespaceRanges.defaultSize, warn: warn)
            container.idMap = IDMap(
                uids: Self.keepID(getuid(), range: uid), gids: Self.keepID(getgid(), range: gid))
        }
    }

    /// `id` inside is `id` outside; the rest of 0…65535 from `range` on.
    static func keepID(_ id: UInt32, range: UInt32) -> [IDRange] {
        var out: [IDRange] = []
        if id > 0 { out.append(IDRange(containerID: 0, hostID: range, size: min(id, 65535))) }
        out.append(IDRange(containerID: id, hostID: id, size: 1))
        if id < 65535 { out.append(IDRange(containerID: id + 1, hostID: range + id, size: 65535 - id)) }
        return out
    }
}

extension StorageDriver {
    /// Mounts a container's root, shifted for its user namespace if it has one.
    public func mountRoot(of container: Container, directory: String, layers: [LayerDirectory]) throws(BerthError) -> String {
        if let map = container.idMap {
            let method = IDMappingMethod(rawValue: container.rootfsIDMapping) ?? .idmappedMounts
            return try mount(containerDirectory: directory, layers: layers, idMap: map, method: method)
        }
        return try mount(containerDirectory: directory, layers: layers)
    }
}

/// Runs `body` with this thread's filesystem ids those of the container's
/// root (for a container with a user namespace): mount points and volume
/// contents the monitor makes in its root must be ids its maps can store.
public func asContainerRoot<T>(_ map: IDMap?, _ body: () throws(BerthError) -> T) throws(BerthError) -> T {
    guard let map else { return try body() }
    let root = map.rootOnHost
    berth_set_fs_ids(root.uid, root.gid)
    defer { berth_set_fs_ids(0, 0) }
    return try body()
}
