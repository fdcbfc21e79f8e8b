import CBerthLinux
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Whether the tests run as root: the integration tests need real mounts and
/// namespaces. CI runs as root, so there they always run.
let isRoot = getuid() == 0

/// The package root, found from this file's path.
let packageRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
}()

/// The `berth` binary under test: $BERTH_BIN, else the debug build.
let berthBinary: String = {
    if let env = getenv("BERTH_BIN") { return String(cString: env) }
    return packageRoot + "/.build/debug/berth"
}()

/// What a finished process printed and returned.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Stops the tmux server of `tmux -L socket` and removes its socket, which
/// tmux 3.3 leaves behind after `kill-server` (in tmux's own 0700
/// directory: `runProcess` passes no TMUX_TMPDIR).
func killTmuxServer(_ socket: String) {
    runProcess(["tmux", "-L", socket, "kill-server"], environment: ["HOME": "/tmp", "TERM": "xterm-256color"])
    unlink("/tmp/tmux-\(getuid())/" + socket)
}

/// Runs a program to completion, capturing stdout and stderr (via temp files,
/// so large outputs cannot deadlock a pipe).
@discardableResult
func runProcess(_ argv: [String], stdin: String? = nil, environment: [String: String] = [:]) -> ProcessResult {
    let dir = makeTempDirectory("proc")
    let outPath = dir + "/out", errPath = dir + "/err", inPath = dir + "/in"
    // Not removeTree: it runs a process itself, so it would recurse forever.
    defer { for path in [outPath, errPath, inPath] { unlink(path) }; rmdir(dir) }
    writeFile(inPath, stdin ?? "")
    var env = environment
    env["PATH"] = env["PATH"] ?? String(cString: getenv("PATH"))
    let envList = env.map { "\($0.key)=\($0.value)" }
    let script =
        "exec <\(shellQuote(inPath)) >\(shellQuote(outPath)) 2>\(shellQuote(errPath)); exec "
        + argv.map(shellQuote).joined(separator: " ")
    let status = spawnAndWait(["/bin/sh", "-c", script], env: envList)
    return ProcessResult(status: status, stdout: readFile(outPath), stderr: readFile(errPath))
}

/// Runs the berth binary against a store.
@discardableResult
func berth(_ root: String, _ args: String..., stdin: String? = nil) -> ProcessResult {
    runProcess([berthBinary, "--root", root] + args, stdin: stdin)
}

/// Runs a shell command line; returns its result.
@discardableResult
func sh(_ command: String) -> ProcessResult { runProcess(["/bin/sh", "-c", command]) }

/// Starts `argv` (a path first) with `env` and an empty signal mask: the
/// test runner blocks most signals in its threads, and a child inheriting
/// that could never be interrupted. With `devNull`, its stdio is /dev/null.
/// The PID, or nil if it could not start.
func spawnProcess(_ argv: [String], env: [String], devNull: Bool = false) -> pid_t? {
    var pid: pid_t = 0
    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = env.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if devNull { for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0) } }
    var attrs = posix_spawnattr_t()
    posix_spawnattr_init(&attrs)
    defer { posix_spawnattr_destroy(&attrs) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attrs, &empty)
    posix_spawnattr_setflags(&attrs, Int16(POSIX_SPAWN_SETSIGMASK))
    return posix_spawn(&pid, argv[0], &actions, &attrs, cArgs, cEnv) == 0 ? pid : nil
}

/// This process's environment as `spawnProcess` takes it.
func currentEnvironment() -> [String] {
    var out: [String] = []
    var p = environ
    while let entry = p.pointee {
        out.append(String(cString: entry))
        p += 1
    }
    return out
}

/// How long one process run by `runProcess` may take: past it the process is
/// killed and its test fails, naming the command, so a hang fails one test
/// instead of holding up the whole run until CI's own limit.
/// BERTH_TEST_PROCESS_SECONDS, else 600.
let processDeadlineSeconds: Int32 = {
    if let env = getenv("BERTH_TEST_PROCESS_SECONDS"), let seconds = Int32(String(cString: env)), seconds > 0 {
        return seconds
    }
    return 600
}()

func spawnAndWait(_ argv: [String], env: [String], seconds: Int32 = processDeadlineSeconds) -> Int32 {
    guard let pid = spawnProcess(argv, env: env) else { return -1 }
    // A pidfd becomes readable when the process ends: poll it with the deadline.
    let pidfd = berth_pidfd_open(pid)
    if pidfd >= 0 {
        defer { close(pidfd) }
        var ready = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        let deadline = now() + Double(seconds)
        var expired = false
        while true {
            let left = deadline - now()
            if left <= 0 { expired = true; break }
            // At most an hour a poll: a deadline of Int32.max seconds has no
            // Int32 count of milliseconds.
            let n = poll(&ready, 1, Int32(min(left, 3600) * 1000) + 1)
            if n > 0 || (n < 0 && errno != EINTR) { break }
        }
        if expired {
            kill(pid, SIGKILL)
            Issue.record("still running after \(seconds) s, so killed: \(argv.joined(separator: " "))")
        }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    if status & 0x7f == 0 { return (status >> 8) & 0xff }
    return 128 + (status & 0x7f)
}

func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences("'", "'\\''") + "'" }

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// A fresh directory under /tmp, e.g. /tmp/berth-test-store-XXXXXX.
func makeTempDirectory(_ label: String) -> String {
    var template = Array("/tmp/berth-test-\(label)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
}

/// rm -rf, first unmounting anything left mounted below the path (tests must
/// clean up even after a failure). A Berth store that ever had a network is
/// first reset (`system reset --force`), so the bridge it made goes too:
/// bridges outlive their containers, as docker0 does.
func removeTree(_ path: String) {
    if fileExists(path + "/networks") {
        _ = runProcess([berthBinary, "--root", path, "system", "reset", "--force"])
    }
    _ = runProcess([
        "/bin/sh", "-c",
        "grep -F \(shellQuote(path)) /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l 2>/dev/null; rm -rf \(shellQuote(path))",
    ])
}

func writeFile(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "open \(path)")
    _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    close(fd)
}

func readFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        bytes += buf[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

/// Field `index` of `line` split on `separator` (empty fields dropped), or ""
/// when it has fewer: a test reading output it did not expect then fails an
/// expectation, where indexing the split would crash the whole test binary.
func field<S: StringProtocol>(_ line: S, _ index: Int, separator: Character = " ") -> String {
    let fields = line.split(separator: separator)
    return index < fields.count ? String(fields[index]) : ""
}

/// Mount points under `path`, from /proc/self/mountinfo.
func mounts(under path: String) -> [String] {
    readFile("/proc/self/mountinfo").split(separator: "\n").compactMap { line in
        let fields = line.split(separator: " ")
        guard fields.count > 4 else { return nil }
        let point = String(fields[4])
        return point.hasPrefix(path) ? point : nil
    }
}

/// Reads a screen every 50 ms until `condition` holds or `seconds` pass;
/// returns whether it held and the last screen (tmux-driven terminal tests).
func pollScreen(_ seconds: Double, _ read: () -> String, _ condition: (String) -> Bool) -> (ok: Bool, screen: String) {
    var last = ""
    for _ in 0..<Int(seconds / 0.05) {
        last = read()
        if condition(last) { return (true, last) }
        usleep(50_000)
    }
    return (false, last)
}

/// A loopback TCP port nothing listens on: bind to port 0 and read what the kernel chose.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A temp store with busybox imported, for `body(root)`; afterwards every
/// container is removed, no mount may be left under it, and it is deleted.
func withBusyboxStore(_ label: String, _ body: (String) throws -> Void) rethrows {
    let root = makeTempDirectory(label)
    defer {
        for id in berth(root, "ps", "-aq", "--no-trunc").stdout.split(separator: "\n") {
            berth(root, "rm", "-f", String(id))
        }
        #expect(mounts(under: root).isEmpty, "mounts left: \(mounts(under: root))")
        removeTree(root)
    }
    importBusybox(root)
    try body(root)
}
