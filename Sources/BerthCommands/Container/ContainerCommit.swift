#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth commit CONTAINER [REPOSITORY[:TAG]]`.
struct CommitCommand: Command {
    let spec = CommandSpec(
        "commit", aliases: ["container commit"], summary: "Create a new image from a container's changes",
        flags: [
            FlagSpec("author", short: "a", value: "string", help: "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")"),
            FlagSpec("change", short: "c", value: "list", help: "Apply Dockerfile instruction to the created image"),
            FlagSpec("message", short: "m", value: "string", help: "Commit message"),
            FlagSpec("pause", short: "p", help: "Pause container during commit", default: "true"),
        ],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil)), ArgSpec("REPOSITORY[:TAG]", optional: true)],
        min: 1, max: 2)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var o = CommitOptions()
        o.tag = try args.positionals.count > 1 ? ImageReference(parsing: args.positionals[1]) : nil
        o.changes = args.strings("change")
        o.message = args.string("message") ?? ""
        o.author = args.string("author") ?? ""
        o.pause = args.string("pause") != "false"
        ctx.print(try ImageCommitter(lifecycle: try ctx.lifecycle()).commit(args.positionals[0], o))
        return 0
    }
}
