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
        options.image = try ctx.implicitPull(
            options.image, policy: args[ContainerFlags.pull] ?? "missing", platform: args[ContainerFlags.platform])
        ctx.print(try factory.create(options).id)
        return 0
    }
}
