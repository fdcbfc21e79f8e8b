#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth info`: the store and what is registered in it.
struct InfoCommand: Command {
    let spec = CommandSpec("info", aliases: ["system info"], summary: "Display system-wide information", max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let layout = try ctx.openStore()
        let images = ImageStore(layout: layout).all()
        let config = StoreConfig.load(layout)
        ctx.print("Images: \(images.count)")
        ctx.print("Containers: \(ContainerStore(layout: layout).all().count)")
        ctx.print("Berth Root Dir: \(layout.root)")
        ctx.print("Default Storage Driver: \(config.defaultStorage(ctx.registry))")
        ctx.print("Default Isolation: \(config.defaultIsolation(ctx.registry))")
        ctx.print("Storage Drivers: \(ctx.registry.all(.storage).map(\.id).joined(separator: ", "))")
        ctx.print("Isolation Backends: \(ctx.registry.all(.isolation).map(\.id).joined(separator: ", "))")
        return 0
    }
}
