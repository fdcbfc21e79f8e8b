import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// A CA, a server certificate for `registry.test`, `localhost` and
/// 127.0.0.1, and a client certificate, made with openssl in `dir`.
struct TestPKI {
    let dir: String
    var ca: String { dir + "/ca.crt" }
    var serverCert: String { dir + "/server.crt" }
    var serverKey: String { dir + "/server.key" }
    var clientCert: String { dir + "/client.cert" }
    var clientKey: String { dir + "/client.key" }

    init(_ dir: String, sourceLocation: SourceLocation = #_sourceLocation) {
        self.dir = dir
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        let made = sh(
            """
            set -e; cd \(dir)
            openssl req -x509 \(ec) -keyout ca.key -out ca.crt -days 2 -subj /CN=berth-test-ca 2>/dev/null
            openssl req \(ec) -keyout server.key -out server.csr -subj /CN=registry.test 2>/dev/null
            printf 'subjectAltName=DNS:registry.test,DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext 2>/dev/null
            openssl req \(ec) -keyout client.key -out client.csr -subj /CN=berth-client 2>/dev/null
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.cert -days 2 -extfile client.ext 2>/dev/null
            """)
        #expect(made.status == 0, "openssl: \(made.stderr)", sourceLocation: sourceLocation)
    }
}

/// pull and push over HTTPS with Docker's certs.d trust, against
/// docker-registry serving TLS on loopback: certificates made by the test,
/// trusted through a certs.d root named in the store's config.json (so
/// nothing is written under /etc).
@Suite(
    "registry over TLS: certs.d, --tls-verify, client certificates, proxy, redirects",
    .enabled(if: isRoot, "needs root to run containers"), .serialized)
struct RegistryTLSTests {
    /// A temp dir with a PKI, a certs.d root and a TLS registry; `body` gets
    /// them and everything is removed afterwards, even on failure.
    private func withTLSRegistry(
        clientCA: Bool = false, users: [(String, String)] = [], extra: String = "",
        _ body: (_ dir: String, _ pki: TestPKI, _ certs: String, _ registry: LocalRegistry) -> Void
    ) {
        guard LocalRegistry.binary != nil else {
            Issue.record("docker-registry is needed; run 'make deps'")
            return
        }
        let dir = makeTempDirectory("tls")
        defer { removeTree(dir) }
        _ = sh("mkdir -p \(dir)/pki \(dir)/certs.d")
        let pki = TestPKI(dir + "/pki")
        let certs = dir + "/certs.d"
        let registry = LocalRegistry(users: users, tls: (pki.serverCert, pki.serverKey, clientCA ? pki.ca : nil), extra: extra)
        defer { registry.stop() }
        if clientCA { trust(certs, registry.address, pki, client: true) }
        body(dir, pki, certs, registry)
    }

    /// certs.d/HOST/ with the CA (and the client certificate).
    private func trust(_ certs: String, _ host: String, _ pki: TestPKI, client: Bool = false) {
        _ = sh("mkdir -p \(certs)/\(host) && cp \(pki.ca) \(certs)/\(host)/ca.crt")
        if client { _ = sh("cp \(pki.clientCert) \(pki.clientKey) \(certs)/\(host)/") }
    }

    /// A store whose config.json names `certs` as its only certs.d root.
    private func store(_ root: String, certs: String, extra: String = "") {
        _ = sh("mkdir -p \(root)")
        writeFile(root + "/config.json", #"{"registries": {"certsDirectories": ["\#(certs)"]}\#(extra)}"#)
    }

    @Test("push and pull over TLS trusted through certs.d, with Docker's lines; a second repository mounts the layers")
    func pushPullTLS() {
        withTLSRegistry { dir, pki, certs, registry in
            trust(certs, registry.address, pki)
            let a = dir + "/a", b = dir + "/b"
            store(a, certs: certs)
            store(b, certs: certs)
            let ids = makeTwoLayerStore(a)
            let name = "\(registry.address)/team/two:v1"
            #expect(berth(a, "tag", "two:layers", name).status == 0)
            let pushed = berth(a, "push", name)
            #expect(pushed.status == 0 && pushed.stderr.isEmpty, "push: \(pushed.stdout) \(pushed.stderr)")
            let lines = pushed.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "The push refers to repository [\(registry.address)/team/two]", "\(pushed.stdout)")
            #expect(lines.filter { $0.hasSuffix(": Pushed") }.count == 2, "\(pushed.stdout)")
            #expect(lines.last?.hasPrefix("v1: digest: sha256:") == true, "\(pushed.stdout)")

            // Another repository of the same registry: the layers are mounted, not uploaded.
            let other = "\(registry.address)/other/two:v1"
            #expect(berth(a, "tag", "two:layers", other).status == 0)
            let mounted = berth(a, "push", other)
            #expect(mounted.status == 0, "\(mounted.stderr)")
            #expect(
                mounted.stdout.split(separator: "\n").filter { $0.hasSuffix(": Mounted from team/two") }.count == 2,
                "\(mounted.stdout)")
            #expect(!mounted.stdout.contains(": Pushed\n") && !mounted.stdout.contains("Pushing"), "\(mounted.stdout)")

            let pulled = berth(b, "pull", other)
            #expect(pulled.status == 0, "pull: \(pulled.stdout) \(pulled.stderr)")
            #expect(pulled.stdout.hasPrefix("v1: Pulling from other/two\n"), "\(pulled.stdout)")
            #expect(pulled.stdout.split(separator: "\n").filter { $0.hasSuffix(": Pull complete") }.count == 2)
            #expect(pulled.stdout.contains("Status: Downloaded newer image for \(other)"))
            #expect(inspect(b, "{{.Id}}", other) == ids.two)
            let ran = berth(b, "run", "--rm", "--network", "none", other, "cat", "/added")
            #expect(ran.stdout == "made\n", "\(ran.stderr)")
            #expect(!registry.log.contains("HTTP request to an HTTPS server"), "no plain-HTTP attempt: \(registry.log)")
        }
    }

    @Test(
        "an untrusted certificate is refused naming the host, the reason and the fix; --tls-verify=false accepts it with a warning"
    )
    func untrustedCertificate() {
        withTLSRegistry { dir, pki, certs, registry in
            let a = dir + "/a", c = dir + "/c"
            trust(certs, registry.address, pki)
            store(a, certs: certs)
            importBusybox(a)
            let name = "\(registry.address)/team/bb:v1"
            #expect(berth(a, "tag", "busybox", name).status == 0)
            #expect(berth(a, "push", "-q", name).status == 0)

            store(c, certs: dir + "/empty-certs.d")
            let refused = berth(c, "pull", name)
            expectOneErrorLine(
                refused,
                naming: [
                    "cannot verify the TLS certificate of \(registry.address)", "unable to get local issuer certificate",
                    "\(dir)/empty-certs.d/\(registry.address)/ca.crt", "--tls-verify=false",
                ])
            #expect(berth(c, "images", "-q").stdout.isEmpty)
            let strictPush = berth(a, "push", "--tls-verify=true", name)
            #expect(strictPush.status == 0, "with certs.d, --tls-verify=true passes: \(strictPush.stderr)")

            let accepted = berth(c, "pull", "--tls-verify=false", name)
            #expect(accepted.status == 0, "\(accepted.stdout) \(accepted.stderr)")
            #expect(accepted.stdout.contains("Status: Downloaded newer image for \(name)"))
            #expect(
                accepted.stderr
                    == "WARNING: the TLS certificate of \(registry.address) is not verified and plain HTTP is allowed (--tls-verify=false); anyone on the way can read and change what is sent\n",
                "\(accepted.stderr)")

            // Docker's insecure-registries key in config.json: unverified too (no
            // warning on loopback, which Docker treats as insecure anyway).
            let d = dir + "/d"
            store(d, certs: dir + "/empty-certs.d", extra: #", "insecure-registries": ["\#(registry.address)"]"#)
            let listed = berth(d, "pull", name)
            #expect(listed.status == 0 && listed.stderr.isEmpty, "\(listed.stdout) \(listed.stderr)")

            // --tls-verify=true refuses a plain-HTTP registry even on loopback.
            let plain = LocalRegistry()
            defer { plain.stop() }
            let strict = berth(c, "pull", "--tls-verify=true", "\(plain.address)/team/bb:v1")
            expectOneErrorLine(strict, naming: ["TLS handshake with \(plain.address) failed", "insecure-registries"])
        }
    }

    @Test(
        "a registry that demands a client certificate: refused without one, naming client.cert; works with certs.d's client.cert")
    func clientCertificate() {
        withTLSRegistry(clientCA: true) { dir, pki, certs, registry in
            let a = dir + "/a", b = dir + "/b"
            store(a, certs: certs)
            importBusybox(a)
            let name = "\(registry.address)/team/bb:v1"
            #expect(berth(a, "tag", "busybox", name).status == 0)
            let pushed = berth(a, "push", name)
            #expect(pushed.status == 0 && pushed.stdout.contains(": Pushed"), "\(pushed.stdout) \(pushed.stderr)")

            let withoutClient = dir + "/ca-only"
            trust(withoutClient, registry.address, pki)
            store(b, certs: withoutClient)
            let refused = berth(b, "pull", name)
            expectOneErrorLine(refused, naming: [registry.address, "client.cert", "client.key"])
            store(b, certs: certs)
            let pulled = berth(b, "pull", name)
            #expect(pulled.status == 0 && pulled.stdout.contains("Pull complete"), "\(pulled.stdout) \(pulled.stderr)")
            #expect(berth(b, "run", "--rm", "--network", "none", name, "echo", "ok").stdout == "ok\n")
        }
    }

    static let connectProxy = #"""
        import select, socket, sys, threading
        names = dict(a.split("=") for a in sys.argv[2:])
        def relay(a, b):
            try:
                while True:
                    r, _, _ = select.select([a, b], [], [], 30)
                    if not r: return
                    for s in r:
                        d = s.recv(65536)
                        if not d: return
                        (b if s is a else a).sendall(d)
            finally:
                a.close(); b.close()
        def handle(c):
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk: c.close(); return
                data += chunk
            line = data.split(b"\r\n")[0].decode()
            sys.stderr.write(line + "\n"); sys.stderr.flush()
            method, target, _ = line.split(" ")
            host, port = target.rsplit(":", 1)
            host = names.get(host, host)
            if method != "CONNECT" or host not in ("127.0.0.1", "localhost"):
                c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"); c.close(); return
            u = socket.create_connection((host, int(port)))
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = data.split(b"\r\n\r\n", 1)[1]
            if rest: u.sendall(rest)
            relay(c, u)
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
        while True:
            c, _ = s.accept()
            threading.Thread(target=handle, args=(c,), daemon=True).start()
        """#

    /// Starts a python3 script on a free loopback port; returns (port, pid).
    private func startScript(_ dir: String, _ name: String, _ script: String, _ args: String) -> (Int, Int32) {
        writeFile(dir + "/\(name).py", script)
        let port = freePort()
        let started = sh("nohup python3 \(dir)/\(name).py \(port) \(args) >\(dir)/\(name).log 2>&1 </dev/null & echo $!")
        let pid = Int32(started.stdout.split(separator: "\n").first ?? "") ?? -1
        for _ in 0..<100 {
            if sh("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", \(port)))' 2>/dev/null").status == 0 {
                break
            }
            usleep(50_000)
        }
        return (port, pid)
    }

    @Test("HTTPS_PROXY: push and pull reach a registry name only the CONNECT proxy can resolve")
    func throughConnectProxy() {
        guard sh("command -v python3").status == 0 else {
            Issue.record("python3 is needed; run 'make deps'")
            return
        }
        withTLSRegistry { dir, pki, certs, registry in
            let (port, pid) = startScript(dir, "proxy", Self.connectProxy, "registry.test=127.0.0.1")
            defer { if pid > 0 { kill(pid, SIGKILL) } }
            let host = "registry.test:\(registry.port)"
            trust(certs, host, pki)
            let a = dir + "/a", b = dir + "/b"
            store(a, certs: certs)
            store(b, certs: certs)
            importBusybox(a)
            let name = "\(host)/team/bb:v1"
            #expect(berth(a, "tag", "busybox", name).status == 0)
            let env = ["HTTPS_PROXY": "http://127.0.0.1:\(port)", "NO_PROXY": "example.invalid"]
            let pushed = runProcess([berthBinary, "--root", a, "push", name], environment: env)
            #expect(pushed.status == 0 && pushed.stdout.contains(": Pushed"), "\(pushed.stdout) \(pushed.stderr)")
            let pulled = runProcess([berthBinary, "--root", b, "pull", name], environment: env)
            #expect(pulled.status == 0 && pulled.stdout.contains("Pull complete"), "\(pulled.stdout) \(pulled.stderr)")
            #expect(readFile(dir + "/proxy.log").contains("CONNECT \(host) HTTP/1.1"), "\(readFile(dir + "/proxy.log"))")
            // NO_PROXY naming the host: a direct connection, which cannot resolve it.
            let direct = runProcess(
                [berthBinary, "--root", b, "pull", "\(host)/team/bb:v2"],
                environment: env.merging(["NO_PROXY": "registry.test"]) { $1 })
            expectOneErrorLine(direct, naming: ["cannot reach registry \(host)"])
        }
    }

    static let fileServer = #"""
        import functools, http.server, sys
        class H(http.server.SimpleHTTPRequestHandler):
            def log_message(self, fmt, *a):
                sys.stderr.write("%s %s auth=%s\n" % (self.command, self.path, self.headers.get("Authorization")))
                sys.stderr.flush()
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), functools.partial(H, directory=sys.argv[2])).serve_forever()
        """#

    @Test("blob redirects to another server are followed without the registry's Authorization header")
    func redirectWithoutAuthorization() {
        guard LocalRegistry.binary != nil else {
            Issue.record("docker-registry is needed; run 'make deps'")
            return
        }
        let dir = makeTempDirectory("redirect")
        defer { removeTree(dir) }
        let storage = dir + "/served"
        _ = sh("mkdir -p \(storage)")
        let (port, pid) = startScript(dir, "files", Self.fileServer, storage)
        defer { if pid > 0 { kill(pid, SIGKILL) } }
        // The registry stores blobs in `storage` and answers blob GETs with a
        // redirect to the file server, as Docker Hub does to its CDN.
        let registry = LocalRegistry(
            users: [("alice", "s3cret")],
            extra: "middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: http://127.0.0.1:\(port)/\n")
        defer { registry.stop() }
        _ = sh("rm -rf \(storage) && ln -s \(registry.storage) \(storage)")
        let a = dir + "/a", b = dir + "/b"
        importBusybox(a)
        let name = "\(registry.address)/private/bb:v1"
        #expect(berth(a, "tag", "busybox", name).status == 0)
        #expect(berth(a, "login", "-u", "alice", "--password-stdin", registry.address, stdin: "s3cret\n").status == 0)
        let pushed = berth(a, "push", name)
        #expect(pushed.status == 0, "\(pushed.stdout) \(pushed.stderr)")
        #expect(berth(b, "login", "-u", "alice", "--password-stdin", registry.address, stdin: "s3cret\n").status == 0)
        let pulled = berth(b, "pull", name)
        #expect(pulled.status == 0 && pulled.stdout.contains("Pull complete"), "\(pulled.stdout) \(pulled.stderr)")
        let served = readFile(dir + "/files.log").split(separator: "\n").filter { $0.hasPrefix("GET /docker/registry/v2/blobs/") }
        #expect(served.count >= 2, "the config and the layer came from the redirect target: \(readFile(dir + "/files.log"))")
        #expect(served.allSatisfy { $0.hasSuffix(" auth=None") }, "\(served)")
        #expect(registry.log.contains("\"GET /v2/private/bb/blobs/sha256:"), "the registry was asked first")
    }

    /// A Docker-style token service: GET /token?service=…&scope=… answers a
    /// JWT (RS256, signed with openssl, its certificate in `x5c`) granting the
    /// scope asked for to alice:s3cret, and only `pull` to anyone else.
    static let tokenServer = #"""
        import base64, http.server, json, subprocess, sys, time, urllib.parse
        port, key, cert, service = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
        der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], capture_output=True).stdout
        def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_GET(self):
                q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                auth = self.headers.get("Authorization")
                good = "Basic " + base64.b64encode(b"alice:s3cret").decode()
                sys.stderr.write("token service=%s scope=%s auth=%s\n" % (q.get("service", [""])[0], ",".join(q.get("scope", [])), "alice" if auth == good else auth))
                sys.stderr.flush()
                if auth is not None and auth != good:
                    body = b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
                    self.send_response(401); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body); return
                access = []
                for scope in q.get("scope", []):
                    typ, name, actions = scope.split(":")
                    acts = [a for a in actions.split(",") if auth == good or a == "pull"]
                    access.append({"type": typ, "name": name, "actions": acts})
                now = int(time.time())
                claims = {"iss": "berth-test-issuer", "sub": "alice" if auth else "", "aud": service, "exp": now + 300,
                          "nbf": now - 10, "iat": now, "jti": str(time.time()), "access": access}
                header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
                signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
                sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing.encode(), capture_output=True).stdout
                body = json.dumps({"token": signing + "." + b64(sig)}).encode()
                self.send_response(200); self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
        http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
        """#

    @Test(
        "a registry with a token service (Docker Hub's scheme): login, push and pull get tokens for their scopes; an anonymous push is refused"
    )
    func tokenService() {
        let dir = makeTempDirectory("token")
        defer { removeTree(dir) }
        let made = sh(
            "cd \(dir) && openssl req -x509 -newkey rsa:2048 -nodes -keyout token.key -out token.crt -days 2 -subj /CN=berth-token 2>/dev/null"
        )
        #expect(made.status == 0, "\(made.stderr)")
        let tokenPort = freePort()
        let auth = """
            auth:
              token:
                realm: http://127.0.0.1:\(tokenPort)/token
                service: berth-test
                issuer: berth-test-issuer
                rootcertbundle: \(dir)/token.crt

            """
        withTLSRegistry(extra: auth) { tls, pki, certs, registry in
            writeFile(dir + "/token.py", Self.tokenServer)
            let started = sh(
                "nohup python3 \(dir)/token.py \(tokenPort) \(dir)/token.key \(dir)/token.crt berth-test >\(dir)/token.log 2>&1 </dev/null & echo $!"
            )
            let pid = Int32(started.stdout.split(separator: "\n").first ?? "") ?? -1
            defer { if pid > 0 { kill(pid, SIGKILL) } }
            for _ in 0..<100 {
                if (try? HTTPClient.send("GET", HTTPURL("http://127.0.0.1:\(tokenPort)/token")!)) != nil { break }
                usleep(50_000)
            }
            trust(certs, registry.address, pki)
            let a = tls + "/a", b = tls + "/b"
            store(a, certs: certs)
            store(b, certs: certs)
            importBusybox(a)
            let name = "\(registry.address)/team/bb:v1"
            #expect(berth(a, "tag", "busybox", name).status == 0)

            let wrong = berth(a, "login", "-u", "alice", "--password-stdin", registry.address, stdin: "nope\n")
            expectOneErrorLine(wrong, naming: ["login to \(registry.address) failed", "bad credentials"])
            let login = berth(a, "login", "-u", "alice", "--password-stdin", registry.address, stdin: "s3cret\n")
            #expect(login.status == 0 && login.stdout == "Login Succeeded\n", "\(login.stdout) \(login.stderr)")
            let pushed = berth(a, "push", name)
            #expect(pushed.status == 0 && pushed.stdout.contains(": Pushed"), "\(pushed.stdout) \(pushed.stderr)")
            // Another repository: the token also allows pulling from team/bb, so the layer is mounted.
            let other = "\(registry.address)/other/bb:v1"
            #expect(berth(a, "tag", "busybox", other).status == 0)
            let mounted = berth(a, "push", other)
            #expect(
                mounted.status == 0 && mounted.stdout.contains(": Mounted from team/bb\n"), "\(mounted.stdout) \(mounted.stderr)")
            let pulled = berth(b, "pull", name)
            #expect(
                pulled.status == 0 && pulled.stdout.contains("Pull complete"), "anonymous pull: \(pulled.stdout) \(pulled.stderr)"
            )
            let refused = berth(b, "push", name)
            expectOneErrorLine(refused, naming: ["registry \(registry.address)", "berth login \(registry.address)"])

            let log = readFile(dir + "/token.log")
            #expect(log.contains("token service=berth-test scope=repository:team/bb:pull,push auth=alice"), "\(log)")
            #expect(log.contains("token service=berth-test scope=repository:team/bb:pull auth=None"), "\(log)")
            #expect(
                log.contains("token service=berth-test scope=repository:other/bb:pull,push,repository:team/bb:pull auth=alice"),
                "\(log)")
            #expect(log.contains("token service=berth-test scope=repository:team/bb:pull,push auth=None"), "\(log)")
        }
    }

    @Test("podman pulls over TLS what Berth pushed, and Berth pulls over TLS what podman pushed")
    func podmanOverTLS() {
        guard IsolatedPodman.binary != nil else {
            Issue.record("podman is not installed; run 'make deps'")
            return
        }
        withTLSRegistry { dir, pki, certs, registry in
            trust(certs, registry.address, pki)
            let a = dir + "/a", b = dir + "/b"
            store(a, certs: certs)
            store(b, certs: certs)
            let ids = makeTwoLayerStore(a)
            let name = "\(registry.address)/team/two:v1"
            #expect(berth(a, "tag", "two:layers", name).status == 0)
            #expect(berth(a, "push", name).status == 0)

            let podman = IsolatedPodman(dir + "/podman")
            defer { podman.run("rm", "-af"); podman.run("rmi", "-af") }
            let hostCerts = certs + "/" + registry.address
            let pulled = podman.run("pull", "--cert-dir", hostCerts, name)
            #expect(pulled.status == 0, "podman pull: \(pulled.stderr)")
            let ran = podman.run("run", "--rm", "--network", "none", name, "cat", "/added")
            #expect(ran.stdout == "made\n", "podman run: \(ran.stdout) \(ran.stderr)")
            let untrusted = podman.run("pull", "--cert-dir", dir + "/pki-none", "\(registry.address)/team/two:v1")
            #expect(untrusted.status != 0, "podman, too, refuses the certificate without the CA")

            let back = "\(registry.address)/from/podman:v2"
            #expect(podman.run("tag", name, back).status == 0)
            let pushed = podman.run("push", "--cert-dir", hostCerts, back)
            #expect(pushed.status == 0, "podman push: \(pushed.stderr)")
            let again = berth(b, "pull", back)
            #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
            let two = berth(
                b, "run", "--rm", "--network", "none", back, "sh", "-c", "cat /added; test -e /bin/vi || echo vi-gone")
            #expect(two.stdout == "made\nvi-gone\n", "\(two.stderr)")
            #expect(inspect(b, "{{.Id}}", back).hasPrefix("sha256:") && !ids.two.isEmpty)
        }
    }
}
