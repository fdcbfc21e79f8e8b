#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth diff CONTAINER`: A/C/D lines, as Docker prints them.
struct DiffCommand: Command {
    let spec = CommandSpec(
        "diff", aliases: ["container diff"], summary: "Inspect changes to files or directories on a container's filesystem",
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil))], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        for change in try ContainerFiles(lifecycle: try ctx.lifecycle()).diff(args.positionals[0]) {
            ctx.print("\(change.kind) \(change.path)")
        }
        return 0
    }
}
