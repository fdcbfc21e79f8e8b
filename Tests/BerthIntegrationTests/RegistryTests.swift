import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// A `docker-registry` (Debian's build of distribution) on a free loopback
/// port, storage in a temp directory; optionally with htpasswd auth. Each
/// test starts its own and stops it in a `defer`, so a failing test never
/// leaves one behind.
final class LocalRegistry {
    let dir: String
    let port: Int
    let pid: Int32
    var address: String { "127.0.0.1:\(port)" }
    var storage: String { dir + "/storage" }
    var log: String { readFile(dir + "/registry.log") }

    static let binary: String? = {
        let found = sh("command -v docker-registry").stdout.split(separator: "\n").first.map(String.init)
        return found?.isEmpty == false ? found : nil
    }()
    static let skopeo: String? = {
        let found = sh("command -v skopeo").stdout.split(separator: "\n").first.map(String.init)
        return found?.isEmpty == false ? found : nil
    }()

    /// `users` are `name:password` pairs for htpasswd auth (bcrypt, from
    /// apache2-utils' htpasswd). `tls` serves HTTPS only (with `clientCA`,
    /// it demands a client certificate signed by it). `extra` is appended
    /// to config.yml.
    init(
        users: [(String, String)] = [], tls: (certificate: String, key: String, clientCA: String?)? = nil,
        extra: String = ""
    ) {
        dir = makeTempDirectory("registry")
        port = freePort()
        var auth = ""
        if !users.isEmpty {
            for (user, password) in users {
                #expect(
                    sh("htpasswd -Bbn \(shellQuote(user)) \(shellQuote(password)) >> \(dir)/htpasswd").status == 0,
                    "htpasswd (apache2-utils) is needed for the auth test; run 'make deps'")
            }
            auth = "auth:\n  htpasswd:\n    realm: berth-test\n    path: \(dir)/htpasswd\n"
        }
        var tlsBlock = ""
        if let tls {
            tlsBlock = "  tls:\n    certificate: \(tls.certificate)\n    key: \(tls.key)\n"
            if let ca = tls.clientCA { tlsBlock += "    clientcas:\n      - \(ca)\n" }
        }
        writeFile(
            dir + "/config.yml",
            """
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: \(dir)/storage
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
            \(tlsBlock)
            \(auth)
            \(extra)
            """)
        let started = sh(
            "nohup \(Self.binary ?? "docker-registry") serve \(dir)/config.yml >\(dir)/registry.log 2>&1 </dev/null & echo $!")
        pid = Int32(started.stdout.split(separator: "\n").first ?? "") ?? -1
        // Wait until it answers.
        for _ in 0..<100 {
            // Up once it answers; over TLS unverified, and a refused handshake
            // (no client certificate) is an answer too.
            let url = HTTPURL("\(tls == nil ? "http" : "https")://127.0.0.1:\(port)/v2/")!
            do {
                _ = try HTTPClient.send("GET", url, trust: HTTPTrust(roots: [], unverified: ["127.0.0.1:\(port)"]))
                return
            } catch {
                if error.kind == .permission { return }
            }
            usleep(50_000)
        }
        Issue.record("docker-registry did not start: \(readFile(dir + "/registry.log"))")
    }

    func stop() {
        if pid > 0 {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, WNOHANG)
        }
        removeTree(dir)
    }

    /// `skopeo copy` of a `berth save` archive into `NAME:TAG` here.
    func fill(from archive: String, as name: String, creds: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        var argv = [Self.skopeo ?? "skopeo", "copy", "--dest-tls-verify=false"]
        if let creds { argv += ["--dest-creds", creds] }
        argv += ["docker-archive:" + archive, "docker://\(address)/\(name)"]
        let copied = runProcess(argv)
        #expect(copied.status == 0, "skopeo copy: \(copied.stderr)", sourceLocation: sourceLocation)
    }

    /// The data file of a blob in the registry's storage.
    func blobFile(_ digest: String) -> String {
        let hex = digest.dropFirst(7)
        return "\(storage)/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    /// How many GETs of a blob the access log shows.
    func blobGets(_ digest: String) -> Int {
        log.split(separator: "\n").filter { $0.contains("\"GET /v2/") && $0.contains("/blobs/\(digest) ") }.count
    }

    /// A store config using this registry as docker.io's mirror.
    func mirrorConfig(_ root: String) {
        _ = sh("mkdir -p \(root)")
        writeFile(
            root + "/config.json",
            """
            {"registries": {"mirrors": {"docker.io": ["http://\(address)"]}, "insecure": ["\(address)"]}}
            """)
    }
}

/// The layer blob digest a manifest in the registry lists, via skopeo.
private func layerBlobs(_ registry: LocalRegistry, _ name: String, creds: String? = nil) -> [String] {
    var argv = [LocalRegistry.skopeo ?? "skopeo", "inspect", "--tls-verify=false"]
    if let creds { argv += ["--creds", creds] }
    let out = runProcess(argv + ["--format", "{{range .Layers}}{{.}} {{end}}", "docker://\(registry.address)/\(name)"]).stdout
    return out.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
}

private func storeIsEmpty(_ root: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(FileSystem.list(root + "/layers/sha256").isEmpty, "no layer", sourceLocation: sourceLocation)
    #expect(FileSystem.list(root + "/images/sha256").isEmpty, "no image config", sourceLocation: sourceLocation)
    #expect(FileSystem.list(root + "/tmp").isEmpty, "no staging left", sourceLocation: sourceLocation)
    #expect(berth(root, "images", "-q").stdout.isEmpty, sourceLocation: sourceLocation)
}

/// pull, push, login against a real registry on loopback, filled by skopeo.
/// docker-registry and skopeo must be installed (`make deps`); their
/// absence is a failure, not a skip.
@Suite("registry: pull, push, login", .enabled(if: isRoot, "needs root to run containers"), .serialized)
struct RegistryTests {
    /// Imports busybox into `store`, saves it and fills the registry with it
    /// as `library/busybox:latest`; returns the image ID.
    @discardableResult
    private func seedBusybox(_ registry: LocalRegistry, store: String, dir: String) -> String {
        let id = importBusybox(store)
        #expect(berth(store, "save", "-o", dir + "/busybox.tar", "busybox").status == 0)
        registry.fill(from: dir + "/busybox.tar", as: "library/busybox:latest")
        return id
    }

    private func requireTools() -> Bool {
        guard LocalRegistry.binary != nil, LocalRegistry.skopeo != nil else {
            Issue.record("docker-registry and skopeo are needed; run 'make deps' (apt-get install docker-registry skopeo)")
            return false
        }
        return true
    }

    @Test("run on an empty store pulls busybox from the docker.io mirror with Docker's lines, then prints hi")
    func runPullsImplicitly() {
        guard requireTools() else { return }
        let registry = LocalRegistry()
        defer { registry.stop() }
        let dir = makeTempDirectory("pull")
        defer { removeTree(dir) }
        let a = dir + "/a", b = dir + "/b"
        let id = seedBusybox(registry, store: a, dir: dir)
        let blob = layerBlobs(registry, "library/busybox:latest").first ?? "?"
        let short = String(blob.dropFirst(7).prefix(12))
        registry.mirrorConfig(b)

        let ran = berth(b, "run", "--rm", "busybox", "echo", "hi")
        #expect(ran.status == 0 && ran.stdout == "hi\n", "run: \(ran.stdout) \(ran.stderr)")
        let lines = ran.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 8, "\(ran.stderr)")
        #expect(lines.first == "Unable to find image 'busybox:latest' locally")
        #expect(lines.dropFirst().first == "latest: Pulling from library/busybox")
        #expect(
            Array(lines.dropFirst(2).prefix(4)) == [
                "\(short): Pulling fs layer", "\(short): Verifying Checksum",
                "\(short): Download complete", "\(short): Pull complete",
            ], "\(lines)")
        #expect(lines.dropFirst(6).first?.hasPrefix("Digest: sha256:") == true)
        #expect(lines.last == "Status: Downloaded newer image for busybox:latest")
        #expect(inspect(b, "{{.Id}}", "busybox") == id, "the pulled config is the pushed one, byte for byte")
        // The --rm monitor purges the container's files after it has told
        // the client the exit, so its `rm-` directory may still be there.
        #expect(eventually { FileSystem.list(b + "/tmp").isEmpty }, "tmp: \(FileSystem.list(b + "/tmp"))")

        // Present now: no pull; --pull always checks and finds it up to date.
        let again = berth(b, "run", "--rm", "busybox", "echo", "again")
        #expect(again.stdout == "again\n" && !again.stderr.contains("Pull"), "\(again.stderr)")
        let always = berth(b, "create", "--pull", "always", "busybox")
        #expect(
            always.status == 0 && always.stderr.contains("Status: Image is up to date for busybox:latest"), "\(always.stderr)")
        #expect(!always.stdout.contains("Status"), "pull lines go to stderr, the ID alone to stdout: \(always.stdout)")
        let pulled = berth(b, "pull", "busybox")
        #expect(pulled.stdout.hasPrefix("Using default tag: latest\nlatest: Pulling from library/busybox\n"), "\(pulled.stdout)")
        #expect(pulled.stdout.hasSuffix("Status: Image is up to date for busybox:latest\ndocker.io/library/busybox:latest\n"))
        let never = berth(b, "run", "--pull", "never", "nosuch")
        expectOneErrorLine(never, naming: ["No such image: nosuch:latest"], status: 125)

        // On a terminal: one line per layer, redrawn with a bar.
        let c = dir + "/c"
        registry.mirrorConfig(c)
        let tty = sh("script -qec '\(berthBinary) --root \(c) pull busybox' /dev/null")
        #expect(tty.stdout.contains("\(short): Downloading [") && tty.stdout.contains("\u{1b}[1A"), "\(tty.stdout)")
        #expect(tty.stdout.contains("\(short): Pull complete") && tty.stdout.contains("Status: Downloaded newer image"))
    }

    @Test("an image pushed by Berth is read back by skopeo and by podman, runs there, and pulls back into Berth with its ID")
    func pushInterop() {
        guard requireTools() else { return }
        let registry = LocalRegistry()
        defer { registry.stop() }
        let dir = makeTempDirectory("push")
        defer { removeTree(dir) }
        let a = dir + "/a"
        let ids = makeTwoLayerStore(a)
        let name = "\(registry.address)/team/two:v1"
        #expect(berth(a, "tag", "two:layers", name).status == 0)
        let pushed = berth(a, "push", name)
        #expect(pushed.status == 0, "push: \(pushed.stderr)")
        let lines = pushed.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "The push refers to repository [\(registry.address)/team/two]", "\(pushed.stdout)")
        #expect(lines.filter { $0.hasSuffix(": Pushed") }.count == 2, "\(pushed.stdout)")
        let digestLine = lines.last ?? ""
        #expect(digestLine.hasPrefix("v1: digest: sha256:") && digestLine.contains(" size: "), "\(digestLine)")
        // A failed push has no digest line: stop here (the expectations above
        // say why) rather than crash the whole test binary on an index.
        let words = digestLine.split(separator: " ")
        guard words.count > 2 else { return }
        let digest = String(words[2])

        // skopeo: the manifest digest matches and every blob copies (skopeo checks digests).
        let inspected = runProcess([
            LocalRegistry.skopeo!, "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
            "docker://\(name)",
        ])
        #expect(inspected.stdout == digest + "\n", "\(inspected.stdout) \(inspected.stderr)")
        let copied = runProcess([
            LocalRegistry.skopeo!, "copy", "--src-tls-verify=false", "docker://\(name)", "oci:\(dir)/oci:v1",
        ])
        #expect(copied.status == 0, "skopeo copy back: \(copied.stderr)")

        // podman pulls it and runs it, the whiteout included.
        if IsolatedPodman.binary != nil {
            let podman = IsolatedPodman(dir + "/podman")
            defer { podman.run("rm", "-af"); podman.run("rmi", "-af") }
            let pulled = podman.run("pull", "--tls-verify=false", name)
            #expect(pulled.status == 0, "podman pull: \(pulled.stderr)")
            let two = podman.run(
                "run", "--rm", "--network", "none", name, "sh", "-c",
                "cat /added; test -e /bin/vi && echo vi-present || echo vi-gone")
            #expect(two.stdout == "made\nvi-gone\n", "podman run: \(two.stdout) \(two.stderr)")
        } else {
            Issue.record("podman is not installed; run 'make deps'")
        }

        // Again: nothing to upload.
        let again = berth(a, "push", name)
        #expect(
            again.stdout.split(separator: "\n").filter { $0.hasSuffix(": Layer already exists") }.count == 2, "\(again.stdout)")
        #expect(again.stdout.hasSuffix("v1: digest: \(digest) size: \(digestLine.split(separator: " ").last ?? "")\n"))

        // Berth pulls it back: same image ID, runs.
        let b = dir + "/b"
        let back = berth(b, "pull", name)
        #expect(back.status == 0, "pull: \(back.stderr)")
        #expect(back.stdout.contains("Digest: \(digest)"))
        #expect(inspect(b, "{{.Id}}", name) == ids.two)
        let ran = berth(b, "run", "--rm", name, "sh", "-c", "cat /added")
        #expect(ran.stdout == "made\n", "\(ran.stderr)")
        // A tag that is not local cannot be pushed.
        expectOneErrorLine(berth(a, "push", "\(registry.address)/team/none:v1"), naming: ["does not exist locally"])
    }

    @Test("an image pulled by digest runs and inspects by that digest; RepoDigests is filled")
    func pullByDigest() {
        guard requireTools() else { return }
        let registry = LocalRegistry()
        defer { registry.stop() }
        let dir = makeTempDirectory("digest")
        defer { removeTree(dir) }
        let a = dir + "/a"
        importBusybox(a)
        let name = "\(registry.address)/team/bb"
        #expect(berth(a, "tag", "busybox", name + ":v1").status == 0)
        let pushed = berth(a, "push", name + ":v1")
        #expect(pushed.status == 0, "push: \(pushed.stderr)")
        let digest = String((pushed.stdout.split(separator: "\n").last ?? "").split(separator: " ").dropFirst(2).first ?? "")
        #expect(digest.hasPrefix("sha256:"), "\(pushed.stdout)")
        let b = dir + "/b"
        registry.mirrorConfig(b)
        let byDigest = name + "@" + digest
        let pulled = berth(b, "pull", byDigest)
        #expect(pulled.status == 0, "pull by digest: \(pulled.stdout) \(pulled.stderr)")
        let ran = berth(b, "run", "--rm", byDigest, "echo", "by-digest")
        #expect(ran.status == 0 && ran.stdout == "by-digest\n", "\(ran.stdout) \(ran.stderr)")
        #expect(berth(b, "inspect", "-f", "{{json .RepoDigests}}", byDigest).stdout == "[\"\(byDigest)\"]\n")
        // A tag pull records the digest too, as Docker's does.
        #expect(berth(b, "pull", name + ":v1").status == 0)
        #expect(berth(b, "inspect", "-f", "{{index .RepoDigests 0}}", name + ":v1").stdout == byDigest + "\n")
        #expect(berth(b, "rmi", "-f", name + ":v1").status == 0)
        expectOneErrorLine(berth(b, "inspect", byDigest), naming: [digest])
    }

    @Test("pulling an image that shares its base layer with a stored one downloads only the new layer")
    func sharedLayers() {
        guard requireTools() else { return }
        let registry = LocalRegistry()
        defer { registry.stop() }
        let dir = makeTempDirectory("shared")
        defer { removeTree(dir) }
        let a = dir + "/a", b = dir + "/b"
        let ids = makeTwoLayerStore(a)
        #expect(berth(a, "save", "-o", dir + "/busybox.tar", "busybox").status == 0)
        #expect(berth(a, "save", "-o", dir + "/two.tar", "two:layers").status == 0)
        registry.fill(from: dir + "/busybox.tar", as: "library/busybox:latest")
        registry.fill(from: dir + "/two.tar", as: "library/two:layers")
        let blobs = layerBlobs(registry, "library/two:layers")
        #expect(blobs.count == 2)
        registry.mirrorConfig(b)

        #expect(berth(b, "pull", "busybox").status == 0)
        #expect(registry.blobGets(blobs[0]) == 1)
        let pulled = berth(b, "pull", "two:layers")
        #expect(pulled.status == 0, "\(pulled.stderr)")
        let base = String(blobs[0].dropFirst(7).prefix(12)), top = String(blobs[1].dropFirst(7).prefix(12))
        #expect(pulled.stdout.contains("\(base): Already exists\n"), "\(pulled.stdout)")
        #expect(!pulled.stdout.contains("\(base): Pull complete"))
        #expect(pulled.stdout.contains("\(top): Pull complete\n"))
        #expect(registry.blobGets(blobs[0]) == 1, "the base layer was not downloaded again")
        #expect(registry.blobGets(blobs[1]) == 1)
        #expect(FileSystem.list(b + "/layers/sha256").count == 2)
        #expect(inspect(b, "{{.Id}}", "two:layers") == ids.two)
        let ran = berth(b, "run", "--rm", "two:layers", "sh", "-c", "cat /added; test -e /bin/vi || echo vi-gone")
        #expect(ran.stdout == "made\nvi-gone\n", "\(ran.stderr)")
    }

    @Test(
        "a registry with htpasswd: push and pull without a login fail naming the registry and 'berth login'; login, pull, logout")
    func authFailure() {
        guard requireTools() else { return }
        let registry = LocalRegistry(users: [("alice", "s3cret")])
        defer { registry.stop() }
        let dir = makeTempDirectory("auth")
        defer { removeTree(dir) }
        let a = dir + "/a", b = dir + "/b"
        importBusybox(a)
        let name = "\(registry.address)/private/busybox:v1"
        #expect(berth(a, "tag", "busybox", name).status == 0)
        let refused = berth(a, "push", name)
        #expect(refused.status == 1 && refused.stderr.hasPrefix("Error: "), "\(refused.stdout) \(refused.stderr)")
        #expect(
            refused.stderr.contains("registry \(registry.address)") && refused.stderr.contains("berth login \(registry.address)"),
            "\(refused.stderr)")
        #expect(berth(a, "save", "-o", dir + "/busybox.tar", "busybox").status == 0)
        registry.fill(from: dir + "/busybox.tar", as: "private/busybox:v1", creds: "alice:s3cret")

        let denied = berth(b, "pull", name)
        expectOneErrorLine(denied, naming: ["registry \(registry.address)", "unauthorized", "berth login \(registry.address)"])
        storeIsEmpty(b)

        let wrong = berth(b, "login", "-u", "alice", "--password-stdin", registry.address, stdin: "nope\n")
        expectOneErrorLine(wrong, naming: ["login to \(registry.address) failed", "unauthorized"])
        #expect(!fileExists(b + "/auth.json"))
        let login = berth(b, "login", "-u", "alice", "--password-stdin", registry.address, stdin: "s3cret\n")
        #expect(login.status == 0 && login.stdout == "Login Succeeded\n", "\(login.stdout) \(login.stderr)")
        #expect(sh("stat -c %a \(b)/auth.json").stdout == "600\n")
        #expect(readFile(b + "/auth.json").contains("\"\(registry.address)\""))
        #expect(!readFile(b + "/auth.json").contains("s3cret"), "the password is stored encoded, as Docker does")
        let pulled = berth(b, "pull", name)
        #expect(pulled.status == 0 && pulled.stdout.contains("Status: Downloaded newer image for \(name)"), "\(pulled.stderr)")
        #expect(berth(b, "push", name).status == 0, "a logged-in push works")

        let logout = berth(b, "logout", registry.address)
        #expect(logout.stdout == "Removing login credentials for \(registry.address)\n")
        #expect(!readFile(b + "/auth.json").contains(registry.address))
        expectOneErrorLine(berth(b, "pull", "--platform", "linux/amd64", name), naming: ["berth login \(registry.address)"])
    }

    @Test("a missing tag: Docker's error, exit 125, nothing stored; run says it tried")
    func missingTag() {
        guard requireTools() else { return }
        let registry = LocalRegistry()
        defer { registry.stop() }
        let dir = makeTempDirectory("missing")
        defer { removeTree(dir) }
        let a = dir + "/a", b = dir + "/b"
        seedBusybox(registry, store: a, dir: dir)
        registry.mirrorConfig(b)
        let missing = berth(b, "pull", "busybox:nosuch")
        #expect(missing.stdout.isEmpty, "\(missing.stdout)")
        expectOneErrorLine(missing, naming: [])
        #expect(missing.stderr == "Error: manifest for busybox:nosuch not found: manifest unknown: manifest unknown\n")
        storeIsEmpty(b)
        let run = berth(b, "run", "--rm", "busybox:nosuch", "true")
        #expect(run.status == 125)
        #expect(
            run.stderr
                == "Unable to find image 'busybox:nosuch' locally\nError: manifest for busybox:nosuch not found: manifest unknown: manifest unknown\n"
        )
        // Direct, with a registry in the name.
        let direct = berth(b, "pull", "\(registry.address)/library/busybox:nosuch")
        expectOneErrorLine(direct, naming: ["manifest for \(registry.address)/library/busybox:nosuch not found"])
        storeIsEmpty(b)
    }

    @Test("a corrupted or truncated blob in the registry: the error names it, the store is unchanged")
    func corruptBlob() {
        guard requireTools() else { return }
        let registry = LocalRegistry()
        defer { registry.stop() }
        let dir = makeTempDirectory("corrupt")
        defer { removeTree(dir) }
        let a = dir + "/a", b = dir + "/b"
        seedBusybox(registry, store: a, dir: dir)
        registry.mirrorConfig(b)
        let blob = layerBlobs(registry, "library/busybox:latest").first ?? "?"
        let file = registry.blobFile(blob)
        #expect(sh("cp \(file) \(dir)/good && printf 'XXXX' | dd of=\(file) bs=1 seek=5000 conv=notrunc 2>/dev/null").status == 0)

        let corrupt = berth(b, "pull", "busybox")
        expectOneErrorLine(corrupt, naming: [blob, "hashes to", "nothing was stored"])
        storeIsEmpty(b)
        let run = berth(b, "run", "--rm", "busybox", "true")
        #expect(run.status == 125 && run.stderr.contains(blob), "\(run.stderr)")
        storeIsEmpty(b)

        #expect(sh("head -c 4000 \(dir)/good > \(file)").status == 0)
        let truncated = berth(b, "pull", "busybox")
        expectOneErrorLine(truncated, naming: [blob, "truncated"])
        storeIsEmpty(b)

        // Repaired: the pull works.
        #expect(sh("cp \(dir)/good \(file)").status == 0)
        #expect(berth(b, "pull", "-q", "busybox").stdout == "docker.io/library/busybox:latest\n")
    }

    @Test("a connection dropped in the middle of a layer is resumed with a Range request")
    func resumesDroppedDownload() {
        guard requireTools() else { return }
        let registry = LocalRegistry()
        defer { registry.stop() }
        let dir = makeTempDirectory("resume")
        defer { removeTree(dir) }
        let a = dir + "/a", b = dir + "/b"
        let id = seedBusybox(registry, store: a, dir: dir)
        let blob = layerBlobs(registry, "library/busybox:latest").first ?? "?"
        // A proxy that cuts the first response for each blob in half.
        writeFile(dir + "/cutproxy.py", Self.cutProxy)
        let port = freePort()
        let started = sh(
            "nohup python3 \(dir)/cutproxy.py \(port) http://\(registry.address) >\(dir)/proxy.log 2>&1 </dev/null & echo $!")
        let proxy = Int32(started.stdout.split(separator: "\n").first ?? "") ?? -1
        defer { if proxy > 0 { kill(proxy, SIGKILL) } }
        for _ in 0..<100 {
            if (try? HTTPClient.send("GET", HTTPURL("http://127.0.0.1:\(port)/v2/")!)) != nil { break }
            usleep(50_000)
        }
        _ = sh("mkdir -p \(b)")
        writeFile(b + "/config.json", #"{"registries": {"mirrors": {"docker.io": ["http://127.0.0.1:\#(port)"]}}}"#)
        let pulled = berth(b, "pull", "busybox")
        #expect(pulled.status == 0, "\(pulled.stdout) \(pulled.stderr)")
        #expect(inspect(b, "{{.Id}}", "busybox") == id)
        let log = readFile(dir + "/proxy.log")
        #expect(log.contains("GET /v2/library/busybox/blobs/\(blob) bytes="), "resumed with Range: \(log)")
    }

    @Test("a 503 is retried with back-off; Docker Hub's toomanyrequests is one line saying to wait or log in")
    func retriesAndRateLimit() {
        guard requireTools() else { return }
        let registry = LocalRegistry()
        defer { registry.stop() }
        let dir = makeTempDirectory("flaky")
        defer { removeTree(dir) }
        let a = dir + "/a", b = dir + "/b"
        let id = seedBusybox(registry, store: a, dir: dir)
        writeFile(dir + "/flaky.py", Self.flakyProxy)
        let port = freePort()
        let started = sh(
            "nohup python3 \(dir)/flaky.py \(port) http://\(registry.address) >\(dir)/proxy.log 2>&1 </dev/null & echo $!")
        let proxy = Int32(started.stdout.split(separator: "\n").first ?? "") ?? -1
        defer { if proxy > 0 { kill(proxy, SIGKILL) } }
        for _ in 0..<100 {
            if (try? HTTPClient.send("GET", HTTPURL("http://127.0.0.1:\(port)/v2/")!)) != nil { break }
            usleep(50_000)
        }
        let pulled = berth(b, "pull", "127.0.0.1:\(port)/library/busybox:latest")
        #expect(pulled.status == 0, "\(pulled.stdout) \(pulled.stderr)")
        #expect(inspect(b, "{{.Id}}", "127.0.0.1:\(port)/library/busybox") == id)
        let log = readFile(dir + "/proxy.log").split(separator: "\n")
        let manifestGets = log.filter { $0.hasPrefix("GET /v2/library/busybox/manifests/latest ") }
        #expect(manifestGets.map { $0.split(separator: " ").last ?? "" } == ["503", "200"], "\(log)")

        let limited = berth(b, "pull", "127.0.0.1:\(port)/library/limited:latest")
        expectOneErrorLine(
            limited, naming: ["registry 127.0.0.1:\(port) is rate-limiting", "toomanyrequests", "berth login 127.0.0.1:\(port)"])
        #expect(
            readFile(dir + "/proxy.log").split(separator: "\n").filter { $0.contains("/library/limited/") }.count == 1,
            "a rate limit is not retried")
    }

    /// Answers the first GET of each manifest with 503, and every request
    /// for `library/limited` with Docker Hub's 429; forwards the rest.
    static let flakyProxy = #"""
        import http.server, sys, urllib.request, socketserver
        upstream = sys.argv[2]
        seen = set()
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, fmt, *a): pass
            def reply(self, status, headers, body):
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"): self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD": self.wfile.write(body)
                sys.stderr.write("%s %s %d\n" % (self.command, self.path, status)); sys.stderr.flush()
            def do_GET(self):
                if "/library/limited/" in self.path:
                    body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}'
                    return self.reply(429, [("Content-Type", "application/json")], body)
                if "/manifests/" in self.path and self.path not in seen:
                    seen.add(self.path)
                    return self.reply(503, [], b"busy")
                req = urllib.request.Request(upstream + self.path, headers={k: v for k, v in self.headers.items() if k.lower() in ("accept", "range", "authorization")}, method=self.command)
                try:
                    r = urllib.request.urlopen(req)
                except urllib.error.HTTPError as e:
                    r = e
                self.reply(r.status if hasattr(r, "status") else r.code, list(r.headers.items()), r.read())
            do_HEAD = do_GET
        socketserver.TCPServer.allow_reuse_address = True
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
        """#

    static let cutProxy = #"""
        import http.server, sys, urllib.request, socketserver
        upstream = sys.argv[2]
        cut = set()
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): sys.stderr.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Range")))
            def do_GET(self):
                req = urllib.request.Request(upstream + self.path, headers={k: v for k, v in self.headers.items() if k.lower() in ("accept", "range", "authorization")})
                try:
                    r = urllib.request.urlopen(req)
                except urllib.error.HTTPError as e:
                    r = e
                body = r.read()
                self.send_response(r.status if hasattr(r, "status") else r.code)
                for k, v in r.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"): self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if "/blobs/" in self.path and self.path not in cut and len(body) > 10000:
                    cut.add(self.path)
                    self.wfile.write(body[: len(body) // 2]); self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)
            do_HEAD = do_GET
        socketserver.TCPServer.allow_reuse_address = True
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
        """#
}
