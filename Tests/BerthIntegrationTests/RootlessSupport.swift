import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A throw-away non-root user for the rootless tests: a unique name made
/// with `useradd` (no subordinate ids of useradd's choosing), a home and a
/// runtime directory in a temp directory, its own copies of the berth
/// binary and the busybox tar (the worktree may not be readable by it),
/// and, when asked, exactly one line each in /etc/subuid and /etc/subgid.
/// `remove()` undoes all of it: every process of the user (the pause
/// process, monitors, containers, slirp4netns) is killed by pid, which
/// also ends the user's mount namespace and the mounts in it; the user and
/// its subordinate-id lines go; the temp directory goes.
final class RootlessUser {
    let name: String
    let dir: String
    let home: String
    let runtime: String
    let binary: String
    /// The user's copy of the busybox tar.
    let tar: String
    private(set) var uid: UInt32 = 0
    private(set) var gid: UInt32 = 0
    /// The first subordinate id (container uid 1 maps to it).
    let subStart: Int
    static let subCount = 65536
    private(set) var hasSubids = false
    private(set) var created = false

    /// The store berth uses without `--root`.
    var store: String { home + "/.local/share/berth" }

    init(subids: Bool = true) {
        name = "brt" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        dir = makeTempDirectory("rootless")
        chmod(dir, 0o755)
        home = dir + "/home"
        runtime = dir + "/run"
        binary = dir + "/bin/berth"
        tar = dir + "/bin/busybox.tar"
        subStart = Self.freeSubidStart()
        let made = runProcess([
            "/usr/sbin/useradd", "-M", "-d", home, "-s", "/bin/sh", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name,
        ])
        guard made.status == 0, let pw = getpwnam(name) else {
            Issue.record("useradd \(name): \(made.stderr)")
            return
        }
        created = true
        uid = pw.pointee.pw_uid
        gid = pw.pointee.pw_gid
        _ = sh(
            "mkdir -p \(home) \(runtime) \(dir)/bin && chown \(uid):\(gid) \(home) \(runtime) && chmod 0700 \(runtime)"
                + " && cp \(shellQuote(berthBinary)) \(binary) && cp \(shellQuote(busyboxTar)) \(tar)"
                + " && chmod 0755 \(dir)/bin \(binary) && chmod 0644 \(tar)"
                + " && { ! [ -x \(shellQuote(Self.serviceBinary)) ] || cp \(shellQuote(Self.serviceBinary)) \(dir)/bin/berth-service; }"
                + " && { ! [ -x \(shellQuote(Self.monitorBinary)) ] || cp \(shellQuote(Self.monitorBinary)) \(dir)/bin/berth-monitor; }"
        )
        if subids { addSubids() }
    }

    /// berth-service beside the berth under test (`system service` execs it).
    static var serviceBinary: String { String(berthBinary[..<berthBinary.lastIndex(of: "/")!]) + "/berth-service" }
    /// The small monitor running containers hand over to (docs/architecture.md).
    static var monitorBinary: String { String(berthBinary[..<berthBinary.lastIndex(of: "/")!]) + "/berth-monitor" }

    /// `NAME:START:65536` in /etc/subuid and /etc/subgid.
    func addSubids() {
        for file in ["/etc/subuid", "/etc/subgid"] {
            Self.rewrite(file) { $0 + ["\(name):\(subStart):\(Self.subCount)"] }
        }
        hasSubids = true
    }

    /// Removes exactly the lines `addSubids` added, and nothing else.
    func removeSubids() {
        let line = "\(name):\(subStart):\(Self.subCount)"
        for file in ["/etc/subuid", "/etc/subgid"] { Self.rewrite(file) { $0.filter { $0 != line } } }
        hasSubids = false
    }

    /// Runs the user's berth with the user's environment.
    @discardableResult
    func berth(_ args: String..., stdin: String? = nil, env: [String: String] = [:]) -> ProcessResult {
        berth(args, stdin: stdin, env: env)
    }

    @discardableResult
    func berth(_ args: [String], stdin: String? = nil, env: [String: String] = [:]) -> ProcessResult {
        runProcess(asUser([binary] + args), stdin: stdin, environment: environment(env))
    }

    /// `argv` run as the user (setpriv: no PAM session, the environment kept).
    func asUser(_ argv: [String]) -> [String] {
        ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--"] + argv
    }

    /// The user's environment: HOME and XDG_RUNTIME_DIR in the temp directory.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ["HOME": home, "XDG_RUNTIME_DIR": runtime, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// The pid of the user's pause process, from its pid file.
    var pausePID: Int32 {
        Int32(readFile(runtime + "/berth/pause.pid").split(separator: "\n").first ?? "") ?? -1
    }

    /// Live (not zombie) processes whose real uid is the user's.
    func processes() -> [Int32] {
        guard created else { return [] }
        var pids: [Int32] = []
        guard let proc = opendir("/proc") else { return [] }
        defer { closedir(proc) }
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name) else { continue }
            let status = readFile("/proc/\(pid)/status")
            let fields = status.split(separator: "\n")
            guard let uidLine = fields.first(where: { $0.hasPrefix("Uid:") }),
                uidLine.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first == Substring(String(uid))
            else { continue }
            if fields.contains(where: { $0.hasPrefix("State:") && $0.contains("Z (zombie)") }) { continue }
            pids.append(pid)
        }
        return pids
    }

    /// SIGKILLs every process of the user, by pid, until none is left.
    func killProcesses() {
        for _ in 0..<200 {
            let pids = processes()
            if pids.isEmpty { break }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(20_000)
        }
    }

    /// Everything back as it was.
    func remove() {
        killProcesses()
        #expect(processes().isEmpty, "processes of \(name) left: \(processes())")
        if hasSubids { removeSubids() }
        if created { _ = runProcess(["/usr/sbin/userdel", name]) }
        #expect(getpwnam(name) == nil, "user \(name) removed")
        for file in ["/etc/subuid", "/etc/subgid"] {
            #expect(!readFile(file).contains("\(name):"), "\(file) has no line of \(name)")
        }
        removeTree(dir)
        removeTree("/tmp/berth-\(uid)")
    }

    /// A range past every one in /etc/subuid and /etc/subgid, so no other
    /// user's ids are mapped to this one.
    static func freeSubidStart() -> Int {
        var end = 1_000_000
        for file in ["/etc/subuid", "/etc/subgid"] {
            for line in readFile(file).split(separator: "\n") {
                let f = line.split(separator: ":")
                if f.count == 3, let s = Int(f[1]), let c = Int(f[2]) { end = max(end, s + c) }
            }
        }
        let aligned = (end + subCount - 1) / subCount * subCount
        return aligned + subCount * Int.random(in: 0..<16)
    }

    /// Rewrites a file through a temp file and a rename, keeping its mode.
    static func rewrite(_ path: String, _ change: ([String]) -> [String]) {
        let lines = readFile(path).split(separator: "\n").map(String.init)
        let text = change(lines).map { $0 + "\n" }.joined()
        let tmp = path + ".berth-test-\(getpid())"
        writeFile(tmp, text)
        chmod(tmp, 0o644)
        #expect(rename(tmp, path) == 0, "rename \(tmp) over \(path)")
    }
}

/// A rootless user for `body`; everything removed afterwards, even when the test fails.
func withRootlessUser(subids: Bool = true, _ body: (RootlessUser) throws -> Void) rethrows {
    let user = RootlessUser(subids: subids)
    defer { user.remove() }
    guard user.created else { return }
    try body(user)
}

/// What the rootless tests need of the host: uidmap's setuid helpers,
/// slirp4netns, and device nodes a user may open (`make deps`).
func rootlessPrerequisites() -> String? {
    for tool in ["/usr/bin/newuidmap", "/usr/bin/newgidmap", "/usr/bin/slirp4netns", "/usr/bin/setpriv"]
    where access(tool, X_OK) != 0 {
        return "\(tool) is missing; run 'make deps' (uidmap, slirp4netns)"
    }
    for node in ["/dev/null", "/dev/net/tun"] {
        var st = stat()
        if stat(node, &st) != 0 || st.st_mode & 0o006 != 0o006 {
            return "\(node) is not mode 0666; run 'make deps' (udev's mode)"
        }
    }
    return nil
}

/// One HTTP/1.0 GET on 127.0.0.1:`port`: the response, or "" if nothing answered.
func httpGet(port: Int, path: String = "/") -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard ok == 0 else { return "" }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        bytes += buf[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
