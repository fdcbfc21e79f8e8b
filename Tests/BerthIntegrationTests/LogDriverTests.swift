import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `--log-driver json-file|k8s-file|none` and `--log-opt max-size=,max-file=`:
/// what lands on disk, that it stays bounded, and what `logs` reads back.
@Suite("Log drivers and rotation", .enabled(if: isRoot, "needs root"), .serialized)
struct LogDriverTests {
    private func logFiles(_ s: LifecycleStore, _ name: String) -> [(String, Int)] {
        let id = s.berth("inspect", "-f", "{{.Id}}", name).stdout.trimmingSpacesAndNewlines
        let dir = s.root + "/containers/" + id
        return FileSystem.list(dir).filter { $0.hasPrefix("container.log") }.sorted().map { f in
            var st = stat()
            return (f, stat(dir + "/" + f, &st) == 0 ? Int(st.st_size) : -1)
        }
    }

    /// Whether `lines` are `line N …` for consecutive N ending at `last`.
    private func consecutive(_ lines: [Substring], last: Int) -> Bool {
        let numbers = lines.compactMap { $0.split(separator: " ").dropFirst().first.flatMap { Int($0) } }
        guard numbers.count == lines.count, numbers.last == last else { return false }
        return zip(numbers, numbers.dropFirst()).allSatisfy { $1 == $0 + 1 }
    }

    @Test(
        "max-size=1m,max-file=3: a container writing 3.5 MB (6 MB of log) keeps at most 3 files of 1 MB; logs reads them in order"
    )
    func rotation() {
        withStore { s in
            let run = s.berth(
                "run", "--network", "none", "--name", "big", "--log-opt", "max-size=1m", "--log-opt", "max-file=3", "busybox",
                "sh", "-c",
                "i=0; while [ $i -lt 60000 ]; do echo \"line $i padding padding padding padding padding padding\"; i=$((i+1)); done"
            )
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.count > 3_400_000, "it wrote \(run.stdout.count) bytes")
            let files = logFiles(s, "big")
            #expect(files.map(\.0) == ["container.log", "container.log.1", "container.log.2"], "\(files)")
            #expect(files.allSatisfy { $0.1 > 0 && $0.1 <= 1_000_000 }, "each file within max-size: \(files)")
            let lines = s.berth("logs", "big").stdout.split(separator: "\n")
            #expect(lines.count > 20_000 && lines.count < 30_000, "\(lines.count) lines kept")
            #expect(consecutive(lines, last: 59_999), "logs reads the rotated files oldest first, then the current one")
            #expect(s.berth("logs", "--tail", "2", "big").stdout.hasPrefix("line 59998 "))
            #expect(
                s.berth("inspect", "-f", "{{json .HostConfig.LogConfig}}", "big").stdout
                    == "{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"1m\",\"max-file\":\"3\"}}\n")
        }
    }

    @Test("the log file is made at the first output: none for a silent container, and logs -f picks it up when it comes")
    func logMadeAtFirstOutput() {
        withStore { s in
            #expect(s.berth("run", "--network", "none", "--name", "quiet", "busybox", "true").status == 0)
            #expect(logFiles(s, "quiet").isEmpty, "a container that wrote nothing has no log file")
            let quiet = s.berth("logs", "quiet")
            #expect(quiet.status == 0 && quiet.stdout.isEmpty && quiet.stderr.isEmpty, "\(quiet)")
            let started = s.berth(
                "run", "-d", "--network", "none", "--name", "late", "busybox", "sh", "-c", "sleep 1; echo late; echo err >&2")
            #expect(started.status == 0, "\(started.stderr)")
            #expect(logFiles(s, "late").isEmpty, "nothing written yet")
            let followed = s.berth("logs", "-f", "late")
            #expect(followed.status == 0 && followed.stdout == "late\n" && followed.stderr == "err\n", "\(followed)")
            #expect(logFiles(s, "late").map(\.0) == ["container.log"])
        }
    }

    @Test("max-file=1 starts the file over; logs -f follows across rotations without losing a line")
    func followAcrossRotation() {
        withStore { s in
            #expect(
                s.berth(
                    "run", "--network", "none", "--name", "one", "--log-opt", "max-size=10k", "busybox", "sh", "-c",
                    "i=0; while [ $i -lt 2000 ]; do echo \"line $i\"; i=$((i+1)); done"
                ).status == 0)
            let one = logFiles(s, "one")
            #expect(one.count == 1 && one[0].1 <= 10_000, "\(one)")
            let kept = s.berth("logs", "one").stdout.split(separator: "\n")
            #expect(!kept.isEmpty && kept.count < 2000 && consecutive(kept, last: 1999), "\(kept.count) lines")

            #expect(
                s.berth(
                    "run", "-d", "--network", "none", "--name", "slow", "--log-opt", "max-size=20k", "--log-opt", "max-file=2",
                    "busybox", "sh", "-c",
                    "sleep 0.5; i=0; while [ $i -lt 2000 ]; do echo \"line $i\"; i=$((i+1)); [ $((i % 40)) = 0 ] && sleep 0.1; done"
                ).status == 0)
            let followed = s.berth("logs", "-f", "slow").stdout.split(separator: "\n")
            #expect(followed.count == 2000 && consecutive(followed, last: 1999), "followed \(followed.count) lines")
            #expect(logFiles(s, "slow").count == 2, "\(logFiles(s, "slow"))")
        }
    }

    @Test("k8s-file writes Podman's TIME STREAM F|P TEXT lines; logs and logs -t read them")
    func k8sFile() {
        withStore { s in
            let run = s.berth(
                "run", "--network", "none", "--name", "k8", "--log-driver", "k8s-file", "busybox", "sh", "-c",
                "echo out; echo err >&2; printf tail")
            #expect(run.status == 0)
            let id = s.berth("inspect", "-f", "{{.Id}}", "k8").stdout.trimmingSpacesAndNewlines
            let lines = readFile(s.root + "/containers/\(id)/container.log").split(separator: "\n")
            let form = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}\+00:00 (stdout|stderr) [FP] .*/
            #expect(lines.count == 3 && lines.allSatisfy { $0.wholeMatch(of: form) != nil }, "\(lines)")
            #expect(lines.contains { $0.hasSuffix(" stdout F out") } && lines.contains { $0.hasSuffix(" stderr F err") })
            #expect(lines.contains { $0.hasSuffix(" stdout P tail") }, "a line without its newline is partial")
            let logs = s.berth("logs", "k8")
            #expect(logs.stdout == "out\ntail" && logs.stderr == "err\n", "\(logs)")
            let stamped = s.berth("logs", "-t", "--tail", "1", "k8").stdout
            #expect(stamped.wholeMatch(of: /\S+\+00:00 tail/) != nil, "\(stamped)")
            #expect(s.berth("logs", "--since", "1h", "k8").stdout == "out\ntail")
        }
    }

    @Test("none keeps no log: run still shows output, logs is Docker's error; bad drivers and options exit 125")
    func noneAndErrors() {
        withStore { s in
            let run = s.berth("run", "--network", "none", "--name", "quiet", "--log-driver", "none", "busybox", "echo", "shown")
            #expect(run.status == 0 && run.stdout == "shown\n", "\(run)")
            #expect(logFiles(s, "quiet").isEmpty, "no log file")
            expectOneErrorLine(s.berth("logs", "quiet"), naming: ["configured logging driver does not support reading", "quiet"])
            for (args, words) in [
                (["--log-driver", "syslog"], ["no log driver named 'syslog'"]),
                (["--log-opt", "max-size=lots"], ["max-size must be a positive number"]),
                (["--log-opt", "max-size=0"], ["max-size must be a positive number"]),
                (["--log-opt", "max-size=1e3"], ["max-size must be a positive number"]),
                (["--log-opt", "max-size=99999999999999999999g"], ["max-size must be a positive number"]),
                (["--log-opt", "max-file=0"], ["max-file cannot be less than 1"]),
                (["--log-opt", "max-file=99999999999999999999"], ["max-file"]),
                (["--log-opt", "color=red"], ["unknown log opt 'color' for json-file log driver"]),
                (["--log-opt", "max-size"], ["invalid key value pair"]),
                (["--log-driver", "none", "--log-opt", "max-size=1m"], ["unknown log opt 'max-size' for none log driver"]),
            ] {
                expectOneErrorLine(s.berth(["create"] + args + ["busybox"]), naming: words, status: 125)
            }
            #expect(s.berth("ps", "-aq").stdout.split(separator: "\n").count == 1, "refusals create nothing")
        }
    }
}
