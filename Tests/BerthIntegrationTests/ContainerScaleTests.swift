import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// Many containers in one store, and the container name index
/// (`ROOT/names/NAME` → ID, `ContainerNameIndex`) that lets name and short-ID
/// lookups stay cheap however many there are: the index must agree with the
/// records after concurrent creates and removals and after a `kill -9` at the
/// points where a crash can leave it ahead of them. Correctness only: the
/// times are measured by `scripts/scale.sh` (docs/benchmarks.md).
@Suite("many containers and the name index", .enabled(if: isRoot, "needs root for containers"), .serialized)
struct ContainerScaleTests {
    /// The index as it is on disk: name → link target.
    func index(_ store: LifecycleStore) -> [String: String] {
        var links: [String: String] = [:]
        for name in FileSystem.list(store.root + "/names") {
            links[name] = FileSystem.linkTarget(store.root + "/names/" + name)
        }
        return links
    }

    /// Every container's name → full ID, from `ps -a`.
    func names(_ store: LifecycleStore) -> [String: String] {
        var result: [String: String] = [:]
        for line in lines(store.berth("ps", "-a", "--no-trunc", "--format", "{{.Names}} {{.ID}}").stdout) {
            let parts = line.split(separator: " ")
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    /// Runs `argv` so that it stops itself at `hook`, then kills it there (SIGKILL).
    func killAt(_ hook: String, _ argv: [String]) -> Bool {
        guard let pid = spawnStopped(argv, hook: hook) else { return false }
        let stopped = eventually(30) { readFile("/proc/\(pid)/stat").split(separator: " ").dropFirst(2).first == "T" }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return stopped
    }

    @Test(
        "an entry of containers/ that is a symlink to another container lists as Dead, and rm -f takes the link, never the layer")
    func symlinkedEntry() {
        withStore { s in
            let run = s.berth("run", "-d", "--name", "keep", "busybox", "sh", "-c", "echo mine > /mine; sleep 1000")
            #expect(run.status == 0, "\(run.stderr)")
            #expect(eventually(5) { s.berth("exec", "keep", "cat", "/mine").stdout == "mine\n" })
            let id = s.inspect("keep", "{{.Id}}")
            let link = String(repeating: "e", count: 64)
            #expect(symlink(s.root + "/containers/" + id, s.root + "/containers/" + link) == 0)
            let listed = s.berth("ps", "-a", "--format", "{{.ID}} {{.Status}}").stdout
            #expect(listed.contains("eeeeeeeeeeee Dead\n"), "it names another container: \(listed)")
            let rm = s.berth("rm", "-f", "eeeeeeeeeeee")
            #expect(rm.status == 0 && rm.stdout == "eeeeeeeeeeee\n", "\(rm)")
            #expect(!FileSystem.exists(s.root + "/containers/" + link), "the link is gone")
            for part in ["upper", "work", "merged"] {
                #expect(FileSystem.isRealDirectory(s.root + "/containers/" + id + "/" + part), "keep's \(part) is left alone")
            }
            // The container the link named keeps its layer across a restart.
            #expect(s.berth("restart", "-t", "0", "keep").status == 0)
            #expect(s.berth("exec", "keep", "cat", "/mine").stdout == "mine\n")
        }
    }

    @Test("70 containers (loaded on several threads): ps, ps -a, stop, rm -f $(ps -aq), rm -af right, nothing left")
    func seventy() {
        withStore { store in
            var ids: [String] = []
            for i in 0..<70 {
                let r = store.berth("run", "-d", "--network", "none", "--name", "c\(i)", "busybox", "sleep", "100000")
                #expect(r.status == 0, "run c\(i): \(r.stderr)")
                ids.append(r.stdout.trimmingSpacesAndNewlines)
            }
            let running = store.ps(all: false)
            #expect(running.count == 71, "ps lists the 70: \(running.count - 1)")
            #expect(Set(running.dropFirst().map { $0.last ?? "" }) == Set((0..<70).map { "c\($0)" }))
            #expect(running.dropFirst().allSatisfy { $0.contains { $0.hasPrefix("Up ") } })
            // Newest first, as Docker lists them, whatever thread loaded which record.
            #expect(running.dropFirst().map { $0.last ?? "" } == (0..<70).reversed().map { "c\($0)" })
            #expect(index(store) == names(store), "the index is the names of the records")

            // Half of them stopped at once (stop -t 0 of 35, by short ID and by name).
            let half = (0..<35).map { $0 % 2 == 0 ? String(ids[$0].prefix(12)) : "c\($0)" }
            let stopped = store.berth(["stop", "-t", "0"] + half)
            #expect(stopped.status == 0, "stop: \(stopped.stderr)")
            #expect(lines(stopped.stdout).map(String.init) == half, "stop prints each name as given")
            #expect(store.ps(all: false).count == 36)
            let all = store.ps(all: true)
            #expect(all.count == 71)
            #expect(all.filter { $0.contains { $0.hasPrefix("Exited (137)") } }.count == 35, "35 exited: \(all)")

            // rm -f with short IDs (what `ps -aq` prints), running and exited alike.
            let some = lines(store.berth("ps", "-aq").stdout).prefix(40).map(String.init)
            #expect(some.count == 40 && some.allSatisfy { $0.count == 12 })
            let removed = store.berth(["rm", "-f"] + some)
            #expect(removed.status == 0, "rm -f: \(removed.stderr)")
            #expect(lines(removed.stdout).map(String.init) == some, "rm -f prints each reference as given")
            #expect(lines(store.berth("ps", "-aq").stdout).count == 30)
            #expect(index(store) == names(store), "the index dropped exactly the removed names")

            // Podman's spelling removes the rest.
            let rest = store.berth("rm", "-af")
            #expect(rest.status == 0, "rm -af: \(rest.stderr)")
            #expect(lines(rest.stdout).count == 30)
            #expect(store.berth("ps", "-aq").stdout.isEmpty)
            #expect(index(store).isEmpty, "no name left in the index: \(index(store))")
            #expect(FileSystem.list(store.root + "/containers").isEmpty)
            #expect(FileSystem.list(store.root + "/tmp").isEmpty, "tmp: \(FileSystem.list(store.root + "/tmp"))")
            #expect(!FileSystem.list(store.root + "/locks").contains { $0.hasPrefix("container-") })
            // (withStore's clean-up checks mounts, cgroups and processes of every ID seen.)
        }
    }

    @Test(
        "stop -t 2 of 6 containers ignoring SIGTERM and a missing one: all signalled first, so about 2 s and not 12; names in order, one error line, exit 1; Exited (137) and kill, kill, die, stop each"
    )
    func stopManyTogether() {
        withStore { store in
            // PID 1 of a PID namespace ignores SIGTERM without a handler.
            let names = (0..<6).map { "stubborn\($0)" }
            for name in names {
                let r = store.berth("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "100000")
                #expect(r.status == 0, "run \(name): \(r.stderr)")
            }
            let args = Array(names[0..<3]) + ["no-such-container"] + Array(names[3...])
            let start = now()
            let stopped = store.berth(["stop", "-t", "2"] + args)
            let took = now() - start
            // One after another this takes at least 6 × 2 s.
            #expect(took >= 1.9 && took < 8, "stop of 6 took \(took) s")
            #expect(stopped.status == 1, "one container was missing: \(stopped.status)")
            #expect(lines(stopped.stdout).map(String.init) == names, "each name as given, in order: \(stopped.stdout)")
            expectOneErrorLine(stopped, naming: ["no-such-container"])
            for name in names {
                #expect(store.status(name).map(timeless) == "Exited (137) T ago", "\(name): \(store.ps())")
            }
            // Per container: the stop signal, SIGKILL after the grace period, the monitor's die, the stop.
            let events = store.berth(
                "events", "--since", "5m", "--until", "0s", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
            for name in names {
                let mine = lines(events.stdout).filter { $0.hasSuffix(" " + name) }.map { field($0, 0) }
                #expect(mine.suffix(4) == ["kill", "kill", "die", "stop"], "\(name)'s events: \(mine)")
            }
        }
    }

    @Test("a container named like a temp link (web.tmp-4194305, a PID no kernel gives) keeps its name when others are created")
    func nameLikeTempLink() {
        withStore { store in
            // PID_MAX_LIMIT is 4,194,304: the "process" of this name is never alive.
            let name = "web.tmp-4194305"
            let r = store.berth("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "100000")
            #expect(r.status == 0, "run: \(r.stderr)")
            #expect(store.berth("run", "-d", "--network", "none", "--name", "other", "busybox", "true").status == 0)
            #expect(store.berth("create", "--network", "none", "busybox", "true").status == 0)
            #expect(index(store)[name] == r.stdout.trimmingSpacesAndNewlines, "the link stayed: \(index(store))")
            let stopped = store.berth("stop", "-t", "0", name)
            #expect(stopped.status == 0 && stopped.stdout == name + "\n", "found by name: \(stopped.stderr)")
            #expect(FileSystem.list(store.root + "/tmp").isEmpty, "no temp link left: \(FileSystem.list(store.root + "/tmp"))")
        }
    }

    @Test("names resolve before ID prefixes, a name that looks like an ID prefix included, and a prefix of two is refused")
    func resolution() {
        withStore { store in
            let a = store.berth("run", "-d", "--network", "none", "busybox", "sleep", "100000").stdout
                .trimmingSpacesAndNewlines
            // A second container named after the first one's short ID: Docker
            // resolves the name first.
            let short = String(a.prefix(12))
            let b = store.berth("run", "-d", "--network", "none", "--name", short, "busybox", "sleep", "100000").stdout
                .trimmingSpacesAndNewlines
            #expect(store.inspect(short, "{{.Id}}") == b, "the name wins over the ID prefix")
            #expect(store.inspect(a, "{{.Id}}") == a, "the full ID still finds the first")
            #expect(store.inspect("/" + short, "{{.Id}}") == b, "a leading slash is ignored, as Docker's")
            // An unambiguous shorter prefix finds the container it starts.
            var prefix = 1
            while a.prefix(prefix) == b.prefix(prefix) { prefix += 1 }
            #expect(store.inspect(String(a.prefix(prefix)), "{{.Id}}") == a)
            if prefix > 1 {
                let both = store.berth("inspect", "--type", "container", String(a.prefix(prefix - 1)))
                #expect(both.status == 1 && both.stderr.contains("multiple containers match"), "\(both.stderr)")
            }
            let missing = store.berth("rm", "no-such-container")
            expectOneErrorLine(missing, naming: ["No such container: no-such-container"])
        }
    }

    @Test("inspect of an ID prefix two containers share is the ambiguity, with or without --type, not 'No such container'")
    func inspectAmbiguousPrefix() {
        withStore { store in
            // Seventeen IDs: two share a first digit (sixteen hex digits).
            var first: [Character: Int] = [:]
            var shared: Character?
            while shared == nil {
                let id = store.berth("create", "--network", "none", "busybox", "true").stdout
                guard let c = id.first else { Issue.record("create: \(id)"); return }
                first[c, default: 0] += 1
                if first[c] == 2 { shared = c }
            }
            for args in [["inspect", "--type", "container"], ["inspect"], ["container", "inspect"]] {
                let r = store.berth(args + [String(shared!)])
                expectOneErrorLine(r, naming: ["multiple containers match ID prefix"], status: 1)
            }
        }
    }

    @Test("20 concurrent runs with one name: exactly one wins; concurrent runs and removals leave the index equal to the records")
    func concurrent() {
        withStore { store in
            let base = [berthBinary, "--root", store.root, "run", "-d", "--network", "none"]
            let same = runConcurrently(Array(repeating: base + ["--name", "same", "busybox", "sleep", "100000"], count: 20))
            same.forEach { store.note($0.stdout) }
            #expect(same.filter { $0.status == 0 }.count == 1, "one winner: \(same.map(\.status))")
            #expect(
                same.filter { $0.status == 125 && $0.stderr.contains("is already in use") }.count == 19,
                "\(same.map { "\($0.status) \($0.stderr)" })")

            // Ten more with their own names, while five of them are removed
            // as they appear and `same` is renamed.
            for i in 0..<10 {
                let r = store.berth(Array(base.dropFirst(3)) + ["--name", "n\(i)", "busybox", "sleep", "100000"])
                #expect(r.status == 0, "run n\(i): \(r.stderr)")
            }
            var mixed: [[String]] = (10..<20).map { base + ["--name", "n\($0)", "busybox", "sleep", "100000"] }
            mixed += (0..<5).map { [berthBinary, "--root", store.root, "rm", "-f", "n\($0)"] }
            mixed.append([berthBinary, "--root", store.root, "rename", "same", "renamed"])
            let results = runConcurrently(mixed)
            results.forEach { store.note($0.stdout) }
            #expect(results.allSatisfy { $0.status == 0 }, "\(results.map { "\($0.status) \($0.stderr)" })")
            let now = names(store)
            #expect(Set(now.keys) == Set((5..<20).map { "n\($0)" } + ["renamed"]), "\(now.keys.sorted())")
            #expect(index(store) == now, "index \(index(store)) against records \(now)")
            #expect(
                store.berth("run", "-d", "--network", "none", "--name", "same", "busybox", "true").status == 0,
                "the old name is free after the rename")
        }
    }

    @Test("kill -9 of run after the name's link, before the container exists: the name stays free and the next run takes it")
    func killedCreate() throws {
        try withStore { store in
            let run = [
                berthBinary, "--root", store.root, "run", "-d", "--network", "none", "--name", "web", "busybox", "sleep",
                "100000",
            ]
            #expect(killAt("/containers/", run), "the run never reached the rename into containers/")
            let stale = try #require(index(store)["web"], "the killed run had linked the name")
            #expect(!fileExists(store.root + "/containers/" + stale), "and no container has that ID")
            #expect(store.berth("ps", "-aq").stdout.isEmpty, "ps -a shows nothing of it")
            let missing = store.berth("inspect", "--type", "container", "web")
            #expect(missing.status == 1 && missing.stderr.contains("No such container: web"), "\(missing.stderr)")
            let again = store.berth(run.dropFirst(3).map { $0 })
            #expect(again.status == 0, "the name is free: \(again.stderr)")
            let id = again.stdout.trimmingSpacesAndNewlines
            #expect(index(store) == ["web": id], "the stale link was replaced: \(index(store))")
            #expect(store.berth("rm", "-f", "web").status == 0)
            #expect(index(store).isEmpty)
            #expect(FileSystem.list(store.root + "/tmp").isEmpty, "the killed run's staging was swept")
        }
    }

    @Test("kill -9 of rename between the new link and the record: the old name still works, the new one is free")
    func killedRename() throws {
        withStore { store in
            let id = store.berth("run", "-d", "--network", "none", "--name", "old", "busybox", "sleep", "100000").stdout
                .trimmingSpacesAndNewlines
            // Stops before the record (containers/ID/container.json) is renamed over: the new link is in place.
            let rename = [berthBinary, "--root", store.root, "rename", "old", "new"]
            #expect(killAt(id + "/container.json", rename), "the rename never reached the record")
            #expect(index(store)["new"] == id && index(store)["old"] == id, "both links: \(index(store))")
            #expect(names(store) == ["old": id], "the record still says old")
            #expect(store.inspect("old", "{{.Id}}") == id)
            let gone = store.berth("inspect", "--type", "container", "new")
            #expect(gone.status == 1 && gone.stderr.contains("No such container: new"), "the stale link is no owner")
            // The rename done again, then the other way: both names behave.
            #expect(store.berth("rename", "old", "new").status == 0)
            #expect(store.inspect("new", "{{.Id}}") == id)
            #expect(index(store) == ["new": id], "the old link dropped: \(index(store))")
            #expect(store.berth("run", "-d", "--network", "none", "--name", "old", "busybox", "true").status == 0)
        }
    }

    @Test("a store without the index (made before it) gets one from its records on first use")
    func rebuilt() {
        withStore { store in
            for n in ["a1", "a2", "a3"] {
                #expect(store.berth("run", "-d", "--network", "none", "--name", n, "busybox", "sleep", "100000").status == 0)
            }
            let before = index(store)
            #expect(before.count == 3)
            removeTree(store.root + "/names")
            // A name taken by a container the index does not list yet is refused.
            let clash = store.berth("run", "-d", "--network", "none", "--name", "a2", "busybox", "true")
            #expect(clash.status == 125 && clash.stderr.contains("is already in use"), "\(clash.stderr)")
            #expect(index(store) == before, "rebuilt: \(index(store))")
            removeTree(store.root + "/names")
            #expect(store.berth("stop", "-t", "0", "a3").status == 0, "a name resolves without the index")
            #expect(index(store) == before)
        }
    }
}
