#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth load [-i FILE] [-q]`: images from a tar written by `save` (Berth,
/// Docker or Podman; Docker or OCI layout; plain or gzip).
struct LoadCommand: Command {
    static let input = Flag.string("input", short: "i", help: "Read from tar archive file, instead of STDIN", completion: .files)
    static let quiet = Flag.bool(
        "quiet", short: "q", help: "Suppress progress output (Berth prints none; the Loaded image lines stay, as in Docker)")
    static let platform = Flag.string(
        "platform", help: "Load only the given platform (only linux/\(ImageConfig.hostArchitecture) is supported)")

    let spec = CommandSpec(
        "load", aliases: ["image load"], summary: "Load an image from a tar archive or STDIN",
        flags: [Self.input, Self.quiet, Self.platform],
        min: 0, max: 0,
        details: "Prints 'Loaded image: NAME:TAG' for each tag, or 'Loaded image ID: sha256:...' for an untagged image.")

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        if let platform = args[Self.platform], platform != "linux/\(ImageConfig.hostArchitecture)" {
            throw BerthError(
                "load: platform \"\(platform)\" is not supported; Berth runs only linux/\(ImageConfig.hostArchitecture) images")
        }
        let source: FileSource
        let name: String
        if let input = args[Self.input], input != "-" {
            source = try FileSource(path: input)
            name = input
        } else {
            guard isatty(ctx.stdin.rawValue) != 1 else {
                throw BerthError("requested load from stdin, but stdin is a terminal; use -i FILE or redirect a file")
            }
            source = FileSource(descriptor: ctx.stdin, name: "standard input", owned: false)
            name = "standard input"
        }
        defer { source.close() }
        let loaded = try ImageLoader(store: try ctx.images()).load(from: source, name: name)
        for image in loaded {
            if image.tags.isEmpty { ctx.print("Loaded image ID: \(image.id)") }
            for tag in image.tags { ctx.print("Loaded image: \(tag)") }
        }
        return 0
    }
}
