#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth commit CONTAINER [REPOSITORY[:TAG]]`.
struct CommitCommand: Command {
    static let author = Flag.string("author", short: "a", help: "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")")
    static let change = Flag.strings("change", short: "c", help: "Apply Dockerfile instruction to the created image")
    static let message = Flag.string("message", short: "m", help: "Commit message")
    static let pause = Flag.bool("pause", short: "p", help: "Pause container during commit", default: true)
    /// Podman's: it hides Podman's copy progress. Berth shows no progress,
    /// only the image ID, which -q keeps: the output is the same.
    static let quiet = Flag.bool("quiet", short: "q", help: "Suppress output but the image ID (Podman; Berth prints only the ID)")

    let spec = CommandSpec(
        "commit", aliases: ["container commit"], summary: "Create a new image from a container's changes",
        flags: [Self.author, Self.change, Self.message, Self.pause, Self.quiet],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil)), ArgSpec("REPOSITORY[:TAG]", optional: true)],
        min: 1, max: 2)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var o = CommitOptions()
        o.tag = try args.positionals.count > 1 ? ImageReference(parsing: args.positionals[1]) : nil
        o.changes = args[Self.change]
        o.message = args[Self.message] ?? ""
        o.author = args[Self.author] ?? ""
        o.pause = args[Self.pause]
        ctx.print(try ImageCommitter(lifecycle: try ctx.lifecycle()).commit(args.positionals[0], o))
        return 0
    }
}
