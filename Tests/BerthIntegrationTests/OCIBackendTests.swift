import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The `oci` backend drives runc and crun; the tutorial's lifecycle must
/// behave as on `namespaces`, and `berth bundle` must run unchanged under both.
@Suite("OCI runtimes", .enabled(if: isRoot, "needs root for runtimes"), .serialized)
struct OCIBackendTests {
    @Test("the tutorial's lifecycle on oci:runc and oci:crun", arguments: ["runc", "crun"])
    func lifecycle(_ runtime: String) {
        #expect(access("/usr/bin/\(runtime)", X_OK) == 0 || access("/usr/sbin/\(runtime)", X_OK) == 0,
                "\(runtime) is not installed: run make deps")
        let root = makeTempDirectory("oci")
        defer {
            berth(root, "rm", "-f", "box")
            #expect(mounts(under: root).isEmpty)
            removeTree(root)
        }
        importBusybox(root)
        let created = berth(root, "create", "-it", "--name", "box", "--isolation", "oci:\(runtime)", "busybox")
        #expect(created.status == 0, "create: \(created.stderr)")
        #expect(berth(root, "ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout == "box Created\n")
        #expect(berth(root, "start", "box").status == 0)
        #expect(berth(root, "ps", "--format", "{{.Status}}").stdout.hasPrefix("Up "))
        let ps = berth(root, "exec", "box", "ps", "-o", "pid,comm")
        #expect(ps.stdout.contains("    1 sh"), "PID 1 is sh under \(runtime): \(ps.stdout)")
        #expect(berth(root, "pause", "box").status == 0)
        #expect(berth(root, "ps", "--format", "{{.Status}}").stdout.hasSuffix("(Paused)\n"))
        #expect(berth(root, "unpause", "box").status == 0)
        expectOneErrorLine(berth(root, "rm", "box"), naming: ["container is running"])
        #expect(berth(root, "stop", "-t", "1", "box").status == 0)
        #expect(berth(root, "ps", "-a", "--format", "{{.Status}}").stdout.hasPrefix("Exited (137)"))
        #expect(berth(root, "start", "box").status == 0)
        #expect(berth(root, "rm", "-f", "box").status == 0)
        #expect(berth(root, "ps", "-aq").stdout.isEmpty)
        let run = berth(root, "run", "--rm", "--isolation", "oci", "--runtime", runtime, "busybox", "sh", "-c", "echo out; exit 3")
        #expect(run.status == 3 && run.stdout == "out\n")
        #expect(berth(root, "run", "--rm", "--isolation", "oci:\(runtime)", "busybox", "nosuch").status == 127)
    }

    @Test("a bundle exported with berth bundle runs unchanged under runc run and crun run")
    func bundleRunsUnderRuntimes() {
        let root = makeTempDirectory("oci")
        let dir = makeTempDirectory("bundle")
        defer { berth(root, "rm", "-f", "bun"); removeTree(root); removeTree(dir) }
        importBusybox(root)
        #expect(berth(root, "create", "--name", "bun", "busybox", "sh", "-c", "hostname; grep CapBnd /proc/self/status").status == 0)
        let hostname = berth(root, "inspect", "-f", "{{.Config.Hostname}}", "bun").stdout
        #expect(berth(root, "bundle", "bun", dir + "/bundle").status == 0)
        let runc = runProcess(["/bin/sh", "-c", "cd \(dir)/bundle && runc --root \(dir)/runc-state run berth-bundle-test-\(getpid())"])
        #expect(runc.status == 0, "runc: \(runc.stderr)")
        #expect(runc.stdout == hostname + "CapBnd:\t00000000a80425fb\n")
        let crun = runProcess(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                               "umount /sys/fs/cgroup/unified 2>/dev/null; cd \(dir)/bundle && crun --root \(dir)/crun-state run berth-bundle-crun-\(getpid())"])
        #expect(crun.status == 0, "crun: \(crun.stderr)")
        #expect(crun.stdout == runc.stdout)
    }

    @Test("bench compares namespaces, oci:runc and oci:crun in one table")
    func benchComparesRuntimes() {
        let root = makeTempDirectory("oci")
        defer { removeTree(root) }
        importBusybox(root)
        let out = berth(root, "bench", "--isolation", "namespaces,oci:runc,oci:crun", "-n", "2")
        #expect(out.status == 0, "bench: \(out.stderr)")
        for combo in ["namespaces/overlay/busybox", "oci:runc/overlay/busybox", "oci:crun/overlay/busybox"] {
            #expect(lines(out.stdout).contains { cells($0).prefix(3) == [combo, "start", "2"] }, "no start row for \(combo)")
        }
        #expect(berth(root, "ps", "-aq").stdout.isEmpty)
    }
}
