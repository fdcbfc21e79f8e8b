import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

@Suite("bench and the overlay-versus-copy experiment", .enabled(if: isRoot, "needs root for containers"))
struct BenchTests {
    @Test("bench over namespaces/chroot × overlay/copy prints the table and writes CSV, JSON and SVG, leaving nothing behind")
    func matrix() throws {
        let root = makeTempDirectory("bench")
        defer { removeTree(root) }
        importBusybox(root)
        let out = root + "/out"
        sh("mkdir -p \(out)")
        let run = berth(
            root, "bench", "--isolation", "namespaces,chroot", "--storage", "overlay,copy", "-n", "2",
            "--csv", out + "/b.csv", "--json", out + "/b.json", "--svg", out + "/b.svg")
        #expect(run.status == 0, "bench: \(run.stderr)")
        let rows = lines(run.stdout)
        #expect(cells(rows[0]) == ["COMBINATION", "OPERATION", "N", "MEDIAN", "P95", "MIN", "MAX"])
        for combo in ["namespaces/overlay/busybox", "namespaces/copy/busybox", "chroot/overlay/busybox", "chroot/copy/busybox"] {
            for op in ["create", "start", "stop", "rm", "disk"] {
                #expect(rows.contains { cells($0).prefix(3) == [combo, op, "2"] }, "no row for \(combo) \(op)")
            }
        }
        #expect(rows.contains { cells($0).prefix(2) == ["namespaces/overlay/busybox", "exec"] })
        #expect(!rows.contains { cells($0).prefix(2) == ["chroot/overlay/busybox", "exec"] }, "chroot has no exec")
        let csv = readFile(out + "/b.csv")
        #expect(csv.hasPrefix("isolation,storage,image,operation,value,unit\n"))
        #expect(lines(csv).count == 1 + 2 * (4 * 5) + 2 * 2, "one line per sample")
        let json = try JSONParser.parse(readFile(out + "/b.json"))
        #expect(json.arrayValue?.count == 4 * 5 + 2)
        #expect(readFile(out + "/b.svg").contains("<svg") && readFile(out + "/b.svg").contains("chroot/copy/busybox"))
        // The point of the experiment: a copy container costs the image, an overlay one almost nothing.
        let disk = json.arrayValue!.filter {
            $0["operation"]?.stringValue == "disk" && $0["isolation"]?.stringValue == "namespaces"
        }
        let overlay = disk.first { $0["storage"]?.stringValue == "overlay" }?["median"]?.intValue ?? 0
        let copy = disk.first { $0["storage"]?.stringValue == "copy" }?["median"]?.intValue ?? 0
        #expect(copy > 1_500_000 && overlay < 200_000, "copy \(copy) B vs overlay \(overlay) B")
        #expect(berth(root, "ps", "-aq").stdout.isEmpty)
        #expect(mounts(under: root).isEmpty)
    }

    @Test("Ctrl-C stops bench and removes everything it made")
    func interrupt() {
        let root = makeTempDirectory("bench")
        defer { removeTree(root) }
        importBusybox(root)
        let pidFile = root + "/pid"
        let status = runProcess([
            "/bin/sh", "-c",
            "\(shellQuote(berthBinary)) --root \(shellQuote(root)) bench -n 1000 & echo $! > \(pidFile); sleep 1.5; kill -INT $!; wait $!",
        ]).status
        #expect(status == 130)
        #expect(berth(root, "ps", "-aq").stdout.isEmpty, "containers left after Ctrl-C")
        #expect(mounts(under: root).isEmpty)
    }
}
