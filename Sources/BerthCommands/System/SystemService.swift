#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth system service [--time SECONDS] [URI]`: serves the Docker Engine
/// API (docs/api.md) by running `berth-service`, the executable beside
/// this one, on the same store. The API's HTTP server lives only there, so
/// `berth`'s own start-up links none of it.
struct SystemServiceCommand: Command {
    static let time = Flag.int(
        "time", short: "t", help: "Seconds without a connection before the service exits (0: never)", default: "5")

    let spec = CommandSpec(
        "system service", summary: "Serve the Docker Engine API on a Unix socket",
        flags: [Self.time],
        arguments: [ArgSpec("URI", optional: true)], max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let time = try args.value(Self.time) ?? 5
        guard time >= 0 else { throw BerthError(.invalidArgument, "invalid --time \(time): give 0 (never exit) or more seconds") }
        guard let me = FileSystem.readLink("/proc/self/exe") else {
            throw BerthError("cannot find the berth binary (/proc/self/exe); is /proc mounted?")
        }
        let service = FileSystem.parent(of: me) + "/berth-service"
        guard access(service, X_OK) == 0 else {
            throw BerthError(
                .notFound,
                "cannot run \(service): berth-service is not installed beside berth; build it (swift build) or install it next to \(me)"
            )
        }
        // Rootless: /run/berth is root's; the user's socket goes in its runtime
        // directory, as Podman's in $XDG_RUNTIME_DIR/podman (docs/rootless.md).
        let uri = args.positionals.isEmpty && Rootless.isActive ? ["unix://" + Rootless.runtimeDirectory + "/berth.sock"] : []
        let argv = [service, "--root", ctx.root, "--time", String(time)] + args.positionals + uri
        // The REPL lives on: it waits for the service as for any command.
        // From a shell, the service takes this process's place, so signals
        // and the exit status are its own.
        if ctx.interactive { return try Self.spawnAndWait(argv) }
        var cargs = argv.map { strdup($0) } + [nil]
        execv(service, &cargs)
        throw .syscall("execv", service, .current)
    }

    private static func spawnAndWait(_ argv: [String]) throws(BerthError) -> Int32 {
        var pid: pid_t = 0
        var cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], nil, nil, &cargs, environ)
        guard rc == 0 else { throw .syscall("posix_spawn", argv[0], Errno(rc)) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
