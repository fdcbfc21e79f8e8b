#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth help [COMMAND]`.
struct HelpCommand: Command {
    let spec = CommandSpec(
        "help", summary: "Show the command list, or the help of one command",
        arguments: [ArgSpec("COMMAND", completion: .commands, repeats: true, optional: true)])

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        if args.positionals.isEmpty {
            ctx.printRaw(Help.overview(ctx.registry.commands))
            return 0
        }
        guard let (command, used) = ctx.registry.command(for: args.positionals), used == args.positionals.count else {
            throw BerthError("help: unknown command \"\(args.positionals.joined(separator: " "))\"; run 'help' for the list")
        }
        ctx.printRaw(Help.render(command.spec))
        return 0
    }
}

/// `berth version`.
struct VersionCommand: Command {
    let spec = CommandSpec("version", summary: "Show the Berth version information", max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var info = utsname()
        uname(&info)
        let kernel = withUnsafeBytes(of: info.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        ctx.print("Berth version \(berthVersion)")
        ctx.print("OS/Arch:       linux/\(ImageConfig.hostArchitecture)")
        ctx.print("Kernel:        \(kernel)")
        return 0
    }
}

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
