import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// What makes `run --rm` and every command start cheaper (docs/benchmarks.md,
/// "Where a run's time goes"), seen from outside: the disposable overlay, the
/// remembered namespace probe, and the libraries a monitor maps.
@Suite("fast run: volatile --rm layer, remembered probe, lean monitor", .enabled(if: isRoot, "needs root for containers"))
struct FastRunTests {
    /// The mount options of the container's root, as the container sees them.
    private func rootOptions(_ root: String, _ args: String...) -> String {
        let r = runProcess(
            [berthBinary, "--root", root, "run"] + args + ["busybox", "sh", "-c", "grep ' / / ' /proc/self/mountinfo"])
        #expect(r.status == 0, "run: \(r.stderr)")
        return r.stdout
    }

    @Test("a --rm container's overlay is volatile (no sync at unmount); a kept container's is not")
    func volatileOnlyForRm() {
        withBusyboxStore("fastrun") { root in
            let rm = rootOptions(root, "--rm", "--network", "none")
            #expect(rm.contains("overlay") && rm.contains("volatile"), "root of a --rm container: \(rm)")
            let kept = rootOptions(root, "--name", "kept", "--network", "none")
            #expect(kept.contains("overlay") && !kept.contains("volatile"), "root of a kept container: \(kept)")
            // The kept container starts again on the same upper and work dirs.
            let again = berth(root, "start", "-a", "kept")
            #expect(again.status == 0 && !again.stdout.contains("volatile"), "start: \(again.stderr)")
        }
    }

    @Test("a --rm container's layer mounts again after its monitor and PID 1 were killed (kill -9)")
    func volatileAfterKill() {
        withBusyboxStore("fastrun") { root in
            #expect(berth(root, "create", "--rm", "--network", "none", "--name", "vol1", "busybox", "sleep", "1000").status == 0)
            #expect(berth(root, "start", "vol1").status == 0)
            let monitor = Int32(berth(root, "inspect", "-f", "{{.State.MonitorPid}}", "vol1").stdout.filter(\.isNumber)) ?? 0
            let pid1 = Int32(berth(root, "inspect", "-f", "{{.State.Pid}}", "vol1").stdout.filter(\.isNumber)) ?? 0
            #expect(monitor > 0 && pid1 > 0)
            guard monitor > 0, pid1 > 0 else { return }
            kill(monitor, SIGKILL)
            kill(pid1, SIGKILL)
            #expect(
                eventually { berth(root, "ps", "-a", "--format", "{{.Status}}").stdout.hasPrefix("Exited (255)") },
                "the next command records the lost monitor")
            // overlayfs leaves work/work/incompat/volatile, and refuses to mount
            // such a work dir again; berth clears the mark (the layer is disposable).
            let start = berth(root, "start", "vol1")
            #expect(start.status == 0, "start after kill -9: \(start.stderr)")
            #expect(berth(root, "ps", "--format", "{{.Names}}").stdout == "vol1\n")
            #expect(berth(root, "rm", "-f", "vol1").status == 0)
            #expect(berth(root, "ps", "-aq").stdout.isEmpty)
        }
    }

    @Test("a file copied into a created --rm container is there when it starts (its volatile layer mounted twice)")
    func copyThenStartRm() {
        withBusyboxStore("fastrun") { root in
            let file = root + "/hello.txt"
            writeFile(file, "hello from cp\n")
            #expect(
                berth(root, "create", "--rm", "--network", "none", "--name", "cpx", "busybox", "cat", "/hello.txt").status == 0)
            let cp = berth(root, "cp", file, "cpx:/hello.txt")
            #expect(cp.status == 0, "cp: \(cp.stderr)")
            let start = berth(root, "start", "-a", "cpx")
            #expect(start.status == 0 && start.stdout == "hello from cp\n", "start -a: \(start.stdout) \(start.stderr)")
            #expect(eventually { berth(root, "ps", "-aq").stdout.isEmpty }, "the --rm container is removed at its exit")
        }
    }

    @Test(
        "run --rm: gone when run returns (name free, nothing mounted, destroy recorded); its files leave tmp/ just after"
    )
    func rmGoneAtReturn() {
        withBusyboxStore("fastrun") { root in
            for round in 0..<3 {
                // Each round reuses the name: the last round's container freed it before its run returned.
                let run = berth(root, "run", "--rm", "--name", "again", "--network", "none", "busybox", "true")
                #expect(run.status == 0, "round \(round): \(run.stderr)")
                #expect(berth(root, "ps", "-aq").stdout.isEmpty, "round \(round): listed after run --rm returned")
                #expect(FileSystem.list(root + "/containers").isEmpty, "round \(round): a container directory is left")
                #expect(FileSystem.list(root + "/names").isEmpty, "round \(round): the name is still indexed")
                #expect(mounts(under: root).isEmpty, "round \(round): mounts: \(mounts(under: root))")
                #expect(!FileSystem.list(root + "/locks").contains { $0.hasPrefix("container-") }, "round \(round): lock left")
            }
            let actions = berth(root, "events", "--since", "5m", "--until", "0s", "--format", "{{.Action}}").stdout
            #expect(
                actions == String(repeating: "create\nattach\nstart\ndie\ndestroy\n", count: 3),
                "every container's destroy was recorded before its run returned: \(actions)")
            // The monitor deletes the files (moved into tmp/) after the client has the exit, then ends.
            #expect(eventually { FileSystem.list(root + "/tmp").isEmpty }, "tmp: \(FileSystem.list(root + "/tmp"))")
            #expect(eventually { pgrep("--root \(root) __monitor").isEmpty }, "a monitor outlived its clean-up")
        }
    }

    @Test(
        "PID 1 is cloned beside the monitor's cgroup thread: it changes user, and runs only once inside its cgroup"
    )
    func cloneBesideCgroupThread() {
        withBusyboxStore("fastrun") { root in
            // On one CPU the monitor clones PID 1 before its new thread has
            // even begun (on cgroup v1, where the clone does not wait for
            // the cgroup): glibc's setresuid in such a child waits forever
            // for that thread. With the thread held 300 ms instead, it is
            // still making the cgroup at the clone, and PID 1 must not run
            // the user's command before it is in it.
            let v1 = FileSystem.exists("/sys/fs/cgroup/freezer")
            for (user, prefix, env) in [
                ("0:0", ["/usr/bin/taskset", "-c", "0"], [String: String]()),
                ("1000:1000", ["/usr/bin/taskset", "-c", "0"], [:]),
                ("1000:1000", [], ["BERTH_TEST_CGROUP_DELAY_MS": "300"]),
            ] {
                let run = runProcess(
                    ["/usr/bin/timeout", "-s", "KILL", "20"] + prefix + [
                        berthBinary, "--root", root, "run", "--rm", "--cgroupns", "host", "--user", user, "--network", "none",
                        "busybox", "sh", "-c", "id -u; cat /proc/self/cgroup",
                    ], environment: env)
                #expect(run.status == 0, "run --user \(user) \(prefix) \(env): status \(run.status) \(run.stderr)")
                let lines = run.stdout.split(separator: "\n")
                #expect(lines.first.map(String.init) == String(user.prefix { $0 != ":" }), "\(run.stdout)")
                // The container's own hierarchies: v1's controllers on a v1 or hybrid host, else the v2 line.
                let placed = lines.dropFirst().filter {
                    v1 ? $0.contains(":freezer:") || $0.contains(":memory:") : $0.hasPrefix("0::")
                }
                #expect(
                    !placed.isEmpty && placed.allSatisfy { $0.contains("/berth/") && !$0.hasSuffix("/berth/monitors") },
                    "the user's command ran before PID 1 was in its cgroup: \(run.stdout)")
            }
        }
    }

    @Test("the cgroup warm-up begun at the CLI's exec is reaped by the start: an attached run holds no zombie child")
    func earlyWarmupReaped() {
        withBusyboxStore("fastrun") { root in
            let argv = [
                berthBinary, "--root", root, "run", "--rm", "--network", "none", "--name", "early", "busybox", "sleep", "3",
            ]
            guard let pid = spawnProcess(argv, env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"], devNull: true) else {
                Issue.record("spawn run: \(errno)")
                return
            }
            defer {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            }
            #expect(eventually { berth(root, "ps", "-q", "--filter", "name=early").stdout.count > 1 }, "the container never ran")
            // The CLI is attached now: every child it has left is alive (its monitor), none ended and unreaped.
            let children = readFile("/proc/\(pid)/task/\(pid)/children").split(separator: " ")
            let states = children.map { child -> String in
                let stat = readFile("/proc/\(child)/stat")
                guard let close = stat.lastIndex(of: ")") else { return "?" }
                return String(stat[stat.index(after: close)...].split(separator: " ").first ?? "?")
            }
            #expect(!children.isEmpty, "the attached run has no monitor child")
            #expect(!states.contains("Z"), "the attached run holds an ended child it did not reap: states \(states)")
        }
    }

    @Test("a one-command berth keeps its monitors as children and reaps those that ended: six RUN steps, at most one zombie")
    func oneCommandReapsMonitors() {
        withBusyboxStore("fastrun") { root in
            let context = root + "/ctx"
            #expect(mkdir(context, 0o755) == 0)
            writeFile(context + "/Dockerfile", "FROM busybox\n" + String(repeating: "RUN sleep 0.2\n", count: 6))
            let argv = [berthBinary, "--root", root, "build", "--no-cache", "-q", "-t", "steps", context]
            let environment: [String] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"]
            guard let pid = spawnProcess(argv, env: environment, devNull: true) else {
                Issue.record("spawn build: \(errno)")
                return
            }
            // The build's children, sampled until it exits: its monitors are among them.
            func zombies() -> Int {
                FileSystem.list("/proc").filter { $0.allSatisfy(\.isNumber) }.filter { entry in
                    let stat = readFile("/proc/\(entry)/stat")
                    guard let close = stat.lastIndex(of: ")") else { return false }
                    let fields = stat[stat.index(after: close)...].split(separator: " ")
                    return fields.count > 1 && fields[0] == "Z" && fields[1] == "\(pid)"
                }.count
            }
            var most = 0
            var status: Int32 = 0
            let deadline = now() + 120
            while waitpid(pid, &status, WNOHANG) == 0 && now() < deadline {
                most = max(most, zombies())
                usleep(20_000)
            }
            #expect(status == 0, "build: status \(status)")
            #expect(berth(root, "images", "-q", "steps").stdout.count > 0, "the image was built")
            #expect(most <= 1, "the build held \(most) ended monitors at once")
        }
    }

    @Test("the namespace probe is remembered until reboot, and probed again when the note is stale")
    func probeRemembered() {
        let note = "/run/berth/namespaces-probe"
        let saved = fileExists(note) ? readFile(note) : nil
        defer {
            if let saved { writeFile(note, saved) } else { unlink(note) }
        }
        withBusyboxStore("fastrun") { root in
            unlink(note)
            #expect(berth(root, "run", "--rm", "--network", "none", "busybox", "true").status == 0)
            let boot = readFile("/proc/sys/kernel/random/boot_id").filter { !$0.isWhitespace }
            #expect(readFile(note).hasPrefix(boot + " "), "note: \(readFile(note))")
            writeFile(note, "another-boot 1\n")
            #expect(berth(root, "run", "--rm", "--network", "none", "busybox", "true").status == 0)
            #expect(readFile(note).hasPrefix(boot + " "), "a stale note is replaced: \(readFile(note))")
            // BERTH_NAMESPACES=off still wins over the note.
            let off = runProcess(
                [berthBinary, "--root", root, "run", "--rm", "--network", "none", "busybox", "true"],
                environment: ["BERTH_NAMESPACES": "off"])
            #expect(off.stderr.contains("falling back") || off.status != 0, "off: \(off.stderr)")
            // Under a seccomp filter (one that allows everything) the probe is
            // made but not remembered: a sandbox's filter may refuse unshare.
            // In a mount namespace of its own with a fresh /run/berth, so
            // that the runs of tests going on in parallel, which write the
            // host's note, cannot make the file appear.
            let script = """
                mount -t tmpfs berth-probe-test /run/berth || exit 99
                python3 -c "$1" "$2" --root "$3" run --rm --network none busybox true || exit $?
                [ -e /run/berth/namespaces-probe ] && echo "remembered under a filter"
                "$2" --root "$3" run --rm --network none busybox true || exit $?
                [ -e /run/berth/namespaces-probe ] && echo "remembered without one"
                exit 0
                """
            let filtered = runProcess(
                ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", Self.allowAllFilter, berthBinary, root])
            #expect(filtered.status == 0, "under a filter: \(filtered.stderr)")
            #expect(
                filtered.stdout == "remembered without one\n",
                "a process under a seccomp filter remembered the probe, or one with none did not: \(filtered.stdout)")
        }
    }

    /// python3 -c: installs a seccomp filter that allows every call, then
    /// execs argv[1:] under it.
    private static let allowAllFilter = """
        import ctypes, os, struct, sys
        libc = ctypes.CDLL(None, use_errno=True)
        code = struct.pack("HBBI", 0x06, 0, 0, 0x7fff0000)
        buf = ctypes.create_string_buffer(code, len(code))
        class Prog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
        prog = Prog(1, ctypes.addressof(buf))
        assert libc.prctl(38, 1, 0, 0, 0) == 0
        assert libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0
        os.execv(sys.argv[1], sys.argv[1:])
        """

    @Test("a container's monitor does not map libedit (only the REPL loads it)")
    func monitorMapsNoLibedit() {
        withBusyboxStore("fastrun") { root in
            #expect(berth(root, "run", "-d", "--name", "lean", "--network", "none", "busybox", "sleep", "1000").status == 0)
            let monitor = berth(root, "inspect", "-f", "{{.State.MonitorPid}}", "lean").stdout.filter(\.isNumber)
            let maps = readFile("/proc/\(monitor)/maps")
            #expect(maps.contains("berth"), "not the monitor's maps: \(maps.prefix(200))")
            #expect(!maps.contains("libedit"), "the monitor maps libedit")
        }
    }
}
