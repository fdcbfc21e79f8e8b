import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// The prunes ask Docker's `[y/N]` question unless `-f` is given, read the
/// answer from stdin (a pipe too, as Docker does), remove nothing and exit
/// 0 on anything but y/yes, and remove exactly what Docker's would on yes.
/// Each store has its own bridge name and subnets, so the one running
/// container on a user network touches only devices this test made.
@Suite("Prune", .serialized, .enabled(if: isRoot, "needs root for namespaces"))
struct PruneTests {
    /// A store holding one of everything a prune looks at:
    /// - `up`: running, on the user network `busy`, using `busybox:latest`
    /// - `stopped`: created, never started, using the dangling image `inuse`
    /// - `idle`: an unused user network
    /// - `named`: a named volume nobody uses; one anonymous volume nobody uses
    /// - `old:latest`: a tagged image nobody uses; a dangling image nobody uses
    final class Fixture {
        let store: LifecycleStore
        var danglingUnused = ""
        var danglingInUse = ""
        var tagged = ""
        var anonymous = ""
        var stoppedID = ""

        init() {
            store = LifecycleStore()
            // Second octets no other suite uses: suites run at the same time,
            // and a pool overlapping another store's bridge has no free subnet.
            let n = Int(getpid() % 200)
            writeFile(
                store.root + "/config.json",
                """
                {"bridgeName": "bp\(getpid() % 100_000)", "bridgeSubnet": "10.238.\(n).0/24", "networkPool": "10.239.\(n).0/24", "networkPoolPrefix": 26}
                """)
            danglingUnused = importImage(change: "LABEL tier=scratch")
            danglingInUse = importImage(change: "CMD [\"sh\"]", extra: "ENV X=1")
            tagged = importImage(change: "LABEL keep=yes", tag: "old:latest")
            expect(store.berth("network", "create", "busy"))
            expect(store.berth("network", "create", "idle"))
            expect(store.berth("run", "-d", "--name", "up", "--network", "busy", "busybox", "sleep", "60"))
            let created = store.berth("create", "--name", "stopped", "--network", "none", danglingInUse)
            expect(created)
            stoppedID = created.stdout.trimmingSpacesAndNewlines
            expect(store.berth("volume", "create", "named"))
            let before = volumes()
            expect(store.berth("create", "--name", "anon", "--network", "none", "-v", "/data", "busybox"))
            anonymous = volumes().subtracting(before).first ?? ""
            #expect(anonymous.count == 64, "the anonymous volume: \(volumes())")
            expect(store.berth("rm", "anon"))  // without -v: its anonymous volume stays, unused
        }

        private func importImage(change: String, extra: String? = nil, tag: String? = nil) -> String {
            var args = ["import", "-c", change]
            if let extra { args += ["-c", extra] }
            args.append(busyboxTar)
            if let tag { args.append(tag) }
            let r = store.berth(args)
            expect(r)
            return r.stdout.trimmingSpacesAndNewlines
        }

        private func expect(_ r: ProcessResult, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(r.status == 0, "setup: \(r.stderr)", sourceLocation: sourceLocation)
        }

        /// Everything a prune could remove, as sorted lines.
        func snapshot() -> [String] {
            let parts = [
                store.berth("ps", "-a", "--no-trunc", "--format", "container {{.ID}} {{.Names}} {{.State}}").stdout,
                store.berth("images", "-a", "--no-trunc", "--format", "image {{.ID}} {{.Repository}}:{{.Tag}}").stdout,
                store.berth("network", "ls", "--format", "network {{.Name}}").stdout,
                store.berth("volume", "ls", "--format", "volume {{.Name}}").stdout,
            ]
            return parts.flatMap { lines($0).map(String.init) }.sorted()
        }

        func containers() -> Set<String> { Set(lines(store.berth("ps", "-a", "--format", "{{.Names}}").stdout).map(String.init)) }
        func images() -> Set<String> { Set(lines(store.berth("images", "-aq", "--no-trunc").stdout).map(String.init)) }
        func networks() -> Set<String> {
            Set(lines(store.berth("network", "ls", "--format", "{{.Name}}").stdout).map(String.init))
        }
        func volumes() -> Set<String> { Set(lines(store.berth("volume", "ls", "-q").stdout).map(String.init)) }
    }

    private func withFixture(_ body: (Fixture) throws -> Void) rethrows {
        let fixture = Fixture()
        defer { fixture.store.cleanUp() }
        try body(fixture)
    }

    static let prunes: [[String]] = [
        ["container", "prune"], ["image", "prune"], ["image", "prune", "-a"], ["network", "prune"],
        ["volume", "prune"], ["volume", "prune", "-a"], ["system", "prune"], ["system", "prune", "-a", "--volumes"],
    ]

    @Test(
        "every prune answered n, no, an empty line, yep, endless y without a newline or nothing at all removes nothing and exits 0"
    )
    func declined() {
        withFixture { f in
            let before = f.snapshot()
            #expect(before.count == 13, "fixture: \(before)")
            for prune in Self.prunes {
                for answer: String? in ["n\n", "no\n", "\n", "yep\n", "N", nil, String(repeating: "y", count: 5000)] {
                    let r = f.store.berth(prune, stdin: answer)
                    #expect(r.status == 0, "\(prune) with \(String(describing: answer)): \(r.stderr)")
                    #expect(r.stdout.hasPrefix("WARNING! This will remove"), "\(prune): \(r.stdout)")
                    #expect(r.stdout.hasSuffix("Are you sure you want to continue? [y/N] "), "\(prune): \(r.stdout)")
                    #expect(r.stderr.isEmpty, "\(prune): \(r.stderr)")
                }
                #expect(f.snapshot() == before, "\(prune) declined removed something")
            }
        }
    }

    @Test("the questions are Docker's, word for word")
    func dockerTexts() {
        withFixture { f in
            let ask = "Are you sure you want to continue? [y/N] "
            let expected: [([String], String)] = [
                (["container", "prune"], "WARNING! This will remove all stopped containers.\n" + ask),
                (["image", "prune"], "WARNING! This will remove all dangling images.\n" + ask),
                (
                    ["image", "prune", "-a"],
                    "WARNING! This will remove all images without at least one container associated to them.\n" + ask
                ),
                (
                    ["network", "prune"],
                    "WARNING! This will remove all custom networks not used by at least one container.\n" + ask
                ),
                (
                    ["system", "prune"],
                    """
                    WARNING! This will remove:
                      - all stopped containers
                      - all networks not used by at least one container
                      - all dangling images

                    \(ask)
                    """
                ),
                (
                    ["system", "prune", "-a", "--volumes", "--filter", "label!=c", "--filter", "label=a=b"],
                    """
                    WARNING! This will remove:
                      - all stopped containers
                      - all networks not used by at least one container
                      - all anonymous volumes not used by at least one container
                      - all images without at least one container associated to them

                      Items to be pruned will be filtered with:
                      - label!=c
                      - label=a=b

                    \(ask)
                    """
                ),
                (
                    ["system", "prune", "--filter", "until=24h"],
                    """
                    WARNING! This will remove:
                      - all stopped containers
                      - all networks not used by at least one container
                      - all dangling images

                      Items to be pruned will be filtered with:
                      - until=24h

                    \(ask)
                    """
                ),
            ]
            for (args, text) in expected {
                let r = f.store.berth(args, stdin: "n\n")
                #expect(r.stdout == text, "\(args)")
            }
        }
    }

    @Test(
        "bad filters (until with --volumes, unknown keys, words, huge numbers, two untils) are refused with one line, removing nothing"
    )
    func volumesUntilRefused() {
        withFixture { f in
            let before = f.snapshot()
            expectOneErrorLine(f.store.berth(["system", "prune", "-f", "--volumes", "--filter", "until=1h"]), naming: ["until"])
            expectOneErrorLine(
                f.store.berth(["image", "prune", "-f", "--filter", "color=red"]), naming: ["Invalid filter 'color'"])
            expectOneErrorLine(f.store.berth(["container", "prune", "-f", "--filter", "until=yesterday"]), naming: ["yesterday"])
            expectOneErrorLine(
                f.store.berth(["container", "prune", "-f", "--filter", "until=99999999999999999999"]),
                naming: ["99999999999999999999"])
            expectOneErrorLine(
                f.store.berth(["image", "prune", "-f", "--filter", "until=99999999999999999999h"]),
                naming: ["99999999999999999999h"])
            expectOneErrorLine(
                f.store.berth(["network", "prune", "-f", "--filter", "until=1h", "--filter", "until=2h"]),
                naming: ["more than one until filter"])
            expectOneErrorLine(f.store.berth(["system", "prune", "-f", "--filter", "label"]), naming: ["label"])
            #expect(f.snapshot() == before)
        }
    }

    @Test(
        "system prune on y removes stopped containers, unused networks and dangling images; running containers, their networks, volumes and used images stay"
    )
    func systemPruneYes() {
        withFixture { f in
            let r = f.store.berth(["system", "prune"], stdin: "y\n")
            #expect(r.status == 0, "\(r.stderr)")
            // Containers go first, as in Docker: the stopped one's dangling image is unused by then.
            let images = [f.danglingUnused, f.danglingInUse].sorted().map { "deleted: " + $0 + "\n" }.joined()
            #expect(
                r.stdout.contains(
                    "[y/N] Deleted Containers:\n\(f.stoppedID)\n\nDeleted Networks:\nidle\n\nDeleted Images:\n\(images)\nTotal reclaimed space: "
                ),
                "\(r.stdout)")
            #expect(f.containers() == ["up"])
            #expect(f.networks() == ["bridge", "busy", "host", "none"])
            #expect(f.volumes() == ["named", f.anonymous], "without --volumes every volume stays")
            #expect(!f.images().contains(f.danglingInUse), "the stopped container went first, so its dangling image went too")
            #expect(f.images().contains(f.tagged), "a tagged image stays without -a")
            #expect(f.store.status("up")?.hasPrefix("Up") == true)
        }
    }

    @Test(
        "system prune -a --volumes -f asks nothing and also removes unused tagged images and anonymous volumes, never named ones")
    func systemPruneAllVolumes() {
        withFixture { f in
            let busybox = f.store.inspect("up", "{{.Image}}")
            let r = f.store.berth(["system", "prune", "-a", "--volumes", "-f"], stdin: "n\n")
            #expect(r.status == 0, "\(r.stderr)")
            #expect(!r.stdout.contains("Are you sure"), "-f never asks: \(r.stdout)")
            #expect(r.stdout.contains("Deleted Volumes:\n\(f.anonymous)\n\n"), "\(r.stdout)")
            #expect(r.stdout.contains("untagged: old:latest\ndeleted: \(f.tagged)\n"), "\(r.stdout)")
            #expect(f.containers() == ["up"])
            #expect(f.volumes() == ["named"])
            #expect(f.images() == [busybox], "only the running container's image stays")
            #expect(f.networks() == ["bridge", "busy", "host", "none"])
        }
    }

    @Test("each prune on yes (y, yes, Y) removes exactly its kind")
    func eachPruneYes() {
        withFixture { f in
            let networks = f.store.berth(["network", "prune"], stdin: "yes\n")
            #expect(networks.stdout.hasSuffix("[y/N] Deleted Networks:\nidle\n\n"), "\(networks.stdout)")
            #expect(f.networks() == ["bridge", "busy", "host", "none"])

            let images = f.store.berth(["image", "prune"], stdin: "Y\n")
            #expect(
                images.stdout.hasSuffix("[y/N] Deleted Images:\ndeleted: \(f.danglingUnused)\n\nTotal reclaimed space: 0B\n"),
                "the image's only layer is busybox's, still used: \(images.stdout)")
            #expect(f.images().contains(f.danglingInUse), "a dangling image a stopped container uses stays")

            let all = f.store.berth(["image", "prune", "-a"], stdin: "y\n")
            #expect(all.stdout.contains("Deleted Images:\nuntagged: old:latest\ndeleted: \(f.tagged)\n"), "\(all.stdout)")
            #expect(f.images().count == 2, "busybox (running) and the stopped container's image stay")

            let containers = f.store.berth(["container", "prune"], stdin: " y \n")
            #expect(
                containers.stdout.contains("[y/N] Deleted Containers:\n\(f.stoppedID)\n\nTotal reclaimed space: "),
                "\(containers.stdout)")
            #expect(f.containers() == ["up"])

            let volumes = f.store.berth(["volume", "prune"], stdin: "y\n")
            #expect(volumes.stdout.contains("Deleted Volumes:\n\(f.anonymous)\n"), "\(volumes.stdout)")
            #expect(f.volumes() == ["named"])
        }
    }

    @Test("filters: label= and label!= on image labels, until= on creation time")
    func filters() {
        withFixture { f in
            // Created before an hour ago: nothing is.
            let old = f.store.berth(["system", "prune", "-a", "-f", "--filter", "until=1h"])
            #expect(!old.stdout.contains("Deleted"), "\(old.stdout)")
            // label!=keep spares the image labelled keep=yes; label=tier prunes only the one labelled tier.
            let tier = f.store.berth(["image", "prune", "-a", "-f", "--filter", "label=tier=scratch"])
            #expect(tier.stdout.contains("deleted: \(f.danglingUnused)") && !tier.stdout.contains(f.tagged), "\(tier.stdout)")
            let notKeep = f.store.berth(["image", "prune", "-a", "-f", "--filter", "label!=keep"])
            #expect(
                !notKeep.stdout.contains("Deleted Images"), "only old:latest was left unused, and it has keep: \(notKeep.stdout)")
            #expect(f.images().contains(f.tagged))
            // Networks have their `network create --label` ones.
            #expect(f.store.berth("network", "create", "--label", "x=1", "tagged").status == 0)
            let labelled = f.store.berth(["network", "prune", "-f", "--filter", "label=x"])
            #expect(labelled.stdout.contains("tagged") && !labelled.stdout.contains("idle"), "\(labelled.stdout)")
            let notLabelled = f.store.berth(["network", "prune", "-f", "--filter", "label!=x"])
            #expect(notLabelled.stdout.contains("idle"), "\(notLabelled.stdout)")
            // A container's labels are its image's: the stopped one's image has none.
            let future = Timestamp(seconds: Timestamp.now.seconds + 3600).rfc3339
            let keep = f.store.berth(["container", "prune", "-f", "--filter", "label=keep", "--filter", "until=" + future])
            #expect(!keep.stdout.contains("Deleted"), "\(keep.stdout)")
            // One made from old:latest (labelled keep=yes) carries keep: label!=keep spares it.
            let kept = f.store.berth("create", "--name", "kept", "--network", "none", "old:latest", "sh").stdout
                .trimmingSpacesAndNewlines
            #expect(kept.count == 64, "create from old:latest")
            let gone = f.store.berth(["container", "prune", "-f", "--filter", "label!=keep", "--filter", "until=" + future])
            #expect(gone.stdout.contains(f.stoppedID) && !gone.stdout.contains(kept), "\(gone.stdout)")
            let keepYes = f.store.berth(["container", "prune", "-f", "--filter", "label=keep=yes"])
            #expect(keepYes.stdout.contains("Deleted Containers:\n\(kept)\n"), "\(keepYes.stdout)")
            #expect(f.containers() == ["up"])
        }
    }

    @Test("three container prunes at once: each stopped container is removed and reported exactly once, with no error")
    func concurrentPrunes() {
        withStore { store in
            var ids: Set<String> = []
            for _ in 0..<60 {
                ids.insert(store.berth("create", "--network", "none", "busybox").stdout.trimmingSpacesAndNewlines)
            }
            let prune = [berthBinary, "--root", store.root, "container", "prune", "-f"]
            let results = runConcurrently([prune, prune, prune])
            let reported = results.flatMap { lines($0.stdout).map(String.init).filter { $0.count == 64 } }
            #expect(results.allSatisfy { $0.status == 0 && $0.stderr.isEmpty }, "\(results.map(\.stderr))")
            #expect(reported.count == 60 && Set(reported) == ids, "reported \(reported.count) removals of 60 containers")
            #expect(store.berth("ps", "-aq").stdout.isEmpty)
            #expect(FileSystem.list(store.root + "/locks").filter { $0.hasPrefix("container-") }.isEmpty, "no lock file left")
        }
    }

    @Test("every registered prune (and system reset) asks before removing: a new one cannot forget")
    func everyDestructiveCommandAsks() {
        let root = makeTempDirectory("asks")
        defer { removeTree(root) }
        let commands = lines(berth(root, "plugin", "ls", "--kind", "command", "-q").stdout).map(String.init)
            .filter { $0.hasSuffix(" prune") || $0 == "system reset" }
        #expect(commands.count >= 6, "\(commands)")
        for command in commands {
            let words = command.split(separator: " ").map(String.init)
            let r = runProcess([berthBinary, "--root", root] + words, stdin: "n\n")
            #expect(
                r.status == 0 && r.stdout.hasSuffix("Are you sure you want to continue? [y/N] "),
                "\(command): \(r.stdout) \(r.stderr)")
            let help = runProcess([berthBinary, "--root", root] + words + ["--help"]).stdout
            #expect(help.contains("--force"), "\(command) has -f/--force: \(help)")
        }
    }
}
