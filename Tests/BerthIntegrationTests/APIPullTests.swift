import Testing

/// `docker pull` and `docker run` of a missing image through the service,
/// from a registry on loopback (Debian's docker-registry, filled by skopeo)
/// set as the store's docker.io mirror.
@Suite(.serialized, .enabled(if: isRoot && hasDockerCLI, "needs root and the docker CLI (make deps)"))
struct APIPullTests {
    @Test func pullsWithDockersProgressStream() {
        guard LocalRegistry.binary != nil, LocalRegistry.skopeo != nil else {
            Issue.record("docker-registry and skopeo are needed; run 'make deps'")
            return
        }
        withService { s in
            let registry = LocalRegistry()
            defer { registry.stop() }
            let dir = makeTempDirectory("apipull")
            defer { removeTree(dir) }
            let id = s.docker("inspect", "--format", "{{.Id}}", "busybox").stdout
            #expect(s.store.berth("save", "-o", dir + "/busybox.tar", "busybox").status == 0)
            registry.fill(from: dir + "/busybox.tar", as: "library/busybox:latest")
            #expect(s.docker("rmi", "busybox").status == 0)
            registry.mirrorConfig(s.store.root)
            // create answers 404, the CLI pulls (the JSON stream) and creates again.
            let ran = s.docker("run", "--rm", "busybox", "echo", "hi")
            #expect(ran.status == 0 && ran.stdout == "hi\n", "\(ran)")
            #expect(ran.stderr.hasPrefix("Unable to find image 'busybox:latest' locally\n"), "\(ran.stderr)")
            #expect(ran.stderr.contains("latest: Pulling from library/busybox"), "\(ran.stderr)")
            #expect(ran.stderr.contains("Digest: sha256:"), "\(ran.stderr)")
            #expect(ran.stderr.hasSuffix("Status: Downloaded newer image for busybox:latest\n"), "\(ran.stderr)")
            #expect(s.docker("inspect", "--format", "{{.Id}}", "busybox").stdout == id, "the same image, byte for byte")
            let again = s.docker("pull", "busybox")
            #expect(again.status == 0, "\(again)")
            #expect(again.stdout.contains("Status: Image is up to date for busybox:latest"), "\(again.stdout)")
            // Push to the same registry (plain HTTP, listed in the store's config) and pull it back.
            let remote = "\(registry.address)/mine/bb:2"
            #expect(s.docker("tag", "busybox", remote).status == 0)
            let pushed = s.docker("push", remote)
            #expect(pushed.status == 0 && pushed.stdout.contains("2: digest: sha256:"), "\(pushed)")
            #expect(s.docker("rmi", remote).status == 0)
            let back = s.docker("pull", remote)
            #expect(back.status == 0 && s.docker("inspect", "--format", "{{.Id}}", remote).stdout == id, "\(back)")
            let missing = s.docker("pull", "nosuch/image")
            #expect(missing.status == 1 && missing.stderr.hasPrefix("Error response from daemon: "), "\(missing)")
        }
    }
}
