#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine

/// `berth info [--format T]`: the store and what is registered in it.
struct InfoCommand: Command {
    static let format = Flag.string(
        "format", short: "f",
        help: "Format output using a Go template ({{.Containers}} {{.Driver}} {{.DockerRootDir}}), or json for one JSON line")

    let spec = CommandSpec(
        "info", aliases: ["system info"], summary: "Display system-wide information", flags: [Self.format], max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let layout = try ctx.openStore()
        let images = ImageStore(layout: layout).all()
        let config = StoreConfig.load(layout)
        if let format = args[Self.format] {
            try ctx.printDocument(document(layout, config, images: images.count, ctx), format: format)
            return 0
        }
        ctx.print("Images: \(images.count)")
        ctx.print("Containers: \(ContainerStore(layout: layout).all().count)")
        ctx.print("Berth Root Dir: \(layout.root)")
        ctx.print("Default Storage Driver: \(config.defaultStorage(ctx.registry))")
        ctx.print("Default Isolation: \(config.defaultIsolation(ctx.registry))")
        ctx.print("Storage Drivers: \(ctx.registry.all(.storage).map(\.id).joined(separator: ", "))")
        ctx.print("Isolation Backends: \(ctx.registry.all(.isolation).map(\.id).joined(separator: ", "))")
        // Podman's `rootless:` line: whether this berth runs in the user's
        // namespace (docs/rootless.md), which changes what works.
        ctx.print("Rootless: \(Rootless.isActive)")
        return 0
    }

    /// Docker's `types.Info` field names for what Berth knows, and Berth's
    /// own (`DefaultIsolation`, `StorageDrivers`, `IsolationBackends`).
    private func document(_ layout: StoreLayout, _ config: StoreConfig, images: Int, _ ctx: CommandContext) -> JSON {
        let containers = ContainerStore(layout: layout).all()
        let count = { (s: ContainerStatus) in JSON.int(Int64(containers.filter { $0.state.status == s }.count)) }
        var info = utsname()
        uname(&info)
        func text<T>(_ t: T) -> String {
            withUnsafeBytes(of: t) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        }
        return .object([
            ("Containers", .int(Int64(containers.count))), ("ContainersRunning", count(.running)),
            ("ContainersPaused", count(.paused)),
            ("ContainersStopped", .int(Int64(containers.filter { !$0.state.isActive }.count))),
            ("Images", .int(Int64(images))), ("Driver", .string(config.defaultStorage(ctx.registry))),
            ("DockerRootDir", .string(layout.root)), ("KernelVersion", .string(text(info.release))),
            ("OSType", .string("linux")), ("Architecture", .string(ImageConfig.hostArchitecture)),
            ("NCPU", .int(Int64(sysconf(Int32(_SC_NPROCESSORS_ONLN))))), ("Name", .string(text(info.nodename))),
            ("ServerVersion", .string(berthVersion)),
            ("DefaultIsolation", .string(config.defaultIsolation(ctx.registry))),
            ("StorageDrivers", .strings(ctx.registry.all(.storage).map(\.id))),
            ("IsolationBackends", .strings(ctx.registry.all(.isolation).map(\.id))),
            ("Rootless", .bool(Rootless.isActive)), ("SecurityOptions", .strings(Rootless.securityOptions)),
        ])
    }
}
