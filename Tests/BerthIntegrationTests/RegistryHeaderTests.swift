import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// A hostile registry and token server on loopback (a python script) try to
/// make Berth send forged HTTP headers: a token with CR LF in it, a realm
/// with a bare CR. Berth refuses with one line and the server never sees the
/// forged header.
@Suite("registry: CR/LF in tokens and challenges never becomes a header", .serialized)
struct RegistryHeaderTests {
    /// `python3 hostile.py PORT MODE`: every /v2/ request without a Bearer
    /// token gets a 401 challenge; `/token` answers a token. MODE `token`:
    /// the token holds CR LF and a header line; `realm`: the realm holds
    /// bare CRs. Every request's headers are logged to stderr.
    static let hostileServer = #"""
        import http.server, sys, socketserver, json
        port, mode = int(sys.argv[1]), sys.argv[2]
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def raw(self, status, headers, body):
                out = "HTTP/1.1 %d X\r\n" % status
                for k, v in headers: out += "%s: %s\r\n" % (k, v)
                out += "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
                self.wfile.write(out.encode() + body); self.wfile.flush()
                self.close_connection = True
            def do_GET(self):
                sys.stderr.write("%s %s\n%s\n" % (self.command, self.path, self.headers)); sys.stderr.flush()
                if self.path.startswith("/token"):
                    body = json.dumps({"token": "abc\r\nX-Injected: yes"}).encode()
                    return self.raw(200, [("Content-Type", "application/json")], body)
                realm = "http://127.0.0.1:%d/token" % port
                if mode == "realm": realm += "\rX-Injected: yes"
                self.raw(401, [("WWW-Authenticate", 'Bearer realm="%s",service="hostile"' % realm)], b"{}")
            do_HEAD = do_GET
        socketserver.TCPServer.allow_reuse_address = True
        http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
        """#

    private func withHostileServer(_ mode: String, _ body: (_ root: String, _ address: String, _ log: String) -> Void) {
        let dir = makeTempDirectory("hostile")
        defer { removeTree(dir) }
        writeFile(dir + "/hostile.py", Self.hostileServer)
        let port = freePort()
        let started = sh("nohup python3 \(dir)/hostile.py \(port) \(mode) >\(dir)/log 2>&1 </dev/null & echo $!")
        let pid = Int32(started.stdout.split(separator: "\n").first ?? "") ?? -1
        defer { if pid > 0 { kill(pid, SIGKILL) } }
        for _ in 0..<100 {
            if (try? HTTPClient.send("GET", HTTPURL("http://127.0.0.1:\(port)/probe")!)) != nil { break }
            usleep(50_000)
        }
        body(dir + "/store", "127.0.0.1:\(port)", dir + "/log")
    }

    @Test("a token server's token with CR LF is refused in one line; the registry never gets the forged header")
    func tokenWithLineBreak() {
        withHostileServer("token") { root, address, log in
            let pulled = berth(root, "pull", "\(address)/library/busybox:latest")
            expectOneErrorLine(pulled, naming: ["token server of \(address)", "control character (CR, LF)", "refusing"])
            let seen = readFile(log)
            #expect(seen.contains("GET /token"), "the token was asked for: \(seen)")
            #expect(!seen.lowercased().contains("x-injected"), "\(seen)")
        }
    }

    @Test("a WWW-Authenticate realm with a bare CR is refused in one line, never fetched")
    func realmWithCarriageReturn() {
        withHostileServer("realm") { root, address, log in
            let pulled = berth(root, "pull", "\(address)/library/busybox:latest")
            expectOneErrorLine(pulled, naming: ["asked for a token without a usable realm"])
            #expect(!pulled.stderr.contains("\r"), "no raw CR reaches the terminal")
            let seen = readFile(log)
            #expect(!seen.contains("GET /token"), "\(seen)")
            #expect(!seen.lowercased().contains("x-injected"), "\(seen)")
        }
    }

    @Test("HTTPClient refuses a header value or URL holding CR, LF or NUL before anything is sent")
    func clientRefuses() {
        let url = HTTPURL("http://127.0.0.1:9/v2/")!
        for value in ["Bearer a\r\nX-Injected: 1", "a\nb", "a\rb", "a\u{0}b"] {
            do {
                _ = try HTTPClient.send("GET", url, headers: [("Authorization", value)])
                Issue.record("sent \(value.debugDescription)")
            } catch {
                #expect(error.message.contains("refusing to send the \"Authorization\" header"), "\(error.message)")
            }
        }
        let bad = HTTPURL(scheme: "http", authority: "127.0.0.1:9", target: "/v2/\r\nX-Injected: 1")
        #expect(throws: BerthError.self) { try HTTPClient.send("GET", bad) }
    }
}
