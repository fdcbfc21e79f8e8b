#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth restart`: stop, then start.
struct RestartCommand: Command {
    static let time = Flag.int("time", short: "t", help: "Seconds to wait before killing the container", default: "10")

    let spec = CommandSpec(
        "restart", aliases: ["container restart"], summary: "Restart one or more containers",
        flags: [Self.time],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let timeout = try args.value(Self.time)
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in
            try lifecycle.stop(name, timeout: timeout)
            try lifecycle.start(name)
        }
    }
}
