import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `run`/`create` flags about the container's processes: `--init`,
/// `--ulimit`, `--shm-size`, `--sysctl`, `--oom-score-adj`. Each is checked
/// from inside the container, on the host (unchanged), and on every backend
/// it applies to; where it cannot apply, the refusal.
@Suite("run --init, --ulimit, --shm-size, --sysctl, --oom-score-adj", .enabled(if: isRoot, "needs root"), .serialized)
struct ProcessFlagTests {
    private func withStore(_ body: (String) throws -> Void) rethrows { try withBusyboxStore("proc", body) }

    /// A PID 1 that never reaps (`exec sleep`) with an orphan that exits:
    /// the orphan's zombie shows in `ps` unless an init reaps it.
    private func zombies(_ root: String, _ flags: [String]) -> (ps: String, stopSeconds: Double, exit: String) {
        let name = "reap\(flags.count)"
        let started = runProcess(
            [berthBinary, "--root", root, "run", "-d", "--name", name] + flags + [
                "busybox", "sh", "-c", "(sh -c 'sleep 0.1; true' &) ; exec sleep 100",
            ])
        #expect(started.status == 0, "run: \(started.stderr)")
        usleep(700_000)
        let ps = berth(root, "exec", name, "ps", "-o", "pid,stat,comm").stdout
        let t0 = now()
        #expect(berth(root, "stop", "-t", "5", name).status == 0)
        let took = now() - t0
        let exit = berth(root, "inspect", "-f", "{{.State.ExitCode}}", name).stdout.trimmingSpacesAndNewlines
        berth(root, "rm", "-f", name)
        return (ps, took, exit)
    }

    /// A terminal's output with its carriage returns taken out.
    private func unCR(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.filter { $0 != "\r" })
        return String(scalars)
    }

    @Test("Config.Env holds the image's and the user's variables only; PATH, HOSTNAME and TERM come at each start, as dockerd's")
    func environmentAsDockerd() {
        withStore { root in
            #expect(berth(root, "create", "--name", "plain", "busybox", "true").status == 0)
            #expect(berth(root, "inspect", "-f", "{{json .Config.Env}}", "plain").stdout == "null\n")
            #expect(berth(root, "create", "--name", "given", "-t", "-e", "A=1", "busybox", "true").status == 0)
            #expect(berth(root, "inspect", "-f", "{{json .Config.Env}}", "given").stdout == "[\"A=1\"]\n")
            let path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            let run = berth(root, "run", "--rm", "--hostname", "hx", "-e", "A=b", "busybox", "env")
            #expect(run.stdout == "\(path)\nHOSTNAME=hx\nA=b\nHOME=/root\n", "\(run.stdout)")
            // The user's own HOSTNAME and PATH win; a terminal adds TERM.
            let own = berth(
                root, "run", "--rm", "-t", "-e", "HOSTNAME=mine", "-e", "PATH=/bin", "busybox", "env")
            #expect(unCR(own.stdout) == "PATH=/bin\nHOSTNAME=mine\nTERM=xterm\nHOME=/root\n", "\(own.stdout)")
            // exec: TERM only with its own -t, whatever the container had.
            #expect(berth(root, "run", "-d", "-t", "--name", "tty", "--hostname", "tt", "busybox", "sleep", "60").status == 0)
            #expect(berth(root, "exec", "tty", "env").stdout == "\(path)\nHOSTNAME=tt\nHOME=/root\n")
            #expect(unCR(berth(root, "exec", "-t", "tty", "sh", "-c", "echo $TERM").stdout) == "xterm\n")
            berth(root, "rm", "-f", "plain", "given", "tty")
        }
    }

    @Test("--init: PID 1 reaps orphans (no Z in ps), SIGTERM reaches the command (stop is prompt, 143)")
    func initReapsAndForwards() {
        withStore { root in
            // The control: without an init, the zombie is there and SIGTERM
            // to a PID 1 without a handler does nothing (stop waits, then 137).
            let bare = zombies(root, [])
            #expect(bare.ps.contains(" Z "), "without --init the orphan stays a zombie: \(bare.ps)")
            #expect(bare.stopSeconds >= 4.5 && bare.exit == "137", "without --init: \(bare)")
            let reaped = zombies(root, ["--init"])
            #expect(!reaped.ps.contains(" Z "), "berth-init reaped the orphan: \(reaped.ps)")
            #expect(reaped.ps.contains("    2 S    sleep"), "the command is PID 1's child: \(reaped.ps)")
            #expect(reaped.stopSeconds < 2, "stop took \(reaped.stopSeconds) s")
            #expect(reaped.exit == "143", "the command's status, 128+SIGTERM: \(reaped.exit)")
        }
    }

    @Test("--init: the command's exit status, its PID is not 1, and PID 1 is a sealed memfd, not a host file")
    func initExitStatusAndSealing() {
        withStore { root in
            let run = berth(
                root, "run", "--rm", "--init", "busybox", "sh", "-c",
                "echo $$; readlink /proc/1/exe; echo x >> /proc/1/exe && echo W''ROTE; exit 7")
            #expect(run.status == 7, "stderr: \(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first != "1", "the command is not PID 1: \(run.stdout)")
            #expect(lines.count > 1 && lines[1].hasPrefix("/memfd:berth-init"), "PID 1's binary: \(run.stdout)")
            #expect(!run.stdout.contains("WROTE"), "the init cannot be written from inside")
            // A command that is not there: Docker's 127, as without --init.
            #expect(berth(root, "run", "--rm", "--init", "busybox", "nosuch").status == 127)
            #expect(berth(root, "create", "--init", "--name", "ini", "busybox").status == 0)
            #expect(berth(root, "inspect", "-f", "{{.HostConfig.Init}}", "ini").stdout == "true\n")
            #expect(berth(root, "run", "--rm", "--isolation", "chroot", "--init", "busybox", "sh", "-c", "exit 5").status == 5)
        }
    }

    @Test("--init on oci: /sbin/docker-init -- CMD as PID 1, read-only; the command's status", arguments: ["runc", "crun"])
    func initOnOCI(_ runtime: String) {
        withStore { root in
            let run = berth(
                root, "run", "--rm", "--isolation", "oci:\(runtime)", "--init", "busybox", "sh", "-c",
                "tr '\\0' ' ' < /proc/1/cmdline; echo; echo x >> /sbin/docker-init && echo W''ROTE; exit 4")
            #expect(run.status == 4, "stderr: \(run.stderr)")
            #expect(run.stdout.hasPrefix("/sbin/docker-init -- sh -c"), "PID 1: \(run.stdout)")
            #expect(!run.stdout.contains("WROTE"), "docker-init is mounted read-only")
        }
    }

    @Test("berth bundle of an --init container carries docker-init and runs under runc run: PID 1 is the init")
    func initInBundle() {
        withStore { root in
            let dir = makeTempDirectory("bundle-init")
            defer { removeTree(dir) }
            #expect(
                berth(
                    root, "create", "--name", "bun", "--init", "--ulimit", "nofile=300", "busybox", "sh", "-c",
                    "tr '\\0' ' ' < /proc/1/cmdline; echo; ulimit -n"
                ).status == 0)
            #expect(berth(root, "bundle", "bun", dir + "/bundle").status == 0)
            var st = stat()
            #expect(stat(dir + "/bundle/docker-init", &st) == 0 && st.st_mode & 0o7777 == 0o555)
            let runc = runProcess([
                "/bin/sh", "-c", "cd \(dir)/bundle && runc --root \(dir)/runc-state run berth-init-test-\(getpid())",
            ])
            #expect(runc.status == 0, "runc: \(runc.stderr)")
            #expect(runc.stdout.hasPrefix("/sbin/docker-init -- sh -c") && runc.stdout.hasSuffix("\n300\n"), "\(runc.stdout)")
        }
    }

    @Test("--ulimit: ulimit -n/-u inside show it, the host's are unchanged; Docker's errors, exit 125, nothing created")
    func ulimits() {
        withStore { root in
            let hostBefore = sh("ulimit -n; ulimit -Hn").stdout
            for backend in ["namespaces", "chroot", "oci:runc", "oci:crun"] {
                let run = berth(
                    root, "run", "--rm", "--isolation", backend, "--ulimit", "nofile=512:1024", "--ulimit", "nproc=100",
                    "--ulimit", "core=-1", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -u; ulimit -c")
                #expect(withoutWarnings(run.stdout) == "512\n1024\n100\nunlimited\n", "\(backend): \(run.stdout) \(run.stderr)")
            }
            #expect(sh("ulimit -n; ulimit -Hn").stdout == hostBefore)
            // Above the kernel's own maximum: one line naming the limit, exit 125.
            expectOneErrorLine(
                berth(root, "run", "--rm", "--ulimit", "nofile=99999999", "busybox", "true"),
                naming: ["--ulimit nofile", "fs.nr_open"], status: 125)
            // exec'd processes get the container's limits and score, as Docker's exec does.
            #expect(
                berth(
                    root, "run", "-d", "--name", "lim2", "--ulimit", "nofile=512:1024", "--oom-score-adj", "500", "busybox",
                    "sleep", "100"
                ).status == 0)
            let exec = berth(root, "exec", "lim2", "sh", "-c", "ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj")
            #expect(exec.stdout == "512\n1024\n500\n", "exec: \(exec.stdout) \(exec.stderr)")
            berth(root, "rm", "-f", "lim2")
            #expect(berth(root, "create", "--name", "lim", "--ulimit", "nofile=64", "busybox").status == 0)
            #expect(
                berth(root, "inspect", "-f", "{{json .HostConfig.Ulimits}}", "lim").stdout
                    == #"[{"Name":"nofile","Hard":64,"Soft":64}]"# + "\n")
            let before = berth(root, "ps", "-aq").stdout
            for (bad, words) in [
                ("bogus=1", ["invalid ulimit type: bogus"]), ("nofile", ["invalid ulimit argument: nofile"]),
                ("nofile=2048:1024", ["soft limit must be less than or equal to hard limit: 2048 > 1024"]),
                ("nofile=abc", ["\"abc\"", "--ulimit"]), ("nofile=1:2:3", ["too many limit value arguments"]),
                ("nofile=99999999999999999999", ["--ulimit"]),
            ] {
                expectOneErrorLine(berth(root, "create", "--ulimit", bad, "busybox"), naming: words, status: 125)
            }
            #expect(berth(root, "ps", "-aq").stdout == before, "a refused create makes nothing")
        }
    }

    @Test("--shm-size: df /dev/shm inside shows it (64m by default); refused on chroot")
    func shmSize() {
        withStore { root in
            for backend in ["namespaces", "oci:runc", "oci:crun"] {
                let sized = berth(
                    root, "run", "--rm", "--isolation", backend, "--shm-size", "32m", "busybox", "df", "-k", "/dev/shm")
                #expect(sized.stdout.contains(" 32768 "), "\(backend): \(sized.stdout) \(sized.stderr)")
                let plain = berth(root, "run", "--rm", "--isolation", backend, "busybox", "df", "-k", "/dev/shm")
                #expect(plain.stdout.contains(" 65536 "), "\(backend) default: \(plain.stdout)")
            }
            #expect(berth(root, "create", "--name", "shm", "--shm-size", "1g", "busybox").status == 0)
            #expect(berth(root, "inspect", "-f", "{{.HostConfig.ShmSize}}", "shm").stdout == "1073741824\n")
            expectRefusal(
                berth(root, "create", "--isolation", "chroot", "--shm-size", "32m", "busybox"),
                naming: ["--shm-size", "chroot"], status: 125)
            expectOneErrorLine(berth(root, "create", "--shm-size", "lots", "busybox"), naming: ["lots", "shm-size"], status: 125)
        }
    }

    @Test("--sysctl: written in the container's own namespaces, the host's values unchanged; Docker's refusals")
    func sysctls() {
        withStore { root in
            let ttl = "/proc/sys/net/ipv4/ip_default_ttl", shmmax = "/proc/sys/kernel/shmmax"
            let hostTTL = readFile(ttl), hostShmmax = readFile(shmmax)
            #expect(hostTTL != "42\n" && hostShmmax != "1234567\n", "the test needs other host values")
            for backend in ["namespaces", "oci:runc", "oci:crun"] {
                let run = berth(
                    root, "run", "--rm", "--isolation", backend, "--sysctl", "net.ipv4.ip_default_ttl=42", "--sysctl",
                    "kernel.shmmax=1234567", "busybox", "sh", "-c", "cat \(ttl) \(shmmax); sysctl -n net.ipv4.ip_default_ttl")
                #expect(run.stdout == "42\n1234567\n42\n", "\(backend): \(run.stdout) \(run.stderr)")
                #expect(readFile(ttl) == hostTTL && readFile(shmmax) == hostShmmax, "the host's values are unchanged")
            }
            // A key of the container's own interface: written once eth0 exists (namespaces backend).
            let iface = berth(
                root, "run", "--rm", "--sysctl", "net.ipv4.conf.eth0.rp_filter=2", "busybox", "sh", "-c",
                "cat /proc/sys/net/ipv4/conf/eth0/rp_filter; echo 1 > /proc/sys/net/ipv4/conf/eth0/rp_filter || echo read-only")
            #expect(iface.stdout == "2\nread-only\n", "\(iface.stdout) \(iface.stderr)")
            expectOneErrorLine(
                berth(root, "run", "--rm", "--network", "none", "--sysctl", "net.ipv4.conf.eth0.rp_filter=2", "busybox", "true"),
                naming: ["/proc/sys/net/ipv4/conf/eth0/rp_filter"], status: 125)
            // /proc/sys stays read-only after the values are written.
            let write = berth(
                root, "run", "--rm", "--sysctl", "kernel.shmmax=1234567", "busybox", "sh", "-c", "echo 1 > \(shmmax)")
            #expect(write.status != 0)
            #expect(readFile(shmmax) == hostShmmax)
            #expect(berth(root, "create", "--name", "sys", "--sysctl", "net.ipv4.ip_forward=1", "busybox").status == 0)
            #expect(
                berth(root, "inspect", "-f", "{{json .HostConfig.Sysctls}}", "sys").stdout == #"{"net.ipv4.ip_forward":"1"}"#
                    + "\n")
            let before = berth(root, "ps", "-aq").stdout
            for bad in ["kernel.hostname=x", "vm.swappiness=1", "net", "net..x=1", "net.ipv4/../../x=1", "net.a/b=1"] {
                expectOneErrorLine(berth(root, "create", "--sysctl", bad, "busybox"), naming: ["is not whitelisted"], status: 125)
            }
            expectOneErrorLine(
                berth(root, "create", "--network", "host", "--sysctl", "net.ipv4.ip_default_ttl=42", "busybox"),
                naming: ["net.ipv4.ip_default_ttl", "not allowed in host network namespace"], status: 125)
            expectRefusal(
                berth(root, "create", "--isolation", "chroot", "--sysctl", "kernel.shmmax=1", "busybox"),
                naming: ["--sysctl", "chroot"], status: 125)
            // A donor on the host's IPC namespace would carry the write to the
            // host's kernel (or come to, after this create): no IPC sysctl in a joined one.
            #expect(berth(root, "run", "-d", "--name", "donor", "--ipc", "host", "busybox", "sleep", "100").status == 0)
            let joined = berth(root, "create", "--ipc", "container:donor", "--sysctl", "kernel.shmmax=1234567", "busybox")
            expectOneErrorLine(joined, naming: ["kernel.shmmax", "not allowed in a joined IPC namespace"], status: 125)
            #expect(readFile(shmmax) == hostShmmax)
            berth(root, "rm", "-f", "donor")
            #expect(berth(root, "ps", "-aq").stdout == before, "a refused create makes nothing")
            // A key this kernel lacks, a value it refuses: the start fails with one line naming the file.
            expectOneErrorLine(
                berth(root, "run", "--rm", "--sysctl", "net.ipv4.no_such_knob=1", "busybox", "true"),
                naming: ["/proc/sys/net/ipv4/no_such_knob"], status: 125)
            expectOneErrorLine(
                berth(root, "run", "--rm", "--sysctl", "net.ipv4.ip_default_ttl=abc", "busybox", "true"),
                naming: ["/proc/sys/net/ipv4/ip_default_ttl", "EINVAL"], status: 125)
            #expect(readFile(ttl) == hostTTL && readFile(shmmax) == hostShmmax)
        }
    }

    @Test("--oom-score-adj: /proc/self/oom_score_adj inside shows it, on every backend; out of range is Docker's error")
    func oomScoreAdj() {
        withStore { root in
            let hostBefore = readFile("/proc/self/oom_score_adj")
            for backend in ["namespaces", "oci:runc", "oci:crun"] {
                let run = berth(
                    root, "run", "--rm", "--isolation", backend, "--oom-score-adj", "500", "busybox", "sh", "-c",
                    "cat /proc/self/oom_score_adj; sh -c 'cat /proc/self/oom_score_adj'")
                #expect(run.stdout == "500\n500\n", "\(backend): \(run.stdout) \(run.stderr)")
            }
            // chroot's root has no /proc: the host's shows PID 1's score.
            #expect(
                berth(
                    root, "run", "-d", "--name", "chr", "--isolation", "chroot", "--oom-score-adj", "500", "busybox", "sleep",
                    "100"
                )
                .status == 0)
            let pid = berth(root, "inspect", "-f", "{{.State.Pid}}", "chr").stdout.trimmingSpacesAndNewlines
            #expect(readFile("/proc/\(pid)/oom_score_adj") == "500\n")
            berth(root, "rm", "-f", "chr")
            #expect(readFile("/proc/self/oom_score_adj") == hostBefore)
            // A lower score needs CAP_SYS_RESOURCE: with it the value holds,
            // without it (some sandboxes) the start fails with one line saying so.
            let low = berth(root, "run", "--rm", "--oom-score-adj", "-300", "busybox", "cat", "/proc/self/oom_score_adj")
            if hasCapability(24) {
                #expect(low.stdout == "-300\n", "\(low.stderr)")
            } else {
                expectOneErrorLine(low, naming: ["oom_score_adj", "CAP_SYS_RESOURCE"], status: 125)
            }
            #expect(berth(root, "create", "--name", "oom", "--oom-score-adj", "-1000", "busybox").status == 0)
            #expect(berth(root, "inspect", "-f", "{{.HostConfig.OomScoreAdj}}", "oom").stdout == "-1000\n")
            for bad in ["1001", "-1001", "99999999999999999999"] {
                expectOneErrorLine(berth(root, "create", "--oom-score-adj", bad, "busybox"), naming: [bad], status: 125)
            }
            expectOneErrorLine(
                berth(root, "create", "--oom-score-adj", "1001", "busybox"),
                naming: ["Invalid value 1001, range for oom score adj is [-1000, 1000]"], status: 125)
        }
    }

    /// Whether this process holds capability `bit` in its effective set.
    private func hasCapability(_ bit: Int) -> Bool {
        let line = readFile("/proc/self/status").split(separator: "\n").first { $0.hasPrefix("CapEff:") } ?? ""
        guard let mask = UInt64(String(line.dropFirst(7)).trimmingSpacesAndNewlines, radix: 16) else { return false }
        return mask & (1 << UInt64(bit)) != 0
    }
}
