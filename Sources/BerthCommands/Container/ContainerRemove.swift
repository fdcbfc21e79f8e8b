#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth rm [-f] [-v] CONTAINER...`, with Podman's `-a/--all`, `--ignore`
/// and `-t/--time`, which do not clash with Docker's flags.
struct RmCommand: Command {
    static let force = Flag.bool("force", short: "f", help: "Force the removal of a running container (uses SIGKILL)")
    static let volumes = Flag.bool("volumes", short: "v", help: "Remove anonymous volumes associated with the container")
    static let all = Flag.bool("all", short: "a", help: "Remove all containers (Podman); running ones need -f")
    static let ignore = Flag.bool(
        "ignore", help: "Ignore containers that do not exist: nothing printed, exit 0 (Podman)")
    static let time = Flag.int(
        "time", short: "t",
        help: "With -f, stop a running container first: its stop signal, then SIGKILL after this many seconds (Podman)")

    let spec = CommandSpec(
        "rm", aliases: ["container rm", "container remove"], summary: "Remove one or more containers",
        flags: [Self.force, Self.volumes, Self.all, Self.ignore, Self.time],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        if args[Self.all] && !args.positionals.isEmpty {
            throw .usage("--all and containers cannot be used together; see 'berth rm --help'")
        }
        if !args[Self.all] && args.positionals.isEmpty {
            throw .arguments("\"berth rm\" requires at least 1 argument; usage: \(spec.usageLine)")
        }
        let time = try args.value(Self.time)
        if let time, time < 0 {
            throw .usage(
                "invalid argument \"\(time)\" for \"-t, --time\" flag: strconv.ParseUint: parsing \"\(time)\": invalid syntax; see 'berth rm --help'"
            )
        }
        let lifecycle = try ctx.lifecycle()
        let force = args[Self.force]
        var names = args[Self.all] ? lifecycle.containers.all().map(\.id) : args.positionals
        if args[Self.ignore] {
            names = names.filter { (try? lifecycle.containers.find($0)) != nil }
        }
        let tolerated: Set<BerthError.Kind> = force || args[Self.ignore] ? [.notFound] : []
        // Several at once, by force and without a grace period: all signalled
        // first, so their monitors wind down together (Lifecycle.killForRemoval).
        let signalled = force && time == nil && names.count > 1 ? lifecycle.killForRemoval(names) : []
        return ctx.forEach(names, printName: true, tolerated: tolerated) { (ref) throws(BerthError) in
            // Podman's rm -f -t N stops gracefully before it kills; Docker's rm -f kills at once.
            if force, let time, (try? lifecycle.containers.find(ref))?.state.isActive == true {
                try lifecycle.stop(ref, timeout: time, signal: nil)
            }
            try lifecycle.remove(ref, force: force, volumes: args[Self.volumes], signalled: signalled)
        }
    }
}
