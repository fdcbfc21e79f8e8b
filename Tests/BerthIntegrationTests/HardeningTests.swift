import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// Hostile input and killed processes (issue 15, items 7 and 8): bad values
/// get one `Error:` line and change nothing; huge values, damaged records and
/// a berth or monitor killed half-way never make the store lie or crash.
/// Every test runs on its own store with its own bridge and subnet (as
/// NetworkTests does), and ends with `rm -f` of everything and a check that
/// no mount, cgroup, link, port table or process of it is left.
@Suite("Hardening", .serialized, .enabled(if: isRoot, "needs root for namespaces, cgroups and veths"))
struct HardeningTests {
    /// A store with busybox, its own bridge name and subnet.
    final class Store {
        let root: String
        let bridge: String
        private(set) var ids: Set<String> = []

        init(_ n: Int) {
            root = makeTempDirectory("hard")
            bridge = "bh\(getpid() % 100_000)x\(n)"
            writeFile(
                root + "/config.json",
                """
                {"bridgeName": "\(bridge)", "bridgeSubnet": "10.236.\(n).0/24", "networkPool": "10.237.\(n).0/24", "networkPoolPrefix": 26}
                """)
            importBusybox(root)
        }

        /// `berth --root ROOT ARGS…` under a 30 s SIGKILL timeout, so a
        /// command that would read for ever fails the test instead of hanging it.
        @discardableResult
        func berth(_ args: String...) -> ProcessResult { run(args) }

        /// `berth create ARGS…`, expected to succeed; returns the full ID.
        func create(_ args: String..., sourceLocation: SourceLocation = #_sourceLocation) -> String {
            let result = run(["create"] + args)
            #expect(result.status == 0, "create: \(result.stderr)", sourceLocation: sourceLocation)
            return String(result.stdout.split(separator: "\n").first ?? "")
        }

        /// The container's record, `containers/ID/container.json`.
        func recordPath(_ id: String) -> String { root + "/containers/\(id)/container.json" }

        @discardableResult
        func run(_ args: [String]) -> ProcessResult {
            let result = runProcess(["timeout", "-s", "KILL", "30", berthBinary, "--root", root] + args)
            remember()
            return result
        }

        /// Notes every container directory (for the final leftovers check).
        func remember() {
            for id in FileSystem.list(root + "/containers") { ids.insert(id) }
        }

        var containerDirectories: [String] { FileSystem.list(root + "/containers").sorted() }

        /// What of this store's containers is still on the host.
        func leftovers() -> [String] {
            remember()
            var left: [String] = mounts(under: root).map { "mount " + $0 }
            for id in ids {
                for cgroup in ["/sys/fs/cgroup/freezer/berth/", "/sys/fs/cgroup/unified/berth/", "/sys/fs/cgroup/berth/"]
                where fileExists(cgroup + id) { left.append("cgroup " + cgroup + id) }
                let short = String(id.prefix(12))
                left += sh("ip -o link show").stdout.split(separator: "\n").filter { $0.contains(short) }.map { "link " + $0 }
                left += sh("nft list tables").stdout.split(separator: "\n").filter { $0.contains(short) }.map { "table " + $0 }
                left += processes(containing: id).map { "process \($0)" }
            }
            left += sh("ip -o link show").stdout.split(separator: "\n").filter { $0.contains(bridge) && $0.contains("veth") }
                .map { "veth " + $0 }
            return left
        }

        /// Removes everything, checks nothing is left, deletes the store.
        func cleanUp(sourceLocation: SourceLocation = #_sourceLocation) {
            remember()
            for id in ids { run(["rm", "-f", id]) }
            let left = leftovers()
            #expect(left.isEmpty, "left behind: \(left)", sourceLocation: sourceLocation)
            #expect(berth("system", "reset", "--force").status == 0, sourceLocation: sourceLocation)
            // Belt and braces: nothing of this test may outlive it.
            for id in ids {
                for pid in processes(containing: id) { kill(pid, SIGKILL) }
                for pid in cgroupProcesses(id) { kill(pid, SIGKILL) }
            }
            sh("ip link del \(bridge) 2>/dev/null; nft delete table ip berth-\(bridge) 2>/dev/null")
            removeTree(root)
        }

        /// PIDs of processes in the cgroups Berth makes for `id`.
        func cgroupProcesses(_ id: String) -> [Int32] {
            ["/sys/fs/cgroup/freezer/berth/", "/sys/fs/cgroup/unified/berth/", "/sys/fs/cgroup/berth/"].flatMap { dir in
                readFile(dir + id + "/cgroup.procs").split(separator: "\n").compactMap { Int32($0) }
            }
        }
    }

    private static let counter = Counter()
    final class Counter: @unchecked Sendable { var n = 0; func next() -> Int { n += 1; return n } }

    private func withStore(_ body: (Store) throws -> Void) rethrows {
        let store = Store((Self.counter.next() + Int(getpid() % 40) * 6) % 254 + 1)
        defer { store.cleanUp() }
        try body(store)
    }

    /// What `ps -a` and `images` show, with the words that change by themselves blanked.
    private func listing(_ s: Store) -> String {
        s.berth("ps", "-a", "--format", "{{.ID}} {{.Image}} {{.Command}} {{.Names}} {{.State}}").stdout
            + s.berth("images", "--format", "{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}").stdout
    }

    @Test(
        "every bad value gets one Error line and Docker's exit code (125 in create/run), and the store lists what it listed before"
    )
    func badInputChangesNothing() throws {
        withStore { s in
            s.berth("create", "--network", "none", "--name", "kept", "busybox", "true")
            s.berth("run", "-d", "--network", "none", "--name", "runs", "busybox", "sleep", "300")
            let before = listing(s)
            let dirs = s.containerDirectories
            #expect(dirs.count == 2 && before.contains("kept") && before.contains("runs"), "setup: \(before)")
            let bind = makeTempDirectory("hardbind")
            defer { removeTree(bind) }
            let long300 = String(repeating: "a", count: 300), long10k = String(repeating: "b", count: 10_000)
            let otherArch = ImageConfig.hostArchitecture == "amd64" ? "linux/arm64" : "linux/amd64"
            let cases: [([String], [String])] = [
                (["-m", "99999999999g"], ["99999999999g"]),
                (["--cpus", "1e300"], ["Range of CPUs"]),
                (["--cpus", "inf"], ["inf"]),
                (["--cpus", "nan"], ["nan"]),
                (["--cpus", "1e9"], ["Range of CPUs"]),
                (["--cpus", "1e-9"], ["Range of CPUs"]),
                (["--cpu-shares", "-5"], ["-5"]),
                (["--cpuset-cpus", "99"], ["Requested CPUs are not available - requested 99"]),
                (["--cpuset-cpus", "0-99999999999999999999999"], ["cpuset"]),
                (["--pids-limit", "9223372036854775807"], ["--pids-limit"]),
                (["--pids-limit", "99999999999999999999"], ["pids-limit"]),
                (["--name", long300], ["300 characters"]),
                (["--name", long10k], ["10000 characters"]),
                (["--hostname", String(repeating: "h", count: 65)], ["--hostname", "64"]),
                (["--hostname", "two\nlines"], ["--hostname", "no white space or control characters"]),
                (["--hostname", "a b"], ["--hostname", "no white space or control characters"]),
                (["--env-file", "/dev/zero"], ["/dev/zero", "not a regular file"]),
                (["--env-file", bind], ["not a regular file"]),
                (["-v", bind + ":/proc"], ["/proc"]),
                (["-v", bind + ":/proc/sys"], ["/proc/sys"]),
                (["-v", bind + ":/"], ["destination can't be '/'"]),
                (["--tmpfs", "/proc"], ["/proc"]),
                (["--platform", otherArch], ["does not match the specified platform", otherArch]),
            ]
            for (flags, naming) in cases {
                for verb in [["create"], ["run", "-d"]] {
                    let result = s.run(verb + ["--network", "none"] + flags + ["busybox", "sleep", "300"])
                    expectOneErrorLine(result, naming: naming, status: 125)
                    #expect(!result.stderr.contains(long10k.prefix(300)), "the error repeats a 10,000-character name")
                }
            }
            expectOneErrorLine(s.berth("events", "--since", "bogus"), naming: ["bogus"])
            expectOneErrorLine(s.berth("events", "--since", "1e300"), naming: ["1e300"])
            expectOneErrorLine(s.berth("update", "--cpus", "1e300", "kept"), naming: ["Range of CPUs"])
            #expect(listing(s) == before, "ps -a / images changed")
            #expect(s.containerDirectories == dirs, "a container directory was made")
        }
    }

    @Test("a 64 MiB env file is refused; a small one is read")
    func envFileSize() throws {
        withStore { s in
            let dir = makeTempDirectory("hardenv")
            defer { removeTree(dir) }
            writeFile(dir + "/small", "# comment\nA=1\n")
            sh("truncate -s 65M \(dir)/big")
            expectOneErrorLine(
                s.berth("create", "--network", "none", "--env-file", dir + "/big", "busybox"),
                naming: ["64MiB"], status: 125)
            let ok = s.berth("create", "--network", "none", "--env-file", dir + "/small", "--name", "envok", "busybox")
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(s.berth("inspect", "-f", "{{json .Config.Env}}", "envok").stdout.contains("\"A=1\""))
        }
    }

    @Test("values at Int64.max are accepted and every later command works")
    func int64MaxValues() throws {
        withStore { s in
            let max = "9223372036854775807"
            for flags in [["-m", max], ["--cpu-shares", max], ["--stop-timeout", max], ["-m", "6m", "--memory-swap", max]] {
                let created = s.run(["create", "--network", "none"] + flags + ["busybox", "sleep", "300"])
                #expect(created.status == 0, "\(flags): \(created.stderr)")
            }
            let ps = s.berth("ps", "-a")
            #expect(ps.status == 0 && lines(ps.stdout).count == 5, "ps -a: \(ps.status) \(ps.stderr)")
            let memory = s.berth("inspect", "-f", "{{.HostConfig.Memory}}", String(lines(s.berth("ps", "-aq").stdout).last ?? ""))
            #expect(memory.status == 0, "inspect: \(memory.stderr)")
            for id in lines(s.berth("ps", "-aq").stdout) {
                let started = s.berth("start", String(id))
                #expect(started.status == 0, "start: \(started.stderr)")
            }
            let stop = s.berth("stop", "-t", "0", "--", String(lines(s.berth("ps", "-q").stdout).first ?? "none"))
            #expect(stop.status == 0, "stop: \(stop.stderr)")
            let run = s.berth("run", "--network", "none", "--stop-timeout", max, "busybox", "true")
            #expect(run.status == 0, "run: \(run.stderr)")
        }
    }

    @Test("a record holding huge numbers written by another writer does not crash ps, inspect, stop or rm -f")
    func hostileNumbersInRecord() throws {
        withStore { s in
            let id = s.create("--network", "none", "--name", "edited", "busybox", "sleep", "300")
            let path = s.recordPath(id)
            var text = readFile(path)
            for (key, value) in [
                ("\"ExitCode\": 0", "\"ExitCode\": -1e300"), ("\"Pid\": 0", "\"Pid\": 1e300"),
                ("\"PidsLimit\": null", "\"PidsLimit\": 9.3e18"), ("\"Memory\": 0", "\"Memory\": 1e300"),
                ("\"CpuShares\": 0", "\"CpuShares\": -1e300"), ("\"NanoCpus\": 0", "\"NanoCpus\": 1e19"),
                ("\"StopTimeout\": null", "\"StopTimeout\": 1e300"),
                ("\"MonitorStartTime\": 0", "\"MonitorStartTime\": -5e300"),
            ] {
                #expect(text.contains(key), "the record has \(key)")
                text = text.replacingOccurrences(key, value)
            }
            writeFile(path, text)
            let ps = s.berth("ps", "-a")
            #expect(ps.status == 0 && ps.stdout.contains("edited"), "ps -a: \(ps.status) \(ps.stderr)")
            let inspect = s.berth("inspect", "edited")
            #expect(
                inspect.status == 0 && inspect.stdout.contains("9223372036854775807"),
                "inspect: \(inspect.status) \(inspect.stderr)")
            #expect(s.berth("stop", "edited").status == 0)
            let rm = s.berth("rm", "-f", "edited")
            #expect(rm.status == 0, "rm -f: \(rm.status) \(rm.stderr)")
            #expect(!s.berth("ps", "-a").stdout.contains("edited"))
        }
    }

    /// Runs a container on the default bridge with a port published on loopback.
    private func runPublished(_ s: Store, _ name: String) -> (id: String, port: Int) {
        let port = freePort()
        let run = s.berth("run", "-d", "--name", name, "-p", "127.0.0.1:\(port):80", "busybox", "sleep", "300")
        #expect(run.status == 0, "run: \(run.stderr)")
        return (String(run.stdout.split(separator: "\n").first ?? ""), port)
    }

    /// The host-side things a running bridged container has: its veth, its
    /// port table, its mounts.
    private func holdings(_ s: Store, _ id: String) -> (veth: Bool, table: Bool, mounts: Int) {
        let short = String(id.prefix(12))
        return (
            sh("ip -o link show").stdout.contains(short), sh("nft list tables").stdout.contains(short),
            mounts(under: s.root + "/containers/" + id).count
        )
    }

    @Test("a truncated or garbage record is listed Dead, and rm -f removes everything it owned")
    func damagedRecords() throws {
        withStore { s in
            let (truncated, _) = runPublished(s, "truncated")
            let (garbage, _) = runPublished(s, "garbage")
            let before = holdings(s, truncated)
            #expect(before.veth && before.table && before.mounts > 0, "setup: \(before)")
            let path = s.recordPath
            writeFile(path(truncated), String(readFile(path(truncated)).prefix(300)))
            writeFile(path(garbage), "\u{1}\u{2}garbage{{{[[[")
            let ps = s.berth("ps", "-a", "--format", "{{.ID}} {{.Status}}")
            for id in [truncated, garbage] {
                #expect(ps.stdout.contains("\(id.prefix(12)) Dead"), "ps -a lists \(id.prefix(12)) as Dead: \(ps.stdout)")
                let inspect = s.berth("inspect", "-f", "{{.State.Status}}: {{.State.Error}}", id)
                #expect(
                    inspect.status == 0 && inspect.stdout.hasPrefix("dead: the container record is damaged"),
                    "inspect: \(inspect.stdout) \(inspect.stderr)")
                expectOneErrorLine(s.berth("start", id), naming: ["dead"])
                expectOneErrorLine(s.berth("rm", id), naming: ["damaged", "rm -f"])
            }
            for id in [truncated, garbage] {
                let rm = s.berth("rm", "-f", id)
                #expect(rm.status == 0, "rm -f: \(rm.stderr)")
                let after = holdings(s, id)
                #expect(!after.veth && !after.table && after.mounts == 0, "left after rm -f: \(after)")
                #expect(processes(containing: id).isEmpty, "its monitor still runs")
                #expect(s.cgroupProcesses(id).isEmpty, "its processes still run")
            }
            #expect(s.berth("ps", "-aq").stdout.isEmpty)
            let leases = FileSystem.list(s.root + "/networks").filter { $0.hasSuffix(".leases") }
                .map { readFile(s.root + "/networks/" + $0) }.joined()
            #expect(!leases.contains(truncated) && !leases.contains(garbage), "leases left: \(leases)")
        }
    }

    @Test("a start whose monitor died before recording it is Dead; one whose monitor works is waited for")
    func pendingStarts() throws {
        withStore { s in
            let id = s.create("--name", "pending", "-p", "127.0.0.1::80", "busybox", "sleep", "300")
            let path = s.recordPath(id)
            let original = readFile(path)
            /// Records a pending start by `pid` (with its real start time).
            func pend(_ pid: Int32) {
                let start = ProcessTable.startTime(pid) ?? 1
                writeFile(
                    path,
                    original.replacingOccurrences("\"StartPending\": false", "\"StartPending\": true")
                        .replacingOccurrences("\"MonitorPid\": 0", "\"MonitorPid\": \(pid)")
                        .replacingOccurrences("\"MonitorStartTime\": 0", "\"MonitorStartTime\": \(start)"))
            }
            #expect(original.contains("\"StartPending\": false") && original.contains("\"MonitorPid\": 0"))
            // A monitor that is gone: a dead process's PID (with a start time that cannot match).
            pend(getpid())
            writeFile(
                path,
                readFile(path).replacingOccurrences(
                    "\"MonitorStartTime\": \(ProcessTable.startTime(getpid()) ?? 1)",
                    "\"MonitorStartTime\": 1"))
            #expect(s.berth("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.contains("pending Dead"))
            expectOneErrorLine(s.berth("start", "pending"), naming: ["dead", "monitor"])
            // A monitor at work (a stand-in that lives 1.5 s): start waits for its outcome
            // and launches nothing of its own.
            let pid = spawnProcess(["/bin/sleep", "1.5"], env: [], devNull: true) ?? 0
            #expect(pid > 0)
            pend(pid)
            #expect(s.berth("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.contains("pending Created"))
            expectOneErrorLine(s.berth("rm", "pending"), naming: ["starting", "force"])
            let began = Timestamp.monotonicMilliseconds()
            let start = s.berth("start", "pending")
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            #expect(Timestamp.monotonicMilliseconds() - began >= 1_000, "start waited for the pending start")
            expectOneErrorLine(start, naming: ["dead"])
            #expect(processes(exactly: ["sleep", "300"]).allSatisfy { !s.cgroupProcesses(id).contains($0) })
            #expect(s.cgroupProcesses(id).isEmpty, "no copy was started")
            let rm = s.berth("rm", "pending")
            #expect(rm.status == 0, "rm of a dead container: \(rm.stderr)")
        }
    }

    @Test("stop after kill -9 of the monitor releases the veth, port rules and mount")
    func stopAfterMonitorKilled() throws {
        withStore { s in
            let (id, _) = runPublished(s, "orphan")
            let monitor =
                Int32(s.berth("inspect", "-f", "{{.State.MonitorPid}}", id).stdout.split(separator: "\n").first ?? "") ?? 0
            #expect(monitor > 1)
            kill(monitor, SIGKILL)
            usleep(200_000)
            #expect(
                s.berth("ps", "--format", "{{.Names}} {{.State}}").stdout.contains("orphan running"),
                "the process still runs, so it is listed running")
            let stop = s.berth("stop", "-t", "1", id)
            #expect(stop.status == 0, "stop: \(stop.stderr)")
            let after = holdings(s, id)
            #expect(!after.veth, "the veth is left")
            #expect(!after.table, "the port rules are left")
            #expect(after.mounts == 0, "mounts are left: \(mounts(under: s.root))")
            #expect(s.cgroupProcesses(id).isEmpty && processes(containing: id).isEmpty)
            let status = s.berth("inspect", "-f", "{{.State.Status}} {{.State.Running}}", id).stdout
            #expect(status.hasPrefix("exited false"), "status: \(status)")
            // And it can run again, on the same address and port.
            let start = s.berth("start", id)
            #expect(start.status == 0, "start: \(start.stderr)")
            #expect(holdings(s, id).veth && holdings(s, id).table)
        }
    }

    @Test("30 random kills of run -d leave no container running but listed Created, no second copy, and rm -f leaves nothing")
    func randomKillsOfRun() throws {
        withStore { s in
            for i in 0..<30 {
                let argv = [
                    berthBinary, "--root", s.root, "run", "-d", "--name", "k\(i)", "-p", "127.0.0.1::80",
                    "busybox", "sleep", String(700_000 + i),
                ]
                guard let pid = spawnProcess(argv, env: currentEnvironment(), devNull: true) else {
                    Issue.record("cannot start \(argv.joined(separator: " "))")
                    return
                }
                usleep(UInt32(RandomID.below(300_000)))
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
            s.remember()
            usleep(1_500_000)  // monitors the kills orphaned finish their start
            let sleepers = { (i: Int) in processes(exactly: ["sleep", String(700_000 + i)]).count }
            for i in 0..<30 {
                let state = s.berth("inspect", "-f", "{{.State.Status}}", "k\(i)")
                guard state.status == 0 else { continue }  // killed before the create committed
                let status = state.stdout.split(separator: "\n").first.map(String.init) ?? ""
                if sleepers(i) > 0 {
                    #expect(status == "running", "k\(i) runs but is listed \(status)")
                }
                if status == "created" {
                    let start = s.berth("start", "k\(i)")
                    #expect(start.status == 0, "start k\(i): \(start.stderr)")
                }
                if status == "created" || status == "running" {
                    #expect(sleepers(i) == 1, "k\(i) runs \(sleepers(i)) copies")
                }
            }
            let all = lines(s.berth("ps", "-aq").stdout).map(String.init)
            if !all.isEmpty {
                let rm = s.run(["rm", "-f"] + all)
                #expect(rm.status == 0, "rm -f: \(rm.stderr)")
            }
            let left = s.leftovers()
            #expect(left.isEmpty, "left behind: \(left)")
            #expect((0..<30).allSatisfy { sleepers($0) == 0 }, "a container process outlived rm -f")
        }
    }
}

/// PIDs whose command line contains `word` (as one argument), this process excluded.
func processes(containing word: String) -> [Int32] {
    FileSystem.list("/proc").compactMap { entry -> Int32? in
        guard let pid = Int32(entry), pid != getpid() else { return nil }
        // A forked monitor rewrites its argv area as one line: split at spaces too.
        let args = readFile("/proc/\(entry)/cmdline").split(whereSeparator: { $0 == "\0" || $0 == " " }).map(String.init)
        return args.contains(word) ? pid : nil
    }
}

/// PIDs whose command line is exactly `argv`.
func processes(exactly argv: [String]) -> [Int32] {
    FileSystem.list("/proc").compactMap { entry -> Int32? in
        guard let pid = Int32(entry) else { return nil }
        return readFile("/proc/\(entry)/cmdline").split(separator: "\0").map(String.init) == argv ? pid : nil
    }
}
