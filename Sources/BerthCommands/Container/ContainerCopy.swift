#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth cp`: copy files between a container and the host, both ways.
struct CpCommand: Command {
    static let archive = Flag.bool("archive", short: "a", help: "Archive mode (copy all uid/gid information)")

    let spec = CommandSpec(
        "cp", aliases: ["container cp"], summary: "Copy files/folders between a container and the local filesystem",
        flags: [Self.archive],
        arguments: [ArgSpec("SRC", completion: .files), ArgSpec("DEST", completion: .files)], min: 2, max: 2,
        details: "Use CONTAINER:PATH for the container side: berth cp web:/etc/hosts . or berth cp ./app web:/srv")

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let copy = ContainerCopy(lifecycle: try ctx.lifecycle())
        let (src, dst) = (split(args.positionals[0]), split(args.positionals[1]))
        switch (src, dst) {
        case let ((container?, path), (nil, host)):
            try copy.copyOut(container, source: path, destination: host, archive: args[Self.archive])
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
