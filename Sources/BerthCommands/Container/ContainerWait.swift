#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth wait`: blocks until the containers stop; prints their exit codes.
struct WaitCommand: Command {
    let spec = CommandSpec(
        "wait", aliases: ["container wait"], summary: "Block until one or more containers stop, then print their exit codes",
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        return ctx.forEach(args.positionals, printName: false) { (ref) throws(BerthError) in
            ctx.print(String(try lifecycle.waitForExit(ref)))
        }
    }
}
