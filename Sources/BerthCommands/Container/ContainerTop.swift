#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

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

/// Reads /proc for `top`'s UID PID PPID C STIME TTY TIME CMD columns;
/// public for the API service's `GET /containers/ID/top`.
public enum ProcessListing {
    public static let header = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]

    public static func rows(_ pids: [Int32]) -> [[String]] {
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
        let btime =
            ((try? FileSystem.readText("/proc/stat")) ?? "").split(separator: "\n")
            .first { $0.hasPrefix("btime ") }.flatMap { Int($0.dropFirst(6)) } ?? 0
        var t = time_t(btime + (Int(ticks) ?? 0) / Int(sysconf(Int32(_SC_CLK_TCK))))
        var parts = tm()
        localtime_r(&t, &parts)
        return pad(Int(parts.tm_hour)) + ":" + pad(Int(parts.tm_min))
    }

    static func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
}

typealias stat_t = stat
