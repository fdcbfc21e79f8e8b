import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The constructor in rootless.c runs in every berth process, root's too:
/// hostile pid files, over-long runtime paths, and markers in a root's
/// environment must neither hang it, nor move it elsewhere, nor steer it.
@Suite("RootlessAttack", .serialized, .enabled(if: isRoot, "needs root to create a throw-away user"))
struct RootlessAttackTests {
    private func ready() -> Bool {
        if let missing = rootlessPrerequisites() {
            Issue.record(Comment(rawValue: missing))
            return false
        }
        return true
    }

    /// `berth images` as the user, ended after 20 s (a hang is a failure, not a stuck suite).
    private func images(_ u: RootlessUser, env: [String: String] = [:]) -> ProcessResult {
        runProcess(u.asUser(["/usr/bin/timeout", "-s", "KILL", "10", u.binary, "images"]), environment: u.environment(env))
    }

    @Test(
        "a hostile pause.pid (FIFO, symlink to a FIFO, huge number, another user's berth-pause, garbage): never hangs, a new pause process"
    )
    func hostilePausePID() {
        guard ready() else { return }
        withRootlessUser { u in
            let dir = u.runtime + "/berth"
            let pidFile = dir + "/pause.pid"
            #expect(images(u).status == 0)
            // A process of root's named berth-pause (pid reuse, or another user's).
            let fake = u.dir + "/berth-pause"
            let started = sh("cp /bin/sleep \(fake) && { \(fake) 60 </dev/null >/dev/null 2>&1 & echo $!; }")
            let root = Int32(started.stdout.split(separator: "\n").first ?? "") ?? -1
            #expect(root > 1, "root's berth-pause: \(started.stderr)")
            defer { if root > 1 { kill(root, SIGKILL) } }
            let cases: [(String, String)] = [
                ("fifo", "mkfifo \(pidFile)"),
                ("symlink to a fifo", "mkfifo \(u.dir)/home/fifo; ln -s \(u.dir)/home/fifo \(pidFile)"),
                ("huge", "echo 99999999999999999999999999 > \(pidFile)"),
                ("root's berth-pause", "echo \(root) > \(pidFile)"),
                ("garbage", "printf '12abc' > \(pidFile)"),
            ]
            for (name, plant) in cases {
                u.killProcesses()
                _ = sh("rm -f \(pidFile) \(u.dir)/home/fifo")
                #expect(runProcess(u.asUser(["/bin/sh", "-c", plant])).status == 0, "plant \(name)")
                let r = images(u)
                #expect(r.status == 0, "\(name): status \(r.status) \(r.stderr)")
                // Read only a regular file: the test must not block on the FIFO either.
                var st = stat()
                let regular = lstat(pidFile, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
                #expect(regular, "\(name): pause.pid is a regular file again")
                let pause = regular ? u.pausePID : -1
                #expect(
                    pause > 1 && pause != root && readFile("/proc/\(pause)/comm") == "berth-pause\n",
                    "\(name): a new pause process")
            }
        }
    }

    @Test("an XDG_RUNTIME_DIR too long for the runtime path: one line, and no cut-short directory made beside it")
    func longRuntimeDirectory() {
        guard ready() else { return }
        withRootlessUser { u in
            // Exactly 508 bytes: "XDG/berth" no longer fits the constructor's
            // 512-byte buffer, and the cut one was "XDG/be", made and used.
            let base = u.runtime + "/" + String(repeating: "a", count: 250) + "/"
            let xdg = base + String(repeating: "b", count: 508 - base.utf8.count)
            #expect(xdg.utf8.count == 508)
            _ = runProcess(u.asUser(["/bin/mkdir", "-p", xdg]))
            let r = images(u, env: ["XDG_RUNTIME_DIR": xdg])
            expectOneErrorLine(r, naming: ["XDG_RUNTIME_DIR", "too long"])
            let made = FileSystem_list(xdg)
            #expect(made.isEmpty, "nothing made in \(xdg): \(made)")
        }
    }

    @Test("root in a user namespace with rootless markers in its environment is not made rootless by them")
    func rootNotSteeredByEnvironment() {
        let dir = makeTempDirectory("steer")
        defer { removeTree(dir) }
        let r = runProcess(
            ["/usr/bin/unshare", "-U", "-r", "--", berthBinary, "--root", dir + "/store", "unshare", "true"],
            environment: ["_BERTH_ROOTLESS": "4242:4242", "_BERTH_ROOTLESS_RUNTIME": dir + "/run", "PATH": "/usr/bin:/bin"])
        expectOneErrorLine(r, naming: ["unshare is for rootless berth"])
        #expect(!fileExists(dir + "/run"))
    }
}

/// The names in a directory (none if it cannot be read).
private func FileSystem_list(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { out.append(name) }
    }
    return out
}
