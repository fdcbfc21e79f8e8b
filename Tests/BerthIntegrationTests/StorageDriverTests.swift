import Testing
import BerthCore
import StorageOverlay
import StorageCopy
#if canImport(Glibc)
import Glibc
#endif

/// Real mounts and real copies, as root: what each storage driver promises a
/// container (its writes stay its own, the image is never touched) and what
/// removal leaves behind (nothing).
@Suite("Storage drivers", .enabled(if: isRoot, "needs root for mount(2) and chown"))
struct StorageDriverTests {
    /// A store-like directory with two hand-made layers: the lower has
    /// /etc/motd and /bin/tool; the upper deletes /bin/tool (a whiteout) and
    /// adds /etc/extra.
    struct Fixture {
        let dir: String
        let layers: [LayerDirectory]
        let env: StorageEnvironment

        init() {
            dir = makeTempDirectory("driver")
            let lower = dir + "/layers/l1", upper = dir + "/layers/l2"
            sh(
                "mkdir -p \(lower)/etc \(lower)/bin \(upper)/etc \(upper)/bin \(dir)/storage"
                    + " && echo image > \(lower)/etc/motd && echo tool > \(lower)/bin/tool"
                    + " && chmod 4755 \(lower)/bin/tool && chown 7:8 \(lower)/etc/motd"
                    + " && mknod \(upper)/bin/tool c 0 0 && echo extra > \(upper)/etc/extra")
            layers = [
                LayerDirectory(digest: "sha256:" + String(repeating: "a", count: 64), path: lower),
                LayerDirectory(digest: "sha256:" + String(repeating: "b", count: 64), path: upper),
            ]
            env = StorageEnvironment(storeRoot: dir, driverDirectory: dir + "/storage")
        }

        func container(_ name: String) -> String {
            let path = dir + "/containers/" + name
            sh("mkdir -p \(path)")
            return path
        }
    }

    static let drivers: [@Sendable (StorageEnvironment) -> any StorageDriver] = [
        { OverlayDriver(environment: $0) }, { CopyDriver(environment: $0) },
    ]

    @Test(
        "a write in a container root lands only in that container; the image layers are untouched",
        arguments: [0, 1])
    func writesStayInTheContainer(_ which: Int) throws {
        let fx = Fixture()
        defer { removeTree(fx.dir) }
        let driver = Self.drivers[which](fx.env)
        let c1 = fx.container("c1"), c2 = fx.container("c2")
        try driver.create(containerDirectory: c1, layers: fx.layers)
        try driver.create(containerDirectory: c2, layers: fx.layers)
        let root1 = try driver.mount(containerDirectory: c1, layers: fx.layers)
        let root2 = try driver.mount(containerDirectory: c2, layers: fx.layers)
        defer { try? driver.remove(containerDirectory: c1); try? driver.remove(containerDirectory: c2) }

        #expect(readFile(root1 + "/etc/motd") == "image\n")
        #expect(readFile(root1 + "/etc/extra") == "extra\n")
        #expect(!fileExists(root1 + "/bin/tool"), "the upper layer's whiteout hides /bin/tool")
        #expect(sh("stat -c %u:%g \(root1)/etc/motd").stdout == "7:8\n")

        writeFile(root1 + "/etc/motd", "changed by c1\n")
        writeFile(root1 + "/new-file", "only in c1\n")
        #expect(readFile(root1 + "/etc/motd") == "changed by c1\n")
        #expect(readFile(fx.layers[0].path + "/etc/motd") == "image\n", "the image layer is untouched")
        #expect(!fileExists(fx.layers[0].path + "/new-file") && !fileExists(fx.layers[1].path + "/new-file"))
        #expect(readFile(root2 + "/etc/motd") == "image\n", "a second root from the same image is independent")
        #expect(!fileExists(root2 + "/new-file"))
        if let upper = driver.writableLayer(containerDirectory: c1) {
            #expect(readFile(upper + "/new-file") == "only in c1\n", "overlay: the write is in c1's upper dir")
        }
        #expect(driver.size(containerDirectory: c1) > 0)
    }

    @Test("removal leaves no mount and no directory behind", arguments: [0, 1])
    func removeLeavesNothing(_ which: Int) throws {
        let fx = Fixture()
        defer { removeTree(fx.dir) }
        let driver = Self.drivers[which](fx.env)
        let c1 = fx.container("c1")
        try driver.create(containerDirectory: c1, layers: fx.layers)
        let root = try driver.mount(containerDirectory: c1, layers: fx.layers)
        #expect(driver.isMounted(containerDirectory: c1))
        #expect(try driver.mount(containerDirectory: c1, layers: fx.layers) == root, "mount is idempotent")
        try driver.remove(containerDirectory: c1)
        #expect(mounts(under: c1).isEmpty)
        #expect(FileSystem.list(c1).isEmpty, "driver files left: \(FileSystem.list(c1))")
        #expect(readFile(fx.layers[0].path + "/etc/motd") == "image\n")
    }

    @Test("removing a tree never empties a mount inside it: a bind of the same filesystem, or a tmpfs")
    func removeTreeStopsAtMounts() {
        let dir = makeTempDirectory("rmtree")
        let host = makeTempDirectory("rmtree-host")
        defer {
            _ = umount2(dir + "/a/bind", Int32(MNT_DETACH)); _ = umount2(dir + "/a/tmp", Int32(MNT_DETACH))
            removeTree(dir); removeTree(host)
        }
        writeFile(host + "/precious", "keep me\n")
        for d in ["/a/bind", "/a/tmp"] { _ = try? FileSystem.makeDirectories(dir + d) }
        writeFile(dir + "/a/plain", "goes\n")
        #expect(mount(host, dir + "/a/bind", nil, UInt(MS_BIND), nil) == 0)  // same filesystem: st_dev alike
        #expect(mount("tmpfs", dir + "/a/tmp", "tmpfs", 0, nil) == 0)
        writeFile(dir + "/a/tmp/inside", "keep me too\n")
        var failure: BerthError?
        do { try FileSystem.removeTree(dir + "/a") } catch { failure = error }
        #expect(failure?.message.contains("EBUSY") == true, "refused: \(String(describing: failure))")
        #expect(readFile(host + "/precious") == "keep me\n", "the bound directory was not emptied")
        #expect(readFile(dir + "/a/tmp/inside") == "keep me too\n", "the tmpfs was not emptied")
    }

    @Test("system reset stops before deleting anything while something is still mounted in the store")
    func resetRefusesMounts() {
        let root = makeTempDirectory("reset")
        let host = makeTempDirectory("reset-host")
        defer { _ = umount2(root + "/volumes/v/_data", Int32(MNT_DETACH)); removeTree(root); removeTree(host) }
        importBusybox(root)
        writeFile(host + "/precious", "keep me\n")
        _ = try? FileSystem.makeDirectories(root + "/volumes/v/_data")
        #expect(mount(host, root + "/volumes/v/_data", nil, UInt(MS_BIND), nil) == 0)
        let reset = berth(root, "system", "reset", "--force")
        expectOneErrorLine(reset, naming: ["still mounted", "/volumes/v/_data", "umount"])
        #expect(readFile(host + "/precious") == "keep me\n")
        #expect(!berth(root, "images", "-q").stdout.isEmpty, "nothing was deleted")
    }

    @Test("overlay keeps copy-on-write: the container layer holds only what changed")
    func overlayCopiesNothingUpFront() throws {
        let fx = Fixture()
        defer { removeTree(fx.dir) }
        let driver = OverlayDriver(environment: fx.env)
        let c1 = fx.container("c1")
        try driver.create(containerDirectory: c1, layers: fx.layers)
        _ = try driver.mount(containerDirectory: c1, layers: fx.layers)
        defer { try? driver.remove(containerDirectory: c1) }
        #expect(driver.size(containerDirectory: c1) == 0, "a fresh overlay container costs no file bytes")
        #expect(CopyDriver(environment: fx.env).size(containerDirectory: c1) == 0)
    }

    @Test("overlay mounts an image with more layers than one page of mount options holds")
    func overlayManyLayers() throws {
        let fx = Fixture()
        defer { removeTree(fx.dir) }
        var layers: [LayerDirectory] = []
        for i in 0..<120 {
            let path = fx.dir + "/layers/many-layer-directory-with-a-long-name-\(i)/diff"
            sh("mkdir -p \(path) && echo \(i) > \(path)/file-\(i) && echo \(i) > \(path)/top")
            let hex = String(1000 + i) + String(repeating: "0", count: 60)
            layers.append(LayerDirectory(digest: "sha256:" + hex, path: path))
        }
        let optionBytes = layers.map(\.path.utf8.count).reduce(0, +)
        #expect(optionBytes > 4096, "the fixture must exceed one page to test the fallback")
        let driver = OverlayDriver(environment: fx.env)
        let c1 = fx.container("c1")
        try driver.create(containerDirectory: c1, layers: layers)
        let root = try driver.mount(containerDirectory: c1, layers: layers)
        defer { try? driver.remove(containerDirectory: c1) }
        #expect(readFile(root + "/file-0") == "0\n")
        #expect(readFile(root + "/file-119") == "119\n")
        #expect(readFile(root + "/top") == "119\n", "the last layer is on top")
    }
}
