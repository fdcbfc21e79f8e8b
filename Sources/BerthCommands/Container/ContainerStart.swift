#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth start`: created or exited containers become running.
struct StartCommand: Command {
    static let attach = Flag.bool("attach", short: "a", help: "Attach STDOUT/STDERR and forward signals")
    static let interactive = Flag.bool("interactive", short: "i", help: "Attach container's STDIN")

    let spec = CommandSpec(
        "start", aliases: ["container start"], summary: "Start one or more stopped containers",
        flags: [Self.attach, Self.interactive],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["created", "exited"]), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        if args[Self.attach] || args[Self.interactive] {
            guard args.positionals.count == 1 else {
                throw BerthError("you cannot start and attach multiple containers at once; start them one by one")
            }
            let found = try lifecycle.containers.find(args.positionals[0])
            try Attach.checkTTY(ctx, attachStdin: args[Self.interactive] && found.openStdin, tty: found.tty)
            let started = try lifecycle.start(found.id, waitAttach: true, windowSize: Attach.windowSize(ctx))
            return try Attach.run(ctx, lifecycle.layout, started, stdin: args[Self.interactive])
        }
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in
            try lifecycle.start(name)
        }
    }
}
