import Testing
import BerthCore
@testable import BerthEngine

/// The parsers behind the label, host, DNS and mount-mode `run` flags, on their edge cases (the
/// integration tests show their effects in containers).
@Suite("label, --add-host, --dns-search and -v mode parsing")
struct RunFlagParsingTests {
    private func error(_ body: () throws -> Void) -> String {
        do { try body() } catch { return (error as? BerthError)?.message ?? "\(error)" }
        return ""
    }

    @Test("--dns-search takes Docker's domains: a letter somewhere, word labels with inner dashes, an optional final dot")
    func domains() {
        for good in ["example.com", "a", ".", "a.b.", "x_y.example", "a-b.c1"] {
            #expect(NetworkOptions.isDomain(good), "\(good)")
        }
        for bad in ["-a", "a-", "a..b", "1.2", "", "a b", "..", String(repeating: "a", count: 255)] {
            #expect(!NetworkOptions.isDomain(bad), "\(bad)")
        }
    }

    @Test("--add-host: HOST:IP with IPv4, IPv6 or host-gateway; Docker's messages, values quoted as Go's %q")
    func addHost() {
        var o = NetworkOptions()
        o.extraHosts = ["a:1.2.3.4", "b:::1", "c:host-gateway"]
        #expect(error { try o.validate() }.isEmpty)
        #expect(o.hostLines(gateway: IPv4("10.0.0.1")) == "1.2.3.4\ta\n::1\tb\n10.0.0.1\tc\n")
        o.extraHosts = ["a\tb:1.2.3.4"]
        #expect(
            error { try o.validate() }
                == #"invalid argument "a\tb:1.2.3.4" for "--add-host" flag: bad format for add-host: "a\tb:1.2.3.4""#)
        o.extraHosts = ["a:1.2.3"]
        #expect(error { try o.validate() }.hasSuffix(#"invalid IP address in add-host: "1.2.3""#))
    }

    @Test("labels: a bare KEY is empty, the container's win over the image's, sorted by key; label files as env files")
    func labels() throws {
        let flags = try ContainerLabels.parse(["b=2", "a", "c=x=y"])
        #expect(flags.map { "\($0.0)=\($0.1)" } == ["b=2", "a=", "c=x=y"])
        let merged = ContainerLabels.merge(image: [("b", "image"), ("z", "1")], container: flags)
        #expect(ContainerLabels.joined(merged) == "a=,b=2,c=x=y,z=1")
        let file = try ContainerLabels.parseFile("\u{FEFF}# c\n\n  k=v w\r\nbare\n", path: "f")
        #expect(file.map { "\($0.0)=\($0.1)" } == ["k=v w", "bare="])
        #expect(error { _ = try ContainerLabels.parseFile("ok=1\nbad key=2\n", path: "f") }.contains("line 2"))
        #expect(error { _ = try ContainerLabels.parse(["=v\nx"]) }.contains(#""=v\nx""#), "one line, however hostile")
    }

    @Test("-v modes: ro/rw and z/Z, comma-separated, at most one of each kind")
    func volumeModes() throws {
        try #require(!SELinux.isEnabled)
        let z = try MountSpec.parseVolume("/src:/dst:ro,z")
        #expect(z.readonly && z.relabel == "z" && z.kind == .bind)
        let anonymous = try MountSpec.parseVolume("/dst:Z")
        #expect(anonymous.kind == .volume && anonymous.target == "/dst" && anonymous.relabel == "Z" && !anonymous.readonly)
        #expect(try MountSpec.parseVolume("name:/dst:rw").relabel.isEmpty)
        for bad in ["/s:/d:zz", "/s:/d:z,Z", "/s:/d:ro,rw", "/s:/d:ro,"] {
            #expect(error { _ = try MountSpec.parseVolume(bad) }.hasPrefix("invalid mode"), "\(bad)")
        }
    }
}
