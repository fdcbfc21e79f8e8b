import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `--format json` where Docker has it, `{{.CreatedAt}}` in Docker's forms,
/// `ps --filter ancestor=` on descendants, and `logs --since/--until`.
@Suite("CLI output: --format json, CreatedAt, ancestor=, logs --since/--until", .enabled(if: isRoot, "needs root"), .serialized)
struct CliOutputTests {
    /// Parses one line of `--format json` output into a map.
    private func object(_ line: Substring, sourceLocation: SourceLocation = #_sourceLocation) -> JSON? {
        let parsed = try? JSONParser.parse(Array(line.utf8))
        #expect(parsed?["__none__"] == nil && parsed != nil, "not JSON: \(line)", sourceLocation: sourceLocation)
        return parsed
    }

    @Test("version, info, history, system df, network ls, volume ls, images, ps: --format json is one JSON object a line")
    func formatJSON() {
        withStore { s in
            #expect(s.berth("create", "--name", "web", "-v", "vol1:/data", "busybox").status == 0)
            let version = s.berth("version", "--format", "json")
            #expect(version.status == 0 && version.stdout.split(separator: "\n").count == 1, "\(version.stdout)")
            #expect(object(version.stdout.dropLast())?["Client"]?["Os"]?.stringValue == "linux")
            #expect(s.berth("version", "--format", "{{.Server.Os}}/{{.Client.Arch}}").stdout.hasPrefix("linux/"))
            let info = s.berth("info", "--format", "json").stdout
            #expect(info.split(separator: "\n").count == 1)
            let doc = object(info.dropLast())
            #expect(doc?["Containers"]?.intValue == 1 && doc?["Images"]?.intValue == 1, "\(info)")
            #expect(doc?["DockerRootDir"]?.stringValue == s.root)
            #expect(s.berth("info", "-f", "{{.Containers}} {{.ContainersStopped}}").stdout == "1 1\n")
            // Run by root: not rootless, in the table and in Docker's SecurityOptions.
            #expect(s.berth("info").stdout.contains("\nRootless: false\n"))
            #expect(doc?["Rootless"] == .bool(false) && doc?["SecurityOptions"] == .strings(["name=seccomp,profile=default"]))
            let badField = s.berth("info", "-f", "{{.Nope}}")
            #expect(badField.status == 1 && badField.stderr.contains("Nope"), "\(badField.stderr)")

            let history = s.berth("history", "--format", "json", "busybox").stdout.split(separator: "\n")
            #expect(history.count == 1, "\(history)")
            let row = object(history[0])
            #expect(row?["CreatedBy"]?.stringValue?.contains("import") == true, "\(history)")
            #expect(row?["ID"]?.stringValue?.count == 12 && row?["Size"]?.stringValue?.hasSuffix("MB") == true)
            let df = s.berth("system", "df", "--format", "json").stdout.split(separator: "\n")
            #expect(df.count == 3 && object(df[0])?["Type"]?.stringValue == "Images", "\(df)")
            #expect(object(df[1])?["TotalCount"]?.stringValue == "1" && object(df[1])?["Active"]?.stringValue == "0")
            #expect(object(df[2])?["Type"]?.stringValue == "Local Volumes" && object(df[2])?["TotalCount"]?.stringValue == "1")
            #expect(
                s.berth("system", "df", "--format", "table {{.Type}}\t{{.TotalCount}}").stdout.split(separator: "\n").first?
                    .hasPrefix("TYPE ") == true)
            expectOneErrorLine(s.berth("system", "df", "-v", "--format", "json"), naming: ["--format"])
            for (command, key) in [
                (["network", "ls"], "Name"), (["volume", "ls"], "Name"), (["images"], "Repository"), (["ps", "-a"], "Names"),
            ] {
                let lines = s.berth(command + ["--format", "json"]).stdout.split(separator: "\n")
                #expect(!lines.isEmpty, "\(command)")
                for line in lines { #expect(object(line)?[key]?.stringValue?.isEmpty == false, "\(command): \(line)") }
            }
        }
    }

    @Test("{{.CreatedAt}}: Go's time form in ps, images, network ls; RFC 3339 in history; -H=false and --no-trunc")
    func createdAt() {
        withStore { s in
            #expect(s.berth("create", "--name", "web", "busybox").status == 0)
            let goForm = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} [A-Z]+$/
            for command in [["ps", "-a"], ["images"]] {
                let at = s.berth(command + ["--format", "{{.CreatedAt}}"]).stdout.trimmingSpacesAndNewlines
                #expect(at.wholeMatch(of: goForm) != nil, "\(command): \(at)")
            }
            let env = ["TZ": "UTC"]
            let utc = runProcess([berthBinary, "--root", s.root, "ps", "-a", "--format", "{{.CreatedAt}}"], environment: env)
            #expect(utc.stdout.hasSuffix(" +0000 UTC\n"), "\(utc.stdout)")
            let net = s.berth("network", "ls", "--format", "{{.Name}} {{.CreatedAt}}").stdout.split(separator: "\n")
            let bridge = net.first { $0.hasPrefix("bridge ") } ?? ""
            #expect(
                bridge.wholeMatch(of: /bridge \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} [A-Z]+/) != nil, "\(net)")
            let history = runProcess(
                [berthBinary, "--root", s.root, "history", "--format", "table {{.ID}}\t{{.CreatedAt}}\t{{.Comment}}", "busybox"],
                environment: env
            ).stdout.split(separator: "\n")
            #expect(history.count == 2 && history[0].hasPrefix("IMAGE ") && history[0].contains("CREATED AT"), "\(history)")
            let rfc = /\s\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/
            #expect(history.count == 2 && history[1].contains(rfc), "\(history)")
            let raw = s.berth("history", "--human=false", "busybox").stdout.split(separator: "\n")
            let bytes = /\s\d{6,}$/
            #expect(raw.count == 2 && raw[1].contains(/T\d\d:\d\d:\d\d/) && raw[1].contains(bytes), "\(raw)")
            let full = s.berth("history", "--no-trunc", "-q", "busybox").stdout
            #expect(full.hasPrefix("sha256:") && full.count == 72, "\(full)")
        }
    }

    @Test("ps --filter ancestor= matches the image and images committed from it; exited= and name= still hold")
    func ancestorDescendants() {
        withStore { s in
            #expect(s.berth("run", "--name", "base", "--network", "none", "busybox", "sh", "-c", "echo x > /x").status == 0)
            #expect(s.berth("commit", "base", "derived:1").status == 0)
            #expect(s.berth("run", "--name", "child", "--network", "none", "derived:1", "sh", "-c", "exit 4").status == 4)
            #expect(s.berth("create", "--name", "other", "--network", "none", "busybox").status == 0)
            let names = { (filter: String) in s.berth("ps", "-a", "--format", "{{.Names}}", "-f", filter).stdout }
            #expect(names("ancestor=busybox") == "other\nchild\nbase\n")
            #expect(names("ancestor=derived:1") == "child\n")
            let id = s.berth("images", "-q", "busybox").stdout.trimmingSpacesAndNewlines
            #expect(names("ancestor=\(id.prefix(6))") == "other\nchild\nbase\n")
            #expect(names("ancestor=nosuchimage").isEmpty)
            #expect(names("exited=4") == "child\n")
            #expect(names("name=^c.i") == "child\n")
        }
    }

    @Test("logs --since/--until: RFC 3339, Unix seconds, durations; with --tail, -t and -f")
    func logsSinceUntil() {
        withStore { s in
            let run = s.berth(
                "run", "-d", "--name", "talker", "--network", "none", "busybox", "sh", "-c",
                "echo one; sleep 1.2; echo two; sleep 1.2; echo three; sleep 1.2; echo four")
            #expect(run.status == 0, "\(run.stderr)")
            #expect(s.berth("wait", "talker").stdout == "0\n")
            let stamped = s.berth("logs", "-t", "talker").stdout.split(separator: "\n")
            #expect(stamped.count == 4, "\(stamped)")
            guard stamped.count == 4 else { return }
            let times = stamped.map { field($0, 0) }
            let lines = { (args: [String]) in s.berth(["logs"] + args + ["talker"]).stdout }
            #expect(lines(["--since", times[1]]) == "two\nthree\nfour\n")
            #expect(lines(["--until", times[1]]) == "one\ntwo\n")
            #expect(lines(["--since", times[1], "--until", times[2]]) == "two\nthree\n")
            #expect(lines(["--since", times[1], "--tail", "1"]) == "four\n")
            #expect(lines(["--since", times[1], "-t", "--until", times[1]]) == stamped[1] + "\n")
            // Unix seconds with a fraction, as Docker's client sends them.
            let t1 = Timestamp(rfc3339: times[1])!
            let unix = "\(t1.seconds).\(String(format9(t1.nanoseconds)))"
            #expect(lines(["--since", unix]) == "two\nthree\nfour\n", "\(unix)")
            let t0 = Timestamp(rfc3339: times[0])!
            #expect(lines(["--until", "\(t0.seconds).\(format9(t0.nanoseconds))"]) == "one\n")
            // A zone offset: the same instant written in +02:00.
            var shifted = t1
            shifted.seconds += 7200
            let offset = shifted.rfc3339.replacingOccurrences("Z", "+02:00")
            #expect(lines(["--since", offset]) == "two\nthree\nfour\n", "\(offset)")
            #expect(lines(["--since", "1h"]) == "one\ntwo\nthree\nfour\n")
            #expect(lines(["--since", "1h30m", "--until", "2h"]).isEmpty)
            #expect(lines(["--until=-1s"]) == "one\ntwo\nthree\nfour\n", "a negative duration is in the future")
            for bad in ["yesterday", "2022-13-01", "10x", "-", "99999999999999999999h", "99999999999999999999", "1.5.5"] {
                let r = s.berth("logs", "--since", bad, "talker")
                expectOneErrorLine(r, naming: ["invalid value for \"since\"", bad])
            }
            expectOneErrorLine(s.berth("logs", "--until", "soon", "talker"), naming: ["invalid value for \"until\""])

            // -f stops at --until even while the container runs on.
            #expect(
                s.berth(
                    "run", "-d", "--name", "ticker", "--network", "none", "busybox", "sh", "-c",
                    "while true; do echo tick; sleep 0.3; done"
                ).status == 0)
            let start = Timestamp.now.asDouble
            let followed = s.berth("logs", "-f", "--until", "2s", "ticker")
            let took = Timestamp.now.asDouble - start
            #expect(followed.status == 0 && took < 5, "took \(took)")
            let future = s.berth(
                "logs", "-f", "--since", "0s", "--until", Timestamp(seconds: Int64(Timestamp.now.asDouble) + 2).rfc3339, "ticker")
            let ticks = future.stdout.split(separator: "\n").count
            #expect(future.status == 0 && ticks >= 3 && ticks <= 10, "followed until a future time: \(ticks) lines")
            #expect(s.berth("rm", "-f", "ticker").status == 0)
        }
    }

    private func format9(_ n: Int64) -> String {
        let s = String(n)
        return String(repeating: "0", count: 9 - s.count) + s
    }
}

extension CliOutputTests {
    @Test("top CONTAINER [ps OPTIONS]: the host's ps with the options, only the container's processes")
    func topWithPsOptions() {
        withStore { s in
            #expect(
                s.berth("run", "-d", "--network", "none", "--name", "tops", "busybox", "sh", "-c", "sleep 300 & exec sleep 301")
                    .status == 0)
            let pids = Set(
                s.berth("top", "tops").stdout.split(separator: "\n").dropFirst().map { field($0, 1) })
            #expect(pids.count == 2, "\(pids)")
            let aux = s.berth("top", "tops", "aux").stdout.split(separator: "\n")
            #expect(aux.first?.hasPrefix("USER ") == true && aux.first?.contains("%CPU") == true, "\(aux)")
            #expect(Set(aux.dropFirst().map { field($0, 1) }) == pids, "\(aux)")
            #expect(aux.dropFirst().allSatisfy { $0.contains("sleep 30") }, "only the container's processes: \(aux)")
            let custom = s.berth("top", "tops", "-o", "pid,comm,args").stdout.split(separator: "\n")
            #expect(custom.first?.split(separator: " ") == ["PID", "COMMAND", "COMMAND"], "\(custom)")
            #expect(Set(custom.dropFirst().map { field($0, 0) }) == pids)
            // A tree (f cannot be combined with -q: Docker runs ps again without it).
            let tree = s.berth("top", "tops", "axf").stdout.split(separator: "\n")
            #expect(tree.count == 3 && tree.last?.contains("\\_ sleep 300") == true, "\(tree)")
            expectOneErrorLine(s.berth("top", "tops", "-o", "comm"), naming: ["Couldn't find PID field in ps output"])
            expectOneErrorLine(s.berth("top", "tops", "--bogus"), naming: ["ps: exit status 1", "unknown"])
            #expect(s.berth("rm", "-f", "tops").status == 0)
        }
    }
}
