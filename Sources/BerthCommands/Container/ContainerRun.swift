#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth create`: a container in the Created state; prints its ID.
struct CreateCommand: Command {
    let spec = CommandSpec(
        "create", aliases: ["container create"], summary: "Create a new container",
        flags: ContainerFlags.create, arguments: ContainerFlags.containerArgs, min: 1, interspersed: false,
        engineExitCode: ExitCode.runEngine)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let factory = ContainerFactory(lifecycle: try ctx.lifecycle(), environment: ctx.environment, warn: ctx.warn)
        var options = try ContainerFlags.options(args)
        options.image = try ctx.implicitPull(options.image, policy: args.string("pull") ?? "missing", platform: args.string("platform"))
        ctx.print(try factory.create(options).id)
        return 0
    }
}

/// `berth run`: create + start, attached unless `-d`.
struct RunCommand: Command {
    let spec = CommandSpec(
        "run", aliases: ["container run"], summary: "Create and run a new container from an image",
        flags: ContainerFlags.create + [FlagSpec("detach", short: "d", help: "Run container in background and print container ID")],
        arguments: ContainerFlags.containerArgs, min: 1, interspersed: false, engineExitCode: ExitCode.runEngine)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        var options = try ContainerFlags.options(args)
        let detach = args.bool("detach")
        if !detach { try Attach.checkTTY(ctx, attachStdin: options.interactive, tty: options.tty) }
        options.image = try ctx.implicitPull(options.image, policy: args.string("pull") ?? "missing", platform: args.string("platform"))
        let factory = ContainerFactory(lifecycle: lifecycle, environment: ctx.environment, warn: ctx.warn)
        let size = detach ? nil : Attach.windowSize(ctx)
        let started = try CgroupWarmup.around(environment: ctx.environment) { () throws(BerthError) -> Container in
            let container = try factory.create(options)
            return try startOrClean(lifecycle, container, waitAttach: !detach, windowSize: size)
        }
        if detach {
            ctx.print(started.id)
            return 0
        }
        return try Attach.run(ctx, lifecycle.layout, started, stdin: options.interactive)
    }

    /// A `--rm` container that fails to start is removed, as Docker does.
    @discardableResult
    private func startOrClean(_ lifecycle: Lifecycle, _ c: Container, waitAttach: Bool,
                              windowSize: WindowSize?) throws(BerthError) -> Container {
        do {
            return try lifecycle.start(c.id, waitAttach: waitAttach, windowSize: windowSize)
        } catch {
            if c.autoRemove { try? lifecycle.remove(c.id, force: true) }
            throw error
        }
    }
}

/// `berth start`: created or exited containers become running.
struct StartCommand: Command {
    let spec = CommandSpec(
        "start", aliases: ["container start"], summary: "Start one or more stopped containers",
        flags: [FlagSpec("attach", short: "a", help: "Attach STDOUT/STDERR and forward signals"),
                FlagSpec("interactive", short: "i", help: "Attach container's STDIN")],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["created", "exited"]), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        if args.bool("attach") || args.bool("interactive") {
            guard args.positionals.count == 1 else {
                throw BerthError("you cannot start and attach multiple containers at once; start them one by one")
            }
            let found = try lifecycle.containers.find(args.positionals[0])
            try Attach.checkTTY(ctx, attachStdin: args.bool("interactive") && found.openStdin, tty: found.tty)
            let started = try lifecycle.start(found.id, waitAttach: true, windowSize: Attach.windowSize(ctx))
            return try Attach.run(ctx, lifecycle.layout, started, stdin: args.bool("interactive"))
        }
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in
            try lifecycle.start(name)
        }
    }
}

/// `berth stop -t N`: SIGTERM (or the stop signal), then SIGKILL.
struct StopCommand: Command {
    let spec = CommandSpec(
        "stop", aliases: ["container stop"], summary: "Stop one or more running containers",
        flags: [FlagSpec("time", short: "t", value: "int", help: "Seconds to wait before killing the container", default: "10"),
                FlagSpec("signal", short: "s", value: "string", help: "Signal to send to the container")],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running", "paused"]), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let timeout = try args.int("time")
        let signal = try args.string("signal").map { (s) throws(BerthError) -> String in
            guard Signals.number(s) != nil else { throw BerthError("invalid signal: \(s)") }
            return s
        }
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in
            try lifecycle.stop(name, timeout: timeout, signal: signal)
        }
    }
}

/// `berth restart`: stop, then start.
struct RestartCommand: Command {
    let spec = CommandSpec(
        "restart", aliases: ["container restart"], summary: "Restart one or more containers",
        flags: [FlagSpec("time", short: "t", value: "int", help: "Seconds to wait before killing the container", default: "10")],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let timeout = try args.int("time")
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in
            try lifecycle.stop(name, timeout: timeout)
            try lifecycle.start(name)
        }
    }
}

/// `berth pause` / `berth unpause`: the cgroup freezer.
struct PauseCommand: Command {
    let spec = CommandSpec(
        "pause", aliases: ["container pause"], summary: "Pause all processes within one or more containers",
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running"]), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in try lifecycle.pause(name) }
    }
}

struct UnpauseCommand: Command {
    let spec = CommandSpec(
        "unpause", aliases: ["container unpause"], summary: "Unpause all processes within one or more containers",
        arguments: [ArgSpec("CONTAINER", completion: .containers(["paused"]), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in try lifecycle.unpause(name) }
    }
}

/// `berth kill -s SIG`.
struct KillCommand: Command {
    let spec = CommandSpec(
        "kill", aliases: ["container kill"], summary: "Kill one or more running containers",
        flags: [FlagSpec("signal", short: "s", value: "string", help: "Signal to send to the container", default: "KILL")],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running", "paused"]), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let name = args.string("signal") ?? "KILL"
        guard let signal = Signals.number(name) else { throw BerthError("invalid signal: \(name); use a name like SIGKILL or a number") }
        let lifecycle = try ctx.lifecycle()
        return ctx.forEach(args.positionals, printName: true) { (ref) throws(BerthError) in
            try lifecycle.kill(ref, signal: signal)
        }
    }
}

/// `berth wait`: blocks until the containers stop; prints their exit codes.
struct WaitCommand: Command {
    let spec = CommandSpec(
        "wait", aliases: ["container wait"], summary: "Block until one or more containers stop, then print their exit codes",
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        return ctx.forEach(args.positionals, printName: false) { (ref) throws(BerthError) in
            ctx.print(String(try lifecycle.waitForExit(ref)))
        }
    }
}

/// `berth rm [-f]`.
struct RmCommand: Command {
    let spec = CommandSpec(
        "rm", aliases: ["container rm", "container remove"], summary: "Remove one or more containers",
        flags: [FlagSpec("force", short: "f", help: "Force the removal of a running container (uses SIGKILL)"),
                FlagSpec("volumes", short: "v", help: "Remove anonymous volumes associated with the container")],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let force = args.bool("force")
        return ctx.forEach(args.positionals, printName: true, tolerated: force ? [.notFound] : []) { (ref) throws(BerthError) in
            try lifecycle.remove(ref, force: force, volumes: args.bool("volumes"))
        }
    }
}
