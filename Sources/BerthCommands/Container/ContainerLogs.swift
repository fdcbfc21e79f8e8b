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
        let driver = container.logConfig.driver
        guard driver != .none else {
            throw BerthError(
                "configured logging driver does not support reading: \(container.name) was created with --log-driver none")
        }
        let path = lifecycle.layout.containerLog(container.id)
        var tail: Int?
        if let t = args[Self.tail], t != "all" {
            guard let n = Int(t), n >= 0 else { throw BerthError("invalid --tail \"\(t)\": give a number or all") }
            tail = n
        }
        // As Docker's client: the times are read before the container is looked at.
        let since = try args[Self.since].map { (v) throws(BerthError) in try LogTime.parse(v, flag: "since") }
        let until = try args[Self.until].map { (v) throws(BerthError) in try LogTime.parse(v, flag: "until") }
        let timestamps = args[Self.timestamps]
        // As Docker's json-file reader: --tail picks the last lines, then
        // --since drops those older than it and --until stops at the first
        // line newer than it.
        let shown = { (entry: LogEntry) -> Bool? in
            if let until, let time = entry.time, time > until { return nil }
            if let since, let time = entry.time, time < since { return false }
            return true
        }
        // The rotated files, oldest first, then the current one, which -f follows.
        var current = LogCursor(path: path)
        var entries: [LogEntry] = []
        for file in LogFiles.paths(path) where file != path { entries += LogCursor.entries(file, driver) }
        entries += current.read(driver)
        if let tail { entries = Array(entries.suffix(tail)) }
        for entry in entries {
            guard let show = shown(entry) else { current.close(); return 0 }
            if show { emit(entry, ctx, timestamps: timestamps) }
        }
        guard args[Self.follow] else { current.close(); return 0 }
        defer { current.close() }
        while true {
            let state = try? lifecycle.containers.load(id: container.id)
            // Checked before the read: a rotated file gets no more writes, so
            // the read drains it before the new file is opened.
            let rotated = current.rotated
            for entry in current.read(driver) {
                guard let show = shown(entry) else { return 0 }
                if show { emit(entry, ctx, timestamps: timestamps) }
            }
            if rotated {
                current.close()
                current = LogCursor(path: path)
                continue
            }
            if state?.state.isActive != true { return 0 }
            if let until, Timestamp.now > until { return 0 }
            if Interruption.requested { return 130 }
            usleep(100_000)
        }
    }

    private func emit(_ entry: LogEntry, _ ctx: CommandContext, timestamps: Bool) {
        var bytes = entry.text
        if timestamps { bytes = Array((entry.timeText + " ").utf8) + bytes }
        let fd = entry.stream == "stderr" ? ctx.stderr : ctx.stdout
        try? fd.writeAll(bytes)
    }
}

/// Reads one log file from where it left off, by an open descriptor, so a
/// rotation (the file renamed away, a new one in its place) loses nothing:
/// the old file is read to its end before the new one is opened.
struct LogCursor {
    let path: String
    private var fd: Int32 = -1
    private var pending: [UInt8] = []

    init(path: String) {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
    }

    /// Every whole line of `path`.
    static func entries(_ path: String, _ driver: LogConfig.Driver) -> [LogEntry] {
        var cursor = LogCursor(path: path)
        defer { cursor.close() }
        return cursor.read(driver)
    }

    /// The whole lines written since the last read.
    mutating func read(_ driver: LogConfig.Driver) -> [LogEntry] {
        if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return [] }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            pending += chunk[..<n]
        }
        var entries: [LogEntry] = []
        var start = 0
        while let nl = pending[start...].firstIndex(of: 10) {
            if let e = LogEntry.parse(pending[start..<nl], driver: driver) { entries.append(e) }
            start = nl + 1
        }
        pending.removeFirst(start)
        return entries
    }

    /// Whether `path` is now another file (rotated) or was cut short (`max-file=1`).
    var rotated: Bool {
        guard fd >= 0 else { return false }
        var mine = stat(), theirs = stat()
        guard fstat(fd, &mine) == 0 else { return false }
        guard stat(path, &theirs) == 0 else { return true }
        let position = lseek(fd, 0, SEEK_CUR)
        return mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev || theirs.st_size < position
    }

    mutating func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
