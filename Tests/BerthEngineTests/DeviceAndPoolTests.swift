import Testing
import BerthCore
@testable import BerthEngine

@Suite("--device parsing, device rules and address pools")
struct DeviceAndPoolTests {
    private func parsed(_ text: String) -> DeviceMapping? { try? DeviceMapping.parse(text) }

    private func error(_ text: String) -> String {
        do { _ = try DeviceMapping.parse(text) } catch { return error.message }
        return ""
    }

    @Test("--device takes Docker's three forms; the middle word is permissions when it looks like them")
    func deviceForms() {
        #expect(
            parsed("/dev/loop0")
                == DeviceMapping(pathOnHost: "/dev/loop0", pathInContainer: "/dev/loop0", cgroupPermissions: "rwm"))
        #expect(
            parsed("/dev/loop0:/dev/x")
                == DeviceMapping(pathOnHost: "/dev/loop0", pathInContainer: "/dev/x", cgroupPermissions: "rwm"))
        #expect(
            parsed("/dev/loop0:r")
                == DeviceMapping(pathOnHost: "/dev/loop0", pathInContainer: "/dev/loop0", cgroupPermissions: "r"))
        #expect(
            parsed("/dev/loop0:/dev//a/../x:mw")
                == DeviceMapping(pathOnHost: "/dev/loop0", pathInContainer: "/dev/x", cgroupPermissions: "mw"))
    }

    @Test("bad --device values get Docker's messages")
    func deviceErrors() {
        #expect(error("").contains("bad format for path: "))
        #expect(error(":/dev/x").contains("bad format for path: :/dev/x"))
        #expect(error("/a:/b:rw:x").contains("bad format for path"))
        #expect(error("/dev/loop0:/dev/x:rwx").contains("bad mode specified: rwx"))
        #expect(error("/dev/loop0:/dev/x:rr").contains("bad mode specified: rr"))
        #expect(error("/dev/loop0:dev/x").contains("dev/x is not an absolute path"))
        #expect(error("/dev/loop0:/dev/x").isEmpty)
        #expect(error("/dev/loop0:/" + String(repeating: "a", count: 5000)).contains("path too long"))
    }

    @Test("the default rules are Docker's, and a --device node adds one allow rule")
    func rules() {
        let texts = DeviceRule.dockerDefaults.map(\.text)
        #expect(texts.first == "a" && !DeviceRule.dockerDefaults[0].allow)
        #expect(
            texts.dropFirst() == [
                "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
            ])
        let node = DeviceNode(path: "/dev/x", type: "b", major: 7, minor: 3, fileMode: 0o660, uid: 0, gid: 6, permissions: "r")
        #expect(DeviceRule.forContainer([node]).last?.text == "b 7:3 r")
        #expect(DeviceRule.dockerDefaults[0].ociJSON.compact == #"{"allow":false,"access":"rwm"}"#)
        #expect(DeviceRule("c", 136, nil, "rwm").ociJSON.compact == #"{"allow":true,"type":"c","major":136,"access":"rwm"}"#)
    }

    @Test("a pool hands out the first subnet no taken one overlaps; Docker's pools start at 172.17.0.0/16")
    func pools() {
        let pool = AddressPool(base: Subnet("10.235.1.0/24")!, size: 26)
        #expect(pool.firstFree([])?.description == "10.235.1.0/26")
        #expect(pool.firstFree([Subnet(base: IPv4("10.235.1.1")!, prefix: 32)])?.description == "10.235.1.64/26")
        #expect(pool.firstFree([Subnet("10.235.0.0/16")!]) == nil)
        #expect(
            pool.firstFree([Subnet("10.235.1.0/25")!, Subnet(base: IPv4("10.235.1.200")!, prefix: 29)])?.description
                == "10.235.1.128/26")
        #expect(
            AddressPool(base: Subnet("10.0.0.0/24")!, size: 16).firstFree([]) == nil, "a size wider than the base gives nothing")
        #expect(AddressPool.dockerDefaults.first?.description == "172.17.0.0/16/16")
        #expect(AddressPool.dockerDefaults.count == 16 && AddressPool.dockerDefaults.last?.description == "192.168.0.0/16/20")
        #expect(
            AddressPool.dockerDefaults.compactMap { $0.firstFree([Subnet("172.16.0.0/12")!]) }.first?.description
                == "192.168.0.0/20")
    }
}
