import Testing
import BerthEngine

/// Numbers and text from users and from records written by someone else:
/// every conversion is checked or clamped, never a trap.
@Suite("hostile values")
struct HostileValueTests {
    @Test("JSON numbers beyond Int64 read back clamped, and Int64.max prints as itself")
    func jsonClamping() throws {
        let doc = try JSONParser.parse(#"{"big": 1e300, "small": -1e300, "max": 9223372036854775807, "frac": 2.9, "neg": -7}"#)
        #expect(doc["big"]?.int64Value == Int64.max)
        #expect(doc["small"]?.int64Value == Int64.min)
        #expect(doc["max"]?.int64Value == Int64.max)
        #expect(doc["frac"]?.intValue == 2)
        #expect(doc["big"]?.int32Value == Int32.max && doc["small"]?.int32Value == Int32.min)
        #expect(doc["neg"]?.uint64Value == 0 && doc["big"]?.uint64Value == UInt64.max)
        #expect(JSON.int(Int64.max).compact == "9223372036854775807")
        #expect(JSON.int(Int64.min).compact == "-9223372036854775808")
        #expect(JSON.number(1e300).compact != "", "1e300 still prints")
    }

    @Test("a JSON number beyond a double is an error, never an infinity written back as invalid JSON")
    func jsonInfinity() {
        #expect(throws: BerthError.self) { try JSONParser.parse(#"{"a": 1e999}"#) }
        #expect(throws: BerthError.self) { try JSONParser.parse("-1e400") }
        #expect((try? JSONParser.parse("1e308")) != nil)
    }

    @Test("JSON integers read on the fast path equal what Double reads; literals are exact")
    func jsonNumbersAndLiterals() throws {
        let texts = [
            "0", "-0", "7", "-7", "01", "123456789012345", "-123456789012345", "1234567890123456",
            "99999999999999999999", "1.5", "-2E-2", "1e3", "+5",
        ]
        let doc = try JSONParser.parse("[" + texts.joined(separator: ",") + "]")
        guard case .array(let items) = doc else { Issue.record("not an array: \(doc)"); return }
        for (text, item) in zip(texts, items) {
            guard case .number(let n) = item, let expected = Double(text) else {
                Issue.record("\(text) read as \(item)")
                continue
            }
            #expect(n == expected && n.sign == expected.sign, "\(text): \(n) against \(expected)")
        }
        #expect(try JSONParser.parse("[true,false,null]") == .array([.bool(true), .bool(false), .null]))
        for bad in ["tru", "[nul]", "falsy", "nulll", "-", "[1-]", "truefalse"] {
            #expect(throws: BerthError.self, "\(bad)") { try JSONParser.parse(bad) }
        }
    }

    @Test("JSON nested deeper than 512 levels is an error, not a stack overflow")
    func jsonDepth() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: BerthError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect((try? JSONParser.parse(fine)) != nil)
    }

    @Test("sizes parse as Docker's RAMInBytes and refuse more than 8 EiB")
    func sizes() throws {
        #expect(try Resources.bytes("512m", flag: "memory") == 512 << 20)
        #expect(try Resources.bytes("1.5g", flag: "memory") == 3 << 29)
        #expect(try Resources.bytes("9223372036854775807", flag: "memory") == Int64.max)
        #expect(try Resources.bytes("-1", flag: "memory-swap") == -1)
        for bad in ["99999999999g", "1e300k", "infm", "nanb", "-5m", "", "m", "12q"] {
            #expect(throws: BerthError.self, "\(bad)") { try Resources.bytes(bad, flag: "memory") }
        }
    }

    @Test("--cpus is exact, finite and in range")
    func cpus() throws {
        #expect(try Resources.nanoCPUs("0.5") == 500_000_000)
        #expect(try Resources.nanoCPUs("1") == 1_000_000_000)
        for bad in ["inf", "-inf", "nan", "1e300", "abc", "0x10", "1.0000000001"] {
            #expect(throws: BerthError.self, "\(bad)") { try Resources.nanoCPUs(bad) }
        }
        for out in ["1e-9", "0.001", "1e9", "0", "100e-11"] {
            #expect(throws: BerthError.self, "\(out)") {
                var r = Resources()
                r.nanoCpus = try Resources.nanoCPUs(out)
                try r.validate()
            }
        }
        #expect(try Resources.nanoCPUs("25e-2") == 250_000_000)
        #expect(try Resources.nanoCPUs("100e-11") == 1)
        var r = Resources()
        r.nanoCpus = 500_000_000
        try r.validate()
    }

    @Test("shares, pids and CPU lists are checked against what the kernel takes")
    func limits() throws {
        var r = Resources()
        r.cpuShares = -5
        #expect(throws: BerthError.self) { try r.validate() }
        r.cpuShares = Int64.max
        try r.validate()
        r = Resources()
        r.pidsLimit = Int64.max
        #expect(throws: BerthError.self) { try r.validate() }
        r.pidsLimit = -1
        try r.validate()
        r = Resources()
        r.cpusetCpus = "99999"
        #expect(throws: BerthError.self) { try r.validate() }
        r.cpusetCpus = "0"
        try r.validate()
        #expect(HostCPUs.parseList("0-3,5") == [0, 1, 2, 3, 5])
        for bad in ["", "3-1", "0-99999999999999999999", "a", "1,,2", "-1", "0-70000"] {
            #expect(HostCPUs.parseList(bad) == nil, "\(bad)")
        }
    }

    @Test("mounts on /, on /proc or inside /proc are refused")
    func procMounts() throws {
        for bad in ["/tmp:/", "/tmp:/proc", "/tmp:/proc/", "/tmp://proc", "/tmp:/proc/sys", "/proc"] {
            #expect(throws: BerthError.self, "\(bad)") { try MountSpec.parseVolume(bad) }
        }
        #expect(throws: BerthError.self) { try MountSpec.parseTmpfs("/proc") }
        #expect(throws: BerthError.self) { try MountSpec.parseMount("type=bind,source=/tmp,target=/proc/1") }
        _ = try MountSpec.parseVolume("/tmp:/proc/cpuinfo:ro")
        _ = try MountSpec.parseVolume("/tmp:/procs")
    }

    @Test("container names: Docker's characters, at most 253")
    func names() throws {
        try ContainerNames.validate(String(repeating: "a", count: 253))
        #expect(throws: BerthError.self) { try ContainerNames.validate(String(repeating: "a", count: 254)) }
        let long = #expect(throws: BerthError.self) { try ContainerNames.validate(String(repeating: "b", count: 10_000)) }
        #expect((long?.message.count ?? .max) < 300, "the message does not repeat the whole name")
        #expect(long?.message.contains("10000 characters") == true, "it says how long the name was")
    }
}
