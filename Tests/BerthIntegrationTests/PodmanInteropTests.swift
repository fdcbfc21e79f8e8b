import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// Podman with its own root, run root, temp dir and containers.conf under
/// `dir`, so nothing of the host's Podman state is read or changed. The
/// containers.conf is the one ../shared/PEERS.md gives for these machines.
struct IsolatedPodman {
    let dir: String

    init(_ dir: String) {
        self.dir = dir
        _ = sh("mkdir -p \(dir)/tmp")
        writeFile(
            dir + "/containers.conf",
            """
            [containers]
            default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
            [engine]
            runtime = "runc"
            cgroup_manager = "cgroupfs"
            events_logger = "file"

            """)
    }

    /// The podman binary, or nil when it is not installed.
    static let binary: String? = {
        let found = sh("command -v podman").stdout.split(separator: "\n").first.map(String.init)
        return found?.isEmpty == false ? found : nil
    }()

    @discardableResult
    func run(_ args: String...) -> ProcessResult {
        runProcess(
            [
                Self.binary ?? "podman", "--root", dir + "/root", "--runroot", dir + "/runroot",
                "--tmpdir", dir + "/tmp", "--storage-driver", "vfs",
            ] + args,
            environment: ["CONTAINERS_CONF": dir + "/containers.conf", "TMPDIR": dir + "/tmp"])
    }
}

/// Images move between Berth and Podman through save and load, both ways.
/// Podman must be installed (`make deps` installs it); its absence is a
/// failure, not a skip.
@Suite("Podman interoperability", .enabled(if: isRoot, "needs root to run containers"))
struct PodmanInteropTests {
    private func requirePodman() -> Bool {
        guard IsolatedPodman.binary != nil else {
            Issue.record("podman is not installed; run 'make deps' (or apt-get install podman) to test interoperability")
            return false
        }
        return true
    }

    @Test("an image saved by Berth loads in Podman and runs there, whiteout included")
    func berthToPodman() {
        guard requirePodman() else { return }
        let dir = makeTempDirectory("podman")
        defer { removeTree(dir) }
        let a = dir + "/berth", out = dir + "/images.tar"
        let podman = IsolatedPodman(dir + "/podman")
        defer { podman.run("rm", "-af"); podman.run("rmi", "-af") }
        _ = makeTwoLayerStore(a)
        #expect(berth(a, "save", "-o", out, "busybox", "two:layers").status == 0)

        let loaded = podman.run("load", "-i", out)
        #expect(loaded.status == 0, "podman load: \(loaded.stderr)")
        #expect(loaded.stdout.contains("Loaded image") && loaded.stdout.contains("two:layers"), "\(loaded.stdout)")
        let hi = podman.run("run", "--rm", "--network", "none", "busybox:latest", "echo", "hi")
        #expect(hi.status == 0 && hi.stdout == "hi\n", "podman run: \(hi.stdout) \(hi.stderr)")
        let two = podman.run(
            "run", "--rm", "--network", "none", "two:layers", "sh", "-c",
            "cat /added; test -e /bin/vi && echo vi-present || echo vi-gone")
        #expect(two.stdout == "made\nvi-gone\n", "podman run two:layers: \(two.stdout) \(two.stderr)")
        // Podman keeps the config as saved, so it reports Berth's image ID.
        let id = berth(a, "inspect", "-f", "{{.Id}}", "two:layers").stdout
        #expect(podman.run("image", "inspect", "-f", "sha256:{{.Id}}", "two:layers").stdout == id)
    }

    @Test("an image made by podman import and saved as docker-archive and as oci-archive loads in Berth and runs")
    func podmanToBerth() {
        guard requirePodman() else { return }
        let dir = makeTempDirectory("podman")
        defer { removeTree(dir) }
        let podman = IsolatedPodman(dir + "/podman")
        defer { podman.run("rmi", "-af") }
        let imported = podman.run("import", busyboxTar, "localhost/pbox:latest")
        #expect(imported.status == 0, "podman import: \(imported.stderr)")

        for format in ["docker-archive", "oci-archive"] {
            let out = dir + "/\(format).tar", root = dir + "/berth-\(format)"
            let saved = podman.run("save", "--format", format, "-o", out, "localhost/pbox:latest")
            #expect(saved.status == 0, "podman save --format \(format): \(saved.stderr)")
            let loaded = berth(root, "load", "-i", out)
            #expect(
                loaded.status == 0 && loaded.stdout == "Loaded image: localhost/pbox:latest\n",
                "\(format): \(loaded.stdout) \(loaded.stderr)")
            let hi = berth(root, "run", "--rm", "localhost/pbox", "echo", "hi")
            #expect(hi.status == 0 && hi.stdout == "hi\n", "\(format): berth run: \(hi.stdout) \(hi.stderr)")
            // The layer is stored under its canonical digest with Podman's
            // digest kept as its source, so loading again extracts nothing new.
            let layers = FileSystem.list(root + "/layers/sha256")
            #expect(layers.count == 1, "\(format): \(layers)")
            let again = berth(root, "load", "-i", out)
            #expect(again.status == 0 && FileSystem.list(root + "/layers/sha256") == layers)
        }
    }
}
