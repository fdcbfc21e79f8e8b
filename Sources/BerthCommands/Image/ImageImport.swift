#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth import FILE|- [REPOSITORY[:TAG]]`: a flat root filesystem tar (as
/// `export` writes it) becomes a one-layer image.
struct ImportCommand: Command {
    let spec = CommandSpec(
        "import", aliases: ["image import"],
        summary: "Import the contents from a tarball to create a filesystem image",
        flags: [
            FlagSpec("change", short: "c", value: "list",
                     help: "Apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL, VOLUME)"),
            FlagSpec("message", short: "m", value: "string", help: "Set commit message for imported image"),
            FlagSpec("platform", value: "string", help: "Set platform (only linux/\(ImageConfig.hostArchitecture) is supported)"),
        ],
        arguments: [ArgSpec("file|-", completion: .files), ArgSpec("REPOSITORY[:TAG]", optional: true)],
        min: 1, max: 2,
        details: "The tar may be plain or gzip-compressed. Absolute paths land inside the image;\nentries that would escape it (.., hard links out of the archive) are refused.")

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let source = args.positionals[0]
        let ref = try args.positionals.count > 1 ? ImageReference(parsing: args.positionals[1]) : nil
        if let platform = args.string("platform"), platform != "linux/\(ImageConfig.hostArchitecture)" {
            throw BerthError("import: platform \"\(platform)\" is not supported on this machine; use linux/\(ImageConfig.hostArchitecture)")
        }
        let runConfig = try ImageChanges.apply(args.strings("change"), to: .object([]))
        let store = try ctx.images()
        let id = try ImageImporter(store: store).importTar(
            path: source, stdin: ctx.stdin, runConfig: runConfig,
            comment: args.string("message") ?? "", tag: ref,
            createdBy: "berth import " + (source == "-" ? "-" : FileSystem.baseName(source)))
        ctx.print(id)
        return 0
    }
}
