import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Whether the kernel takes overlayfs layers one by one through the mount
/// API (`lowerdir+`, Linux 6.8), which a root mounted inside its container
/// needs; older kernels keep every root on the host.
let kernelMountsRootInside: Bool = {
    var u = utsname()
    uname(&u)
    let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
    return parts.count == 2 && (parts[0], parts[1]) >= (6, 8)
}()

/// Where a running container's root is mounted (docs/architecture.md,
/// "The root inside the container"): by the namespaces backend, in PID 1's
/// own mount namespace and on no host mount table; everything that reads
/// or writes a running container's files from outside still reaches it.
@Suite(
    "Root placement", .enabled(if: isRoot, "needs root for namespaces and overlayfs"),
    .enabled(if: kernelMountsRootInside, "the kernel has no overlayfs lowerdir+ (Linux 6.8)"))
struct RootPlacementTests {
    @Test("a running container's root is on no host mount table, yet exec, cp, diff, export and commit reach it")
    func rootInside() throws {
        withBusyboxStore("root-inside") { root in
            let id = berth(root, "run", "-d", "--name", "inside", "busybox", "sleep", "300").stdout
                .trimmingSpacesAndNewlines
            #expect(id.count == 64)
            let dir = root + "/containers/" + id
            #expect(mounts(under: dir).isEmpty, "the root is not mounted on the host: \(mounts(under: dir))")
            let seen = berth(root, "exec", "inside", "sh", "-c", "head -1 /proc/mounts; echo made inside > /inside")
            #expect(seen.stdout.hasPrefix("overlay / overlay "), "the container's root: \(seen.stdout)")

            let host = makeTempDirectory("root-inside-files")
            defer { removeTree(host) }
            writeFile(host + "/in.txt", "from the host\n")
            #expect(berth(root, "cp", host + "/in.txt", "inside:/from-host").status == 0)
            #expect(berth(root, "exec", "inside", "cat", "/from-host").stdout == "from the host\n")
            #expect(berth(root, "cp", "inside:/inside", host + "/out.txt").status == 0)
            #expect(readFile(host + "/out.txt") == "made inside\n")
            let diff = berth(root, "diff", "inside").stdout
            #expect(diff.contains("A /inside") && diff.contains("A /from-host"), "diff: \(diff)")
            let export = sh("\(shellQuote(berthBinary)) --root \(shellQuote(root)) export inside | tar -t")
            #expect(export.stdout.split(separator: "\n").contains("inside"), "export lists /inside")
            #expect(berth(root, "commit", "inside", "snapshot:1").status == 0)
            #expect(berth(root, "run", "--rm", "snapshot:1", "cat", "/inside").stdout == "made inside\n")
            #expect(mounts(under: dir).isEmpty, "nothing any of them did is left on the host: \(mounts(under: dir))")

            // The writable layer outlives a stop and a start, and each start
            // gets a mount of its own that ends with its namespace.
            #expect(berth(root, "stop", "-t", "0", "inside").status == 0)
            #expect(berth(root, "start", "inside").status == 0)
            #expect(berth(root, "exec", "inside", "cat", "/inside").stdout == "made inside\n")
            #expect(mounts(under: dir).isEmpty)
        }
    }

    @Test("with its monitor killed, a running container's root is still reached, and rm -f leaves nothing")
    func monitorKilled() throws {
        withBusyboxStore("root-inside-kill") { root in
            #expect(berth(root, "run", "-d", "--name", "orphan", "busybox", "sleep", "300").status == 0)
            #expect(berth(root, "exec", "orphan", "sh", "-c", "echo kept > /kept").status == 0)
            let monitor = berth(root, "inspect", "-f", "{{.State.Pid}}", "orphan").stdout
                .trimmingSpacesAndNewlines
            let parent = readFile("/proc/\(monitor)/stat").split(separator: " ").dropFirst(3).first.map(String.init)
            guard let parent, let monitorPid = Int32(parent) else {
                Issue.record("no monitor found for PID 1 \(monitor)")
                return
            }
            kill(monitorPid, SIGKILL)
            let host = makeTempDirectory("root-inside-kill-files")
            defer { removeTree(host) }
            #expect(berth(root, "cp", "orphan:/kept", host + "/kept").status == 0)
            #expect(readFile(host + "/kept") == "kept\n")
            #expect(berth(root, "rm", "-f", "orphan").status == 0)
            #expect(berth(root, "ps", "-aq").stdout.isEmpty)
        }
    }

    @Test("a --rm run's root ends with the run: no mount, no directory, no process is left")
    func disposableRun() throws {
        withBusyboxStore("root-inside-rm") { root in
            let out = berth(root, "run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo x > /x && cat /x")
            #expect(out.status == 0 && out.stdout == "x\n")
            #expect(mounts(under: root).isEmpty)
            #expect(sh("ls \(shellQuote(root))/containers | wc -l").stdout == "0\n")
        }
    }

    @Test("BERTH_BENCH_ROOT_ON_HOST=1 mounts the root on the host as before, and the next start inside again")
    func rootOnHost() throws {
        withBusyboxStore("root-on-host") { root in
            let run = runProcess(
                [berthBinary, "--root", root, "run", "-d", "--name", "onhost", "busybox", "sleep", "300"],
                environment: ["BERTH_BENCH_ROOT_ON_HOST": "1"])
            let id = run.stdout.trimmingSpacesAndNewlines
            #expect(run.status == 0 && id.count == 64)
            let dir = root + "/containers/" + id
            #expect(mounts(under: dir) == [dir + "/merged"])
            #expect(berth(root, "exec", "onhost", "sh", "-c", "echo on > /on").status == 0)
            let host = makeTempDirectory("root-on-host-files")
            defer { removeTree(host) }
            #expect(berth(root, "cp", "onhost:/on", host + "/on").status == 0)
            #expect(readFile(host + "/on") == "on\n")
            #expect(berth(root, "stop", "-t", "0", "onhost").status == 0)
            #expect(mounts(under: dir).isEmpty, "the monitor unmounted the host's mount at the exit")
            #expect(berth(root, "start", "onhost").status == 0)
            #expect(mounts(under: dir).isEmpty, "started again without the variable: inside")
            #expect(berth(root, "exec", "onhost", "cat", "/on").stdout == "on\n")
        }
    }
}
