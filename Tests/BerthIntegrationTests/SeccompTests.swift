import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A static probe the tests build on the host and bind-mount read-only into
/// containers: busybox cannot call keyctl, add_key, perf_event_open,
/// userfaultfd, io_uring_setup or an arbitrary personality. For each name it
/// prints `NAME: ok` or `NAME: ERRNO-NAME`.
private let probeSource = #"""
    #define _GNU_SOURCE
    #include <errno.h>
    #include <fcntl.h>
    #include <linux/perf_event.h>
    #include <stdio.h>
    #include <string.h>
    #include <sys/personality.h>
    #include <sys/syscall.h>
    #include <unistd.h>

    int main(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
            const char *n = argv[i];
            long rc;
            errno = 0;
            if (!strcmp(n, "keyctl")) {
                rc = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -4 /* the user keyring */, 1);
            } else if (!strcmp(n, "add_key")) {
                rc = syscall(SYS_add_key, "user", "berth-probe", "x", 1, -2 /* the process keyring */);
            } else if (!strcmp(n, "perf_event_open")) {
                struct perf_event_attr a;
                memset(&a, 0, sizeof a);
                a.type = PERF_TYPE_SOFTWARE; a.size = sizeof a; a.config = PERF_COUNT_SW_TASK_CLOCK;
                a.disabled = 1; a.exclude_kernel = 1; a.exclude_hv = 1;
                rc = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
            } else if (!strcmp(n, "userfaultfd")) {
                rc = syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
            } else if (!strcmp(n, "io_uring_setup")) {
                char params[120];
                memset(params, 0, sizeof params);
                rc = syscall(SYS_io_uring_setup, 1, params);
            } else if (!strcmp(n, "personality")) {
                rc = syscall(SYS_personality, 0x0040000 /* ADDR_NO_RANDOMIZE */);
            } else {
                printf("%s: unknown probe\n", n);
                return 3;
            }
            printf("%s: %s\n", n, rc < 0 ? strerrorname_np(errno) : "ok");
        }
        return 0;
    }
    """#

/// Builds the probe into a directory of its own (the caller removes it); nil
/// when no C compiler here can link it statically.
private func buildProbe() -> String? {
    let dir = makeTempDirectory("seccomp-probe")
    writeFile(dir + "/probe.c", probeSource)
    let candidates: [String] = ["/usr/bin/gcc", "/usr/bin/cc", "/opt/swift/usr/bin/clang"]
    let compilers = candidates.filter { access($0, X_OK) == 0 }
    for cc in compilers {
        let built = runProcess([cc, "-static", "-O2", "-o", dir + "/probe", dir + "/probe.c"])
        if built.status == 0 { return dir }
    }
    removeTree(dir)
    return nil
}

private let probeNames = ["keyctl", "add_key", "perf_event_open", "userfaultfd", "io_uring_setup", "personality"]

/// What the probe printed, by syscall.
private func probeResults(_ output: String) -> [String: String] {
    var results: [String: String] = [:]
    for line in output.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1).map { String($0).trimmingSpacesAndNewlines }
        if parts.count == 2 { results[parts[0]] = parts[1] }
    }
    return results
}

/// Docker's default seccomp profile, `--security-opt seccomp=unconfined`,
/// user profiles, exec, and the oci backend's runtimes.
@Suite("Seccomp", .enabled(if: isRoot, "needs root for containers"), .serialized)
struct SeccompTests {
    @Test("by default PID 1 runs under a filter (Seccomp: 2); unconfined has none (Seccomp: 0)")
    func statusLine() {
        withStore { s in
            let confined = s.berth("run", "--rm", "busybox", "grep", "^Seccomp:", "/proc/1/status")
            #expect(confined.status == 0 && confined.stdout.hasSuffix("2\n"), "default: \(confined.stdout) \(confined.stderr)")
            let open = s.berth(
                "run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "grep", "^Seccomp:", "/proc/1/status")
            #expect(open.status == 0 && open.stdout.hasSuffix("0\n"), "unconfined: \(open.stdout) \(open.stderr)")
            #expect(
                s.berth("create", "--name", "open", "--security-opt", "seccomp:unconfined", "busybox").status == 0,
                "Docker's old spelling seccomp:VALUE is taken too")
            #expect(s.inspect("open", "{{json .HostConfig.SecurityOpt}}") == #"["seccomp=unconfined"]"#)
            #expect(s.berth("create", "--name", "dflt", "busybox").status == 0)
            #expect(s.inspect("dflt", "{{json .HostConfig.SecurityOpt}}") == "null", "Docker shows null for the default profile")
            // The compiled program is cached in the store; a damaged cache file is
            // ignored (compiled again and replaced), never loaded.
            let cached = sh("ls \(shellQuote(s.root))/cache/seccomp/*.bpf").stdout.split(separator: "\n").map(String.init)
            #expect(cached.count == 1, "one cached filter: \(cached)")
            if let file = cached.first {
                writeFile(file, "not a filter")
                let again = s.berth("run", "--rm", "busybox", "grep", "^Seccomp:", "/proc/1/status")
                #expect(
                    again.status == 0 && again.stdout.hasSuffix("2\n"), "after a damaged cache: \(again.stdout) \(again.stderr)")
                let size = Int(sh("stat -c %s \(shellQuote(file))").stdout.trimmingSpacesAndNewlines) ?? 0
                #expect(size % 8 == 0 && size > 800, "rewritten with the compiled program: \(size) bytes")
            }
        }
    }

    @Test("unshare -U fails with EPERM under the default profile and works unconfined")
    func userNamespaces() {
        withStore { s in
            let confined = s.berth("run", "--rm", "busybox", "unshare", "-U", "true")
            #expect(
                confined.status != 0 && confined.stderr.contains("Operation not permitted"),
                "default: \(confined.status) \(confined.stderr)")
            let open = s.berth("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "unshare", "-U", "true")
            #expect(open.status == 0, "unconfined: \(open.stderr)")
        }
    }

    @Test(
        "keyctl, add_key, perf_event_open, userfaultfd, io_uring_setup and personality fail with EPERM by default, not unconfined"
    )
    func blockedSyscalls() {
        guard let dir = buildProbe() else {
            Issue.record("cannot build the static probe: install gcc and libc6-dev (make deps)")
            return
        }
        defer { removeTree(dir) }
        withStore { s in
            let confined = s.berth(["run", "--rm", "-v", dir + ":/probe:ro", "busybox", "/probe/probe"] + probeNames)
            let blocked = probeResults(confined.stdout)
            for name in probeNames {
                #expect(blocked[name] == "EPERM", "\(name) under the default profile: \(confined.stdout) \(confined.stderr)")
            }
            let open = s.berth(
                [
                    "run", "--rm", "-v", dir + ":/probe:ro", "--security-opt", "seccomp=unconfined", "busybox",
                    "/probe/probe",
                ] + probeNames)
            let allowed = probeResults(open.stdout)
            for name in probeNames {
                // The kernel itself may still refuse (a perf_event_paranoid of 3
                // gives EACCES); what must be gone is the filter's EPERM.
                #expect(allowed[name] != nil && allowed[name] != "EPERM", "\(name) unconfined: \(open.stdout) \(open.stderr)")
            }
            #expect(
                allowed["keyctl"] == "ok" && allowed["add_key"] == "ok", "the keyring is the kernel's to give: \(open.stdout)")
        }
    }

    @Test("exec'd processes get the container's filter, or none when it is unconfined")
    func execInherits() {
        guard let dir = buildProbe() else {
            Issue.record("cannot build the static probe: install gcc and libc6-dev (make deps)")
            return
        }
        defer { removeTree(dir) }
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "confined", "-v", dir + ":/probe:ro", "busybox", "sleep", "60").status == 0)
            #expect(
                s.berth("run", "-d", "--name", "open", "--security-opt", "seccomp=unconfined", "busybox", "sleep", "60").status
                    == 0)
            let status = s.berth("exec", "confined", "grep", "^Seccomp:", "/proc/self/status")
            #expect(status.stdout.hasSuffix("2\n"), "exec under the default profile: \(status.stdout) \(status.stderr)")
            let keys = s.berth("exec", "confined", "/probe/probe", "keyctl", "add_key")
            #expect(probeResults(keys.stdout) == ["keyctl": "EPERM", "add_key": "EPERM"], "exec: \(keys.stdout) \(keys.stderr)")
            let ns = s.berth("exec", "confined", "unshare", "-U", "true")
            #expect(ns.status != 0 && ns.stderr.contains("Operation not permitted"), "exec: unshare -U: \(ns.stderr)")
            let open = s.berth("exec", "open", "grep", "^Seccomp:", "/proc/self/status")
            #expect(open.stdout.hasSuffix("0\n"), "exec in an unconfined container: \(open.stdout) \(open.stderr)")
        }
    }

    @Test(
        "a user profile is honoured: denied syscalls fail with its errno, the rest work; later edits to the file change nothing")
    func userProfile() {
        withStore { s in
            let dir = makeTempDirectory("seccomp-profile")
            defer { removeTree(dir) }
            let profile = dir + "/deny-mkdir.json"
            writeFile(
                profile,
                """
                {"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [
                   {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
                   {"name": "symlinkat", "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                   {"names": ["symlink"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                   {"names": ["no_such_syscall_anywhere"], "action": "SCMP_ACT_ERRNO"}
                 ]}
                """)
            #expect(
                s.berth(
                    "create", "--name", "prof", "--security-opt", "seccomp=" + profile, "busybox", "sh", "-c",
                    "mkdir /x; ln -s a /y; touch /z && echo touched; grep ^Seccomp: /proc/self/status"
                ).status == 0)
            // Docker keeps the profile's text in the container: the file can go.
            unlink(profile)
            #expect(s.inspect("prof", "{{json .HostConfig.SecurityOpt}}").contains("seccomp={\\\"defaultAction\\\""))
            let run = s.berth("start", "-a", "prof")
            #expect(run.stderr.contains("mkdir: can't create directory '/x': Operation not permitted"), "mkdir: \(run.stderr)")
            #expect(run.stderr.contains("Function not implemented"), "errnoRet 38 for symlink: \(run.stderr)")
            #expect(run.stdout.contains("touched") && run.stdout.contains("2\n"), "the rest works, under a filter: \(run.stdout)")
        }
    }

    @Test("a malformed or missing profile, or an unknown option, is one Error line and exit 125 at create; nothing is created")
    func refusals() {
        withStore { s in
            let dir = makeTempDirectory("seccomp-bad")
            defer { removeTree(dir) }
            let cases: [(String, String, [String])] = [
                ("notjson.json", "{ not json", ["notjson.json", "invalid JSON"]),
                ("action.json", #"{"defaultAction": "SCMP_ACT_BOGUS"}"#, ["action.json", "SCMP_ACT_BOGUS"]),
                ("noaction.json", #"{"syscalls": []}"#, ["noaction.json", "defaultAction"]),
                (
                    "op.json",
                    #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
                    ["op.json", "index"]
                ),
                (
                    "cap.json",
                    #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_NOPE"]}}]}"#,
                    ["cap.json", "CAP_NOPE"]
                ),
                ("list.json", "[]", ["list.json", "not a JSON object"]),
            ]
            for (name, text, naming) in cases {
                writeFile(dir + "/" + name, text)
                expectOneErrorLine(
                    s.berth("run", "--rm", "--security-opt", "seccomp=" + dir + "/" + name, "busybox", "true"),
                    naming: naming, status: 125)
                expectOneErrorLine(
                    s.berth("create", "--security-opt", "seccomp=" + dir + "/" + name, "busybox"),
                    naming: naming, status: 125)
            }
            // Well-formed, but more than the kernel's 4096 BPF instructions: refused at create, not at each start.
            let rules = (0..<6000).map {
                #"{"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": \#($0), "op": "SCMP_CMP_EQ"}]}"#
            }
            writeFile(
                dir + "/big.json", #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": ["# + rules.joined(separator: ",") + "]}")
            expectOneErrorLine(
                s.berth("create", "--security-opt", "seccomp=" + dir + "/big.json", "busybox"),
                naming: ["big.json", "4096"], status: 125)
            expectOneErrorLine(
                s.berth("create", "--security-opt", "seccomp=" + dir + "/missing.json", "busybox"),
                naming: ["missing.json", "No such file"], status: 125)
            expectOneErrorLine(
                s.berth("create", "--security-opt", "seccomp=" + dir, "busybox"),
                naming: ["not a regular file"], status: 125)
            expectOneErrorLine(
                s.berth("create", "--security-opt", "apparmor=docker-default", "busybox"),
                naming: ["apparmor=docker-default", "AppArmor"], status: 125)
            // Asking for no AppArmor or SELinux confinement is what Berth gives anyway.
            let unconfined = s.berth(
                "create", "--name", "noapparmor", "--security-opt", "apparmor=unconfined",
                "--security-opt", "label=disable", "busybox")
            #expect(unconfined.status == 0, "\(unconfined.stderr)")
            #expect(s.berth("rm", "noapparmor").status == 0)
            expectOneErrorLine(s.berth("create", "--security-opt", "seccomp=", "busybox"), naming: ["seccomp="], status: 125)
            var chroot = s.berth("create", "--isolation", "chroot", "--security-opt", "seccomp=" + dir + "/list.json", "busybox")
            chroot.stderr = withoutWarnings(chroot.stderr)
            expectOneErrorLine(chroot, naming: ["chroot"], status: 125)
            #expect(s.berth("ps", "-aq").stdout.isEmpty, "nothing was created")
        }
    }

    @Test(
        "oci:runc and oci:crun load the same profile: Seccomp 2 and no user namespaces by default, none unconfined",
        arguments: ["runc", "crun"])
    func ociRuntimes(_ runtime: String) {
        withStore { s in
            let iso = "oci:\(runtime)"
            let confined = s.berth(
                "run", "--rm", "--isolation", iso, "busybox", "sh", "-c",
                "grep ^Seccomp: /proc/1/status; unshare -U true && echo unshared")
            #expect(
                confined.stdout.hasPrefix("Seccomp:") && confined.stdout.contains("2\n") && !confined.stdout.contains("unshared"),
                "\(runtime), default: \(confined.stdout) \(confined.stderr)")
            #expect(confined.stderr.contains("Operation not permitted"), "\(runtime): \(confined.stderr)")
            let open = s.berth(
                "run", "--rm", "--isolation", iso, "--security-opt", "seccomp=unconfined", "busybox", "sh", "-c",
                "grep ^Seccomp: /proc/1/status; unshare -U true && echo unshared")
            #expect(
                open.stdout.contains("0\n") && open.stdout.contains("unshared"),
                "\(runtime), unconfined: \(open.stdout) \(open.stderr)")
            // A container of the oci backend gets the filter on exec too (Berth's own exec path).
            #expect(s.berth("run", "-d", "--name", "ocibox", "--isolation", iso, "busybox", "sleep", "60").status == 0)
            let exec = s.berth("exec", "ocibox", "unshare", "-U", "true")
            #expect(exec.status != 0 && exec.stderr.contains("Operation not permitted"), "\(runtime) exec: \(exec.stderr)")
        }
    }
}
