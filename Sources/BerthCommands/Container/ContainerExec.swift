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

/// `berth attach`: joins PID 1's terminal or streams through the monitor.
/// Any number of clients see the same output and any of them can type.
struct AttachCommand: Command {
    let spec = CommandSpec(
        "attach", aliases: ["container attach"],
        summary: "Attach local standard input, output, and error streams to a running container",
        flags: [
            FlagSpec("detach-keys", value: "string", help: "Override the key sequence for detaching a container", default: "ctrl-p,ctrl-q"),
            FlagSpec("no-stdin", help: "Do not attach STDIN"),
            FlagSpec("sig-proxy", help: "Proxy all received signals to the process", default: "true"),
        ],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running"]))], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let container = try lifecycle.containers.find(args.positionals[0])
        try container.ensureState(for: .attach, ref: args.positionals[0])
        try Attach.checkTTY(ctx, attachStdin: !args.bool("no-stdin"), tty: container.tty)
        let keys = try DetachKeys.parse(args.string("detach-keys") ?? "ctrl-p,ctrl-q")
        let sigProxy = args.string("sig-proxy") != "false"
        return try Attach.run(ctx, lifecycle.layout, container, stdin: !args.bool("no-stdin"),
                              detachKeys: keys, sigProxy: sigProxy)
    }
}

/// Docker's `--detach-keys` syntax: `ctrl-p,ctrl-q`, letters, `ctrl-@`…`ctrl-_`.
enum DetachKeys {
    static func parse(_ text: String) throws(BerthError) -> [UInt8] {
        var keys: [UInt8] = []
        for part in text.split(separator: ",") {
            let p = part.lowercased()
            if p.count == 1, let ascii = p.first?.asciiValue {
                keys.append(ascii)
            } else if p.hasPrefix("ctrl-"), p.count == 6, let c = p.last?.asciiValue,
                      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || "@[\\]^_".utf8.contains(c) {
                keys.append(c >= UInt8(ascii: "a") ? c - UInt8(ascii: "a") + 1 : c - UInt8(ascii: "@"))
            } else {
                throw BerthError("invalid detach keys \"\(text)\": use a comma-separated list like ctrl-p,ctrl-q or a letter")
            }
        }
        guard !keys.isEmpty else { throw BerthError("invalid detach keys \"\(text)\": the sequence is empty") }
        return keys
    }
}
