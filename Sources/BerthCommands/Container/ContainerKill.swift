#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth kill -s SIG`.
struct KillCommand: Command {
    static let signal = Flag.string("signal", short: "s", help: "Signal to send to the container", default: "KILL")

    let spec = CommandSpec(
        "kill", aliases: ["container kill"], summary: "Kill one or more running containers",
        flags: [Self.signal],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running", "paused"]), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let name = args[Self.signal] ?? "KILL"
        guard let signal = Signals.number(name) else {
            throw BerthError("invalid signal: \(name); use a name like SIGKILL or a number")
        }
        let lifecycle = try ctx.lifecycle()
        return ctx.forEach(args.positionals, printName: true) { (ref) throws(BerthError) in
            try lifecycle.kill(ref, signal: signal)
        }
    }
}
