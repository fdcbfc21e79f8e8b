import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// A dockerd (Debian's docker.io) started by hand, as ../shared/PEERS.md
/// says: its own socket, data root and exec root in a temp directory, no
/// bridge and no iptables rules (the containers run with `--network none`),
/// so it touches nothing of the host's. `stop` ends it and removes
/// everything it made, mounts included.
final class IsolatedDockerd {
    let dir: String
    let pid: Int32
    var host: String { "unix://\(dir)/docker.sock" }

    /// The dockerd binary, or nil when docker.io is not installed.
    static let binary: String? = {
        let found = sh("command -v dockerd").stdout.split(separator: "\n").first.map(String.init)
        return found?.isEmpty == false ? found : nil
    }()

    init() {
        let dir = makeTempDirectory("dockerd")
        self.dir = dir
        let started = sh(
            "nohup \(Self.binary ?? "dockerd") --data-root \(dir)/data --exec-root \(dir)/exec -H unix://\(dir)/docker.sock"
                + " --pidfile \(dir)/docker.pid --exec-opt native.cgroupdriver=cgroupfs --bridge none"
                + " --iptables=false --ip6tables=false >\(dir)/log 2>&1 </dev/null & echo $!")
        pid = Int32(started.stdout.split(separator: "\n").first ?? "") ?? -1
        for _ in 0..<300 {
            if docker("version", "--format", "{{.Server.Version}}").status == 0 { return }
            usleep(100_000)
        }
        Issue.record("dockerd did not start: \(readFile(dir + "/log"))")
    }

    /// The docker CLI against this daemon.
    @discardableResult
    func docker(_ args: String...) -> ProcessResult {
        runProcess(["docker"] + args, environment: ["DOCKER_HOST": host])
    }

    /// Ends the daemon (SIGTERM, then SIGKILL after 20 s) and its
    /// containerd, and removes its directory with whatever is mounted there.
    func stop() {
        if pid > 0 {
            kill(pid, SIGTERM)
            for _ in 0..<200 where kill(pid, 0) == 0 {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { break }
                usleep(100_000)
            }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        // The containerd dockerd started, found by its socket under the exec root.
        _ = sh("pkill -KILL -f -- \(shellQuote(dir + "/exec/containerd"))")
        removeTree(dir)
    }
}

/// Images Berth builds, saves and pushes are read by a real Docker engine
/// (dockerd 20.10 from Debian's docker.io), as Docker users will take them.
/// docker.io must be installed (`make deps`): its absence is a failure, not
/// a skip.
@Suite("Docker interoperability", .serialized, .enabled(if: isRoot, "needs root to run dockerd"))
struct DockerInteropTests {
    private func requireDocker() -> Bool {
        guard IsolatedDockerd.binary != nil, !sh("command -v docker").stdout.isEmpty else {
            Issue.record("dockerd and docker are not installed; run 'make deps' (docker.io)")
            return false
        }
        return true
    }

    private let dockerfile =
        "FROM busybox\nCOPY a.txt /app/\nRUN echo ran > /app/ran && rm /bin/vi\nUSER nobody\nENV GREETING=hi\n"
        + "CMD [\"cat\", \"/app/a.txt\", \"/app/ran\"]\n"

    @Test("a built image saved by Berth loads in dockerd with the same image ID, and runs with its files, user, env and command")
    func savedBuildRunsInDocker() {
        guard requireDocker() else { return }
        withBuild(["Dockerfile": dockerfile, "a.txt": "from context\n"]) { s, ctx in
            s.build(["-t", "built:v1"], ctx)
            let id = s.berth("inspect", "-f", "{{.Id}}", "built:v1").stdout.trimmingSpacesAndNewlines
            #expect(s.berth("save", "-o", ctx.path + "/built.tar", "built:v1").status == 0)
            let dockerd = IsolatedDockerd()
            defer { dockerd.stop() }
            let loaded = dockerd.docker("load", "-i", ctx.path + "/built.tar")
            #expect(loaded.status == 0 && loaded.stdout.contains("Loaded image: built:v1"), "\(loaded.stderr)")
            // Docker's image ID is the config's digest: the same bytes.
            #expect(dockerd.docker("inspect", "-f", "{{.Id}}", "built:v1").stdout.trimmingSpacesAndNewlines == id)
            let ran = dockerd.docker("run", "--rm", "--network", "none", "built:v1")
            #expect(ran.stdout == "from context\nran\n", "docker run: \(ran.stdout) \(ran.stderr)")
            let script = "id -un; echo $GREETING; test -e /bin/vi || echo vi-gone"
            let env = dockerd.docker("run", "--rm", "--network", "none", "built:v1", "sh", "-c", script)
            #expect(env.stdout == "nobody\nhi\nvi-gone\n", "\(env.stdout) \(env.stderr)")
            // Every instruction after FROM is in Docker's history, over the base's one entry.
            let history = lines(dockerd.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "built:v1").stdout)
            #expect(history.count == 6, "\(history)")
            #expect(history.dropFirst(3).first == "/bin/sh -c echo ran > /app/ran && rm /bin/vi", "\(history)")
        }
    }

    @Test("a built image pushed by Berth to a loopback registry is pulled and run by dockerd")
    func pushedBuildPullsInDocker() {
        guard requireDocker(), LocalRegistry.binary != nil else {
            Issue.record("docker-registry is not installed; run 'make deps'")
            return
        }
        let registry = LocalRegistry()
        defer { registry.stop() }
        withBuild(["Dockerfile": dockerfile, "a.txt": "pushed\n"]) { s, ctx in
            s.build(["-t", "\(registry.address)/team/built:v2"], ctx)
            let pushed = s.berth("push", "\(registry.address)/team/built:v2")
            #expect(pushed.status == 0, "\(pushed.stderr)")
            let dockerd = IsolatedDockerd()
            defer { dockerd.stop() }
            // dockerd treats 127.0.0.0/8 as an insecure registry by default.
            let pulled = dockerd.docker("pull", "\(registry.address)/team/built:v2")
            #expect(pulled.status == 0, "docker pull: \(pulled.stdout) \(pulled.stderr)")
            let ran = dockerd.docker("run", "--rm", "--network", "none", "\(registry.address)/team/built:v2")
            #expect(ran.stdout == "pushed\nran\n", "docker run: \(ran.stdout) \(ran.stderr)")
        }
    }
}
