/// How a backend isolates a container's processes. The engine's spawner turns
/// a plan into a clone(2) in the C shim; a backend only decides what to ask for.
public struct IsolationPlan: Sendable, Equatable {
    /// Namespaces to create (CLONE_NEW* flags); 0 for none.
    public var cloneFlags: Int32
    /// Whether to set up private mounts, /proc, /dev, /sys and pivot_root
    /// (true), or only chroot (false).
    public var pivotRoot: Bool
    /// Capabilities to keep, bit N for capability N; `UInt64.max` keeps all.
    public var capabilities: UInt64
    /// Paths hidden from the container (/dev/null or an empty tmpfs over them).
    public var maskedPaths: [String]
    /// Paths made read-only inside the container.
    public var readonlyPaths: [String]
    /// Whether a pty must be opened on the container's own devpts (true) or
    /// allocated by the monitor on the host (false, for chroot).
    public var ptyInside: Bool
    /// An external OCI runtime (runc, crun…) that starts the container from a
    /// bundle instead of Berth's own clone; nil for the native backends.
    public var ociRuntime: String?
    /// Set no_new_privs before exec (`--security-opt no-new-privileges`).
    public var noNewPrivileges = false
    /// Whether the container's processes get a seccomp filter (Docker's
    /// default profile, or the one `--security-opt seccomp=` names). True
    /// unless the backend isolates nothing (chroot).
    public var seccomp = true

    /// Describes an isolation plan.
    public init(
        cloneFlags: Int32, pivotRoot: Bool, capabilities: UInt64, maskedPaths: [String],
        readonlyPaths: [String], ptyInside: Bool
    ) {
        self.cloneFlags = cloneFlags
        self.pivotRoot = pivotRoot
        self.capabilities = capabilities
        self.maskedPaths = maskedPaths
        self.readonlyPaths = readonlyPaths
        self.ptyInside = ptyInside
        self.ociRuntime = nil
        self.seccomp = true
    }
}

/// What a container asks of its isolation, independent of the backend.
public struct IsolationRequest: Sendable {
    /// Share the host's network stack (`--network host`).
    public var hostNetwork: Bool
    /// Make the root filesystem read-only.
    public var readonlyRoot: Bool
    /// `--runtime` for backends that drive an external runtime.
    public var runtime: String?
    /// CLONE_NEW* flags of namespaces the container does not get its own of
    /// (`--pid`, `--ipc`, `--uts` host or container:NAME): the engine joins
    /// the host's or another container's instead.
    public var sharedNamespaces: Int32 = 0
    /// The container gets a user namespace of its own (`--userns`, `--uidmap`).
    public var userNamespace = false

    /// Describes the request.
    public init(hostNetwork: Bool = false, readonlyRoot: Bool = false, runtime: String? = nil, sharedNamespaces: Int32 = 0) {
        self.hostNetwork = hostNetwork
        self.readonlyRoot = readonlyRoot
        self.runtime = runtime
        self.sharedNamespaces = sharedNamespaces
    }
}

/// An isolation backend: Linux namespaces, a plain chroot, … Chosen per
/// container with `--isolation NAME`.
public protocol IsolationBackend: Sendable {
    /// The backend's id (`namespaces`).
    var name: String { get }
    /// Whether the backend isolates processes and network at all; the chroot
    /// fallback answers false and Berth warns about it.
    var isolates: Bool { get }
    /// Whether the backend stands in, with a warning, when the default
    /// backend cannot run here and the user named none (chroot does).
    var standsIn: Bool { get }
    /// Nil when the backend can run on this machine, otherwise why not.
    func unavailableReason() -> String?
    /// The plan for one container process.
    func plan(for request: IsolationRequest) throws(BerthError) -> IsolationPlan
    /// The external runtime a container records for `--runtime VALUE` (nil:
    /// none given): checked at create, so a missing runtime fails there.
    /// Backends that drive no external runtime refuse one.
    func runtime(for requested: String?) throws(BerthError) -> String
    /// Nil when the backend can run a container in a user namespace of its
    /// own; otherwise the one line that refuses `--userns`/`--uidmap`.
    func userNamespaceRefusal() -> String?
}

extension IsolationBackend {
    /// Most backends never stand in for another.
    public var standsIn: Bool { false }

    /// Most backends cannot make a user namespace.
    public func userNamespaceRefusal() -> String? {
        "the \(name) backend cannot give a container a user namespace; drop --userns, --uidmap and --gidmap, or use --isolation namespaces"
    }

    /// No external runtime: `--runtime` is refused, none is recorded.
    public func runtime(for requested: String?) throws(BerthError) -> String {
        guard let requested else { return "" }
        throw .invalid("--runtime \(requested) does not apply to --isolation \(name), which drives no external runtime; drop it")
    }
}
