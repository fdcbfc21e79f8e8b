import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `berth build` killed with SIGKILL in the middle of RUN cannot remove its
/// container; the next `ps` or `build` does, and never one of a live build.
@Suite("build killed mid-RUN", .enabled(if: isRoot, "needs root for namespaces and overlayfs"), .serialized)
struct BuildKillTests {
    /// Starts `build CONTEXT` in the background, waits until its RUN
    /// container runs `marker`, and kills the build with SIGKILL. A live
    /// build's container must stay listed (its lock is held) until then.
    private func killMidRun(_ s: LifecycleStore, _ context: BuildDirectory, marker: String) {
        let log = s.root + "/build-kill.log"
        let started = sh(
            "\(shellQuote(berthBinary)) --root \(shellQuote(s.root)) build \(shellQuote(context.path)) "
                + ">\(shellQuote(log)) 2>&1 </dev/null & echo $!")
        let pid = Int32(started.stdout.split(separator: "\n").first ?? "") ?? -1
        #expect(pid > 0)
        guard pid > 0 else { return }
        defer { kill(pid, SIGKILL) }
        #expect(eventually(60) { !pgrep(marker).isEmpty }, "RUN started: \(readFile(log))")
        let live = s.berth("ps", "-a", "--format", "{{.Status}}")
        #expect(live.stdout.hasPrefix("Up"), "a live build's container is left alone: \(live.stdout) \(live.stderr)")
        kill(pid, SIGKILL)
        #expect(eventually(10) { kill(pid, 0) != 0 }, "the build is gone")
        #expect(!pgrep(marker).isEmpty, "its RUN container still runs: the monitor outlives the build")
        unlink(log)
    }

    @Test("ps -a after a build killed mid-RUN lists nothing and the RUN process is gone")
    func psSweeps() {
        let marker = "sleep \(3000 + Int.random(in: 1...5999))"
        withBuild(["Dockerfile": "FROM busybox\nRUN \(marker)\n"]) { s, context in
            killMidRun(s, context, marker: marker)
            let listed = s.berth("ps", "-a", "-q")
            #expect(listed.status == 0 && listed.stdout.isEmpty, "\(listed.stdout) \(listed.stderr)")
            #expect(eventually(10) { pgrep(marker).isEmpty }, "the orphan's process was stopped")
            #expect(
                FileSystem.list(s.root + "/locks").filter { $0.hasPrefix("build-") }.isEmpty,
                "the dead build's lock file is swept: \(FileSystem.list(s.root + "/locks"))")
        }
    }

    @Test("the next build removes a killed build's container, says so, and succeeds")
    func buildSweeps() {
        let marker = "sleep \(3000 + Int.random(in: 1...5999))"
        withBuild(["Dockerfile": "FROM busybox\nRUN \(marker)\n"]) { s, context in
            killMidRun(s, context, marker: marker)
            let next = BuildDirectory(["Dockerfile": "FROM busybox\nRUN echo next > /next\n"])
            defer { next.cleanUp() }
            let built = s.build(["-t", "next"], next)
            #expect(built.stdout.contains("(left by an interrupted build)"), "\(built.stdout)")
            #expect(eventually(10) { pgrep(marker).isEmpty }, "the orphan's process was stopped")
            #expect(s.output("next", "cat /next") == "next\n")
        }
    }
}
