import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What ties images to containers: `rmi` never takes an image a container
/// needs, and garbage from killed processes is swept by the next command.
@Suite("Images in use, and crash leftovers", .enabled(if: isRoot, "needs root for containers"))
struct ImageUsageTests {
    @Test("rmi refuses an image a container uses; -f only untags it while a stopped container needs it")
    func rmiRefusesUsedImage() {
        let root = makeTempDirectory("usage")
        defer { berth(root, "rm", "-f", "user"); removeTree(root) }
        let id = importBusybox(root)
        #expect(berth(root, "create", "--name", "user", "busybox", "true").status == 0)
        let layersBefore = sh("ls \(root)/layers/sha256").stdout

        let refused = berth(root, "rmi", "busybox")
        expectOneErrorLine(refused, naming: ["busybox", "must be forced", "container"])
        #expect(berth(root, "images", "-q").stdout == String(id.dropFirst(7).prefix(12)) + "\n")

        let forced = berth(root, "rmi", "-f", "busybox")
        #expect(forced.status == 0)
        #expect(forced.stdout == "Untagged: busybox:latest\n")
        #expect(
            berth(root, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout == "<none>:<none>\n",
            "the image stays, untagged, because the container needs it")
        #expect(sh("ls \(root)/layers/sha256").stdout == layersBefore)
        #expect(berth(root, "start", "-a", "user").status == 0, "the container still runs from its image")
    }

    @Test("a running container's image cannot be removed even with -f")
    func rmiRunning() {
        let root = makeTempDirectory("usage")
        defer { berth(root, "rm", "-f", "runner"); removeTree(root) }
        let id = importBusybox(root)
        #expect(berth(root, "run", "-d", "--name", "runner", "busybox", "sleep", "100").status == 0)
        let refused = berth(root, "rmi", "-f", String(id.dropFirst(7).prefix(12)))
        expectOneErrorLine(refused, naming: ["cannot be forced", "running container"])
        #expect(berth(root, "images", "--format", "{{.Repository}}").stdout == "busybox\n")
    }

    @Test("staging left by a killed berth and half-written files are swept by the next command")
    func sweepsGarbageOfDeadProcesses() {
        let root = makeTempDirectory("usage")
        defer { removeTree(root) }
        importBusybox(root)
        // A process that has exited stands for a berth killed mid-create/import.
        let dead = runProcess(["/bin/sh", "-c", "echo $$"]).stdout.trimmingSpacesAndNewlines
        sh("mkdir -p \(root)/tmp/create-\(dead)-abcdef01/upper && echo x > \(root)/tmp/create-\(dead)-abcdef01/upper/f")
        sh("echo partial > \(root)/images/repositories.json.tmp-\(dead)")
        let live = "\(root)/tmp/import-\(getpid())-abcdef02"
        sh("mkdir -p \(live)")
        #expect(berth(root, "images").status == 0)
        #expect(!fileExists("\(root)/tmp/create-\(dead)-abcdef01"))
        #expect(!fileExists("\(root)/images/repositories.json.tmp-\(dead)"))
        #expect(fileExists(live), "a live process's staging is never touched")
    }

    @Test("without namespaces, create falls back to chroot with one warning")
    func fallbackToChroot() {
        let root = makeTempDirectory("usage")
        defer { berth(root, "rm", "-f", "fb"); removeTree(root) }
        importBusybox(root)
        let created = runProcess(
            [berthBinary, "--root", root, "create", "--name", "fb", "busybox"],
            environment: ["BERTH_NAMESPACES": "off"])
        #expect(created.status == 0)
        #expect(created.stderr.split(separator: "\n").count == 1)
        #expect(created.stderr.contains("falling back to --isolation chroot"))
        #expect(created.stderr.contains("does not isolate"))
        #expect(berth(root, "inspect", "-f", "{{.Isolation}}", "fb").stdout == "chroot\n")
        let explicit = runProcess(
            [berthBinary, "--root", root, "create", "--isolation", "namespaces", "busybox"],
            environment: ["BERTH_NAMESPACES": "off"])
        expectOneErrorLine(explicit, naming: ["namespaces", "--isolation chroot"], status: 125)
    }
}

extension String {
    var trimmingSpacesAndNewlines: String {
        String(drop { $0 == " " || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\n" }.reversed())
    }
}
