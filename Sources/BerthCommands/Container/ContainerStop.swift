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
        // All signalled first, then waited for together (Lifecycle.stopMany).
        // As Docker's CLI: each name is printed once it and every name
        // before it are done, so in the order given; the failures follow,
        // one line each, and the last one's exit code is the command's.
        var results = [BerthError??](repeating: nil, count: args.positionals.count)
        var printed = 0
        var failures: [BerthError] = []
        lifecycle.stopMany(args.positionals, timeout: timeout, signal: signal) { index, error in
            results[index] = .some(error)
            while printed < results.count, let result = results[printed] {
                if let result { failures.append(result) } else { ctx.print(args.positionals[printed]) }
                printed += 1
            }
        }
        for error in failures { ctx.warn("Error: \(error)") }
        return failures.last?.exitCode(engine: ExitCode.general) ?? 0
    }
}
