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
