#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth save [-o FILE] IMAGE...`: images as one tar with both Docker's
/// `manifest.json` and an OCI image layout, as Docker 25+ writes it.
struct SaveCommand: Command {
    static let output = Flag.string("output", short: "o", help: "Write to a file, instead of STDOUT", completion: .files)
    static let platform = Flag.string(
        "platform", help: "Save only the given platform (only linux/\(ImageConfig.hostArchitecture) is supported)")

    let spec = CommandSpec(
        "save", aliases: ["image save"], summary: "Save one or more images to a tar archive (streamed to STDOUT by default)",
        flags: [Self.output, Self.platform],
        arguments: [ArgSpec("IMAGE", completion: .images, repeats: true)], min: 1,
        details:
            "The archive holds an OCI image layout (index.json, blobs/sha256) and Docker's manifest.json;\n'berth load', 'docker load' and 'podman load' read it."
    )

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        if let platform = args[Self.platform], platform != "linux/\(ImageConfig.hostArchitecture)" {
            throw BerthError(
                "save: platform \"\(platform)\" is not supported; Berth stores only linux/\(ImageConfig.hostArchitecture) images")
        }
        let saver = ImageSaver(store: try ctx.images())
        let items = try saver.resolve(args.positionals)
        guard let output = args[Self.output] else {
            guard !ctx.stdoutIsTerminal else {
                throw BerthError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
            }
            try saver.save(items, into: FileSink(descriptor: ctx.stdout, name: "standard output"))
            return 0
        }
        try AtomicFile.write(output) { (sink) throws(BerthError) in try saver.save(items, into: sink) }
        return 0
    }
}
