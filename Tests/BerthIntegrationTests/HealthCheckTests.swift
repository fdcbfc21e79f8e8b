import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Health checks: the monitor's helper execs the probe into the container on
/// its interval, kills it at its timeout, and records Docker's `State.Health`;
/// `ps` shows and filters it.
@Suite("Health checks", .enabled(if: isRoot, "needs root for namespaces"))
struct HealthCheckTests {
    private func status(_ s: LifecycleStore, _ name: String) -> String {
        let out = s.berth("ps", "-a", "--filter", "name=^\(name)$", "--format", "{{.Status}}").stdout
        return out.hasSuffix("\n") ? String(out.dropLast()) : out
    }

    /// The suffix of an `Up …` status: `(healthy)`, `(health: starting)`.
    private func health(_ s: LifecycleStore, _ name: String) -> String {
        let st = status(s, name)
        guard let open = st.firstIndex(of: "(") else { return "" }
        return String(st[open...])
    }

    @Test("a passing check becomes healthy, a failing one unhealthy after its retries", arguments: ["namespaces", "oci"])
    func passAndFail(_ isolation: String) {
        withStore { s in
            // Long interval first: the status starts as Docker's "health: starting".
            #expect(
                s.berth(
                    "run", "-d", "--name", "slow", "--isolation", isolation, "--health-cmd", "true",
                    "--health-interval", "1m", "busybox", "sleep", "100"
                ).status == 0)
            #expect(health(s, "slow") == "(health: starting)")
            #expect(s.inspect("slow", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}") == "starting 0")

            #expect(
                s.berth(
                    "run", "-d", "--name", "good", "--isolation", isolation, "--health-cmd", "echo fine; exit 0",
                    "--health-interval", "200ms", "busybox", "sleep", "100"
                ).status == 0)
            #expect(eventually(15) { health(s, "good") == "(healthy)" }, "status: \(status(s, "good"))")
            #expect(
                s.inspect("good", "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}") == "0 fine\n"
            )

            #expect(
                s.berth(
                    "run", "-d", "--name", "sick", "--isolation", isolation, "--health-cmd", "echo bad >&2; exit 2",
                    "--health-interval", "200ms", "--health-retries", "3", "busybox", "sleep", "100"
                ).status == 0)
            var streaks: Set<String> = []
            #expect(
                eventually(15) {
                    let h = s.inspect("sick", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}")
                    streaks.insert(h)
                    return h.hasPrefix("unhealthy")
                })
            // Unhealthy exactly at the third failure in a row, never before.
            #expect(!streaks.contains("unhealthy 1") && !streaks.contains("unhealthy 2"), "\(streaks)")
            #expect(!streaks.contains { $0.hasPrefix("starting ") && (Int(field($0, 1)) ?? 3) >= 3 }, "\(streaks)")
            #expect(health(s, "sick") == "(unhealthy)")
            #expect(
                s.inspect("sick", "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}") == "2 bad\n")
            #expect(eventually(10) { s.inspect("sick", "{{len .State.Health.Log}}") == "5" }, "the last five probes are kept")
            usleep(600_000)
            #expect(s.inspect("sick", "{{len .State.Health.Log}}") == "5")

            let filtered = { (value: String) in s.berth("ps", "--filter", "health=\(value)", "--format", "{{.Names}}").stdout }
            #expect(filtered("healthy") == "good\n")
            #expect(filtered("unhealthy") == "sick\n")
            #expect(filtered("starting") == "slow\n")
            #expect(s.berth("run", "-d", "--name", "plain", "busybox", "sleep", "100").status == 0)
            #expect(filtered("none") == "plain\n")
            expectOneErrorLine(s.berth("ps", "--filter", "health=fine"), naming: ["health=fine"], status: 1)
            // After the exit, no probe is left running and the record stays as it was.
            #expect(s.berth("stop", "-t", "0", "good").status == 0)
            #expect(pgrep("__health \(s.inspect("good", "{{.Id}}"))").isEmpty)
        }
    }

    @Test("failures within the start period do not count; after it they do")
    func startPeriod() {
        withStore { s in
            #expect(
                s.berth(
                    "run", "-d", "--name", "boot", "--health-cmd", "exit 1", "--health-interval", "200ms",
                    "--health-start-period", "4s", "--health-retries", "1", "busybox", "sleep", "100"
                ).status == 0)
            #expect(eventually(3) { (Int(s.inspect("boot", "{{len .State.Health.Log}}")) ?? 0) >= 2 }, "probes ran")
            #expect(s.inspect("boot", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}") == "starting 0")
            #expect(eventually(15) { health(s, "boot") == "(unhealthy)" })
        }
    }

    @Test("a hanging check is killed at its timeout and counted as a failure")
    func timeout() {
        withStore { s in
            #expect(
                s.berth(
                    "run", "-d", "--name", "hang", "--health-cmd", "sleep 60", "--health-interval", "200ms",
                    "--health-timeout", "300ms", "--health-retries", "2", "busybox", "sleep", "100"
                ).status == 0)
            #expect(eventually(15) { health(s, "hang") == "(unhealthy)" })
            #expect(
                s.inspect("hang", "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}")
                    == "-1 Health check exceeded timeout (300ms)")
            let start = s.inspect("hang", "{{(index .State.Health.Log 0).Start}}")
            let end = s.inspect("hang", "{{(index .State.Health.Log 0).End}}")
            #expect(start != end && !start.isEmpty)
            // Killed, not left behind: at most the probe under way sleeps, and no zombie is left for PID 1.
            let ps = s.berth("exec", "hang", "ps", "-o", "pid,stat,args").stdout
            #expect(ps.split(separator: "\n").filter { $0.contains("sleep 60") }.count <= 1, "\(ps)")
            #expect(!ps.contains(" Z "), "\(ps)")
        }
    }

    @Test("a check that leaves an endless writer behind cannot fill the store's disk: the writer dies at 16 MiB")
    func endlessOutput() {
        withStore { s in
            #expect(
                s.berth(
                    "run", "-d", "--name", "chatty", "--network", "none", "--health-cmd", "cat /dev/zero & exit 0",
                    "--health-interval", "300ms", "busybox", "sleep", "100"
                ).status == 0)
            #expect(eventually(15) { health(s, "chatty") == "(healthy)" })
            usleep(1_500_000)
            // Every cat a probe left gets SIGXFSZ at the file size limit (dead
            // ones show as `[cat]`). A new probe starts one every 300 ms, so
            // one may be writing at any instant: a live `cat` seen twice, 2 s
            // apart, would be one the limit did not stop.
            func writers() -> (pids: Set<Substring>, ps: String) {
                let ps = s.berth("exec", "chatty", "ps", "-o", "pid,args").stdout
                let live = ps.split(separator: "\n").compactMap { line -> Substring? in
                    let words = line.split(separator: " ", maxSplits: 1)
                    guard words.count == 2, words[1].hasPrefix("cat /dev/zero") else { return nil }
                    return words[0]
                }
                return (Set(live), ps)
            }
            let before = writers()
            usleep(2_000_000)
            let after = writers()
            #expect(before.pids.isDisjoint(with: after.pids), "\(before.ps)\n2 s later:\n\(after.ps)")
            #expect(health(s, "chatty") == "(healthy)", "the probe itself exited 0")
        }
    }

    @Test("the image's HEALTHCHECK applies, --health-* override it, --no-healthcheck disables it")
    func imageHealthcheck() {
        withStore { s in
            let imported = s.berth(
                "import", "-c", "CMD [\"sh\"]", "-c", "HEALTHCHECK --interval=200ms --retries=1 CMD test -e /ready",
                busyboxTar, "checked")
            #expect(imported.status == 0, "import: \(imported.stderr)")
            #expect(
                s.berth("image", "inspect", "-f", "{{json .Config.Healthcheck}}", "checked").stdout
                    == #"{"Test":["CMD-SHELL","test -e /ready"],"Interval":200000000,"Retries":1}"# + "\n")
            #expect(s.berth("run", "-d", "--name", "img", "checked", "sleep", "100").status == 0)
            #expect(eventually(15) { health(s, "img") == "(unhealthy)" })
            #expect(s.berth("exec", "img", "touch", "/ready").status == 0)
            #expect(eventually(15) { health(s, "img") == "(healthy)" }, "a pass after failures makes it healthy")
            #expect(s.inspect("img", "{{.State.Health.FailingStreak}}") == "0")

            #expect(s.berth("run", "-d", "--name", "off", "--no-healthcheck", "checked", "sleep", "100").status == 0)
            #expect(s.inspect("off", "{{json .Config.Healthcheck.Test}}") == #"["NONE"]"#)
            usleep(800_000)
            #expect(status(s, "off").hasPrefix("Up ") && !status(s, "off").contains("("), "\(status(s, "off"))")
            #expect(s.berth("ps", "--filter", "health=none", "--format", "{{.Names}}").stdout == "off\n")

            // Only the command overridden: the image's interval and retries stay.
            #expect(s.berth("run", "-d", "--name", "mine", "--health-cmd", "true", "checked", "sleep", "100").status == 0)
            #expect(
                s.inspect("mine", "{{json .Config.Healthcheck}}")
                    == #"{"Test":["CMD-SHELL","true"],"Interval":200000000,"Retries":1}"#)
            #expect(eventually(15) { health(s, "mine") == "(healthy)" })
        }
    }

    @Test("bad health flags are Docker's errors, exit 125, and create nothing")
    func refusals() {
        withStore { s in
            for (args, words) in [
                (
                    ["--health-interval", "5x"],
                    #"invalid argument "5x" for "--health-interval" flag: time: invalid duration "5x""#
                ),
                (["--health-timeout", "abc"], #"time: invalid duration "abc""#),
                (["--health-interval", "-1s"], "--health-interval cannot be negative"),
                (["--health-retries", "-2"], "--health-retries cannot be negative"),
                (["--health-retries", "x"], #"invalid argument "x" for "--health-retries""#),
                (["--health-interval", "10us"], "Interval in Healthcheck cannot be less than 1ms"),
                (["--no-healthcheck", "--health-cmd", "true"], "--no-healthcheck conflicts with --health-* options"),
            ] {
                expectOneErrorLine(s.berth(["create"] + args + ["busybox"]), naming: [words], status: 125)
            }
            #expect(s.berth("ps", "-aq").stdout.isEmpty)
            // Go's duration syntax.
            #expect(
                s.berth(
                    "create", "--name", "dur", "--health-cmd", "true", "--health-interval", "1m30s",
                    "--health-timeout", "1.5s", "--health-start-period", "500ms", "busybox"
                ).status == 0)
            #expect(
                s.inspect("dur", "{{json .Config.Healthcheck}}")
                    == #"{"Test":["CMD-SHELL","true"],"Interval":90000000000,"Timeout":1500000000,"StartPeriod":500000000}"#)
        }
    }
}
