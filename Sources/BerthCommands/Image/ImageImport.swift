#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth import FILE|- [REPOSITORY[:TAG]]`: a flat root filesystem tar (as
/// `export` writes it) becomes a one-layer image.
struct ImportCommand: Command {
    static let change = Flag.strings(
        "change", short: "c",
        help:
            "Apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL, VOLUME)"
    )
    static let message = Flag.string("message", short: "m", help: "Set commit message for imported image")
    static let platform = Flag.string("platform", help: "Set platform (only linux/\(ImageConfig.hostArchitecture) is supported)")

    let spec = CommandSpec(
        "import", aliases: ["image import"],
        summary: "Import the contents from a tarball to create a filesystem image",
        flags: [Self.change, Self.message, Self.platform],
        arguments: [ArgSpec("file|-", completion: .files), ArgSpec("REPOSITORY[:TAG]", optional: true)],
        min: 1, max: 2,
        details:
            "The tar may be plain or gzip-compressed. Absolute paths land inside the image;\nentries that would escape it (.., hard links out of the archive) are refused."
    )

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let source = args.positionals[0]
        let ref = try args.positionals.count > 1 ? ImageReference(parsing: args.positionals[1]) : nil
        if let platform = args[Self.platform], platform != "linux/\(ImageConfig.hostArchitecture)" {
            throw BerthError(
                "import: platform \"\(platform)\" is not supported on this machine; use linux/\(ImageConfig.hostArchitecture)")
        }
        let runConfig = try ImageChanges.apply(args[Self.change], to: .object([]))
        let store = try ctx.images()
        let id = try ImageImporter(store: store).importTar(
            path: source, stdin: ctx.stdin, runConfig: runConfig,
            comment: args[Self.message] ?? "", tag: ref,
            createdBy: "berth import " + (source == "-" ? "-" : FileSystem.baseName(source)))
        ctx.print(id)
        return 0
    }
}
