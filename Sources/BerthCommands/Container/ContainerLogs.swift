#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth logs [-f] [--tail N] [-t]`: the monitor's json-file log.
struct LogsCommand: Command {
    let spec = CommandSpec(
        "logs", aliases: ["container logs"], summary: "Fetch the logs of a container",
        flags: [FlagSpec("follow", short: "f", help: "Follow log output"),
                FlagSpec("tail", short: "n", value: "string", help: "Number of lines to show from the end of the logs", default: "all"),
                FlagSpec("timestamps", short: "t", help: "Show timestamps")],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil))], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let container = try lifecycle.containers.find(args.positionals[0])
        let path = lifecycle.layout.containerLog(container.id)
        var tail: Int?
        if let t = args.string("tail"), t != "all" {
            guard let n = Int(t), n >= 0 else { throw BerthError("invalid --tail \"\(t)\": give a number or all") }
            tail = n
        }
        var offset = 0
        var lines = logLines(path, from: &offset)
        if let tail { lines = Array(lines.suffix(tail)) }
        for line in lines { emit(line, ctx, timestamps: args.bool("timestamps")) }
        guard args.bool("follow") else { return 0 }
        while true {
            let current = try? lifecycle.containers.load(id: container.id)
            for line in logLines(path, from: &offset) { emit(line, ctx, timestamps: args.bool("timestamps")) }
            if current?.state.isActive != true { return 0 }
            if Interruption.requested { return 130 }
            usleep(100_000)
        }
    }

    private func logLines(_ path: String, from offset: inout Int) -> [JSON] {
        guard let bytes = try? FileSystem.read(path), bytes.count > offset else { return [] }
        var end = bytes.count
        while end > offset && bytes[end - 1] != 10 { end -= 1 }   // only whole lines
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

/// `berth top CONTAINER`: the container's processes with host PIDs.
struct TopCommand: Command {
    let spec = CommandSpec(
        "top", aliases: ["container top"], summary: "Display the running processes of a container",
        arguments: [ArgSpec("CONTAINER", completion: .containers(["running", "paused"]))], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let container = try lifecycle.containers.find(args.positionals[0])
        try container.ensureState(for: .top, ref: args.positionals[0])
        let rows = ProcessListing.rows(Cgroup(path: container.cgroupPath).processes())
        ctx.printRaw(Table.render(ProcessListing.header, rows))
        return 0
    }
}

/// Reads /proc for `top`'s UID PID PPID C STIME TTY TIME CMD columns.
enum ProcessListing {
    static let header = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]

    static func rows(_ pids: [Int32]) -> [[String]] {
        pids.sorted().compactMap { pid -> [String]? in
            guard let stat = try? FileSystem.readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else {
                return nil
            }
            let f = stat[stat.index(after: close)...].split(separator: " ")
            guard f.count > 12 else { return nil }
            let cmdline = ((try? FileSystem.read("/proc/\(pid)/cmdline")) ?? []).split(separator: 0)
                .map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
            var st = stat_t()
            let uid = lstat("/proc/\(pid)", &st) == 0 ? st.st_uid : 0
            let secs = ((Int(f[11]) ?? 0) + (Int(f[12]) ?? 0)) / Int(sysconf(Int32(_SC_CLK_TCK)))
            let time = pad(secs / 3600) + ":" + pad(secs / 60 % 60) + ":" + pad(secs % 60)
            let ttyNr = Int(f[4]) ?? 0
            // tty_nr packs major and minor; 136+ are the pts majors.
            let tty = ttyNr == 0 ? "?" : "pts/\((ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00))"
            return [uid == 0 ? "root" : String(uid), String(pid), String(f[1]), "0", startTime(f[19]), tty, time, cmdline]
        }
    }

    /// STIME as `HH:MM` (local time), from the boot time and the start tick.
    static func startTime(_ ticks: Substring) -> String {
        let btime = ((try? FileSystem.readText("/proc/stat")) ?? "").split(separator: "\n")
            .first { $0.hasPrefix("btime ") }.flatMap { Int($0.dropFirst(6)) } ?? 0
        var t = time_t(btime + (Int(ticks) ?? 0) / Int(sysconf(Int32(_SC_CLK_TCK))))
        var parts = tm()
        localtime_r(&t, &parts)
        return pad(Int(parts.tm_hour)) + ":" + pad(Int(parts.tm_min))
    }

    static func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
}

typealias stat_t = stat

/// `berth rename OLD NEW`.
struct RenameCommand: Command {
    let spec = CommandSpec(
        "rename", aliases: ["container rename"], summary: "Rename a container",
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil)), ArgSpec("NEW_NAME")], min: 2, max: 2)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let newName = args.positionals[1]
        try ContainerNames.validate(newName)
        let container = try lifecycle.containers.find(args.positionals[0])
        try FileLock.withLock(lifecycle.layout.containerLock) { () throws(BerthError) in
            if let other = lifecycle.containers.all().first(where: { $0.name == newName }) {
                throw .conflict("Conflict. The container name \"/\(newName)\" is already in use by container \"\(other.id)\". You have to remove (or rename) that container to be able to reuse that name.")
            }
            try lifecycle.containers.update(container.id) { (c: inout Container) throws(BerthError) in c.name = newName }
        }
        return 0
    }
}

/// `berth container prune [-f] [--filter …]`: removes every stopped container.
struct ContainerPruneCommand: Command {
    let spec = CommandSpec(
        "container prune", summary: "Remove all stopped containers",
        flags: [PruneFilter.flag, FlagSpec("force", short: "f", help: "Do not prompt for confirmation")], max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let filter = try PruneFilter(args.strings("filter"))
        let warning = "WARNING! This will remove all stopped containers.\n" + Confirmation.question
        guard Confirmation.ask(ctx, warning, force: args.bool("force")) else { return 0 }
        let removed = Prune.containers(try ctx.lifecycle(), filter, ctx)
        Prune.section(ctx, "Deleted Containers:", removed.deleted)
        ctx.print("Total reclaimed space: \(Format.size(removed.reclaimed))")
        return 0
    }
}
