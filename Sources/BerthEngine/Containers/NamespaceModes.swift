#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// `--pid`, `--ipc`, `--uts`: whether the container gets its own PID, IPC
/// and UTS namespaces (the default) or shares the host's or another
/// running container's. Docker's values and `HostConfig` fields (`PidMode`,
/// `IpcMode`, `UTSMode`). Sharing a namespace takes nothing else away: the
/// capabilities, masked paths, seccomp filter and device rules stay.
public struct NamespaceModes: Sendable, Equatable {
    /// `""` (own), `host` or `container:NAME`.
    public var pid = ""
    /// `private` (own, the default), `shareable` (own, others may join it),
    /// `none` (own, no /dev/shm), `host` or `container:NAME`.
    public var ipc = "private"
    /// `""` (own) or `host` (Docker has no `container:` for UTS).
    public var uts = ""
    /// `--cgroupns`: `host` (the container sees the host's cgroup paths) or
    /// `private` (a cgroup namespace rooted at its own cgroup); `""` until
    /// create resolves it as Docker does: private on cgroup v2, host on v1.
    public var cgroup = ""

    public init() {}

    /// Parses the three flags with Docker's rules and messages.
    public static func parse(pid: String?, ipc: String?, uts: String?, cgroup: String? = nil) throws(BerthError)
        -> NamespaceModes
    {
        var m = NamespaceModes()
        if let cgroup, !cgroup.isEmpty {
            guard cgroup == "host" || cgroup == "private" else {
                throw .usage("--cgroupns: invalid cgroup namespace mode \(shown(cgroup)); use host or private")
            }
            m.cgroup = cgroup
        }
        if let pid {
            guard pid.isEmpty || pid == "host" || containerName(pid) != nil else {
                throw .usage("--pid: invalid PID mode \(shown(pid)); use host or container:NAME")
            }
            m.pid = pid
        }
        if let ipc {
            guard ["", "private", "shareable", "none", "host"].contains(ipc) || containerName(ipc) != nil else {
                throw .usage("--ipc: invalid IPC mode \(shown(ipc)); use private, shareable, none, host or container:NAME")
            }
            m.ipc = ipc.isEmpty ? "private" : ipc
        }
        if let uts {
            guard uts.isEmpty || uts == "host" else {
                throw .usage("--uts: invalid UTS mode \(shown(uts)); use host")
            }
            m.uts = uts
        }
        return m
    }

    /// `NAME` of `container:NAME`, nil for any other mode.
    public static func containerName(_ mode: String) -> String? {
        guard mode.hasPrefix("container:") else { return nil }
        let name = String(mode.dropFirst(10))
        return name.isEmpty ? nil : name
    }

    /// The CLONE_NEW* flags the container does not get a namespace of its
    /// own for: it shares the host's, or joins another container's.
    public var shared: Int32 {
        var flags: Int32 = 0
        if !pid.isEmpty { flags |= berth_clone_newpid() }
        if ipc == "host" || Self.containerName(ipc) != nil { flags |= berth_clone_newipc() }
        if uts == "host" { flags |= berth_clone_newuts() }
        return flags
    }

    /// Whether nothing is shared (every namespace the container's own).
    public var isDefault: Bool { shared == 0 }

    /// Checks the modes against the rest of the container at create: the
    /// joined containers exist, `-h` is not given with `--uts host`, a
    /// backend without namespaces takes only `host`, and IPC parameters are
    /// not set in the host's IPC namespace.
    func validate(
        hostnameGiven: Bool, isolates: Bool, backend: String, sysctls: [Sysctl], containers: ContainerStore
    ) throws(BerthError) {
        if uts == "host" && hostnameGiven {
            throw .invalid("Conflicting options: hostname and the UTS mode; drop -h or --uts host")
        }
        if cgroup == "private" && !isolates {
            throw .invalid(
                "--cgroupns private: the \(backend) backend has no namespaces (it shares the host's); drop --cgroupns")
        }
        for (flag, mode) in [("pid", pid), ("ipc", ipc)] {
            guard let name = Self.containerName(mode) else { continue }
            if !isolates {
                throw .invalid(
                    "--\(flag) \(shown(mode)): the \(backend) backend has no namespaces to join (it shares the host's); drop --\(flag)"
                )
            }
            _ = try containers.find(name)
        }
        if !isolates && !["private", "host"].contains(ipc) {
            throw .invalid(
                "--ipc \(shown(ipc)) needs an IPC namespace of the container's own, and the \(backend) backend has none")
        }
        if ipc == "host", let s = sysctls.first(where: { !$0.isNetwork }) {
            throw .invalid("sysctl \"\(shown(s.key))\" not allowed in host IPC namespace; drop it or run without --ipc host")
        }
        // A joined IPC namespace is the donor's: an IPC sysctl would change
        // it, and the host's when the donor uses the host's (which it may
        // only come to do after this create), so none is written into one.
        if ipc.hasPrefix("container:"), let s = sysctls.first(where: { !$0.isNetwork }) {
            throw .invalid(
                "sysctl \"\(shown(s.key))\" not allowed in a joined IPC namespace (--ipc \(shown(ipc))): it belongs to the other container; set it there"
            )
        }
    }

    /// A namespace to join when the container starts: the `CLONE_NEW*` kind
    /// and the host PID of a process in it.
    public struct Join: Sendable, Equatable {
        public var kind: Int32
        public var pid: Int32
        /// `pid`, `ipc` or `uts`: the file under /proc/PID/ns/.
        public var file: String
    }

    /// The other containers' namespaces to join, looked up now: each must
    /// be running (Docker's `cannot join PID of a non running container: a`).
    /// The IPC donor must have been made `shareable` (or use the host's);
    /// `shmDonor` is its PID 1 when its /dev/shm is its own, `shmHost` says
    /// it uses the host's (then so does the joiner, as in Docker).
    public func joins(in containers: ContainerStore) throws(BerthError) -> (
        joins: [Join], shmDonor: Int32?, shmHost: Bool
    ) {
        var shmHost = false
        var joins: [Join] = []
        var shmDonor: Int32?
        for (kind, file, mode) in [(berth_clone_newpid(), "pid", pid), (berth_clone_newipc(), "ipc", ipc)] {
            guard let name = Self.containerName(mode) else { continue }
            let what = file == "pid" ? "PID" : "IPC"
            let donor: Container
            do throws(BerthError) {
                donor = try containers.find(name)
            } catch {
                throw BerthError("cannot join \(what) of a non running container: \(name): \(error.message)")
            }
            guard donor.state.isActive, donor.state.pid > 0 else {
                throw BerthError(
                    "cannot join \(what) of a non running container: \(name); start it first (berth start \(name))")
            }
            if file == "ipc" {
                guard ["shareable", "host"].contains(donor.process.namespaces.ipc) else {
                    throw BerthError(
                        "can't join IPC of container \(name): non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
                    )
                }
                if donor.process.namespaces.ipc == "shareable" { shmDonor = donor.state.pid } else { shmHost = true }
            }
            joins.append(Join(kind: kind, pid: donor.state.pid, file: file))
        }
        return (joins, shmDonor, shmHost)
    }

    var json: [(String, JSON)] {
        [
            ("PidMode", .string(pid)), ("IpcMode", .string(ipc)), ("UTSMode", .string(uts)),
            ("CgroupnsMode", .string(cgroup.isEmpty ? "host" : cgroup)),
        ]
    }

    init(hostConfig host: JSON) {
        pid = host["PidMode"]?.stringValue ?? ""
        ipc = host["IpcMode"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "private"
        uts = host["UTSMode"]?.stringValue ?? ""
        // Records from before --cgroupns: the host's, as those containers had.
        cgroup = host["CgroupnsMode"]?.stringValue == "private" ? "private" : "host"
        // A damaged or hand-edited record: back to Docker's defaults rather than a mode no parser took.
        if (try? Self.parse(pid: pid, ipc: ipc, uts: uts, cgroup: cgroup)) == nil { self = NamespaceModes() }
    }

    /// Whether the container gets a cgroup namespace of its own.
    public var privateCgroup: Bool { cgroup == "private" }
}
