#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth logs [-f] [--tail N] [-t] [--since T] [--until T]`: the monitor's json-file log.
struct LogsCommand: Command {
    static let follow = Flag.bool("follow", short: "f", help: "Follow log output")
    static let tail = Flag.string("tail", short: "n", help: "Number of lines to show from the end of the logs", default: "all")
    static let timestamps = Flag.bool("timestamps", short: "t", help: "Show timestamps")
    static let since = Flag.string(
        "since", help: "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
    static let until = Flag.string(
        "until", help: "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")

    let spec = CommandSpec(
        "logs", aliases: ["container logs"], summary: "Fetch the logs of a container",
        flags: [Self.follow, Self.tail, Self.timestamps, Self.since, Self.until],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil))], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let container = try lifecycle.containers.find(args.positionals[0])
        let path = lifecycle.layout.containerLog(container.id)
        var tail: Int?
        if let t = args[Self.tail], t != "all" {
            guard let n = Int(t), n >= 0 else { throw BerthError("invalid --tail \"\(t)\": give a number or all") }
            tail = n
        }
        // As Docker's client: the times are read before the container is looked at.
        let since = try args[Self.since].map { (v) throws(BerthError) in try LogTime.parse(v, flag: "since") }
        let until = try args[Self.until].map { (v) throws(BerthError) in try LogTime.parse(v, flag: "until") }
        // As Docker's json-file reader: --tail picks the last lines, then
        // --since drops those older than it and --until stops at the first
        // line newer than it.
        let shown = { (line: JSON) -> Bool? in
            let time = line["time"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            if let until, let time, time > until { return nil }
            if let since, let time, time < since { return false }
            return true
        }
        var offset = 0
        var lines = logLines(path, from: &offset)
        if let tail { lines = Array(lines.suffix(tail)) }
        for line in lines {
            guard let show = shown(line) else { return 0 }
            if show { emit(line, ctx, timestamps: args[Self.timestamps]) }
        }
        guard args[Self.follow] else { return 0 }
        while true {
            let current = try? lifecycle.containers.load(id: container.id)
            for line in logLines(path, from: &offset) {
                guard let show = shown(line) else { return 0 }
                if show { emit(line, ctx, timestamps: args[Self.timestamps]) }
            }
            if current?.state.isActive != true { return 0 }
            if let until, Timestamp.now > until { return 0 }
            if Interruption.requested { return 130 }
            usleep(100_000)
        }
    }

    private func logLines(_ path: String, from offset: inout Int) -> [JSON] {
        guard let bytes = try? FileSystem.read(path), bytes.count > offset else { return [] }
        var end = bytes.count
        while end > offset && bytes[end - 1] != 10 { end -= 1 }  // only whole lines
        let chunk = bytes[offset..<end]
        offset = end
        return chunk.split(separator: 10).compactMap { try? JSONParser.parse(Array($0)) }
    }

    private func emit(_ line: JSON, _ ctx: CommandContext, timestamps: Bool) {
        var text = line["log"]?.stringValue ?? ""
        if timestamps { text = (line["time"]?.stringValue ?? "") + " " + text }
        let fd = line["stream"]?.stringValue == "stderr" ? ctx.stderr : ctx.stdout
        try? fd.write(text)
    }
}
