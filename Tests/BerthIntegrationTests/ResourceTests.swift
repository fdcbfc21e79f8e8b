import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Limits enforced by the kernel, and what stats and events report.
@Suite("Resources: limits, stats, events", .enabled(if: isRoot, "needs root for cgroups"))
struct ResourceTests {
    private func withStore(_ body: (String) throws -> Void) rethrows {
        let root = makeTempDirectory("res")
        defer {
            let ids = berth(root, "ps", "-aq", "--no-trunc").stdout.split(separator: "\n").map(String.init)
            for id in ids { berth(root, "rm", "-f", id) }
            for id in ids { #expect(leftoverCgroups(id).isEmpty, "cgroup dirs left: \(leftoverCgroups(id))") }
            removeTree(root)
        }
        importBusybox(root)
        try body(root)
    }

    /// Every cgroup directory of a container, in any hierarchy, still present.
    private func leftoverCgroups(_ id: String) -> [String] {
        sh("ls -d /sys/fs/cgroup/*/berth/\(id) /sys/fs/cgroup/berth/\(id) 2>/dev/null").stdout
            .split(separator: "\n").map(String.init)
    }

    @Test("a container over its memory limit is OOM-killed: Exited (137) and OOMKilled true")
    func oomKill() {
        withStore { root in
            let run = berth(
                root, "run", "--name", "hog", "-m", "32m", "busybox", "sh", "-c",
                "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived")
            #expect(run.status == 137)
            #expect(!run.stdout.contains("survived"))
            #expect(berth(root, "ps", "-a", "--format", "{{.Status}}").stdout.hasPrefix("Exited (137)"))
            #expect(
                berth(root, "inspect", "-f", "{{.State.OOMKilled}} {{.HostConfig.Memory}}", "hog").stdout == "true 33554432\n")
            let events = berth(root, "events", "--since", "1m", "--until", "0s", "--format", "{{.Action}}").stdout
            #expect(events.contains("oom\n"))
        }
    }

    @Test("--pids-limit 20 stops a fork bomb at 20 processes")
    func pidsLimit() {
        withStore { root in
            #expect(berth(root, "run", "-d", "--name", "bomb", "--pids-limit", "20", "busybox", "sleep", "100").status == 0)
            // The bomb runs beside PID 1; busybox sh gives up at its first failed fork.
            let bomb = berth(root, "exec", "bomb", "sh", "-c", "for i in $(seq 1 60); do sleep 30 & done")
            #expect(bomb.status != 0)
            #expect(bomb.stderr.contains("can't fork"))
            usleep(300_000)
            let pids =
                Int(
                    berth(root, "stats", "--no-stream", "--format", "{{.PIDs}}", "bomb").stdout
                        .trimmingSpacesAndNewlines) ?? -1
            // PID 1 + 18 sleeps remain once the bombing sh has exited; it never got past 20.
            #expect(pids == 19, "the cgroup holds the limit less the sh that gave up: \(pids)")
            let more = berth(root, "exec", "bomb", "sh", "-c", "sleep 30 & sleep 30 & wait")
            #expect(more.status != 0, "a 21st process cannot be made")
        }
    }

    @Test("--cpus 0.5 holds a busy loop near half a core")
    func cpuQuota() {
        withStore { root in
            #expect(
                berth(
                    root, "run", "-d", "--name", "spin", "--cpus", "0.5", "busybox", "sh", "-c",
                    "while true; do :; done"
                ).status == 0)
            let cgroup = berth(root, "inspect", "-f", "{{.HostConfig.CgroupParent}}", "spin").stdout.trimmingSpacesAndNewlines
            let usageFile =
                cgroup.contains("/freezer/")
                ? cgroup.replacingOccurrences("/freezer/", "/cpuacct/") + "/cpuacct.usage" : cgroup + "/cpu.stat"
            func used() -> Double {
                let text = readFile(usageFile)
                if usageFile.hasSuffix("cpuacct.usage") { return (Double(text.trimmingSpacesAndNewlines) ?? 0) / 1e9 }
                let line = text.split(separator: "\n").first { $0.hasPrefix("usage_usec ") } ?? ""
                return (Double(line.dropFirst(11)) ?? 0) / 1e6
            }
            usleep(500_000)
            let t0 = used()
            usleep(3_000_000)
            let share = (used() - t0) / 3
            // The limit is the upper bound; below it the loop's share depends
            // on what else the two cores run (a parallel test run, a build),
            // so the lower bound only shows the loop ran.
            #expect(share > 0.05 && share < 0.65, "busy loop used \(share) of a core")
        }
    }

    @Test("update --memory on a running container takes effect at once")
    func updateMemory() {
        withStore { root in
            #expect(berth(root, "run", "-d", "--name", "grow", "-m", "128m", "busybox", "sleep", "100").status == 0)
            let fits = berth(root, "exec", "grow", "sh", "-c", "x=$(head -c 33554432 /dev/zero | tr '\\0' a); echo fits")
            #expect(fits.stdout == "fits\n")
            #expect(berth(root, "update", "-m", "16m", "--memory-swap", "16m", "grow").stdout == "grow\n")
            #expect(berth(root, "inspect", "-f", "{{.HostConfig.Memory}}", "grow").stdout == "16777216\n")
            let killed = berth(root, "exec", "grow", "sh", "-c", "x=$(head -c 33554432 /dev/zero | tr '\\0' a); echo fits")
            #expect(killed.status == 137 || !killed.stdout.contains("fits"), "the new limit kills the same allocation")
            expectOneErrorLine(berth(root, "update", "grow"), naming: ["flags"])
        }
    }

    @Test("stats --no-stream prints one row per running container")
    func statsRows() {
        withStore { root in
            for name in ["s1", "s2"] {
                #expect(berth(root, "run", "-d", "--name", name, "busybox", "sleep", "100").status == 0)
            }
            #expect(berth(root, "create", "--name", "s3", "busybox").status == 0)
            let out = berth(root, "stats", "--no-stream").stdout
            let rows = lines(out)
            #expect(rows.count == 3, "\(out)")
            #expect(
                cells(rows[0]) == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"])
            #expect(Set(rows.dropFirst().map { cells($0)[1] }) == ["s1", "s2"])
            #expect(rows.dropFirst().allSatisfy { cells($0).last == "1" })
        }
    }

    @Test("events --since replays a container's lifecycle in order")
    func eventsReplay() {
        withStore { root in
            let start = berth(root, "run", "-d", "--name", "ev", "busybox", "sleep", "100")
            #expect(start.status == 0)
            for step in [["pause", "ev"], ["unpause", "ev"], ["stop", "-t", "0", "ev"], ["rm", "ev"]] {
                #expect(runProcess([berthBinary, "--root", root] + step).status == 0)
            }
            let out = berth(
                root, "events", "--since", "1m", "--until", "0s", "--filter", "container=ev",
                "--format", "{{.Action}}"
            ).stdout
            #expect(
                out.split(separator: "\n") == ["create", "start", "pause", "unpause", "kill", "kill", "die", "stop", "destroy"]
                    || out.split(separator: "\n") == ["create", "start", "pause", "unpause", "kill", "die", "stop", "destroy"],
                "events: \(out)")
            let line = berth(root, "events", "--since", "1m", "--until", "0s", "--filter", "event=create").stdout
            #expect(line.contains(" container create ") && line.contains("name=ev"))
        }
    }

    @Test("the cgroup v2 path: freeze and kill work there, and a limit it cannot enforce is refused clearly")
    func cgroupV2Path() {
        withStore { root in
            let env = ["BERTH_CGROUP": "v2"]
            let run = runProcess(
                [berthBinary, "--root", root, "run", "-d", "--name", "v2", "busybox", "sleep", "100"],
                environment: env)
            #expect(run.status == 0)
            let path = berth(root, "inspect", "-f", "{{.HostConfig.CgroupParent}}", "v2").stdout.trimmingSpacesAndNewlines
            #expect(!path.contains("/freezer/"), "v2 was taken: \(path)")
            // PID 1 was cloned straight into its cgroup (CLONE_INTO_CGROUP).
            let pid = berth(root, "inspect", "-f", "{{.State.Pid}}", "v2").stdout.trimmingSpacesAndNewlines
            #expect(readFile(path + "/cgroup.procs").split(separator: "\n").contains(Substring(pid)), "PID \(pid) in \(path)")
            let relative = path.split(separator: "/").suffix(2).joined(separator: "/")
            #expect(
                readFile("/proc/\(pid)/cgroup").contains("0::/" + relative),
                "cgroup of PID \(pid): \(readFile("/proc/\(pid)/cgroup"))")
            // exec's process is born there too.
            let exec = runProcess([berthBinary, "--root", root, "exec", "v2", "cat", "/proc/self/cgroup"], environment: env)
            #expect(exec.status == 0 && exec.stdout.contains("0::/" + relative), "exec: \(exec.stdout) \(exec.stderr)")
            #expect(berth(root, "pause", "v2").status == 0)
            #expect(readFile(path + "/cgroup.events").contains("frozen 1"))
            #expect(berth(root, "unpause", "v2").status == 0)
            #expect(readFile(path + "/cgroup.events").contains("frozen 0"))
            let controllers = readFile(FileSystemPath.parent(path) + "/cgroup.controllers")
            let limited = runProcess(
                [berthBinary, "--root", root, "run", "--rm", "-m", "32m", "busybox", "true"], environment: env)
            if controllers.contains("memory") {
                #expect(limited.status == 0, "a v2 host with the memory controller enforces the limit")
            } else {
                expectOneErrorLine(limited, naming: ["no memory controller", "BERTH_CGROUP"], status: 125)
            }
            #expect(berth(root, "rm", "-f", "v2").status == 0)
            #expect(!fileExists(path))
        }
    }
}

enum FileSystemPath {
    static func parent(_ path: String) -> String {
        String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }
}
