import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// A berth command in a detached tmux pane (a real pty), for what only a
/// terminal shows: exec -t's TERM, the REPL's Tab completion.
private final class Tmux {
    let socket = "berth-spell-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    init(_ command: String) {
        tmux(["new-session", "-d", "-x", "120", "-y", "40", command])
    }

    func type(_ text: String) { tmux(["send-keys", "-t", "0", "-l", text]) }
    func press(_ keys: String...) { tmux(["send-keys", "-t", "0"] + keys) }
    func screen() -> String { tmux(["capture-pane", "-p", "-t", "0"]).stdout }
    func waitFor(_ seconds: Double = 10, _ condition: (String) -> Bool) -> (ok: Bool, screen: String) {
        pollScreen(seconds, screen, condition)
    }
    func kill() { killTmuxServer(socket) }

    @discardableResult
    private func tmux(_ args: [String]) -> ProcessResult {
        runProcess(["tmux", "-L", socket] + args, environment: ["HOME": "/tmp", "TERM": "xterm-256color"])
    }
}

/// Issue #16's spellings: boolean values, Podman's everyday flags and
/// commands, Docker's `container …`/`image …` names, and two behaviours a
/// user checks first (wait after a failed start, exec -t's TERM).
@Suite("Docker's and Podman's spellings", .serialized, .enabled(if: isRoot, "needs root for containers"))
struct FlagSpellingTests {
    @Test("run -it --detach-keys: the given sequence detaches (the container runs on); a bad one is refused, exit 125")
    func runDetachKeys() {
        withStore { s in
            let pane = Tmux(
                [berthBinary, "--root", s.root, "run", "-it", "--detach-keys", "ctrl-x,x", "--name", "dk", "busybox", "sh"]
                    .map(shellQuote).joined(separator: " ") + "; echo client-exit=$?; sleep 30")
            defer { pane.kill() }
            #expect(pane.waitFor { $0.contains("/ #") }.ok, "the container's prompt")
            // Docker's default sequence is not this one: Ctrl-P Ctrl-Q reach the shell.
            pane.press("C-x", "x")
            let seen = pane.waitFor { $0.contains("client-exit=0") }
            #expect(seen.ok, "detached with ctrl-x,x: \(seen.screen)")
            #expect(s.inspect("dk", "{{.State.Status}}") == "running", "the container runs on")
            let bad = s.berth("run", "--detach-keys", "ctrl-1", "busybox", "true")
            expectOneErrorLine(bad, naming: ["invalid detach keys"], status: 125)
        }
    }

    @Test("boolean flags take =true|false and strconv.ParseBool's other spellings; a bad value is Docker's error, exit 125")
    func booleanValues() {
        withStore { s in
            // --rm=false keeps the container; -d=true detaches; --privileged=false is not privileged.
            #expect(s.berth("run", "--rm=false", "--name", "kept", "busybox", "true").status == 0)
            #expect(s.berth("ps", "-a", "--format", "{{.Names}}").stdout.contains("kept"))
            let detached = s.berth("run", "-d=true", "--rm=0", "--name", "det", "busybox", "sleep", "30")
            #expect(detached.status == 0 && detached.stdout.count == 65, "-d=true prints the ID: \(detached.stdout)")
            let caps = s.berth("run", "--rm", "--privileged=false", "busybox", "grep", "CapEff", "/proc/self/status")
            #expect(caps.status == 0 && !caps.stdout.contains("000001ffffffffff"), "\(caps.stdout)")
            let privileged = s.berth("run", "--rm", "--privileged=T", "busybox", "grep", "CapEff", "/proc/self/status")
            #expect(privileged.stdout != caps.stdout, "--privileged=T is privileged: \(privileged.stdout)")
            // cp -a=false: the caller owns what is copied out, as without -a.
            #expect(s.berth("exec", "det", "sh", "-c", "echo x > /f && chown 5:6 /f").status == 0)
            let host = makeTempDirectory("bools")
            defer { removeTree(host) }
            #expect(s.berth("cp", "-a=false", "det:/f", host + "/plain").status == 0)
            #expect(s.berth("cp", "-a=TRUE", "det:/f", host + "/kept").status == 0)
            var st = stat()
            #expect(lstat(host + "/plain", &st) == 0 && st.st_uid == getuid())
            #expect(lstat(host + "/kept", &st) == 0 && st.st_uid == 5 && st.st_gid == 6)
            // Bad values: Docker's words, exit 125, in run and elsewhere.
            expectOneErrorLine(
                s.berth("run", "-d=x", "busybox", "true"),
                naming: ["invalid argument \"x\" for \"-d, --detach\" flag: strconv.ParseBool: parsing \"x\": invalid syntax"],
                status: 125)
            expectOneErrorLine(
                s.berth("run", "--rm=yes", "busybox", "true"),
                naming: ["invalid argument \"yes\" for \"--rm\" flag: strconv.ParseBool: parsing \"yes\": invalid syntax"],
                status: 125)
            expectOneErrorLine(
                s.berth("ps", "--all=2"), naming: ["invalid argument \"2\" for \"-a, --all\" flag"], status: 125)
        }
    }

    @Test("wait on a container whose command was not found prints 127; the state says created, exit code 127")
    func waitAfterFailedStart() {
        withStore { s in
            #expect(s.berth("run", "--name", "nocmd", "busybox", "nosuchcommand").status == 127)
            let waited = s.berth("wait", "nocmd")
            #expect(waited.status == 0 && waited.stdout == "127\n", "\(waited.stdout) \(waited.stderr)")
            #expect(s.inspect("nocmd", "{{.State.Status}} {{.State.ExitCode}}") == "created 127")
            #expect(s.berth("create", "--name", "nocmd2", "busybox", "nosuchcommand").status == 0)
            #expect(s.berth("start", "nocmd2").status == 1)
            #expect(s.berth("wait", "nocmd2").stdout == "127\n")
        }
    }

    @Test("exec -t -e TERM=foo in a real terminal keeps the user's TERM; without it TERM is xterm")
    func execTermOnATerminal() {
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "term", "busybox", "sleep", "60").status == 0)
            let berthCommand = "\(shellQuote(berthBinary)) --root \(shellQuote(s.root))"
            let pane = Tmux(
                "\(berthCommand) exec -it -e TERM=foo term sh -c 'echo term=$TERM; sleep 5'; "
                    + "\(berthCommand) exec -it term sh -c 'echo plain=$TERM; sleep 5'")
            defer { pane.kill() }
            let seen = pane.waitFor { $0.contains("term=foo") && $0.contains("plain=xterm") }
            #expect(seen.ok, "screen:\n\(seen.screen)")
        }
    }

    @Test("rm -a, --ignore and -t (Podman's): all containers, missing ones skipped silently, a graceful stop before -f")
    func podmanRemove() {
        withStore { s in
            let host = makeTempDirectory("rmtime")
            defer { removeTree(host) }
            // The trap writes to a bind: it ran only if the container got SIGTERM first.
            let trap = "trap 'echo got-term > /out/$NAME; exit 3' TERM; while :; do sleep 0.1; done"
            for name in ["graceful", "killed"] {
                #expect(
                    s.berth(
                        "run", "-d", "--name", name, "-e", "NAME=\(name)", "-v", "\(host):/out", "busybox", "sh", "-c",
                        trap
                    ).status == 0)
            }
            #expect(eventually(5) { s.status("killed")?.hasPrefix("Up") == true })
            usleep(300_000)
            let graceful = s.berth("rm", "-f", "-t", "5", "graceful")
            #expect(graceful.status == 0 && graceful.stdout == "graceful\n", "\(graceful.stderr)")
            #expect(readFile(host + "/graceful") == "got-term\n", "rm -f -t stopped it with its stop signal first")
            #expect(s.berth("rm", "-f", "killed").status == 0)
            #expect(!fileExists(host + "/killed"), "rm -f without -t kills at once, as Docker's")
            expectOneErrorLine(s.berth("rm", "-f", "-t", "-1", "x1"), naming: ["-t, --time"], status: 125)

            // --ignore: nothing printed for a missing one, exit 0; the others go.
            #expect(s.berth("create", "--name", "one", "busybox").status == 0)
            let ignored = s.berth("rm", "--ignore", "nosuch", "one")
            #expect(ignored.status == 0 && ignored.stdout == "one\n" && ignored.stderr.isEmpty, "\(ignored.stderr)")
            expectOneErrorLine(s.berth("rm", "nosuch"), naming: ["No such container: nosuch"])

            // -a: every container; a running one needs -f.
            #expect(s.berth("create", "--name", "c1", "busybox").status == 0)
            #expect(s.berth("run", "-d", "--name", "up1", "busybox", "sleep", "60").status == 0)
            let refused = s.berth("rm", "-a")
            #expect(refused.status == 1 && refused.stderr.contains("You cannot remove a running container"))
            #expect(s.berth("ps", "-a", "--format", "{{.Names}}").stdout == "up1\n")
            #expect(s.berth("rm", "-af").status == 0)
            #expect(s.berth("ps", "-aq").stdout.isEmpty)
            expectOneErrorLine(
                s.berth("rm", "-a", "up1"), naming: ["--all and containers cannot be used together"], status: 125)
            expectOneErrorLine(s.berth("rm"), naming: ["\"berth rm\" requires at least 1 argument"])
        }
    }

    @Test("rmi -a, volume rm -a, commit -q, container exists and image exists (Podman's)")
    func podmanImagesAndVolumes() {
        withStore { s in
            #expect(s.berth("run", "--name", "src", "-v", "keep:/k", "busybox", "touch", "/made").status == 0)
            let committed = s.berth("commit", "-q", "src", "mine:1")
            #expect(committed.status == 0 && committed.stdout.hasPrefix("sha256:") && committed.stdout.count == 72)
            #expect(s.berth("tag", "mine:1", "mine:2").status == 0)
            // exists: exit code only, nothing printed.
            for (args, status) in [
                (["container", "exists", "src"], Int32(0)), (["container", "exists", "nosuch"], 1),
                (["image", "exists", "mine:2"], 0), (["image", "exists", "nosuch:1"], 1),
            ] {
                let r = s.berth(args)
                #expect(r.status == status && r.stdout.isEmpty && r.stderr.isEmpty, "\(args): \(r.status) \(r.stderr)")
            }
            // volume rm -a: the one in use is refused, the unused one goes.
            #expect(s.berth("volume", "create", "spare").status == 0)
            let volumes = s.berth("volume", "rm", "-a")
            #expect(volumes.status == 1 && volumes.stdout == "spare\n", "\(volumes.stdout) \(volumes.stderr)")
            #expect(s.berth("volume", "ls", "-q").stdout == "keep\n")
            expectOneErrorLine(
                s.berth("volume", "rm", "-a", "keep"), naming: ["choose either one or more volumes or all"], status: 125)
            // rmi -a: busybox is used by src (refused); mine goes by both tags.
            let images = s.berth("rmi", "-a")
            #expect(images.status == 1, "\(images.stderr)")
            #expect(images.stdout.contains("Untagged: mine:1") && images.stdout.contains("Untagged: mine:2"))
            #expect(images.stdout.contains("Deleted: sha256:"))
            #expect(s.berth("images", "--format", "{{.Repository}}").stdout == "busybox\n")
            expectOneErrorLine(s.berth("rmi", "-a", "busybox"), naming: ["--all switch"], status: 125)
            #expect(s.berth("rm", "src").status == 0)
            #expect(s.berth("rmi", "-a").status == 0)
            #expect(s.berth("images", "-q").stdout.isEmpty)
            #expect(s.berth("image", "exists", "busybox").status == 1)
        }
    }

    @Test("container inspect, image inspect, container ps; stop/restart --time; help and Tab completion know them")
    func dockerNames() {
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "named", "busybox", "sleep", "60").status == 0)
            #expect(s.berth("container", "inspect", "-f", "{{.Name}}", "named").stdout == "/named\n")
            expectOneErrorLine(s.berth("container", "inspect", "busybox"), naming: ["No such container: busybox"])
            #expect(s.berth("image", "inspect", "-f", "{{.RepoTags}}", "busybox").stdout == "[busybox:latest]\n")
            expectOneErrorLine(s.berth("image", "inspect", "named"), naming: ["No such image: named"])
            #expect(s.berth("container", "ps", "--format", "{{.Names}}").stdout == "named\n")
            #expect(s.berth("image", "ls", "--format", "{{.Repository}}").stdout == "busybox\n")
            let restarted = s.berth("restart", "--time", "0", "named")
            #expect(restarted.status == 0 && restarted.stdout == "named\n", "\(restarted.stderr)")
            let stopped = s.berth("container", "stop", "--time=0", "named")
            #expect(stopped.status == 0 && s.status("named")?.hasPrefix("Exited") == true)
            let help = s.berth("--help").stdout
            for name in ["container inspect", "container exists", "image inspect", "image exists"] {
                #expect(help.contains(name), "--help lists \(name)")
            }
            #expect(s.berth("rm", "--help").stdout.contains("--ignore"))
            // The REPL completes the new names and flags.
            let pane = Tmux("exec env BERTH_HISTORY=/dev/null \(shellQuote(berthBinary)) --root \(shellQuote(s.root))")
            defer { pane.kill() }
            #expect(pane.waitFor { $0.contains("berth>") }.ok)
            pane.type("container insp")
            pane.press("Tab")
            pane.type("|")
            var seen = pane.waitFor { $0.contains("berth> container inspect |") }
            #expect(seen.ok, "screen:\n\(seen.screen)")
            pane.press("C-u")
            pane.type("rm --ign")
            pane.press("Tab")
            pane.type("|")
            seen = pane.waitFor { $0.contains("berth> rm --ignore |") }
            #expect(seen.ok, "screen:\n\(seen.screen)")
            pane.press("C-u")
        }
    }
}
