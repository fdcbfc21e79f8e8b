import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A static program that creates, reads or removes one SysV shared memory
/// segment (busybox has no ipcmk/ipcs): `shm create|read|rm`.
private let shmProbeSource = #"""
    #include <stdio.h>
    #include <string.h>
    #include <sys/ipc.h>
    #include <sys/shm.h>
    int main(int argc, char **argv) {
        int id = shmget(0x5eb7, 4096, argc > 1 && !strcmp(argv[1], "create") ? IPC_CREAT | 0600 : 0);
        if (id < 0) { perror("shmget"); return 1; }
        if (!strcmp(argv[1], "rm")) return shmctl(id, IPC_RMID, 0) == 0 ? 0 : 1;
        char *p = shmat(id, 0, 0);
        if (p == (void *)-1) { perror("shmat"); return 1; }
        if (!strcmp(argv[1], "create")) strcpy(p, "shared-by-sysv");
        else printf("%s\n", p);
        return 0;
    }
    """#

/// `--pid`, `--ipc`, `--uts`: the host's or another container's namespace,
/// seen from inside, with every other confinement kept, and Docker's refusals.
@Suite("run --pid, --ipc, --uts", .enabled(if: isRoot, "needs root"), .serialized)
struct NamespaceModeTests {
    private func withStore(_ body: (String) throws -> Void) rethrows { try withBusyboxStore("nsmode", body) }

    /// What a default container is confined by, as its own /proc shows it.
    private let confinement = "grep -E '^(CapEff|Seccomp):' /proc/self/status; wc -c < /proc/keys"

    @Test("--pid host: ps shows the host's processes, and the capabilities, seccomp filter and masks stay")
    func pidHost() {
        withStore { root in
            let run = berth(
                root, "run", "--rm", "--pid", "host", "busybox", "sh", "-c", "echo $$; ps -o pid,comm; " + confinement)
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first != "1", "the command is not PID 1 in the host's namespace")
            #expect(lines.count > 20, "the host's processes are listed: \(lines.count) lines")
            #expect(run.stdout.contains("    2 kthreadd"), "kthreadd, a host-only process: \(run.stdout.prefix(300))")
            #expect(run.stdout.contains("CapEff:\t00000000a80425fb"), "Docker's capabilities stay: \(run.stdout.suffix(200))")
            #expect(run.stdout.contains("Seccomp:\t2"), "the seccomp filter stays")
            #expect(run.stdout.hasSuffix("\n0\n"), "/proc/keys is still masked")
            // Without it, the namespace is the container's own.
            let own = berth(root, "run", "--rm", "busybox", "sh", "-c", "echo $$; ps -o comm")
            #expect(own.stdout.hasPrefix("1\n") && !own.stdout.contains("kthreadd"), "own PID namespace: \(own.stdout)")
            #expect(berth(root, "create", "--name", "ph", "--pid", "host", "busybox").status == 0)
            #expect(
                berth(root, "inspect", "-f", "{{.HostConfig.PidMode}}|{{.HostConfig.IpcMode}}|{{.HostConfig.UTSMode}}", "ph")
                    .stdout == "host|private|\n")
        }
    }

    @Test("--pid container:NAME: the other container's processes, on namespaces and oci; a stopped one is Docker's error")
    func pidContainer() {
        withStore { root in
            #expect(berth(root, "run", "-d", "--name", "donor", "busybox", "sleep", "300").status == 0)
            for backend in ["namespaces", "oci:runc", "oci:crun"] {
                let run = berth(
                    root, "run", "--rm", "--isolation", backend, "--pid", "container:donor", "busybox", "ps", "-o", "pid,comm")
                #expect(run.stdout.contains("    1 sleep"), "\(backend) sees the donor's PID 1: \(run.stdout) \(run.stderr)")
            }
            // exec into the joiner lands in the same namespace.
            #expect(
                berth(root, "run", "-d", "--name", "joiner", "--pid", "container:donor", "busybox", "sleep", "300").status == 0)
            let seen = berth(root, "exec", "joiner", "ps", "-o", "comm").stdout
            #expect(seen.split(separator: "\n").filter { $0 == "sleep" }.count == 2, "both sleeps: \(seen)")
            berth(root, "rm", "-f", "joiner")
            #expect(berth(root, "stop", "-t", "0", "donor").status == 0)
            expectOneErrorLine(
                berth(root, "run", "--rm", "--pid", "container:donor", "busybox", "true"),
                naming: ["cannot join PID of a non running container: donor"], status: 125)
            expectOneErrorLine(
                berth(root, "create", "--pid", "container:nosuch", "busybox"), naming: ["No such container: nosuch"], status: 125)
            expectOneErrorLine(
                berth(root, "create", "--pid", "bogus", "busybox"), naming: ["--pid: invalid PID mode"], status: 125)
            expectRefusal(
                berth(root, "create", "--isolation", "chroot", "--pid", "container:donor", "busybox"),
                naming: ["--pid", "chroot"], status: 125)
        }
    }

    @Test("--ipc container:NAME shares SysV shm and /dev/shm with a shareable donor; private ones and the host see neither")
    func ipcContainer() throws {
        let dir = makeTempDirectory("shm-probe")
        defer { removeTree(dir) }
        writeFile(dir + "/shm.c", shmProbeSource)
        let cc = runProcess(["gcc", "-static", "-O1", "-o", dir + "/shm", dir + "/shm.c"])
        try #require(cc.status == 0, "gcc builds the probe (make deps): \(cc.stderr)")
        let hostSegments = readFile("/proc/sysvipc/shm")
        withStore { root in
            let probe = ["-v", dir + "/shm:/shm:ro"]
            let donor = runProcess(
                [berthBinary, "--root", root, "run", "-d", "--name", "donor", "--ipc", "shareable"] + probe + [
                    "busybox", "sh", "-c", "/shm create && echo posix > /dev/shm/f && sleep 300",
                ])
            #expect(donor.status == 0, "\(donor.stderr)")
            #expect(eventually { berth(root, "exec", "donor", "cat", "/dev/shm/f").stdout == "posix\n" })
            for backend in ["namespaces", "oci:runc"] {
                let joined = runProcess(
                    [berthBinary, "--root", root, "run", "--rm", "--isolation", backend, "--ipc", "container:donor"] + probe + [
                        "busybox", "sh", "-c", "/shm read; cat /dev/shm/f 2>/dev/null || echo no-posix",
                    ])
                // The oci runtimes get the donor's IPC namespace by path; /dev/shm is their own.
                let expected = backend == "namespaces" ? "shared-by-sysv\nposix\n" : "shared-by-sysv\nno-posix\n"
                #expect(joined.stdout == expected, "\(backend): \(joined.stdout) \(joined.stderr)")
            }
            let alone = runProcess([berthBinary, "--root", root, "run", "--rm"] + probe + ["busybox", "/shm", "read"])
            #expect(alone.status == 1 && alone.stdout.isEmpty, "a private container sees no segment: \(alone.stdout)")
            #expect(readFile("/proc/sysvipc/shm") == hostSegments, "the host's IPC namespace is unchanged")
            // A joined container that wrote to /dev/shm wrote into the donor's.
            #expect(
                berth(root, "run", "--rm", "--ipc", "container:donor", "busybox", "sh", "-c", "echo back > /dev/shm/g").status
                    == 0)
            #expect(berth(root, "exec", "donor", "cat", "/dev/shm/g").stdout == "back\n")
            // Docker's refusals: a donor that is not shareable, a stopped one.
            #expect(berth(root, "run", "-d", "--name", "priv", "busybox", "sleep", "300").status == 0)
            expectOneErrorLine(
                berth(root, "run", "--rm", "--ipc", "container:priv", "busybox", "true"),
                naming: ["can't join IPC of container priv: non-shareable IPC"], status: 125)
            #expect(berth(root, "stop", "-t", "0", "donor").status == 0)
            expectOneErrorLine(
                berth(root, "run", "--rm", "--ipc", "container:donor", "busybox", "true"),
                naming: ["cannot join IPC of a non running container: donor"], status: 125)
            expectOneErrorLine(
                berth(root, "create", "--ipc", "bogus", "busybox"), naming: ["--ipc: invalid IPC mode"], status: 125)
        }
    }

    @Test("--ipc host: the host's SysV segments and /dev/shm; --ipc none: no /dev/shm; IPC sysctls refused with host")
    func ipcHostAndNone() throws {
        let dir = makeTempDirectory("shm-probe")
        defer {
            _ = runProcess([dir + "/shm", "rm"])
            removeTree(dir)
        }
        writeFile(dir + "/shm.c", shmProbeSource)
        let cc = runProcess(["gcc", "-static", "-O1", "-o", dir + "/shm", dir + "/shm.c"])
        try #require(cc.status == 0, "gcc builds the probe (make deps): \(cc.stderr)")
        try #require(runProcess([dir + "/shm", "create"]).status == 0)
        let marker = "berth-ipc-\(getpid())"
        writeFile("/dev/shm/" + marker, "host-posix\n")
        defer { unlink("/dev/shm/" + marker) }
        withStore { root in
            let host = runProcess(
                [
                    berthBinary, "--root", root, "run", "--rm", "--ipc", "host", "-v", dir + "/shm:/shm:ro", "busybox", "sh",
                    "-c",
                    "/shm read; cat /dev/shm/\(marker); " + confinement,
                ])
            #expect(host.stdout.hasPrefix("shared-by-sysv\nhost-posix\n"), "\(host.stdout) \(host.stderr)")
            #expect(host.stdout.contains("CapEff:\t00000000a80425fb") && host.stdout.contains("Seccomp:\t2"))
            let none = berth(root, "run", "--rm", "--ipc", "none", "busybox", "sh", "-c", "ls -d /dev/shm || echo gone")
            #expect(none.stdout.hasSuffix("gone\n"), "\(none.stdout)")
            // Joining a container that uses the host's IPC is joining the host's, /dev/shm too (Docker's rule).
            #expect(berth(root, "run", "-d", "--name", "hostipc", "--ipc", "host", "busybox", "sleep", "300").status == 0)
            let viaDonor = runProcess(
                [
                    berthBinary, "--root", root, "run", "--rm", "--ipc", "container:hostipc", "-v", dir + "/shm:/shm:ro",
                    "busybox", "sh",
                    "-c", "/shm read; cat /dev/shm/\(marker)",
                ])
            #expect(viaDonor.stdout == "shared-by-sysv\nhost-posix\n", "\(viaDonor.stdout) \(viaDonor.stderr)")
            expectOneErrorLine(
                berth(root, "create", "--ipc", "host", "--sysctl", "kernel.shmmax=1", "busybox"),
                naming: ["kernel.shmmax", "not allowed in host IPC namespace"], status: 125)
            for rt in ["runc", "crun"] {
                let oci = runProcess(
                    [
                        berthBinary, "--root", root, "run", "--rm", "--isolation", "oci:\(rt)", "--ipc", "host", "-v",
                        dir + "/shm:/shm:ro",
                        "busybox", "sh", "-c", "/shm read; cat /dev/shm/\(marker)",
                    ])
                #expect(oci.stdout == "shared-by-sysv\nhost-posix\n", "\(rt): \(oci.stdout) \(oci.stderr)")
            }
        }
    }

    @Test("--uts host: the host's name, unchanged by the container; -h with it is Docker's conflict")
    func utsHost() {
        withStore { root in
            let hostname = sh("hostname").stdout
            for backend in ["namespaces", "oci:runc", "oci:crun"] {
                let run = berth(
                    root, "run", "--rm", "--isolation", backend, "--uts", "host", "busybox", "sh", "-c",
                    "hostname; cat /etc/hostname; " + confinement)
                #expect(run.stdout.hasPrefix(hostname + hostname), "\(backend): \(run.stdout) \(run.stderr)")
                #expect(run.stdout.contains("CapEff:\t00000000a80425fb") && run.stdout.contains("Seccomp:\t2"))
            }
            // CAP_SYS_ADMIN is not given, so the host's name cannot be changed from inside.
            #expect(berth(root, "run", "--rm", "--uts", "host", "busybox", "hostname", "hijacked").status != 0)
            #expect(sh("hostname").stdout == hostname)
            expectOneErrorLine(
                berth(root, "create", "--uts", "host", "-h", "foo", "busybox"),
                naming: ["Conflicting options: hostname and the UTS mode"], status: 125)
            expectOneErrorLine(
                berth(root, "create", "--uts", "container:x", "busybox"), naming: ["--uts: invalid UTS mode"], status: 125)
        }
    }

    @Test("--domainname sets the NIS domain name in the container's own UTS namespace, on namespaces and oci")
    func domainname() {
        withStore { root in
            let hostDomain = readFile("/proc/sys/kernel/domainname")
            for backend in ["namespaces", "oci:runc"] {
                let run = berth(
                    root, "run", "--rm", "--isolation", backend, "--domainname", "example.org", "-h", "web", "busybox", "sh",
                    "-c", "cat /proc/sys/kernel/domainname; hostname")
                #expect(run.stdout == "example.org\nweb\n", "\(backend): \(run.stdout) \(run.stderr)")
            }
            #expect(readFile("/proc/sys/kernel/domainname") == hostDomain, "the host's domain name is unchanged")
            let created = berth(root, "create", "--name", "dn", "--domainname", "corp.example", "busybox")
            #expect(created.status == 0, "\(created.stderr)")
            #expect(berth(root, "inspect", "-f", "{{.Config.Domainname}}", "dn").stdout == "corp.example\n")
            #expect(berth(root, "rm", "dn").status == 0)
            expectOneErrorLine(
                berth(root, "create", "--uts", "host", "--domainname", "x.org", "busybox"),
                naming: ["Conflicting options: domainname and the UTS mode"], status: 125)
            expectOneErrorLine(
                berth(root, "create", "--isolation", "chroot", "--domainname", "x.org", "busybox"),
                naming: ["--domainname", "chroot"], status: 125)
            expectOneErrorLine(
                berth(root, "create", "--domainname", String(repeating: "d", count: 65), "busybox"),
                naming: ["--domainname", "65 bytes", "at most 64"], status: 125)
            #expect(berth(root, "ps", "-aq").stdout.isEmpty, "the refusals made nothing")
        }
    }
}
