#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// What the engine asks of an isolation backend beyond its plan: start PID 1
/// inside the monitor, and the verbs the CLI sends to a running container.
/// The engine never tests a backend's name; it calls these (Podman's
/// `libpod/oci.go` runtime interface, containerization's
/// `VirtualMachineInstance`).
///
/// Every verb has a default: the engine's own clone path and the cgroup
/// freezer, which the native backends use as they are. A backend that drives
/// something else (the oci plugin drives runc or crun) implements its own.
public protocol ContainerRuntime: IsolationBackend {
    /// Runs in the monitor: starts PID 1, writes the report, supervises it
    /// until it exits and records the exit (through the session's API).
    func run(_ session: MonitorSession, readyFD: Int32, waitAttach: Bool)
    /// Sends a signal to PID 1 (`kill`).
    func signal(_ container: Container, in layout: StoreLayout, _ signal: Int32) throws(BerthError)
    /// Freezes every process of the container.
    func pause(_ container: Container, in layout: StoreLayout) throws(BerthError)
    /// Thaws them.
    func resume(_ container: Container, in layout: StoreLayout) throws(BerthError)
    /// Forgets whatever the backend keeps for a container whose monitor is
    /// gone (a runtime's state directory); called by `rm`.
    func delete(_ container: Container, in layout: StoreLayout)
}

extension ContainerRuntime {
    public func run(_ session: MonitorSession, readyFD: Int32, waitAttach: Bool) {
        session.runNative(readyFD: readyFD, waitAttach: waitAttach)
    }

    public func signal(_ container: Container, in layout: StoreLayout, _ signal: Int32) throws(BerthError) {
        let pidfd = berth_pidfd_open(container.state.pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        guard pidfd >= 0, berth_pidfd_send_signal(pidfd, signal) == 0 else {
            throw .syscall("kill", "container \(container.name)", .current)
        }
    }

    public func pause(_ container: Container, in layout: StoreLayout) throws(BerthError) {
        try Cgroup(path: container.cgroupPath).freeze()
    }

    public func resume(_ container: Container, in layout: StoreLayout) throws(BerthError) {
        try Cgroup(path: container.cgroupPath).thaw()
    }

    public func delete(_ container: Container, in layout: StoreLayout) {}
}

/// Makes a backend as the engine drives it (`Registration.typedFactory`).
public struct RuntimeFactory: Sendable {
    public let make: @Sendable () -> any ContainerRuntime
}

extension Registration {
    /// An isolation backend the engine can run: the registry hands it back
    /// as a `ContainerRuntime` without a dynamic cast.
    public static func runtime(
        id: String, description: String, origin: PluginOrigin, _ make: @escaping @Sendable () -> any ContainerRuntime
    ) -> Registration {
        var registration = Registration(
            kind: .isolation, id: id, description: description, origin: origin, factory: .isolation { make() })
        registration.typedFactory = RuntimeFactory(make: make)
        return registration
    }
}

extension PluginRegistry {
    /// The backend of a container, as the engine drives it.
    public func runtime(_ id: String) throws(BerthError) -> any ContainerRuntime {
        for reg in all(.isolation) where reg.id == id {
            if let factory = reg.typedFactory as? RuntimeFactory { return factory.make() }
        }
        let backend = try isolationBackend(id)
        guard let runtime = backend as? any ContainerRuntime else {
            throw .unavailable("isolation backend \"\(id)\" plans containers but cannot run them (it is not a ContainerRuntime)")
        }
        return runtime
    }
}
