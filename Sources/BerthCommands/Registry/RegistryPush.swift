#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import BerthEngine

/// `berth push [-q] NAME[:TAG]`.
struct PushCommand: Command {
    static let quiet = Flag.bool("quiet", short: "q", help: "Suppress verbose output")

    let spec = CommandSpec(
        "push", aliases: ["image push"], summary: "Upload an image to a registry",
        flags: [Self.quiet, RegistryFlags.tlsVerify, RegistryFlags.disableContentTrust],
        arguments: [ArgSpec("NAME[:TAG]", completion: .images)], min: 1, max: 1,
        details:
            "The image is pushed as a Docker v2 schema 2 manifest with gzip layers.\nTag it first with 'berth tag IMAGE HOST:PORT/REPOSITORY:TAG'."
    )

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        try RegistryFlags.checkContentTrust(args)
        let text = args.positionals[0]
        let quiet = args[Self.quiet]
        let ref = try RemoteReference.announcing(text, quiet: quiet, ctx)
        let display = ProgressDisplay(fd: ctx.stdout, quiet: quiet)
        let local = ref.localTag?.description ?? text
        var pusher = ImagePusher(store: try ctx.images())
        pusher.settings.tlsVerify = RegistryFlags.tlsVerify(args)
        if let warning = pusher.settings.warning(for: ref.domain) { ctx.warn(warning) }
        let result = try pusher.push(local, to: ref) { display.handle($0) }
        if quiet { ctx.print(ref.fullName + ":" + (ref.tag ?? "latest") + "@" + result.digest) }
        return 0
    }
}
