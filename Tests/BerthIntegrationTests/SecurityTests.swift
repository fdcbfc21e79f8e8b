import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// The SHA-256 of a file, via the host's sha256sum.
func sha256(_ path: String) -> String {
    String(runProcess(["sha256sum", path]).stdout.prefix(64))
}

/// A freestanding x86_64 program (no libc) the kernel will load as an ELF
/// interpreter: it keeps an O_PATH descriptor of /proc/self/exe on fd 3 and
/// hands it to a busybox shell that tries, for a few seconds, to reopen it
/// for writing and write a marker into it: the CVE-2019-5736 payload.
private let payloadSource = #"""
    static long sys(long n, long a, long b, long c) {
        long r;
        __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
        return r;
    }
    void _start(void) {
        long fd = sys(2, (long)"/proc/self/exe", 010000000, 0);   /* open(O_PATH) */
        if (fd >= 0 && fd != 3) sys(33, fd, 3, 0);                  /* dup2(fd, 3) */
        char *argv[] = {"sh", "-c",
            "i=0; while [ $i -lt 150 ]; do "
            "( exec 4<>/proc/self/fd/3 && printf BERTH-OWNED-BY-CONTAINER >&4 ) 2>/dev/null && exit 0; "
            "i=$((i+1)); usleep 20000; done", 0};
        char *envp[] = {"PATH=/bin:/usr/bin", 0};
        sys(59, (long)"/bin/sh", (long)argv, (long)envp);           /* execve */
        sys(60, 1, 0, 0);
    }
    """#

@Suite(
    "Confinement: the engine's binary, capabilities, privileges", .serialized,
    .enabled(if: isRoot, "needs root for namespaces, mounts and cgroups"))
struct SecurityTests {
    @Test("CVE-2019-5736: a #!/proc/self/exe script with a fake ld.so cannot rewrite the berth binary that exec'd it")
    func hostBinaryOutOfReach() throws {
        let dir = makeTempDirectory("5736")
        defer { removeTree(dir) }
        // Two copies: the monitor keeps its own binary busy; the attack aims at
        // the one `exec` runs from, which is free to write once that CLI exits.
        let monitorCopy = dir + "/berth-monitor", execCopy = dir + "/berth-exec"
        #expect(sh("cp \(shellQuote(berthBinary)) \(monitorCopy) && cp \(shellQuote(berthBinary)) \(execCopy)").status == 0)
        writeFile(dir + "/payload.c", payloadSource)
        let cc = runProcess([
            "gcc", "-nostdlib", "-static", "-fno-pie", "-no-pie", "-fno-stack-protector", "-O1",
            "-o", dir + "/payload", dir + "/payload.c",
        ])
        try #require(cc.status == 0, "gcc builds the payload: \(cc.stderr)")
        writeFile(dir + "/evil.sh", "#!/proc/self/exe\n")
        let root = dir + "/store"
        importBusybox(root)
        func run(_ binary: String, _ args: String...) -> ProcessResult { runProcess([binary, "--root", root] + args) }
        defer { _ = run(monitorCopy, "rm", "-f", "victim") }
        #expect(run(monitorCopy, "run", "-d", "--name", "victim", "busybox", "sleep", "300").status == 0)
        #expect(run(monitorCopy, "exec", "victim", "mkdir", "-p", "/lib64").status == 0)
        #expect(run(monitorCopy, "cp", dir + "/payload", "victim:/lib64/ld-linux-x86-64.so.2").status == 0)
        #expect(run(monitorCopy, "cp", dir + "/evil.sh", "victim:/evil.sh").status == 0)
        #expect(run(monitorCopy, "exec", "victim", "chmod", "755", "/evil.sh", "/lib64/ld-linux-x86-64.so.2").status == 0)

        let before = sha256(execCopy)
        let attack = run(execCopy, "exec", "-d", "victim", "/evil.sh")
        #expect(attack.status == 0, "exec -d starts the script: \(attack.stderr)")
        usleep(3_500_000)  // the payload retries for 3 s after the CLI has exited
        #expect(sha256(execCopy) == before, "the berth binary that ran exec was rewritten from inside the container")
        #expect(!readFile(execCopy).contains("BERTH-OWNED-BY-CONTAINER"))
        #expect(sha256(monitorCopy) == sha256(berthBinary), "the monitor's binary is untouched too")
    }

    @Test(
        "default capabilities: Docker's 14, inheritable and ambient empty; --cap-drop ALL leaves none",
        arguments: ["namespaces", "oci:runc", "oci:crun"])
    func capabilities(isolation: String) {
        withStore { s in
            let status = s.berth("run", "--rm", "--isolation", isolation, "busybox", "grep", "^Cap", "/proc/self/status")
            #expect(status.status == 0, "\(status.stderr)")
            let caps = capabilitySets(status.stdout)
            #expect(caps["CapInh"] == 0, "CapInh: \(status.stdout)")
            #expect(caps["CapAmb"] == 0)
            #expect(caps["CapEff"] == 0xa80425fb, "Docker's default set: \(status.stdout)")
            let none = capabilitySets(
                s.berth(
                    "run", "--rm", "--isolation", isolation, "--cap-drop", "ALL", "busybox",
                    "grep", "^Cap", "/proc/self/status"
                ).stdout)
            #expect(none["CapEff"] == 0 && none["CapPrm"] == 0 && none["CapBnd"] == 0, "\(none)")
            let tuned = capabilitySets(
                s.berth(
                    "run", "--rm", "--isolation", isolation, "--cap-add", "net_admin",
                    "--cap-drop", "CAP_CHOWN", "busybox", "grep", "^Cap", "/proc/self/status"
                ).stdout)
            #expect(tuned["CapEff"] == (0xa80425fb | 1 << 12) & ~1, "NET_ADMIN added, CHOWN dropped: \(tuned)")
            let nnp = s.berth(
                "run", "--rm", "--isolation", isolation, "--security-opt", "no-new-privileges",
                "busybox", "grep", "NoNewPrivs", "/proc/self/status")
            #expect(nnp.stdout.contains("NoNewPrivs:\t1"), "\(nnp.stdout) \(nnp.stderr)")
        }
    }

    @Test("--privileged: every capability Berth holds and no masked paths; exec inherits the container's settings")
    func privileged() {
        withStore { s in
            let own = capabilitySets(readFile("/proc/self/status"))["CapBnd"] ?? 0
            let privileged = s.berth(
                "run", "--rm", "--privileged", "busybox", "sh", "-c",
                "grep -E '^(CapEff|Seccomp):' /proc/self/status; [ -c /proc/keys ] && echo masked || echo open")
            #expect(privileged.stdout.contains("Seccomp:\t0\n"), "--privileged has no seccomp filter: \(privileged.stdout)")
            #expect(capabilitySets(privileged.stdout)["CapEff"] == own, "\(privileged.stdout) \(privileged.stderr)")
            #expect(privileged.stdout.hasSuffix("open\n"), "\(privileged.stdout)")
            let plain = s.berth("run", "--rm", "busybox", "sh", "-c", "[ -c /proc/keys ] && echo masked || echo open")
            #expect(plain.stdout == "masked\n", "/proc/keys is masked by default: \(plain.stdout)")

            #expect(
                s.berth(
                    "run", "-d", "--name", "nnp", "--security-opt", "no-new-privileges:true", "--cap-drop", "ALL",
                    "--group-add", "daemon", "--group-add", "4242", "busybox", "sleep", "60"
                ).status == 0)
            let exec = s.berth("exec", "nnp", "sh", "-c", "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; id -G")
            #expect(exec.stdout == "CapEff:\t0000000000000000\nNoNewPrivs:\t1\n0 1 4242\n", "exec: \(exec.stdout) \(exec.stderr)")
            #expect(
                s.inspect("nnp", "{{.HostConfig.SecurityOpt}} {{.HostConfig.CapDrop}} {{.HostConfig.GroupAdd}}")
                    == "[no-new-privileges:true] [ALL] [daemon 4242]")
        }
    }

    @Test("exec never hands the caller's descriptors to the container: -d gets /dev/null, a background child a pipe")
    func execDescriptors() {
        withStore { s in
            let dir = makeTempDirectory("execfds")
            defer { removeTree(dir) }
            let hostFile = dir + "/caller-output.txt"
            #expect(s.berth("run", "-d", "--name", "fds", "busybox", "sleep", "120").status == 0)
            let q = shellQuote(berthBinary) + " --root " + shellQuote(s.root)
            // exec -d with the caller's stdout and stderr on a host file.
            #expect(
                sh(
                    "\(q) exec -d fds sh -c 'sleep 1; { readlink /proc/self/fd/0; readlink /proc/self/fd/2; } > /tmp/d' > \(hostFile) 2>&1"
                ).status == 0)
            // A background child of an attached exec outlives the CLI.
            let attached = sh(
                "\(q) exec fds sh -c '(sleep 1; readlink /proc/self/fd/2 > /tmp/bg) & echo out; echo err >&2' > \(hostFile) 2>\(dir)/err.txt"
            )
            #expect(attached.status == 0)
            #expect(readFile(hostFile) == "out\n" && readFile(dir + "/err.txt") == "err\n", "streams stay apart")
            usleep(2_000_000)
            let detached = s.berth("exec", "fds", "cat", "/tmp/d").stdout
            #expect(detached == "/dev/null\n/dev/null\n", "exec -d: \(detached)")
            let background = s.berth("exec", "fds", "cat", "/tmp/bg").stdout
            #expect(background.hasPrefix("pipe:["), "the background child holds a pipe, not the caller's file: \(background)")
            #expect(!background.contains(dir) && !detached.contains(dir))
            // Streams still flow both ways, with the command's exit code.
            writeFile(dir + "/in.txt", String(repeating: "0123456789abcdef", count: 65536))  // 1 MiB
            let cat = sh("\(q) exec -i fds sh -c 'cat; exit 4' < \(dir)/in.txt | wc -c")
            #expect(cat.stdout.split(whereSeparator: \.isWhitespace) == ["1048576"], "\(cat.stdout)")
            #expect(sh("\(q) exec fds sh -c 'exit 4'").status == 4)
        }
    }

    @Test("a bad capability, security option or group is refused at create with one line, and nothing is made")
    func refusals() {
        withStore { s in
            let before = s.psTimeless()
            expectOneErrorLine(
                s.berth("create", "--cap-add", "bogus", "busybox"), naming: ["unknown capability: \"CAP_BOGUS\""],
                status: 125)
            expectOneErrorLine(
                s.berth("create", "--security-opt", "bogus", "busybox"), naming: ["--security-opt", "bogus"],
                status: 125)
            expectOneErrorLine(
                s.berth("create", "--security-opt", "no-new-privileges=maybe", "busybox"),
                naming: ["no-new-privileges"], status: 125)
            #expect(s.psTimeless() == before)
            let group = s.berth("run", "--rm", "--group-add", "nosuchgroup", "busybox", "true")
            expectOneErrorLine(group, naming: ["nosuchgroup"], status: 125)
        }
    }
}

/// `CapEff:\t00000000a80425fb` lines as numbers.
func capabilitySets(_ text: String) -> [String: UInt64] {
    var sets: [String: UInt64] = [:]
    for line in text.split(separator: "\n") where line.hasPrefix("Cap") {
        let parts = line.split(separator: ":")
        if parts.count == 2 { sets[String(parts[0])] = UInt64(parts[1].filter { !$0.isWhitespace }, radix: 16) }
    }
    return sets
}
