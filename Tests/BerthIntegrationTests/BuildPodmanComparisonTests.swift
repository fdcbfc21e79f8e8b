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
}
