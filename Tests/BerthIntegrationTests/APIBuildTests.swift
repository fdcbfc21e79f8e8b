import Testing
import BerthCore

/// `POST /build` (dockerd's classic builder endpoint) through the service:
/// the docker CLI's legacy builder and docker-py's `images.build`, on the
/// engine's own builder.
@Suite(.serialized, .enabled(if: isRoot && hasDockerCLI, "needs root and the docker CLI (make deps)"))
struct APIBuildTests {
    /// A context with a Dockerfile, a copied file and a .dockerignore'd one.
    private func context(_ dir: String, _ dockerfile: String) {
        try? FileSystem.writeAtomically(dir + "/Dockerfile", text: dockerfile)
        try? FileSystem.writeAtomically(dir + "/payload.txt", text: "from the context\n")
        try? FileSystem.writeAtomically(dir + "/secret.txt", text: "never sent\n")
        try? FileSystem.writeAtomically(dir + "/.dockerignore", text: "secret.txt\n")
    }

    @Test("docker build (classic builder) runs RUN, COPY and LABEL on Berth's builder; its output, cache and tags")
    func dockerBuild() {
        withService { s in
            let dir = makeTempDirectory("apibuild")
            defer { removeTree(dir) }
            context(
                dir,
                """
                FROM busybox
                RUN echo run-output-line && echo built > /built
                COPY payload.txt /payload.txt
                LABEL stage=api
                CMD ["cat", "/built", "/payload.txt"]
                """)
            let legacy = ["DOCKER_BUILDKIT": "0"]
            let built = s.docker("build", "-t", "apibuild:1", "--iidfile", dir + "/iid", dir, env: legacy)
            #expect(built.status == 0, "\(built)")
            #expect(built.stdout.contains("Step 1/5 : FROM busybox"), "\(built.stdout)")
            #expect(built.stdout.contains("run-output-line"), "RUN's output is streamed: \(built.stdout)")
            #expect(built.stdout.contains("Successfully tagged apibuild:1"), "\(built.stdout)")
            // The CLI announces the context itself; the service must not add a second line.
            let announcements = built.stdout.split(separator: "\n").filter { $0.contains("Sending build context") }
            #expect(announcements.count <= 1, "one announcement: \(built.stdout)")
            let iid = (try? FileSystem.readText(dir + "/iid")) ?? ""
            #expect(
                iid.hasPrefix("sha256:") && iid == s.store.berth("inspect", "-f", "{{.Id}}", "apibuild:1").stdout.trimmingSpaces)
            // The CLI's store has it, and runs it.
            #expect(s.store.berth("run", "--rm", "apibuild:1").stdout == "built\nfrom the context\n")
            #expect(s.store.berth("inspect", "-f", "{{index .Config.Labels \"stage\"}}", "apibuild:1").stdout == "api\n")
            // .dockerignore kept secret.txt out.
            let ls = s.store.berth("run", "--rm", "apibuild:1", "ls", "/")
            #expect(!ls.stdout.contains("secret.txt"))
            // A second build hits the cache; -q prints only the ID.
            let again = s.docker("build", "-t", "apibuild:2", dir, env: legacy)
            #expect(again.status == 0 && again.stdout.contains("Using cache"), "\(again)")
            let quiet = s.docker("build", "-q", dir, env: legacy)
            #expect(quiet.status == 0 && quiet.stdout.trimmingSpaces == iid, "\(quiet) vs \(iid)")
            // A RUN that fails: the builder's line, exit 1, and no container left.
            try? FileSystem.writeAtomically(dir + "/Dockerfile", text: "FROM busybox\nRUN exit 3\n")
            let failed = s.docker("build", dir, env: legacy)
            #expect(failed.status == 1, "\(failed)")
            #expect(failed.stderr.contains("returned a non-zero code: 3"), "\(failed.stderr)")
            #expect(s.store.berth("ps", "-aq").stdout.isEmpty, "RUN's container removed")
            // A build flag Berth cannot honour is refused by name, not dropped.
            let memory = s.docker("build", "--memory", "64m", dir, env: legacy)
            #expect(memory.status != 0 && memory.stderr.contains("memory"), "\(memory)")
            // A Dockerfile named outside the context is not read.
            let escape = s.docker("build", "-f", "../../../../etc/passwd", dir, env: legacy)
            #expect(escape.status != 0, "\(escape)")
        }
    }

    @Test("docker-py images.build: the image and its log stream")
    func dockerPyBuild() throws {
        guard hasDockerPy else {
            Issue.record("docker-py is not installed (make deps)")
            return
        }
        withService { s in
            let dir = makeTempDirectory("apibuildpy")
            defer { removeTree(dir) }
            context(dir, "FROM busybox\nARG GREETING=unset\nRUN echo \"$GREETING\" > /greeting\n")
            let script = """
                import sys, docker
                c = docker.DockerClient(base_url=sys.argv[1])
                image, logs = c.images.build(path=sys.argv[2], tag="pybuild:1", buildargs={"GREETING": "hello"})
                text = "".join(chunk.get("stream", "") for chunk in logs)
                assert "Step 3/3" in text, text
                print(image.id)
                print(c.containers.run("pybuild:1", ["cat", "/greeting"], remove=True).decode().strip())
                """
            let result = runProcess(["timeout", "120", "python3", "-c", script, "unix://" + s.socket, dir])
            #expect(result.status == 0, "\(result)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 2 && lines[0].hasPrefix("sha256:") && lines[1] == "hello", "\(result)")
            // docker-py sends rm=False unless told: RUN's container is kept, as dockerd keeps it.
            let kept = s.store.berth("ps", "-a", "--format", "{{.Status}}").stdout
            #expect(kept.split(separator: "\n").count == 1 && kept.hasPrefix("Exited (0)"), "kept: \(kept)")
        }
    }
}
