import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// The container lifecycle through the real `berth` binary, as root, on both
/// isolation backends: what `ps`, `logs`, `wait` and the exit codes show a
/// user, and that nothing (mount, cgroup, process) outlives a container.
/// Serialized: the tests count host processes and time `stop`.
@Suite("Lifecycle", .serialized, .enabled(if: isRoot, "needs root for mounts, namespaces and cgroups"))
struct LifecycleTests {

    // MARK: 1. The tutorial's steps

    @Test(
        "create, start, stop, start, restart, pause, unpause, rm refused, rm -f: as the tutorial shows",
        arguments: isolationBackends)
    func tutorialSteps(isolation: String) {
        withStore { s in
            let created = s.berth("create", "-it", "--name=busybox", "--isolation", isolation, "busybox")
            #expect(created.status == 0, "stderr: \(created.stderr)")
            let id = String(created.stdout.dropLast())
            #expect(isHex(id, count: 64) && created.stdout.hasSuffix("\n"), "create printed \(created.stdout)")

            let table = s.berth("ps", "-a").stdout
            #expect(table.hasPrefix("CONTAINER ID   IMAGE     COMMAND   CREATED "), "header: \(table)")
            let rows = s.ps()
            #expect(rows.first == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"])
            #expect(rows.count == 2, "one container: \(table)")
            if rows.count == 2 {
                let row = rows[1]
                #expect(row.count == 6, "row: \(row)")
                #expect(row.first == String(id.prefix(12)))
                #expect(row.dropFirst().first == "busybox" && row.dropFirst(2).first == "\"sh\"", "row: \(row)")
                #expect(row.dropFirst(3).first?.hasSuffix(" ago") == true, "CREATED: \(row)")
                #expect(row.dropFirst(4).first == "Created" && row.last == "busybox", "row: \(row)")
            }
            #expect(s.berth("ps").stdout.split(separator: "\n").count == 1, "plain ps lists only running ones")

            let started = s.berth("start", "busybox")
            #expect(started.status == 0 && started.stdout == "busybox\n", "start: \(started.stderr)")
            #expect(s.status("busybox")?.hasPrefix("Up ") == true, "\(s.ps())")
            #expect(lines(s.berth("ps").stdout).count == 2, "plain ps lists the running container")

            let stopped = s.berth("stop", "-t", "1", "busybox")
            #expect(stopped.status == 0 && stopped.stdout == "busybox\n", "stop: \(stopped.stderr)")
            // An interactive sh ignores SIGTERM, so stop had to kill it.
            #expect(s.status("busybox").map(timeless) == "Exited (137) T ago", "\(s.ps())")
            #expect(lines(s.berth("ps").stdout).count == 1, "plain ps hides the exited container")

            #expect(s.berth("start", "busybox").stdout == "busybox\n")
            #expect(s.status("busybox")?.hasPrefix("Up ") == true, "\(s.ps())")
            let firstPid = s.pid("busybox")
            #expect(firstPid > 0)

            let restarted = s.berth("restart", "-t", "1", "busybox")
            #expect(restarted.status == 0 && restarted.stdout == "busybox\n", "restart: \(restarted.stderr)")
            #expect(s.status("busybox")?.hasPrefix("Up ") == true, "\(s.ps())")
            let secondPid = s.pid("busybox")
            #expect(secondPid > 0 && secondPid != firstPid, "restart runs a new PID 1")

            let paused = s.berth("pause", "busybox")
            #expect(paused.status == 0 && paused.stdout == "busybox\n", "pause: \(paused.stderr)")
            #expect(s.status("busybox").map(timeless) == "Up T (Paused)", "\(s.ps())")
            // The process really is frozen.
            let cgroup = s.inspect("busybox", "{{.CgroupPath}}")
            #expect(
                readFile(cgroup + "/freezer.state").hasPrefix("FROZEN")
                    || readFile(cgroup + "/cgroup.events").contains("frozen 1"),
                "cgroup \(cgroup) frozen")
            let unpaused = s.berth("unpause", "busybox")
            #expect(unpaused.status == 0 && unpaused.stdout == "busybox\n", "unpause: \(unpaused.stderr)")
            #expect(s.status("busybox").map(timeless) == "Up T", "\(s.ps())")

            let before = s.psTimeless()
            let refused = s.berth("rm", "busybox")
            #expect(refused.status == 1, "Docker's CLI exits 1 for an engine refusal outside run/create")
            #expect(refused.stdout.isEmpty)
            #expect(
                refused.stderr
                    == "Error: You cannot remove a running container \(id). Stop the container before attempting removal or force remove\n",
                "stderr: \(refused.stderr)")
            #expect(s.psTimeless() == before, "a refused rm changes nothing")
            #expect(s.pid("busybox") == secondPid, "the same PID 1 still runs")

            let forced = s.berth("rm", "-f", "busybox")
            #expect(forced.status == 0 && forced.stdout == "busybox\n", "rm -f: \(forced.stderr)")
            #expect(s.ps().count == 1, "ps -a lists nothing: \(s.ps())")
            #expect(!fileExists(cgroup), "rm -f removed the cgroup")
        }
    }

    @Test("stop without -t waits the default 10 seconds for a PID 1 that ignores SIGTERM, then kills it")
    func stopWaitsTenSeconds() {
        withStore { s in
            // PID 1 of a PID namespace ignores signals it has no handler for.
            let run = s.berth("run", "-d", "--name", "stubborn", "busybox", "sleep", "1000")
            #expect(run.status == 0, "run: \(run.stderr)")
            let start = now()
            let stopped = s.berth("stop", "stubborn")
            let took = now() - start
            #expect(stopped.status == 0 && stopped.stdout == "stubborn\n", "stop: \(stopped.stderr)")
            #expect(took >= 9.5 && took < 14, "stop took \(took) s")
            #expect(s.status("stubborn").map(timeless) == "Exited (137) T ago", "\(s.ps())")
        }
    }

    // MARK: 2. Refusals change nothing

    @Test(
        "refused transitions exit as Docker's do (1, or 125 in run/create) with one Error line and change nothing",
        arguments: isolationBackends)
    func refusalsChangeNothing(isolation: String) {
        withStore { s in
            #expect(s.berth("create", "--isolation", isolation, "--name", "made", "busybox").status == 0)
            #expect(s.berth("run", "-d", "--isolation", isolation, "--name", "up", "busybox", "sleep", "1000").status == 0)
            #expect(s.berth("run", "-d", "--isolation", isolation, "--name", "frozen", "busybox", "sleep", "1000").status == 0)
            #expect(s.berth("pause", "frozen").status == 0)
            #expect(s.berth("run", "--isolation", isolation, "--name", "done", "busybox", "true").status == 0)
            let upPid = s.pid("up"), frozenPid = s.pid("frozen")
            let before = s.psTimeless()
            #expect(before.count == 5, "\(before)")
            #expect(before.contains { $0.last == "done" && $0.contains("Exited (0) T ago") }, "\(before)")

            func refused(_ args: [String], _ naming: [String], _ location: SourceLocation = #_sourceLocation) {
                let result = s.berth(args)
                let status: Int32 = ["run", "create"].contains(args[0]) ? 125 : 1
                expectRefusal(result, naming: naming, status: status, sourceLocation: location)
                #expect(result.stdout.isEmpty, "stdout: \(result.stdout)", sourceLocation: location)
                #expect(s.psTimeless() == before, "\(args) changed ps -a: \(s.psTimeless())", sourceLocation: location)
            }
            refused(["pause", "made"], ["is not running"])
            refused(["pause", "done"], ["is not running"])
            refused(["unpause", "up"], ["is not paused"])
            refused(["start", "frozen"], ["cannot start a paused container, try unpause instead"])
            refused(["kill", "done"], ["Cannot kill container: done", "is not running"])
            refused(["kill", "made"], ["Cannot kill container: made", "is not running"])
            let upID = s.inspect("up", "{{.Id}}")
            refused(
                ["create", "--isolation", isolation, "--name", "up", "busybox"],
                ["Conflict. The container name \"/up\" is already in use by container \"\(upID)\""])
            refused(["run", "-d", "--isolation", isolation, "--name", "/up", "busybox"], ["Conflict.", "\"/up\""])
            refused(["create", "--isolation", isolation, "--name", "no good", "busybox"], ["Invalid container name"])
            refused(["create", "--isolation", isolation, "--name", "_under", "busybox"], ["Invalid container name"])
            refused(["start", "nosuch"], ["No such container: nosuch"])
            #expect(FileSystem.list(s.root + "/containers").count == 4, "no half-made container directory")
            #expect(s.pid("up") == upPid && s.pid("frozen") == frozenPid, "the same processes still run")
            #expect(s.status("frozen")?.hasSuffix("(Paused)") == true)
        }
    }

    // MARK: 3. PID 1 semantics

    @Test("namespaces: ps aux inside shows only PID 1; hostname is the short ID or --hostname")
    func pidNamespace() {
        withStore { s in
            let ps = s.berth("run", "--rm", "busybox", "ps", "aux")
            #expect(ps.status == 0, "stderr: \(ps.stderr)")
            let rows = lines(ps.stdout)
            #expect(rows.count == 2, "a header and PID 1 only: \(ps.stdout)")
            #expect(rows.first?.hasPrefix("PID ") == true, "\(ps.stdout)")
            #expect(rows.last?.contains("1 root     ps aux") == true, "\(ps.stdout)")
            #expect(rows.last?.split(separator: " ").first == "1", "\(ps.stdout)")

            let named = s.berth("run", "--name", "host", "busybox", "hostname")
            #expect(named.status == 0)
            #expect(named.stdout == String(s.inspect("host", "{{.Id}}").prefix(12)) + "\n", "hostname: \(named.stdout)")
            #expect(s.berth("run", "--rm", "--hostname", "berthbox", "busybox", "hostname").stdout == "berthbox\n")
        }
    }

    @Test("namespaces: Docker's capability bounding set, masked /proc paths, read-only /proc/sys")
    func namespaceHardening() {
        withStore { s in
            let caps = s.berth("run", "--rm", "busybox", "grep", "CapBnd", "/proc/self/status")
            #expect(caps.stdout == "CapBnd:\t00000000a80425fb\n", "stderr: \(caps.stderr)")

            // /proc/kcore is masked when the host has one; this kernel may not,
            // so every masked file the host has with content is checked.
            let candidates = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/interrupts", "/proc/sched_debug"]
            let present = candidates.filter { !sh("head -c 1 \($0) 2>/dev/null").stdout.isEmpty }
            #expect(!present.isEmpty, "the host has at least one masked /proc file")
            for path in present {
                let read = s.berth("run", "--rm", "busybox", "sh", "-c", "wc -c < \(path)")
                #expect(
                    read.status == 0 && read.stdout.trimmingSpaces == "0", "\(path) reads empty: \(read.stdout) \(read.stderr)")
            }

            let write = s.berth("run", "--rm", "busybox", "sh", "-c", "echo 1 > /proc/sys/kernel/ns_last_pid && echo wrote")
            #expect(write.status != 0 && !write.stdout.contains("wrote"), "the write must fail: \(write.stdout)")
            #expect(write.stderr.contains("Read-only file system"), "stderr: \(write.stderr)")
        }
    }

    @Test("namespaces: no fd above 2 reaches the container (ls /proc/self/fd inside)")
    func noLeakedFdsInside() {
        withStore { s in
            for flags in [["--rm"], ["--rm", "-i"], ["--rm", "-t"]] {
                let ls = s.berth(["run"] + flags + ["busybox", "ls", "/proc/self/fd"], stdin: "")
                #expect(ls.status == 0, "\(flags): \(ls.stderr)")
                let fds = ls.stdout.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == " " }).map(String.init)
                // 0, 1, 2 and the directory ls itself opened.
                #expect(fds.count == 4 && Array(fds.prefix(3)) == ["0", "1", "2"], "\(flags): fds \(fds)")
            }
        }
    }

    @Test("PID 1 of a running container has only fds 0, 1 and 2 open (seen from the host)", arguments: isolationBackends)
    func noLeakedFdsFromHost(isolation: String) {
        withStore { s in
            for flags in [["-d"], ["-d", "-i"], ["-d", "-t"]] {
                let run = s.berth(["run"] + flags + ["--isolation", isolation, "busybox", "sleep", "1000"])
                #expect(run.status == 0, "\(flags): \(run.stderr)")
                let pid = s.pid(String(run.stdout.dropLast()))
                let fds = FileSystem.list("/proc/\(pid)/fd").sorted()
                #expect(fds == ["0", "1", "2"], "\(flags): PID 1 (\(pid)) has fds \(fds)")
            }
        }
    }

    @Test("when PID 1 exits, every other process of the container is killed", arguments: isolationBackends)
    func pid1ExitKillsTheRest(isolation: String) {
        withStore { s in
            let marker = "sleep \(1000 + Int.random(in: 1...8999))"
            let run = s.berth("run", "-d", "--isolation", isolation, "busybox", "sh", "-c", "\(marker) & sleep 1")
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let id = String(run.stdout.dropLast())
            #expect(eventually(2) { !pgrep(marker).isEmpty }, "the background \(marker) runs")
            let waited = s.berth("wait", id)
            #expect(waited.stdout == "0\n", "wait: \(waited.stdout) \(waited.stderr)")
            #expect(pgrep(marker).isEmpty, "\(marker) outlived PID 1: \(pgrep(marker))")
            #expect(s.status(s.inspect(id, "{{.Name}}").replacingOccurrences("/", "")).map(timeless) == "Exited (0) T ago")
        }
    }

    // MARK: 4. Exit codes

    @Test(
        "exit codes: the command's, 127 not found, 126 not executable, 125 engine errors",
        arguments: isolationBackends)
    func exitCodes(isolation: String) {
        withStore { s in
            #expect(s.berth("run", "--rm", "--isolation", isolation, "busybox", "sh", "-c", "exit 3").status == 3)

            let missing = s.berth("run", "--isolation", isolation, "--name", "missing", "busybox", "nosuch")
            expectRefusal(missing, naming: ["executable file not found in $PATH", "nosuch"], status: 127)
            #expect(s.status("missing") == "Created", "a container that never ran stays Created: \(s.ps())")
            #expect(s.inspect("missing", "{{.State.ExitCode}}") == "127")

            let notExec = s.berth("run", "--isolation", isolation, "busybox", "/etc/passwd")
            expectRefusal(notExec, naming: ["/etc/passwd", "permission denied"], status: 126)

            let before = s.psTimeless()
            let bad = s.berth("run", "--isolation", "x", "busybox", "true")
            expectRefusal(bad, naming: ["\"x\""], status: 125)
            #expect(s.psTimeless() == before, "a bad --isolation creates nothing")
            let startMissing = s.berth("start", "missing")
            expectRefusal(startMissing, naming: ["nosuch"], status: 1)  // Docker's start exits 1 where run exits 127
        }
    }

    @Test(
        "exec failures are told apart: too many open files, argument list too long, exec format error, permission denied",
        arguments: isolationBackends)
    func execFailures(isolation: String) {
        withStore { s in
            let network = isolation == "chroot" ? "host" : "none"
            let run = { (args: [String]) in s.berth(["run", "--rm", "--network", network, "--isolation", isolation] + args) }
            // A small nofile limit starts (stdio and the error pipe are all the start needs); below that, one true line.
            for n in ["16", "4"] {
                let small = run(["--ulimit", "nofile=\(n)", "busybox", "sh", "-c", "ulimit -n"])
                #expect(small.status == 0 && small.stdout == n + "\n", "nofile=\(n): \(small.stderr)")
            }
            let tiny = run(["--ulimit", "nofile=3", "busybox", "true"])
            expectRefusal(tiny, naming: ["exec: \"true\": too many open files", "--ulimit nofile"], status: 126)
            #expect(!tiny.stderr.contains("permission denied"), "\(tiny.stderr)")

            // One environment string past the kernel's 128 KiB per string.
            let envFile = s.root + "/big.env"
            writeFile(envFile, "BIG=" + String(repeating: "x", count: 200_000) + "\n")
            let big = run(["--env-file", envFile, "busybox", "true"])
            expectRefusal(big, naming: ["exec: \"true\": argument list too long"], status: 126)

            // An executable file that is neither ELF nor a #! script.
            let junk = s.root + "/junk"
            writeFile(junk, "just text\n")
            chmod(junk, 0o755)
            let format = run(["-v", junk + ":/junk", "busybox", "/junk"])
            expectRefusal(format, naming: ["exec: \"/junk\": exec format error"], status: 126)
            // exec (namespaces only) reports the same way, naming the command it was given.
            if isolation == "namespaces" {
                let up = s.berth(
                    "run", "-d", "--name", "execfail", "--network", network, "-v", junk + ":/junk", "busybox", "sleep", "60")
                #expect(up.status == 0, "\(up.stderr)")
                let execed = s.berth("exec", "execfail", "/junk")
                expectRefusal(execed, naming: ["exec: \"/junk\": exec format error"], status: 126)
                #expect(s.berth("rm", "-f", "execfail").status == 0)
            }

            let denied = run(["busybox", "/etc"])
            expectRefusal(denied, naming: ["exec: \"/etc\": permission denied"], status: 126)
            let missing = run(["busybox", "/no/such"])
            expectRefusal(missing, naming: ["/no/such", "no such file or directory"], status: 127)
        }
    }

    @Test("a monitor is named in ps by its store and container, and lives in berth/monitors, not in the caller's cgroups")
    func monitorTitle() {
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "titled", "busybox", "sleep", "60").status == 0)
            let id = s.inspect("titled", "{{.Id}}")
            let monitor = s.inspect("titled", "{{.State.MonitorPid}}")
            let cmdline = readFile("/proc/\(monitor)/cmdline").split(separator: "\0").joined(separator: " ")
            // The forked Swift monitor, or the small one it hands over to after 200 ms.
            #expect(
                cmdline.hasPrefix("berth --root \(s.root) __monitor \(id)")
                    || cmdline.hasPrefix("berth-monitor --root \(s.root) __monitor \(id) "),
                "monitor \(monitor): \(cmdline)")
            // Its environment was moved, not lost: exec still finds the container.
            #expect(s.berth("exec", "titled", "true").status == 0)
            // It left the caller's cgroups (a login session scope, on a systemd host) for berth/monitors.
            let moved = eventually(5) {
                let cgroups = readFile("/proc/\(monitor)/cgroup")
                return cgroups.contains("freezer:/berth/monitors\n") || cgroups.contains("0::/berth/monitors\n")
            }
            #expect(moved, "monitor cgroups: \(readFile("/proc/\(monitor)/cgroup"))")
        }
    }

    @Test("a monitor killed before it lets PID 1 go: PID 1 dies without running anything, the report pipe ends, rm -f cleans up")
    func monitorKilledBeforeRelease() {
        withStore { s in
            #expect(s.berth("create", "--name", "held", "--network", "none", "busybox", "touch", "/ran").status == 0)
            let id = s.inspect("held", "{{.Id}}")
            let fifo = s.root + "/report.fifo"
            #expect(mkfifo(fifo, 0o600) == 0)
            // The monitor as `start` runs it, holding PID 1 for a first attach
            // client that never comes; its report goes to fd 3.
            let launch = sh(
                "\(shellQuote(berthBinary)) --root \(shellQuote(s.root)) __monitor \(id) --wait-attach "
                    + "3>\(shellQuote(fifo)) </dev/null >/dev/null 2>&1 &")
            #expect(launch.status == 0)
            let fd = open(fifo, O_RDONLY | O_CLOEXEC)  // waits for the monitor to open its end
            defer { close(fd) }
            let report = readReport(fd)
            let words = report.split(separator: " ")
            guard words.count == 4, words[0] == "ok", let pid = Int32(words[1]), let monitor = Int32(words[3]) else {
                Issue.record("monitor report: \(report)")
                return
            }
            s.remember(pid)
            s.remember(monitor)
            #expect(kill(pid, 0) == 0, "PID 1 waits for the go")
            kill(monitor, SIGKILL)
            #expect(eventually(5) { ProcessTable.startTime(pid) == nil }, "PID 1 died with its monitor")
            // End of file: nothing of the container kept the monitor's report pipe open.
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            var byte: UInt8 = 0
            #expect(poll(&p, 1, 5000) == 1 && read(fd, &byte, 1) == 0, "the report pipe reached its end")
            let diff = s.berth("diff", "held")
            #expect(diff.status == 0 && !diff.stdout.contains("/ran"), "the command never ran: \(diff.stdout) \(diff.stderr)")
            #expect(s.berth("rm", "-f", "held").status == 0)
        }
    }

    /// The first line a monitor writes to its report pipe (10 s at most).
    private func readReport(_ fd: Int32) -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while line.count < 512, poll(&p, 1, 10_000) == 1, read(fd, &byte, 1) == 1, byte != 10 { line.append(byte) }
        return String(decoding: line, as: UTF8.self)
    }

    @Test("a root that cannot be built (a bad --tmpfs option) exits 125 naming the mount; Created, or gone with --rm")
    func rootSetupFailure() {
        withStore { s in
            // The child builds its root while the monitor moves it into its
            // cgroups, so this failure can come before the monitor's own step.
            let failed = s.berth("run", "--name", "badtmp", "--tmpfs", "/x:size=bogus", "busybox", "true")
            expectRefusal(failed, naming: ["mount /x", "EINVAL"], status: 125)
            #expect(s.status("badtmp") == "Created", "the container never ran: \(s.ps())")
            #expect(s.inspect("badtmp", "{{.State.ExitCode}}") == "125")
            let gone = s.berth("run", "--rm", "--name", "badtmp2", "--tmpfs", "/x:size=bogus", "busybox", "true")
            expectRefusal(gone, naming: ["mount /x"], status: 125)
            #expect(s.status("badtmp2") == nil, "--rm removed it: \(s.ps())")
            #expect(s.berth("rm", "badtmp").status == 0)
        }
    }

    @Test(
        "kill -s TERM reaches a PID 1 that traps it: wait prints its code; SIGKILL gives 137",
        arguments: isolationBackends)
    func signalsAndWait(isolation: String) {
        withStore { s in
            let trap = s.berth(
                "run", "-d", "--isolation", isolation, "--name", "trapper", "busybox", "sh", "-c",
                "trap 'exit 7' TERM; echo ready; while true; do sleep 0.1; done")
            #expect(trap.status == 0, "stderr: \(trap.stderr)")
            #expect(eventually(5) { s.berth("logs", "trapper").stdout.contains("ready") }, "the trap is set")
            let killed = s.berth("kill", "-s", "TERM", "trapper")
            #expect(killed.status == 0 && killed.stdout == "trapper\n", "kill: \(killed.stderr)")
            #expect(s.berth("wait", "trapper").stdout == "7\n")
            #expect(s.status("trapper").map(timeless) == "Exited (7) T ago")

            #expect(s.berth("run", "-d", "--isolation", isolation, "--name", "victim", "busybox", "sleep", "1000").status == 0)
            #expect(s.berth("kill", "victim").stdout == "victim\n")
            #expect(s.berth("wait", "victim").stdout == "137\n")
            #expect(s.status("victim").map(timeless) == "Exited (137) T ago")
        }
    }

    // MARK: 5. Streams

    @Test("without -t stdout and stderr stay apart; -i passes stdin", arguments: isolationBackends)
    func streams(isolation: String) {
        withStore { s in
            let split = s.berth("run", "--rm", "--isolation", isolation, "busybox", "sh", "-c", "echo out; echo err >&2")
            #expect(split.status == 0)
            #expect(split.stdout == "out\n", "stdout: \(split.stdout)")
            #expect(withoutWarnings(split.stderr) == "err\n", "stderr: \(split.stderr)")

            let cat = s.berth("run", "-i", "--rm", "--isolation", isolation, "busybox", "cat", stdin: "hello")
            #expect(cat.status == 0 && cat.stdout == "hello", "cat: \(cat.stdout) \(cat.stderr)")

            // Without -i the container's stdin is empty, not the caller's.
            let noStdin = s.berth("run", "--rm", "--isolation", isolation, "busybox", "cat", stdin: "secret")
            #expect(noStdin.status == 0 && noStdin.stdout.isEmpty, "cat without -i: \(noStdin.stdout)")
        }
    }

    @Test(
        "logs shows a detached container's output, line by line: --tail 1, -t with RFC 3339 times",
        arguments: isolationBackends)
    func logs(isolation: String) {
        withStore { s in
            // One write of three lines: the log must still hold three lines.
            let run = s.berth(
                "run", "-d", "--isolation", isolation, "--name", "talker", "busybox", "sh", "-c",
                "printf 'one\\ntwo\\nthree\\n'; echo oops >&2")
            #expect(run.status == 0)
            #expect(s.berth("wait", "talker").stdout == "0\n")
            let all = s.berth("logs", "talker")
            #expect(all.stdout == "one\ntwo\nthree\n" && all.stderr == "oops\n", "logs: \(all.stdout) | \(all.stderr)")
            let tail = s.berth("logs", "--tail", "2", "talker")
            #expect(tail.stdout == "three\n" && tail.stderr == "oops\n", "--tail 2: \(tail.stdout) | \(tail.stderr)")

            let quiet = s.berth(
                "run", "-d", "--isolation", isolation, "--name", "lines", "busybox", "sh", "-c",
                "printf 'one\\ntwo\\nthree\\n'")
            #expect(quiet.status == 0)
            #expect(s.berth("wait", "lines").stdout == "0\n")
            #expect(s.berth("logs", "--tail", "1", "lines").stdout == "three\n")
            let stamped = lines(s.berth("logs", "-t", "lines").stdout)
            #expect(stamped.count == 3, "\(stamped)")
            for (line, word) in zip(stamped, ["one", "two", "three"]) {
                let match = line.wholeMatch(of: /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z) (\w+)/)
                #expect(match?.output.3 == Substring(word), "line \(line)")
            }
        }
    }

    // MARK: 7. Concurrency and crash safety

    @Test("ten concurrent run -d all succeed with ten distinct names", arguments: isolationBackends)
    func tenConcurrentRuns(isolation: String) {
        withStore { s in
            let results = runConcurrently(
                Array(
                    repeating: [
                        berthBinary, "--root", s.root, "run", "-d",
                        "--isolation", isolation, "busybox", "sleep", "30",
                    ], count: 10))
            for (i, result) in results.enumerated() {
                s.note(result.stdout)
                #expect(result.status == 0, "run \(i): stderr \(result.stderr)")
                #expect(isHex(result.stdout.dropLast(), count: 64), "run \(i) printed \(result.stdout)")
            }
            #expect(Set(results.map(\.stdout)).count == 10, "ten distinct IDs")
            let rows = s.ps(all: false).dropFirst()
            #expect(rows.count == 10, "\(rows)")
            #expect(Set(rows.compactMap(\.last)).count == 10, "distinct names: \(rows.map(\.last))")
            #expect(rows.allSatisfy { $0.dropFirst(4).first?.hasPrefix("Up ") == true }, "\(rows)")
        }
    }

    @Test("of two concurrent creates with one name exactly one wins")
    func concurrentCreateSameName() {
        withStore { s in
            for round in 0..<3 {
                let name = "same\(round)"
                let results = runConcurrently(
                    Array(
                        repeating: [
                            berthBinary, "--root", s.root, "create", "--name", name,
                            "busybox",
                        ], count: 2))
                results.forEach { s.note($0.stdout) }
                #expect(results.map(\.status).sorted() == [0, 125], "round \(round): \(results.map(\.stderr))")
                if let loser = results.first(where: { $0.status == 125 }) {
                    expectOneErrorLine(
                        loser, naming: ["Conflict. The container name \"/\(name)\" is already in use"],
                        status: 125)
                }
                #expect(s.ps().dropFirst().filter { $0.last == name }.count == 1)
            }
            #expect(FileSystem.list(s.root + "/containers").count == 3)
            #expect(FileSystem.list(s.root + "/tmp").isEmpty, "no staging left: \(FileSystem.list(s.root + "/tmp"))")
        }
    }

    @Test("a killed monitor: ps -a stays truthful, and rm -f still cleans everything", arguments: isolationBackends)
    func killedMonitor(isolation: String) {
        withStore { s in
            let run = s.berth("run", "-d", "--isolation", isolation, "--name", "orphan", "busybox", "sleep", "1000")
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let monitor = s.monitorPid("orphan"), pid1 = s.pid("orphan")
            #expect(monitor > 0 && pid1 > 0)
            kill(monitor, SIGKILL)
            #expect(eventually(5) { ProcessTable.startTime(monitor) == nil }, "the monitor is gone")
            #expect(s.status("orphan")?.hasPrefix("Up ") == true, "PID 1 still runs: \(s.ps())")
            kill(pid1, SIGKILL)
            #expect(eventually(5) { s.status("orphan")?.hasPrefix("Exited") == true }, "\(s.ps())")
            #expect(s.berth("ps").stdout.split(separator: "\n").count == 1, "plain ps no longer lists it")
            // cleanUp runs rm -f and checks mounts, the cgroup and processes.
        }
    }

    @Test(
        "a killed monitor with PID 1 still running: rm -f kills it and cleans everything",
        arguments: isolationBackends)
    func killedMonitorRmForce(isolation: String) {
        withStore { s in
            let run = s.berth("run", "-d", "--isolation", isolation, "--name", "orphan", "busybox", "sleep", "1000")
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let monitor = s.monitorPid("orphan"), pid1 = s.pid("orphan")
            let cgroup = s.inspect("orphan", "{{.CgroupPath}}")
            kill(monitor, SIGKILL)
            #expect(eventually(5) { ProcessTable.startTime(monitor) == nil }, "the monitor is gone")
            let removed = s.berth("rm", "-f", "orphan")
            #expect(removed.status == 0 && removed.stdout == "orphan\n", "rm -f: \(removed.stderr)")
            #expect(ProcessTable.startTime(pid1) == nil, "PID 1 was killed")
            #expect(!fileExists(cgroup), "cgroup \(cgroup) removed")
            #expect(mounts(under: s.root).isEmpty, "\(mounts(under: s.root))")
        }
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\n" }.reversed())
    }
}
