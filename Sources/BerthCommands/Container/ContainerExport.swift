#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth export [-o FILE] CONTAINER`: the container's filesystem as one flat tar.
struct ExportCommand: Command {
    static let output = Flag.string("output", short: "o", help: "Write to a file, instead of STDOUT", completion: .files)

    let spec = CommandSpec(
        "export", aliases: ["container export"], summary: "Export a container's filesystem as a tar archive",
        flags: [Self.output],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil))], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let files = ContainerFiles(lifecycle: try ctx.lifecycle())
        guard let output = args[Self.output] else {
            guard !ctx.stdoutIsTerminal else {
                throw BerthError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
            }
            try files.export(args.positionals[0], to: FileSink(descriptor: ctx.stdout, name: "standard output"))
            return 0
        }
        try AtomicFile.write(output) { (sink) throws(BerthError) in try files.export(args.positionals[0], to: sink) }
        return 0
    }
}
