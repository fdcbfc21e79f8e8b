#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import BerthEngine

/// `berth pull [--platform P] [-q] NAME[:TAG|@DIGEST]`.
struct PullCommand: Command {
    static let platform = Flag.string(
        "platform", help: "Set platform if server is multi-platform capable (default linux/\(ImageConfig.hostArchitecture))")
    static let quiet = Flag.bool("quiet", short: "q", help: "Suppress verbose output")

    let spec = CommandSpec(
        "pull", aliases: ["image pull"], summary: "Download an image from a registry",
        flags: [Self.platform, Self.quiet, RegistryFlags.tlsVerify, RegistryFlags.disableContentTrust],
        arguments: [ArgSpec("NAME[:TAG|@DIGEST]", completion: .images)], min: 1, max: 1,
        details:
            "Registry mirrors, insecure registries and certificate directories are set in ROOT/config.json;\nsee docs/images.md.")

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        try RegistryFlags.checkContentTrust(args)
        let text = args.positionals[0]
        let quiet = args[Self.quiet]
        let ref = try RemoteReference.announcing(text, quiet: quiet, ctx)
        _ = try ctx.pull(
            ref, platform: args[Self.platform], tlsVerify: RegistryFlags.tlsVerify(args),
            display: ProgressDisplay(fd: ctx.stdout, quiet: quiet))
        ctx.print(ref.fullName + (ref.tag.map { ":" + $0 } ?? "") + (ref.digest.map { "@" + $0 } ?? ""))
        return 0
    }
}
