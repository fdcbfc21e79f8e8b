import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// A build context directory with the given files (path → content; a path
/// ending in `/` is a directory), removed by `cleanUp`.
final class BuildDirectory {
    let path: String

    init(_ files: [String: String]) {
        path = makeTempDirectory("ctx")
        for (name, content) in files { add(name, content) }
    }

    func add(_ name: String, _ content: String) {
        let full = path + "/" + name
        if name.hasSuffix("/") {
            _ = sh("mkdir -p \(shellQuote(full))")
            return
        }
        _ = sh("mkdir -p \(shellQuote(FileSystem.parent(of: full)))")
        writeFile(full, content)
    }

    func cleanUp() { removeTree(path) }
}

/// Runs `body` with a fresh store (busybox imported) and a context; both
/// are removed and checked for leftovers (containers, mounts, processes).
func withBuild(
    _ files: [String: String], sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (LifecycleStore, BuildDirectory) throws -> Void
) rethrows {
    let context = BuildDirectory(files)
    defer { context.cleanUp() }
    try withStore(sourceLocation: sourceLocation) { s in
        try body(s, context)
        #expect(s.berth("ps", "-aq").stdout.isEmpty, "build left containers", sourceLocation: sourceLocation)
        #expect(mounts(under: s.root).isEmpty, "build left mounts", sourceLocation: sourceLocation)
    }
}

extension LifecycleStore {
    /// `build ARGS… CONTEXT`; expects success unless `expectFailure`.
    @discardableResult
    func build(
        _ args: [String], _ context: BuildDirectory, stdin: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ProcessResult {
        let result = berth(["build"] + args + [context.path], stdin: stdin)
        #expect(result.status == 0, "build failed: \(result.stderr)\n\(result.stdout)", sourceLocation: sourceLocation)
        return result
    }

    /// `run --rm IMAGE sh -c SCRIPT`'s stdout.
    func output(_ image: String, _ script: String) -> String {
        berth("run", "--rm", image, "sh", "-c", script).stdout
    }

    /// The image config's history entries, oldest first, read from the store
    /// (Docker's inspect has no history; `history` truncates).
    func history(_ ref: String) -> [(createdBy: String, empty: Bool)] {
        let id = image(ref, "{{.Id}}")
        guard let config = try? JSONParser.parse(FileSystem.read(root + "/images/sha256/" + id.dropFirst(7) + ".json"))
        else { return [] }
        return (config["history"]?.arrayValue ?? []).map {
            ($0["created_by"]?.stringValue ?? "", $0["empty_layer"]?.boolValue ?? false)
        }
    }

    /// `inspect -f FORMAT IMAGE`, trimmed.
    func image(_ ref: String, _ format: String) -> String {
        let out = berth("inspect", "--type", "image", "-f", format, ref).stdout
        return out.hasSuffix("\n") ? String(out.dropLast()) : out
    }
}

/// How many ` ---> Using cache` lines a build printed.
func cacheHits(_ result: ProcessResult) -> Int {
    result.stdout.split(separator: "\n").filter { $0 == " ---> Using cache" }.count
}
