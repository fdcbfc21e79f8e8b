#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// Rootless networking: slirp4netns, a user-mode TCP/IP stack, gives the
/// container's network namespace a `tap0` (10.0.2.100/24, gateway 10.0.2.2,
/// DNS 10.0.2.3) whose traffic leaves through ordinary sockets of the
/// user's own, as Podman's rootless default does. A veth and a bridge need
/// the host's root; this needs nothing.
///
/// The monitor starts it once PID 1 exists and before it runs, and holds the
/// write end of its `--exit-fd` pipe: when the monitor exits (or is killed)
/// the pipe closes and slirp4netns exits with it, so nothing is left behind.
/// `-p` forwards are added through its API socket (`add_hostfwd`).
public enum Slirp {
    /// The network mode a rootless container gets by default.
    public static let mode = "slirp4netns"

    /// The address slirp4netns gives the container (`--configure`).
    public static let containerAddress = "10.0.2.100"
    /// Its gateway and prefix length (`--configure`'s 10.0.2.0/24).
    public static let gateway = "10.0.2.2"
    public static let prefixLength = 24

    /// Where slirp4netns is installed, or nil.
    public static var binary: String? {
        ["/usr/bin/slirp4netns", "/usr/local/bin/slirp4netns", "/bin/slirp4netns"].first { access($0, X_OK) == 0 }
    }

    /// The API socket of one container's slirp4netns, in the runtime
    /// directory (short: `sun_path` holds 108 bytes).
    static func apiSocket(_ id: String) -> String {
        Rootless.runtimeDirectory + "/slirp-" + String(id.prefix(12)) + ".sock"
    }

    /// Starts slirp4netns for the network namespace of `pid`, waits until
    /// it has configured `tap0`, and adds a forward for each published port.
    /// Returns slirp4netns's pid, and the write end of its exit pipe: it
    /// exits when that closes, with this process or when the caller closes
    /// it (a monitor that execs `berth-monitor` hands it over).
    public static func start(
        pid: Int32, containerID: String, ports: [PortBinding]
    ) throws(BerthError) -> (pid: Int32, exitPipe: Int32) {
        guard let binary else {
            throw BerthError(
                "rootless networking needs slirp4netns, which is not installed; apt-get install slirp4netns, or run with --network none"
            )
        }
        let socket = apiSocket(containerID)
        unlink(socket)
        var exitPipe: [Int32] = [-1, -1], readyPipe: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&exitPipe) == 0, berth_pipe_cloexec(&readyPipe) == 0 else {
            throw .syscall("pipe2", "for slirp4netns", .current)
        }
        let argv = [
            binary, "--configure", "--mtu=65520", "--disable-host-loopback", "--api-socket", socket,
            "--exit-fd", "3", "--ready-fd", "4", "\(pid)", "tap0",
        ]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, exitPipe[0], 3)
        posix_spawn_file_actions_adddup2(&actions, readyPipe[1], 4)
        var child: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let rc = posix_spawn(&child, binary, &actions, nil, cArgs, environ)
        close(exitPipe[0])
        close(readyPipe[1])
        guard rc == 0 else {
            close(exitPipe[1]); close(readyPipe[0])
            throw .syscall("posix_spawn", binary, Errno(rc))
        }
        // Kept open (close-on-exec, so no container process holds it) until this monitor exits.
        _ = exitPipe[1]
        var byte: UInt8 = 0
        let n = ignoringEINTR { Glibc.read(readyPipe[0], &byte, 1) }
        close(readyPipe[0])
        guard n == 1 else {
            kill(child, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(child, &status, 0)
            throw BerthError(
                "slirp4netns exited before it configured the container's network (status \(status)); "
                    + "run `slirp4netns --configure PID tap0` by hand to see why, or use --network none")
        }
        for port in ports { try forward(port, socket: socket) }
        return (child, exitPipe[1])
    }

    /// One `add_hostfwd` request on the API socket.
    static func forward(_ port: PortBinding, socket: String) throws(BerthError) {
        let request =
            #"{"execute": "add_hostfwd", "arguments": {"proto": "\#(port.proto)", "host_addr": "\#(port.hostIP)", "#
            + #""host_port": \#(port.hostPort), "guest_addr": "\#(containerAddress)", "guest_port": \#(port.containerPort)}}"#
        let fd = berth_unix_connect(socket)
        guard fd >= 0 else { throw .syscall("connect to slirp4netns's API socket", socket, .current) }
        defer { close(fd) }
        guard writeFully(fd, Array(request.utf8)) else { throw .syscall("write to", socket, .current) }
        shutdown(fd, Int32(SHUT_WR))
        let reply = (try? FileDescriptor(rawValue: fd).readAll()).map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard reply.contains("\"return\"") else {
            throw BerthError(
                "driver failed programming external connectivity: slirp4netns could not forward "
                    + "\(port.hostIP):\(port.hostPort)/\(port.proto): \(reply.isEmpty ? "no reply" : reply); choose another host port"
            )
        }
    }
}

extension Container {
    /// Whether `-p` ports reach the container now: through the first
    /// network's address, or slirp4netns's forwards (rootless).
    public var forwardsPorts: Bool { endpoint != nil || networkMode == Slirp.mode }
}
