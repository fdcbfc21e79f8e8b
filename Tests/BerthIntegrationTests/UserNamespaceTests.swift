import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `--uidmap`/`--gidmap` and `--userns`: PID 1 in a user namespace of its
/// own, the image shown owned by its root through idmapped layers, ids seen
/// from the host shifted, and `auto` ranges that never overlap. The
/// subordinate ids come from throw-away files named by `BERTH_TEST_SUBUID`
/// and `BERTH_TEST_SUBGID`, so the host's /etc/subuid is never touched.
@Suite("UserNamespaceTests", .serialized)
struct UserNamespaceTests {
    /// A store plus subid files giving the `containers` user `ids` ids from `start`.
    final class Fixture {
        let store: LifecycleStore
        let subids: String

        init(start: Int = 300000, ids: Int = 131072, sourceLocation: SourceLocation = #_sourceLocation) {
            store = LifecycleStore(sourceLocation: sourceLocation)
            subids = makeTempDirectory("subid")
            for kind in ["uid", "gid"] {
                writeFile(subids + "/sub" + kind, "someone:100000:65536\ncontainers:\(start):\(ids)\n")
            }
            stores = subids + "/stores"
        }

        /// The test's subid files, and its own list of stores with ranges
        /// (`stores`: a test of two stores gives both the same one).
        var environment: [String: String] {
            [
                "BERTH_TEST_SUBUID": subids + "/subuid", "BERTH_TEST_SUBGID": subids + "/subgid",
                "BERTH_TEST_USERNS_STORES": stores,
            ]
        }
        var stores: String

        /// `berth --root ROOT ARGS…` with the test's subid files.
        @discardableResult
        func berth(_ args: String..., stdin: String? = nil) -> ProcessResult { berth(args, stdin: stdin) }

        @discardableResult
        func berth(_ args: [String], stdin: String? = nil) -> ProcessResult {
            let result = runProcess(
                [berthBinary, "--root", store.root] + args, stdin: stdin,
                environment: environment)
            store.note(result.stdout)
            return result
        }

        func cleanUp(sourceLocation: SourceLocation) {
            store.cleanUp(sourceLocation: sourceLocation)
            removeTree(subids)
        }
    }

    private func withFixture(
        start: Int = 300000, ids: Int = 131072, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (Fixture) throws -> Void
    ) rethrows {
        let f = Fixture(start: start, ids: ids, sourceLocation: sourceLocation)
        defer { f.cleanUp(sourceLocation: sourceLocation) }
        try body(f)
    }

    /// The `Uid:`/`Gid:` line of a host process, as the host sees it.
    private func idLine(_ pid: Int32, _ key: String) -> String {
        readFile("/proc/\(pid)/status").split(separator: "\n").first { $0.hasPrefix(key + ":") }.map(String.init) ?? ""
    }

    /// The first host id of a process's uid_map.
    private func mappedStart(_ pid: Int32) -> Int? {
        let fields = readFile("/proc/\(pid)/uid_map").split(whereSeparator: { $0 == " " || $0 == "\n" })
        return fields.count >= 3 ? Int(fields[1]) : nil
    }

    private func owner(_ path: String) -> (UInt32, UInt32) {
        var st = stat()
        return lstat(path, &st) == 0 ? (st.st_uid, st.st_gid) : (UInt32.max, UInt32.max)
    }

    @Test("--uidmap 0:100000:65536: root inside, uid 100000 from the host, the image owned by root, idmapped layers recorded")
    func explicitMap() {
        withFixture { f in
            let run = f.berth("run", "-d", "--name", "un1", "--uidmap", "0:100000:65536", "busybox", "sleep", "1000")
            #expect(run.status == 0, "\(run.stderr)")
            let id = f.berth("exec", "un1", "id")
            #expect(id.stdout == "uid=0(root) gid=0(root) groups=0(root)\n", "\(id.stdout) \(id.stderr)")
            let pid = f.store.pid("un1")
            #expect(pid > 0)
            // The escaped-process check: PID 1 seen from the host is unprivileged.
            #expect(idLine(pid, "Uid") == "Uid:\t100000\t100000\t100000\t100000", "\(idLine(pid, "Uid"))")
            #expect(idLine(pid, "Gid") == "Gid:\t100000\t100000\t100000\t100000", "\(idLine(pid, "Gid"))")
            #expect(
                readFile("/proc/\(pid)/uid_map").split(separator: " ", omittingEmptySubsequences: true) == [
                    "0", "100000", "65536\n",
                ])
            let ls = f.berth("exec", "un1", "ls", "-ln", "/bin/busybox")
            let cells = ls.stdout.split(separator: " ", omittingEmptySubsequences: true)
            #expect(cells.count > 4 && cells[2] == "0" && cells[3] == "0", "the image's files are root's inside: \(ls.stdout)")
            // What container root writes is root's inside, and the upper layer stores the ids it sees.
            let touch = f.berth(
                "exec", "un1", "sh", "-c", "echo hi > /made && ls -ln /made && echo x > /dev/null && echo null-ok")
            #expect(touch.stdout.contains(" 0        0 ") && touch.stdout.contains("null-ok"), "\(touch.stdout) \(touch.stderr)")
            let upper = f.store.root + "/containers/" + f.store.inspect("un1", "{{.Id}}") + "/upper/made"
            #expect(owner(upper) == (0, 0), "the writable layer holds container-view ids: \(owner(upper))")
            #expect(f.store.inspect("un1", "{{.HostConfig.IDMappings.UidMap}}") == "[0:100000:65536]")
            #expect(f.store.inspect("un1", "{{.HostConfig.IDMappings.GidMap}}") == "[0:100000:65536]")
            #expect(f.store.inspect("un1", "{{.HostConfig.IDMappings.RootfsMapping}}") == "idmapped-mounts")
            // A map of root alone (no gid 5 for devpts's tty group) still starts.
            let small = f.berth("run", "--rm", "--uidmap", "0:200000:1", "busybox", "id", "-u")
            #expect(small.stdout == "0\n", "\(small.stdout) \(small.stderr)")
            // The image's layer on disk is unchanged: still owned by host root.
            let host = f.berth("run", "--rm", "busybox", "ls", "-ln", "/bin/busybox")
            #expect(
                host.stdout.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first == "0", "\(host.stdout)")
        }
    }

    @Test("a user namespace's mount points, made in the container's layer, stay out of diff and commit")
    func mountPointsOutOfDiffAndCommit() {
        withFixture { f in
            #expect(f.berth("run", "--name", "quiet", "--userns", "auto", "--network", "none", "busybox", "true").status == 0)
            #expect(f.berth("diff", "quiet").stdout == "", "a container that changed nothing")
            #expect(f.berth("commit", "quiet", "quiet:1").status == 0)
            let layers = f.berth("image", "inspect", "-f", "{{range .RootFS.Layers}}{{println .}}{{end}}", "quiet:1")
            let top = lines(layers.stdout).last.map { String($0.dropFirst(7)) } ?? ""
            #expect(FileSystem.list(f.store.root + "/layers/sha256/\(top)/diff") == [], "the committed layer: \(layers.stdout)")
            let run = f.berth("run", "--name", "touched", "--userns", "auto", "--network", "none", "busybox", "touch", "/etc/foo")
            #expect(run.status == 0, "\(run.stderr)")
            #expect(f.berth("diff", "touched").stdout == "C /etc\nA /etc/foo\n")
        }
    }

    @Test("capabilities, the seccomp filter, masked and read-only paths still apply inside the user namespace")
    func confinementStays() {
        withFixture { f in
            let r = f.berth(
                "run", "--rm", "--userns=auto", "busybox", "sh", "-c",
                "grep -E '^(CapEff|Seccomp):' /proc/self/status; [ -c /proc/keys ] && echo keys-masked; "
                    + "echo x > /proc/sys/kernel/domainname 2>/dev/null || echo sys-ro; "
                    + "mknod /n c 1 3 2>/dev/null || echo no-mknod; cat /proc/kcore 2>/dev/null | wc -c")
            #expect(r.status == 0, "\(r.stderr)")
            #expect(
                r.stdout == "CapEff:\t00000000a80425fb\nSeccomp:\t2\nkeys-masked\nsys-ro\nno-mknod\n0\n",
                "\(r.stdout) \(r.stderr)")
        }
    }

    @Test("files container root writes in a bind mount and a named volume belong to host uid 100000")
    func volumesShowMappedOwners() {
        withFixture { f in
            let dir = makeTempDirectory("userns-bind")
            defer { removeTree(dir) }
            // The host directory must be writable by the mapped root, as with Podman.
            #expect(chown(dir, 100000, 100000) == 0)
            let run = f.berth(
                "run", "--rm", "--uidmap", "0:100000:65536", "-v", dir + ":/data", "-v", "named:/vol", "busybox", "sh", "-c",
                "touch /data/f /vol/g && ls -ln /vol")
            #expect(run.status == 0, "\(run.stderr)")
            #expect(owner(dir + "/f") == (100000, 100000), "bind: \(owner(dir + "/f"))")
            let data = f.store.root + "/volumes/named/_data"
            #expect(owner(data + "/g") == (100000, 100000), "named volume: \(owner(data + "/g"))")
            #expect(run.stdout.contains(" 0        0 "), "inside, the volume's file is root's: \(run.stdout)")
            f.berth("volume", "rm", "named")
        }
    }

    @Test("two concurrent --userns=auto containers get disjoint ranges; rm frees a range for the next; none left is one line")
    func autoRanges() {
        withFixture(start: 300000, ids: 131072) { f in
            let base = [berthBinary, "--root", f.store.root, "run", "-d", "--userns=auto", "busybox", "sleep", "1000"]
            let env = ["env"] + f.environment.map { "\($0.key)=\($0.value)" }
            let both = runConcurrently([env + base, env + base])
            for r in both {
                #expect(r.status == 0, "\(r.stderr)")
                f.store.note(r.stdout)
            }
            let ids = both.map { String($0.stdout.prefix(64)) }
            let starts = ids.map { mappedStart(f.store.pid($0)) }
            #expect(Set(starts.compactMap { $0 }) == [300000, 365536], "disjoint ranges of the containers user: \(starts)")
            for id in ids {
                #expect(f.store.inspect(id, "{{.HostConfig.UsernsMode}}") == "auto")
                let pid = f.store.pid(id)
                #expect(idLine(pid, "Uid").hasPrefix("Uid:\t3"), "PID 1 is a subordinate uid on the host: \(idLine(pid, "Uid"))")
            }
            // Both ranges are taken: a third is refused in one line, nothing made.
            let third = f.berth("run", "-d", "--userns=auto", "busybox", "sleep", "1000")
            expectOneErrorLine(third, naming: ["no free range", "containers"], status: 125)
            #expect(lines(f.berth("ps", "-aq").stdout).count == 2)
            // An explicit map's range counts as taken too.
            #expect(f.berth("rm", "-f", ids[1]).status == 0)
            let explicit = f.berth("create", "--uidmap", "0:\(starts[1] ?? 0):65536", "busybox", "true")
            #expect(explicit.status == 0, "\(explicit.stderr)")
            expectOneErrorLine(
                f.berth("run", "-d", "--userns=auto", "busybox", "sleep", "1000"), naming: ["no free range"], status: 125)
            // rm gives the first container's range back.
            let freed = starts[0]
            #expect(f.berth("rm", "-f", ids[0]).status == 0)
            let again = f.berth("run", "-d", "--userns=auto:size=65536", "busybox", "sleep", "1000")
            #expect(again.status == 0, "\(again.stderr)")
            #expect(mappedStart(f.store.pid(String(again.stdout.prefix(64)))) == freed, "the freed range is reused")
        }
    }

    @Test("--userns=auto without subordinate ids for containers names the line to add")
    func autoWithoutSubids() {
        withFixture(start: 300000, ids: 0) { f in
            let r = f.berth("run", "--rm", "--userns=auto", "busybox", "true")
            expectOneErrorLine(r, naming: ["containers:", "subuid"], status: 125)
            #expect(f.berth("ps", "-aq").stdout.isEmpty)
        }
    }

    @Test("keep-id run by root: container root is host root, inside a user namespace of its own")
    func keepIDAsRoot() {
        withFixture { f in
            let r = f.berth("run", "-d", "--name", "keep1", "--userns=keep-id", "busybox", "sleep", "1000")
            #expect(r.status == 0, "\(r.stderr)")
            let pid = f.store.pid("keep1")
            let map = readFile("/proc/\(pid)/uid_map").split(separator: "\n").map {
                $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            }
            #expect(map == ["0 0 1", "1 300000 65535"], "\(map)")
            #expect(
                FileSystem.readLink("/proc/\(pid)/ns/user") != FileSystem.readLink("/proc/self/ns/user"),
                "a user namespace of its own")
            #expect(f.berth("exec", "keep1", "id", "-u").stdout == "0\n")
        }
    }

    @Test("exec, attach, stop/start/restart, pause, commit (portable ids) and export work with a user namespace")
    func lifecycle() {
        withFixture { f in
            let run = f.berth(
                "run", "-d", "-i", "--name", "life1", "--uidmap", "0:100000:65536", "busybox", "sh", "-c",
                "while read line; do echo got $line; done")
            #expect(run.status == 0, "\(run.stderr)")
            let attach = f.berth("attach", "life1", stdin: "ping\n")
            #expect(attach.stdout.contains("got ping"), "attach: \(attach.stdout) \(attach.stderr)")
            #expect(f.berth("start", "life1").status == 0)
            #expect(f.berth("pause", "life1").status == 0)
            #expect(f.store.inspect("life1", "{{.State.Status}}") == "paused")
            #expect(f.berth("unpause", "life1").status == 0)
            #expect(f.berth("exec", "life1", "sh", "-c", "echo data > /committed && chown 1:2 /committed").status == 0)
            // cp in both directions: what goes in is the container root's, -a out keeps the ids it sees.
            let cpDir = makeTempDirectory("userns-cp")
            defer { removeTree(cpDir) }
            writeFile(cpDir + "/in.txt", "copied\n")
            let cpIn = f.berth("cp", cpDir + "/in.txt", "life1:/tmp/")
            #expect(cpIn.status == 0, "cp in: \(cpIn.stderr)")
            let inside = f.berth("exec", "life1", "ls", "-ln", "/tmp/in.txt")
            #expect(inside.stdout.contains(" 0        0 "), "cp in is root's inside: \(inside.stdout) \(inside.stderr)")
            #expect(f.berth("cp", "-a", "life1:/committed", cpDir + "/out").status == 0)
            #expect(owner(cpDir + "/out") == (1, 2), "cp -a out keeps the container's ids: \(owner(cpDir + "/out"))")
            #expect(f.berth("stop", "-t", "1", "life1").status == 0)
            #expect(f.berth("start", "life1").status == 0)
            #expect(f.berth("restart", "-t", "1", "life1").status == 0)
            let pid = f.store.pid("life1")
            #expect(idLine(pid, "Uid") == "Uid:\t100000\t100000\t100000\t100000", "after restart: \(idLine(pid, "Uid"))")
            #expect(f.berth("exec", "life1", "cat", "/committed").stdout == "data\n")
            // commit: the layer holds the ids the container saw, so the image runs anywhere.
            let commit = f.berth("commit", "life1", "committed:1")
            #expect(commit.status == 0, "\(commit.stderr)")
            let plain = f.berth("run", "--rm", "committed:1", "ls", "-ln", "/committed", "/bin/busybox")
            let owners = lines(plain.stdout).map {
                $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).prefix(2).joined(separator: ":")
            }
            #expect(owners == ["0:0", "1:2"], "busybox root's, /committed 1:2: \(plain.stdout) \(plain.stderr)")
            // export: a flat tar with the container's own view of the owners.
            let dir = makeTempDirectory("userns-export")
            defer { removeTree(dir) }
            #expect(f.berth("export", "-o", dir + "/l.tar", "life1").status == 0)
            let listing = sh(
                "tar -tvf \(shellQuote(dir + "/l.tar")) --numeric-owner ./bin/busybox ./committed 2>&1 || tar -tvf \(shellQuote(dir + "/l.tar")) --numeric-owner bin/busybox committed"
            )
            #expect(listing.stdout.contains(" 0/0 ") && listing.stdout.contains(" 1/2 "), "export: \(listing.stdout)")
            #expect(!listing.stdout.contains("100000"))
        }
    }

    @Test("the chowned-copy fallback: layers copied once per chain and map with shifted owners; commit shifts back")
    func chownedCopyFallback() {
        withFixture { f in
            // BERTH_TEST_IDMAP forces the fallback this kernel never needs (it has idmapped layers).
            func forced(_ args: String...) -> ProcessResult {
                let r = runProcess(
                    [berthBinary, "--root", f.store.root] + args,
                    environment: ["BERTH_TEST_IDMAP": "chowned-copy"])
                f.store.note(r.stdout)
                return r
            }
            #expect(forced("run", "-d", "--name", "cc1", "--uidmap", "0:100000:65536", "busybox", "sleep", "1000").status == 0)
            #expect(forced("run", "-d", "--name", "cc2", "--uidmap", "0:100000:65536", "busybox", "sleep", "1000").status == 0)
            #expect(f.store.inspect("cc1", "{{.HostConfig.IDMappings.RootfsMapping}}") == "chowned-copy")
            let copies = shiftedCopies(f.store.root)
            #expect(copies.count == 1, "one copy for one chain and map, shared: \(copies)")
            let copied = f.store.root + "/storage/overlay/shifted/" + (copies.first ?? "") + "/0/bin/busybox"
            #expect(owner(copied) == (100000, 100000), "the copy's owners are shifted: \(owner(copied))")
            let ls = f.berth("exec", "cc1", "sh", "-c", "ls -ln /bin/busybox; id -u; echo x > /made; chown 3:4 /made")
            let cells = ls.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" })
            #expect(cells.count > 4 && cells[2] == "0" && cells[3] == "0" && cells.last == "0", "\(ls.stdout) \(ls.stderr)")
            #expect(idLine(f.store.pid("cc1"), "Uid") == "Uid:\t100000\t100000\t100000\t100000")
            let upper = f.store.root + "/containers/" + f.store.inspect("cc1", "{{.Id}}") + "/upper/made"
            #expect(owner(upper) == (100003, 100004), "this writable layer holds host ids: \(owner(upper))")
            #expect(f.berth("commit", "cc1", "shifted:1").status == 0)
            let plain = f.berth("run", "--rm", "shifted:1", "ls", "-ln", "/made")
            #expect(
                plain.stdout.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).prefix(2) == ["3", "4"],
                "commit shifted the ids back: \(plain.stdout) \(plain.stderr)")
        }
    }

    /// The names of the whole shifted copies (16 hex digits) in a store.
    private func shiftedCopies(_ root: String) -> [String] {
        FileSystem.list(root + "/storage/overlay/shifted").filter { name in
            name.count == 16 && name.allSatisfy { $0.isHexDigit }
        }.sorted()
    }

    @Test("chowned copies are collected: rm of the last user removes one, prune removes orphans and a dead berth's KEY.tmp-PID")
    func chownedCopyCollected() {
        withFixture { f in
            func forced(_ args: String...) -> ProcessResult {
                let r = runProcess(
                    [berthBinary, "--root", f.store.root] + args, environment: ["BERTH_TEST_IDMAP": "chowned-copy"])
                f.store.note(r.stdout)
                return r
            }
            let shifted = f.store.root + "/storage/overlay/shifted"
            for (name, map) in [("gc1", "0:100000:65536"), ("gc2", "0:100000:65536"), ("gc3", "0:200000:65536")] {
                let run = forced("run", "-d", "--name", name, "--uidmap", map, "busybox", "sleep", "1000")
                #expect(run.status == 0, "\(name): \(run.stderr)")
            }
            let both = shiftedCopies(f.store.root)
            #expect(both.count == 2, "one copy per map: \(both)")
            // gc2 still uses gc1's copy: it stays; gc3 was the last user of its own: it goes.
            #expect(f.berth("rm", "-f", "gc1").status == 0)
            #expect(shiftedCopies(f.store.root) == both, "a copy in use is kept")
            #expect(f.berth("exec", "gc2", "ls", "/bin/busybox").status == 0)
            #expect(f.berth("rm", "-f", "gc3").status == 0)
            let left = shiftedCopies(f.store.root)
            #expect(left.count == 1 && FileSystem.list(shifted + "/refs") == left, "rm removed the unused copy: \(left)")

            // A berth killed while copying: its KEY.tmp-PID stays (the
            // crash hook stops it just before the copy's identity is
            // written) until a prune, once that PID is gone.
            let argv = [
                "/usr/bin/env", "BERTH_TEST_STOP_BEFORE_RENAME=identity", "BERTH_TEST_IDMAP=chowned-copy", berthBinary, "--root",
                f.store.root, "run", "-d", "--name", "gck", "--uidmap", "0:200000:65536", "busybox", "sleep", "1000",
            ]
            // Its stdio is /dev/null, never the test binary's: swift test
            // waits until nothing holds those.
            guard let killed = spawnProcess(argv, env: currentEnvironment(), devNull: true) else {
                Issue.record("cannot start \(argv.joined(separator: " "))")
                return
            }
            let staging = shifted + "/" + (both.first { !left.contains($0) } ?? "") + ".tmp-\(killed)"
            let stopped = eventually(20) { readFile("/proc/\(killed)/stat").contains(") T ") }
            #expect(stopped && fileExists(staging), "the copy was stopped half-way: \(FileSystem.list(shifted))")
            kill(killed, SIGKILL)
            var status: Int32 = 0
            while waitpid(killed, &status, 0) < 0 && errno == EINTR {}
            #expect(fileExists(staging), "a killed copy is left as KEY.tmp-PID, never as a whole KEY")
            #expect(f.berth("image", "prune", "-f").status == 0)
            #expect(!fileExists(staging), "\(FileSystem.list(shifted))")
            #expect(f.berth("rm", "-f", "gck").status == 0)
            #expect(shiftedCopies(f.store.root) == left)

            // A copy no container records (its rm was killed) and the staging
            // of a berth killed while copying go at the next prune; a live
            // process's staging is never touched.
            let dead = Int32(runProcess(["/bin/sh", "-c", "echo $$"]).stdout.dropLast()) ?? -1
            #expect(dead > 0 && kill(dead, 0) != 0)
            let orphan = shifted + "/00000000deadbeef"
            let stale = shifted + "/00000000deadbeef.tmp-\(dead)"
            let live = shifted + "/00000000deadbeef.tmp-\(getpid())"
            for dir in [orphan, stale, live] {
                #expect(sh("mkdir -p \(dir)/0/bin && echo x > \(dir)/0/bin/f && chown -R 100000:100000 \(dir)").status == 0)
            }
            writeFile(orphan + "/identity", "a chain\nuid\n0 100000 65536\ngid\n0 100000 65536\n")
            let pruned = f.berth("image", "prune", "-f")
            #expect(pruned.status == 0, "\(pruned.stderr)")
            #expect(!fileExists(orphan) && !fileExists(stale), "orphan and dead staging removed")
            #expect(fileExists(live + "/0/bin/f"), "a live process's staging is kept")
            #expect(shiftedCopies(f.store.root) == left, "the copy gc2 uses is kept")
            removeTree(live)
            // system prune collects too; a container record gone without its rm drops its user.
            #expect(sh("mkdir -p \(orphan)/0 \(shifted)/refs/00000000deadbeef").status == 0)
            writeFile(shifted + "/refs/00000000deadbeef/" + String(repeating: "f", count: 64), f.store.root + "/containers/gone")
            #expect(f.berth("system", "prune", "-f").status == 0)
            #expect(
                !fileExists(orphan) && !fileExists(shifted + "/refs/00000000deadbeef"), "\(FileSystem.list(shifted + "/refs"))")
            #expect(f.berth("exec", "gc2", "cat", "/bin/busybox").status == 0, "gc2's lower layers are intact")
            #expect(f.berth("rm", "-f", "gc2").status == 0)
            #expect(
                shiftedCopies(f.store.root).isEmpty && FileSystem.list(shifted + "/refs").isEmpty, "\(FileSystem.list(shifted))")
        }
    }

    @Test("--device in a user namespace: the host's node is bound in its place (mknod is not allowed there)")
    func deviceBind() {
        withFixture { f in
            let r = f.berth(
                "run", "--rm", "--userns=auto", "--device", "/dev/zero:/dev/myzero", "busybox", "sh", "-c",
                "head -c 5 /dev/myzero | wc -c; grep -c ' /dev/myzero ' /proc/self/mountinfo")
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout == "5\n1\n", "\(r.stdout) \(r.stderr)")
        }
    }

    @Test("hostile --uidmap, --gidmap and --userns values: one line, exit 125, nothing made")
    func hostileInput() {
        withFixture { f in
            let many = (0..<341).flatMap { ["--uidmap", "\($0 * 10):\(200000 + $0 * 10):10"] }
            let cases: [([String], [String])] = [
                (["--uidmap", "0:100000"], ["--uidmap", "CONTAINER_ID:HOST_ID:AMOUNT"]),
                (["--uidmap", "a:b:c"], ["--uidmap", "not an id"]),
                (["--uidmap", "-1:100000:10"], ["--uidmap", "not an id"]),
                (["--uidmap", "0:99999999999:10"], ["--uidmap", "not an id"]),
                (["--uidmap", "0:4294967290:10"], ["--uidmap", "go past"]),
                (["--uidmap", "0:100000:0"], ["--uidmap", "amount is 0"]),
                (["--uidmap", "0:100000:100", "--uidmap", "50:200000:100"], ["overlap", "container ids"]),
                (["--uidmap", "0:100000:100", "--uidmap", "100:100050:100"], ["overlap", "host ids"]),
                (["--gidmap", "1:100000:100"], ["--gidmap", "container id 0"]),
                (many, ["341 ranges", "340"]),
                (["--userns", "private"], ["--userns", "host, auto"]),
                (["--userns", "auto:size=0"], ["size=N"]),
                (["--userns", "auto:size=99999999999"], ["size=N"]),
                (["--userns=auto", "--uidmap", "0:100000:10"], ["conflict"]),
                (["--isolation", "chroot", "--userns=auto"], ["chroot", "user namespace"]),
                (["--storage", "copy", "--uidmap", "0:100000:65536"], ["copy", "user namespace"]),
                (["--isolation", "oci", "--userns=auto"], ["oci", "user namespace"]),
            ]
            for (flags, naming) in cases {
                let r = f.berth(["create"] + flags + ["busybox", "true"])
                expectRefusal(r, naming: naming, status: 125)
            }
            #expect(f.berth("ps", "-aq").stdout.isEmpty, "nothing was created")
        }
    }
}
