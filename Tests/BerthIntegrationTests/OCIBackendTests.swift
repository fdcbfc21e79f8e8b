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
        #expect(
            access("/usr/bin/\(runtime)", X_OK) == 0 || access("/usr/sbin/\(runtime)", X_OK) == 0,
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
        expectOneErrorLine(berth(root, "rm", "box"), naming: ["You cannot remove a running container"])
        #expect(berth(root, "stop", "-t", "1", "box").status == 0)
        #expect(berth(root, "ps", "-a", "--format", "{{.Status}}").stdout.hasPrefix("Exited (137)"))
        #expect(berth(root, "start", "box").status == 0)
        #expect(berth(root, "rm", "-f", "box").status == 0)
        #expect(berth(root, "ps", "-aq").stdout.isEmpty)
        let run = berth(
            root, "run", "--rm", "--isolation", "oci", "--runtime", runtime, "busybox", "sh", "-c", "echo out; exit 3")
        #expect(run.status == 3 && run.stdout == "out\n")
        #expect(berth(root, "run", "--rm", "--isolation", "oci:\(runtime)", "busybox", "nosuch").status == 127)
    }

    @Test("oci:runc and oci:crun containers join the bridge: an address, each other, a published port, lo with --network none")
    func bridgeNetwork() {
        let root = makeTempDirectory("oci-net")
        defer {
            for id in berth(root, "ps", "-aq").stdout.split(separator: "\n") { berth(root, "rm", "-f", String(id)) }
            #expect(mounts(under: root).isEmpty)
            removeTree(root)  // system reset: the bridge and its rules go too
        }
        // A bridge and subnet of this test's own, as the network tests do: a
        // second octet no other suite uses (they run at the same time, and
        // a subnet another store's bridge routes is taken).
        let bridge = "bo\(getpid() % 100_000)"
        writeFile(root + "/config.json", #"{"bridgeName": "\#(bridge)", "bridgeSubnet": "10.240.\#(getpid() % 200).0/24"}"#)
        importBusybox(root)
        let port = freePort()
        #expect(
            berth(
                root, "run", "-d", "--name", "web", "--isolation", "oci:runc", "-p", "127.0.0.1:\(port):80",
                "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"
            ).status == 0)
        let address = berth(root, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web").stdout.trimmingSpacesAndNewlines
        #expect(address.hasPrefix("10.240."), "web: \(address)")
        let inside = berth(root, "exec", "web", "ip", "-o", "-4", "addr", "show", "eth0").stdout
        #expect(inside.contains(address + "/24"), "eth0 under runc: \(inside)")
        let fromCrun = berth(
            root, "run", "--rm", "--isolation", "oci:crun", "busybox", "wget", "-qO-", "http://\(address)/hostname")
        #expect(fromCrun.status == 0 && fromCrun.stdout.count == 13, "crun reaches runc: \(fromCrun.stdout) \(fromCrun.stderr)")
        var fromHost = ""
        eventually {
            fromHost = sh("wget -qO- http://127.0.0.1:\(port)/hostname").stdout; return !fromHost.isEmpty
        }
        #expect(fromHost == fromCrun.stdout, "the host reaches the published port: \(fromHost)")
        let none = berth(root, "run", "--rm", "--isolation", "oci:crun", "--network", "none", "busybox", "ip", "-o", "link")
        #expect(
            none.stdout.split(separator: "\n").count == 1 && none.stdout.contains("lo:") && none.stdout.contains("UP"),
            "--network none: lo only, up: \(none.stdout)")
        let id = berth(root, "inspect", "-f", "{{.Id}}", "web").stdout.prefix(12)
        #expect(berth(root, "rm", "-f", "web").status == 0)
        #expect(!fileExists("/sys/class/net/bv\(id)"), "rm took the veth")
        #expect(!sh("nft list tables").stdout.contains("berth-c-\(id)"), "rm took the port rules")
    }

    @Test("a bundle exported with berth bundle runs unchanged under runc run and crun run")
    func bundleRunsUnderRuntimes() {
        let root = makeTempDirectory("oci")
        let dir = makeTempDirectory("bundle")
        defer { berth(root, "rm", "-f", "bun"); removeTree(root); removeTree(dir) }
        importBusybox(root)
        #expect(
            berth(root, "create", "--name", "bun", "busybox", "sh", "-c", "hostname; grep CapBnd /proc/self/status").status == 0)
        let hostname = berth(root, "inspect", "-f", "{{.Config.Hostname}}", "bun").stdout
        #expect(berth(root, "bundle", "bun", dir + "/bundle").status == 0)
        let runc = runProcess([
            "/bin/sh", "-c", "cd \(dir)/bundle && runc --root \(dir)/runc-state run berth-bundle-test-\(getpid())",
        ])
        #expect(runc.status == 0, "runc: \(runc.stderr)")
        #expect(runc.stdout == hostname + "CapBnd:\t00000000a80425fb\n")
        let crun = runProcess([
            "unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
            "umount /sys/fs/cgroup/unified 2>/dev/null; cd \(dir)/bundle && crun --root \(dir)/crun-state run berth-bundle-crun-\(getpid())",
        ])
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
