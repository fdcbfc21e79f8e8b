import Testing
#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine

/// Extraction of real and hostile layer archives. Needs root: chown, mknod
/// and trusted.* xattrs.
@Suite("archive extraction", .enabled(if: isRoot))
struct ArchiveExtractionTests {
    private func lstatOf(_ path: String) -> stat? {
        var st = stat()
        return lstat(path, &st) == 0 ? st : nil
    }

    private func xattr(_ path: String, _ name: String) -> String {
        runProcess([
            "python3", "-c",
            "import os,sys; sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2], "
                + "follow_symlinks=False).decode())", path, name,
        ]).stdout
    }

    /// Builds an archive from entries with TarWriter and extracts it into
    /// `layer`; returns the error, if any.
    private func extract(
        _ entries: [(TarEntry, [UInt8])], into layer: String,
        whiteouts: Bool = false
    ) -> BerthError? {
        do {
            let sink = MemorySink()
            let writer = TarWriter(sink)
            for (entry, content) in entries { try writer.append(entry, content: content) }
            try writer.finish()
            _ = try LayerExtractor(convertWhiteouts: whiteouts).extract(
                from: MemorySource(sink.bytes), name: "evil.tar",
                into: layer)
            return nil
        } catch {
            return error
        }
    }

    private func file(_ path: String, _ text: String = "evil\n") -> (TarEntry, [UInt8]) {
        (TarEntry(path: path, kind: .regular), Array(text.utf8))
    }

    private func symlink(_ path: String, _ target: String) -> (TarEntry, [UInt8]) {
        (TarEntry(path: path, kind: .symbolicLink, mode: 0o777, linkTarget: target), [])
    }

    private func hardlink(_ path: String, _ target: String) -> (TarEntry, [UInt8]) {
        (TarEntry(path: path, kind: .hardLink, linkTarget: target), [])
    }

    /// A scratch directory holding an empty `layer` directory; escapes are
    /// looked for in the scratch directory around it.
    private func scratch(_ label: String) -> (base: String, layer: String) {
        let base = makeTempDirectory(label)
        mkdir(base + "/layer", 0o755)
        return (base, base + "/layer")
    }

    @Test("a GNU tar layer extracts with modes, owners, times, links, devices, fifos and xattrs intact")
    func realTree() throws {
        let (base, layer) = scratch("extract-real")
        defer { removeTree(base) }
        let src = base + "/src"
        let setup = """
            set -e; mkdir -p \(src)/dir/sub \(src)/sticky; cd \(src)
            printf 'odd\\n' > odd; chmod 0741 odd
            printf 'suid\\n' > suid; chown 1234:5678 suid; chmod 4755 suid
            printf 'sgid\\n' > sgid; chmod 2711 sgid
            chmod 1777 sticky; chmod 2750 dir; chown 1234:5678 dir
            ln -s odd rel; ln -s /etc/passwd abs; chown -h 1234:5678 abs
            printf 'pair\\n' > dir/hl1; ln dir/hl1 hl2
            mkfifo fifo; chmod 0620 fifo; mknod null c 1 3; chmod 0666 null
            printf 'x\\n' > dir/sub/attrs
            python3 -c "import os; os.setxattr('dir/sub/attrs', 'user.x', b'hello')"
            touch -h -d '2001-02-03 04:05:06' rel abs odd suid null fifo dir/hl1
            touch -d '2011-12-13 14:15:16' dir/sub dir sticky
            tar --numeric-owner --format=posix --xattrs --xattrs-include='user.*' -C \(src) -cf \(base)/layer.tar .
            gzip -k \(base)/layer.tar
            """
        #expect(sh(setup).status == 0, "\(sh(setup).stderr)")
        let summary = try LayerExtractor().extract(archive: base + "/layer.tar", into: layer)

        let names = [
            "odd", "suid", "sgid", "sticky", "dir", "dir/sub", "rel", "abs", "dir/hl1", "hl2", "fifo", "null",
            "dir/sub/attrs",
        ]
        for name in names {
            guard let want = lstatOf(src + "/" + name), let got = lstatOf(layer + "/" + name) else {
                Issue.record("\(name) missing")
                continue
            }
            #expect(got.st_mode == want.st_mode, "mode of \(name): \(String(got.st_mode, radix: 8))")
            #expect(got.st_uid == want.st_uid && got.st_gid == want.st_gid, "owner of \(name)")
            #expect(got.st_mtim.tv_sec == want.st_mtim.tv_sec, "mtime of \(name)")
            #expect(got.st_rdev == want.st_rdev, "rdev of \(name)")
            #expect(got.st_size == want.st_size, "size of \(name)")
        }
        #expect(lstatOf(layer + "/suid")?.st_mode == S_IFREG | 0o4755)
        #expect(lstatOf(layer + "/suid")?.st_uid == 1234)
        #expect(lstatOf(layer + "/dir/hl1")?.st_ino == lstatOf(layer + "/hl2")?.st_ino)
        #expect(lstatOf(layer + "/dir/hl1")?.st_nlink == 2)
        #expect(readFile(layer + "/hl2") == "pair\n")
        #expect(runProcess(["readlink", layer + "/abs"]).stdout == "/etc/passwd\n")
        #expect(runProcess(["readlink", layer + "/rel"]).stdout == "odd\n")
        #expect(xattr(layer + "/dir/sub/attrs", "user.x") == "hello")

        let expected = sh("sha256sum \(base)/layer.tar | cut -c1-64").stdout.split(separator: "\n").first.map(String.init) ?? "?"
        #expect(summary.diffID == "sha256:" + expected)
        #expect(summary.uncompressedSize == Int64(lstatOf(base + "/layer.tar")?.st_size ?? -1))
        #expect(summary.entryCount == names.count + 1)  // plus "./"

        // The same layer gzip-compressed has the same diff ID.
        mkdir(base + "/gz", 0o755)
        let gz = try LayerExtractor().extract(archive: base + "/layer.tar.gz", into: base + "/gz")
        #expect(gz == summary)
    }

    @Test("an absolute entry name lands inside the layer, never on the host path")
    func absolutePath() {
        let (base, layer) = scratch("escape-abs")
        let host = makeTempDirectory("escape-abs-host")
        defer { removeTree(base); removeTree(host) }
        #expect(extract([file(host + "/evil")], into: layer) == nil)
        #expect(!fileExists(host + "/evil"))
        #expect(readFile(layer + host + "/evil") == "evil\n")
    }

    @Test("entry names that climb out with .. are refused by name", arguments: ["../escape", "a/../../escape", "./../escape"])
    func dotDot(name: String) {
        let (base, layer) = scratch("escape-dotdot")
        defer { removeTree(base) }
        let error = extract([(TarEntry(path: "a/", kind: .directory), []), file(name)], into: layer)
        #expect(
            error?.message == "extract evil.tar: archive entry \"\(name)\" escapes the layer root; refusing an unsafe archive")
        #expect(!fileExists(base + "/escape"))
        #expect(!fileExists(FileSystem.parent(of: base) + "/escape"))
    }

    @Test("a write through an absolute symlink stays in the layer or fails, never reaches the host")
    func absoluteSymlinkParent() {
        let (base, layer) = scratch("escape-symlink")
        let host = makeTempDirectory("escape-symlink-host")
        defer { removeTree(base); removeTree(host) }
        // The layer has no such directory: the write must fail.
        #expect(extract([symlink("link", host), file("link/evil")], into: layer) != nil)
        #expect(!fileExists(host + "/evil"))

        // The layer has its own copy of the directory: the write lands there.
        let (base2, layer2) = scratch("escape-symlink2")
        defer { removeTree(base2) }
        #expect(
            extract(
                [(TarEntry(path: host + "/", kind: .directory), []), symlink("link", host), file("link/evil")],
                into: layer2) == nil)
        #expect(!fileExists(host + "/evil"))
        #expect(readFile(layer2 + host + "/evil") == "evil\n")
    }

    @Test("a write through a symlink climbing with ../../.. lands at the layer root")
    func relativeSymlinkParent() {
        let (base, layer) = scratch("escape-up")
        defer { removeTree(base) }
        #expect(extract([symlink("up", "../../.."), file("up/evil")], into: layer) == nil)
        #expect(readFile(layer + "/evil") == "evil\n")
        #expect(!fileExists(base + "/evil"))
        #expect(!fileExists(FileSystem.parent(of: base) + "/evil"))
    }

    @Test("a symlink to / cannot overwrite the host's /etc/passwd")
    func symlinkToRoot() {
        let (base, layer) = scratch("escape-root")
        defer { removeTree(base) }
        let before = lstatOf("/etc/passwd"), content = readFile("/etc/passwd")
        #expect(extract([symlink("r", "/"), file("r/etc/passwd", "root::0:0::/:/bin/sh\n")], into: layer) == nil)
        #expect(readFile(layer + "/etc/passwd") == "root::0:0::/:/bin/sh\n")
        #expect(readFile("/etc/passwd") == content)
        #expect(lstatOf("/etc/passwd")?.st_mtim.tv_sec == before?.st_mtim.tv_sec)
    }

    @Test(
        "hard links out of the layer are refused and the host file keeps its link count",
        arguments: ["../../etc/passwd", "/etc/passwd", "etc/passwd"])
    func hardLinkEscape(target: String) {
        let (base, layer) = scratch("escape-hardlink")
        defer { removeTree(base) }
        let links = lstatOf("/etc/passwd")?.st_nlink
        let error = extract([hardlink("pw", target)], into: layer)
        #expect(error != nil)
        #expect(error?.message.contains("archive entry \"pw\"") == true, "\(String(describing: error))")
        #expect(error?.message.contains(target) == true)
        #expect(lstatOf("/etc/passwd")?.st_nlink == links)
        #expect(!fileExists(layer + "/pw"))
    }

    @Test("a hard link to an absolute path links the layer's own file")
    func hardLinkInsideLayer() {
        let (base, layer) = scratch("hardlink-abs")
        defer { removeTree(base) }
        let links = lstatOf("/etc/passwd")?.st_nlink
        #expect(extract([file("etc/passwd", "layer\n"), hardlink("pw", "/etc/passwd")], into: layer) == nil)
        #expect(lstatOf(layer + "/pw")?.st_ino == lstatOf(layer + "/etc/passwd")?.st_ino)
        #expect(lstatOf("/etc/passwd")?.st_nlink == links)
        let error = extract([(TarEntry(path: "d/", kind: .directory), []), hardlink("dl", "d")], into: layer)
        #expect(
            error?.message == "extract evil.tar: archive entry \"dl\" is a hard link to the directory \"d\"; "
                + "refusing an unsafe archive")
    }

    @Test("a directory replaced by a symlink cannot be written through to the host")
    func directoryReplacedBySymlink() {
        let (base, layer) = scratch("escape-replace")
        let host = makeTempDirectory("escape-replace-host")
        defer { removeTree(base); removeTree(host) }
        _ = extract(
            [(TarEntry(path: "d/", kind: .directory), []), file("d/keep"), symlink("d", host), file("d/evil")],
            into: layer)
        #expect(!fileExists(host + "/evil"))
        #expect(lstatOf(layer + "/d").map { $0.st_mode & S_IFMT } == S_IFLNK)
    }

    @Test("a file entry over a symlink replaces the link instead of writing through it")
    func fileOverSymlink() {
        let (base, layer) = scratch("escape-leaf")
        let host = makeTempDirectory("escape-leaf-host")
        defer { removeTree(base); removeTree(host) }
        writeFile(host + "/victim", "original\n")
        #expect(
            extract(
                [symlink("x", host + "/victim"), file("x"), symlink("y", host), (TarEntry(path: "y", kind: .directory), [])],
                into: layer) == nil)
        #expect(readFile(host + "/victim") == "original\n")
        #expect(readFile(layer + "/x") == "evil\n")
        #expect(lstatOf(layer + "/y").map { $0.st_mode & S_IFMT } == S_IFDIR)
        #expect(lstatOf(host).map { $0.st_mode & 0o7777 } == 0o700)
    }

    @Test("whiteouts become overlayfs whiteouts only when asked")
    func whiteouts() {
        let (base, layer) = scratch("whiteout")
        defer { removeTree(base) }
        let entries = [
            (TarEntry(path: "dir/", kind: .directory), []), file("dir/.wh..wh..opq", ""), file(".wh.gone", ""),
            file("dir/.wh..wh.plnk", ""),
        ]
        #expect(extract(entries, into: layer, whiteouts: true) == nil)
        #expect(lstatOf(layer + "/gone").map { $0.st_mode & S_IFMT } == S_IFCHR)
        #expect(lstatOf(layer + "/gone")?.st_rdev == 0)
        #expect(!fileExists(layer + "/.wh.gone"))
        #expect(!fileExists(layer + "/dir/.wh..wh..opq"))
        #expect(!fileExists(layer + "/dir/.wh..wh.plnk"))
        #expect(xattr(layer + "/dir", "trusted.overlay.opaque") == "y")

        let (base2, plain) = scratch("whiteout-plain")
        defer { removeTree(base2) }
        #expect(extract(entries, into: plain) == nil)
        #expect(lstatOf(plain + "/.wh.gone").map { $0.st_mode & S_IFMT } == S_IFREG)
        #expect(fileExists(plain + "/dir/.wh..wh..opq"))
        #expect(!fileExists(plain + "/gone"))
    }

    @Test("a layer cannot plant overlayfs xattrs of its own")
    func overlayXattrsDropped() {
        let (base, layer) = scratch("xattr-overlay")
        defer { removeTree(base) }
        var dir = TarEntry(path: "d/", kind: .directory)
        dir.xattrs = ["trusted.overlay.redirect": Array("/etc".utf8), "user.ok": Array("1".utf8)]
        #expect(extract([(dir, [])], into: layer) == nil)
        #expect(xattr(layer + "/d", "user.ok") == "1")
        #expect(xattr(layer + "/d", "trusted.overlay.redirect") == "")
    }

    @Test("a truncated layer fails naming the entry, and failed extractions leave no descriptor open")
    func truncatedAndNoLeaks() throws {
        let (base, layer) = scratch("truncated")
        defer { removeTree(base) }
        let sink = MemorySink()
        let writer = TarWriter(sink)
        try writer.append(TarEntry(path: "bin/busybox", kind: .regular), content: [UInt8](repeating: 1, count: 5000))
        try writer.finish()
        writeFile(base + "/busybox.tar", "")
        let fd = open(base + "/busybox.tar", O_WRONLY | O_TRUNC | O_CLOEXEC)
        _ = Array(sink.bytes.prefix(3000)).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let fdsBefore = FileSystem.list("/proc/self/fd").count
        for _ in 0..<40 {
            do {
                _ = try LayerExtractor().extract(archive: base + "/busybox.tar", into: layer)
                Issue.record("a truncated archive extracted")
            } catch {
                #expect(
                    error.message == "read archive \(base)/busybox.tar: truncated archive: unexpected end of data in "
                        + "entry \"bin/busybox\"; the file is incomplete, copy it again")
            }
            _ = extract([file("../x")], into: layer)
        }
        // Other suites may open descriptors meanwhile; a leak would show 40+.
        #expect(FileSystem.list("/proc/self/fd").count < fdsBefore + 20)
    }
}
