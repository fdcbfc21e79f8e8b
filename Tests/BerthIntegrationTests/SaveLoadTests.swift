import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// A store holding busybox and `two:layers`: busybox plus a layer made by a
/// container that deleted /bin/vi and wrote /added. Returns the IDs.
func makeTwoLayerStore(_ root: String, sourceLocation: SourceLocation = #_sourceLocation) -> (busybox: String, two: String) {
    let busybox = importBusybox(root, sourceLocation: sourceLocation)
    let ran = berth(root, "run", "--name", "maker", "busybox", "sh", "-c", "rm /bin/vi && echo made > /added")
    #expect(ran.status == 0, "run: \(ran.stderr)", sourceLocation: sourceLocation)
    let committed = berth(root, "commit", "maker", "two:layers")
    #expect(committed.status == 0, "commit: \(committed.stderr)", sourceLocation: sourceLocation)
    berth(root, "rm", "-f", "maker")
    return (busybox, String(committed.stdout.split(separator: "\n").first ?? ""))
}

/// `inspect -f FORMAT IMAGE`, without the newline.
func inspect(_ root: String, _ format: String, _ image: String) -> String {
    let out = berth(root, "inspect", "-f", format, image).stdout
    return out.hasSuffix("\n") ? String(out.dropLast()) : out
}

/// save and load between Berth stores, and archives `load` must refuse.
@Suite("save and load", .enabled(if: isRoot, "needs root to create devices, set owners and run containers"))
struct SaveLoadTests {
    @Test("save → load keeps image IDs; the loaded image runs with its whiteout; a second load reuses every layer")
    func roundTrip() {
        let dir = makeTempDirectory("saveload")
        defer { removeTree(dir) }
        let a = dir + "/a", b = dir + "/b", out = dir + "/images.tar"
        let ids = makeTwoLayerStore(a)

        let saved = berth(a, "save", "-o", out, "busybox", "two:layers")
        #expect(saved.status == 0 && saved.stdout.isEmpty && saved.stderr.isEmpty, "save: \(saved.stderr)")
        // Both layouts, every blob named by its digest, the shared layer once.
        let names = sh("tar tf \(out) | LC_ALL=C sort").stdout.split(separator: "\n").map(String.init)
        for file in ["oci-layout", "index.json", "manifest.json"] { #expect(names.contains(file), "\(file) in \(names)") }
        let blobs = names.filter { $0.hasPrefix("blobs/sha256/") && $0.count > 13 }
        #expect(blobs.count == 6, "2 configs + 2 layers (busybox's shared) + 2 manifests: \(blobs)")
        let unpacked = dir + "/unpacked"
        #expect(sh("mkdir \(unpacked) && tar xf \(out) -C \(unpacked)").status == 0)
        for blob in blobs {
            let sum = sh("sha256sum \(unpacked)/\(blob) | cut -c1-64").stdout
            #expect(sum == blob.dropFirst(13) + "\n", "\(blob) hashes to its name")
        }
        let manifest = readFile(unpacked + "/manifest.json")
        #expect(
            manifest.contains("\"RepoTags\":[\"busybox:latest\"]") && manifest.contains("\"RepoTags\":[\"two:layers\"]"),
            "\(manifest)")
        #expect(manifest.contains("\"Config\":\"blobs/sha256/\(ids.two.dropFirst(7))\""), "\(manifest)")
        let index = readFile(unpacked + "/index.json")
        #expect(index.contains("\"io.containerd.image.name\":\"docker.io/library/busybox:latest\""), "\(index)")
        #expect(index.contains("\"org.opencontainers.image.ref.name\":\"latest\""), "\(index)")
        // The layer tars are exactly the configs' diff IDs.
        let diffIDs = inspect(a, "{{json .RootFS.Layers}}", "two:layers")
        for blob in blobs where sh("tar tf \(unpacked)/\(blob) >/dev/null 2>&1").status == 0 {
            #expect(diffIDs.contains("sha256:" + blob.dropFirst(13)), "layer \(blob) is one of \(diffIDs)")
        }

        let loaded = berth(b, "load", "-i", out)
        #expect(loaded.status == 0, "load: \(loaded.stderr)")
        #expect(loaded.stdout == "Loaded image: busybox:latest\nLoaded image: two:layers\n")
        #expect(inspect(b, "{{.Id}}", "busybox") == ids.busybox)
        #expect(inspect(b, "{{.Id}}", "two:layers") == ids.two)
        let ran = berth(
            b, "run", "--rm", "two:layers", "sh", "-c", "cat /added; test -e /bin/vi && echo vi-present || echo vi-gone")
        #expect(ran.stdout == "made\nvi-gone\n", "the deletion is still a deletion: \(ran.stdout) \(ran.stderr)")
        #expect(berth(b, "run", "--rm", "busybox", "sh", "-c", "test -e /bin/vi && echo vi-present").stdout == "vi-present\n")

        // Loading again: same output, no new layer, no layer extracted again.
        let layers = FileSystem.list(b + "/layers/sha256").sorted()
        #expect(layers.count == 2)
        let stamps = sh("stat -c '%n %i %Y.%y' \(b)/layers/sha256/*/diff \(b)/layers/sha256/*/diff/*").stdout
        let again = berth(b, "load", "-i", out)
        #expect(again.status == 0 && again.stdout == loaded.stdout, "\(again.stdout) \(again.stderr)")
        #expect(FileSystem.list(b + "/layers/sha256").sorted() == layers)
        #expect(
            sh("stat -c '%n %i %Y.%y' \(b)/layers/sha256/*/diff \(b)/layers/sha256/*/diff/*").stdout == stamps,
            "the stored layers were reused, not extracted again")
        // A --rm run above is purged by its monitor after the client returned.
        #expect(eventually { FileSystem.list(b + "/tmp").isEmpty }, "no staging left: \(FileSystem.list(b + "/tmp"))")
    }

    @Test("save streams to a pipe and load reads stdin; save refuses a terminal and an unknown image")
    func streams() {
        let dir = makeTempDirectory("saveload")
        defer { removeTree(dir) }
        let a = dir + "/a", b = dir + "/b"
        let id = importBusybox(a)
        let piped = sh("\(shellQuote(berthBinary)) --root \(a) save busybox | \(shellQuote(berthBinary)) --root \(b) load -q")
        #expect(piped.status == 0 && piped.stdout == "Loaded image: busybox:latest\n", "\(piped.stdout) \(piped.stderr)")
        #expect(inspect(b, "{{.Id}}", "busybox:latest") == id)
        // By ID: untagged, as Docker does.
        let c = dir + "/c"
        let byID = sh(
            "\(shellQuote(berthBinary)) --root \(a) save \(id.dropFirst(7).prefix(12)) | \(shellQuote(berthBinary)) --root \(c) image load"
        )
        #expect(byID.stdout == "Loaded image ID: \(id)\n", "\(byID.stdout) \(byID.stderr)")
        #expect(berth(c, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout == "<none>:<none>\n")

        let tty = sh("script -qec '\(berthBinary) --root \(a) save busybox; echo rc=$?' /dev/null")
        #expect(
            tty.stdout.contains("cowardly refusing to save to a terminal")
                && tty.stdout.split(whereSeparator: \.isWhitespace).contains("rc=1"), "\(tty.stdout)")
        let missing = berth(a, "save", "-o", dir + "/x.tar", "nosuch")
        expectOneErrorLine(missing, naming: ["No such image: nosuch:latest"])
        #expect(!fileExists(dir + "/x.tar") && FileSystem.list(dir).filter { $0.hasPrefix("x.tar") }.isEmpty)
    }

    @Test("save refuses a layer whose files were changed in the store, and writes no file")
    func saveDetectsTampering() {
        let dir = makeTempDirectory("saveload")
        defer { removeTree(dir) }
        let a = dir + "/a", out = dir + "/out.tar"
        importBusybox(a)
        let diff = firstLayerDiff(a, "busybox")
        #expect(sh("echo extra >> \(diff)/etc/passwd || echo extra > \(diff)/tampered").status == 0)
        let layer = inspect(a, "{{index .RootFS.Layers 0}}", "busybox")
        let refused = berth(a, "save", "-o", out, "busybox")
        expectOneErrorLine(refused, naming: [layer, "changed after it was stored"])
        #expect(
            !fileExists(out) && FileSystem.list(dir).filter { $0.hasPrefix("out.tar") }.isEmpty,
            "no archive, not even a temp file")
        #expect(FileSystem.list(a + "/tmp").isEmpty)
    }

    /// A saved two:layers archive unpacked into `dir/x`, for tests to alter.
    private func unpackedSave(_ dir: String) -> String {
        let a = dir + "/a", x = dir + "/x"
        _ = makeTwoLayerStore(a)
        #expect(berth(a, "save", "-o", dir + "/good.tar", "two:layers").status == 0)
        #expect(sh("mkdir \(x) && tar xf \(dir)/good.tar -C \(x)").status == 0)
        return x
    }

    @Test(
        "load refuses a manifest.json path that leaves the archive, a layer that does not match diff_ids, a blob that does not match its name, and a truncated archive; the store is unchanged"
    )
    func hostileArchives() {
        let dir = makeTempDirectory("saveload")
        defer { removeTree(dir) }
        let x = unpackedSave(dir)
        let target = dir + "/target"
        importBusybox(target)  // shares busybox's layer with the archive
        let manifest = readFile(x + "/manifest.json")

        func archive(_ name: String, _ change: String) -> String {
            let work = dir + "/" + name
            #expect(sh("cp -a \(x) \(work) && cd \(work) && { \(change); } && tar cf ../\(name).tar .").status == 0, "\(name)")
            return dir + "/" + name + ".tar"
        }
        // 1. Layers path climbing out of the archive (manifest.json is read first).
        let layerPaths = manifest.split(separator: "\"").filter { $0.hasPrefix("blobs/sha256/") }.map(String.init)
        let escaping = archive("escape", "sed -i 's#\(layerPaths.last!)#../../etc/passwd#' manifest.json")
        // 2. The second layer replaced by another tar, at a path that is not
        // a blob name, so only the config's diff_ids can tell.
        let swapped = archive(
            "swapped",
            "rm index.json && mkdir other l2 && echo x > other/f && tar cf l2/layer.tar -C other f && rm -r other && sed -i 's#\(layerPaths.last!)#l2/layer.tar#' manifest.json"
        )
        // 3. OCI layout only, with a blob whose content no longer matches its name.
        let configBlob = manifest.split(separator: "\"").first { $0.hasPrefix("blobs/sha256/") }.map(String.init)!
        let badBlob = archive("badblob", "rm manifest.json && echo ' ' >> \(configBlob)")
        // 4. Truncated in the middle.
        let truncated = dir + "/truncated.tar"
        #expect(sh("head -c $(( $(stat -c %s \(dir)/good.tar) / 2 )) \(dir)/good.tar > \(truncated)").status == 0)
        // 5. An absolute path.
        let absolute = archive("absolute", "sed -i 's#\"Config\":\"#\"Config\":\"/#' manifest.json")

        let cases: [(String, [String])] = [
            (escaping, ["manifest.json", "Layers[1]", "../../etc/passwd", "outside the archive"]),
            (swapped, ["diff_ids[1]", "l2/layer.tar", "does not match"]),
            (badBlob, [String(configBlob), "not to its name"]),
            (truncated, ["truncated"]),
            (absolute, ["Config", "\"/blobs/sha256/", "outside the archive"]),
        ]
        for (file, naming) in cases {
            let before = StoreSnapshot(target)
            let refused = berth(target, "load", "-i", file)
            expectOneErrorLine(refused, naming: naming)
            #expect(refused.stdout.isEmpty)
            before.expectUnchanged(StoreSnapshot(target))
        }
        #expect(berth(target, "run", "--rm", "busybox", "true").status == 0, "the store still works")
    }

    @Test("load reads Docker's older layout (HEX/layer.tar, HEX.json) and gzip-compressed layers")
    func legacyLayoutAndGzip() {
        let dir = makeTempDirectory("saveload")
        defer { removeTree(dir) }
        let x = unpackedSave(dir)
        // Rewrite as `docker save` before 25 did: config HEX.json, layers
        // LAYERID/layer.tar, gzip-compressed here, no OCI files.
        let made = sh(
            """
            set -e; cd \(x); rm index.json oci-layout; i=0; layers=""
            for blob in $(tr '"' '\\n' < manifest.json | grep '^blobs/sha256/' | tail -n +2); do
              i=$((i+1)); mkdir l$i; gzip -n -c $blob > l$i/layer.tar; layers="$layers,\\"l$i/layer.tar\\""
            done
            config=$(tr '"' '\\n' < manifest.json | grep '^blobs/sha256/' | head -1)
            cp $config config.json
            printf '[{"Config":"config.json","RepoTags":["old:style"],"Layers":[%s]}]' "${layers#,}" > manifest.json
            rm -r blobs; tar czf ../legacy.tar.gz .
            """)
        #expect(made.status == 0, "\(made.stderr)")
        let b = dir + "/b"
        let loaded = berth(b, "load", "-i", dir + "/legacy.tar.gz")
        #expect(loaded.status == 0 && loaded.stdout == "Loaded image: old:style\n", "\(loaded.stdout) \(loaded.stderr)")
        #expect(
            inspect(b, "{{.Id}}", "old:style") == inspect(dir + "/a", "{{.Id}}", "two:layers"),
            "the same layers and config give the same image ID")
        #expect(berth(b, "run", "--rm", "old:style", "cat", "/added").stdout == "made\n")
    }
}
