import Testing
import BerthEngine
import CBerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// The backends the stream tests cover: the native one and both OCI runtimes
/// (the oci backend's container gets its stdio pipes from the monitor too).
private let streamBackends: [[String]] = [
    ["--isolation", "namespaces"],
    ["--isolation", "oci", "--runtime", "crun"],
    ["--isolation", "oci", "--runtime", "runc"],
]

/// Input files shared by the tests of one run: random bytes, so nothing
/// compresses or lines up by accident.
private final class Inputs: Sendable {
    let dir: String
    var mb16: String { dir + "/16mb" }
    var mb5: String { dir + "/5mb" }
    var mb4: String { dir + "/4mb" }

    init() {
        dir = makeTempDirectory("streams")
        let made = sh(
            "head -c 16000000 /dev/urandom > \(dir)/16mb && head -c 5000000 /dev/urandom > \(dir)/5mb"
                + " && head -c 4000000 /dev/urandom > \(dir)/4mb")
        precondition(made.status == 0, "making the input files: \(made.stderr)")
    }

    func remove() { removeTree(dir) }
}

/// Runs a shell command line under `timeout -s KILL`: a relay that hangs
/// fails the test (status 137) instead of hanging the run. Returns the
/// result and the seconds it took.
private func timed(_ seconds: Int, _ command: String) -> (ProcessResult, Double) {
    let start = now()
    let result = runProcess(["timeout", "-s", "KILL", String(seconds), "/bin/sh", "-c", command])
    return (result, now() - start)
}

private func q(_ s: String) -> String { shellQuote(s) }

/// Starts a process in the background with SIGINT and SIGTERM at their
/// defaults (a shell's `&` would ignore SIGINT), stdout to `output`.
private func spawnBackground(_ argv: [String], output: String, stdin: Int32 = -1) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if stdin >= 0 {
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    }
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, output + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var attrs = posix_spawnattr_t()
    posix_spawnattr_init(&attrs)
    defer { posix_spawnattr_destroy(&attrs) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attrs, &empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    sigaddset(&defaults, SIGINT)
    sigaddset(&defaults, SIGTERM)
    posix_spawnattr_setsigdefault(&attrs, &defaults)
    posix_spawnattr_setflags(&attrs, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let args = argv.map { strdup($0) } + [nil]
    defer { args.forEach { free($0) } }
    var pid: pid_t = 0
    precondition(posix_spawn(&pid, argv[0], &actions, &attrs, args, environ) == 0, "posix_spawn \(argv[0])")
    return pid
}

/// Waits up to `seconds` for a child; SIGKILLs it and returns nil if it is still running.
private func reap(_ pid: pid_t, within seconds: Double) -> Int32? {
    let deadline = now() + seconds
    var status: Int32 = 0
    while now() < deadline {
        if waitpid(pid, &status, WNOHANG) == pid {
            return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        }
        usleep(20_000)
    }
    kill(pid, SIGKILL)
    waitpid(pid, &status, 0)
    return nil
}

@Suite(
    "Stream relay: stdin and stdout at once, exit codes, terminals", .serialized,
    .enabled(if: isRoot, "needs root for containers"))
struct StreamRelayTests {
    @Test("16 MB go through run -i and come back whole, without a hang", arguments: streamBackends)
    func sixteenMegabytes(backend: [String]) {
        let inputs = Inputs()
        defer { inputs.remove() }
        withStore { s in
            let run = ([berthBinary, "--root", s.root, "run", "--rm", "-i"] + backend + ["busybox", "cat"]).map(q)
                .joined(separator: " ")
            let (copied, seconds) = timed(60, "\(run) < \(q(inputs.mb16)) > \(q(inputs.dir))/out")
            #expect(copied.status == 0, "run -i cat: status \(copied.status) (137: killed after 60 s); \(copied.stderr)")
            #expect(sh("cmp \(q(inputs.mb16)) \(q(inputs.dir))/out").status == 0, "the 16 MB came back unchanged")
            print("run -i \(backend.joined(separator: " ")) cat < 16 MB > file: \(seconds) s")
            let (counted, pipeSeconds) = timed(60, "\(run) < \(q(inputs.mb16)) | wc -c")
            #expect(
                counted.status == 0 && counted.stdout.trimmingSpaces == "16000000",
                "| wc -c: \(counted.stdout) status \(counted.status); \(counted.stderr)")
            print("run -i \(backend.joined(separator: " ")) cat < 16 MB | wc -c: \(pipeSeconds) s")
        }
    }

    @Test("gzip -c of 4 MB of random data round-trips through run -i and start -ai", arguments: streamBackends)
    func gzipRoundTrip(backend: [String]) {
        let inputs = Inputs()
        defer { inputs.remove() }
        withStore { s in
            let base = [berthBinary, "--root", s.root]
            let run = (base + ["run", "--rm", "-i"] + backend + ["busybox", "gzip", "-c"]).map(q).joined(separator: " ")
            let (zipped, _) = timed(60, "\(run) < \(q(inputs.mb4)) > \(q(inputs.dir))/out.gz")
            #expect(zipped.status == 0, "run -i gzip: status \(zipped.status) (137: killed after 60 s); \(zipped.stderr)")
            #expect(
                sh("gunzip -c \(q(inputs.dir))/out.gz | cmp - \(q(inputs.mb4))").status == 0,
                "host gunzip restores the input")

            let created = s.berth(["create", "-i", "--name", "zip"] + backend + ["busybox", "gzip", "-c"])
            #expect(created.status == 0, "create: \(created.stderr)")
            let start = (base + ["start", "-ai", "zip"]).map(q).joined(separator: " ")
            let (started, _) = timed(60, "\(start) < \(q(inputs.mb4)) > \(q(inputs.dir))/start.gz")
            #expect(started.status == 0, "start -ai: status \(started.status) (137: killed after 60 s); \(started.stderr)")
            #expect(
                sh("gunzip -c \(q(inputs.dir))/start.gz | cmp - \(q(inputs.mb4))").status == 0,
                "start -ai relays both ways too")
        }
    }

    @Test("a container that ignores its stdin exits 0, never 141, 50 times out of 50")
    func noSIGPIPE() {
        let inputs = Inputs()
        defer { inputs.remove() }
        withStore { s in
            let run = [berthBinary, "--root", s.root, "run", "--rm", "-i", "busybox", "true"].map(q).joined(separator: " ")
            let (result, _) = timed(120, "for i in $(seq 50); do \(run) < \(q(inputs.mb5)); echo $?; done")
            let codes = lines(result.stdout).map(String.init)
            #expect(codes.count == 50, "50 runs: \(result.stdout) \(result.stderr)")
            #expect(codes.allSatisfy { $0 == "0" }, "every run exits 0: \(codes.joined(separator: " "))")
            // The container's own code comes back too, whatever the input.
            let (three, _) = timed(
                60,
                ([
                    berthBinary, "--root", s.root, "run", "--rm", "-i", "--isolation", "oci",
                    "--runtime", "crun", "busybox", "sh", "-c", "exit 3",
                ]).map(q)
                    .joined(separator: " ") + " < \(q(inputs.mb5))")
            #expect(three.status == 3, "oci: exit 3 with 5 MB unread: \(three.status) \(three.stderr)")
        }
    }

    @Test("SIGTERM reaches the container while its stdin is still pending")
    func sigtermWhileRelaying() {
        let inputs = Inputs()
        defer { inputs.remove() }
        withStore { s in
            // The container never reads its 16 MB: the relay is full both ways when the signal comes.
            let pid = spawnBackground(
                [
                    "/bin/sh", "-c",
                    "exec "
                        + [
                            berthBinary, "--root", s.root, "run", "--rm", "-i",
                            "busybox", "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done",
                        ]
                        .map(q).joined(separator: " ") + " < \(q(inputs.mb16))",
                ],
                output: inputs.dir + "/out")
            usleep(1_500_000)
            kill(pid, SIGTERM)
            let status = reap(pid, within: 20)
            #expect(status == 7, "the CLI proxied SIGTERM and returned the container's code: \(String(describing: status))")
        }
    }

    @Test("a run -i whose CLI is killed closes the container's stdin, so it is not left waiting")
    func killedClientClosesStdin() {
        withStore { s in
            // A stdin that never ends (we hold its write end); the CLI is
            // SIGKILLed, so it never sends end of input.
            var input: [Int32] = [-1, -1]
            // Close-on-exec from the start: a child another test spawns meanwhile must
            // not inherit the write end. This child gets only its dup2 of the read end.
            #expect(berth_pipe_cloexec(&input) == 0)
            defer { close(input[0]); close(input[1]) }
            let dir = makeTempDirectory("once")
            defer { removeTree(dir) }
            let pid = spawnBackground(
                [berthBinary, "--root", s.root, "run", "-i", "--name", "once", "busybox", "cat"],
                output: dir + "/out", stdin: input[0])
            #expect(eventually(10) { s.inspect("once", "{{.State.Status}}") == "running" }, "started")
            kill(pid, SIGKILL)
            #expect(reap(pid, within: 5) == 137)
            #expect(
                eventually(10) { s.inspect("once", "{{.State.Status}}") == "exited" },
                "cat saw end of input and exited: \(s.inspect("once", "{{.State.Status}}"))")
            #expect(s.inspect("once", "{{.State.ExitCode}}") == "0")
        }
    }

    @Test("exec -it echoes 200 KB of typed input without a hang (script(1) gives it a terminal)")
    func execTTYPaste() {
        let inputs = Inputs()
        defer { inputs.remove() }
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "box", "busybox", "sleep", "300").status == 0)
            let text = inputs.dir + "/typed"
            #expect(sh("head -c 200000 \(q(inputs.mb4)) | base64 > \(q(text))").status == 0)
            // The process echoes what it reads while we still type: both
            // directions are busy at once, as in a paste into a shell.
            let exec = [
                berthBinary, "--root", s.root, "exec", "-it", "box", "sh", "-c",
                "stty raw -echo; head -c 200000; echo; echo END",
            ].map(q).joined(separator: " ")
            let (typed, _) = timed(60, "script -qec \(q(exec)) /dev/null < \(q(text)) > \(q(inputs.dir))/echoed")
            #expect(typed.status == 0, "exec -it: status \(typed.status) (137: killed after 60 s)")
            let echoed = readFile(inputs.dir + "/echoed")
            #expect(echoed.contains("END"), "all of it came back: \(echoed.utf8.count) bytes")
            let tail = String(decoding: Array(readFile(text).utf8.prefix(200_000).suffix(1000)), as: UTF8.self)
            #expect(echoed.contains(tail), "the last typed bytes came back unchanged")
        }
    }

    @Test("-it with a stdin that is not a terminal is refused at once, with exit 1")
    func notATTY() {
        withStore { s in
            let base = [berthBinary, "--root", s.root].map(q).joined(separator: " ")
            let (run, _) = timed(30, "echo hi | \(base) run --rm -it busybox cat")
            #expect(run.status == 1, "run -it: status \(run.status) (137: it hung)")
            #expect(run.stderr == "Error: the input device is not a TTY\n", "stderr: \(run.stderr)")
            #expect(s.berth("ps", "-aq").stdout.isEmpty, "nothing was created")

            #expect(s.berth("run", "-d", "-it", "--name", "box", "busybox", "sh").status == 0)
            let (exec, _) = timed(30, "echo hi | \(base) exec -it box cat")
            #expect(
                exec.status == 1 && exec.stderr == "Error: the input device is not a TTY\n",
                "exec -it: \(exec.status) \(exec.stderr)")
            let (attach, _) = timed(30, "echo hi | \(base) attach box")
            #expect(
                attach.status == 1 && attach.stderr == "Error: the input device is not a TTY\n",
                "attach: \(attach.status) \(attach.stderr)")
            #expect(s.berth("create", "-it", "--name", "later", "busybox", "cat").status == 0)
            let (start, _) = timed(30, "echo hi | \(base) start -ai later")
            #expect(
                start.status == 1 && start.stderr == "Error: the input device is not a TTY\n",
                "start -ai: \(start.status) \(start.stderr)")
            #expect(s.inspect("later", "{{.State.Status}}") == "created", "the refused start started nothing")
            // Without -i nothing reads stdin: a pipe is fine.
            let (plain, _) = timed(30, "echo hi | \(base) run --rm -t busybox echo ok")
            #expect(plain.status == 0 && plain.stdout.contains("ok"), "run -t: \(plain.status) \(plain.stderr)")
            #expect(s.inspect("box", "{{.State.Status}}") == "running")
        }
    }

    @Test(
        "attach --sig-proxy=false is left with SIGINT or SIGTERM; the container runs on",
        arguments: [SIGINT, SIGTERM])
    func attachWithoutProxy(signal: Int32) {
        let dir = makeTempDirectory("attach")
        defer { removeTree(dir) }
        withStore { s in
            #expect(
                s.berth(
                    "run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                    "while :; do echo tick; sleep 0.2; done"
                ).status == 0)
            let pid = spawnBackground(
                [berthBinary, "--root", s.root, "attach", "--sig-proxy=false", "ticker"],
                output: dir + "/out")
            #expect(eventually(10) { readFile(dir + "/out").contains("tick") }, "attached: \(readFile(dir + "/out.err"))")
            kill(pid, signal)
            let status = reap(pid, within: 10)
            #expect(status == 128 + signal, "attach ended by the signal: \(String(describing: status))")
            #expect(s.inspect("ticker", "{{.State.Status}}") == "running", "the container runs on")
        }
    }

    @Test("run --sig-proxy=false is left by SIGTERM and the container runs on; by default PID 1 gets the signal")
    func runSignalProxy() {
        let dir = makeTempDirectory("runproxy")
        defer { removeTree(dir) }
        withStore { s in
            let free = spawnBackground(
                [
                    berthBinary, "--root", s.root, "run", "--sig-proxy=false", "--name", "free", "busybox", "sh", "-c",
                    "while :; do echo tick; sleep 0.2; done",
                ], output: dir + "/free")
            #expect(eventually(10) { readFile(dir + "/free").contains("tick") }, "attached: \(readFile(dir + "/free.err"))")
            kill(free, SIGTERM)
            #expect(reap(free, within: 10) == 128 + SIGTERM, "the client ended by the signal")
            #expect(s.inspect("free", "{{.State.Status}}") == "running", "the container runs on")
            let proxied = spawnBackground(
                [
                    berthBinary, "--root", s.root, "run", "--name", "proxied", "busybox", "sh", "-c",
                    "trap 'echo got TERM; exit 9' TERM; echo ready; while :; do sleep 0.2; done",
                ], output: dir + "/proxied")
            #expect(eventually(10) { readFile(dir + "/proxied").contains("ready") })
            kill(proxied, SIGTERM)
            #expect(reap(proxied, within: 10) == 9, "PID 1 trapped the proxied signal and exited 9")
            #expect(readFile(dir + "/proxied").contains("got TERM"))
        }
    }

    @Test("wait on a --rm container prints its exit code", arguments: streamBackends)
    func waitOnAutoRemoved(backend: [String]) {
        withStore { s in
            let started = s.berth(
                ["run", "-d", "--rm", "--name", "five"] + backend + ["busybox", "sh", "-c", "sleep 1; exit 5"])
            #expect(started.status == 0, "run -d: \(started.stderr)")
            let (waited, _) = timed(30, [berthBinary, "--root", s.root, "wait", "five"].map(q).joined(separator: " "))
            #expect(waited.status == 0 && waited.stdout == "5\n", "wait: \(waited.stdout) \(waited.stderr)")
            #expect(eventually { s.berth("ps", "-aq").stdout.isEmpty }, "--rm removed it")
        }
    }

    @Test(
        "run --rm -it starts with the caller's terminal size (stty size in a 40x120 tmux window)",
        arguments: [["--isolation", "namespaces"], ["--isolation", "chroot"]] + streamBackends.dropFirst())
    func initialWindowSize(backend: [String]) {
        withStore { s in
            let socket = "berth-stream-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            func tmux(_ args: [String]) -> ProcessResult {
                runProcess(
                    ["tmux", "-L", socket] + args, environment: ["HOME": "/tmp", "TERM": "xterm-256color"])
            }
            defer { killTmuxServer(socket) }
            let command = ([berthBinary, "--root", s.root, "run", "--rm", "-it"] + backend + ["busybox", "stty", "size"])
                .map(q).joined(separator: " ")
            _ = tmux(["new-session", "-d", "-x", "120", "-y", "40", "\(command); echo status=$?; sleep 60"])
            var screen = ""
            let done = eventually(30) {
                screen = tmux(["capture-pane", "-p", "-t", "0"]).stdout
                return screen.contains("status=")
            }
            #expect(done, "the command finished; screen:\n\(screen)")
            #expect(
                lines(screen).map { String($0).trimmingSpaces }.contains("40 120"), "stty size saw 40x120; screen:\n\(screen)")
            #expect(screen.contains("status=0"), "screen:\n\(screen)")
        }
    }
}
