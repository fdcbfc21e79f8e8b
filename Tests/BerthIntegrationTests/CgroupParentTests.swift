import Testing
import BerthCore
#if canImport(Glibc)
import Glibc
#endif

/// `--cgroup-parent`: the container's cgroup under a parent of the
/// caller's choosing, in every hierarchy, with its limits there; gone at
/// `rm`, the parent left as dockerd leaves it.
@Suite("cgroup parent", .serialized, .enabled(if: isRoot, "needs root for cgroups"))
struct CgroupParentTests {
    /// Every hierarchy's directory `relative` below its root.
    private func directories(_ relative: String) -> [String] {
        if FileSystem.exists("/sys/fs/cgroup/cgroup.controllers") { return ["/sys/fs/cgroup/" + relative] }
        return ["memory", "freezer", "pids", "cpuset", "cpu", "cpuacct", "blkio", "devices", "unified"].map {
            "/sys/fs/cgroup/\($0)/" + relative
        }
    }

    @Test("the container's cgroup is PARENT/ID in each hierarchy with its limit there; rm removes it; bad parents are refused")
    func underTheParent() {
        let top = "berth-cgp-\(getpid())"
        let root = makeTempDirectory("cgp")
        defer {
            for id in berth(root, "ps", "-aq", "--no-trunc").stdout.split(separator: "\n") { berth(root, "rm", "-f", String(id)) }
            // Depth first, in every hierarchy (the named systemd one too): a
            // directory Berth left below the parent would keep it busy.
            sh("find /sys/fs/cgroup/*/\(top) /sys/fs/cgroup/\(top) -depth -type d -exec rmdir {} + 2>/dev/null")
            #expect(sh("ls -d /sys/fs/cgroup/*/\(top) /sys/fs/cgroup/\(top) 2>/dev/null").stdout.isEmpty, "the parent stays busy")
            removeTree(root)
        }
        importBusybox(root)
        let run = berth(root, "run", "-d", "--cgroup-parent", "/\(top)/jobs/", "-m", "64m", "busybox", "sleep", "300")
        #expect(run.status == 0, "\(run)")
        let id = run.stdout.trimmingSpacesAndNewlines
        // inspect shows the parent as given, as dockerd does; CgroupPath the cgroup itself.
        #expect(berth(root, "inspect", "-f", "{{.HostConfig.CgroupParent}}", id).stdout == "/\(top)/jobs/\n")
        #expect(berth(root, "inspect", "-f", "{{.CgroupPath}}", id).stdout.hasSuffix("\(top)/jobs/\(id)\n"))
        #expect(berth(root, "create", "--name", "plain", "busybox", "true").status == 0)
        #expect(berth(root, "inspect", "-f", "{{.HostConfig.CgroupParent}}", "plain").stdout == "\n")
        #expect(berth(root, "rm", "plain").status == 0)
        let pid = berth(root, "inspect", "-f", "{{.State.Pid}}", id).stdout.trimmingSpacesAndNewlines
        let lines = readFile("/proc/\(pid)/cgroup").split(separator: "\n")
        let memoryLine = lines.first { $0.contains(":memory:") || $0.hasPrefix("0::") }
        #expect(memoryLine?.hasSuffix(":/\(top)/jobs/\(id)") == true, "\(lines)")
        let v2 = FileSystem.exists("/sys/fs/cgroup/cgroup.controllers")
        let limit = readFile(
            v2 ? "/sys/fs/cgroup/\(top)/jobs/\(id)/memory.max" : "/sys/fs/cgroup/memory/\(top)/jobs/\(id)/memory.limit_in_bytes")
        #expect(limit == "67108864\n", "\(limit)")
        // The monitor (PID 1's parent) moves to berth/monitors: the parent holds only containers.
        let stat = readFile("/proc/\(pid)/stat")
        let monitor = stat.split(separator: ")").last?.split(separator: " ").dropFirst(1).first.map(String.init) ?? "?"
        #expect(
            eventually {
                readFile("/proc/\(monitor)/cgroup").split(separator: "\n").contains {
                    ($0.contains(":memory:") || $0.hasPrefix("0::")) && $0.hasSuffix(":/berth/monitors")
                }
            }, "monitor \(monitor): \(readFile("/proc/\(monitor)/cgroup"))")
        let beside = directories("\(top)/jobs/monitors").filter { FileSystem.exists($0) }
        #expect(beside.isEmpty, "\(beside)")
        #expect(berth(root, "rm", "-f", id).status == 0)
        let left = directories("\(top)/jobs/\(id)").filter { FileSystem.exists($0) }
        #expect(left.isEmpty, "\(left)")
        let long = Array(repeating: String(repeating: "d", count: 250), count: 5).joined(separator: "/")
        for bad in ["../escape", "a/../../b", "/", "two\nlines", long, "/freezer/x", "unified"] {
            expectOneErrorLine(
                berth(root, "run", "--rm", "--cgroup-parent", bad, "busybox", "true"), naming: ["--cgroup-parent"],
                status: 125)
        }
        #expect(berth(root, "ps", "-aq").stdout.isEmpty)
    }
}
