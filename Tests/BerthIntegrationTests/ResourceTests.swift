import Testing
import BerthCore
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

    @Test(
        "--oom-kill-disable: a container over its memory limit waits instead of being killed; --memory-swappiness reaches the cgroup"
    )
    func oomKillDisabled() {
        withStore { root in
            let run = berth(
                root, "run", "-d", "--name", "waiter", "-m", "32m", "--oom-kill-disable", "--memory-swappiness", "10",
                "--network", "none", "busybox", "sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived")
            #expect(run.status == 0, "\(run.stderr)")
            let files = CgroupFiles(root, "waiter")
            guard files.v1 else { return }  // v1 only: a v2 create is refused, below
            #expect(files.read("memory", v1: "memory.swappiness", v2: "") == "10")
            // Over the limit the kernel stops it (under_oom 1) and kills nothing.
            #expect(eventually(10) { files.read("memory", v1: "memory.oom_control", v2: "").contains("under_oom 1") })
            let control = files.read("memory", v1: "memory.oom_control", v2: "")
            #expect(control.contains("oom_kill_disable 1") && control.contains("oom_kill 0"), "\(control)")
            #expect(berth(root, "inspect", "-f", "{{.State.Status}}", "waiter").stdout == "running\n")
            #expect(
                berth(root, "inspect", "-f", "{{.HostConfig.OomKillDisable}} {{.HostConfig.MemorySwappiness}}", "waiter").stdout
                    == "true 10\n")
            // rm -f still ends it (the wait is killable).
            #expect(berth(root, "rm", "-f", "waiter").status == 0)
            let warned = berth(root, "create", "--network", "none", "--oom-kill-disable", "busybox")
            #expect(warned.status == 0 && warned.stderr.contains("WARNING: Disabling the OOM killer"), "\(warned.stderr)")
            expectOneErrorLine(
                berth(root, "create", "--memory-swappiness", "101", "busybox"),
                naming: ["Invalid value: 101, valid memory swappiness range is 0-100"], status: 125)
            let v2 = runProcess(
                [berthBinary, "--root", root, "create", "--oom-kill-disable", "-m", "32m", "busybox"],
                environment: ["BERTH_CGROUP": "v2"])
            expectOneErrorLine(v2, naming: ["--oom-kill-disable needs cgroup v1"], status: 125)
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
            let cgroup = berth(root, "inspect", "-f", "{{.CgroupPath}}", "spin").stdout.trimmingSpacesAndNewlines
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

    /// A container's cgroup files as the host sees them: v1 has one
    /// directory per controller beside the freezer's, v2 one directory.
    struct CgroupFiles {
        let cgroup: String
        init(_ root: String, _ container: String) {
            cgroup = berth(root, "inspect", "-f", "{{.CgroupPath}}", container).stdout.trimmingSpacesAndNewlines
        }
        var v1: Bool { cgroup.contains("/freezer/") }
        func read(_ controller: String, v1 file1: String, v2 file2: String) -> String {
            readFile(v1 ? cgroup.replacingOccurrences("/freezer/", "/\(controller)/") + "/" + file1 : cgroup + "/" + file2)
                .trimmingSpacesAndNewlines
        }
        /// "QUOTA PERIOD", as v2's cpu.max writes it.
        var cfs: String {
            v1
                ? read("cpu", v1: "cpu.cfs_quota_us", v2: "") + " " + read("cpu", v1: "cpu.cfs_period_us", v2: "")
                : read("cpu", v1: "", v2: "cpu.max")
        }
        var reservation: String { read("memory", v1: "memory.soft_limit_in_bytes", v2: "memory.low") }
    }

    @Test("--cpu-period/--cpu-quota, --memory-reservation, --cpuset-mems reach the cgroup; update changes them; refusals")
    func cfsReservationMems() {
        withStore { root in
            let run = berth(
                root, "run", "-d", "--name", "tuned", "--network", "none", "--cpu-period", "50000", "--cpu-quota", "25000",
                "--memory-reservation", "64m", "--cpuset-mems", "0", "busybox", "sleep", "100")
            #expect(run.status == 0, "\(run.stderr)")
            let files = CgroupFiles(root, "tuned")
            #expect(files.cfs == "25000 50000")
            #expect(files.reservation == "67108864")
            #expect(files.read("cpuset", v1: "cpuset.mems", v2: "cpuset.mems") == "0")
            #expect(
                berth(
                    root, "inspect", "-f",
                    "{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.MemoryReservation}} {{.HostConfig.CpusetMems}}",
                    "tuned"
                ).stdout == "50000 25000 67108864 0\n")
            // update writes the quota beside the period it keeps.
            #expect(berth(root, "update", "--cpu-quota", "40000", "tuned").stdout == "tuned\n")
            #expect(files.cfs == "40000 50000")
            // Docker's refusals, before anything is made.
            let refused: [([String], String)] = [
                (["--cpus", "1", "--cpu-period", "5000"], "Nano CPUs and CPU Period cannot both be set"),
                (["--cpus", "1", "--cpu-quota", "5000"], "Nano CPUs and CPU Quota cannot both be set"),
                (["--cpu-period", "999"], "CPU cfs period can not be less than 1ms"),
                (["--cpu-period", "1000001"], "larger than 1s"),
                (["--cpu-quota", "10"], "CPU cfs quota can not be less than 1ms"),
                (["--cpu-quota=-2"], "CPU cfs quota can not be less than 1ms"),
                (["--cpuset-mems", "7"], "Requested memory nodes are not available - requested 7"),
                (["--cpuset-mems", "x"], "Invalid value x for cpuset mems"),
                (["--memory-reservation", "1m"], "Minimum memory reservation allowed is 6MB"),
                (["-m", "8m", "--memory-reservation", "16m"], "can not be less than memory reservation limit"),
            ]
            for (flags, message) in refused {
                let r = runProcess([berthBinary, "--root", root, "create", "--network", "none"] + flags + ["busybox"])
                expectOneErrorLine(r, naming: [message], status: 125)
            }
            #expect(lines(berth(root, "ps", "-aq").stdout).count == 1, "no refused create made a container")
        }
    }

    @Test(
        "--cpu-period, --cpu-quota, --memory-reservation (and on v1 --memory-swappiness) reach an OCI runtime's cgroup (runc and crun)"
    )
    func cfsOnOCI() {
        let v1 = !FileSystem.exists("/sys/fs/cgroup/cgroup.controllers")
        withStore { root in
            for runtime in ["runc", "crun"] {
                let run = runProcess(
                    [
                        berthBinary, "--root", root, "run", "-d", "--name", runtime, "--network", "none", "--isolation", "oci",
                        "--runtime", runtime, "--cpu-period", "20000", "--cpu-quota", "10000", "--memory-reservation", "32m",
                    ] + (v1 ? ["--memory-swappiness", "10"] : []) + ["busybox", "sleep", "100"])
                #expect(run.status == 0, "\(runtime): \(run.stderr)")
                let files = CgroupFiles(root, runtime)
                #expect(files.cfs == "10000 20000", "\(runtime)")
                #expect(files.reservation == "33554432", "\(runtime)")
                if v1 { #expect(files.read("memory", v1: "memory.swappiness", v2: "") == "10", "\(runtime)") }
            }
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

    @Test("exec records dockerd's exec_create, exec_start and exec_die (with the exit code); a health probe records none")
    func execEvents() {
        withStore { root in
            #expect(
                berth(
                    root, "run", "-d", "--name", "ex", "--health-cmd", "true", "--health-interval", "100ms", "busybox",
                    "sleep", "100"
                ).status == 0)
            #expect(berth(root, "exec", "ex", "sh", "-c", "exit 3").status == 3)
            usleep(400_000)  // a few health probes
            let out = berth(
                root, "events", "--since", "1m", "--until", "0s", "--filter", "container=ex",
                "--format", "{{.Action}} {{index .Actor.Attributes \"exitCode\"}}"
            ).stdout.split(separator: "\n").filter { $0.hasPrefix("exec") }
            #expect(
                out == ["exec_create: sh -c exit 3 <no value>", "exec_start: sh -c exit 3 <no value>", "exec_die 3"], "\(out)")
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
            // --cgroupns host: exec's own /proc/self/cgroup then names the cgroup it was born in
            // (v2's default, private, would show it as "/").
            let run = runProcess(
                [berthBinary, "--root", root, "run", "-d", "--name", "v2", "--cgroupns", "host", "busybox", "sleep", "100"],
                environment: env)
            #expect(run.status == 0)
            let path = berth(root, "inspect", "-f", "{{.CgroupPath}}", "v2").stdout.trimmingSpacesAndNewlines
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
