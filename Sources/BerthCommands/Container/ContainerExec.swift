#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth exec`: a new process inside a running container.
struct ExecCommand: Command {
    let spec = CommandSpec(
        "exec", aliases: ["container exec"], summary: "Execute a command in a running container",
        flags: [
            FlagSpec("interactive", short: "i", help: "Keep STDIN open even if not attached"),
            FlagSpec("tty", short: "t", help: "Allocate a pseudo-TTY"),
            FlagSpec("detach", short: "d", help: "Detached mode: run command in the background"),
            FlagSpec("env", short: "e", value: "list", help: "Set environment variables"),
            FlagSpec("workdir", short: "w", value: "string", help: "Working directory inside the container"),
            FlagSpec("user", short: "u", value: "string", help: "Username or UID (format: <name|uid>[:<group|gid>])"),
        ],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running"])), ArgSpec("COMMAND"),
                    ArgSpec("ARG", repeats: true, optional: true)],
        min: 2, interspersed: false)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var o = ExecOptions(command: Array(args.positionals.dropFirst()))
        o.env = args.strings("env")
        o.workdir = args.string("workdir")
        o.user = args.string("user")
        o.interactive = args.bool("interactive")
        o.tty = args.bool("tty")
        o.detach = args.bool("detach")
        if !o.detach { try Attach.checkTTY(ctx, attachStdin: o.interactive, tty: o.tty) }
        if let w = o.workdir, !w.hasPrefix("/") {
            throw BerthError("the working directory '\(w)' is invalid; it needs to be an absolute path")
        }
        return try Executor(lifecycle: try ctx.lifecycle()).run(
            args.positionals[0], o, stdio: [ctx.stdin.rawValue, ctx.stdout.rawValue, ctx.stderr.rawValue])
    }
}
