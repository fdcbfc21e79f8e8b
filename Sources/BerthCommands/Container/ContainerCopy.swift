#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth cp`: copy files between a container and the host, both ways.
struct CpCommand: Command {
    static let archive = Flag.bool("archive", short: "a", help: "Archive mode (copy all uid/gid information)")
    static let followLink = Flag.bool("follow-link", short: "L", help: "Always follow symbol link in SRC_PATH")

    let spec = CommandSpec(
        "cp", aliases: ["container cp"], summary: "Copy files/folders between a container and the local filesystem",
        flags: [Self.archive, Self.followLink],
        arguments: [ArgSpec("SRC", completion: .files), ArgSpec("DEST", completion: .files)], min: 2, max: 2,
        details:
            "Use CONTAINER:PATH for the container side: berth cp web:/etc/hosts . or berth cp ./app web:/srv. "
            + "A DEST of - writes a tar stream of SRC to standard output; a SRC of - extracts a tar stream from standard input into the directory DEST."
    )

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var copy = ContainerCopy(lifecycle: try ctx.lifecycle())
        copy.followLink = args[Self.followLink]
        let (src, dst) = (split(args.positionals[0]), split(args.positionals[1]))
        switch (src, dst) {
        case let ((container?, path), (nil, "-")):
            try copy.copyOut(container, source: path, to: FileSink(descriptor: ctx.stdout, name: "standard output"))
        case let ((nil, "-"), (container?, path)):
            guard isatty(ctx.stdin.rawValue) != 1 else {
                throw BerthError("cp: the tar stream comes from standard input, which is a terminal; redirect a tar file")
            }
            let input = try ArchiveInput.decompressing(
                FileSource(descriptor: ctx.stdin, name: "standard input", owned: false), name: "standard input")
            try copy.copyIn(container, archive: input, directory: path)
        case let ((container?, path), (nil, host)):
            let leftOut = try copy.copyOut(container, source: path, destination: host, archive: args[Self.archive])
            if let first = leftOut.first {
                let more = leftOut.count > 1 ? " and \(leftOut.count - 1) more" : ""
                ctx.warn("WARNING: left out device node \(shown(first))\(more): cp -a keeps device nodes and setuid bits")
            }
        case let ((nil, host), (container?, path)):
            try copy.copyIn(container, source: host, destination: path, archive: args[Self.archive])
        case ((_?, _), (_?, _)):
            throw BerthError("copying between containers is not supported; copy to the host first")
        default:
            throw BerthError("must specify at least one container source: use CONTAINER:PATH for SRC or DEST")
        }
        return 0
    }

    /// `name:/path` → (name, /path); a host path (absolute, or without a colon) → (nil, path).
    private func split(_ arg: String) -> (String?, String) {
        guard !arg.hasPrefix("/"), !arg.hasPrefix("."), let colon = arg.firstIndex(of: ":") else { return (nil, arg) }
        return (String(arg[..<colon]), String(arg[arg.index(after: colon)...]))
    }
}
