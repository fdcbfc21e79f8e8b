#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth stop -t N`: SIGTERM (or the stop signal), then SIGKILL.
struct StopCommand: Command {
    static let time = Flag.int("time", short: "t", help: "Seconds to wait before killing the container", default: "10")
    static let signal = Flag.string("signal", short: "s", help: "Signal to send to the container")

    let spec = CommandSpec(
        "stop", aliases: ["container stop"], summary: "Stop one or more running containers",
        flags: [Self.time, Self.signal],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running", "paused"]), repeats: true)], min: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let timeout = try args.value(Self.time)
        let signal = try args[Self.signal].map { (s) throws(BerthError) -> String in
            guard Signals.number(s) != nil else { throw BerthError("invalid signal: \(s)") }
            return s
        }
        return ctx.forEach(args.positionals, printName: true) { (name) throws(BerthError) in
            try lifecycle.stop(name, timeout: timeout, signal: signal)
        }
    }
}
