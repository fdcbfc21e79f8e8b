import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `volume create -d local -o type=…,device=…,o=…` and `volume ls --filter`.
@Suite("Volume driver options and filters", .enabled(if: isRoot, "needs root"), .serialized)
struct VolumeOptionsTests {
    private func mounted(_ path: String) -> Bool {
        readFile("/proc/self/mountinfo").split(separator: "\n").contains { field($0, 4) == path }
    }

    @Test("type=tmpfs: mounted while some container uses it, empty again at the next use; shared by two running containers")
    func tmpfsVolume() {
        withStore { s in
            let made = s.berth(
                "volume", "create", "-d", "local", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=5m", "scratch")
            #expect(made.stdout == "scratch\n", "\(made.stderr)")
            #expect(
                s.berth("volume", "inspect", "-f", "{{json .Options}}", "scratch").stdout
                    == "{\"device\":\"tmpfs\",\"o\":\"size=5m\",\"type\":\"tmpfs\"}\n")
            let df = s.berth(
                "run", "--rm", "--network", "none", "-v", "scratch:/t", "busybox", "sh", "-c", "df /t | tail -1; echo x > /t/x")
            #expect(df.stdout.hasPrefix("tmpfs ") && df.stdout.contains(" 5120 "), "a 5 MB tmpfs: \(df.stdout)")
            let data = s.root + "/volumes/scratch/_data"
            #expect(!mounted(data), "unmounted when the last user stopped")
            #expect(s.berth("run", "--rm", "--network", "none", "-v", "scratch:/t", "busybox", "ls", "/t").stdout.isEmpty)
            // Two running containers share one mount.
            #expect(
                s.berth(
                    "run", "-d", "--name", "sharer", "--network", "none", "-v", "scratch:/t", "busybox", "sh", "-c",
                    "echo shared > /t/s; sleep 60"
                ).status == 0)
            #expect(mounted(data))
            let seen = s.berth(
                "run", "--rm", "--network", "none", "-v", "scratch:/t", "busybox", "sh", "-c", "sleep 0.3; cat /t/s")
            #expect(seen.stdout == "shared\n", "\(seen)")
            #expect(mounted(data), "still mounted: sharer still uses it")
            #expect(s.berth("rm", "-f", "sharer").status == 0)
            #expect(!mounted(data), "unmounted after the last user went (even by rm -f)")
            // A start that fails after the volume was mounted leaves it unmounted.
            let failed = s.berth("run", "--network", "none", "-v", "scratch:/t", "busybox", "/no/such/program")
            #expect(failed.status == 127, "\(failed)")
            #expect(!mounted(data), "a failed start releases the volume")
            #expect(s.berth("volume", "rm", "scratch").status == 1, "the failed container still uses it")
            #expect(s.berth("container", "prune", "-f").status == 0)
            #expect(s.berth("volume", "rm", "scratch").status == 0)
        }
    }

    @Test("type=none,o=bind,device=DIR: the host directory, read and written; volume rm never touches its files")
    func bindVolume() {
        withStore { s in
            let host = makeTempDirectory("volbind")
            defer { removeTree(host) }
            writeFile(host + "/mine", "keep me\n")
            #expect(s.berth("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device=\(host)", "hostdir").status == 0)
            let r = s.berth(
                "run", "--rm", "--network", "none", "-v", "hostdir:/h", "busybox", "sh", "-c", "cat /h/mine; echo new > /h/made")
            #expect(r.stdout == "keep me\n", "\(r)")
            #expect(readFile(host + "/made") == "new\n")
            #expect(
                s.berth("volume", "create", "-o", "type=none", "-o", "o=bind,ro", "-o", "device=\(host)", "rohost").status == 0)
            let ro = s.berth(
                "run", "--rm", "--network", "none", "-v", "rohost:/h", "busybox", "sh", "-c", "cat /h/mine; touch /h/x")
            #expect(ro.stdout == "keep me\n" && ro.status != 0 && ro.stderr.contains("Read-only"), "\(ro)")
            // Held mounted by a running container, then removed after: the host files stay.
            #expect(
                s.berth("run", "-d", "--name", "holder", "--network", "none", "-v", "hostdir:/h", "busybox", "sleep", "60").status
                    == 0)
            expectOneErrorLine(s.berth("volume", "rm", "hostdir"), naming: ["volume is in use"])
            #expect(s.berth("rm", "-f", "holder").status == 0)
            #expect(s.berth("volume", "rm", "hostdir", "rohost").status == 0)
            #expect(readFile(host + "/mine") == "keep me\n" && readFile(host + "/made") == "new\n", "the user's files are kept")
            let missing = s.berth(
                "volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device=/nonexistent-berth", "gone")
            #expect(missing.status == 0, "Docker checks the device at mount, not at create")
            let use = s.berth("run", "--rm", "--network", "none", "-v", "gone:/g", "busybox", "true")
            expectOneErrorLine(use, naming: ["/nonexistent-berth"], status: 125)
        }
    }

    @Test("volume create errors: unknown option, missing device, another driver (exit 1)")
    func createErrors() {
        withStore { s in
            for (args, words) in [
                (["-o", "color=red"], ["invalid option: \"color\""]),
                (["-o", "type=tmpfs"], ["missing required option: \"device\""]),
                (["-o", "o=size=1m"], ["missing required option: \"device\""]),
                (["-o", "type"], ["invalid option"]),
                (["-o", "type=none", "-o", "o=bind", "-o", "device=relative/dir"], ["not an absolute path"]),
                (["-d", "nfs"], ["error looking up volume plugin nfs", "not found"]),
            ] {
                expectOneErrorLine(s.berth(["volume", "create"] + args + ["v"]), naming: words)
            }
            #expect(s.berth("volume", "ls", "-q").stdout.isEmpty, "nothing was created")
        }
    }

    @Test("volume ls --filter dangling=, name= (regexp), label=, driver=; with -q and --format")
    func listFilters() {
        withStore { s in
            #expect(s.berth("volume", "create", "--label", "tier=db", "--label", "backup", "dbdata").status == 0)
            #expect(s.berth("volume", "create", "--label", "tier=web", "webdata").status == 0)
            #expect(s.berth("volume", "create", "spare").status == 0)
            #expect(s.berth("create", "--name", "user", "--network", "none", "-v", "dbdata:/d", "busybox").status == 0)
            let q = { (filters: [String]) in s.berth(["volume", "ls", "-q"] + filters.flatMap { ["-f", $0] }).stdout }
            #expect(q(["dangling=true"]) == "spare\nwebdata\n")
            #expect(q(["dangling=false"]) == "dbdata\n")
            #expect(q(["dangling=1"]) == q(["dangling=true"]))
            #expect(q(["name=data$"]) == "dbdata\nwebdata\n")
            #expect(q(["name=^sp"]) == "spare\n")
            #expect(q(["label=tier"]) == "dbdata\nwebdata\n")
            #expect(q(["label=tier=web"]) == "webdata\n")
            #expect(q(["label=backup", "dangling=false"]) == "dbdata\n")
            #expect(q(["name=spare", "name=webdata"]) == "spare\nwebdata\n", "the same key ORs")
            #expect(q(["driver=local"]).split(separator: "\n").count == 3)
            #expect(q(["driver=nfs"]).isEmpty)
            let json = s.berth("volume", "ls", "--format", "json", "-f", "name=spare").stdout
            #expect(
                json.hasPrefix("{") && json.contains("\"Name\":\"spare\"") && json.split(separator: "\n").count == 1, "\(json)")
            #expect(
                s.berth("volume", "ls", "--format", "{{.Name}} {{.Label \"tier\"}}", "-f", "label=tier").stdout
                    == "dbdata db\nwebdata web\n")
            expectOneErrorLine(s.berth("volume", "ls", "-f", "dangling=maybe"), naming: ["invalid filter 'dangling=maybe'"])
            expectOneErrorLine(s.berth("volume", "ls", "-f", "color=red"), naming: ["invalid filter 'color'"])
            expectOneErrorLine(
                s.berth("volume", "ls", "-f", "name=("),
                naming: ["invalid filter 'name=(': error parsing regexp: missing closing ): `(`"])
            // Linear-time matching: a pattern that backtracks exponentially elsewhere answers at once.
            let long = String(repeating: "a", count: 200) + "b"
            #expect(s.berth("volume", "create", long).status == 0)
            let start = now()
            #expect(q(["name=^(a|a)*$"]).isEmpty && q(["name=^(a+)+b$"]) == long + "\n")
            #expect(now() - start < 10, "took \(now() - start) s")
        }
    }
}
