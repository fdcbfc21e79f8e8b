import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// The image commands through the real `berth` binary, each test on its own
/// temporary store: what a user sees on stdout and stderr, the exit codes,
/// and that a refused archive leaves the store exactly as it was.
@Suite("Image commands", .enabled(if: isRoot, "needs root to create devices and set owners"))
struct ImageCommandTests {
    @Test("import prints the image ID; images, inspect, -q and --format show the busybox image")
    func importAndList() {
        let root = makeTempDirectory("store")
        defer { removeTree(root) }
        let imported = berth(root, "import", "-c", "CMD [\"sh\"]", busyboxTar, "busybox")
        #expect(imported.status == 0, "stderr: \(imported.stderr)")
        #expect(imported.stderr.isEmpty)
        let id = imported.stdout.hasSuffix("\n") ? String(imported.stdout.dropLast()) : imported.stdout
        #expect(id.hasPrefix("sha256:") && isHex(id.dropFirst(7), count: 64), "import printed \(imported.stdout)")
        let shortID = String(id.dropFirst(7).prefix(12))

        let table = berth(root, "images")
        #expect(table.status == 0)
        let rows = lines(table.stdout)
        #expect(rows.count == 2, "a header and one row: \(table.stdout)")
        guard rows.count == 2 else { return }
        #expect(cells(rows[0]) == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"])
        let row = cells(rows[1])
        #expect(row.count == 5, "row: \(rows[1])")
        guard row.count == 5 else { return }
        #expect(row[0] == "busybox" && row[1] == "latest")
        #expect(isHex(row[2], count: 12) && row[2] == shortID, "IMAGE ID \(row[2]) is the import's \(id)")
        #expect(row[3].hasSuffix("ago"))
        #expect(row[4].hasSuffix("MB") && Double(row[4].dropLast(2)) != nil, "SIZE \(row[4])")
        // Columns line up: each cell starts where its title does.
        for title in ["TAG", "IMAGE ID", "CREATED", "SIZE"] {
            let column = rows[0].firstRange(of: title)!.lowerBound.utf16Offset(in: rows[0])
            let cell = row[["TAG": 1, "IMAGE ID": 2, "CREATED": 3, "SIZE": 4][title]!]
            #expect(rows[1].firstRange(of: cell)?.lowerBound.utf16Offset(in: rows[1]) == column, "column \(title)")
        }

        #expect(berth(root, "inspect", "-f", "{{.Config.Cmd}}", "busybox").stdout == "[sh]\n")
        #expect(berth(root, "inspect", "-f", "{{.Id}}", "busybox").stdout == id + "\n")
        #expect(berth(root, "images", "-q").stdout == shortID + "\n")
        #expect(berth(root, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout == "busybox:latest\n")
    }

    @Test("images --filter: dangling, reference (matching tags only), label, since; a bad filter is one line")
    func imagesFilter() {
        let root = makeTempDirectory("store")
        defer { removeTree(root) }
        #expect(berth(root, "import", "-c", "CMD [\"sh\"]", busyboxTar, "busybox").status == 0)
        #expect(berth(root, "tag", "busybox", "tools/busybox:v1").status == 0)
        #expect(berth(root, "import", "-c", "LABEL team=blue", busyboxTar, "blue:1").status == 0)
        // gone:1 moved to another image leaves its first image untagged: dangling.
        #expect(berth(root, "import", "-c", "CMD [\"true\"]", busyboxTar, "gone:1").status == 0)
        let dangling = berth(root, "images", "-q", "gone").stdout.trimmingSpaces
        #expect(berth(root, "tag", "busybox", "gone:1").status == 0)
        func listed(_ filters: String...) -> String {
            runProcess(
                [berthBinary, "--root", root, "images", "--format", "{{.Repository}}:{{.Tag}}"] + filters.flatMap { ["-f", $0] }
            )
            .stdout
        }
        #expect(listed("reference=busybox") == "busybox:latest\n", "only the matching tag of a thrice-tagged image")
        #expect(listed("reference=tools/*") == "tools/busybox:v1\n")
        #expect(listed("label=team=blue") == "blue:1\n")
        #expect(listed("label=team=red").isEmpty)
        #expect(listed("dangling=true") == "<none>:<none>\n")
        #expect(berth(root, "images", "-q", "-f", "dangling=true").stdout == dangling + "\n")
        #expect(!listed("dangling=false").contains("<none>"))
        #expect(listed("since=blue:1") == "<none>:<none>\n", "only the image imported after blue:1")
        expectOneErrorLine(berth(root, "images", "-f", "dangling=maybe"), naming: ["dangling=maybe"], status: 1)
        expectOneErrorLine(berth(root, "images", "-f", "colour=red"), naming: ["colour"], status: 1)
    }

    @Test("a repository name over 255 characters (Docker's limit) is one line, and nothing is tagged or imported")
    func overlongName() {
        let root = makeTempDirectory("store")
        defer { removeTree(root) }
        #expect(berth(root, "import", busyboxTar, "busybox").status == 0)
        let long = String(repeating: "a", count: 256)
        expectOneErrorLine(berth(root, "tag", "busybox", long), naming: ["255 characters"], status: 1)
        expectOneErrorLine(berth(root, "import", busyboxTar, long + ":v1"), naming: ["255 characters"], status: 1)
        #expect(berth(root, "images", "-q").stdout.split(separator: "\n").count == 1, "still one image")
        let longest = String(repeating: "b", count: 255)
        #expect(berth(root, "tag", "busybox", longest).status == 0, "255 characters is allowed")
    }

    @Test("owners, modes, symlinks, hard links, fifos and devices survive an import")
    func metadataSurvives() {
        let dir = makeTempDirectory("meta")
        defer { removeTree(dir) }
        let root = dir + "/store", tree = dir + "/tree", tar = dir + "/meta.tar"
        let made = sh(
            """
            set -e; mkdir -p \(tree)/sub && cd \(tree)
            printf 'secret\\n' > owned && chown 1234:5678 owned && chmod 4750 owned
            ln -s owned rel-link && ln -s /etc/hostname abs-link && ln -s ../owned sub/up-link
            printf 'shared\\n' > hard-a && ln hard-a hard-b
            mkfifo fifo && mknod null c 1 3
            tar --numeric-owner -cf \(tar) -C \(tree) .
            """)
        #expect(made.status == 0, "building the tar: \(made.stderr)")
        let imported = berth(root, "import", tar, "meta:test")
        #expect(imported.status == 0, "stderr: \(imported.stderr)")

        let diff = firstLayerDiff(root, "meta:test")
        func stat(_ format: String, _ name: String) -> String {
            sh("stat -c '\(format)' \(shellQuote(diff + "/" + name))").stdout
        }
        #expect(stat("%u:%g %a %F %s", "owned") == "1234:5678 4750 regular file 7\n")
        #expect(readFile(diff + "/owned") == "secret\n")
        #expect(stat("%F %N", "rel-link") == "symbolic link '\(diff)/rel-link' -> 'owned'\n")
        #expect(stat("%F %N", "abs-link") == "symbolic link '\(diff)/abs-link' -> '/etc/hostname'\n")
        #expect(stat("%F %N", "sub/up-link") == "symbolic link '\(diff)/sub/up-link' -> '../owned'\n")
        #expect(
            stat("%h", "hard-a") == "2\n" && stat("%i", "hard-a") == stat("%i", "hard-b"),
            "hard-a and hard-b are one inode")
        #expect(readFile(diff + "/hard-b") == "shared\n")
        #expect(stat("%F %a", "fifo") == "fifo 644\n")
        #expect(stat("%F %t:%T", "null") == "character special file 1:3\n")
        // 7 + 7 (the hard-linked pair once) + the three link targets 5 + 13 + 8.
        #expect(berth(root, "inspect", "-f", "{{.Size}}", "meta:test").stdout == "40\n")
        #expect(berth(root, "images", "--format", "{{.Size}}").stdout == "40B\n")
    }

    /// A hostile archive: the entries, the path outside the store it aims at,
    /// and what the error must name.
    struct Hostile: Sendable, CustomTestStringConvertible {
        var label: String
        var testDescription: String { label }
        /// Builds the entries from the host directory under attack.
        var entries: @Sendable (_ host: String) -> [(TarEntry, String)]
        /// The path the archive tries to create, relative to the host directory.
        var target: String
        /// The entry the error must name.
        var names: @Sendable (_ host: String) -> String
    }

    static let climb = String(repeating: "../", count: 16)

    static let hostile: [Hostile] = [
        Hostile(
            label: "a ../ entry escaping the root",
            entries: { host in
                [
                    (TarEntry(path: "ok.txt", kind: .regular), "fine\n"),
                    (TarEntry(path: climb + host.dropFirst() + "/dotdot", kind: .regular), "pwned\n"),
                ]
            },
            target: "dotdot", names: { host in climb + host.dropFirst() + "/dotdot" }),
        Hostile(
            label: "an absolute symlink, then a file written through it",
            entries: { host in
                [
                    (TarEntry(path: "ok.txt", kind: .regular), "fine\n"),
                    (TarEntry(path: "escape", kind: .symbolicLink, linkTarget: host), ""),
                    (TarEntry(path: "escape/through-abs", kind: .regular), "pwned\n"),
                ]
            },
            target: "through-abs", names: { _ in "escape/through-abs" }),
        Hostile(
            label: "a relative ../ symlink, then a file written through it",
            entries: { host in
                [
                    (TarEntry(path: "ok.txt", kind: .regular), "fine\n"),
                    (TarEntry(path: "up", kind: .symbolicLink, linkTarget: climb + host.dropFirst()), ""),
                    (TarEntry(path: "up/through-rel", kind: .regular), "pwned\n"),
                ]
            },
            target: "through-rel", names: { _ in "up/through-rel" }),
    ]

    @Test(
        "a hostile archive is refused with one error naming the entry; store and host untouched",
        arguments: hostile)
    func hostileArchiveRefused(_ attack: Hostile) throws {
        let root = makeTempDirectory("store"), host = makeTempDirectory("host")
        defer { removeTree(root); removeTree(host) }
        _ = importBusybox(root)
        let tar = host + "/hostile.tar"
        try writeArchive(tar, attack.entries(host))
        let before = StoreSnapshot(root)

        let result = berth(root, "import", tar, "evil")
        expectOneErrorLine(result, naming: [attack.names(host)])
        #expect(result.stdout.isEmpty)
        #expect(!fileExists(host + "/" + attack.target), "nothing was written outside the store")
        before.expectUnchanged(StoreSnapshot(root))
    }

    @Test(
        "a hard link to a host file is refused and the host file keeps its link count",
        arguments: ["absolute", "relative"])
    func hardLinkOutsideRefused(_ form: String) throws {
        let root = makeTempDirectory("store"), host = makeTempDirectory("host")
        defer { removeTree(root); removeTree(host) }
        _ = importBusybox(root)
        let secret = host + "/secret"
        writeFile(secret, "host secret\n")
        let target = form == "absolute" ? secret : Self.climb + secret.dropFirst()
        let tar = host + "/hostile.tar"
        try writeArchive(
            tar,
            [
                (TarEntry(path: "ok.txt", kind: .regular), "fine\n"),
                (TarEntry(path: "stolen", kind: .hardLink, linkTarget: target), ""),
            ])
        let before = StoreSnapshot(root)

        let result = berth(root, "import", tar, "evil")
        expectOneErrorLine(result, naming: ["stolen"])
        #expect(sh("stat -c %h \(secret)").stdout == "1\n", "no new link to the host file")
        #expect(readFile(secret) == "host secret\n")
        before.expectUnchanged(StoreSnapshot(root))
    }

    @Test("an absolute entry name lands inside the image, not on the host")
    func absoluteNameLandsInside() throws {
        let root = makeTempDirectory("store"), host = makeTempDirectory("host")
        defer { removeTree(root); removeTree(host) }
        let tar = host + "/absolute.tar"
        try writeArchive(tar, [(TarEntry(path: host + "/abs-file", kind: .regular), "inside\n")])

        let result = berth(root, "import", tar, "abs")
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(!fileExists(host + "/abs-file"), "the host path stays absent")
        #expect(readFile(firstLayerDiff(root, "abs") + host + "/abs-file") == "inside\n")
    }

    @Test(
        "garbage, truncated tar, truncated gzip and a missing file: one error naming the file; store unchanged",
        arguments: ["garbage", "truncated.tar", "truncated.tar.gz", "missing.tar"])
    func brokenArchiveRefused(_ kind: String) {
        let root = makeTempDirectory("store"), dir = makeTempDirectory("broken")
        defer { removeTree(root); removeTree(dir) }
        _ = importBusybox(root)
        let file = dir + "/" + kind
        let q = shellQuote(busyboxTar)
        switch kind {
        case "garbage":
            writeFile(file, String(repeating: "this is not a tar archive\n", count: 400))
        case "truncated.tar":
            #expect(sh("head -c 100000 \(q) > \(file)").status == 0)
        case "truncated.tar.gz":
            #expect(
                sh("gzip -c \(q) > \(file).full && head -c $(($(stat -c %s \(file).full) / 2)) \(file).full > \(file)").status
                    == 0)
        default:
            break
        }
        let before = StoreSnapshot(root)
        let result = berth(root, "import", file, "broken")
        expectOneErrorLine(result, naming: [file])
        #expect(result.stdout.isEmpty)
        before.expectUnchanged(StoreSnapshot(root))
    }

    @Test("tags share an image, rmi untags first, and a shared layer goes only with its last image")
    func tagRmiAndSharedLayers() {
        let root = makeTempDirectory("store")
        defer { removeTree(root) }
        let first = importBusybox(root)
        let short = String(first.dropFirst(7).prefix(12))

        let tagged = berth(root, "tag", "busybox", "busybox:test")
        #expect(tagged.status == 0 && tagged.stdout.isEmpty && tagged.stderr.isEmpty)
        let listed = berth(root, "images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}").stdout
        #expect(Set(lines(listed)) == ["busybox latest \(short)", "busybox test \(short)"], "images: \(listed)")

        let untag = berth(root, "rmi", "busybox:test")
        #expect(untag.status == 0 && untag.stdout == "Untagged: busybox:test\n")
        #expect(berth(root, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout == "busybox:latest\n")
        #expect(berth(root, "inspect", "-f", "{{.Id}}", "busybox").stdout == first + "\n", "the image remains")

        let again = berth(root, "import", "-c", "CMD [\"echo\", \"hi\"]", busyboxTar, "other:v2")
        #expect(again.status == 0)
        let second = String(again.stdout.dropLast())
        #expect(second != first && Digest.isDigest(second))
        let layers = FileSystem.list(root + "/layers/sha256")
        #expect(layers.count == 1, "the second image shares the layer: \(layers)")
        #expect(firstLayerDiff(root, "busybox") == firstLayerDiff(root, "other:v2"))

        let removeFirst = berth(root, "rmi", "busybox")
        #expect(removeFirst.status == 0)
        #expect(removeFirst.stdout == "Untagged: busybox:latest\nDeleted: \(first)\n", "the layer stays: \(removeFirst.stdout)")
        #expect(FileSystem.list(root + "/layers/sha256") == layers)

        let removeLast = berth(root, "rmi", "other:v2")
        #expect(removeLast.status == 0)
        #expect(removeLast.stdout == "Untagged: other:v2\nDeleted: \(second)\nDeleted: sha256:\(layers[0])\n")
        #expect(FileSystem.list(root + "/layers/sha256").isEmpty)
        #expect(FileSystem.list(root + "/images/sha256").isEmpty)
        #expect(FileSystem.list(root + "/tmp").isEmpty)
        #expect(lines(berth(root, "images").stdout).count == 1, "only the header is left")
    }

    @Test("errors are one line naming the object with Docker's exit code; --help exits 0 and lists the flags")
    func errorsAndHelp() {
        let root = makeTempDirectory("store")
        defer { removeTree(root) }
        expectOneErrorLine(berth(root, "frob"), naming: ["\"frob\""])
        expectOneErrorLine(berth(root, "images", "--bogus"), naming: ["--bogus"], status: 125)
        expectOneErrorLine(berth(root, "inspect", "nosuch"), naming: ["nosuch"])
        expectOneErrorLine(berth(root, "rmi", "nosuch"), naming: ["nosuch"])
        expectOneErrorLine(berth(root, "import", root), naming: [root])  // a directory: read fails with EISDIR
        expectOneErrorLine(berth(root, "tag", "nosuch", "x"), naming: ["nosuch"])
        expectOneErrorLine(berth(root, "images", "NotValid"), naming: ["NotValid"])

        let overview = berth(root, "--help")
        #expect(overview.status == 0 && overview.stderr.isEmpty)
        for word in ["--root DIR", "images", "import", "inspect", "rmi", "tag", "plugin ls"] {
            #expect(overview.stdout.contains(word), "berth --help lists \(word)")
        }
        let images = berth(root, "images", "--help")
        #expect(images.status == 0 && images.stderr.isEmpty)
        #expect(images.stdout.contains("Usage:  berth images [OPTIONS] [REPOSITORY[:TAG]]"))
        for flag in ["-a, --all", "-q, --quiet", "--no-trunc", "--format string"] {
            #expect(images.stdout.contains(flag), "images --help lists \(flag)")
        }
    }

    @Test("plugin ls lists commands as builtin and the storage drivers with their plugin folders")
    func pluginList() {
        let root = makeTempDirectory("store")
        defer { removeTree(root) }
        let result = berth(root, "plugin", "ls")
        #expect(result.status == 0)
        let rows = lines(result.stdout).map { Array(cells($0).prefix(3)) }
        #expect(rows.first == ["KIND", "ID", "ORIGIN"])
        for expected in [
            ["command", "images", "builtin"], ["command", "import", "builtin"],
            ["command", "inspect", "builtin"], ["command", "rmi", "builtin"],
            ["command", "tag", "builtin"], ["command", "plugin ls", "builtin"],
            ["storage", "overlay", "plugins/storage-overlay"],
            ["storage", "copy", "plugins/storage-copy"],
        ] {
            #expect(rows.contains(expected), "plugin ls shows \(expected)")
        }
        let storage = berth(root, "plugin", "ls", "--kind", "storage", "-q")
        #expect(Set(lines(storage.stdout)) == ["overlay", "copy"])
    }

    @Test("a piped script runs every line; a script file stops at its failing line with FILE:LINE")
    func scripts() {
        let root = makeTempDirectory("store")
        defer { removeTree(root) }
        let id = importBusybox(root)
        let short = String(id.dropFirst(7).prefix(12))

        let piped = berth(root, stdin: "images\ntag busybox b2\nimages -q\n")
        #expect(piped.status == 0 && piped.stderr.isEmpty, "stderr: \(piped.stderr)")
        let out = lines(piped.stdout)
        #expect(out.count == 3, "images (header + row), then images -q: \(piped.stdout)")
        #expect(out.first.map(cells)?.first == "REPOSITORY")
        #expect(out.last.map(String.init) == short)
        #expect(berth(root, "inspect", "-f", "{{.RepoTags}}", "b2").stdout == "[b2:latest busybox:latest]\n")

        let script = root + "/../" + FileSystem.baseName(root) + "-script.berth"
        defer { unlink(script) }
        writeFile(script, "tag busybox first\ntag nosuch second\ntag busybox third\n")
        let failed = berth(root, script)
        #expect(failed.status != 0)
        let errors = lines(failed.stderr)
        #expect(
            errors.count == 1 && errors[0].hasPrefix("\(script):2: error: ") && errors[0].contains("nosuch"),
            "stderr: \(failed.stderr)")
        let tags = berth(root, "images", "--format", "{{.Repository}}").stdout
        #expect(lines(tags).contains("first"), "line 1 ran")
        #expect(!lines(tags).contains("third"), "line 3 did not run")
    }
}
