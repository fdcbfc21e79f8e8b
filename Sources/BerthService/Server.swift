#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine
import CBerthLinux
import Dispatch
import NIOCore
import NIOHTTP1
import NIOPosix

/// `berth system service`: the Docker Engine API on a Unix socket, over
/// the store at `root`, with the engine and plugins `berth` uses. It keeps
/// no state but open streams and exec instances: a container made here is
/// the one `berth ps` shows, and the service can be killed at any time.
public enum APIServer {
    /// Set by the SIGTERM/SIGINT handler (async-signal-safe: one store).
    nonisolated(unsafe) static var stopRequested: sig_atomic_t = 0

    /// Where the service listens unless told otherwise.
    public static let defaultURI = "unix:///run/berth/berth.sock"

    /// Serves until idle for `idleSeconds` (0: for ever); returns the exit code.
    public static func run(root: String, registry: PluginRegistry, uri: String, idleSeconds: Int) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        do {
            return try serve(root: root, registry: registry, uri: uri, idleSeconds: idleSeconds)
        } catch {
            try? FileDescriptor(rawValue: 2).write("Error: \(error)\n")
            return error.exitCode(engine: ExitCode.general)
        }
    }

    private static func serve(root: String, registry: PluginRegistry, uri: String, idleSeconds: Int) throws(BerthError) -> Int32 {
        // SIGTERM and SIGINT only set a flag, from the first moment: a
        // signal that came while the socket was being made (or while a
        // Dispatch source was still registering, the old way) was lost, and
        // the service served on (a test waited on it for ever).
        for sig in [SIGTERM, SIGINT] { signal(sig) { _ in APIServer.stopRequested = 1 } }
        let layout = StoreLayout(root: root)
        try layout.ensure()
        layout.sweepStaging()
        let activity = Activity()
        let router = Router(
            engine: Engine(root: root, registry: registry, execs: ExecTable(), attaches: AttachTable()))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(HTTPResponseEncoder(), name: "http-encoder")
                    try sync.addHandler(
                        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)), name: "http-decoder")
                    try sync.addHandler(APIHandler(router: router, activity: activity), name: "api")
                }
            }
        let channel: any Channel
        if let fd = SocketActivation.listenFD() {
            do {
                channel = try bootstrap.withBoundSocket(fd).wait()
            } catch {
                throw BerthError(.io, "cannot serve the socket systemd passed (fd \(fd)): \(error)")
            }
        } else {
            let path = try SocketPath.parse(uri)
            channel = try SocketPath.bind(bootstrap, path: path)
        }
        // Every 100 ms: a stop asked for by SIGTERM or SIGINT closes the
        // listening socket and removes its file (open streams end with the
        // process; containers run on: their monitors are not the service's
        // children), and so does the idle limit.
        let limit = Int64(idleSeconds) * 1000
        channel.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(100)) { _ in
            if APIServer.stopRequested != 0 { channel.close(promise: nil) }
            if idleSeconds > 0, let idle = activity.idleMilliseconds, idle >= limit { channel.close(promise: nil) }
        }
        try? channel.closeFuture.wait()
        SocketPath.removeOwn()
        try? group.syncShutdownGracefully()
        return 0
    }
}

/// systemd's socket activation: the listening socket is fd 3 when
/// LISTEN_PID is this process and LISTEN_FDS is at least 1.
enum SocketActivation {
    static func listenFD() -> Int32? {
        guard let pid = getenv("LISTEN_PID").map({ String(cString: $0) }), Int32(pid) == getpid(),
            let fds = getenv("LISTEN_FDS").map({ String(cString: $0) }), let n = Int(fds), n >= 1
        else { return nil }
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        return 3
    }
}

/// The Unix socket the service makes: mode 0660, group `berth` if that
/// group exists (else root's), so only root and that group reach it.
enum SocketPath {
    nonisolated(unsafe) static var own: String?

    static func parse(_ uri: String) throws(BerthError) -> String {
        var path = uri
        if uri.hasPrefix("unix://") {
            path = String(uri.dropFirst("unix://".count))
        } else if uri.contains("://") {
            throw .invalid(
                "cannot serve \(uri): only unix:// sockets are served (a TCP socket would give the API to anyone who reaches the port)"
            )
        }
        guard path.hasPrefix("/") else {
            throw .invalid("the socket path \(path) needs to be absolute (unix:///run/berth/berth.sock)")
        }
        guard path.utf8.count < 108 else {
            throw .invalid("the socket path \(path) is too long for a Unix socket (107 bytes at most)")
        }
        return path
    }

    static func bind(_ bootstrap: ServerBootstrap, path: String) throws(BerthError) -> any Channel {
        let dir = FileSystem.parent(of: path)
        if !FileSystem.exists(dir) { try FileSystem.makeDirectories(dir, mode: 0o755) }
        // A live socket is another service's: never take it over.
        let probe = berth_unix_connect(path)
        if probe >= 0 {
            close(probe)
            throw .conflict("another service is listening on \(path); stop it or give another socket")
        }
        var st = stat()
        if lstat(path, &st) == 0, st.st_mode & S_IFMT != S_IFSOCK {
            throw .conflict("\(path) exists and is not a socket; remove it or give another path")
        }
        // The socket is made 0660 by the umask (no window where it is wider).
        let old = umask(0o117)
        defer { umask(old) }
        let channel: any Channel
        do {
            channel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
        } catch {
            throw BerthError(.io, "cannot listen on \(path): \(error)")
        }
        own = path
        if let group = getgrnam("berth") { _ = chown(path, 0, group.pointee.gr_gid) }
        _ = chmod(path, 0o660)
        return channel
    }

    static func removeOwn() {
        if let own { unlink(own) }
    }
}
