import Testing
import BerthCore
@testable import BerthEngine

@Suite("registry: references, base64, settings")
struct RegistryUnitTests {
    @Test("references parse as Docker's do")
    func references() throws {
        let bb = try RemoteReference(parsing: "busybox")
        #expect(bb.domain == "docker.io" && bb.path == "library/busybox" && bb.tag == "latest" && bb.digest == nil)
        #expect(bb.description == "busybox:latest" && bb.fullName == "docker.io/library/busybox")
        let team = try RemoteReference(parsing: "team/app:v2")
        #expect(team.domain == "docker.io" && team.path == "team/app" && team.familiarName == "team/app")
        let local = try RemoteReference(parsing: "127.0.0.1:5000/ns/app:v2")
        #expect(local.domain == "127.0.0.1:5000" && local.path == "ns/app" && local.tag == "v2")
        #expect(local.localTag?.description == "127.0.0.1:5000/ns/app:v2")
        let host = try RemoteReference(parsing: "localhost/app")
        #expect(host.domain == "localhost" && host.path == "app")
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let pinned = try RemoteReference(parsing: "busybox@" + digest)
        #expect(pinned.tag == nil && pinned.digest == digest && pinned.reference == digest && pinned.localTag == nil)
        let explicit = try RemoteReference(parsing: "docker.io/library/busybox:1.36")
        #expect(explicit.familiarName == "busybox" && explicit.tag == "1.36")
        #expect(throws: BerthError.self) { try RemoteReference(parsing: "Busybox") }
        #expect(throws: BerthError.self) { try RemoteReference(parsing: "busybox@sha256:abc") }
    }

    @Test("base64 round trips and matches known values")
    func base64() {
        #expect(Base64.encode("alice:secret") == "YWxpY2U6c2VjcmV0")
        #expect(Base64.encode("a") == "YQ==" && Base64.encode("ab") == "YWI=" && Base64.encode("") == "")
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.decode("!!") == nil)
    }

    @Test("mirrors come first; everything is HTTPS; loopback and listed registries may fall back to HTTP; auth keys drop schemes")
    func settings() {
        let json = try? JSONParser.parse(
            Array(#"{"mirrors":{"docker.io":["http://127.0.0.1:5000"]},"insecure":["reg.lan:5000"]}"#.utf8))
        let s = RegistrySettings(json: json)
        let endpoints = s.pullEndpoints(for: "docker.io")
        #expect(endpoints.map(\.base.description) == ["http://127.0.0.1:5000", "https://registry-1.docker.io/"])
        #expect(endpoints.last?.allowPlainHTTP == false && endpoints.last?.trust.unverified.isEmpty == true)
        #expect(s.allowsPlainHTTP("reg.lan:5000") && s.allowsPlainHTTP("localhost:5000") && !s.allowsPlainHTTP("quay.io"))
        #expect(s.isInsecure("reg.lan:5000") && !s.isInsecure("127.0.0.1:5000"), "loopback TLS is still verified")
        let lan = s.pushEndpoint(for: "reg.lan:5000")
        #expect(lan.base.description == "https://reg.lan:5000/" && lan.allowPlainHTTP && lan.trust.unverified == ["reg.lan:5000"])
        #expect(s.warning(for: "reg.lan:5000")?.contains("insecure-registries") == true)
        #expect(s.warning(for: "127.0.0.1:5000") == nil && s.warning(for: "quay.io") == nil)
        #expect(RegistrySettings().isInsecure("127.0.0.1:5000") == false)
        var strict = s
        strict.tlsVerify = true
        #expect(!strict.allowsPlainHTTP("reg.lan:5000") && !strict.allowsPlainHTTP("127.0.0.1:5000"))
        var loose = s
        loose.tlsVerify = false
        #expect(loose.isInsecure("quay.io") && loose.warning(for: "quay.io")?.contains("--tls-verify=false") == true)
        #expect(loose.pushEndpoint(for: "docker.io").trust.unverified == ["registry-1.docker.io"])
        #expect(
            AuthStore.key("https://index.docker.io/v1/") == "docker.io"
                && AuthStore.key("http://127.0.0.1:5000/x") == "127.0.0.1:5000")
    }

    @Test("Docker Hub: busybox is library/busybox:latest on registry-1.docker.io")
    func dockerHubNaming() throws {
        let ref = try RemoteReference(parsing: "busybox")
        #expect(ref.fullName == "docker.io/library/busybox" && ref.tag == "latest")
        let endpoint = RegistrySettings().pushEndpoint(for: ref.domain)
        #expect(endpoint.name == "docker.io")
        #expect(
            RegistryClient(endpoint: endpoint, repository: ref.path, credentials: nil, actions: "pull")
                .url("manifests/latest").description == "https://registry-1.docker.io/v2/library/busybox/manifests/latest")
        #expect(try RemoteReference(parsing: "index.docker.io/team/app").fullName == "docker.io/team/app")
    }

    @Test("HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read as Go reads them")
    func proxies() {
        let p = HTTPProxy(
            httpsProxy: "proxy.lan:3128", httpProxy: "http://plain:8080",
            noProxy: "internal.lan, .corp, 10.0.0.0/8,*.svc,reg.x:5000")
        func via(_ url: String) -> String? { p.proxy(for: HTTPURL(url)!) }
        #expect(via("https://quay.io/v2/") == "http://proxy.lan:3128")
        #expect(via("http://quay.io/v2/") == "http://plain:8080")
        #expect(via("https://127.0.0.1:5000/v2/") == nil && via("https://localhost/v2/") == nil, "loopback is never proxied")
        #expect(via("https://internal.lan/") == nil && via("https://a.internal.lan/") == nil)
        #expect(via("https://corp/") != nil && via("https://x.corp/") == nil, ".corp: subdomains only")
        #expect(via("https://10.1.2.3/") == nil && via("https://11.1.2.3/") != nil)
        #expect(via("https://a.svc/") == nil)
        #expect(via("https://reg.x:5000/") == nil && via("https://reg.x:5001/") != nil)
        #expect(HTTPProxy(httpsProxy: "p:1", noProxy: "*").proxy(for: HTTPURL("https://quay.io/")!) == nil)
        #expect(HTTPProxy().proxy(for: HTTPURL("https://quay.io/")!) == nil)
    }

    @Test("certs.d: *.crt join the system CAs, NAME.cert needs NAME.key, insecure hosts are not verified")
    func certsDirectories() throws {
        let root = makeTempDirectory("certs")
        defer { _ = try? FileSystem.removeTree(root) }
        let dir = root + "/reg.lan:5000"
        try FileSystem.makeDirectories(dir)
        try FileSystem.writeAtomically(dir + "/ca.crt", Array("-----BEGIN CERTIFICATE-----\nX\n".utf8))
        let trust = HTTPTrust(roots: [root, root + "/none"], unverified: ["other:1"])
        let tls = try trust.configuration(for: HTTPURL("https://reg.lan:5000/v2/")!)
        #expect(tls.verify && tls.clientCertificate == nil)
        #expect(
            String(decoding: tls.caPEM.map { UInt8(bitPattern: $0) }, as: UTF8.self).hasSuffix(
                "-----BEGIN CERTIFICATE-----\nX\n\n"))
        #expect(try trust.configuration(for: HTTPURL("https://reg.lan/v2/")!).caPEM.isEmpty, "the port is part of the name")
        #expect(try trust.configuration(for: HTTPURL("https://other:1/")!).verify == false)
        try FileSystem.writeAtomically(dir + "/client.cert", Array("c".utf8))
        #expect(throws: BerthError.self) { try trust.configuration(for: HTTPURL("https://reg.lan:5000/")!) }
        try FileSystem.writeAtomically(dir + "/client.key", Array("k".utf8))
        let client = try trust.configuration(for: HTTPURL("https://reg.lan:5000/")!)
        #expect(client.clientCertificate == dir + "/client.cert" && client.clientKey == dir + "/client.key")
    }

    @Test("WWW-Authenticate challenges parse into realm, service and scope")
    func challenges() {
        let (scheme, params) = RegistryClient.parseChallenge(
            #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#)
        #expect(scheme == "Bearer" && params["realm"] == "https://auth.docker.io/token")
        #expect(params["service"] == "registry.docker.io" && params["scope"] == "repository:library/busybox:pull")
    }
}
