import Testing
import BerthCore
@testable import BerthEngine

@Suite("restart policies, back-off, health rules and Go durations")
struct RestartHealthTests {
    @Test("policies parse as Docker's CLI and daemon check them")
    func policies() {
        #expect((try? RestartPolicy.parse("on-failure:5")) == RestartPolicy(name: .onFailure, maximumRetryCount: 5))
        #expect((try? RestartPolicy.parse("unless-stopped"))?.name == .unlessStopped)
        #expect((try? RestartPolicy.parse(""))?.isNone == true)
        for bad in ["sometimes", "always:1", "on-failure:x", "on-failure:-1", "a:b:c", "on-failure:99999999999999999999"] {
            #expect((try? RestartPolicy.parse(bad)) == nil, "\(bad)")
        }
    }

    @Test("which exits restart: always, unless-stopped, on-failure's limit, a user's stop")
    func decisions() {
        let always = RestartPolicy(name: .always)
        #expect(always.restarts(exitCode: 0, restartCount: 100, stopped: false))
        #expect(!always.restarts(exitCode: 1, restartCount: 0, stopped: true))
        let limited = RestartPolicy(name: .onFailure, maximumRetryCount: 2)
        #expect(!limited.restarts(exitCode: 0, restartCount: 0, stopped: false))
        #expect(limited.restarts(exitCode: 3, restartCount: 1, stopped: false))
        #expect(!limited.restarts(exitCode: 3, restartCount: 2, stopped: false))
        #expect(RestartPolicy(name: .onFailure).restarts(exitCode: 1, restartCount: 1000, stopped: false))
        #expect(!RestartPolicy().restarts(exitCode: 1, restartCount: 0, stopped: false))
    }

    @Test("back-off: 100 ms, doubling to a minute, reset after a 10 s run")
    func backoff() {
        var wait = 0
        var waits: [Int] = []
        for _ in 0..<12 {
            wait = RestartBackoff.next(previousMs: wait, ranSeconds: 0.1)
            waits.append(wait)
        }
        #expect(Array(waits.prefix(5)) == [100, 200, 400, 800, 1600])
        #expect(waits.last == 60_000)
        #expect(RestartBackoff.next(previousMs: 60_000, ranSeconds: 10) == 100)
    }

    @Test("Go durations: Docker's flag syntax and Duration.String()")
    func durations() {
        #expect(GoDuration.parse("1m30s") == 90_000_000_000)
        #expect(GoDuration.parse("500ms") == 500_000_000)
        #expect(GoDuration.parse("1.5h") == 5_400_000_000_000)
        #expect(GoDuration.parse("0") == 0)
        #expect(GoDuration.parse("-2s") == -2_000_000_000)
        // Go's largest duration, which rounds to 2^63 as a Double: no trap, Int64.max.
        #expect(GoDuration.parse("9223372036854775807ns") == Int64.max)
        #expect(GoDuration.parse("-9223372036854775807ns") == -Int64.max)
        #expect(GoDuration.parse("2562048h") == nil)
        for bad in ["", "5", "5x", "s", "1..5s", "ms", "9999999999999h", "1s 2s"] {
            #expect(GoDuration.parse(bad) == nil, "\(bad)")
        }
        #expect(GoDuration.format(30_000_000_000) == "30s")
        #expect(GoDuration.format(300_000_000) == "300ms")
        #expect(GoDuration.format(90_000_000_000) == "1m30s")
        #expect(GoDuration.format(3_600_000_000_000) == "1h0m0s")
        #expect(GoDuration.format(1_500_000_000) == "1.5s")
    }

    @Test("probe results: healthy at a pass, unhealthy at retries, start period spares failures, five kept")
    func probes() {
        var s = ContainerState()
        s.setRunning(pid: 42, pidStartTime: 7, monitorPid: 41, monitorStartTime: 6, healthCheck: true)
        #expect(s.health?.status == .starting)
        func result(_ code: Int, after seconds: Double = 60) -> HealthResult {
            let start = Timestamp(seconds: (s.startedAt?.seconds ?? 0) + Int64(seconds))
            return HealthResult(start: start, end: start, exitCode: code, output: "")
        }
        // Within a 30 s start period, failures while starting are not counted.
        #expect(s.recordProbe(result(1, after: 1), retries: 1, startPeriod: 30_000_000_000) == nil)
        #expect(s.health?.failingStreak == 0 && s.health?.status == .starting)
        #expect(s.recordProbe(result(1), retries: 2, startPeriod: 0) == nil)
        #expect(s.recordProbe(result(1), retries: 2, startPeriod: 0) == .unhealthy)
        #expect(s.recordProbe(result(0), retries: 2, startPeriod: 0) == .healthy)
        #expect(s.health?.failingStreak == 0)
        for _ in 0..<4 { _ = s.recordProbe(result(1), retries: 9, startPeriod: 0) }
        #expect(s.health?.log.count == 5 && s.health?.status == .healthy && s.health?.failingStreak == 4)
        // A new start: starting again, the log kept.
        s.setRunning(pid: 43, pidStartTime: 8, monitorPid: 41, monitorStartTime: 6, healthCheck: true)
        #expect(s.health?.status == .starting && s.health?.failingStreak == 0 && s.health?.log.count == 5)
    }

    @Test("restarting: its own transition, Docker's words, and a cancel keeps the exit code")
    func restarting() {
        var s = ContainerState()
        s.setRunning(pid: 42, pidStartTime: 7, monitorPid: 41, monitorStartTime: 6)
        s.setRestarting(exitCode: 3)
        #expect(s.status == .restarting && s.exitCode == 3 && s.pid == 0 && s.monitorPid == 41 && !s.isActive)
        #expect(s.json["Restarting"]?.boolValue == true && s.json["Running"]?.boolValue == true)
        s.setRestartCanceled()
        #expect(s.status == .exited && s.exitCode == 3 && s.monitorPid == 0)
    }

    @Test("health configs merge over the image's and read Docker's JSON")
    func configs() {
        let image = HealthConfig(test: ["CMD", "true"], interval: 5_000_000_000, retries: 2)
        let mine = HealthConfig(test: ["CMD-SHELL", "exit 0"], timeout: 1_000_000_000).merged(over: image)
        #expect(mine == HealthConfig(test: ["CMD-SHELL", "exit 0"], interval: 5_000_000_000, timeout: 1_000_000_000, retries: 2))
        #expect(mine.command == ["/bin/sh", "-c", "exit 0"])
        #expect(HealthConfig(test: ["NONE"]).merged(over: image).command == nil)
        #expect(HealthConfig(json: mine.json) == mine)
        #expect((try? HealthConfig(interval: 10).validate()) == nil)
    }
}
