import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `run`/`create` flags that are not about the network: labels,
/// `-a`, `--cidfile`, `-q`, `-v …:z|Z`, `--net` (the network ones are in
/// `NetworkFlagTests`). Each asserts what a user sees.
@Suite("run flags: labels, attach, cidfile, quiet, SELinux modes", .serialized, .enabled(if: isRoot, "needs root"))
struct RunFlagTests {
    /// Imports a busybox carrying image labels, so the merge can be seen.
    private func labelledImage(_ s: LifecycleStore) {
        let imported = s.berth(
            "import", "-c", "CMD [\"sh\"]", "-c", "LABEL from=image shared=image", busyboxTar, "labelled")
        #expect(imported.status == 0, "import: \(imported.stderr)")
    }

    @Test("-l and --label-file set labels over the image's; inspect, ps --filter label=, {{.Labels}}, {{.Label}} show them")
    func labels() {
        withStore { s in
            labelledImage(s)
            let file = s.root + "/labels"
            writeFile(file, "# a comment\n\n  team=blue\nbare\nshared=file\n")
            let run = s.berth(
                "run", "-d", "--name", "one", "-l", "tier=web", "--label", "shared=flag", "--label-file", file, "-l", "flag",
                "labelled", "sleep", "60")
            #expect(run.status == 0, "run: \(run.stderr)")
            #expect(s.berth("create", "--name", "two", "-l", "tier=db", "labelled").status == 0)
            #expect(s.berth("create", "--name", "three", "busybox").status == 0)
            #expect(
                s.inspect("one", "{{json .Config.Labels}}")
                    == #"{"bare":"","flag":"","from":"image","shared":"flag","team":"blue","tier":"web"}"#,
                "the image's labels, overlaid by the file's, overlaid by the flags'")
            #expect(s.inspect("two", "{{json .Config.Labels}}") == #"{"from":"image","shared":"image","tier":"db"}"#)
            #expect(s.inspect("three", "{{json .Config.Labels}}") == "{}")

            func names(_ filters: String...) -> String {
                s.berth(["ps", "-a", "--format", "{{.Names}}"] + filters.flatMap { ["--filter", $0] }).stdout
            }
            #expect(names("label=tier") == "two\none\n")
            #expect(names("label=tier=db") == "two\n")
            #expect(names("label=tier=web", "label=team=blue") == "one\n", "different label filters are ANDed")
            #expect(names("label=bare") == "one\n", "a bare label matches label=KEY")
            #expect(names("label=bare=") == "one\n", "and label=KEY= (its value is empty)")
            #expect(names("label=nosuch").isEmpty)
            let table = s.berth(
                "ps", "-a", "--filter", "label=tier", "--format", "{{.Names}} {{.Label \"tier\"}} [{{.Label \"x\"}}] {{.Labels}}")
            #expect(
                table.stdout
                    == "two db [] from=image,shared=image,tier=db\none web [] bare=,flag=,from=image,shared=flag,team=blue,tier=web\n",
                "\(table.stdout)")
        }
    }

    @Test("container prune --filter label= removes only the stopped containers with that label")
    func pruneByLabel() {
        withStore { s in
            #expect(s.berth("create", "--name", "keepme", "-l", "env=prod", "busybox").status == 0)
            #expect(s.berth("create", "--name", "dropme", "-l", "env=test", "busybox").status == 0)
            #expect(s.berth("create", "--name", "plain", "busybox").status == 0)
            let pruned = s.berth("container", "prune", "-f", "--filter", "label=env=test")
            #expect(pruned.status == 0, "prune: \(pruned.stderr)")
            #expect(s.berth("ps", "-a", "--format", "{{.Names}}").stdout == "plain\nkeepme\n")
            #expect(s.berth("container", "prune", "-f", "--filter", "label!=env").status == 0)
            #expect(s.berth("ps", "-a", "--format", "{{.Names}}").stdout == "keepme\n", "label!=env spares the labelled one")
        }
    }

    @Test("bad labels and label files: one error line, exit 125, nothing created")
    func badLabels() {
        withStore { s in
            expectOneErrorLine(
                s.berth("run", "--rm", "-l", "=x", "busybox", "true"), naming: ["bad attribute format", "=x"], status: 125)
            expectOneErrorLine(
                s.berth("create", "--label-file", s.root + "/missing", "busybox"), naming: ["label file", s.root + "/missing"],
                status: 125)
            expectOneErrorLine(
                s.berth("create", "--label-file", "/dev/zero", "busybox"), naming: ["not a regular file"], status: 125)
            writeFile(s.root + "/bad", "good=1\nexport bad key=2\n")
            expectOneErrorLine(s.berth("create", "--label-file", s.root + "/bad", "busybox"), naming: ["line 2"], status: 125)
            #expect(s.berth("ps", "-aq").stdout.isEmpty)
        }
    }

    @Test(
        "-a stdout shows only stdout, -a stderr only stderr, -a stdin prints the ID; the exit code is the container's",
        arguments: isolationBackends)
    func attachStreams(_ isolation: String) {
        withStore { s in
            let script = "echo to-out; echo to-err >&2; exit 3"
            func run(_ flags: String..., stdin: String? = nil) -> ProcessResult {
                var r = s.berth(["run", "--isolation", isolation] + flags, stdin: stdin)
                r.stderr = withoutWarnings(r.stderr)  // chroot's warning line
                return r
            }
            let out = run("--rm", "-a", "stdout", "busybox", "sh", "-c", script)
            #expect(out.status == 3 && out.stdout == "to-out\n" && out.stderr.isEmpty, "\(out)")
            let err = run("--rm", "-a", "STDERR", "busybox", "sh", "-c", script)
            #expect(err.status == 3 && err.stdout.isEmpty && err.stderr == "to-err\n", "\(err)")
            let both = run("--rm", "-a", "stdout", "-a", "stderr", "busybox", "sh", "-c", script)
            #expect(both.status == 3 && both.stdout == "to-out\n" && both.stderr == "to-err\n", "\(both)")
            // Only stdin: Docker prints the ID, feeds stdin (-i) and still waits for the exit code.
            let input = run(
                "-i", "-a", "stdin", "--name", "fed", "busybox", "sh", "-c", "cat > /got; cat /got; exit 4",
                stdin: "fed-in\n")
            #expect(input.status == 4, "\(input)")
            #expect(
                isHex(input.stdout.trimmingSpacesAndNewlines, count: 64) && !input.stdout.contains("fed-in"), "\(input.stdout)")
            #expect(s.berth("logs", "fed").stdout == "fed-in\n", "stdin reached it, and the log has its output")
        }
    }

    @Test("-a with a bad stream or with -d is refused with Docker's message and exit 125")
    func attachRefusals() {
        withStore { s in
            expectOneErrorLine(
                s.berth("run", "--rm", "-a", "stdio", "busybox", "true"),
                naming: ["invalid argument \"stdio\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"],
                status: 125)
            expectOneErrorLine(
                s.berth("run", "-d", "-a", "stdout", "busybox", "true"), naming: ["Conflicting options: -a and -d"], status: 125)
            #expect(s.berth("ps", "-aq").stdout.isEmpty)
        }
    }

    @Test("--cidfile writes the ID; an existing file (or symlink) is refused and kept; a failed create leaves no file")
    func cidfile() {
        withStore { s in
            let dir = makeTempDirectory("cid")
            defer { removeTree(dir) }
            let path = dir + "/cid"
            let run = s.berth("run", "-d", "--cidfile", path, "busybox", "sleep", "60")
            #expect(run.status == 0, "run: \(run.stderr)")
            #expect(readFile(path) == run.stdout.trimmingSpacesAndNewlines && readFile(path).count == 64, "\(readFile(path))")
            let created = s.berth("create", "--cidfile", dir + "/cid2", "busybox")
            #expect(readFile(dir + "/cid2") + "\n" == created.stdout)

            let before = readFile(path)
            let again = s.berth("run", "-d", "--cidfile", path, "busybox", "sleep", "60")
            expectOneErrorLine(
                again, naming: ["Container ID file found, make sure the other container isn't running or delete \(path)"],
                status: 125)
            #expect(readFile(path) == before, "the first container's file is untouched")
            #expect(lines(s.berth("ps", "-aq").stdout).count == 2, "nothing created")

            // A dangling symlink counts as a file: its target is never created.
            #expect(symlink(dir + "/target", dir + "/link") == 0)
            expectOneErrorLine(
                s.berth("create", "--cidfile", dir + "/link", "busybox"), naming: ["Container ID file found"], status: 125)
            #expect(!fileExists(dir + "/target"))

            // The create fails: the claimed file goes with it.
            let failed = s.berth("run", "--cidfile", dir + "/cid3", "--pull", "never", "nosuch")
            #expect(failed.status == 125)
            #expect(!fileExists(dir + "/cid3"), "no empty ID file after a failed run")
            let badDir = s.berth("create", "--cidfile", dir + "/no/such/dir/cid", "busybox")
            expectOneErrorLine(badDir, naming: ["Failed to create the container ID file", dir + "/no/such/dir/cid"], status: 125)
        }
    }

    @Test("-v SRC:DST:z and :ro,Z mount as usual where SELinux is off; inspect's Mode says z/Z; bad modes are refused")
    func selinuxModes() throws {
        try #require(!SELinux.isEnabled, "this test is for a host with SELinux off")
        withStore { s in
            let dir = makeTempDirectory("zvol")
            defer { removeTree(dir) }
            writeFile(dir + "/in", "host\n")
            let rw = s.berth(
                "run", "--name", "zz", "-v", "\(dir):/data:z", "busybox", "sh", "-c", "cat /data/in; echo c > /data/out")
            #expect(rw.status == 0 && rw.stdout == "host\n", "\(rw)")
            #expect(readFile(dir + "/out") == "c\n", "the bind mount is writable and shared with the host")
            #expect(s.inspect("zz", "{{range .Mounts}}{{.Mode}} {{.RW}}{{end}}") == "z true")
            let ro = s.berth("run", "--name", "ro", "-v", "\(dir):/data:ro,Z", "busybox", "sh", "-c", "echo x > /data/out")
            #expect(ro.status != 0 && ro.stderr.contains("Read-only file system"), "\(ro)")
            #expect(s.inspect("ro", "{{range .Mounts}}{{.Mode}} {{.RW}}{{end}}") == "Z false")
            let named = s.berth("run", "--rm", "-v", "zdata:/v:Z", "busybox", "sh", "-c", "echo ok > /v/f && cat /v/f")
            #expect(named.stdout == "ok\n", "a named volume with :Z: \(named)")
            let chroot = s.berth(
                "run", "--rm", "--isolation", "chroot", "-v", "\(dir):/data:Z", "busybox", "sh", "-c", "cat /data/in")
            #expect(chroot.status == 0 && chroot.stdout == "host\n", "chroot: \(chroot)")
            for bad in ["\(dir):/data:zz", "\(dir):/data:z,Z", "\(dir):/data:ro,rw"] {
                expectOneErrorLine(s.berth("create", "-v", bad, "busybox"), naming: ["invalid mode"], status: 125)
            }
        }
    }

    @Test("with SELinux on (selinuxfs shown in a private mount namespace), -v …:z is refused rather than left unlabelled")
    func selinuxOnRefuses() {
        withStore { s in
            let script = """
                mount -t tmpfs berth-test /sys/fs && mkdir /sys/fs/selinux && echo 1 > /sys/fs/selinux/enforce && \
                exec \(shellQuote(berthBinary)) --root \(shellQuote(s.root)) create -v /tmp:/data:z busybox
                """
            let refused = runProcess(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script])
            expectOneErrorLine(refused, naming: ["SELinux is enabled", "does not relabel", "/tmp:/data:z"], status: 125)
            #expect(s.berth("ps", "-aq").stdout.isEmpty)
        }
    }

    @Test("--expose adds to the image's exposed ports: inspect and ps show them, -P publishes them; bad values are refused")
    func expose() {
        withStore { s in
            #expect(
                s.berth("import", "-c", "CMD [\"sh\"]", "-c", "EXPOSE 80", busyboxTar, "exposing").status == 0)
            #expect(
                s.berth(
                    "run", "-d", "--name", "e1", "--expose", "7000-7002", "--expose", "53/udp", "-p", "8080:8080",
                    "exposing", "sleep", "100"
                ).status == 0)
            #expect(
                s.inspect("e1", "{{range $k, $v := .Config.ExposedPorts}}{{$k}} {{end}}")
                    == "53/udp 7000/tcp 7001/tcp 7002/tcp 80/tcp 8080/tcp ")
            // Docker's PORTS column: unpublished ports by themselves, a run of them as a range.
            #expect(
                s.berth("ps", "-f", "name=e1", "--format", "{{.Ports}}").stdout
                    == "80/tcp, 53/udp, 7000-7002/tcp, 0.0.0.0:8080->8080/tcp\n")
            #expect(s.berth("run", "-d", "--name", "e2", "-P", "--expose", "9000", "exposing", "sleep", "100").status == 0)
            let published = lines(s.berth("port", "e2").stdout)
            #expect(
                published.count == 2 && published[0].hasPrefix("80/tcp -> 0.0.0.0:")
                    && published[1].hasPrefix("9000/tcp -> 0.0.0.0:"), "\(published)")
            for (value, message) in [("70000", "invalid range format for --expose"), ("80/sctp", "Invalid proto: sctp")] {
                expectOneErrorLine(
                    s.berth("create", "--expose", value, "busybox"), naming: [message], status: 125)
            }
        }
    }

    @Test("--net is --network: --net none leaves only lo; naming two networks is refused")
    func netAlias() {
        withStore { s in
            let none = s.berth("run", "--name", "nonet", "--net", "none", "busybox", "ip", "-o", "link")
            #expect(none.status == 0 && none.stdout.split(separator: "\n").count == 1 && none.stdout.contains("lo:"), "\(none)")
            #expect(s.inspect("nonet", "{{.HostConfig.NetworkMode}}") == "none")
            let same = s.berth("run", "--rm", "--net", "none", "--network", "none", "busybox", "true")
            #expect(same.status == 0, "the same network twice: \(same.stderr)")
            expectOneErrorLine(
                s.berth("run", "--rm", "--net", "none", "--network", "host", "busybox", "true"), naming: ["--net", "--network"],
                status: 125)
        }
    }

    @Test("on oci:runc, labels are the bundle's annotations and --add-host/--dns are the container's own files")
    func ociBackend() {
        withStore { s in
            let run = s.berth(
                "run", "-d", "--name", "ocibox", "--isolation", "oci:runc", "--network", "none", "-l", "team=blue",
                "--add-host", "db.local:10.1.2.3", "--dns", "10.9.9.9", "busybox", "sleep", "60")
            #expect(run.status == 0, "run: \(run.stderr)")
            let files = s.berth("exec", "ocibox", "cat", "/etc/hosts", "/etc/resolv.conf").stdout
            #expect(files.contains("10.1.2.3\tdb.local\n") && files.hasSuffix("nameserver 10.9.9.9\n"), "\(files)")
            let id = s.inspect("ocibox", "{{.Id}}")
            let config = readFile(s.root + "/containers/\(id)/bundle/config.json")
            #expect(
                config.contains("\"annotations\"") && config.contains("\"team\": \"blue\""), "config.json: \(config.suffix(300))")
        }
    }

    @Test("-q: run and create pull without showing the pull, only Docker's 'Unable to find image' line")
    func quietPull() {
        guard LocalRegistry.binary != nil, LocalRegistry.skopeo != nil else {
            Issue.record("docker-registry and skopeo are needed; run 'make deps' (apt-get install docker-registry skopeo)")
            return
        }
        let registry = LocalRegistry()
        defer { registry.stop() }
        let dir = makeTempDirectory("qpull")
        let seed = dir + "/seed", store = dir + "/store"
        defer {
            for id in lines(berth(store, "ps", "-aq").stdout) { berth(store, "rm", "-f", String(id)) }
            #expect(mounts(under: dir).isEmpty)
            removeTree(dir)
        }
        importBusybox(seed)
        #expect(berth(seed, "save", "-o", dir + "/busybox.tar", "busybox").status == 0)
        registry.fill(from: dir + "/busybox.tar", as: "library/busybox:latest")
        registry.mirrorConfig(store)

        let ran = berth(store, "run", "--rm", "-q", "busybox", "echo", "hi")
        #expect(ran.status == 0 && ran.stdout == "hi\n", "run: \(ran)")
        #expect(ran.stderr == "Unable to find image 'busybox:latest' locally\n", "only Docker's first line: \(ran.stderr)")
        let created = berth(store, "create", "--quiet", "--pull", "always", "busybox")
        #expect(created.stderr.isEmpty && isHex(created.stdout.trimmingSpacesAndNewlines, count: 64), "create: \(created)")
        // The control: the same pull without -q shows its lines.
        let loud = berth(store, "create", "--pull", "always", "busybox")
        #expect(loud.stderr.contains("Status: Image is up to date for busybox:latest"), "\(loud.stderr)")
    }
}
