#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth exec`: a new process inside a running container.
struct ExecCommand: Command {
    static let interactive = Flag.bool("interactive", short: "i", help: "Keep STDIN open even if not attached")
    static let tty = Flag.bool("tty", short: "t", help: "Allocate a pseudo-TTY")
    static let detach = Flag.bool("detach", short: "d", help: "Detached mode: run command in the background")
    static let env = Flag.strings("env", short: "e", help: "Set environment variables")
    static let workdir = Flag.string("workdir", short: "w", help: "Working directory inside the container")
    static let user = Flag.string("user", short: "u", help: "Username or UID (format: <name|uid>[:<group|gid>])")

    let spec = CommandSpec(
        "exec", aliases: ["container exec"], summary: "Execute a command in a running container",
        flags: [Self.interactive, Self.tty, Self.detach, Self.env, Self.workdir, Self.user],
        arguments: [
            ArgSpec("CONTAINER", completion: .containers(["running"])), ArgSpec("COMMAND"),
            ArgSpec("ARG", repeats: true, optional: true),
        ],
        min: 2, interspersed: false)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var o = ExecOptions(command: Array(args.positionals.dropFirst()))
        o.env = args[Self.env]
        o.callerEnvironment = ctx.environment
        o.workdir = args[Self.workdir]
        o.user = args[Self.user]
        o.interactive = args[Self.interactive]
        o.tty = args[Self.tty]
        o.detach = args[Self.detach]
        if !o.detach { try Attach.checkTTY(ctx, attachStdin: o.interactive, tty: o.tty) }
        if let w = o.workdir, !w.hasPrefix("/") {
            throw BerthError("the working directory '\(w)' is invalid; it needs to be an absolute path")
        }
        return try Executor(lifecycle: try ctx.lifecycle()).run(
            args.positionals[0], o, stdio: [ctx.stdin.rawValue, ctx.stdout.rawValue, ctx.stderr.rawValue])
    }
}
