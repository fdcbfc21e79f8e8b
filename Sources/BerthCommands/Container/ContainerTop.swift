#if canImport(Glibc)
import Glibc
#endif
import BerthEngine
import CBerthLinux

/// `berth top CONTAINER [ps OPTIONS]`: with no options, the container's
/// processes with host PIDs read from /proc (the columns of `ps -ef`); with
/// options, as Docker does, the host's `ps` with them, its rows filtered to
/// the container's processes.
struct TopCommand: Command {
    let spec = CommandSpec(
        "top", aliases: ["container top"], summary: "Display the running processes of a container",
        arguments: [
            ArgSpec("CONTAINER", completion: .containers(["running", "paused"])),
            ArgSpec("ps OPTIONS", optional: true),
        ], min: 1, interspersed: false)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let container = try lifecycle.containers.find(args.positionals[0])
        try container.ensureState(for: .top, ref: args.positionals[0])
        let pids = container.processIDs()
        let psArgs = args.positionals.dropFirst().joined(separator: " ")
        guard !psArgs.isEmpty else {
            ctx.printRaw(Table.render(ProcessListing.header, ProcessListing.rows(pids)))
            return 0
        }
        let words = psArgs.split(separator: " ").map(String.init)
        // As Docker: first with `-q PID,…` (only those processes), and again
        // without it for options that cannot be combined with -q (`f`).
        let selected = pids.sorted().map(String.init).joined(separator: ",")
        var output = HostPs.run(words + ["-q", selected])
        if output.status != 0 { output = HostPs.run(words) }
        guard output.status == 0 else {
            throw BerthError(
                "ps: exit status \(output.status): \(output.stderr.split(separator: "\n").first.map(String.init) ?? ""); give options the host's ps accepts"
            )
        }
        ctx.printRaw(try HostPs.filter(output.stdout, pids: Set(pids)))
        return 0
    }
}

/// The host's `ps` for `top CONTAINER OPTIONS`.
enum HostPs {
    struct Output { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ args: [String]) -> Output {
        let path = ["/usr/bin/ps", "/bin/ps"].first { FileSystem.exists($0) }
        guard let path else {
            return Output(status: 127, stdout: "", stderr: "the ps program is not installed (apt-get install procps)")
        }
        var out: [Int32] = [-1, -1], errs: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&out) == 0, berth_pipe_cloexec(&errs) == 0 else {
            return Output(status: 1, stdout: "", stderr: "pipe: \(Errno.current)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errs[1], 2)
        var pid: pid_t = 0
        let argv = [path] + args
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let rc = posix_spawn(&pid, path, &actions, nil, cArgs, environ)
        close(out[1]); close(errs[1])
        defer { close(out[0]); close(errs[0]) }
        guard rc == 0 else { return Output(status: 127, stdout: "", stderr: "\(path): \(Errno(rc))") }
        // ps writes its error (a line) only after failing, so stdout first.
        let stdout = drain(out[0]), stderr = drain(errs[0])
        let status = waitForChild(pid) ?? 256
        // The raw wait status: an exit code lives in bits 8-15, a signal in 0-6.
        return Output(status: status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), stdout: stdout, stderr: stderr)
    }

    private static func drain(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = ignoringEINTR { read(fd, &buf, buf.count) }
            if n <= 0 { break }
            bytes += buf[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The header and the rows whose PID column is one of `pids`, as
    /// Docker's `parsePSOutput`: the last column takes the rest of the line.
    static func filter(_ text: String, pids: Set<Int32>) throws(BerthError) -> String {
        let lines = text.split(separator: "\n")
        guard let header = lines.first else { return "" }
        let titles = header.split(separator: " ")
        guard let column = titles.firstIndex(of: "PID") else {
            throw BerthError("Couldn't find PID field in ps output; include the pid column (-o pid,…)")
        }
        var out = String(header) + "\n"
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ", maxSplits: titles.count - 1)
            guard column < fields.count, let pid = Int32(fields[column]), pids.contains(pid) else { continue }
            out += String(line) + "\n"
        }
        return out
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
