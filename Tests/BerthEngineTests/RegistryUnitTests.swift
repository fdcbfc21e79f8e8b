import Testing
import BerthEngine

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

    @Test("mirrors come first; loopback and listed registries are plain HTTP; auth keys drop schemes")
    func settings() {
        let json = try? JSONParser.parse(
            Array(#"{"mirrors":{"docker.io":["http://127.0.0.1:5000"]},"insecure":["reg.lan:5000"]}"#.utf8))
        let s = RegistrySettings(json: json)
        let endpoints = s.pullEndpoints(for: "docker.io")
        #expect(endpoints.map(\.base.description) == ["http://127.0.0.1:5000", "https://registry-1.docker.io/"])
        #expect(
            s.scheme(for: "reg.lan:5000") == "http" && s.scheme(for: "localhost:5000") == "http"
                && s.scheme(for: "quay.io") == "https")
        #expect(
            AuthStore.key("https://index.docker.io/v1/") == "docker.io"
                && AuthStore.key("http://127.0.0.1:5000/x") == "127.0.0.1:5000")
    }
}
