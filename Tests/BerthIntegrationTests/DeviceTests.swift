import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The device allowlist: a container keeps CAP_MKNOD (Docker's default), so
/// only the cgroup rules stand between it and a host disk or /dev/kmsg.
/// The host block device is a loop device over a small file this suite
/// makes, detached at the end even when a test fails.
@Suite("Devices: Docker's allowlist and --device", .serialized, .enabled(if: isRoot, "needs root for loop devices and cgroups"))
struct DeviceTests {
    /// A loop device over a 1 MiB file whose first bytes are `berthloop`.
    final class Loop {
        let dir = makeTempDirectory("loop")
        var device = ""
        var major = 0, minor = 0

        init() {
            let file = dir + "/disk"
            writeFile(file, "berthloop")
            _ = sh("truncate -s 1M \(shellQuote(file))")
            device = sh("losetup -f --show \(shellQuote(file))").stdout.trimmingSpacesAndNewlines
            var st = stat()
            if !device.isEmpty, stat(device, &st) == 0 {
                major = Int(st.st_rdev >> 8 & 0xfff)
                minor = Int(st.st_rdev & 0xff | (st.st_rdev >> 12) & ~0xff)
            }
        }

        func detach() {
            if !device.isEmpty { _ = sh("losetup -d \(device)") }
            removeTree(dir)
        }
    }

    private func withLoop(_ body: (String, Loop) throws -> Void) rethrows {
        let root = makeTempDirectory("dev")
        let loop = Loop()
        defer {
            for id in berth(root, "ps", "-aq").stdout.split(separator: "\n") { berth(root, "rm", "-f", String(id)) }
            #expect(mounts(under: root).isEmpty)
            removeTree(root)
            loop.detach()
        }
        #expect(!loop.device.isEmpty && loop.major > 0, "losetup made a loop device: \(loop.device)")
        importBusybox(root)
        try body(root, loop)
    }

    /// Runs `script` in a new container with `args` (and `env`, for BERTH_CGROUP).
    private func run(_ root: String, _ args: [String], _ script: String, env: [String: String] = [:]) -> ProcessResult {
        runProcess(
            [berthBinary, "--root", root, "run", "--rm", "--network", "none"] + args + ["busybox", "sh", "-c", script],
            environment: env)
    }

    /// mknod of the loop device and of /dev/kmsg, then reading each: the
    /// output names each read that worked.
    private func probe(_ loop: Loop) -> String {
        "mknod /tmp/blk b \(loop.major) \(loop.minor) && head -c 9 /tmp/blk && echo ' blk-read'; "
            + "mknod /tmp/kmsg c 1 11 && head -c 1 /tmp/kmsg >/dev/null && echo kmsg-read; "
            + "echo x > /tmp/blk && echo blk-written; true"
    }

    private func expectDenied(_ r: ProcessResult, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "\(what): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(
            !r.stdout.contains("berthloop") && !r.stdout.contains("blk-read") && !r.stdout.contains("kmsg-read")
                && !r.stdout.contains("blk-written"),
            "\(what): a mknod'ed host device was opened: \(r.stdout)", sourceLocation: sourceLocation)
        #expect(
            r.stderr.contains("/tmp/blk: Operation not permitted") && r.stderr.contains("/tmp/kmsg: Operation not permitted"),
            "\(what): EPERM on open: \(r.stderr)", sourceLocation: sourceLocation)
    }

    @Test("a mknod'ed host block device and /dev/kmsg cannot be opened; null, zero, urandom and tty (-t) work")
    func defaultsDeny() {
        withLoop { root, loop in
            expectDenied(run(root, [], probe(loop)), "namespaces, cgroup v1")
            let basics = run(
                root, [],
                "echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c && head -c 4 /dev/full | wc -c"
            )
            #expect(
                basics.status == 0 && basics.stdout == "4\n4\n4\n", "null, zero, urandom, full: \(basics.stdout) \(basics.stderr)"
            )
            let tty = run(root, ["-t"], "echo on-the-tty > /dev/tty")
            #expect(tty.status == 0 && tty.stdout.contains("on-the-tty"), "/dev/tty with -t: \(tty.stdout) \(tty.stderr)")
            let cgroup = berth(root, "run", "-d", "--name", "list", "--network", "none", "busybox", "sleep", "60")
            #expect(cgroup.status == 0)
            let id = berth(root, "inspect", "-f", "{{.Id}}", "list").stdout.trimmingSpacesAndNewlines
            let list = readFile("/sys/fs/cgroup/devices/berth/\(id)/devices.list")
            #expect(
                list.contains("c 1:3 rwm") && list.contains("c 136:* rwm") && list.contains("b *:* m") && !list.contains("a *:*"),
                "the container's v1 devices.list is Docker's: \(list)")
        }
    }

    @Test("--privileged may open every device, as in Docker; the default container next to it still may not")
    func privilegedDevices() {
        withLoop { root, loop in
            let privileged = run(
                root, ["--privileged"], "mknod /tmp/blk b \(loop.major) \(loop.minor) && head -c 9 /tmp/blk && echo ' blk-read'")
            #expect(
                privileged.stdout.contains("blk-read"),
                "--privileged reads the loop device: \(privileged.stdout) \(privileged.stderr)")
            expectDenied(run(root, [], probe(loop)), "a default container beside it")
        }
    }

    @Test("--device makes the host node appear and readable; :r refuses writes; bad specs get Docker's errors")
    func deviceFlag() {
        withLoop { root, loop in
            let read = run(root, ["--device", "\(loop.device):/dev/xloop"], "ls -l /dev/xloop && head -c 9 /dev/xloop")
            #expect(
                read.status == 0 && read.stdout.hasSuffix("berthloop") && read.stdout.contains("\(loop.major),"),
                "--device: \(read.stdout) \(read.stderr)")
            let readOnly = run(
                root, ["--device", "\(loop.device):/dev/xloop:r"],
                "head -c 9 /dev/xloop && echo; echo x > /dev/xloop && echo written; true")
            #expect(
                readOnly.stdout == "berthloop\n" && readOnly.stderr.contains("Operation not permitted"),
                "--device :r: \(readOnly.stdout) \(readOnly.stderr)")
            let inspect = berth(root, "create", "--name", "dev", "--device", loop.device, "busybox")
            #expect(inspect.status == 0)
            #expect(
                berth(root, "inspect", "-f", "{{json .HostConfig.Devices}}", "dev").stdout
                    == "[{\"PathOnHost\":\"\(loop.device)\",\"PathInContainer\":\"\(loop.device)\",\"CgroupPermissions\":\"rwm\"}]\n"
            )
            expectOneErrorLine(
                berth(root, "run", "--rm", "--device", "/dev/berth-no-such-device", "busybox", "true"),
                naming: ["error gathering device information", "/dev/berth-no-such-device", "no such file"], status: 125)
            expectOneErrorLine(
                berth(root, "run", "--rm", "--device", "\(loop.device):/dev/x:rwx", "busybox", "true"),
                naming: ["bad mode specified: rwx"], status: 125)
            expectOneErrorLine(
                berth(root, "run", "--rm", "--device", "\(loop.device):dev/x", "busybox", "true"),
                naming: ["dev/x is not an absolute path"], status: 125)
            expectOneErrorLine(
                berth(root, "run", "--rm", "--device", "/etc/hostname", "busybox", "true"),
                naming: ["/etc/hostname", "not a device"], status: 125)
            #expect(berth(root, "ps", "-a", "--format", "{{.Names}}").stdout == "dev\n", "refused runs leave no container")
        }
    }

    @Test("the cgroup v2 path (BPF_CGROUP_DEVICE program) denies the same devices and allows --device")
    func cgroupV2() {
        withLoop { root, loop in
            let env = ["BERTH_CGROUP": "v2"]
            // --cgroupns host: /proc/self/cgroup names the cgroup (v2's default, private, shows "/").
            let probe = run(root, ["--cgroupns", "host"], probe(loop) + "; cat /proc/self/cgroup", env: env)
            #expect(probe.stdout.contains("0::/berth/"), "the v2 path was taken: \(probe.stdout)")
            expectDenied(probe, "namespaces, cgroup v2")
            let basics = run(
                root, [], "echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c", env: env)
            #expect(
                basics.status == 0 && basics.stdout == "4\n4\n", "null, zero, urandom on v2: \(basics.stdout) \(basics.stderr)")
            let read = run(root, ["--device", "\(loop.device):/dev/xloop:rw"], "head -c 9 /dev/xloop", env: env)
            #expect(read.status == 0 && read.stdout == "berthloop", "--device on v2: \(read.stdout) \(read.stderr)")
        }
    }

    @Test("oci:runc and oci:crun get the same rules in config.json: the host block device is refused, --device allowed")
    func ociBackends() {
        withLoop { root, loop in
            for runtime in ["runc", "crun"] {
                expectDenied(run(root, ["--isolation", "oci:\(runtime)"], probe(loop)), "oci:\(runtime)")
                let read = run(
                    root, ["--isolation", "oci:\(runtime)", "--device", "\(loop.device):/dev/xloop"], "head -c 9 /dev/xloop")
                #expect(
                    read.status == 0 && read.stdout == "berthloop", "--device under \(runtime): \(read.stdout) \(read.stderr)")
            }
        }
    }

    @Test("--device-cgroup-rule opens a node's numbers to a mknod'ed node: read-only when it says r; namespaces, v2 and oci")
    func deviceCgroupRule() {
        withLoop { root, loop in
            let numbers = "\(loop.major):\(loop.minor)"
            let script =
                "mknod /tmp/blk b \(loop.major) \(loop.minor) && head -c 9 /tmp/blk && echo ' read'; echo x > /tmp/blk && echo written; true"
            for (args, env) in [
                ([String](), [String: String]()), (["--isolation", "oci:runc"], [:]), ([], ["BERTH_CGROUP": "v2"]),
            ] {
                let read = run(root, args + ["--device-cgroup-rule", "b \(numbers) r"], script, env: env)
                #expect(read.stdout == "berthloop read\n", "\(args) \(env): \(read.stdout) \(read.stderr)")
                #expect(read.stderr.contains("/tmp/blk: Operation not permitted"), "\(args) \(env): \(read.stderr)")
            }
            // `a *:* r`: reading any node, writing none (cgroup v1 would read a bare `a` line as everything).
            let all = run(root, ["--device-cgroup-rule", "a *:* r"], script)
            #expect(all.stdout == "berthloop read\n", "\(all.stdout) \(all.stderr)")
            let created = berth(root, "create", "--device-cgroup-rule", "b \(numbers) rw", "busybox", "true")
            #expect(created.status == 0, "\(created)")
            #expect(
                berth(root, "inspect", "-f", "{{json .HostConfig.DeviceCgroupRules}}", created.stdout.trimmingSpacesAndNewlines)
                    .stdout == "[\"b \(numbers) rw\"]\n")
            for bad in ["c 1:3", "x 1:3 rwm", "c 1:3 rwx", "c a:3 r", "c 1:99999999999 r"] {
                expectOneErrorLine(
                    berth(root, "run", "--rm", "--device-cgroup-rule", bad, "busybox", "true"),
                    naming: ["--device-cgroup-rule", "invalid device cgroup format"], status: 125)
            }
        }
    }
}
