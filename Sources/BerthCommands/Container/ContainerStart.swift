#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth start`: created or exited containers become running.
struct StartCommand: Command {
    static let attach = Flag.bool("attach", short: "a", help: "Attach STDOUT/STDERR and forward signals")
    static let interactive = Flag.bool("interactive", short: "i", help: "Attach container's STDIN")
    static let all = Flag.bool(
        "all", help: "Start all containers that are not running (Podman's; with --filter, those that match)")
    static let filter = Flag.strings(
        "filter", value: "filter",
        help: "With --all, start only the containers that match (restart-policy=, and the filters of ps)")

    let spec = CommandSpec(
        "start", aliases: ["container start"], summary: "Start one or more stopped containers",
        flags: [Self.attach, Self.interactive, Self.all, Self.filter],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["created", "exited"]), repeats: true)], min: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        if args[Self.all] || !args[Self.filter].isEmpty {
            return try StartAll.run(args[Self.all], filters: args[Self.filter], names: args.positionals, lifecycle, ctx)
        }
        if args.positionals.isEmpty {
            throw .arguments("\"berth start\" requires 1 argument; usage: \(spec.usageLine)")
        }
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
