import BerthEngine
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Once PID 1 has run for a moment, the forked Swift monitor execs
/// `berth-monitor` (a small C program) in the same process, which relays
/// and logs until PID 1 exits and then execs `berth __monitor-exit` to
/// record the exit (docs/architecture.md, "The monitor"). These tests run
/// containers past that moment and check what a user sees: output, input,
/// logs in both formats with rotation, attach, exit codes, restarts, --rm,
/// and a killed monitor.
@Suite("Monitor hand-over to berth-monitor", .enabled(if: isRoot), .serialized)
struct MonitorHandoverTests {
    /// The monitor of a running container once it runs berth-monitor (0 if
    /// that did not happen within 5 s).
    func handedOver(_ s: LifecycleStore, _ ref: String) -> Int32 {
        let monitor = s.monitorPid(ref)
        guard monitor > 0,
            eventually(5, { (FileSystem.readLink("/proc/\(monitor)/exe") ?? "").hasSuffix("/berth-monitor") })
        else { return 0 }
        return monitor
    }

    @Test("berth-monitor beside berth speaks this build's arguments (the text the hand-over looks for)")
    func protocolMatches() {
        let program = String(berthBinary[..<berthBinary.lastIndex(of: "/")!]) + "/berth-monitor"
        let answer = runProcess([program, "--protocol"])
        #expect(answer.status == 0 && answer.stdout == MonitorHandoverProtocol.token + "\n", "\(answer)")
    }

    @Test("the monitor becomes berth-monitor in the same process: PID 1 stays its child, no Swift runtime is mapped")
    func sameProcessSmallProgram() {
        withStore { s in
            let run = s.berth(
                "run", "-d", "--name", "long", "busybox", "sh", "-c", "echo before; sleep 1; echo after; sleep 1000")
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let monitor = handedOver(s, "long")
            #expect(monitor > 0, "the monitor never ran berth-monitor")
            guard monitor > 0 else { return }
            #expect(s.monitorPid("long") == monitor, "MonitorPid stays the same process")
            let pid1 = s.pid("long")
            let status = readFile("/proc/\(pid1)/status")
            #expect(status.contains("\nPPid:\t\(monitor)\n"), "PID 1's parent is the monitor: \(status)")
            let maps = readFile("/proc/\(monitor)/maps")
            #expect(!maps.contains("swift"), "berth-monitor maps no Swift library")
            #expect(!maps.contains("/berth\n"), "nor the berth binary")
            // Output written after the hand-over is logged as before.
            #expect(eventually(5) { s.berth("logs", "long").stdout == "before\nafter\n" }, "\(s.berth("logs", "long"))")
            #expect(s.status("long")?.hasPrefix("Up ") == true)
            let stop = s.berth("stop", "-t", "0", "long")
            #expect(stop.status == 0, "stop: \(stop.stderr)")
            #expect(s.inspect("long", "{{.State.Status}} {{.State.ExitCode}}") == "exited 137")
            #expect(ProcessTable.startTime(monitor) == nil, "the monitor exited after recording the exit")
        }
    }

    /// Whether some process holds an exclusive flock on `path` (a shared one cannot be taken).
    func flockHeld(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EAGAIN
    }

    @Test(
        "the monitor claims its container directory (flock) while PID 1 runs, before and after the hand-over; PID 1 holds no host directory"
    )
    func livenessClaim() {
        withStore { s in
            let run = s.berth("run", "-d", "--name", "claimed", "busybox", "sleep", "1000")
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let id = s.inspect("claimed", "{{.Id}}")
            let directory = s.root + "/containers/" + id
            #expect(flockHeld(directory), "the Swift monitor holds the claim once PID 1 runs")
            #expect(handedOver(s, "claimed") > 0, "the monitor never ran berth-monitor")
            #expect(flockHeld(directory), "berth-monitor holds it on")
            // No descriptor of PID 1 (nor of a process it could be started
            // with) names a directory: `-w /proc/self/fd/N` cannot reach the store.
            let pid1 = s.pid("claimed")
            for fd in FileSystem.list("/proc/\(pid1)/fd") {
                #expect(
                    !FileSystem.isDirectory("/proc/\(pid1)/fd/\(fd)"),
                    "PID 1's fd \(fd): \(FileSystem.readLink("/proc/\(pid1)/fd/\(fd)") ?? "")")
            }
            #expect(s.status("claimed")?.hasPrefix("Up ") == true)
            let stop = s.berth("stop", "-t", "0", "claimed")
            #expect(stop.status == 0, "stop: \(stop.stderr)")
            #expect(!flockHeld(directory), "released when PID 1 exits")
            #expect(s.inspect("claimed", "{{.State.Status}} {{.State.ExitCode}}") == "exited 137")
            // A killed monitor's claim goes with it; ps then asks /proc, as before the claim.
            #expect(s.berth("start", "claimed").status == 0)
            #expect(eventually(5) { flockHeld(directory) }, "claimed again by the new monitor")
            let monitor = handedOver(s, "claimed")
            let restarted = s.pid("claimed")
            #expect(monitor > 0 && restarted > 0)
            guard monitor > 0, restarted > 0 else { return }
            kill(monitor, SIGKILL)
            #expect(eventually(5) { !flockHeld(directory) }, "the kernel drops a killed monitor's claim")
            #expect(s.status("claimed")?.hasPrefix("Up ") == true, "PID 1 still runs: \(s.ps())")
            kill(restarted, SIGKILL)
            #expect(eventually(5) { s.status("claimed")?.hasPrefix("Exited") == true }, "\(s.ps())")
        }
    }

    @Test("input typed after the hand-over reaches the container, and run -i returns its exit code", arguments: [false, true])
    func inputAcrossTheHandover(autoRemove: Bool) {
        withStore { s in
            // The second line comes a second later, long after the hand-over.
            let script = """
                (echo one; sleep 1; echo two) | \(shellQuote(berthBinary)) --root \(shellQuote(s.root)) \
                run -i \(autoRemove ? "--rm" : "--name kept") busybox sh -c 'while read l; do echo got $l; done; exit 7'
                """
            let run = sh(script)
            s.note(run.stdout)
            #expect(run.stdout == "got one\ngot two\n", "stderr: \(run.stderr)")
            #expect(run.status == 7)
            if autoRemove {
                #expect(eventually(5) { s.berth("ps", "-aq").stdout.isEmpty }, "the --rm container is gone: \(s.ps())")
            } else {
                #expect(s.inspect("kept", "{{.State.Status}} {{.State.ExitCode}}") == "exited 7")
                #expect(s.berth("logs", "kept").stdout == "got one\ngot two\n")
            }
        }
    }

    @Test("attach after the hand-over sees the output and exits with the container's code")
    func attachAfterHandover() {
        withStore { s in
            let run = s.berth("run", "-d", "--name", "late", "busybox", "sh", "-c", "sleep 1.5; echo hi; exit 5")
            #expect(run.status == 0, "stderr: \(run.stderr)")
            #expect(handedOver(s, "late") > 0)
            let attach = s.berth("attach", "late")
            #expect(attach.stdout == "hi\n", "stderr: \(attach.stderr)")
            #expect(attach.status == 5)
            #expect(s.inspect("late", "{{.State.Status}} {{.State.ExitCode}}") == "exited 5")
        }
    }

    @Test("json-file rotation and k8s-file entries are written by berth-monitor as by the Swift monitor")
    func logFormats() {
        withStore { s in
            let run = s.berth(
                "run", "-d", "--name", "rot", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "busybox", "sh", "-c",
                "sleep 1; i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done")
            #expect(run.status == 0, "stderr: \(run.stderr)")
            #expect(eventually(10) { s.inspect("rot", "{{.State.Status}}") == "exited" })
            let dir = s.root + "/containers/" + s.inspect("rot", "{{.Id}}")
            for file in ["container.log", "container.log.1", "container.log.2"] {
                var st = stat()
                #expect(stat(dir + "/" + file, &st) == 0 && st.st_size <= 1024, "\(file) is there, at most 1 kB")
            }
            #expect(!fileExists(dir + "/container.log.3"), "max-file=3 keeps three files")
            let logged = lines(s.berth("logs", "rot").stdout).map(String.init)
            #expect(logged.last == "line-199", "the last line: \(logged.suffix(3))")
            let first = Int(logged.first?.dropFirst(5) ?? "") ?? -1
            #expect(logged == (first..<200).map { "line-\($0)" }, "the kept lines follow each other")

            let k8s = s.berth(
                "run", "-d", "--name", "k8s", "--log-driver", "k8s-file", "busybox", "sh", "-c",
                "sleep 1; echo whole; printf half")
            #expect(k8s.status == 0, "stderr: \(k8s.stderr)")
            #expect(eventually(10) { s.inspect("k8s", "{{.State.Status}}") == "exited" })
            let raw = readFile(s.root + "/containers/" + s.inspect("k8s", "{{.Id}}") + "/container.log")
            let entries = lines(raw).map(String.init)
            #expect(entries.count == 2, "\(raw)")
            let stamp = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}\+00:00 stdout /#
            #expect(entries.allSatisfy { $0.prefixMatch(of: stamp) != nil }, "\(raw)")
            #expect(entries.first?.hasSuffix(" stdout F whole") == true && entries.last?.hasSuffix(" stdout P half") == true)
            #expect(s.berth("logs", "k8s").stdout == "whole\nhalf")
        }
    }

    @Test("a restart policy restarts the container after each hand-over, with Docker's count")
    func restartAfterHandover() {
        withStore { s in
            let run = s.berth(
                "run", "-d", "--name", "again", "--restart", "on-failure:2", "busybox", "sh", "-c", "sleep 0.6; exit 3")
            #expect(run.status == 0, "stderr: \(run.stderr)")
            #expect(eventually(20) { s.inspect("again", "{{.State.Status}}") == "exited" }, "\(s.ps())")
            #expect(s.inspect("again", "{{.RestartCount}} {{.State.ExitCode}}") == "2 3")
        }
    }

    /// Connects 20 attach clients to a container's socket, holds them 1.5 s,
    /// and prints the monitor's CPU ticks meanwhile (utime + stime).
    private let clientFlood = #"""
        import os, socket, sys, time
        directory, monitor = sys.argv[1], sys.argv[2]
        def ticks():
            fields = open(f"/proc/{monitor}/stat").read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        fd = os.open(directory, os.O_PATH)
        clients = []
        for _ in range(20):
            c = socket.socket(socket.AF_UNIX)
            c.connect(f"/proc/self/fd/{fd}/attach.sock")
            clients.append(c)
        time.sleep(0.3)
        before = ticks()
        time.sleep(1.2)
        print(ticks() - before)
        """#

    @Test(
        "a monitor out of descriptors leaves further attach clients queued without spinning, before and after the hand-over",
        arguments: [true, false])
    func outOfDescriptors(handOver: Bool) {
        withStore { s in
            let run = runProcess(
                [berthBinary, "--root", s.root, "run", "-d", "--name", "few", "busybox", "sleep", "300"],
                environment: handOver ? [:] : ["BERTH_MONITOR_HANDOVER_MS": "off"])
            s.note(run.stdout)
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let monitor = handOver ? handedOver(s, "few") : s.monitorPid("few")
            #expect(monitor > 0)
            guard monitor > 0 else { return }
            #expect(sh("prlimit --pid \(monitor) --nofile=12:12").status == 0)
            let directory = s.root + "/containers/" + s.inspect("few", "{{.Id}}")
            let flood = runProcess(["python3", "-c", clientFlood, directory, String(monitor)])
            let ticks = Int(flood.stdout.trimmingSpacesAndNewlines) ?? -1
            // A spinning monitor would burn the whole 1.2 s (120 ticks).
            #expect(ticks >= 0 && ticks < 30, "monitor CPU ticks in 1.2 s: \(flood.stdout) \(flood.stderr)")
            #expect(s.status("few")?.hasPrefix("Up ") == true, "the container runs on")
        }
    }

    @Test("a line without its newline yet (a shell's prompt) goes along with the hand-over and is logged whole")
    func partialLineHandedOver() {
        withStore { s in
            let run = s.berth(
                "run", "-d", "--name", "prompt", "busybox", "sh", "-c",
                "printf 'no newline yet'; sleep 1.5; echo ' and the rest'; sleep 300")
            #expect(run.status == 0, "stderr: \(run.stderr)")
            #expect(handedOver(s, "prompt") > 0, "the pending partial line no longer holds the hand-over back")
            #expect(
                eventually(5) { s.berth("logs", "prompt").stdout == "no newline yet and the rest\n" },
                "\(s.berth("logs", "prompt").stdout)")
            let raw = readFile(s.root + "/containers/" + s.inspect("prompt", "{{.Id}}") + "/container.log")
            #expect(lines(raw).count == 1, "one entry: \(raw)")
        }
    }

    @Test("a process left writing after PID 1 exits (chroot) cannot hold the exit back: run returns PID 1's code")
    func endlessWriterAfterExit() {
        withStore { s in
            let run = runProcess([
                "timeout", "30", berthBinary, "--root", s.root, "run", "--name", "yes", "--isolation", "chroot", "busybox",
                "sh", "-c", "yes > /dev/stdout & sleep 0.5; exit 3",
            ])
            s.note(run.stdout.prefix(0) + "")
            #expect(run.status == 3, "run: \(run.status) \(run.stderr.suffix(300))")
            #expect(s.inspect("yes", "{{.State.Status}} {{.State.ExitCode}}") == "exited 3")
        }
    }

    @Test("a killed berth-monitor leaves a truthful record, and rm -f cleans everything")
    func killedSmallMonitor() {
        withStore { s in
            let run = s.berth("run", "-d", "--name", "orphan", "busybox", "sleep", "1000")
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let monitor = handedOver(s, "orphan")
            #expect(monitor > 0)
            let pid1 = s.pid("orphan")
            kill(monitor, SIGKILL)
            #expect(eventually(5) { ProcessTable.startTime(monitor) == nil }, "the monitor is gone")
            #expect(s.status("orphan")?.hasPrefix("Up ") == true, "PID 1 still runs: \(s.ps())")
            kill(pid1, SIGKILL)
            #expect(eventually(5) { s.status("orphan")?.hasPrefix("Exited") == true }, "\(s.ps())")
            // cleanUp runs rm -f and checks mounts, the cgroup and processes.
        }
    }
}
