import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// Rootless Berth (docs/rootless.md), run as a throw-away non-root user
/// with subordinate ids (`RootlessUser`): the namespace and the store, the
/// lifecycle without cgroups, a published port through slirp4netns reached
/// from the host, volume ownership, images, a terminal, and a pull from a
/// registry on loopback. Each test removes its user, the user's processes
/// and subid lines, and its files, even when it fails.
@Suite("Rootless", .serialized, .enabled(if: isRoot, "needs root to create a throw-away user"))
struct RootlessTests {
    /// Skips nothing silently: a missing prerequisite is a recorded failure.
    private func ready() -> Bool {
        if let missing = rootlessPrerequisites() {
            Issue.record(Comment(rawValue: missing))
            return false
        }
        return true
    }

    @Test("no subordinate ids: one line naming /etc/subuid and the fix; --version still works")
    func withoutSubids() {
        guard ready() else { return }
        withRootlessUser(subids: false) { u in
            expectOneErrorLine(u.berth("images"), naming: ["/etc/subuid", "/etc/subgid", u.name, "usermod --add-subuids"])
            let version = u.berth("--version")
            #expect(version.status == 0 && version.stdout.hasPrefix("berth version"), "\(version.stderr)")
            #expect(!fileExists(u.store), "no store was made")
        }
    }

    @Test("the pause process holds the user's namespace: maps from the subid lines, joined by every command")
    func namespaceAndStore() throws {
        guard ready() else { return }
        withRootlessUser { u in
            let images = u.berth("images")
            #expect(images.status == 0, "images: \(images.stderr)")
            // The store in ~/.local/share/berth, the user's, 0700.
            var st = stat()
            #expect(stat(u.store, &st) == 0 && st.st_uid == u.uid && st.st_mode & 0o777 == 0o700, "store \(u.store)")
            // The pause process: the user's, named, with uid 0 = the user, 1… = the subid range.
            let pause = u.pausePID
            #expect(pause > 1, "pause.pid: \(readFile(u.runtime + "/berth/pause.pid"))")
            #expect(readFile("/proc/\(pause)/comm") == "berth-pause\n")
            #expect(readFile("/proc/\(pause)/cmdline").hasPrefix("berth-pause"), "what ps shows")
            let map = readFile("/proc/\(pause)/uid_map").split(separator: "\n").map {
                $0.split(separator: " ").joined(separator: " ")
            }
            #expect(map == ["0 \(u.uid) 1", "1 \(u.subStart) \(RootlessUser.subCount)"], "uid_map: \(map)")
            let gidMap = readFile("/proc/\(pause)/gid_map").split(separator: "\n").map {
                $0.split(separator: " ").joined(separator: " ")
            }
            #expect(gidMap == ["0 \(u.gid) 1", "1 \(u.subStart) \(RootlessUser.subCount)"], "gid_map: \(gidMap)")
            #expect(readFile(u.runtime + "/berth/pause.pid").isEmpty == false)

            // A container's monitor and PID 1 are in the same user namespace; its
            // overlay is mounted there, not in the host's mount table.
            #expect(u.berth("import", "-c", "CMD [\"sh\"]", u.tar, "busybox").status == 0)
            let run = u.berth("run", "-d", "--network", "none", "--name", "held", "busybox", "sleep", "1000")
            #expect(run.status == 0, "run: \(run.stderr)")
            let monitor = Int32(u.berth("inspect", "-f", "{{.State.MonitorPid}}", "held").stdout.trimmingSpaces) ?? -1
            let pid1 = Int32(u.berth("inspect", "-f", "{{.State.Pid}}", "held").stdout.trimmingSpaces) ?? -1
            let userNS = FileSystem.readLink("/proc/\(pause)/ns/user")
            #expect(userNS != nil && FileSystem.readLink("/proc/\(monitor)/ns/user") == userNS, "monitor's user namespace")
            #expect(FileSystem.readLink("/proc/\(pid1)/ns/user") == userNS, "PID 1's user namespace")
            #expect(readFile("/proc/\(pid1)/status").contains("Uid:\t\(u.uid)\t"), "container root is the user on the host")
            #expect(readFile("/proc/\(pause)/mountinfo").contains(u.store + "/containers/"), "overlay in the namespace")
            #expect(mounts(under: u.store).isEmpty, "nothing in the host's mount table: \(mounts(under: u.store))")
            // Another command sees the same container running.
            #expect(u.berth("ps", "--format", "{{.Names}} {{.Status}}").stdout.hasPrefix("held Up"))
            #expect(u.berth("rm", "-f", "held").status == 0)
            #expect(u.pausePID == pause, "the same pause process throughout")
            // A killed pause process (no container running) is replaced by the next command.
            kill(pause, SIGKILL)
            #expect(eventually(5) { ProcessTable.startTime(pause) == nil })
            #expect(u.berth("run", "--rm", "--network", "none", "busybox", "true").status == 0)
            #expect(u.pausePID != pause && readFile("/proc/\(u.pausePID)/comm") == "berth-pause\n", "a new pause process")

            // $XDG_DATA_HOME and --root still choose the store.
            let data = u.home + "/data"
            #expect(u.berth("images", env: ["XDG_DATA_HOME": data]).status == 0)
            #expect(fileExists(data + "/berth/images"), "store under XDG_DATA_HOME")
            #expect(u.berth("--root", u.home + "/other", "images").status == 0)
            #expect(fileExists(u.home + "/other/images"), "store under --root")
        }
    }

    @Test("without XDG_RUNTIME_DIR: /tmp/berth-UID, 0700; one somebody else owns is refused in one line")
    func runtimeDirectoryFallback() {
        guard ready() else { return }
        withRootlessUser { u in
            let fallback = "/tmp/berth-\(u.uid)"
            // Root plants the directory first: not the user's, so refused.
            #expect(mkdir(fallback, 0o755) == 0)
            var env = u.environment()
            env["XDG_RUNTIME_DIR"] = nil
            let refused = runProcess(u.asUser(["/usr/bin/env", "-u", "XDG_RUNTIME_DIR", u.binary, "images"]), environment: env)
            expectOneErrorLine(refused, naming: [fallback, "XDG_RUNTIME_DIR"])
            rmdir(fallback)
            let ok = runProcess(u.asUser(["/usr/bin/env", "-u", "XDG_RUNTIME_DIR", u.binary, "images"]), environment: env)
            #expect(ok.status == 0, "images: \(ok.stderr)")
            var st = stat()
            #expect(lstat(fallback, &st) == 0 && st.st_uid == u.uid && st.st_mode & 0o777 == 0o700, "\(fallback)")
            #expect(fileExists(fallback + "/pause.pid"))
        }
    }

    @Test("run, create, start, stop, exec, logs, rm; limits, pause, --device and bridges refused in one line")
    func lifecycle() {
        guard ready() else { return }
        withRootlessUser { u in
            #expect(u.berth("import", "-c", "CMD [\"sh\"]", u.tar, "busybox").status == 0)
            let hello = u.berth("run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo hello; id -u; cat /dev/null")
            #expect(hello.status == 0 && hello.stdout == "hello\n0\n", "run: \(hello.stdout) \(hello.stderr)")
            #expect(u.berth("create", "--name", "box", "--network", "none", "busybox", "sleep", "1000").status == 0)
            #expect(u.berth("start", "box").status == 0)
            #expect(u.berth("ps", "--format", "{{.Names}} {{.Status}}").stdout.hasPrefix("box Up"))
            let exec = u.berth("exec", "box", "sh", "-c", "echo from-exec; id -u")
            #expect(exec.status == 0 && exec.stdout == "from-exec\n0\n", "exec: \(exec.stderr)")
            #expect(u.berth("exec", "box", "sh", "-c", "echo logged > /proc/1/fd/1").status == 0)
            #expect(u.berth("logs", "box").stdout == "logged\n")
            // top and stats find the processes without a cgroup: PID 1's PID namespace.
            let top = u.berth("top", "box")
            #expect(top.status == 0 && top.stdout.contains("sleep 1000"), "top: \(top.stdout) \(top.stderr)")
            #expect(u.berth("stats", "--no-stream", "--format", "{{.PIDs}}", "box").stdout == "1\n")
            // No cgroup: pause and limits say why, in one line.
            expectOneErrorLine(u.berth("pause", "box"), naming: ["pause", "rootless", "cgroup"])
            expectOneErrorLine(
                u.berth("run", "--rm", "--memory", "10m", "busybox", "true"), naming: ["--memory", "rootless", "cgroup"],
                status: 125)
            expectOneErrorLine(u.berth("update", "--memory", "10m", "box"), naming: ["rootless", "cgroup"])
            expectOneErrorLine(
                u.berth("run", "--rm", "--device", "/dev/zero", "busybox", "true"), naming: ["--device", "rootless"],
                status: 125)
            expectOneErrorLine(
                u.berth("run", "--rm", "--network", "bridge", "busybox", "true"), naming: ["--network bridge", "rootless"],
                status: 125)
            expectOneErrorLine(u.berth("network", "create", "n1"), naming: ["network create", "rootless"])
            for userns in [["--userns", "auto"], ["--uidmap", "0:1:100"]] {
                expectOneErrorLine(
                    u.berth(["run", "--rm"] + userns + ["busybox", "true"]), naming: ["--userns", "rootless"], status: 125)
            }
            for backend in ["chroot", "oci"] {
                expectOneErrorLine(
                    u.berth("run", "--rm", "--isolation", backend, "busybox", "true"), naming: [backend, "rootless"],
                    status: 125)
            }
            let stop = u.berth("stop", "-t", "1", "box")
            #expect(stop.status == 0, "stop: \(stop.stderr)")
            #expect(u.berth("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.hasPrefix("box Exited (137)"))
            #expect(u.berth("rm", "box").status == 0)
            #expect(u.berth("ps", "-aq").stdout.isEmpty)
        }
    }

    @Test("a delegated cgroup v2: a cgroup per container, pause by its freezer, a limit it lacks refused by name")
    func delegatedCgroup() {
        guard ready() else { return }
        let mount = fileExists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified"
        guard fileExists(mount + "/cgroup.procs") else {
            Issue.record("no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified")
            return
        }
        withRootlessUser { u in
            // What systemd's Delegate=yes does for user@UID.service: the
            // directory and its files are the user's, and so is every
            // directory the user makes below it (the shell's scope here).
            let delegated = mount + "/berth-rootless-\(u.name)"
            let scope = delegated + "/shell.scope"
            #expect(mkdir(delegated, 0o755) == 0, "mkdir \(delegated)")
            defer {
                u.killProcesses()
                _ = sh("find \(delegated) -depth -type d -exec rmdir {} \\; 2>/dev/null")
                #expect(!fileExists(delegated), "cgroup \(delegated) removed")
            }
            for file in ["", "/cgroup.procs", "/cgroup.threads", "/cgroup.subtree_control"] {
                #expect(chown(delegated + file, u.uid, u.gid) == 0, "chown \(delegated + file)")
            }
            #expect(mkdir(scope, 0o755) == 0, "mkdir \(scope)")
            for file in ["", "/cgroup.procs", "/cgroup.threads", "/cgroup.subtree_control"] {
                #expect(chown(scope + file, u.uid, u.gid) == 0, "chown \(scope + file)")
            }
            // Every command starts in the user's scope below the delegation's top.
            func inCgroup(_ args: String...) -> ProcessResult {
                runProcess(
                    ["/bin/sh", "-c", "echo $$ > \(scope)/cgroup.procs && exec \"$@\"", "sh"] + u.asUser([u.binary] + args),
                    environment: u.environment())
            }
            #expect(inCgroup("import", "-c", "CMD [\"sh\"]", u.tar, "busybox").status == 0)
            let run = inCgroup("run", "-d", "--name", "frozen", "--network", "none", "busybox", "sleep", "1000")
            #expect(run.status == 0, "run: \(run.stderr)")
            let id = run.stdout.trimmingSpaces
            let cgroup = inCgroup("inspect", "-f", "{{.CgroupPath}}", "frozen").stdout.trimmingSpaces
            // Beside the user's scope, under the delegation's top: a
            // parent without processes, which may hand controllers down.
            #expect(cgroup == delegated + "/berth/" + id, "cgroup: \(cgroup)")
            let pid1 = inCgroup("inspect", "-f", "{{.State.Pid}}", "frozen").stdout.trimmingSpaces
            #expect(readFile(cgroup + "/cgroup.procs").split(separator: "\n").contains(Substring(pid1)), "PID 1 in it")
            let paused = inCgroup("pause", "frozen")
            #expect(paused.status == 0, "pause: \(paused.stderr)")
            #expect(readFile(cgroup + "/cgroup.events").contains("frozen 1"), "frozen")
            #expect(inCgroup("ps", "--format", "{{.Status}}").stdout.contains("(Paused)"))
            let unpaused = inCgroup("unpause", "frozen")
            #expect(unpaused.status == 0, "unpause: \(unpaused.stderr)")
            #expect(readFile(cgroup + "/cgroup.events").contains("frozen 0"), "thawed")
            let exec = inCgroup("exec", "frozen", "echo", "in-cgroup")
            #expect(exec.stdout == "in-cgroup\n", "exec: \(exec.stderr)")
            // This host's cgroup v2 has no pids controller (cgroup v1 holds
            // it), so the delegation cannot hand it down: refused by name.
            #expect(!readFile(delegated + "/cgroup.controllers").contains("pids"))
            expectOneErrorLine(
                inCgroup("run", "--rm", "--pids-limit", "10", "busybox", "true"),
                naming: ["rootless", "pids controller", delegated], status: 125)
            #expect(inCgroup("rm", "-f", "frozen").status == 0)
            #expect(!fileExists(cgroup), "the container's cgroup removed")
        }
    }

    @Test("kill -9 of a monitor: ps stays truthful and rm -f cleans up, as for root")
    func killedMonitor() {
        guard ready() else { return }
        withRootlessUser { u in
            #expect(u.berth("import", "-c", "CMD [\"sh\"]", u.tar, "busybox").status == 0)
            #expect(u.berth("run", "-d", "--name", "orphan", "busybox", "sleep", "1000").status == 0)
            let monitor = Int32(u.berth("inspect", "-f", "{{.State.MonitorPid}}", "orphan").stdout.trimmingSpaces) ?? -1
            let pid1 = Int32(u.berth("inspect", "-f", "{{.State.Pid}}", "orphan").stdout.trimmingSpaces) ?? -1
            #expect(monitor > 0 && pid1 > 0)
            kill(monitor, SIGKILL)
            #expect(eventually(5) { ProcessTable.startTime(monitor) == nil }, "the monitor is gone")
            #expect(u.berth("ps", "--format", "{{.Status}}").stdout.hasPrefix("Up "), "PID 1 still runs")
            // slirp4netns went with its monitor (its exit pipe closed).
            #expect(eventually(5) { !u.processes().contains { readFile("/proc/\($0)/comm") == "slirp4netns\n" } })
            kill(pid1, SIGKILL)
            #expect(eventually(5) { u.berth("ps", "-a", "--format", "{{.Status}}").stdout.hasPrefix("Exited (255)") })
            #expect(u.berth("ps", "-q").stdout.isEmpty, "plain ps no longer lists it")
            #expect(u.berth("run", "-d", "--name", "orphan2", "busybox", "sleep", "1000").status == 0)
            let monitor2 = Int32(u.berth("inspect", "-f", "{{.State.MonitorPid}}", "orphan2").stdout.trimmingSpaces) ?? -1
            let pid2 = Int32(u.berth("inspect", "-f", "{{.State.Pid}}", "orphan2").stdout.trimmingSpaces) ?? -1
            kill(monitor2, SIGKILL)
            #expect(eventually(5) { ProcessTable.startTime(monitor2) == nil })
            let removed = u.berth("rm", "-f", "orphan2")
            #expect(removed.status == 0 && removed.stdout == "orphan2\n", "rm -f: \(removed.stderr)")
            #expect(eventually(5) { ProcessTable.startTime(pid2) == nil }, "PID 1 was killed")
            #expect(u.berth("rm", "orphan").status == 0)
            #expect(!readFile("/proc/\(u.pausePID)/mountinfo").contains(u.store + "/containers/"), "no overlay left mounted")
        }
    }

    @Test("-p through slirp4netns: reached from the host at 127.0.0.1:HOSTPORT, shown by ps and port, gone with the container")
    func publishedPort() {
        guard ready() else { return }
        withRootlessUser { u in
            #expect(u.berth("import", "-c", "CMD [\"sh\"]", u.tar, "busybox").status == 0)
            let port = freePort()
            let run = u.berth(
                "run", "-d", "--name", "web", "-p", "\(port):80", "busybox", "sh", "-c",
                "mkdir -p /www && echo hello-from-rootless > /www/index.html && exec httpd -f -p 80 -h /www")
            #expect(run.status == 0, "run: \(run.stderr)")
            var reply = ""
            #expect(
                eventually(10) {
                    reply = httpGet(port: port); return reply.contains("hello-from-rootless")
                }, "GET: \(reply)")
            #expect(
                u.berth("ps", "--format", "{{.Ports}}").stdout == "0.0.0.0:\(port)->80/tcp\n",
                "\(u.berth("ps").stdout)")
            #expect(u.berth("port", "web").stdout.contains("80/tcp -> 0.0.0.0:\(port)"))
            // The container reaches out through slirp4netns's gateway too.
            let out = u.berth("exec", "web", "sh", "-c", "ip -4 addr show tap0 | grep -o 'inet [0-9.]*'")
            #expect(out.stdout == "inet 10.0.2.100\n", "tap0: \(out.stdout) \(out.stderr)")
            // inspect shows that address, as Podman does for slirp4netns, while the container runs.
            let shown = u.berth(
                "inspect", "-f",
                "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}} {{.HostConfig.NetworkMode}}",
                "web")
            #expect(shown.stdout == "10.0.2.100 10.0.2.2 24 slirp4netns\n", "inspect: \(shown.stdout) \(shown.stderr)")
            // Once the monitor has handed over to berth-monitor, slirp4netns
            // (whose exit pipe it holds) still serves the port.
            let monitor = u.berth("inspect", "-f", "{{.State.MonitorPid}}", "web").stdout.trimmingSpacesAndNewlines
            #expect(
                eventually(5) { (FileSystem.readLink("/proc/\(monitor)/exe") ?? "").hasSuffix("/berth-monitor") },
                "the monitor became berth-monitor")
            #expect(httpGet(port: port).contains("hello-from-rootless"), "the port after the hand-over")
            #expect(u.processes().contains { readFile("/proc/\($0)/comm") == "slirp4netns\n" })
            #expect(u.berth("create", "--name", "idle", "busybox").status == 0)
            #expect(
                u.berth("inspect", "-f", "[{{.NetworkSettings.IPAddress}}]", "idle").stdout == "[]\n", "no address until it runs")
            #expect(u.berth("rm", "idle").status == 0)
            #expect(u.berth("rm", "-f", "web").status == 0)
            #expect(eventually(5) { httpGet(port: port).isEmpty }, "the forward went with the container")
            #expect(eventually(5) { !u.processes().contains { readFile("/proc/\($0)/comm") == "slirp4netns\n" } })
        }
    }

    @Test("volumes: container root's files belong to the user, container uid 1000's to subuid start + 999")
    func volumeOwnership() {
        guard ready() else { return }
        withRootlessUser { u in
            #expect(u.berth("import", "-c", "CMD [\"sh\"]", u.tar, "busybox").status == 0)
            #expect(u.berth("volume", "create", "vol").status == 0)
            #expect(
                u.berth(
                    "run", "--rm", "--network", "none", "-v", "vol:/data", "busybox", "sh", "-c",
                    "echo r > /data/by-root && chmod 0777 /data"
                ).status == 0)
            let byUser = u.berth(
                "run", "--rm", "--network", "none", "--user", "1000:1000", "-v", "vol:/data", "busybox", "sh", "-c",
                "echo u > /data/by-1000")
            #expect(byUser.status == 0, "run --user: \(byUser.stderr)")
            let mountpoint = u.berth("volume", "inspect", "-f", "{{.Mountpoint}}", "vol").stdout.trimmingSpaces
            #expect(mountpoint.hasPrefix(u.store + "/volumes/"), "mountpoint \(mountpoint)")
            var st = stat()
            #expect(stat(mountpoint + "/by-root", &st) == 0 && st.st_uid == u.uid && st.st_gid == u.gid)
            #expect(stat(mountpoint + "/by-1000", &st) == 0)
            #expect(st.st_uid == UInt32(u.subStart + 999) && st.st_gid == UInt32(u.subStart + 999), "uid \(st.st_uid)")
            // A bind mount of the user's own directory, read-write and read-only.
            let bind = u.home + "/bind"
            _ = runProcess(u.asUser(["/bin/mkdir", bind]), environment: u.environment())
            #expect(
                u.berth(
                    "run", "--rm", "--network", "none", "-v", bind + ":/b", "busybox", "sh", "-c",
                    "echo x > /b/f && mkdir /b/d && echo y > /b/d/f && chown -R 1000:1000 /b/d"
                ).status == 0)
            #expect(stat(bind + "/f", &st) == 0 && st.st_uid == u.uid)
            #expect(stat(bind + "/d", &st) == 0 && st.st_uid == UInt32(u.subStart + 999))
            // The user cannot remove what uid 1000 wrote, except through berth unshare.
            let outside = runProcess(u.asUser(["/bin/rm", "-rf", bind + "/d"]), environment: u.environment())
            #expect(outside.status != 0 && fileExists(bind + "/d"), "rm outside the namespace is refused")
            let inside = u.berth("unshare", "sh", "-c", "id -u; rm -rf \(bind)/d")
            #expect(inside.status == 0 && inside.stdout == "0\n", "unshare: \(inside.stdout) \(inside.stderr)")
            #expect(!fileExists(bind + "/d"), "removed through berth unshare")
            #expect(u.berth("unshare", "sh", "-c", "exit 7").status == 7, "its exit status")
            expectOneErrorLine(u.berth("unshare", "no-such-program"), naming: ["no-such-program"], status: 127)
            expectOneErrorLine(berth(u.dir + "/rootstore", "unshare", "true"), naming: ["unshare", "non-root"])
            let ro = u.berth(
                "run", "--rm", "--network", "none", "-v", bind + ":/b:ro", "busybox", "sh", "-c", "cat /b/f; touch /b/g")
            #expect(ro.stdout == "x\n" && ro.status != 0 && ro.stderr.contains("Read-only"), "ro: \(ro.stderr)")
        }
    }

    @Test("images rootless: commit, export/import, save/load (whiteouts kept), rmi, and a pull from a loopback registry")
    func images() {
        guard ready() else { return }
        guard LocalRegistry.binary != nil, LocalRegistry.skopeo != nil else {
            Issue.record("docker-registry and skopeo are needed; run 'make deps'")
            return
        }
        withRootlessUser { u in
            #expect(u.berth("import", "-c", "CMD [\"sh\"]", u.tar, "busybox").status == 0)
            #expect(
                u.berth(
                    "run", "--name", "src", "--network", "none", "busybox", "sh", "-c",
                    "mkdir -p /opt/x && echo data > /opt/x/f && rm /bin/ls"
                ).status == 0)
            #expect(u.berth("commit", "src", "snap:1").status == 0)
            let snap = u.berth(
                "run", "--rm", "--network", "none", "snap:1", "sh", "-c", "cat /opt/x/f; test -e /bin/ls || echo no-ls")
            #expect(snap.stdout == "data\nno-ls\n", "\(snap.stdout) \(snap.stderr)")
            let exported = u.home + "/c.tar"
            #expect(u.berth("export", "-o", exported, "src").status == 0)
            #expect(u.berth("import", exported, "flat:1").status == 0)
            #expect(u.berth("run", "--rm", "--network", "none", "flat:1", "cat", "/opt/x/f").stdout == "data\n")
            let saved = u.home + "/snap.tar"
            #expect(u.berth("save", "-o", saved, "snap:1").status == 0)
            #expect(u.berth("rmi", "snap:1").status == 0)
            #expect(u.berth("load", "-i", saved).stdout == "Loaded image: snap:1\n")
            let loaded = u.berth(
                "run", "--rm", "--network", "none", "snap:1", "sh", "-c", "cat /opt/x/f; test -e /bin/ls || echo no-ls")
            #expect(loaded.stdout == "data\nno-ls\n", "\(loaded.stderr)")

            // A file owned by an id beyond the user's range cannot be unpacked: one line says why.
            let big = u.home + "/big.tar"
            let made = runProcess([
                "/usr/bin/python3", "-c",
                "import io,sys,tarfile\nt=tarfile.open(sys.argv[1],'w')\nti=tarfile.TarInfo('big');ti.size=2;ti.uid=ti.gid=70000\n"
                    + "t.addfile(ti,io.BytesIO(b'x\\n'));t.close()", big,
            ])
            #expect(made.status == 0 && chmod(big, 0o644) == 0, "python3: \(made.stderr)")
            expectOneErrorLine(u.berth("import", big, "big:1"), naming: ["\"big\"", "EINVAL", "/etc/subuid"])

            let registry = LocalRegistry()
            defer { registry.stop() }
            registry.fill(from: saved, as: "rootless/snap:1")
            let pulled = u.berth("pull", "\(registry.address)/rootless/snap:1")
            #expect(pulled.status == 0, "pull: \(pulled.stderr)")
            let ran = u.berth("run", "--rm", "--network", "none", "\(registry.address)/rootless/snap:1", "cat", "/opt/x/f")
            #expect(ran.stdout == "data\n", "\(ran.stderr)")
            #expect(u.berth("rm", "src").status == 0)
        }
    }

    @Test("rootless login and push to a loopback registry; build with a COPY and a RUN step, files owned by subordinate ids")
    func loginPushAndBuild() {
        guard ready() else { return }
        guard LocalRegistry.binary != nil, LocalRegistry.skopeo != nil else {
            Issue.record("docker-registry and skopeo are needed; run 'make deps'")
            return
        }
        withRootlessUser { u in
            #expect(u.berth("import", "-c", "CMD [\"sh\"]", u.tar, "busybox").status == 0)
            let registry = LocalRegistry(users: [("alice", "s3cret")])
            defer { registry.stop() }
            let remote = "\(registry.address)/rootless/bb:1"
            #expect(u.berth("tag", "busybox", remote).status == 0)
            expectOneErrorLine(u.berth("push", remote), naming: ["registry \(registry.address)", "berth login"])
            expectOneErrorLine(
                u.berth("login", "-u", "alice", "--password-stdin", registry.address, stdin: "nope\n"),
                naming: ["login to \(registry.address) failed"])
            let login = u.berth("login", "-u", "alice", "--password-stdin", registry.address, stdin: "s3cret\n")
            #expect(login.status == 0 && login.stdout == "Login Succeeded\n", "login: \(login.stdout) \(login.stderr)")
            // The login is the user's: in the user's store, theirs on the host, 0600.
            var st = stat()
            #expect(stat(u.store + "/auth.json", &st) == 0 && st.st_uid == u.uid && st.st_mode & 0o777 == 0o600)
            let push = u.berth("push", remote)
            #expect(push.status == 0 && push.stdout.contains("1: digest: sha256:"), "push: \(push.stdout) \(push.stderr)")
            #expect(u.berth("rmi", remote).status == 0)
            let pull = u.berth("pull", remote)
            #expect(pull.status == 0 && pull.stdout.contains("Status: Downloaded newer image"), "pull: \(pull.stderr)")
            #expect(u.berth("run", "--rm", "--network", "none", remote, "echo", "pulled").stdout == "pulled\n")

            // build: COPY from the user's context, RUN in the user's namespace (chown to uid 1000 inside).
            let context = u.home + "/ctx"
            #expect(sh("mkdir -p \(context)").status == 0)
            writeFile(context + "/greeting.txt", "hello from the context\n")
            writeFile(
                context + "/Dockerfile",
                "FROM busybox\nCOPY greeting.txt /opt/greeting.txt\n"
                    + "RUN echo built-by-run > /opt/run.txt && chown 1000:1000 /opt/run.txt && cat /opt/greeting.txt\n")
            #expect(sh("chown -R \(u.uid):\(u.gid) \(context)").status == 0)
            let build = u.berth("build", "-t", "built:1", context)
            #expect(build.status == 0, "build: \(build.stdout) \(build.stderr)")
            #expect(build.stdout.contains("hello from the context"), "the RUN step saw the COPY: \(build.stdout)")
            let ran = u.berth(
                "run", "--rm", "--network", "none", "built:1", "sh", "-c",
                "cat /opt/greeting.txt /opt/run.txt; stat -c '%u %g' /opt/run.txt /opt/greeting.txt")
            #expect(ran.stdout == "hello from the context\nbuilt-by-run\n1000 1000\n0 0\n", "run: \(ran.stdout) \(ran.stderr)")
            // The built image pushes with the same login.
            #expect(u.berth("tag", "built:1", "\(registry.address)/rootless/built:1").status == 0)
            let pushed = u.berth("push", "\(registry.address)/rootless/built:1")
            #expect(pushed.status == 0, "push built: \(pushed.stderr)")
            #expect(u.berth("logout", registry.address).status == 0)
            #expect(!readFile(u.store + "/auth.json").contains(registry.address))
        }
    }

    @Test("system service rootless: the socket in the runtime directory, docker run through it runs in the user's namespace")
    func apiService() {
        guard ready() else { return }
        guard fileExists(RootlessUser.serviceBinary), runProcess(["/bin/sh", "-c", "command -v docker"]).status == 0 else {
            Issue.record("berth-service (swift build) and the docker CLI (make deps) are needed")
            return
        }
        withRootlessUser { u in
            #expect(u.berth("import", "-c", "CMD [\"sh\"]", u.tar, "busybox").status == 0)
            let env = u.environment().map { "\($0.key)=\(shellQuote($0.value))" }.joined(separator: " ")
            let command = u.asUser([u.binary, "system", "service", "--time", "0"]).map(shellQuote).joined(separator: " ")
            _ = sh("env \(env) \(command) >\(u.dir)/service.log 2>&1 </dev/null &")
            let socket = u.runtime + "/berth/berth.sock"
            #expect(eventually(10) { fileExists(socket) }, "socket: \(readFile(u.dir + "/service.log"))")
            let docker = runProcess(
                ["docker", "-H", "unix://" + socket, "run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/uid_map"],
                environment: ["DOCKER_CONFIG": u.dir + "/docker-config", "HOME": u.dir])
            let map = docker.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
            #expect(
                map == ["0 \(u.uid) 1", "1 \(u.subStart) \(RootlessUser.subCount)"],
                "docker run: \(docker.stdout) \(docker.stderr)")
            // The service says it is rootless as rootless dockerd does; so does berth info.
            let options = runProcess(
                ["docker", "-H", "unix://" + socket, "info", "--format", "{{json .SecurityOptions}}"],
                environment: ["DOCKER_CONFIG": u.dir + "/docker-config", "HOME": u.dir])
            #expect(
                options.stdout == "[\"name=seccomp,profile=default\",\"name=rootless\"]\n",
                "info: \(options.stdout) \(options.stderr)")
            // UsernsMode over the API is refused rootless as --userns is: one message, nothing made.
            let userns = runProcess([
                "curl", "-s", "--max-time", "20", "--unix-socket", socket, "-X", "POST", "-H", "Content-Type: application/json",
                "-d", #"{"Image":"busybox","HostConfig":{"UsernsMode":"keep-id"}}"#, "-w", "\n%{http_code}",
                "http://localhost/v1.44/containers/create",
            ])
            #expect(
                !userns.stdout.hasSuffix("\n201") && userns.stdout.contains("does not work rootless"), "\(userns.stdout)")
            #expect(u.berth("ps", "-aq").stdout.isEmpty, "a refused create left a container")
            let info = u.berth("info")
            #expect(info.status == 0 && info.stdout.contains("\nRootless: true\n"), "\(info.stdout) \(info.stderr)")
            #expect(u.berth("info", "-f", "{{.Rootless}} {{json .SecurityOptions}}").stdout.hasPrefix("true [\"name=seccomp"))
        }
    }

    @Test("run -it, detach with Ctrl-P Ctrl-Q, attach again, exit: in a real terminal, rootless")
    func terminal() {
        guard ready() else { return }
        withRootlessUser { u in
            #expect(u.berth("import", "-c", "CMD [\"sh\"]", u.tar, "busybox").status == 0)
            let pane = RootlessPane(user: u, command: ["run", "-it", "--name", "tty", "--network", "none", "busybox", "sh"])
            defer { pane.kill() }
            #expect(pane.waitFor { $0.contains("/ #") }.ok, "prompt: \(pane.screen())")
            pane.type("echo hi-$((40+2)); id -u\n")
            #expect(pane.waitFor { $0.contains("hi-42") }.ok, "\(pane.screen())")
            pane.press("C-p", "C-q")
            #expect(eventually(5) { u.berth("ps", "--format", "{{.Names}} {{.Status}}").stdout.hasPrefix("tty Up") })
            let again = RootlessPane(user: u, command: ["attach", "tty"])
            defer { again.kill() }
            again.type("echo again-$((1+1))\n")
            #expect(again.waitFor { $0.contains("again-2") }.ok, "\(again.screen())")
            again.type("exit\n")
            #expect(eventually(5) { u.berth("ps", "-a", "--format", "{{.Status}}").stdout.hasPrefix("Exited (0)") })
        }
    }

    @Test("the REPL never rewrites a device named as its history: BERTH_HISTORY=/dev/null made /dev/null 0600 for every user")
    func historyOnDevice() {
        let dir = makeTempDirectory("history")
        defer { removeTree(dir) }
        let node = dir + "/null"
        #expect(sh("mknod \(node) c 1 3 && chmod 0666 \(node)").status == 0)
        for (label, history) in [("device", node), ("file", dir + "/history")] {
            let pane = RootlessPane(
                shell: "exec env BERTH_HISTORY=\(history) \(shellQuote(berthBinary)) --root \(shellQuote(dir + "/store"))")
            defer { pane.kill() }
            #expect(pane.waitFor { $0.contains("berth> ") || $0.contains("berth>") }.ok, "\(label): \(pane.screen())")
            pane.type("version\n")
            #expect(pane.waitFor { $0.components("berth>") >= 2 }.ok, "\(label): \(pane.screen())")
        }
        var st = stat()
        #expect(stat(node, &st) == 0 && st.st_mode & S_IFMT == S_IFCHR && st.st_mode & 0o777 == 0o666, "mode \(st.st_mode)")
        #expect(readFile(dir + "/history").contains("version"), "a regular history file is still written")
    }
}

/// berth as the rootless user in a detached tmux session of its own.
private final class RootlessPane {
    let socket = "berth-rootless-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    convenience init(user: RootlessUser, command: [String]) {
        let env = user.environment().map { "\($0.key)=\(shellQuote($0.value))" }.joined(separator: " ")
        let argv = user.asUser(["/usr/bin/env", "TERM=xterm"] + [user.binary] + command).map(shellQuote).joined(separator: " ")
        self.init(shell: "exec env \(env) \(argv)")
    }

    init(shell: String) {
        tmux(["new-session", "-d", "-x", "100", "-y", "30", shell])
    }

    func type(_ text: String) {
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if i > 0 { tmux(["send-keys", "-t", "0", "Enter"]) }
            if !line.isEmpty { tmux(["send-keys", "-t", "0", "-l", String(line)]) }
        }
    }
    func press(_ keys: String...) { tmux(["send-keys", "-t", "0"] + keys) }
    func screen() -> String { tmux(["capture-pane", "-p", "-t", "0"]).stdout }

    @discardableResult
    func waitFor(_ seconds: Double = 10, _ condition: (String) -> Bool) -> (ok: Bool, screen: String) {
        pollScreen(seconds, screen, condition)
    }

    func kill() { killTmuxServer(socket) }

    @discardableResult
    private func tmux(_ args: [String]) -> ProcessResult {
        runProcess(["tmux", "-L", socket] + args, environment: ["HOME": "/tmp", "TERM": "xterm-256color"])
    }
}

extension String {
    /// How many times `part` occurs.
    fileprivate func components(_ part: String) -> Int { split(separator: part, omittingEmptySubsequences: false).count - 1 }
}
