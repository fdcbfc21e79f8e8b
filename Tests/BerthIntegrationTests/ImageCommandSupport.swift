import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// The busybox image tarball: $BERTH_BUSYBOX_TAR, else built once with
/// scripts/mkimage-busybox.sh in a temp directory (left for the process's
/// lifetime; it is a few MB under /tmp).
let busyboxTar: String = {
    if let env = getenv("BERTH_BUSYBOX_TAR"), env.pointee != 0 { return String(cString: env) }
    let out = makeTempDirectory("busybox") + "/busybox.tar"
    let built = runProcess(["/bin/sh", packageRoot + "/scripts/mkimage-busybox.sh", out])
    precondition(built.status == 0, "mkimage-busybox.sh failed: \(built.stderr)")
    return out
}()

/// A fresh store with busybox imported as `busybox:latest` (CMD ["sh"]);
/// returns the image ID the import printed.
@discardableResult
func importBusybox(_ root: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    let result = berth(root, "import", "-c", "CMD [\"sh\"]", busyboxTar, "busybox")
    #expect(result.status == 0, "import failed: \(result.stderr)", sourceLocation: sourceLocation)
    return String(result.stdout.split(separator: "\n").first ?? "")
}

/// Expects what a failed command shows a user: exit 125 and exactly one line
/// on stderr, `Error: …`, mentioning every string in `naming`.
func expectOneErrorLine(
    _ result: ProcessResult, naming: [String], status: Int32 = 1,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.status == status, "exit status; stderr: \(result.stderr)", sourceLocation: sourceLocation)
    let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(
        lines.count == 2 && lines[1].isEmpty, "exactly one stderr line, got: \(result.stderr)",
        sourceLocation: sourceLocation)
    #expect(result.stderr.hasPrefix("Error: "), "stderr: \(result.stderr)", sourceLocation: sourceLocation)
    for name in naming {
        #expect(
            result.stderr.contains(name), "the error names \"\(name)\": \(result.stderr)",
            sourceLocation: sourceLocation)
    }
}

/// The cells of a table line (columns are separated by two or more spaces).
func cells(_ line: Substring) -> [String] {
    var result: [String] = []
    var current = ""
    var spaces = 0
    for ch in line {
        if ch == " " { spaces += 1; continue }
        if spaces >= 2 && !current.isEmpty { result.append(current); current = "" } else if spaces == 1 { current += " " }
        spaces = 0
        current.append(ch)
    }
    if !current.isEmpty { result.append(current) }
    return result
}

/// The lines of a command's stdout.
func lines(_ text: String) -> [Substring] { text.split(separator: "\n") }

func isHex(_ text: some StringProtocol, count: Int) -> Bool {
    text.count == count && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
}

/// Everything a user or the next command could see of a store, to prove a
/// failed command changed nothing.
struct StoreSnapshot: Equatable {
    /// `berth images` with the CREATED cell blanked: "N seconds ago" moves on
    /// by itself while the test runs. The exact creation time is compared in
    /// `imagesExact` instead.
    var images: String
    /// `images --no-trunc` with the absolute creation time and size.
    var imagesExact: String
    var layers: [String]
    var imageFiles: [String]
    var repositories: String
    var tmp: [String]
    /// Every path below the root with its type, mode, owner and (for
    /// non-directories) size.
    var tree: [String]

    /// Reads the files first: any `berth` command sweeps dead staging from
    /// tmp/ when it opens the store, which would hide a leftover.
    init(_ root: String) {
        layers = FileSystem.list(root + "/layers/sha256").sorted()
        imageFiles = FileSystem.list(root + "/images/sha256").sorted()
        repositories = readFile(root + "/images/repositories.json")
        tmp = FileSystem.list(root + "/tmp").sorted()
        let find = sh(
            "cd \(shellQuote(root)) && find . -type d -printf '%p %y %m %u:%g\\n' -o -printf '%p %y %m %u:%g %s\\n' | LC_ALL=C sort"
        )
        tree = find.stdout.split(separator: "\n").map(String.init)
        let table = berth(root, "images").stdout
        images = lines(table).map { line in
            var row = cells(line)
            if row.count == 5 { row[3] = "-" }
            return row.joined(separator: " | ")
        }.joined(separator: "\n")
        imagesExact =
            berth(
                root, "images", "--no-trunc",
                "--format", "{{.Repository}} {{.Tag}} {{.ID}} {{.CreatedAt}} {{.Size}}"
            ).stdout
    }

    /// Expects `after` to equal this snapshot, field by field, so a failure
    /// says what changed.
    func expectUnchanged(_ after: StoreSnapshot, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(after.images == images, "images output", sourceLocation: sourceLocation)
        #expect(after.imagesExact == imagesExact, "images --no-trunc", sourceLocation: sourceLocation)
        #expect(after.layers == layers, "layers/sha256", sourceLocation: sourceLocation)
        #expect(after.imageFiles == imageFiles, "images/sha256", sourceLocation: sourceLocation)
        #expect(after.repositories == repositories, "repositories.json", sourceLocation: sourceLocation)
        #expect(after.tmp == tmp, "tmp/ must hold no leftover staging", sourceLocation: sourceLocation)
        let added = Set(after.tree).subtracting(tree).sorted(), removed = Set(tree).subtracting(after.tree).sorted()
        #expect(
            added.isEmpty && removed.isEmpty,
            "store tree changed; added: \(added.prefix(10)), removed: \(removed.prefix(10))",
            sourceLocation: sourceLocation)
    }
}

/// Writes a tar archive built with `TarWriter` to `path`.
func writeArchive(_ path: String, _ entries: [(TarEntry, String)]) throws {
    let sink = MemorySink()
    let writer = TarWriter(sink)
    for (entry, content) in entries { try writer.append(entry, content: Array(content.utf8)) }
    try writer.finish()
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "open \(path)")
    defer { close(fd) }
    let bytes = sink.bytes
    precondition(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count, "write \(path)")
}

/// The unpacked layer directory of an image's first layer.
func firstLayerDiff(_ root: String, _ image: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    let json = berth(root, "inspect", "-f", "{{json .RootFS.Layers}}", image).stdout
    // ["sha256:HEX"] or ["sha256:HEX",...]
    guard let start = json.firstRange(of: "sha256:") else {
        Issue.record("no layer in \(json)", sourceLocation: sourceLocation)
        return root + "/missing"
    }
    let hex = json[start.upperBound...].prefix(64)
    #expect(isHex(hex, count: 64), "layer digest in \(json)", sourceLocation: sourceLocation)
    return root + "/layers/sha256/" + hex + "/diff"
}
