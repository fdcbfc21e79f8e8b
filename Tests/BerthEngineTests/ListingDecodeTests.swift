import Testing
import BerthCore
#if canImport(Glibc)
import Glibc
#endif
@testable import BerthEngine

/// `ps` decodes only part of each record (`ContainerStore.View.listing`):
/// what it builds must equal the whole decode's, what it passes over must
/// still be checked as JSON, and a partial record must never be written back.
@Suite("listing decode: the selected members of a record")
struct ListingDecodeTests {
    static let selection = JSONSelection([
        ("a", nil), ("o", JSONSelection([("keep", nil), ("k\"q", nil)])), ("n", JSONSelection([("x", nil)])),
    ])

    @Test("selected members equal the whole parse's; the others are absent; a non-object is built whole")
    func selected() throws {
        let text = #"""
            {"skip": {"deep": [1, 2.5e3, "s\"\\", {"x": null}], "t": true}, "a": [1, "two", false],
             "o": {"drop": "x\u00e9", "keep": {"z": 1}, "k\"q": "escaped key", "also": [[]]},
             "n": 7, "tail": "end"}
            """#
        let whole = try JSONParser.parse(text)
        let part = try JSONParser.parse(Array(text.utf8), selecting: Self.selection)
        #expect(part["a"] == whole["a"])
        #expect(part["o"]?["keep"] == whole["o"]?["keep"])
        #expect(part["o"]?["k\"q"]?.stringValue == "escaped key")
        #expect(part["o"]?["drop"] == nil && part["o"]?["also"] == nil)
        #expect(part["skip"] == nil && part["tail"] == nil)
        #expect(part["n"] == .number(7), "a selection on a number keeps the number")
        // A selection with everything is the whole parse.
        let everything = JSONSelection([("skip", nil), ("a", nil), ("o", nil), ("n", nil), ("tail", nil)])
        #expect(try JSONParser.parse(Array(text.utf8), selecting: everything) == whole)
    }

    @Test("damage in a passed-over member still fails the parse, with the same checks as a whole parse")
    func damageInSkipped() {
        let bad = [
            #"{"skip": [1, 2,], "a": 1}"#,
            #"{"skip": {"x" 1}, "a": 1}"#,
            #"{"skip": "unterminated, "a": 1"#,
            #"{"skip": "\u12G4", "a": 1}"#,
            #"{"skip": tru, "a": 1}"#,
            #"{"skip": 1e999, "a": 1}"#,
            #"{"a": 1} trailing"#,
            "{\"skip\": " + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}",
        ]
        for text in bad {
            var failed = false
            do { _ = try JSONParser.parse(Array(text.utf8), selecting: Self.selection) } catch { failed = true }
            var wholeFailed = false
            do { _ = try JSONParser.parse(text) } catch { wholeFailed = true }
            #expect(failed && wholeFailed, "\(text.prefix(40))")
        }
    }

    @Test("a record read for a listing shows what ps shows, and is never saved")
    func containerRecord() throws {
        var c = Container(
            id: String(repeating: "cd", count: 32), name: "web", image: "sha256:2", imageName: "nginx:1",
            command: ["nginx", "-g", "daemon off;"], env: ["A=1", "SECRET=x"], workingDir: "/srv", user: "1:2",
            hostname: "h", tty: true, openStdin: true, autoRemove: false, isolation: "namespaces", storage: "overlay")
        c.networkMode = "none"
        c.labels = [("tier", "front")]
        c.exposedPorts = ["80/tcp"]
        c.mounts = [MountSpec(kind: .volume, source: "data", target: "/data")]
        c.state.setRunning(pid: 42, pidStartTime: 7, monitorPid: 41, monitorStartTime: 6)
        c.resources.memory = 1 << 30
        let text = Array((c.json.pretty(indent: 2) + "\n").utf8)
        let whole = try Container(json: try JSONParser.parse(text))
        let listed = try Container(json: try JSONParser.parse(text, selecting: Container.listingSelection))
        #expect(listed.id == whole.id && listed.name == whole.name && listed.created == whole.created)
        #expect(listed.image == whole.image && listed.imageName == whole.imageName && listed.command == whole.command)
        #expect(listed.storage == whole.storage && listed.networkMode == whole.networkMode)
        #expect(listed.labels.map(\.0) == ["tier"] && listed.exposedPorts == ["80/tcp"])
        #expect(listed.mounts.map(\.source) == ["data"] && listed.mounts.first?.kind == .volume)
        #expect(listed.state.status == .running && listed.state.pid == 42 && listed.state.monitorPid == 41)
        #expect(listed.state.startedAt == whole.state.startedAt && listed.cgroupPath == whole.cgroupPath)
        #expect(listed.env.isEmpty && listed.resources.memory == nil && whole.resources.memory == 1 << 30, "the rest is not read")

        // Through the store: `all(.listing)` marks it, and saving it is refused.
        let root = makeTempDirectory("listing")
        defer { removeTree(root) }
        let store = ContainerStore(layout: StoreLayout(root: root))
        try FileSystem.makeDirectories(store.layout.container(c.id))
        try FileSystem.writeAtomically(store.layout.containerRecord(c.id), text)
        let read = store.all(.listing)
        #expect(read.count == 1 && read[0].listingOnly && read[0].imageName == "nginx:1")
        #expect(throws: BerthError.self) { try store.save(read[0]) }
        #expect(throws: BerthError.self) { try store.saveWithoutSync(read[0]) }
        #expect(try FileSystem.read(store.layout.containerRecord(c.id)) == text, "the record is as it was")
        #expect(!store.all()[0].listingOnly)
    }

    @Test("RFC 3339 times read as timegm reads them, and malformed ones are refused")
    func rfc3339() {
        let times = [
            "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2000-02-29T12:00:00Z",
            "2024-02-31T01:02:03Z", "2026-12-02T15:46:03Z", "2038-01-19T03:14:08Z", "2100-03-01T00:00:00Z",
            "9999-12-31T23:59:60Z", "1600-03-01T00:00:00Z",
        ]
        for text in times {
            let b = Array(text.utf8).map { Int32($0) - 48 }
            var parts = tm()
            parts.tm_year = b[0] * 1000 + b[1] * 100 + b[2] * 10 + b[3] - 1900
            parts.tm_mon = b[5] * 10 + b[6] - 1
            parts.tm_mday = b[8] * 10 + b[9]
            parts.tm_hour = b[11] * 10 + b[12]
            parts.tm_min = b[14] * 10 + b[15]
            parts.tm_sec = b[17] * 10 + b[18]
            #expect(Timestamp(rfc3339: text)?.seconds == Int64(timegm(&parts)), "\(text)")
        }
        #expect(
            Timestamp(rfc3339: "2026-12-02T15:46:03.762459857Z") == Timestamp(seconds: 1_796_226_363, nanoseconds: 762_459_857))
        #expect(Timestamp(rfc3339: "2026-12-02T16:46:03.5+01:00") == Timestamp(seconds: 1_796_226_363, nanoseconds: 500_000_000))
        #expect(Timestamp(rfc3339: "2026-12-02T15:46:03Z")?.rfc3339 == "2026-12-02T15:46:03Z")
        for bad in [
            "2026-12-02T15:46:03", "2026-13-02T15:46:03Z", "2026-12-02T24:00:00Z", "+026-12-02T15:46:03Z",
            "2026-12-02X15:46:03Z", "20261202T154603Z00000", "2026-12-02T15:46:03Q", "",
        ] {
            #expect(Timestamp(rfc3339: bad) == nil, "\(bad)")
        }
    }

    @Test("table cells are padded by runes, as Go's tabwriter counts them")
    func tableRunes() {
        let out = Table.render(["A", "B"], [["héllo wörld 😀", "x"], ["", "y"], []])
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "A" + String(repeating: " ", count: 15) + "B", "13 runes + 3")
        #expect(lines[1] == "héllo wörld 😀   x")
        #expect(lines[2] == String(repeating: " ", count: 16) + "y")
        #expect(lines[3] == "" && lines.count == 5)
    }
}
