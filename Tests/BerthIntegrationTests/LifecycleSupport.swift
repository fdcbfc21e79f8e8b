import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// The isolation backends every backend-independent lifecycle test runs on.
let isolationBackends = ["namespaces", "chroot"]

/// A temporary store with busybox imported as `busybox:latest` (CMD ["sh"]),
/// which remembers every container ID it saw so that `cleanUp` can prove
/// nothing of them is left: no mount under the store, no cgroup, no process.
final class LifecycleStore {
    let root: String
    private(set) var seen: Set<String> = []
    /// Host PIDs (with start times) of PID 1s and monitors seen while running.
    private var pids: [(Int32, UInt64)] = []

    init(sourceLocation: SourceLocation = #_sourceLocation) {
        root = makeTempDirectory("life")
        importBusybox(root, sourceLocation: sourceLocation)
    }

    /// Runs `berth --root ROOT ARGS…` and notes any container ID it printed.
    @discardableResult
    func berth(_ args: String..., stdin: String? = nil) -> ProcessResult { berth(args, stdin: stdin) }

    @discardableResult
    func berth(_ args: [String], stdin: String? = nil) -> ProcessResult {
        let result = runProcess([berthBinary, "--root", root] + args, stdin: stdin)
        note(result.stdout)
        return result
    }

    /// Remembers every 64-hex word of `text` as a container ID.
    func note(_ text: String) {
        for word in text.split(whereSeparator: { $0 == "\n" || $0 == " " }) where isHex(word, count: 64) {
            seen.insert(String(word))
        }
    }

    /// `inspect -f FORMAT REF`, trimmed.
    func inspect(_ ref: String, _ format: String) -> String {
        let out = berth("inspect", "--type", "container", "-f", format, ref).stdout
        return out.hasSuffix("\n") ? String(out.dropLast()) : out
    }

    /// PID 1's host PID of a running container (0 if none), remembered for cleanup.
    func pid(_ ref: String) -> Int32 {
        let pid = Int32(inspect(ref, "{{.State.Pid}}")) ?? 0
        remember(pid)
        return pid
    }

    func monitorPid(_ ref: String) -> Int32 {
        let pid = Int32(inspect(ref, "{{.State.MonitorPid}}")) ?? 0
        remember(pid)
        return pid
    }

    func remember(_ pid: Int32) {
        if pid > 0, let start = ProcessTable.startTime(pid) { pids.append((pid, start)) }
    }

    /// `ps` (or `ps -a`) as rows of cells, header first.
    func ps(all: Bool = true) -> [[String]] {
        lines(berth(all ? ["ps", "-a"] : ["ps"]).stdout).map(cells)
    }

    /// `ps -a` with the words that change by themselves while a test runs
    /// ("3 seconds", "Less than a second ago") replaced by `T`.
    func psTimeless() -> [[String]] { ps().map { $0.map(timeless) } }

    /// The STATUS cell of a container in `ps -a`, or nil if it is not listed.
    func status(_ name: String) -> String? {
        let table = ps()
        guard let header = table.first, let column = header.firstIndex(of: "STATUS") else { return nil }
        // PORTS is empty, so a row has one cell fewer than the header.
        return table.dropFirst().first { $0.last == name }.map { $0[column] }
    }

    /// Removes every container (`rm -f`) and checks that nothing of any
    /// container this store saw remains; then deletes the store.
    func cleanUp(sourceLocation: SourceLocation = #_sourceLocation) {
        let listed = lines(berth("ps", "-aq", "--no-trunc").stdout).map(String.init)
        for id in listed {
            _ = pid(id)
            _ = monitorPid(id)
        }
        if !listed.isEmpty {
            let removed = berth(["rm", "-f"] + listed)
            #expect(removed.status == 0, "rm -f: \(removed.stderr)", sourceLocation: sourceLocation)
        }
        #expect(berth("ps", "-aq").stdout.isEmpty, "rm -f left containers listed", sourceLocation: sourceLocation)
        #expect(mounts(under: root).isEmpty, "mounts left: \(mounts(under: root))", sourceLocation: sourceLocation)
        for id in seen {
            for cgroup in ["/sys/fs/cgroup/freezer/berth/", "/sys/fs/cgroup/unified/berth/", "/sys/fs/cgroup/berth/"]
            where fileExists(cgroup + id) {
                Issue.record("cgroup left: \(cgroup + id)", sourceLocation: sourceLocation)
            }
        }
        // A process still running, given a moment to end; a zombie has ended
        // (its reaping is its parent's, the test runner when it is the subreaper).
        func running(_ pid: Int32, _ start: UInt64) -> Bool {
            guard ProcessTable.startTime(pid) == start else { return false }
            let stat = readFile("/proc/\(pid)/stat")
            guard let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
        }
        for (pid, start) in pids where !eventually(2, { !running(pid, start) }) {
            Issue.record("process \(pid) still alive: \(readFile("/proc/\(pid)/cmdline"))", sourceLocation: sourceLocation)
        }
        // Any process still chrooted into the store, or still in a cgroup of ours.
        let leftovers = sh(
            """
            for p in /proc/[0-9]*; do
              case "$(readlink $p/root 2>/dev/null)" in \(shellQuote(root))*) echo "$p root $(tr '\\0' ' ' < $p/cmdline)";; esac
            done
            """
        ).stdout
        #expect(leftovers.isEmpty, "processes inside the store: \(leftovers)", sourceLocation: sourceLocation)
        if !seen.isEmpty {
            let patterns = seen.map { "-e /berth/\($0)" }.joined(separator: " ")
            let inCgroup = sh("grep -l \(patterns) /proc/[0-9]*/cgroup 2>/dev/null").stdout
            #expect(inCgroup.isEmpty, "processes in a container cgroup: \(inCgroup)", sourceLocation: sourceLocation)
        }
        removeTree(root)
    }
}

/// Runs `body` on a fresh store and always cleans up and checks afterwards.
func withStore(sourceLocation: SourceLocation = #_sourceLocation, _ body: (LifecycleStore) throws -> Void) rethrows {
    let store = LifecycleStore(sourceLocation: sourceLocation)
    defer { store.cleanUp(sourceLocation: sourceLocation) }
    try body(store)
}

/// A cell with its time words ("5 seconds", "About a minute", …) replaced by `T`.
func timeless(_ cell: String) -> String {
    cell.replacing(
        /(Less than a second|About a minute|About an hour|\d+ (second|minute|hour|day|week|month|year)s?)/,
        with: "T")
}

/// stderr without the chroot backend's "WARNING: …" line (printed by every
/// create and run with --isolation chroot).
func withoutWarnings(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false)
        .filter { !$0.hasPrefix("WARNING: ") }.joined(separator: "\n")
}

/// `expectOneErrorLine` for a command whose stderr may carry the chroot warning.
func expectRefusal(
    _ result: ProcessResult, naming: [String], status: Int32 = 1,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    var r = result
    r.stderr = withoutWarnings(result.stderr)
    expectOneErrorLine(r, naming: naming, status: status, sourceLocation: sourceLocation)
}

/// Polls `condition` every 50 ms for up to `seconds`.
@discardableResult
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    for _ in 0..<Int(seconds / 0.05) {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Host processes whose command line matches `pattern` (pgrep -f).
func pgrep(_ pattern: String) -> [String] {
    lines(runProcess(["pgrep", "-f", pattern]).stdout).map(String.init)
}

/// Starts every command at once and waits for all of them; returns their
/// results in order. Spawned from Swift with an empty signal mask: a shell's
/// `wait` never returns under the mask the test runner's threads have
/// (SIGCHLD blocked), so `sh -c 'a & b & wait'` would hang.
func runConcurrently(_ commands: [[String]]) -> [ProcessResult] {
    let dir = makeTempDirectory("par")
    defer { removeTree(dir) }
    var pids: [pid_t] = []
    for (i, argv) in commands.enumerated() {
        let script = "exec </dev/null >\(dir)/out\(i) 2>\(dir)/err\(i); exec " + argv.map(shellQuote).joined(separator: " ")
        var attrs = posix_spawnattr_t()
        posix_spawnattr_init(&attrs)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attrs, &empty)
        posix_spawnattr_setflags(&attrs, Int16(POSIX_SPAWN_SETSIGMASK))
        let words: [String] = ["/bin/sh", "-c", script]
        let args: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", nil, &attrs, args, environ)
        args.forEach { free($0) }
        posix_spawnattr_destroy(&attrs)
        precondition(rc == 0, "posix_spawn: \(rc)")
        pids.append(pid)
    }
    return pids.enumerated().map { i, pid in
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ProcessResult(status: code, stdout: readFile("\(dir)/out\(i)"), stderr: readFile("\(dir)/err\(i)"))
    }
}

/// Starts `argv` with BERTH_TEST_STOP_BEFORE_RENAME=`hook` (stdout and
/// stderr to /dev/null); returns its PID. The process stops itself
/// (SIGSTOP) at the first write or rename whose path contains `hook`
/// (`FileSystem.stopBeforeRenameIfAsked`), for a test to kill it there.
func spawnStopped(_ argv: [String], hook: String) -> pid_t? {
    let env = ["PATH=" + String(cString: getenv("PATH")), "BERTH_TEST_STOP_BEFORE_RENAME=" + hook]
    return spawnProcess(argv, env: env, devNull: true)
}
