import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `--restart`: the monitor restarts PID 1 per policy with Docker's back-off,
/// a user's stop ends it, and `start --all --filter restart-policy=` brings
/// containers back after a reboot (simulated by kill -9 of monitor and PID 1).
@Suite("Restart policies", .enabled(if: isRoot, "needs root for namespaces"))
struct RestartPolicyTests {
    /// `ps -a` STATUS of one container.
    private func status(_ s: LifecycleStore, _ name: String) -> String {
        s.berth("ps", "-a", "--filter", "name=^\(name)$", "--format", "{{.Status}}").stdout
    }

    private func monitors(of id: String) -> [String] { pgrep("__monitor \(id)") }

    @Test("on-failure:2 restarts a failing command exactly twice: RestartCount 2, Exited (3)", arguments: ["namespaces", "oci"])
    func onFailureCounts(_ isolation: String) {
        withStore { s in
            let run = s.berth(
                "run", "-d", "--name", "flaky", "--isolation", isolation, "--restart", "on-failure:2",
                "busybox", "sh", "-c", "echo ran; exit 3")
            #expect(run.status == 0, "run: \(run.stderr)")
            let id = s.inspect("flaky", "{{.Id}}")
            // 3 runs and two waits of 100 and 200 ms; generous for a loaded machine.
            #expect(eventually(20) { s.inspect("flaky", "{{.State.Status}}") == "exited" && monitors(of: id).isEmpty })
            #expect(s.inspect("flaky", "{{.RestartCount}} {{.State.ExitCode}}") == "2 3")
            #expect(s.inspect("flaky", "{{json .HostConfig.RestartPolicy}}") == #"{"Name":"on-failure","MaximumRetryCount":2}"#)
            #expect(status(s, "flaky").hasPrefix("Exited (3) "))
            usleep(500_000)
            #expect(s.inspect("flaky", "{{.RestartCount}}") == "2", "no third restart")
            #expect(s.berth("logs", "flaky").stdout == "ran\nran\nran\n", "the first run and two restarts")
            // on-failure does not restart a clean exit.
            #expect(
                s.berth(
                    "run", "-d", "--name", "clean", "--isolation", isolation, "--restart", "on-failure",
                    "busybox", "true"
                ).status == 0)
            #expect(eventually(10) { s.inspect("clean", "{{.State.Status}}") == "exited" })
            usleep(400_000)
            #expect(s.inspect("clean", "{{.RestartCount}} {{.State.Status}}") == "0 exited")
        }
    }

    @Test("always restarts after exit 0, ps shows Restarting (0), and stop ends it promptly")
    func alwaysUntilStop() {
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "loop", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2").status == 0)
            let id = s.inspect("loop", "{{.Id}}")
            var seen = "", state = ""
            // Between runs: Docker's words in ps, and Restarting and Running both true in inspect.
            #expect(
                eventually(20) {
                    state = s.inspect("loop", "{{.State.Status}} {{.State.Restarting}} {{.State.Running}} {{.RestartCount}}")
                    seen = status(s, "loop")
                    let count = Int(state.split(separator: " ").last ?? "") ?? 0
                    return state.hasPrefix("restarting true true ") && count >= 2 && seen.hasPrefix("Restarting (0) ")
                }, "last status: \(seen), state: \(state)")
            let started = now()
            let stop = s.berth("stop", "loop")
            #expect(stop.status == 0 && stop.stdout == "loop\n", "stop: \(stop.stderr)")
            #expect(now() - started < 5, "stop ends the back-off instead of waiting for a restart")
            #expect(s.inspect("loop", "{{.State.Status}}") == "exited")
            let count = s.inspect("loop", "{{.RestartCount}}")
            usleep(1_500_000)
            #expect(s.inspect("loop", "{{.State.Status}} {{.RestartCount}}") == "exited \(count)", "stopped for good")
            #expect(monitors(of: id).isEmpty, "no monitor left waiting")
            // A user's start begins again from zero.
            #expect(s.berth("start", "loop").status == 0)
            #expect(s.inspect("loop", "{{.RestartCount}}") == "0")
            #expect(s.berth("stop", "-t", "0", "loop").status == 0)
        }
    }

    @Test("the back-off doubles: a command that fails at once is restarted a handful of times in 4 s, not dozens")
    func backoff() {
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "fast", "--restart", "always", "busybox", "false").status == 0)
            usleep(4_000_000)
            // Waits of 100, 200, 400, 800, 1600 ms: 3.1 s for five restarts, 6.3 s for six.
            let count = Int(s.inspect("fast", "{{.RestartCount}}")) ?? -1
            #expect((2...6).contains(count), "restarts in 4 s: \(count)")
            #expect(s.berth("stop", "fast").status == 0)
        }
    }

    @Test("kill with any signal ends the restarting, as Docker's for a container without a custom stop signal")
    func killOtherSignal() {
        withStore { s in
            #expect(
                s.berth(
                    "run", "-d", "--name", "hup", "--restart", "always", "busybox", "sh", "-c",
                    "trap 'exit 7' HUP; sleep 100 & wait"
                ).status == 0)
            usleep(300_000)  // the trap is set
            #expect(s.berth("kill", "-s", "HUP", "hup").status == 0)
            #expect(eventually(10) { status(s, "hup").hasPrefix("Exited (7) ") })
            usleep(800_000)
            #expect(s.inspect("hup", "{{.State.Status}} {{.RestartCount}} {{.HasBeenManuallyStopped}}") == "exited 0 true")
        }
    }

    @Test("update --restart changes the policy the monitor applies at the next exit")
    func updatePolicy() {
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "later", "busybox", "sleep", "100").status == 0)
            let update = s.berth("update", "--restart", "always", "later")
            #expect(update.status == 0 && update.stdout == "later\n", "update: \(update.stderr)")
            #expect(s.inspect("later", "{{.HostConfig.RestartPolicy.Name}}") == "always")
            let pid = s.pid("later")
            kill(pid, SIGKILL)
            #expect(
                eventually(10) {
                    let p = s.pid("later"); return p > 0 && p != pid
                }, "restarted under the new policy")
            #expect(s.inspect("later", "{{.RestartCount}}") == "1")
            expectOneErrorLine(s.berth("update", "--restart", "sometimes", "later"), naming: ["sometimes"], status: 1)
            #expect(s.berth("run", "-d", "--rm", "--name", "gone", "busybox", "sleep", "100").status == 0)
            expectOneErrorLine(
                s.berth("update", "--restart", "always", "gone"), naming: ["AutoRemove is enabled"], status: 1)
        }
    }

    @Test("a long-running always container: stop ends it and it is not restarted")
    func stopRunning() {
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "srv", "--restart", "always", "busybox", "sleep", "100").status == 0)
            let started = now()
            #expect(s.berth("stop", "-t", "1", "srv").status == 0)
            #expect(now() - started < 8)
            usleep(800_000)
            #expect(status(s, "srv").hasPrefix("Exited (137) "))
            #expect(s.inspect("srv", "{{.RestartCount}}") == "0")
        }
    }

    @Test("kill -9 of monitor and PID 1, then start --all --filter restart-policy=: a user-stopped unless-stopped stays down")
    func rebootRecovery() {
        withStore { s in
            for (name, policy) in [("keep", "unless-stopped"), ("down", "unless-stopped"), ("always", "always"), ("plain", "no")]
            {
                #expect(s.berth("run", "-d", "--name", name, "--restart", policy, "busybox", "sleep", "100").status == 0)
            }
            #expect(s.berth("stop", "-t", "0", "down").status == 0)
            #expect(s.inspect("down", "{{.HasBeenManuallyStopped}}") == "true")
            // One more, killed while it waits out its back-off between restarts.
            #expect(s.berth("run", "-d", "--name", "waiting", "--restart", "always", "busybox", "sh", "-c", "exit 4").status == 0)
            #expect(
                eventually(20) {
                    s.inspect("waiting", "{{.State.Status}}") == "restarting"
                        && (Int(s.inspect("waiting", "{{.RestartCount}}")) ?? 0) >= 3
                })
            kill(s.monitorPid("waiting"), SIGKILL)
            #expect(eventually(5) { status(s, "waiting").hasPrefix("Exited (4) ") }, "the last exit code, not 255")
            // The "reboot": every monitor and PID 1 dies without recording anything.
            for name in ["keep", "always", "plain"] {
                let monitor = s.monitorPid(name), pid = s.pid(name)
                #expect(monitor > 0 && pid > 0)
                kill(monitor, SIGKILL)
                kill(pid, SIGKILL)
            }
            #expect(eventually(10) { ["keep", "always", "plain"].allSatisfy { s.inspect($0, "{{.State.Status}}") == "exited" } })
            let unless = s.berth("start", "--all", "--filter", "restart-policy=unless-stopped")
            #expect(unless.status == 0 && unless.stdout == "keep\n", "start: \(unless.stdout) \(unless.stderr)")
            #expect(status(s, "keep").hasPrefix("Up "))
            #expect(status(s, "down").hasPrefix("Exited (137)"), "stopped by its user: stays down")
            let always = s.berth("start", "--all", "--filter", "restart-policy=always")
            #expect(always.status == 0 && always.stdout == "always\nwaiting\n", "start: \(always.stdout) \(always.stderr)")
            // A start begins the count afresh (it was 3 or more): the back-off allows at most two restarts this soon.
            #expect((Int(s.inspect("waiting", "{{.RestartCount}}")) ?? 99) < 3)
            #expect(eventually(10) { (Int(s.inspect("waiting", "{{.RestartCount}}")) ?? 0) >= 1 }, "and it restarts again")
            #expect(status(s, "plain").hasPrefix("Exited (255)"))
            // The restarted ones are supervised again: their policy still restarts them.
            let pid = s.pid("keep")
            kill(pid, SIGKILL)
            #expect(
                eventually(10) {
                    let p = s.pid("keep"); return p > 0 && p != pid
                })
            #expect(s.inspect("keep", "{{.RestartCount}}") == "1")
            expectOneErrorLine(
                s.berth("start", "--all", "--filter", "restart-policy=sometimes"), naming: ["restart-policy=sometimes"],
                status: 1)
            expectOneErrorLine(s.berth("start", "--all", "keep"), naming: ["--all"], status: 125)
        }
    }

    @Test("refusals: --rm with --restart, bad policies (125); rm of a restarting container needs -f; kill ends restarting")
    func refusals() {
        withStore { s in
            expectOneErrorLine(
                s.berth("run", "--rm", "--restart", "always", "busybox", "true"),
                naming: ["Conflicting options: --restart and --rm"],
                status: 125)
            for (policy, words) in [
                ("sometimes", "invalid restart policy 'sometimes'"), ("always:3", "maximum retry count cannot be used"),
                ("on-failure:x", "maximum retry count must be an integer"), ("on-failure:-1", "cannot be negative"),
                ("on-failure:1:2", "invalid restart policy format"),
            ] {
                expectOneErrorLine(s.berth("create", "--restart", policy, "busybox"), naming: [words], status: 125)
            }
            #expect(s.berth("ps", "-aq").stdout.isEmpty, "a refused create makes nothing")
            #expect(s.berth("run", "--rm", "--restart", "no", "busybox", "true").status == 0)
            #expect(s.berth("create", "--name", "plain", "busybox").status == 0)
            #expect(
                s.inspect("plain", "{{json .HostConfig.RestartPolicy}} {{.RestartCount}}")
                    == #"{"Name":"no","MaximumRetryCount":0} 0"#)

            // A container that fails at once and waits ever longer between restarts.
            #expect(s.berth("run", "-d", "--name", "crash", "--restart", "always", "busybox", "sh", "-c", "exit 1").status == 0)
            let id = s.inspect("crash", "{{.Id}}")
            #expect(
                eventually(20) {
                    status(s, "crash").hasPrefix("Restarting (1) ") && (Int(s.inspect("crash", "{{.RestartCount}}")) ?? 0) >= 3
                })
            // Listed by ps without -a, as Docker lists it (it counts as running).
            #expect(
                eventually(10) { s.berth("ps", "--filter", "status=restarting", "--format", "{{.Names}}").stdout == "crash\n" })
            let refused = s.berth("rm", "crash")
            #expect(refused.status == 1 && refused.stderr.contains("Error: You cannot remove a"))
            #expect(s.berth("rm", "-f", "crash").status == 0)
            #expect(s.berth("ps", "-aq").stdout == String(s.inspect("plain", "{{.Id}}").prefix(12)) + "\n")
            #expect(eventually(5) { monitors(of: id).isEmpty }, "rm -f ends the waiting monitor")

            #expect(s.berth("run", "-d", "--name", "crash2", "--restart", "always", "busybox", "sh", "-c", "exit 1").status == 0)
            #expect(eventually(20) { (Int(s.inspect("crash2", "{{.RestartCount}}")) ?? 0) >= 3 })
            let kill = s.berth("kill", "crash2")
            #expect(kill.status == 0, "kill: \(kill.stderr)")
            #expect(eventually(5) { s.inspect("crash2", "{{.State.Status}}") == "exited" })
            let count = s.inspect("crash2", "{{.RestartCount}}")
            usleep(1_500_000)
            #expect(s.inspect("crash2", "{{.State.Status}} {{.RestartCount}}") == "exited \(count)")
        }
    }
}
