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
        let cidfile = try CIDFile.claim(args[ContainerFlags.cidfile])
        let container: Container
        do throws(BerthError) {
            options.image = try ContainerFlags.pull(ctx, args, options.image)
            container = try factory.create(options)
        } catch {
            cidfile?.discard()
            throw error
        }
        try cidfile?.write(container.id)
        ctx.print(container.id)
        return 0
    }
}
