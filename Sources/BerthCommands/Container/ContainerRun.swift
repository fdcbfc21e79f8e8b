#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth run`: create + start, attached unless `-d`.
struct RunCommand: Command {
    static let detach = Flag.bool("detach", short: "d", help: "Run container in background and print container ID")

    let spec = CommandSpec(
        "run", aliases: ["container run"], summary: "Create and run a new container from an image",
        flags: ContainerFlags.create + [Self.detach],
        arguments: ContainerFlags.containerArgs, min: 1, interspersed: false, engineExitCode: ExitCode.runEngine)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        var options = try ContainerFlags.options(args)
        let detach = args[Self.detach]
        if !detach { try Attach.checkTTY(ctx, attachStdin: options.interactive, tty: options.tty) }
        options.image = try ctx.implicitPull(
            options.image, policy: args[ContainerFlags.pull] ?? "missing", platform: args[ContainerFlags.platform])
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
    private func startOrClean(
        _ lifecycle: Lifecycle, _ c: Container, waitAttach: Bool,
        windowSize: WindowSize?
    ) throws(BerthError) -> Container {
        do {
            return try lifecycle.start(c.id, waitAttach: waitAttach, windowSize: windowSize)
        } catch {
            if c.autoRemove { try? lifecycle.remove(c.id, force: true) }
            throw error
        }
    }
}
