import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A tmux server with one window per command, to watch several real
/// terminals at once (two clients attached to one container).
private final class Panes {
    let socket = "berth-attach-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    func open(_ name: String, _ command: String) {
        let verb =
            tmux(["has-session"]).status == 0
            ? ["new-window", "-d", "-n", name] : ["new-session", "-d", "-s", "t", "-n", name, "-x", "100", "-y", "30"]
        tmux(verb + [command])
    }
    func type(_ pane: String, _ text: String) { tmux(["send-keys", "-t", "t:" + pane, "-l", text]) }
    func press(_ pane: String, _ keys: String...) { tmux(["send-keys", "-t", "t:" + pane] + keys) }
    func screen(_ pane: String) -> String { tmux(["capture-pane", "-p", "-t", "t:" + pane]).stdout }
    func waitFor(_ pane: String, _ seconds: Double = 10, _ ok: (String) -> Bool) -> (ok: Bool, screen: String) {
        pollScreen(seconds, { screen(pane) }, ok)
    }
    func kill() { killTmuxServer(socket) }
    @discardableResult
    private func tmux(_ args: [String]) -> ProcessResult {
        runProcess(["tmux", "-L", socket] + args, environment: ["HOME": "/tmp", "TERM": "xterm-256color"])
    }
}

@Suite("exec, attach, export/import, commit, diff, cp", .enabled(if: isRoot, "needs root for containers"))
struct EnterAndMigrateTests {
    /// A store with busybox and a running `sh` loop container named `box`.
    private func withBox(storage: String = "overlay", _ body: (String) throws -> Void) rethrows {
        let root = makeTempDirectory("enter")
        defer {
            berth(root, "rm", "-f", "box")
            #expect(mounts(under: root).isEmpty, "no mount left under the store")
            removeTree(root)
        }
        importBusybox(root)
        let run = berth(
            root, "run", "-d", "--name", "box", "--storage", storage, "busybox",
            "sh", "-c", "while true; do sleep 0.2; done")
        #expect(run.status == 0, "run: \(run.stderr)")
        try body(root)
    }

    @Test("an exec'd process shows beside PID 1, returns its exit code, and dies with the container")
    func execJoinsTheContainer() {
        withBox { root in
            let ps = berth(root, "exec", "box", "ps", "-o", "pid,comm")
            #expect(ps.status == 0)
            #expect(ps.stdout.contains("    1 sh"), "PID 1 is the container's sh: \(ps.stdout)")
            #expect(ps.stdout.contains(" ps"), "the exec'd ps runs in the container's PID namespace")
            #expect(berth(root, "exec", "box", "sh", "-c", "exit 5").status == 5)
            let missing = berth(root, "exec", "box", "nosuch")
            #expect(missing.status == 127)
            #expect(missing.stderr.contains("executable file not found"))
            #expect(berth(root, "exec", "box", "/etc/passwd").status == 126)
            #expect(berth(root, "exec", "-d", "box", "sleep", "4242").status == 0)
            #expect(berth(root, "top", "box").stdout.contains("sleep 4242"), "the exec'd sleep is in the container's cgroup")
            #expect(berth(root, "stop", "-t", "0", "box").status == 0)
            #expect(runProcess(["pgrep", "-f", "sleep 4242"]).status != 0, "the exec'd sleep died with the container")
        }
    }

    @Test("exec is refused into a paused, stopped or created container")
    func execRefusals() {
        withBox { root in
            #expect(berth(root, "pause", "box").status == 0)
            expectOneErrorLine(berth(root, "exec", "box", "true"), naming: ["paused", "unpause"])
            #expect(berth(root, "unpause", "box").status == 0)
            #expect(berth(root, "stop", "-t", "0", "box").status == 0)
            expectOneErrorLine(berth(root, "exec", "box", "true"), naming: ["not running"])
            #expect(berth(root, "create", "--name", "fresh", "busybox").status == 0)
            expectOneErrorLine(berth(root, "exec", "fresh", "true"), naming: ["not running"])
            berth(root, "rm", "fresh")
        }
    }

    @Test("two attached terminals see the same screen; either can type; Ctrl-P Ctrl-Q detaches one")
    func twoClientsAttach() {
        let root = makeTempDirectory("attach")
        let panes = Panes()
        defer { panes.kill(); berth(root, "rm", "-f", "shared"); removeTree(root) }
        importBusybox(root)
        #expect(berth(root, "run", "-dit", "--name", "shared", "busybox", "sh").status == 0)
        let attach = "\(shellQuote(berthBinary)) --root \(shellQuote(root)) attach shared"
        panes.open("a", attach)
        panes.open("b", attach)
        usleep(500_000)
        panes.type("a", "echo typed-in-$((40+2))\n")
        let a = panes.waitFor("a") { $0.contains("typed-in-42") }
        let b = panes.waitFor("b") { $0.contains("typed-in-42") }
        #expect(a.ok && b.ok, "both clients show the output:\nA:\n\(a.screen)\nB:\n\(b.screen)")
        panes.type("b", "echo from-b-$((1+1))\n")
        #expect(panes.waitFor("a") { $0.contains("from-b-2") }.ok, "what B types, A sees")
        panes.press("a", "C-p", "C-q")
        usleep(300_000)
        panes.type("b", "echo still-$((3*3))\n")
        #expect(panes.waitFor("b") { $0.contains("still-9") }.ok, "after A detached, B still works")
        #expect(berth(root, "ps", "--format", "{{.Names}} {{.State}}").stdout == "shared running\n")
        expectOneErrorLine(berth(root, "attach", "nosuch"), naming: ["nosuch"])
        #expect(berth(root, "stop", "-t", "0", "shared").status == 0)
        expectOneErrorLine(berth(root, "attach", "shared"), naming: ["stopped container"])
    }

    @Test("the tutorial's migration: a file made with exec survives export and import, into another store too")
    func exportImportMigration() {
        withBox { root in
            #expect(berth(root, "exec", "box", "sh", "-c", "echo moved > /tmp/migrated").status == 0)
            let dir = makeTempDirectory("migrate")
            defer { removeTree(dir) }
            #expect(berth(root, "export", "-o", dir + "/box.tar", "box").status == 0)
            #expect(berth(root, "import", dir + "/box.tar", "busybox:test").status == 0)
            let here = berth(root, "run", "--rm", "busybox:test", "ls", "/tmp")
            #expect(here.stdout.contains("migrated"))
            let other = dir + "/other-machine"
            #expect(berth(other, "import", dir + "/box.tar", "busybox:test").status == 0)
            #expect(berth(other, "run", "--rm", "busybox:test", "cat", "/tmp/migrated").stdout == "moved\n")
            #expect(mounts(under: other).isEmpty)
            let toTerminal = berth(root, "export", "box")
            #expect(toTerminal.status == 0, "stdout is a file here, so export writes the tar")
            #expect(toTerminal.stdout.utf8.count > 1_000_000)
        }
    }

    @Test("commit → run → diff on both storage drivers; deletions stay deleted", arguments: ["overlay", "copy"])
    func commitRunDiff(_ storage: String) {
        withBox(storage: storage) { root in
            #expect(
                berth(root, "exec", "box", "sh", "-c", "rm /bin/vi; mkdir /made; echo x > /made/f; echo y >> /etc/motd").status
                    == 0)
            let diff = berth(root, "diff", "box").stdout
            for line in ["C /bin", "D /bin/vi", "A /made", "A /made/f", "C /etc", "A /etc/motd"] where !diff.contains(line + "\n")
            {
                // /etc/motd does not exist in busybox, so it is added
                Issue.record("diff lacks \"\(line)\":\n\(diff)")
            }
            let id = berth(root, "commit", "-m", "a change", "box", "changed:1")
            #expect(id.status == 0 && id.stdout.hasPrefix("sha256:"))
            let check = berth(
                root, "run", "--rm", "--storage", storage, "changed:1", "sh", "-c",
                "cat /made/f /etc/motd; test -e /bin/vi && echo vi-is-back || echo vi-gone")
            #expect(check.stdout == "x\ny\nvi-gone\n", "stderr: \(check.stderr)")
            let history = berth(root, "history", "changed:1").stdout
            #expect(history.contains("a change"))
            #expect(lines(history).count == 3, "two layers, two history rows, one header:\n\(history)")
            #expect(berth(root, "create", "--name", "child", "--storage", storage, "changed:1").status == 0)
            #expect(berth(root, "diff", "child").stdout == "", "a fresh container of the committed image has no changes")
            berth(root, "rm", "child")
        }
    }

    @Test("cp never follows a container symlink to a host path, in either direction")
    func cpStaysInsideTheContainer() {
        withBox { root in
            let host = makeTempDirectory("hostside")
            defer { removeTree(host) }
            writeFile(host + "/secret", "host secret\n")
            writeFile(host + "/payload", "payload\n")
            // Inside the container, /evil points at the host directory's path and /up at /.
            #expect(
                berth(root, "exec", "box", "sh", "-c", "ln -s \(host) /evil; ln -s / /up; mkdir -p /data; echo in > /data/f")
                    .status == 0)

            let out = berth(root, "cp", "box:/evil/secret", host + "/stolen")
            expectOneErrorLine(out, naming: ["/evil/secret"])
            #expect(!fileExists(host + "/stolen"), "nothing was read from the host through the symlink")

            #expect(berth(root, "cp", host + "/payload", "box:/up" + host + "/").status != 0)
            #expect(
                berth(root, "cp", host + "/payload", "box:/evil/injected").status != 0
                    || !fileExists(host + "/injected"))
            #expect(!fileExists(host + "/injected"), "nothing was written to the host through the symlink")
            #expect(readFile(host + "/secret") == "host secret\n")

            #expect(berth(root, "cp", "box:/data/f", host + "/copied").status == 0)
            #expect(readFile(host + "/copied") == "in\n")
            #expect(berth(root, "cp", host + "/payload", "box:/data/").status == 0)
            #expect(berth(root, "exec", "box", "cat", "/data/payload").stdout == "payload\n")
            #expect(berth(root, "exec", "box", "stat", "-c", "%u", "/data/payload").stdout == "0\n")
        }
    }

    @Test("--network none has only loopback, and it is up")
    func loopbackOnly() {
        let root = makeTempDirectory("netnone")
        defer { removeTree(root) }
        importBusybox(root)
        let out = berth(
            root, "run", "--rm", "--network", "none", "busybox", "sh", "-c",
            "ls /sys/class/net; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-ok")
        #expect(out.stdout == "lo\nlo-ok\n", "stderr: \(out.stderr)")
    }
}
