import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// The same Dockerfiles built by `berth build` and `podman build` (buildah
/// from Debian's packages) give the same file trees and run configs:
/// Tests/build/compare-podman.py does the building and comparing, Podman on
/// its own temporary store. Podman must be installed (`make deps`): its
/// absence is a failure, not a skip.
@Suite("build compared with podman build", .enabled(if: isRoot, "needs root to run containers"))
struct BuildPodmanComparisonTests {
    @Test("every fixture gives the same files (path, type, mode, owner, size, link, content) and config as podman build")
    func sameAsPodman() {
        guard IsolatedPodman.binary != nil else {
            Issue.record("podman is not installed; run 'make deps' (or apt-get install podman) to compare builds")
            return
        }
        let result = runProcess(["python3", packageRoot + "/Tests/build/compare-podman.py", berthBinary, busyboxTar])
        #expect(result.status == 0, "differences:\n\(result.stdout)\(result.stderr)")
        let matched = lines(result.stdout).filter { $0.contains(": same files (") }
        #expect(matched.count == 9, "\(result.stdout)")
        #expect(mounts(under: "/tmp/compare-build-").isEmpty)
    }

    @Test("a built image saved by Berth loads in podman and runs there with its files, user and command")
    func savedBuildRunsInPodman() {
        guard IsolatedPodman.binary != nil else {
            Issue.record("podman is not installed; run 'make deps' (or apt-get install podman)")
            return
        }
        let dockerfile =
            "FROM busybox\nCOPY a.txt /app/\nRUN echo ran > /app/ran && rm /bin/vi\nUSER nobody\nCMD [\"cat\", \"/app/a.txt\", \"/app/ran\"]\n"
        withBuild(["Dockerfile": dockerfile, "a.txt": "from context\n"]) { s, ctx in
            s.build(["-t", "built:v1"], ctx)
            #expect(s.berth("save", "-o", ctx.path + "/built.tar", "built:v1").status == 0)
            let podman = IsolatedPodman(ctx.path + "/podman")
            defer { podman.run("rm", "-af"); podman.run("rmi", "-af") }
            let loaded = podman.run("load", "-i", ctx.path + "/built.tar")
            #expect(loaded.status == 0, "podman load: \(loaded.stderr)")
            let ran = podman.run("run", "--rm", "--network", "none", "built:v1")
            #expect(ran.stdout == "from context\nran\n", "podman run: \(ran.stdout) \(ran.stderr)")
            let who = podman.run(
                "run", "--rm", "--network", "none", "built:v1", "sh", "-c", "id -un; test -e /bin/vi || echo vi-gone")
            #expect(who.stdout == "nobody\nvi-gone\n", "\(who.stdout) \(who.stderr)")
        }
    }
}
