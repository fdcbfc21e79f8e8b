#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth attach`: joins PID 1's terminal or streams through the monitor.
/// Any number of clients see the same output and any of them can type.
struct AttachCommand: Command {
    static let detachKeys = Flag.string(
        "detach-keys", help: "Override the key sequence for detaching a container", default: "ctrl-p,ctrl-q")
    static let noStdin = Flag.bool("no-stdin", help: "Do not attach STDIN")
    static let sigProxy = Flag.bool("sig-proxy", help: "Proxy all received signals to the process", default: true)

    let spec = CommandSpec(
        "attach", aliases: ["container attach"],
        summary: "Attach local standard input, output, and error streams to a running container",
        flags: [Self.detachKeys, Self.noStdin, Self.sigProxy],
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running"]))], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let container = try lifecycle.containers.find(args.positionals[0])
        try container.ensureState(for: .attach, ref: args.positionals[0])
        try Attach.checkTTY(ctx, attachStdin: !args[Self.noStdin], tty: container.tty)
        let keys = try DetachKeys.parse(args[Self.detachKeys] ?? "ctrl-p,ctrl-q")
        let sigProxy = args[Self.sigProxy]
        lifecycle.events.record("attach", container)
        return try Attach.run(
            ctx, lifecycle.layout, container, stdin: !args[Self.noStdin],
            detachKeys: keys, sigProxy: sigProxy)
    }
}

/// Docker's `--detach-keys` syntax: `ctrl-p,ctrl-q`, letters, `ctrl-@`…`ctrl-_`.
enum DetachKeys {
    static func parse(_ text: String) throws(BerthError) -> [UInt8] {
        var keys: [UInt8] = []
        for part in text.split(separator: ",") {
            let p = part.lowercased()
            if p.count == 1, let ascii = p.first?.asciiValue {
                keys.append(ascii)
            } else if p.hasPrefix("ctrl-"), p.count == 6, let c = p.last?.asciiValue,
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || "@[\\]^_".utf8.contains(c)
            {
                keys.append(c >= UInt8(ascii: "a") ? c - UInt8(ascii: "a") + 1 : c - UInt8(ascii: "@"))
            } else {
                throw BerthError("invalid detach keys \"\(text)\": use a comma-separated list like ctrl-p,ctrl-q or a letter")
            }
        }
        guard !keys.isEmpty else { throw BerthError("invalid detach keys \"\(text)\": the sequence is empty") }
        return keys
    }
}
