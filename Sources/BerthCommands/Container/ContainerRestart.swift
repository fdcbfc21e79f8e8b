#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth restart`: stop, then start.
struct RestartCommand: Command {
    let spec = CommandSpec(
        "restart", aliases: ["container restart"], summary: "Restart one or more containers",
        flags: [FlagSpec("time", short: "t", value: "int", help: "Seconds to wait before killing the container", default: "10")],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let timeout = try args.int("time")
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in
            try lifecycle.stop(name, timeout: timeout)
            try lifecycle.start(name)
        }
    }
}
